//! `ferry builds NAME`, `ferry builds logs NAME N`, `ferry builds cancel NAME N`: a
//! service's builds (revision, commit, state, start, duration), a build's log, and
//! cancelling a pending or running build.

use crate::client::{segment, Client};
use crate::output::{ago, outln, print_json, status_cell, table};
use anyhow::Result;
use clap::Subcommand;
use comfy_table::Cell;
use ferry_api::{BuildInfo, BuildLogChunk};
use std::io::Write;

#[derive(Subcommand, Debug)]
pub enum BuildsCommand {
    /// Print a build's log
    Logs {
        name: String,
        /// The build's revision number
        revision: u32,
    },
    /// Cancel a pending or running build (the running revision keeps serving)
    Cancel {
        name: String,
        /// The build's revision number
        revision: u32,
    },
}

pub async fn run(
    client: &Client,
    name: Option<String>,
    command: Option<BuildsCommand>,
    json: bool,
) -> Result<()> {
    match (command, name) {
        (Some(BuildsCommand::Logs { name, revision }), _) => logs(client, &name, revision).await,
        (Some(BuildsCommand::Cancel { name, revision }), _) => {
            let build: BuildInfo = client
                .post(
                    &format!("/services/{}/builds/{revision}/cancel", segment(&name)),
                    &serde_json::json!({}),
                )
                .await?;
            if json {
                return print_json(&build);
            }
            eprintln!("build {revision} of {name}: {}", build.state);
            Ok(())
        }
        (None, Some(name)) => list(client, &name, json).await,
        (None, None) => anyhow::bail!(
            "usage: ferry builds NAME | ferry builds logs NAME N | ferry builds cancel NAME N"
        ),
    }
}

async fn list(client: &Client, name: &str, json: bool) -> Result<()> {
    let builds: Vec<BuildInfo> = client
        .get(&format!("/services/{}/builds", segment(name)))
        .await?;
    if json {
        return print_json(&builds);
    }
    if builds.is_empty() {
        eprintln!("{name} has no builds");
        return Ok(());
    }
    let mut out = table(&[
        "REVISION", "COMMIT", "STATE", "STATUS", "STARTED", "DURATION",
    ]);
    for build in builds {
        let commit = build
            .commit
            .as_deref()
            .map_or("-", |c| &c[..c.len().min(12)]);
        out.add_row(vec![
            Cell::new(build.revision),
            Cell::new(commit),
            Cell::new(&build.state),
            status_cell(&build.status),
            Cell::new(build.started_at.map_or("-".to_string(), ago)),
            Cell::new(
                build
                    .duration_ms
                    .map_or("-".to_string(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
            ),
        ]);
    }
    outln!("{out}");
    Ok(())
}

/// The whole log, in the server's bounded pieces.
async fn logs(client: &Client, name: &str, revision: u32) -> Result<()> {
    let path = format!("/services/{}/builds/{revision}/log", segment(name));
    let mut offset = 0;
    let mut stdout = std::io::stdout().lock();
    loop {
        let chunk: BuildLogChunk = client.get(&format!("{path}?offset={offset}")).await?;
        stdout.write_all(chunk.text.as_bytes())?;
        if chunk.text.is_empty() || chunk.next == offset {
            break;
        }
        offset = chunk.next;
    }
    stdout.flush()?;
    Ok(())
}
