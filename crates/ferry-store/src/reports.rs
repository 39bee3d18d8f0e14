//! The `reports` table: what the security checks found for a revision, kept with it.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use ferry_types::RevisionId;
use rusqlite::params;

/// One check's report on one revision, as stored and as the API shows it.
pub type StoredReport = ferry_api::SecurityReport;

impl Store {
    /// Stores (or replaces, when a rollout is retried) a revision's report of one kind.
    pub fn put_report(&self, report: &StoredReport) -> Result<(), StoreError> {
        let body = serde_json::to_string(&report.body).map_err(|err| StoreError::Corrupt {
            what: "report body",
            detail: err.to_string(),
        })?;
        self.conn().execute(
            "INSERT OR REPLACE INTO reports (revision_id, kind, blocked, summary, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                report.revision_id.as_str(),
                report.kind,
                report.blocked,
                report.summary,
                body,
                ts(report.created_at)
            ],
        )?;
        Ok(())
    }

    /// A revision's reports, by kind.
    pub fn reports(&self, revision: &RevisionId) -> Result<Vec<StoredReport>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kind, blocked, summary, body, created_at FROM reports WHERE revision_id = ?1 ORDER BY kind",
        )?;
        let rows = stmt.query_map([revision.as_str()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut reports = Vec::new();
        for row in rows {
            let (kind, blocked, summary, body, created) = row?;
            reports.push(StoredReport {
                revision_id: revision.clone(),
                kind,
                blocked,
                summary,
                body: serde_json::from_str(&body).map_err(|err| StoreError::Corrupt {
                    what: "report body",
                    detail: err.to_string(),
                })?,
                created_at: parse_ts(&created)?,
            });
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewDeployment, NewService};
    use ferry_types::{RevisionSource, ServiceConfig, ServiceName, SourceKind};

    #[test]
    fn reports_are_kept_per_revision_and_kind() {
        let store = Store::open_in_memory().unwrap();
        let revision = RevisionId::generate();
        store
            .create_deployment(&NewDeployment {
                service: &NewService {
                    name: ServiceName::parse("web").unwrap(),
                    source_kind: SourceKind::Image,
                },
                source: RevisionSource::Image {
                    image: "web:1".into(),
                    image_id: None,
                    from_tag: None,
                },
                config: ServiceConfig::default(),
                revision_id: revision.clone(),
                commit: None,
            })
            .unwrap();
        let report = |kind: &str, blocked| StoredReport {
            revision_id: revision.clone(),
            kind: kind.into(),
            blocked,
            summary: format!("{kind} summary"),
            body: serde_json::json!({"findings": []}),
            created_at: ferry_types::now(),
        };
        store.put_report(&report("vulnerabilities", false)).unwrap();
        store.put_report(&report("dockerfile-lint", false)).unwrap();
        store.put_report(&report("vulnerabilities", true)).unwrap();
        let got = store.reports(&revision).unwrap();
        let kinds: Vec<(&str, bool)> = got.iter().map(|r| (r.kind.as_str(), r.blocked)).collect();
        assert_eq!(
            kinds,
            [("dockerfile-lint", false), ("vulnerabilities", true)]
        );
        assert_eq!(got[1].body, serde_json::json!({"findings": []}));
    }
}
