//! Push-to-deploy: the image trigger reconciler. For each service that follows an image
//! tag with auto-deploy on, a pass reads the tag's digest now (from ferry's registry,
//! or from another registry by polling) and, when a new digest is behind it, creates a
//! revision pinned to that digest with its deploy operation, in one transaction. Pushes
//! to ferry's registry only wake passes ([`watch_pushes`]); a pass never acts on the
//! event that woke it. A timer runs them too, so a missed event is caught up.

use crate::background::driver::{
    exponential, Context, ReconcileError, Reconciler, Requeue, Trigger,
};
use crate::registry::own::OwnRegistry;
use ferry_registry::RegistryEvent;
use ferry_scan::image::{Reference, RegistryOptions};
use ferry_store::{ImageFollow, NewDeployment, NewService, Store, StoreError};
use ferry_types::{
    EventLevel, Revision, RevisionId, RevisionSource, ServiceConfig, ServiceId, SourceKind,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// How often a tag in ferry's registry is read even without a push event.
const OWN_REGISTRY_RESYNC: Duration = Duration::from_secs(10);
/// A remote tag is polled at most this often, whatever was asked.
pub const MIN_POLL: Duration = Duration::from_secs(1);
/// The longest wait between failing polls.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("store")]
    Store(#[from] StoreError),
    #[error("{message}")]
    Registry {
        message: String,
        /// The service's poll interval: the backoff starts from it.
        poll: Duration,
    },
}

impl ReconcileError for TriggerError {
    fn retry_after(&self, failures: u32) -> Duration {
        match self {
            Self::Store(_) => exponential(Duration::from_millis(200), failures, MAX_BACKOFF),
            Self::Registry { poll, .. } => exponential(*poll, failures, MAX_BACKOFF.max(*poll)),
        }
    }
}

/// What a pass does about the tag's digest.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Nothing new behind the tag (or no tag).
    Nothing,
    /// The latest revision already runs this digest (a deploy made it): only remember
    /// it as acted on.
    Record { digest: String },
    /// A new revision of this digest, with the latest revision's config.
    Deploy {
        digest: String,
        source: RevisionSource,
        /// Boxed: a config is large and most passes decide nothing.
        config: Box<ServiceConfig>,
    },
}

/// The trigger's decision, from what the service follows, its latest revision and the
/// digest behind the tag now. Only a digest other than the one last acted on deploys,
/// so pushing the same image again does nothing and a rollback stays until the next
/// push.
pub fn decide(
    follow: &ImageFollow,
    latest: Option<&Revision>,
    tag_digest: Option<&str>,
) -> Decision {
    let Some(digest) = tag_digest else {
        return Decision::Nothing;
    };
    if !follow.auto_deploy || follow.acted_digest.as_deref() == Some(digest) {
        return Decision::Nothing;
    }
    let Some(latest) = latest else {
        return Decision::Nothing;
    };
    if pinned_digest(&latest.source) == Some(digest) {
        return Decision::Record {
            digest: digest.to_string(),
        };
    }
    let Ok(reference) = Reference::parse(&follow.image) else {
        return Decision::Nothing;
    };
    Decision::Deploy {
        digest: digest.to_string(),
        source: RevisionSource::Image {
            image: pinned_reference(&reference, digest),
            image_id: None,
            from_tag: Some(follow.image.clone()),
        },
        config: Box::new(latest.config.clone()),
    }
}

/// `host/repo@digest` for a reference followed by tag.
pub fn pinned_reference(reference: &Reference, digest: &str) -> String {
    format!("{}/{}@{digest}", reference.registry, reference.repository)
}

/// The digest an image revision is pinned to, if it is.
fn pinned_digest(source: &RevisionSource) -> Option<&str> {
    match source {
        RevisionSource::Image { image, .. } => image.split_once('@').map(|(_, d)| d),
        RevisionSource::Directory { .. } => None,
    }
}

pub struct ImageTriggerReconciler {
    pub store: Arc<Store>,
    pub own: Option<OwnRegistry>,
    /// Woken when the trigger created a revision.
    pub build: Arc<Trigger<ServiceId>>,
    pub deploy: Arc<Trigger<ServiceId>>,
}

impl ImageTriggerReconciler {
    /// The digest behind the followed tag now.
    async fn tag_digest(
        &self,
        follow: &ImageFollow,
        reference: &Reference,
        poll: Duration,
    ) -> Result<Option<String>, TriggerError> {
        let failed = |message: String| TriggerError::Registry { message, poll };
        if let Some(own) = self.own.as_ref().filter(|own| own.is_own(reference)) {
            return own.resolve(reference).await.map_err(failed);
        }
        let options = RegistryOptions {
            username: follow.username.clone(),
            password: follow.password.clone(),
            ..RegistryOptions::default()
        };
        ferry_scan::image::resolve_digest(&follow.image, &options)
            .await
            .map(Some)
            .map_err(|e| failed(format!("reading {}: {e}", follow.image)))
    }
}

impl Reconciler for ImageTriggerReconciler {
    type Key = ServiceId;
    type Error = TriggerError;

    fn name(&self) -> &'static str {
        "image-trigger"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, TriggerError> {
        Ok(self.store.auto_deploy_services()?)
    }

    async fn reconcile(&self, service: ServiceId, _ctx: Context) -> Result<Requeue, TriggerError> {
        let Some(row) = self.store.get_service(&service)? else {
            return Ok(Requeue::Done);
        };
        let Some(follow) = self.store.image_follow(&service)? else {
            return Ok(Requeue::Done);
        };
        if row.deleting || !follow.auto_deploy {
            return Ok(Requeue::Done);
        }
        let poll = follow.poll_ms.map_or(OWN_REGISTRY_RESYNC, |ms| {
            Duration::from_millis(ms).max(MIN_POLL)
        });
        // A paused service takes no deploy; the tag is read again once it is resumed.
        if row.paused {
            return Ok(Requeue::After(poll));
        }
        let reference = Reference::parse(&follow.image)
            .map_err(|message| TriggerError::Registry { message, poll })?;
        let tag_digest = self.tag_digest(&follow, &reference, poll).await?;
        let latest = self.store.list_revisions(&service)?.into_iter().next();
        match decide(&follow, latest.as_ref(), tag_digest.as_deref()) {
            Decision::Nothing => {}
            Decision::Record { digest } => self.store.set_acted_digest(&service, &digest)?,
            Decision::Deploy {
                digest,
                source,
                config,
            } => {
                let created = self.store.create_triggered_deployment(
                    &NewDeployment {
                        service: &NewService {
                            name: row.name.clone(),
                            source_kind: SourceKind::Image,
                        },
                        source,
                        config: *config,
                        revision_id: RevisionId::generate(),
                        commit: None,
                    },
                    follow.acted_digest.as_deref(),
                    &digest,
                )?;
                if let Some((_, revision, operation)) = created {
                    tracing::info!(service = %row.name, revision = revision.number, image = %follow.image, %digest, "new digest behind the tag: deploying");
                    self.store.add_operation_event(
                        &operation.id,
                        EventLevel::Info,
                        &format!(
                            "Revision {} created: {} now points at {digest}",
                            revision.number, follow.image
                        ),
                    )?;
                    self.build.wake(&service);
                    self.deploy.wake(&service);
                }
            }
        }
        Ok(Requeue::After(poll))
    }
}

/// Wakes the trigger for every service following a tag of ferry's registry whenever a
/// tag there changes (or events were missed), until `shutdown`.
pub async fn watch_pushes(
    own: OwnRegistry,
    store: Arc<Store>,
    trigger: Arc<Trigger<ServiceId>>,
    shutdown: CancellationToken,
) {
    let mut events = own.registry.subscribe();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(RegistryEvent::ManifestPushed { tag: None, .. }) => continue,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        let services = match store.auto_deploy_services() {
            Ok(services) => services,
            Err(err) => {
                tracing::warn!(error = %err, "cannot list the services following images");
                continue;
            }
        };
        for service in services {
            // Polled services keep their own pace; only ferry's registry pushes.
            if let Ok(Some(follow)) = store.image_follow(&service) {
                let own_tag = Reference::parse(&follow.image).is_ok_and(|r| own.is_own(&r));
                if own_tag {
                    trigger.wake(&service);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_types::RevisionStatus;

    const A: &str = "sha256:aaaa";
    const B: &str = "sha256:bbbb";

    fn follow(acted: Option<&str>) -> ImageFollow {
        ImageFollow {
            image: "localhost:7070/shop/web:latest".into(),
            auto_deploy: true,
            poll_ms: None,
            username: None,
            password: None,
            acted_digest: acted.map(str::to_string),
        }
    }

    fn revision(digest: &str) -> Revision {
        let mut config = ServiceConfig::default();
        config.run.port = 9000;
        Revision {
            id: RevisionId::generate(),
            service_id: ServiceId::generate(),
            number: 3,
            source: RevisionSource::Image {
                image: format!("localhost:7070/shop/web@{digest}"),
                image_id: Some("sha256:id".into()),
                from_tag: Some("localhost:7070/shop/web:latest".into()),
            },
            config,
            status: RevisionStatus::Active,
            failure: None,
            created_at: ferry_types::now(),
            commit: None,
        }
    }

    #[test]
    fn a_new_digest_deploys_pinned_with_the_latest_config() {
        let latest = revision(A);
        let decision = decide(&follow(Some(A)), Some(&latest), Some(B));
        let Decision::Deploy {
            digest,
            source,
            config,
        } = decision
        else {
            panic!("expected a deploy, got {decision:?}");
        };
        assert_eq!(digest, B);
        assert_eq!(
            source,
            RevisionSource::Image {
                image: format!("localhost:7070/shop/web@{B}"),
                image_id: None,
                from_tag: Some("localhost:7070/shop/web:latest".into()),
            }
        );
        assert_eq!(config.run.port, 9000);
    }

    #[test]
    fn the_digest_last_acted_on_does_nothing() {
        // The same push again, or a rollback to an older revision: the tag still
        // names what the trigger acted on, so nothing happens.
        assert_eq!(
            decide(&follow(Some(B)), Some(&revision(B)), Some(B)),
            Decision::Nothing
        );
        assert_eq!(
            decide(&follow(Some(B)), Some(&revision(A)), Some(B)),
            Decision::Nothing
        );
    }

    #[test]
    fn a_digest_the_latest_revision_runs_is_only_recorded() {
        assert_eq!(
            decide(&follow(None), Some(&revision(B)), Some(B)),
            Decision::Record { digest: B.into() }
        );
    }

    #[test]
    fn no_tag_no_revision_or_auto_deploy_off_does_nothing() {
        assert_eq!(
            decide(&follow(Some(A)), Some(&revision(A)), None),
            Decision::Nothing
        );
        assert_eq!(decide(&follow(Some(A)), None, Some(B)), Decision::Nothing);
        let mut off = follow(Some(A));
        off.auto_deploy = false;
        assert_eq!(decide(&off, Some(&revision(A)), Some(B)), Decision::Nothing);
    }

    #[test]
    fn a_failed_revision_of_a_digest_is_not_retried_but_a_newer_push_deploys() {
        let mut failed = revision(B);
        failed.status = RevisionStatus::Failed;
        assert_eq!(
            decide(&follow(Some(B)), Some(&failed), Some(B)),
            Decision::Nothing
        );
        assert!(matches!(
            decide(&follow(Some(B)), Some(&failed), Some("sha256:cccc")),
            Decision::Deploy { .. }
        ));
    }

    #[test]
    fn polling_errors_back_off_from_the_poll_interval() {
        let err = TriggerError::Registry {
            message: "down".into(),
            poll: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (1..=5).map(|n| err.retry_after(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600]);
    }
}
