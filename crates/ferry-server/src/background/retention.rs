//! Revision retention: each service keeps its newest `keep` ended revisions (inactive,
//! failed or superseded) besides the one serving and the one being deployed; older
//! ones are pruned. A pruned revision keeps its row (status PRUNED, shown by
//! `ferry revisions`) but loses what takes disk: its snapshot directory, its build
//! log, and the image ferry built for it (in ferry's registry and in the engine). It
//! can no longer be rolled back to. Without this every deploy would stay on disk for
//! ever.

use crate::background::driver::{exponential, Context, ReconcileError, Reconciler, Requeue};
use crate::data_dir::DataDir;
use crate::registry::own::OwnRegistry;
use crate::runtimes::Runtimes;
use ferry_registry::{Digest, Reference as RegistryRef, RepositoryName};
use ferry_scan::image::Reference;
use ferry_store::{ServiceRow, Store, StoreError};
use ferry_types::{Revision, RevisionSource, RevisionStatus, ServiceId};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Ended revisions each service keeps when nothing is configured.
pub const DEFAULT_KEEP: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("store")]
    Store(#[from] StoreError),
}

impl ReconcileError for RetentionError {
    fn retry_after(&self, failures: u32) -> Duration {
        exponential(Duration::from_secs(1), failures, Duration::from_secs(60))
    }
}

pub struct RetentionReconciler {
    pub store: Arc<Store>,
    pub data: DataDir,
    pub runtimes: Runtimes,
    pub own_registry: Option<OwnRegistry>,
    /// At least 1: the revision serving before the last switch may still be draining.
    pub keep: usize,
}

/// The revisions of `row` past retention, oldest last as `revisions` lists them
/// (newest first). Only ended revisions count and go; the active and the desired
/// revision never do, whatever their status says.
pub fn past_retention<'a>(
    row: &ServiceRow,
    revisions: &'a [Revision],
    keep: usize,
) -> Vec<&'a Revision> {
    let mut ended: Vec<&Revision> = revisions
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                RevisionStatus::Inactive | RevisionStatus::Failed | RevisionStatus::Superseded
            ) && Some(&r.id) != row.active_revision.as_ref()
                && Some(&r.id) != row.desired_revision.as_ref()
        })
        .collect();
    ended.sort_by_key(|r| std::cmp::Reverse(r.number));
    ended.into_iter().skip(keep.max(1)).collect()
}

impl Reconciler for RetentionReconciler {
    type Key = ServiceId;
    type Error = RetentionError;

    fn name(&self) -> &'static str {
        "retention"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, RetentionError> {
        Ok(self.store.services_over_retention(self.keep.max(1))?)
    }

    async fn reconcile(
        &self,
        service: ServiceId,
        _ctx: Context,
    ) -> Result<Requeue, RetentionError> {
        let Some(row) = self.store.get_service(&service)? else {
            return Ok(Requeue::Done);
        };
        if row.deleting {
            // Deleting the service removes everything it has.
            return Ok(Requeue::Done);
        }
        let revisions = self.store.list_revisions(&service)?;
        let mut pruned = Vec::new();
        for revision in past_retention(&row, &revisions, self.keep) {
            // The store re-checks in one statement: a rollback may have chosen it since.
            if self.store.prune_revision(&revision.id)? {
                tracing::info!(service = %row.name, revision = revision.number, "pruned (past retention)");
                pruned.push(revision);
            }
        }
        if pruned.is_empty() {
            return Ok(Requeue::Done);
        }
        // Read once, after every prune of this pass: the images kept revisions still use.
        let kept_images: HashSet<String> = self
            .store
            .revision_images()?
            .into_iter()
            .map(|(_, image)| image)
            .collect();
        for revision in pruned {
            self.remove_files(&row, revision).await;
            self.remove_image(&row, revision, &kept_images).await;
        }
        Ok(Requeue::Done)
    }
}

impl RetentionReconciler {
    /// The snapshot directory and the build log. Best effort: what is left is an
    /// orphan that start-up and gc remove (a directory without a live revision).
    async fn remove_files(&self, row: &ServiceRow, revision: &Revision) {
        let dir = self.data.revision_dir(&revision.id);
        let log = self
            .data
            .service_logs(row.name.as_str())
            .join(format!("build-{}.log", revision.number));
        let outcome = tokio::task::spawn_blocking(move || {
            let dir_result = match std::fs::remove_dir_all(&dir) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            };
            let _ = std::fs::remove_file(&log);
            dir_result
        })
        .await;
        if let Ok(Err(err)) = outcome {
            tracing::warn!(service = %row.name, revision = revision.number, error = %err, "cannot remove a pruned revision's files");
        }
    }

    /// The image ferry built for the revision: its manifest in ferry's registry (the
    /// blobs go at the next gc) and the engine's copies. Images the user pushed or
    /// named are left alone (only the pin goes), and so is an image another revision
    /// that is kept still uses.
    async fn remove_image(
        &self,
        row: &ServiceRow,
        revision: &Revision,
        kept_images: &HashSet<String>,
    ) {
        let RevisionSource::Image { image, .. } = &revision.source else {
            return;
        };
        let Some(own) = &self.own_registry else {
            return;
        };
        let Ok(reference) = Reference::parse(image) else {
            return;
        };
        let build_repository = format!("builds/{}", row.name.as_str());
        if !own.is_own(&reference)
            || reference.repository != build_repository
            || kept_images.contains(image)
        {
            return;
        }
        if let Some(docker) = &self.runtimes.docker {
            let build_tag = own.build_image_name(row.name.as_str(), revision.number);
            for name in [image.as_str(), build_tag.as_str()] {
                if let Err(err) = docker.remove_image(name).await {
                    tracing::warn!(image = %name, error = %err, "cannot remove a pruned revision's image from the engine");
                }
            }
        }
        let (Ok(repository), Some(Ok(digest))) = (
            build_repository.parse::<RepositoryName>(),
            reference.digest.as_deref().map(str::parse::<Digest>),
        ) else {
            return;
        };
        match own
            .registry
            .delete_manifest(&repository, &RegistryRef::Digest(digest))
            .await
        {
            Ok(()) | Err(ferry_registry::RegistryError::ManifestUnknown(_)) => {}
            Err(err) => {
                tracing::warn!(%image, error = %err, "cannot remove a pruned revision's image from ferry's registry");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_types::{RevisionId, ServiceConfig, ServiceName, SourceKind};

    fn revision(number: u32, status: RevisionStatus) -> Revision {
        Revision {
            id: RevisionId::from_string(format!("rev-{number}")),
            service_id: ServiceId::from_string("svc"),
            number,
            source: RevisionSource::Directory {
                digest: format!("sha256:{number}"),
            },
            config: ServiceConfig::default(),
            status,
            failure: None,
            created_at: ferry_types::now(),
            commit: None,
        }
    }

    fn row(active: Option<u32>, desired: Option<u32>) -> ServiceRow {
        let id = |n: u32| RevisionId::from_string(format!("rev-{n}"));
        ServiceRow {
            id: ServiceId::from_string("svc"),
            name: ServiceName::parse("web").unwrap(),
            source_kind: SourceKind::Directory,
            active_revision: active.map(id),
            desired_revision: desired.map(id),
            paused: false,
            deleting: false,
            created_at: ferry_types::now(),
            updated_at: ferry_types::now(),
        }
    }

    fn numbers(pruned: Vec<&Revision>) -> Vec<u32> {
        pruned.iter().map(|r| r.number).collect()
    }

    #[test]
    fn the_newest_ended_revisions_are_kept_and_older_ones_go() {
        use RevisionStatus::*;
        let revisions: Vec<Revision> = [
            (7, Active),
            (6, Inactive),
            (5, Failed),
            (4, Superseded),
            (3, Inactive),
            (2, Inactive),
            (1, Failed),
        ]
        .into_iter()
        .map(|(n, s)| revision(n, s))
        .collect();
        let row = row(Some(7), Some(7));
        assert_eq!(numbers(past_retention(&row, &revisions, 3)), [3, 2, 1]);
        assert_eq!(
            numbers(past_retention(&row, &revisions, 6)),
            Vec::<u32>::new()
        );
        // Zero is taken as one: the revision that served last may still be draining.
        assert_eq!(
            numbers(past_retention(&row, &revisions, 0)),
            [5, 4, 3, 2, 1]
        );
    }

    #[test]
    fn pending_active_desired_and_pruned_revisions_never_count() {
        use RevisionStatus::*;
        let revisions: Vec<Revision> = [
            (6, Pending),
            (5, Active),
            (4, Pruned),
            (3, Inactive),
            (2, Inactive),
            (1, Inactive),
        ]
        .into_iter()
        .map(|(n, s)| revision(n, s))
        .collect();
        // A rollback to 2 is under way: 2 is desired, 5 still active.
        let rolling_back = row(Some(5), Some(2));
        assert_eq!(numbers(past_retention(&rolling_back, &revisions, 1)), [1]);
        // Statuses lag the row: an "inactive" revision the row says is active stays.
        let stale = row(Some(3), Some(3));
        assert_eq!(numbers(past_retention(&stale, &revisions, 1)), [1]);
    }
}
