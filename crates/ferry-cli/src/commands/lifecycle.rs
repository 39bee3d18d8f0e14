//! `ferry rollback`, `ferry pause`, `ferry resume`, `ferry delete`: start an operation and
//! (unless `--detach`) wait for its outcome.

use crate::client::{segment, Client};
use crate::commands::follow::{detached, done, follow};
use anyhow::Result;
use ferry_api::Accepted;
use ferry_api::RollbackRequest;

pub enum Action {
    Rollback(Option<u32>),
    Pause,
    Resume,
    Delete,
}

pub async fn run(
    client: &Client,
    name: &str,
    action: Action,
    detach: bool,
    json: bool,
) -> Result<()> {
    let base = format!("/services/{}", segment(name));
    let accepted: Accepted = match &action {
        Action::Rollback(revision) => {
            client
                .post(
                    &format!("{base}/rollback"),
                    &RollbackRequest {
                        revision: *revision,
                    },
                )
                .await?
        }
        Action::Pause => client.post(&format!("{base}/pause"), &()).await?,
        Action::Resume => client.post(&format!("{base}/resume"), &()).await?,
        Action::Delete => client.delete(&base).await?,
    };
    if detach {
        if json {
            return crate::output::print_json(&accepted);
        }
        detached(&accepted.operation);
        return Ok(());
    }
    let finished = follow(client, &accepted.operation, json).await?;
    if json {
        return crate::output::print_json(&finished);
    }
    let url = &accepted.service.url;
    done(&match action {
        Action::Rollback(_) => format!(
            "{name} rolled back to revision {}: {url}",
            accepted.revision.map(|r| r.number).unwrap_or_default()
        ),
        Action::Pause => {
            format!("{name} paused (the router answers 503 until `ferry resume {name}`)")
        }
        Action::Resume => format!("{name} resumed: {url}"),
        Action::Delete => format!("{name} deleted"),
    });
    Ok(())
}
