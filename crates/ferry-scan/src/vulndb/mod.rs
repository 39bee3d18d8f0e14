//! The local vulnerability database: OSV records in SQLite, indexed by (ecosystem lookup
//! key, package name) so matching one package is one indexed query.
//!
//! Records are stored whole (as ferry's own re-serialisation of the OSV model) and the
//! `affected` table holds one row per (ecosystem, package) a record names. Importing the
//! same id again keeps whichever copy has the later `modified`, as the OSV schema says.
//! The data's age is the newest `modified` time in the database: that is how fresh the
//! advisories are, whenever they were imported.

pub mod paths;
pub mod update;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::osv::import::{read_records, Flow, ImportError};
use crate::osv::{ecosystem, OsvError, Vulnerability};

/// Version of the schema below; a database from a newer ferry is refused, not damaged.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vulns (
    id TEXT PRIMARY KEY,
    modified_ns INTEGER NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS affected (
    eco_key TEXT NOT NULL,
    name TEXT NOT NULL,
    vuln_id TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    base TEXT NOT NULL,
    PRIMARY KEY (eco_key, name, vuln_id, ecosystem)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_by_vuln ON affected (vuln_id);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    read INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    kept_newer INTEGER NOT NULL,
    malformed INTEGER NOT NULL
);
";

/// Data older than this (by its newest record) is reported as stale.
pub const STALE_AFTER: Duration = Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum VulnDbError {
    #[error(
        "no vulnerability database at {0} (run `ferry vulndb update` or `ferry vulndb import`)"
    )]
    Missing(PathBuf),
    #[error("cannot create {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("vulnerability database {path}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path} was written by a newer ferry (schema {found}, this ferry reads {SCHEMA_VERSION})"
    )]
    NewerSchema { path: String, found: i64 },
    #[error("stored record {id} is unreadable: {reason}")]
    CorruptRecord { id: String, reason: String },
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// The local OSV database.
pub struct VulnDb {
    conn: Connection,
    /// Shown in errors and reports; `:memory:` for in-memory databases.
    label: String,
}

/// What one import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub source: String,
    /// Records read (parsed or not).
    pub read: u64,
    /// Records written (new, or newer than the stored copy).
    pub stored: u64,
    /// Records skipped because the stored copy is newer.
    pub kept_newer: u64,
    /// Records that did not parse; see `warnings`.
    pub malformed: u64,
    /// Records per base ecosystem in this import.
    pub ecosystems: BTreeMap<String, u64>,
    /// One line per malformed record (the first [`MAX_WARNINGS`]).
    pub warnings: Vec<String>,
}

/// Warnings kept per import; the rest are counted in `malformed`.
pub const MAX_WARNINGS: usize = 50;

/// The database at a glance, for reports: how much data and how old.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbInfo {
    pub location: String,
    pub records: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest_record: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_import: Option<OffsetDateTime>,
}

impl DbInfo {
    /// Age of the data at `now` (from the newest record); `None` for an empty database.
    pub fn age(&self, now: OffsetDateTime) -> Option<Duration> {
        self.newest_record.map(|t| now - t)
    }

    /// Empty, or older than [`STALE_AFTER`].
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.age(now).is_none_or(|age| age > STALE_AFTER)
    }

    /// A sentence for reports: "1234 records, newest 2024-05-01 (3 days old)".
    pub fn describe(&self, now: OffsetDateTime) -> String {
        match (self.newest_record, self.age(now)) {
            (Some(newest), Some(age)) => format!(
                "{} records, newest modified {} ({} old)",
                self.records,
                newest.date(),
                human_duration(age)
            ),
            _ => "empty (no records)".to_string(),
        }
    }
}

/// `3 days`, `5 hours`, `12 minutes`.
pub fn human_duration(d: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.whole_days() >= 1 {
        plural(d.whole_days(), "day")
    } else if d.whole_hours() >= 1 {
        plural(d.whole_hours(), "hour")
    } else {
        plural(d.whole_minutes().max(0), "minute")
    }
}

/// Per-ecosystem detail for `ferry vulndb status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EcosystemStatus {
    /// Base ecosystem (`Debian`, `PyPI`…).
    pub ecosystem: String,
    pub records: u64,
    /// Release suffixes seen (`12`, `v3.19`…), sorted.
    pub releases: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest_record: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DbStatus {
    #[serde(flatten)]
    pub info: DbInfo,
    pub withdrawn: u64,
    pub last_import_source: Option<String>,
    pub ecosystems: Vec<EcosystemStatus>,
}

fn from_ns(ns: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).ok()
}

fn to_ns(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

impl VulnDb {
    /// Opens an existing database; a missing file is [`VulnDbError::Missing`].
    pub fn open(path: &Path) -> Result<VulnDb, VulnDbError> {
        if !path.is_file() {
            return Err(VulnDbError::Missing(path.to_path_buf()));
        }
        Self::open_or_create(path)
    }

    /// Opens the database, creating it (and its directory) if needed.
    pub fn open_or_create(path: &Path) -> Result<VulnDb, VulnDbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| VulnDbError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| VulnDbError::Sqlite {
            path: label.clone(),
            source,
        })?;
        let db = VulnDb { conn, label };
        db.sql(db.conn.pragma_update(None, "journal_mode", "WAL"))?;
        db.sql(db.conn.busy_timeout(std::time::Duration::from_secs(30)))?;
        db.migrate()?;
        Ok(db)
    }

    /// An empty in-memory database (tests, one-off scans).
    pub fn in_memory() -> Result<VulnDb, VulnDbError> {
        let label = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| VulnDbError::Sqlite {
            path: label.clone(),
            source,
        })?;
        let db = VulnDb { conn, label };
        db.migrate()?;
        Ok(db)
    }

    pub fn location(&self) -> &str {
        &self.label
    }

    fn sql<T>(&self, result: rusqlite::Result<T>) -> Result<T, VulnDbError> {
        result.map_err(|source| VulnDbError::Sqlite {
            path: self.label.clone(),
            source,
        })
    }

    fn migrate(&self) -> Result<(), VulnDbError> {
        self.sql(self.conn.execute_batch(SCHEMA))?;
        let found: Option<String> = self.sql(
            self.conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        match found.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > SCHEMA_VERSION => Err(VulnDbError::NewerSchema {
                path: self.label.clone(),
                found: v,
            }),
            Some(_) => Ok(()),
            None => {
                self.sql(self.conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                ))?;
                Ok(())
            }
        }
    }

    /// Imports every record under `path` (an OSV zip dump, a directory, a JSON file).
    /// `source` is what the import log records (a path or a URL).
    pub fn import_path(&mut self, path: &Path, source: &str) -> Result<ImportSummary, VulnDbError> {
        let mut summary = ImportSummary {
            source: source.to_string(),
            ..Default::default()
        };
        let label = self.label.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| VulnDbError::Sqlite {
                path: label.clone(),
                source,
            })?;
        let mut failure: Option<rusqlite::Error> = None;
        read_records(
            path,
            &mut |result| match store_one(&tx, result, &mut summary) {
                Ok(()) => Flow::Continue,
                Err(e) => {
                    failure = Some(e);
                    Flow::Stop
                }
            },
        )?;
        if let Some(source) = failure {
            return Err(VulnDbError::Sqlite {
                path: label,
                source,
            });
        }
        log_import(&tx, &summary).map_err(|source| VulnDbError::Sqlite {
            path: label.clone(),
            source,
        })?;
        tx.commit().map_err(|source| VulnDbError::Sqlite {
            path: label,
            source,
        })?;
        Ok(summary)
    }

    /// Imports records already in memory (tests, generated data).
    pub fn import_records(
        &mut self,
        records: impl IntoIterator<Item = Vulnerability>,
        source: &str,
    ) -> Result<ImportSummary, VulnDbError> {
        let mut summary = ImportSummary {
            source: source.to_string(),
            ..Default::default()
        };
        let label = self.label.clone();
        let sql = |source| VulnDbError::Sqlite {
            path: label.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for record in records {
            store_one(&tx, Ok(record), &mut summary).map_err(sql)?;
        }
        log_import(&tx, &summary).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(summary)
    }

    /// Ids of the records (not withdrawn) that name package `name` under lookup key `key`.
    /// `name` is normalised for the ecosystem here.
    pub fn ids_for(&self, key: &str, name: &str) -> Result<Vec<String>, VulnDbError> {
        let name = ecosystem::normalize_name(key, name);
        let mut stmt = self.sql(self.conn.prepare_cached(
            "SELECT DISTINCT a.vuln_id FROM affected a JOIN vulns v ON v.id = a.vuln_id
             WHERE a.eco_key = ?1 AND a.name = ?2 AND v.withdrawn = 0 ORDER BY a.vuln_id",
        ))?;
        let rows = self.sql(stmt.query_map(params![key, name], |r| r.get::<_, String>(0)))?;
        rows.map(|r| self.sql(r)).collect()
    }

    /// One stored record.
    pub fn record(&self, id: &str) -> Result<Option<Vulnerability>, VulnDbError> {
        let text: Option<String> = self.sql(
            self.conn
                .query_row("SELECT record FROM vulns WHERE id = ?1", [id], |r| r.get(0))
                .optional(),
        )?;
        text.map(|text| {
            serde_json::from_str(&text).map_err(|e| VulnDbError::CorruptRecord {
                id: id.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// Record count, newest record and last import.
    pub fn info(&self) -> Result<DbInfo, VulnDbError> {
        let (records, newest): (i64, Option<i64>) = self.sql(self.conn.query_row(
            "SELECT COUNT(*), MAX(modified_ns) FROM vulns WHERE withdrawn = 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
        let last_import: Option<i64> = self.sql(self.conn.query_row(
            "SELECT MAX(at_ns) FROM imports",
            [],
            |r| r.get(0),
        ))?;
        Ok(DbInfo {
            location: self.label.clone(),
            records: u64::try_from(records).unwrap_or(0),
            newest_record: newest.and_then(from_ns),
            last_import: last_import.and_then(from_ns),
        })
    }

    /// Everything `ferry vulndb status` shows.
    pub fn status(&self) -> Result<DbStatus, VulnDbError> {
        let info = self.info()?;
        let withdrawn: i64 = self.sql(self.conn.query_row(
            "SELECT COUNT(*) FROM vulns WHERE withdrawn = 1",
            [],
            |r| r.get(0),
        ))?;
        let last_import_source: Option<String> = self.sql(
            self.conn
                .query_row(
                    "SELECT source FROM imports ORDER BY at_ns DESC, id DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        let mut ecosystems = Vec::new();
        {
            let mut stmt = self.sql(self.conn.prepare(
                "SELECT a.base, COUNT(DISTINCT a.vuln_id), MAX(v.modified_ns)
                 FROM affected a JOIN vulns v ON v.id = a.vuln_id
                 WHERE v.withdrawn = 0 GROUP BY a.base ORDER BY a.base",
            ))?;
            let rows = self.sql(stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            }))?;
            for row in rows {
                let (base, count, newest) = self.sql(row)?;
                ecosystems.push(EcosystemStatus {
                    ecosystem: base,
                    records: u64::try_from(count).unwrap_or(0),
                    releases: Vec::new(),
                    newest_record: newest.and_then(from_ns),
                });
            }
        }
        let mut stmt = self.sql(
            self.conn
                .prepare("SELECT DISTINCT base, ecosystem FROM affected ORDER BY 1, 2"),
        )?;
        let rows =
            self.sql(stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))))?;
        for row in rows {
            let (base, full) = self.sql(row)?;
            if let (Some(entry), Some((_, release))) = (
                ecosystems.iter_mut().find(|e| e.ecosystem == base),
                full.split_once(':'),
            ) {
                entry.releases.push(release.to_string());
            }
        }
        Ok(DbStatus {
            info,
            withdrawn: u64::try_from(withdrawn).unwrap_or(0),
            last_import_source,
            ecosystems,
        })
    }
}

fn store_one(
    tx: &rusqlite::Transaction<'_>,
    result: Result<Vulnerability, OsvError>,
    summary: &mut ImportSummary,
) -> rusqlite::Result<()> {
    summary.read += 1;
    let record = match result {
        Ok(record) => record,
        Err(e) => {
            summary.malformed += 1;
            tracing::warn!("skipping OSV record: {e}");
            if summary.warnings.len() < MAX_WARNINGS {
                summary.warnings.push(e.to_string());
            }
            return Ok(());
        }
    };
    // `from_json` checked the timestamp; records built in memory may not have been.
    let Some(modified) = record.modified_at() else {
        summary.malformed += 1;
        if summary.warnings.len() < MAX_WARNINGS {
            summary.warnings.push(format!(
                "record {}: modified {:?} is not an RFC 3339 time",
                record.id, record.modified
            ));
        }
        return Ok(());
    };
    let modified_ns = to_ns(modified);
    let stored: Option<i64> = tx
        .query_row(
            "SELECT modified_ns FROM vulns WHERE id = ?1",
            [&record.id],
            |r| r.get(0),
        )
        .optional()?;
    if stored.is_some_and(|stored| stored > modified_ns) {
        summary.kept_newer += 1;
        return Ok(());
    }
    let text = serde_json::to_string(&record)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute("DELETE FROM affected WHERE vuln_id = ?1", [&record.id])?;
    tx.execute(
        "INSERT OR REPLACE INTO vulns (id, modified_ns, withdrawn, record) VALUES (?1, ?2, ?3, ?4)",
        params![record.id, modified_ns, record.is_withdrawn(), text],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO affected (eco_key, name, vuln_id, ecosystem, base) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut bases = std::collections::BTreeSet::new();
    for package in record.affected.iter().filter_map(|a| a.package.as_ref()) {
        let key = ecosystem::lookup_key(&package.ecosystem);
        let name = ecosystem::normalize_name(&package.ecosystem, &package.name);
        let base = ecosystem::base(&package.ecosystem).to_string();
        insert.execute(params![
            key,
            name,
            record.id,
            package.ecosystem.trim(),
            base
        ])?;
        bases.insert(base);
    }
    for base in bases {
        *summary.ecosystems.entry(base).or_default() += 1;
    }
    summary.stored += 1;
    Ok(())
}

fn log_import(tx: &rusqlite::Transaction<'_>, summary: &ImportSummary) -> rusqlite::Result<()> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO imports (source, at_ns, read, stored, kept_newer, malformed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            summary.source,
            to_ns(OffsetDateTime::now_utc()),
            count(summary.read),
            count(summary.stored),
            count(summary.kept_newer),
            count(summary.malformed)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, modified: &str, ecosystem: &str, name: &str) -> Vulnerability {
        let json = format!(
            r#"{{"id": "{id}", "modified": "{modified}",
                "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "{name}"}},
                               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}]}}]}}]}}"#
        );
        Vulnerability::from_json(json.as_bytes(), "test").unwrap()
    }

    #[test]
    fn newer_modified_wins_and_lookup_is_by_key_and_name() {
        let mut db = VulnDb::in_memory().unwrap();
        let v1 = record("DSA-1", "2024-01-02T00:00:00Z", "Debian:12", "openssl");
        let old = record("DSA-1", "2024-01-01T00:00:00Z", "Debian:11", "openssl");
        let py = record("PYSEC-1", "2024-03-01T00:00:00Z", "PyPI", "Django_Rest");
        let s = db.import_records([v1.clone(), old, py], "test").unwrap();
        assert_eq!((s.read, s.stored, s.kept_newer), (3, 2, 1));
        assert_eq!(db.ids_for("Debian:12", "openssl").unwrap(), vec!["DSA-1"]);
        assert!(db.ids_for("Debian:11", "openssl").unwrap().is_empty());
        assert_eq!(db.ids_for("PyPI", "django-rest").unwrap(), vec!["PYSEC-1"]);
        assert_eq!(db.ids_for("PyPI", "Django.REST").unwrap(), vec!["PYSEC-1"]);
        assert_eq!(db.record("DSA-1").unwrap().unwrap(), v1);

        let info = db.info().unwrap();
        assert_eq!(info.records, 2);
        assert_eq!(info.newest_record.unwrap().date().to_string(), "2024-03-01");
        let now = info.newest_record.unwrap() + Duration::days(3);
        assert!(!info.is_stale(now));
        assert!(info.is_stale(now + Duration::days(5)));
        assert!(
            info.describe(now).contains("3 days old"),
            "{}",
            info.describe(now)
        );

        let status = db.status().unwrap();
        let names: Vec<_> = status
            .ecosystems
            .iter()
            .map(|e| (e.ecosystem.as_str(), e.records))
            .collect();
        assert_eq!(names, vec![("Debian", 1), ("PyPI", 1)]);
        assert_eq!(status.ecosystems[0].releases, vec!["12"]);
    }

    #[test]
    fn withdrawn_records_are_not_looked_up() {
        let mut db = VulnDb::in_memory().unwrap();
        let mut r = record("GHSA-w", "2024-01-02T00:00:00Z", "npm", "left-pad");
        r.withdrawn = Some("2024-01-03T00:00:00Z".into());
        db.import_records([r], "test").unwrap();
        assert!(db.ids_for("npm", "left-pad").unwrap().is_empty());
        assert_eq!(db.status().unwrap().withdrawn, 1);
    }

    #[test]
    fn file_database_round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/osv.db");
        assert!(matches!(VulnDb::open(&path), Err(VulnDbError::Missing(_))));
        {
            let mut db = VulnDb::open_or_create(&path).unwrap();
            db.import_records(
                [record("A-1", "2024-01-02T00:00:00Z", "Go", "example.com/m")],
                "t",
            )
            .unwrap();
        }
        let db = VulnDb::open(&path).unwrap();
        assert_eq!(db.ids_for("Go", "example.com/m").unwrap(), vec!["A-1"]);
        db.conn
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        drop(db);
        assert!(matches!(
            VulnDb::open(&path),
            Err(VulnDbError::NewerSchema { found: 99, .. })
        ));
    }
}
