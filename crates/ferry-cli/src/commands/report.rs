//! `ferry report NAME`: what ferry runs for a service, what its owner owns, and what the
//! security checks found in the active revision.

use crate::client::{segment, Client};
use crate::output::{ago, green, outln, print_json, red};
use anyhow::Result;
use ferry_api::ServiceReport;

pub async fn run(client: &Client, name: &str, json: bool) -> Result<()> {
    let report: ServiceReport = client
        .get(&format!("/services/{}/report", segment(name)))
        .await?;
    if json {
        return print_json(&report);
    }
    outln!(
        "{} revision {} — {}",
        report.service,
        report.revision.map_or("none".into(), |n| n.to_string()),
        report.source
    );
    outln!("\nFerry runs for you:");
    for item in &report.platform {
        outln!("  {:<18} {}", item.area, item.detail);
    }
    outln!("\nYou own:");
    for item in &report.user {
        outln!("  {:<18} {}", item.area, item.detail);
    }
    outln!("\nWhat the checks found:");
    if report.reports.is_empty() {
        outln!("  no reports yet (they are made when a revision is deployed)");
    }
    for stored in &report.reports {
        let mark = if stored.blocked {
            red("✘")
        } else {
            green("✔")
        };
        outln!(
            "  {mark} {:<16} {} ({})",
            stored.kind,
            stored.summary,
            ago(stored.created_at)
        );
    }
    Ok(())
}
