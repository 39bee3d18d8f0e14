//! Waiting for an operation: events as they happen, a spinner meanwhile, the outcome.

use crate::client::{segment, Client};
use crate::output::{dim, green, red};
use anyhow::{bail, Result};
use ferry_api::BuildLogChunk;
use ferry_types::{EventLevel, Operation, OperationStatus};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Polls the operation until it ends, printing each event once. Returns the finished
/// operation; an error when it did not succeed (so the process exits non-zero).
pub async fn follow(client: &Client, operation: &Operation, quiet: bool) -> Result<Operation> {
    follow_build(client, operation, None, quiet).await
}

/// Where a build's log has been read to, for streaming it with the operation.
struct BuildLog {
    path: String,
    offset: u64,
}

impl BuildLog {
    /// Prints what was appended since the last read (whole lines); stops at the first
    /// empty read or error (the log is optional: a build without steps has none).
    async fn pump(&mut self, client: &Client, print: &(dyn Fn(String) + Sync)) {
        // Bounded per call so events keep flowing while a build is chatty.
        for _ in 0..16 {
            let Ok(chunk) = client
                .get::<BuildLogChunk>(&format!("{}?offset={}", self.path, self.offset))
                .await
            else {
                return;
            };
            if chunk.text.is_empty() {
                return;
            }
            self.offset = chunk.next;
            for line in chunk.text.lines() {
                print(format!("  {} {line}", dim("│")));
            }
        }
    }
}

/// As [`follow`], streaming the log of the build of revision `build` with the events.
pub async fn follow_build(
    client: &Client,
    operation: &Operation,
    build: Option<u32>,
    quiet: bool,
) -> Result<Operation> {
    let spinner = if std::io::stderr().is_terminal() && !quiet {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar.set_message(format!("{} {}", operation.kind, operation.service_name));
        Some(bar)
    } else {
        None
    };
    let mut after = 0;
    let mut log = build.filter(|_| !quiet).map(|number| BuildLog {
        path: format!(
            "/services/{}/builds/{number}/log",
            segment(&operation.service_name)
        ),
        offset: 0,
    });
    let print = |line: String| match &spinner {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    };
    loop {
        let current: Operation = client
            .get(&format!(
                "/operations/{}?after={after}",
                segment(operation.id.as_str())
            ))
            .await?;
        for event in &current.events {
            after = after.max(event.seq);
            if quiet {
                continue;
            }
            let line = match event.level {
                EventLevel::Error => red(&event.message),
                EventLevel::Warn => format!("warning: {}", event.message),
                EventLevel::Info => event.message.clone(),
            };
            match &spinner {
                Some(bar) => {
                    bar.println(format!("  {line}"));
                    bar.set_message(event.message.clone());
                }
                None => eprintln!("  {line}"),
            }
            // The build's output belongs right after the line announcing it (a quick
            // build's later events arrive in the same read).
            if event.message.starts_with("Building revision") {
                if let Some(log) = &mut log {
                    log.pump(client, &print).await;
                }
            }
        }
        if let Some(log) = &mut log {
            log.pump(client, &print).await;
        }
        if current.status.is_terminal() {
            if let Some(log) = &mut log {
                log.pump(client, &print).await;
            }
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            if current.status == OperationStatus::Succeeded {
                return Ok(current);
            }
            let reason = current.error.clone().unwrap_or_default();
            eprintln!(
                "{} {} {} {}",
                red("✘"),
                current.kind,
                current.service_name,
                red(current.status.as_str())
            );
            if !reason.is_empty() {
                eprintln!("{}", indent(&reason));
            }
            bail!(
                "operation {} {}",
                current.id,
                current.status.as_str().to_lowercase()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A success line.
pub fn done(message: &str) {
    eprintln!("{} {message}", green("✔"));
}

/// Printed for `--detach`.
pub fn detached(operation: &Operation) {
    eprintln!(
        "{} {} started as operation {} {}",
        operation.kind,
        operation.service_name,
        operation.id,
        dim(&format!("(ferry ops {} to follow)", operation.service_name))
    );
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
