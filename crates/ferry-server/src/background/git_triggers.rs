//! The git trigger: a reconciler, keyed by service, for each service that follows a
//! repository URL. A pass reads the followed branch's head (a fetch into the
//! service's repository) and, when it is not the head last acted on, builds it as a
//! new revision (unless nothing changed under the service's directory) — see
//! `App::git_poll`. Webhooks only wake passes; the pass never acts on the delivery.
//! Services with `--poll` are looked at every poll interval; others only when woken
//! (webhooks) and at start-up.

use crate::app::git::Polled;
use crate::app::{App, AppError};
use crate::background::driver::{exponential, Context, ReconcileError, Reconciler, Requeue};
use ferry_store::{Store, StoreError};
use ferry_types::ServiceId;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

/// The longest wait between failing passes.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum GitTriggerError {
    #[error("store")]
    Store(#[from] StoreError),
    #[error("{0}")]
    App(String),
}

impl From<AppError> for GitTriggerError {
    fn from(err: AppError) -> Self {
        Self::App(err.to_string())
    }
}

impl ReconcileError for GitTriggerError {
    fn retry_after(&self, failures: u32) -> Duration {
        exponential(Duration::from_secs(2), failures, MAX_BACKOFF)
    }
}

pub struct GitTriggerReconciler {
    pub store: Arc<Store>,
    /// The app layer, which builds commits the way deploys do; set once the app
    /// exists (it owns the background, so this side holds it weakly).
    pub app: Arc<OnceLock<Weak<App>>>,
}

impl Reconciler for GitTriggerReconciler {
    type Key = ServiceId;
    type Error = GitTriggerError;

    fn name(&self) -> &'static str {
        "git-trigger"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, GitTriggerError> {
        Ok(self.store.git_polled_services()?)
    }

    async fn reconcile(
        &self,
        service: ServiceId,
        ctx: Context,
    ) -> Result<Requeue, GitTriggerError> {
        let Some(app) = self.app.get().and_then(Weak::upgrade) else {
            // Not attached yet (start-up) or shutting down.
            return Ok(Requeue::After(Duration::from_secs(1)));
        };
        let polled = tokio::select! {
            polled = app.git_poll(&service) => polled?,
            _ = ctx.cancelled() => return Ok(Requeue::Done),
        };
        Ok(match polled {
            Polled::NotFollowing | Polled::Looked { poll_ms: None } => Requeue::Done,
            Polled::Looked { poll_ms: Some(ms) } => Requeue::After(Duration::from_millis(ms)),
        })
    }
}
