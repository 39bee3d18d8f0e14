//! `ferry git-hook` (hidden): run by the `pre-receive` hook of ferry's git remote,
//! inside `git push`, before any ref moves. It reads the refs the push would update
//! from standard input and hands them to the server with the push's quarantine
//! directory (where the pushed objects wait until the hook accepts), then streams the
//! build and the rollout, so they appear in the push's output as `remote:` lines. It
//! exits 0 (git updates the ref) only when the new revision serves, or when the push
//! needs no build; otherwise non-zero, and git rejects the push.
//!
//! A push is all or nothing: when the hook stops waiting (its timeout, SIGTERM because
//! the pusher went away, a signal, its output gone) it gives the deployment up
//! (`…/git/abandon`), so the old revision keeps serving and the branch keeps naming
//! it; if the revision already serves by then, the push is accepted instead. A hook
//! killed outright cannot say so: the server gives the deployment up when the push's
//! request ends (the push id it passes back is how it knows which). The server gives
//! the hook its address, token, service, push id and timeout in the environment.

use crate::client::{segment, Client, Connection};
use crate::commands::follow::follow_build;
use anyhow::{bail, Context, Result};
use ferry_api::{GitAbandon, GitAbandoned, GitPushed, GitTriggered, RefUpdate};
use std::io::BufRead;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// Ref updates read from one push, at most.
const MAX_UPDATES: usize = 10_000;
/// How long the hook waits when the server does not say (`FERRY_HOOK_TIMEOUT`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long giving a deployment up may take.
const ABANDON_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the hook stopped waiting for the deployment.
enum Stopped {
    /// The operation ended and did not succeed (the follower printed why).
    Failed(anyhow::Error),
    TimedOut(Duration),
    /// A signal (the server's SIGTERM when the client left) or the output is gone.
    Interrupted(&'static str),
}

pub async fn run() -> Result<()> {
    let var = |name: &str| {
        std::env::var(name)
            .with_context(|| format!("{name} is not set: this command is run by ferry's git hook"))
    };
    let base = var("FERRY_HOOK_URL")?;
    let token = var("FERRY_HOOK_TOKEN")?;
    let service = var("FERRY_HOOK_SERVICE")?;
    let timeout = std::env::var("FERRY_HOOK_TIMEOUT")
        .ok()
        .and_then(|t| t.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    // Set by receive-pack for its hooks: the pushed objects are only there for now.
    let quarantine = std::env::var("GIT_QUARANTINE_PATH")
        .ok()
        .filter(|p| !p.is_empty());
    let push = std::env::var("FERRY_HOOK_PUSH")
        .ok()
        .filter(|p| !p.is_empty());
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
    let connection = Connection {
        base,
        token: Some(token),
    };
    let client = Client::new(connection.clone())?;
    let triggered: GitTriggered = client
        .post(
            &format!("/services/{}/git/pushed", segment(&service)),
            &GitPushed {
                updates,
                quarantine,
                push,
            },
        )
        .await
        .context("ferry cannot build this push; it is rejected")?;
    eprintln!("ferry: {}", triggered.message);
    let Some(accepted) = triggered.accepted else {
        return Ok(());
    };
    let number = accepted.revision.as_ref().map_or(0, |r| r.number);

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    // Its own task: printing to a closed pipe (the pusher gone) panics there, and
    // that ends the wait like a signal does.
    let follower = {
        let client = Client::new(connection)?;
        let operation = accepted.operation.clone();
        tokio::spawn(async move { follow_build(&client, &operation, Some(number), false).await })
    };
    let stopped = tokio::select! {
        followed = follower => match followed {
            Ok(Ok(_)) => None,
            Ok(Err(err)) => Some(Stopped::Failed(err)),
            Err(_) => Some(Stopped::Interrupted("its output is gone")),
        },
        _ = tokio::time::sleep(timeout) => Some(Stopped::TimedOut(timeout)),
        _ = term.recv() => Some(Stopped::Interrupted("the pusher went away (SIGTERM)")),
        _ = int.recv() => Some(Stopped::Interrupted("interrupted (SIGINT)")),
        _ = hup.recv() => Some(Stopped::Interrupted("the pusher went away (SIGHUP)")),
    };
    let Some(stopped) = stopped else {
        say(&format!(
            "ferry: {service} revision {number} is live: {}",
            accepted.service.url
        ));
        return Ok(());
    };
    let reason = match &stopped {
        Stopped::Failed(err) => format!("revision {number} did not deploy ({err:#})"),
        Stopped::TimedOut(after) => format!(
            "the build and rollout did not finish within {}s (`ferry server --git-push-timeout`)",
            after.as_secs()
        ),
        Stopped::Interrupted(why) => format!("git push ended: {why}"),
    };
    let abandon = GitAbandon {
        revision: number,
        reason: reason.clone(),
    };
    let path = format!("/services/{}/git/abandon", segment(&service));
    let abandoned = tokio::time::timeout(
        ABANDON_TIMEOUT,
        client.post::<_, GitAbandoned>(&path, &abandon),
    )
    .await;
    match abandoned {
        Ok(Ok(answer)) if answer.live => {
            // Too late to give it up: the branch must name what serves.
            say(&format!(
                "ferry: {service} revision {number} went live before the push could be rejected: accepted"
            ));
            Ok(())
        }
        Ok(Ok(answer)) => {
            // A failed operation already moved back on its own: nothing to add then.
            if !matches!(stopped, Stopped::Failed(_)) {
                say(&format!("ferry: {}", answer.message));
            }
            bail!("push rejected: {reason}; what served keeps serving and the branch is unchanged")
        }
        Ok(Err(err)) => {
            bail!("push rejected: {reason}; giving revision {number} up failed too: {err:#}")
        }
        Err(_) => bail!(
            "push rejected: {reason}; giving revision {number} up did not answer within {}s",
            ABANDON_TIMEOUT.as_secs()
        ),
    }
}

/// A line for the pusher; nothing when the output is gone (the push ends anyway).
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
