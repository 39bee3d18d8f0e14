//! `ferry report NAME`: what ferry runs for a service, what its owner owns, and what the
//! security checks found in the active revision.

use crate::client::{segment, Client};
use crate::output::{ago, green, print_json, red};
use anyhow::Result;
use ferry_api::ServiceReport;

pub async fn run(client: &Client, name: &str, json: bool) -> Result<()> {
    let report: ServiceReport = client
        .get(&format!("/services/{}/report", segment(name)))
        .await?;
    if json {
        return print_json(&report);
    }
    println!(
        "{} revision {} — {}",
        report.service,
        report.revision.map_or("none".into(), |n| n.to_string()),
        report.source
    );
    println!("\nFerry runs for you:");
    for item in &report.platform {
        println!("  {:<18} {}", item.area, item.detail);
    }
    println!("\nYou own:");
    for item in &report.user {
        println!("  {:<18} {}", item.area, item.detail);
    }
    println!("\nWhat the checks found:");
    if report.reports.is_empty() {
        println!("  no reports yet (they are made when a revision is deployed)");
    }
    for stored in &report.reports {
        let mark = if stored.blocked {
            red("✘")
        } else {
            green("✔")
        };
        println!(
            "  {mark} {:<16} {} ({})",
            stored.kind,
            stored.summary,
            ago(stored.created_at)
        );
    }
    Ok(())
}
