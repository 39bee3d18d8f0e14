//! Pushes to ferry's git remote whose deployment waits for the `pre-receive` hook's
//! word: which request started which revision, so that a request ending without
//! that word (the hook killed outright) gives its deployment up.

use std::collections::HashMap;
use std::sync::Mutex;

use super::App;

/// Pushes remembered at once, at most; past it a push is still built, only its
/// request's end is not watched (a hook that is not killed answers anyway).
const MAX_PENDING: usize = 1024;

/// The id of one request to the git remote, handed to its hook.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PushId(String);

impl PushId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for PushId {
    fn default() -> Self {
        Self::new()
    }
}

/// Revision numbers by push, with their service's name.
#[derive(Default)]
pub struct PendingPushes(Mutex<HashMap<String, (String, u32)>>);

impl PendingPushes {
    pub(crate) fn insert(&self, push: &str, service: &str, number: u32) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_PENDING {
            tracing::warn!(
                service,
                revision = number,
                "too many pushes waiting: this one's end is not watched"
            );
            return;
        }
        pending.insert(push.to_string(), (service.to_string(), number));
    }

    fn take(&self, push: &str) -> Option<(String, u32)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(push)
    }
}

impl App {
    /// The request of `push` ended (git's backend and its hook are gone). A
    /// deployment it started that is neither live nor given up by now lost its hook
    /// without a word: git rejected the push, so it is given up like a rejected one.
    /// A no-op when the hook accepted (live) or gave it up itself.
    pub fn git_push_ended(&self, push: &PushId) {
        let Some((service, number)) = self.pushes.take(push.as_str()) else {
            return;
        };
        let reason = "the push's hook ended without answering (killed?)";
        match self.git_abandon(&service, number, reason) {
            Ok(answer) if !answer.live => {
                tracing::info!(%service, revision = number, message = %answer.message, "push ended without its hook's answer");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%service, revision = number, error = %err, "giving up the deployment of an ended push failed");
            }
        }
    }
}
