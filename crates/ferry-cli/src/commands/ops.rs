//! `ferry ops`: operations of a service (or all), or one operation's timeline.

use crate::client::{segment, Client};
use crate::output::{ago, outln, print_json, status_cell, table};
use anyhow::Result;
use comfy_table::Cell;
use ferry_types::Operation;

pub async fn run(client: &Client, name: Option<&str>, id: Option<&str>, json: bool) -> Result<()> {
    if let Some(id) = id {
        let op: Operation = client.get(&format!("/operations/{}", segment(id))).await?;
        if json {
            return print_json(&op);
        }
        outln!("{}  {} {}  {}", op.id, op.kind, op.service_name, op.status);
        for event in &op.events {
            outln!(
                "  {}  {:5}  {}",
                event
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                event.level.as_str(),
                event.message
            );
        }
        if let Some(error) = &op.error {
            outln!("\n{error}");
        }
        return Ok(());
    }
    let path = match name {
        Some(name) => format!("/services/{}/operations", segment(name)),
        None => "/operations".to_string(),
    };
    let ops: Vec<Operation> = client.get(&path).await?;
    if json {
        return print_json(&ops);
    }
    let mut out = table(&["OPERATION", "SERVICE", "KIND", "STATUS", "STARTED", "ERROR"]);
    for op in ops {
        out.add_row(vec![
            Cell::new(op.id.as_str()),
            Cell::new(&op.service_name),
            Cell::new(op.kind.as_str()),
            status_cell(op.status.as_str()),
            Cell::new(ago(op.created_at)),
            Cell::new(
                op.error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .unwrap_or(""),
            ),
        ]);
    }
    outln!("{out}");
    Ok(())
}
