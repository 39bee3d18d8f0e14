//! `ferry plan DIR`: the build plan of an app directory — what detection found, with
//! the config file over it — as a table or JSON, computed locally without building.

use crate::output::{outln, print_json, table};
use anyhow::{bail, Result};
use comfy_table::Cell;
use ferry_build::{plan_dir, PlanKind};
use std::path::Path;

pub fn run(dir: &Path, json: bool) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let planned = plan_dir(dir)?;
    if json {
        return print_json(&planned.plan);
    }
    // Without a file the only warning is "detected …", which the table shows.
    if planned.from_file {
        for warning in &planned.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let plan = &planned.plan;
    let mut out = table(&["FIELD", "VALUE"]);
    let lines = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join("\n")
        }
    };
    let kind = match plan.kind {
        PlanKind::Process => "process",
        PlanKind::Static => "static",
        PlanKind::Dockerfile => "dockerfile",
    };
    // A static site starts nothing and listens nowhere: the router serves its files.
    let (start, port) = match (&plan.kind, &plan.static_root, &plan.start) {
        (PlanKind::Static, Some(root), None) => (
            format!("- (ferry's router serves {root}/)"),
            "-".to_string(),
        ),
        _ => (
            plan.start.clone().unwrap_or_else(|| "-".into()),
            plan.port
                .map_or_else(|| "$PORT".to_string(), |p| p.to_string()),
        ),
    };
    let env: Vec<String> = plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let rows: Vec<(&str, String)> = vec![
        ("provider", plan.provider.clone()),
        ("kind", kind.to_string()),
        (
            "version",
            plan.language_version.clone().unwrap_or_else(|| "-".into()),
        ),
        ("install", lines(&plan.install)),
        ("build", lines(&plan.build)),
        ("start", start),
        ("env", lines(&env)),
        ("port", port),
        ("cache keys", lines(&plan.cache_keys)),
        ("notes", lines(&plan.notes)),
    ];
    for (field, value) in rows {
        out.add_row(vec![Cell::new(field), Cell::new(value)]);
    }
    outln!("{out}");
    Ok(())
}
