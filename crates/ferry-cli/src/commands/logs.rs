//! `ferry logs`: the last lines of a service's instances and builds; `-f` follows.

use crate::client::{segment, Client};
use crate::output::{dim, stdout_failed};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::io::Write;

#[derive(serde::Deserialize)]
struct LogLine {
    source: String,
    line: String,
}

pub async fn run(client: &Client, name: &str, follow: bool, tail: usize, json: bool) -> Result<()> {
    let response = client
        .send(client.request(
            reqwest::Method::GET,
            &format!(
                "/services/{}/logs?tail={tail}&follow={follow}",
                segment(name)
            ),
        ))
        .await?;
    let mut stream = response.bytes_stream();
    let mut buffer = Vec::new();
    let stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the log stream broke")?;
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = buffer.drain(..=end).collect();
            let mut out = stdout.lock();
            let written = if json {
                out.write_all(&raw)
            } else if let Ok(line) = serde_json::from_slice::<LogLine>(&raw) {
                writeln!(out, "{} {}", dim(&format!("[{}]", line.source)), line.line)
            } else {
                Ok(())
            };
            if let Err(err) = written {
                stdout_failed(&err);
            }
        }
        if let Err(err) = stdout.lock().flush() {
            stdout_failed(&err);
        }
    }
    Ok(())
}
