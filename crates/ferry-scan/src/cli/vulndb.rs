//! `ferry vulndb import PATH… | update [--url URL] | status`: manage the local OSV
//! database.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;

use super::{chain, db_path, parse};
use crate::vulndb::update::{self, EcosystemUpdate, UpdateOptions};
use crate::vulndb::{human_duration, DbStatus, ImportSummary, VulnDb};

#[derive(Debug, Parser)]
#[command(
    name = "ferry vulndb",
    about = "Manage the local vulnerability database (OSV data)"
)]
struct VulndbArgs {
    /// Database file (default: $FERRY_DATA_DIR/vulndb/osv.db, else
    /// $XDG_DATA_HOME/ferry/vulndb/osv.db, else ~/.local/share/ferry/vulndb/osv.db).
    #[arg(long, global = true, env = "FERRY_VULNDB", value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: VulndbCommand,
}

#[derive(Debug, Subcommand)]
enum VulndbCommand {
    /// Import OSV records: osv.dev zip dumps (all.zip), directories of JSON records, or
    /// JSON files (one record or an array).
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Download per-ecosystem dumps (<URL>/<ecosystem>/all.zip) and import them.
    Update {
        /// Base URL of the dumps.
        #[arg(long, env = "FERRY_VULNDB_URL", default_value = update::DEFAULT_BASE_URL)]
        url: String,
        /// Ecosystem to fetch (repeatable); default: those already in the database, or
        /// ferry's default set for an empty one.
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
    },
    /// Show ecosystems, record counts and the data's age.
    Status {
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: StatusFormat,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StatusFormat {
    Table,
    Json,
}

pub fn run(args: Vec<OsString>) -> i32 {
    let parsed: VulndbArgs = match parse("ferry vulndb", args) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run_parsed(parsed) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("ferry vulndb: {message}");
            1
        }
    }
}

fn run_parsed(args: VulndbArgs) -> Result<(), String> {
    let path = db_path(args.db)?;
    match args.command {
        VulndbCommand::Import { paths } => {
            let mut db = VulnDb::open_or_create(&path).map_err(|e| chain(&e))?;
            let mut total = 0;
            for source in paths {
                let summary = db
                    .import_path(&source, &source.display().to_string())
                    .map_err(|e| chain(&e))?;
                report_import(&summary);
                total += summary.read;
            }
            if total == 0 {
                return Err("no OSV records found".into());
            }
            println!("Database: {}", path.display());
            Ok(())
        }
        VulndbCommand::Update { url, ecosystems } => {
            let mut db = VulnDb::open_or_create(&path).map_err(|e| chain(&e))?;
            let options = UpdateOptions {
                base_url: url,
                ecosystems,
            };
            let results = update::update(&mut db, &path, &options).map_err(|e| chain(&e))?;
            for (ecosystem, result) in results {
                match result {
                    EcosystemUpdate::Imported(summary) => report_import(&summary),
                    EcosystemUpdate::NotFound { url } => {
                        eprintln!("warning: {ecosystem}: no dump at {url} (HTTP 404)")
                    }
                    EcosystemUpdate::Failed { url, reason } => {
                        eprintln!("warning: {ecosystem}: {url}: {reason}")
                    }
                }
            }
            println!("Database: {}", path.display());
            Ok(())
        }
        VulndbCommand::Status { format } => {
            let db = VulnDb::open(&path).map_err(|e| chain(&e))?;
            let status = db.status().map_err(|e| chain(&e))?;
            let now = OffsetDateTime::now_utc();
            match format {
                StatusFormat::Table => print!("{}", status_text(&status, now)),
                StatusFormat::Json => {
                    let mut value = serde_json::to_value(&status).map_err(|e| e.to_string())?;
                    value["age_hours"] =
                        serde_json::json!(status.info.age(now).map(|a| a.whole_hours()));
                    value["stale"] = serde_json::json!(status.info.is_stale(now));
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
                    );
                }
            }
            if status.info.is_stale(now) {
                eprintln!("warning: {}", stale_line(&status, now));
            }
            Ok(())
        }
    }
}

fn report_import(summary: &ImportSummary) {
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    if summary.malformed as usize > summary.warnings.len() {
        eprintln!(
            "warning: … and {} more malformed records",
            summary.malformed as usize - summary.warnings.len()
        );
    }
    let ecosystems: Vec<String> = summary
        .ecosystems
        .iter()
        .map(|(e, n)| format!("{e} {n}"))
        .collect();
    println!(
        "Imported {}: {} records read, {} stored, {} kept (stored copy newer), {} malformed{}",
        summary.source,
        summary.read,
        summary.stored,
        summary.kept_newer,
        summary.malformed,
        if ecosystems.is_empty() {
            String::new()
        } else {
            format!(" [{}]", ecosystems.join(", "))
        }
    );
}

fn stale_line(status: &DbStatus, now: OffsetDateTime) -> String {
    match status.info.age(now) {
        Some(age) => format!(
            "the data is {} old (newest record); run `ferry vulndb update`",
            human_duration(age)
        ),
        None => "the database is empty; run `ferry vulndb update` or `ferry vulndb import`".into(),
    }
}

fn status_text(status: &DbStatus, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let _ = writeln!(out, "Database:     {}", status.info.location);
    let _ = writeln!(
        out,
        "Records:      {} ({} withdrawn)",
        status.info.records, status.withdrawn
    );
    match (status.info.newest_record, status.info.age(now)) {
        (Some(newest), Some(age)) => {
            let stale = if status.info.is_stale(now) {
                ", STALE"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "Newest:       {} ({} old{stale})",
                rfc3339(newest),
                human_duration(age)
            );
        }
        _ => {
            let _ = writeln!(out, "Newest:       - (empty)");
        }
    }
    if let Some(at) = status.info.last_import {
        let source = status.last_import_source.as_deref().unwrap_or("?");
        let _ = writeln!(out, "Last import:  {} from {source}", rfc3339(at));
    }
    if !status.ecosystems.is_empty() {
        let _ = writeln!(out, "Ecosystems:");
        let width = status
            .ecosystems
            .iter()
            .map(|e| e.ecosystem.len())
            .max()
            .unwrap_or(0);
        for e in &status.ecosystems {
            let newest = e
                .newest_record
                .map(|t| t.date().to_string())
                .unwrap_or_else(|| "-".into());
            let mut releases = e
                .releases
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if e.releases.len() > 8 {
                let _ = write!(releases, ", +{} more", e.releases.len() - 8);
            }
            let _ = writeln!(
                out,
                "  {:width$}  {:>8} records  newest {newest}{}",
                e.ecosystem,
                e.records,
                if releases.is_empty() {
                    String::new()
                } else {
                    format!("  ({releases})")
                },
            );
        }
    }
    out
}
