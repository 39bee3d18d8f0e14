//! `ferry git-hook` (hidden): run by the `post-receive` hook of ferry's git remote,
//! inside `git push`. It reads the updated refs from standard input, tells the server
//! (which builds the followed branch's new head), and streams the build and the
//! rollout, so they appear in the push's output as `remote:` lines. The server gives
//! it its address, token and service in the environment.

use crate::client::{segment, Client, Connection};
use crate::commands::follow::follow_build;
use anyhow::{Context, Result};
use ferry_api::{GitPushed, GitTriggered, RefUpdate};
use std::io::BufRead;

/// Ref updates read from one push, at most.
const MAX_UPDATES: usize = 10_000;

pub async fn run() -> Result<()> {
    let var = |name: &str| {
        std::env::var(name)
            .with_context(|| format!("{name} is not set: this command is run by ferry's git hook"))
    };
    let base = var("FERRY_HOOK_URL")?;
    let token = var("FERRY_HOOK_TOKEN")?;
    let service = var("FERRY_HOOK_SERVICE")?;
    let mut updates = Vec::new();
    for line in std::io::stdin().lock().lines().take(MAX_UPDATES) {
        let line = line.context("reading the pushed refs")?;
        let mut fields = line.split_whitespace();
        if let (Some(old), Some(new), Some(name)) = (fields.next(), fields.next(), fields.next()) {
            updates.push(RefUpdate {
                old: old.to_string(),
                new: new.to_string(),
                name: name.to_string(),
            });
        }
    }
    let client = Client::new(Connection {
        base,
        token: Some(token),
    })?;
    let triggered: GitTriggered = client
        .post(
            &format!("/services/{}/git/pushed", segment(&service)),
            &GitPushed { updates },
        )
        .await?;
    eprintln!("ferry: {}", triggered.message);
    let Some(accepted) = triggered.accepted else {
        return Ok(());
    };
    let revision = accepted.revision.as_ref().map(|r| r.number);
    follow_build(&client, &accepted.operation, revision, false).await?;
    eprintln!(
        "ferry: {service} revision {} is live: {}",
        revision.unwrap_or(0),
        accepted.service.url
    );
    Ok(())
}
