//! The build reconciler: a service's desired revision waits in the `pending` build
//! state until this runs its security gates and build (bounded concurrency over all
//! services), stores the reports and the plan, and marks it built or failed; then the
//! deploy reconciler rolls it out. A build whose revision stops being wanted (a newer
//! deploy, a pause, a delete) is cancelled within a fraction of a second, its process
//! group killed.

mod docker;
mod secrets;

use crate::background::deploy::{runtime_failure, with_log_tail};
use crate::background::driver::{
    exponential, Context, ReconcileError, Reconciler, Requeue, Trigger,
};
use crate::background::gates;
use crate::background::image_pull;
use crate::background::operations::{self, DEPLOY_KINDS};
use crate::background::registry_scan::RegistryScans;
use crate::data_dir::DataDir;
use crate::registry::own::OwnRegistry;
use crate::runtimes::Runtimes;
use ferry_runtime::RegistryCredentials;
use ferry_store::{BuildStatus, ServiceRow, Store, StoreError, StoredReport};
use ferry_types::{
    EventLevel, Operation, Revision, RevisionId, RevisionSource, RuntimeKind, ServiceId,
};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("store")]
    Store(#[from] StoreError),
}

impl ReconcileError for BuildError {
    fn retry_after(&self, failures: u32) -> Duration {
        exponential(
            Duration::from_millis(200),
            failures,
            Duration::from_secs(10),
        )
    }
}

/// Dependency cache entries kept beyond those existing revisions use.
const DEP_CACHE_KEEP: usize = 16;

/// The timeline line for what happened to the install step.
fn deps_line(outcome: &ferry_build::DepsOutcome) -> String {
    match outcome {
        ferry_build::DepsOutcome::Cached { key } => format!("Dependencies: cached (key {key})"),
        ferry_build::DepsOutcome::Installed { key } => {
            format!("Dependencies: installed and cached (key {key})")
        }
        ferry_build::DepsOutcome::Uncached { reason } => {
            format!("Dependencies: installed, not cached ({reason})")
        }
    }
}

/// Why a revision cannot be built; becomes its failure reason.
#[derive(Debug)]
enum Failure {
    Blocked(String),
    Build(String),
    Image(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Blocked(reason) | Self::Build(reason) | Self::Image(reason) => {
                f.write_str(reason)
            }
        }
    }
}

/// Why a running build stopped before its end.
enum Interruption {
    /// Not wanted any more: a newer deploy, a pause or a delete.
    Unwanted(String),
    /// The server is stopping: the build stays pending and runs again at start-up.
    Shutdown,
}

pub struct BuildReconciler {
    pub store: Arc<Store>,
    pub data: DataDir,
    pub runtimes: Runtimes,
    pub build_timeout: Duration,
    pub image_analyses: gates::ImageAnalyses,
    /// Scans of ferry's registry, which the gates use for its images.
    pub registry_scans: Arc<std::sync::OnceLock<Arc<RegistryScans>>>,
    /// Woken when a revision is built or failed.
    pub deploy: Arc<Trigger<ServiceId>>,
    /// Ferry's registry: its images are pulled with the admin token.
    pub own_registry: Option<OwnRegistry>,
}

impl BuildReconciler {
    /// Why `revision` should stop building now, if it should.
    fn unwanted(
        &self,
        service: &ServiceId,
        revision: &RevisionId,
    ) -> Result<Option<String>, StoreError> {
        let Some(row) = self.store.get_service(service)? else {
            return Ok(Some("cancelled: the service was deleted".into()));
        };
        Ok(if row.deleting {
            Some("cancelled: the service was deleted".into())
        } else if row.paused {
            Some("cancelled: the service was paused before this revision served".into())
        } else if row.desired_revision.as_ref() != Some(revision) {
            // `ferry builds cancel` and a rejected push mark the build before moving
            // `desired` back; the revision's failure says which.
            if self.store.revision_build(revision)? == Some(BuildStatus::Cancelled) {
                let failure = self.store.get_revision(revision)?.and_then(|r| r.failure);
                Some(failure.unwrap_or_else(|| "cancelled by `ferry builds cancel`".into()))
            } else {
                Some("superseded by a later deployment".into())
            }
        } else {
            None
        })
    }

    /// Resolves when the build must stop: the revision is no longer wanted (checked
    /// when the service is woken, and every 250 ms in case a wake-up was missed) or the
    /// server shuts down.
    async fn interrupted(
        &self,
        service: &ServiceId,
        revision: &RevisionId,
        ctx: &Context,
    ) -> Interruption {
        loop {
            tokio::select! {
                _ = ctx.cancelled() => return Interruption::Shutdown,
                _ = ctx.woken() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            match self.unwanted(service, revision) {
                Ok(Some(reason)) => return Interruption::Unwanted(reason),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "cannot check whether the build is still wanted")
                }
            }
        }
    }

    /// Gates and build of one revision. Returns the revision as built (an image is
    /// pinned to its id) and the plan that ran.
    async fn prepare(
        &self,
        row: &ServiceRow,
        revision: &Revision,
        ops: &[Operation],
    ) -> Result<(RevisionSource, Option<String>), Failure> {
        match &revision.source {
            RevisionSource::Directory { .. } => {
                let dir = self.data.revision_dir(&revision.id);
                if revision.config.run.runtime == Some(RuntimeKind::Docker) {
                    return self.build_image(row, revision, ops, dir).await;
                }
                self.run_gates(revision, ops, Target::Source(dir.clone()))
                    .await?;
                let secrets = secrets::resolve(&self.data, &revision.config.build.secrets)
                    .map_err(Failure::Build)?;
                let plan = ferry_build::build_plan(&revision.config, &dir);
                if !plan.is_empty() {
                    operations::event(
                        &self.store,
                        ops,
                        EventLevel::Info,
                        &format!(
                            "Building revision {} ({} step(s))",
                            revision.number,
                            plan.steps().count()
                        ),
                    );
                    let log = self
                        .data
                        .service_logs(row.name.as_str())
                        .join(format!("build-{}.log", revision.number));
                    let cache = self.dep_cache();
                    let run = if secrets.is_empty() {
                        ferry_build::execute_cached(
                            &plan,
                            &dir,
                            &log,
                            self.build_timeout,
                            Some(&cache),
                        )
                        .await
                    } else {
                        ferry_build::execute_with_secrets(
                            &plan,
                            &dir,
                            &log,
                            self.build_timeout,
                            &secrets,
                        )
                        .await
                        .map(|()| None)
                    };
                    match run {
                        Ok(deps) => {
                            if let Some(line) = deps.as_ref().map(deps_line) {
                                operations::event(&self.store, ops, EventLevel::Info, &line);
                            }
                        }
                        Err(err) => {
                            return Err(Failure::Build(with_log_tail(
                                format!("build failed: {err}"),
                                &log,
                            )));
                        }
                    }
                    operations::event(&self.store, ops, EventLevel::Info, "Build succeeded");
                }
                let plan = serde_json::to_string(&plan).ok();
                Ok((revision.source.clone(), plan))
            }
            RevisionSource::Image {
                image,
                image_id,
                from_tag,
            } => {
                let image_id = match image_id {
                    Some(id) => id.clone(),
                    None => {
                        let runtime = self
                            .runtimes
                            .for_source(row.source_kind)
                            .map_err(|err| Failure::Image(err.to_string()))?;
                        // An image pinned by digest in a registry is pulled first, so
                        // the gates and the instances find it in the engine.
                        if let Some(credentials) = self.pull_credentials(row, image)? {
                            operations::event(
                                &self.store,
                                ops,
                                EventLevel::Info,
                                &format!("Pulling {image}"),
                            );
                            runtime
                                .pull_image(image, credentials.as_ref())
                                .await
                                .map_err(|err| Failure::Image(runtime_failure(&err)))?;
                        }
                        runtime
                            .resolve_image(image)
                            .await
                            .map_err(|err| Failure::Image(runtime_failure(&err)))?
                            .id
                    }
                };
                let pinned = RevisionSource::Image {
                    image: image.clone(),
                    image_id: Some(image_id.clone()),
                    from_tag: from_tag.clone(),
                };
                self.run_gates(
                    revision,
                    ops,
                    Target::Image {
                        id: image_id,
                        reference: image.clone(),
                    },
                )
                .await?;
                Ok((pinned, None))
            }
        }
    }

    /// The dependency cache, under the data dir. An absolute root: revisions link to
    /// its store directories, and `gc` compares those links with its own paths.
    fn dep_cache(&self) -> ferry_build::DepCache {
        let absolute = |p: std::path::PathBuf| std::path::absolute(&p).unwrap_or(p);
        ferry_build::DepCache {
            root: absolute(self.data.dep_cache()),
            revisions: absolute(self.data.builds()),
            keep: DEP_CACHE_KEEP,
        }
    }

    /// See [`image_pull::pull_credentials`].
    fn pull_credentials(
        &self,
        row: &ServiceRow,
        image: &str,
    ) -> Result<Option<Option<RegistryCredentials>>, Failure> {
        image_pull::pull_credentials(&self.store, self.own_registry.as_ref(), row, image)
            .map_err(Failure::Image)
    }

    /// Runs the security gates once per revision (a rollback to a revision that passed
    /// them does not re-run them), stores their reports, puts their findings on the
    /// timeline, and fails when the policy blocks.
    async fn run_gates(
        &self,
        revision: &Revision,
        ops: &[Operation],
        target: Target,
    ) -> Result<(), Failure> {
        let already = self
            .store
            .reports(&revision.id)
            .map_err(|err| Failure::Blocked(format!("cannot read security reports: {err}")))?;
        if !already.is_empty() && already.iter().all(|r| !r.blocked) {
            return Ok(());
        }
        let security = &revision.config.security;
        let db = self.data.vulndb();
        operations::event(
            &self.store,
            ops,
            EventLevel::Info,
            "Running security checks",
        );
        let results = match &target {
            Target::Source(dir) => gates::source_checks(dir, &db, security).await,
            Target::Build { dir, dockerfile } => {
                gates::source_checks_with(dir, dockerfile, &db, security).await
            }
            Target::Image { id, reference } => {
                let registry = self.registry_scans.get().map(Arc::as_ref);
                gates::image_checks(id, reference, &db, security, &self.image_analyses, registry)
                    .await
            }
        };
        let mut blocked = Vec::new();
        for result in results {
            let level = if result.blocked {
                EventLevel::Error
            } else if result.details.is_empty() {
                EventLevel::Info
            } else {
                EventLevel::Warn
            };
            operations::event(&self.store, ops, level, &result.summary);
            for line in result.details.iter().take(20) {
                operations::event(&self.store, ops, EventLevel::Warn, line);
            }
            if result.details.len() > 20 {
                let service = ops.first().map_or("", |op| op.service_name.as_str());
                operations::event(
                    &self.store,
                    ops,
                    EventLevel::Warn,
                    &format!(
                        "… and {} more (ferry report {service})",
                        result.details.len() - 20
                    ),
                );
            }
            let stored = StoredReport {
                revision_id: revision.id.clone(),
                kind: result.kind.to_string(),
                blocked: result.blocked,
                summary: result.summary.clone(),
                body: result.body.clone(),
                created_at: ferry_types::now(),
            };
            if let Err(err) = self.store.put_report(&stored) {
                tracing::warn!(error = %err, "cannot store the security report");
            }
            if result.blocked {
                blocked.push(result);
            }
        }
        if blocked.is_empty() {
            return Ok(());
        }
        let mut reason = blocked
            .iter()
            .map(|r| r.summary.clone())
            .collect::<Vec<_>>()
            .join("\n");
        for result in &blocked {
            for line in result.details.iter().take(10) {
                reason.push_str("\n  ");
                reason.push_str(line);
            }
        }
        Err(Failure::Blocked(reason))
    }
}

/// What the security gates look at.
enum Target {
    Source(std::path::PathBuf),
    /// A source directory built with `dockerfile` (in it) by the docker back end.
    Build {
        dir: std::path::PathBuf,
        dockerfile: &'static str,
    },
    Image {
        id: String,
        reference: String,
    },
}

impl Reconciler for BuildReconciler {
    type Key = ServiceId;
    type Error = BuildError;

    fn name(&self) -> &'static str {
        "build"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, BuildError> {
        Ok(self.store.services_awaiting_build()?)
    }

    async fn reconcile(&self, service: ServiceId, ctx: Context) -> Result<Requeue, BuildError> {
        let Some(row) = self.store.get_service(&service)? else {
            return Ok(Requeue::Done);
        };
        if row.deleting || row.paused {
            return Ok(Requeue::Done);
        }
        let Some(revision) = row
            .desired_revision
            .as_ref()
            .map(|id| self.store.get_revision(id))
            .transpose()?
            .flatten()
        else {
            return Ok(Requeue::Done);
        };
        if self.store.revision_build(&revision.id)? != Some(BuildStatus::Pending) {
            return Ok(Requeue::Done);
        }
        let ops = operations::begin(&self.store, &service, &DEPLOY_KINDS, Some(&revision.id))?;
        tracing::info!(service = %row.name, revision = revision.number, "building");
        self.store.set_build_started(&revision.id)?;
        let outcome = tokio::select! {
            outcome = self.prepare(&row, &revision, &ops) => Ok(outcome),
            interruption = self.interrupted(&service, &revision.id, &ctx) => Err(interruption),
        };
        match outcome {
            Ok(Ok((source, plan))) => {
                self.store
                    .set_revision_built(&revision.id, &source, plan.as_deref())?;
            }
            Ok(Err(failure)) => {
                tracing::warn!(service = %row.name, revision = revision.number, reason = %failure, "build failed");
                self.store.fail_revision(
                    &service,
                    &revision.id,
                    BuildStatus::Failed,
                    &failure.to_string(),
                    row.active_revision.as_ref(),
                )?;
                if row.active_revision.is_some() {
                    operations::event(
                        &self.store,
                        &ops,
                        EventLevel::Info,
                        "The previous revision keeps serving",
                    );
                }
            }
            Err(Interruption::Unwanted(reason)) => {
                tracing::info!(service = %row.name, revision = revision.number, %reason, "build cancelled");
                operations::event(
                    &self.store,
                    &ops,
                    EventLevel::Warn,
                    &format!("Build cancelled: {reason}"),
                );
                self.store
                    .set_revision_build(&revision.id, BuildStatus::Cancelled)?;
                self.store
                    .set_revision_status_if_pending(&revision.id, &reason)?;
            }
            Err(Interruption::Shutdown) => return Ok(Requeue::Done),
        }
        self.store.set_build_ended(&revision.id)?;
        self.deploy.wake(&service);
        Ok(Requeue::Done)
    }
}
