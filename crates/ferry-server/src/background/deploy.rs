//! The deploy reconciler. A supervisor keeps one worker per service; each worker reads
//! the service's desired state from the store, compares it with the instances it
//! observes, and acts: roll out a new revision, keep the active one at its instance
//! count and healthy, pause, delete. It runs on a timer and when woken, takes no input
//! from what woke it, and is safe to repeat — the same path serves normal work and
//! recovery after a restart.

use crate::background::gates;
use crate::background::routes::RoutePublisher;
use crate::data_dir::DataDir;
use crate::runtimes::Runtimes;
use ferry_router::health::{probe, ProbeProtocol, ProbeSpec};
use ferry_router::{RouteState, ServiceRoute, ServiceStats, Upstream};
use ferry_runtime::{
    allocate_port, InstanceSpec, RunStatus, Runtime, RuntimeError, RuntimeInstance, Workload,
};
use ferry_store::{ServiceRow, Store, StoreError};
use ferry_types::{
    EventLevel, HealthProtocol, InstanceId, InstanceInfo, InstanceState, Operation, OperationKind,
    OperationStatus, Revision, RevisionId, RevisionSource, RevisionStatus, RuntimeKind,
    ServiceConfig, ServiceId,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Tunables; the defaults are what `ferry server` uses.
#[derive(Clone, Debug)]
pub struct DeployerSettings {
    /// How often a worker looks again when nothing woke it.
    pub idle_tick: Duration,
    /// How often new instances are probed while they start (fast, so a deploy of a
    /// ready app takes well under a second).
    pub start_probe_interval: Duration,
    /// SIGTERM → SIGKILL delay when stopping an instance.
    pub stop_grace: Duration,
    /// Upper bound for one build step.
    pub build_timeout: Duration,
    /// Longest wait before a crashed instance is started again.
    pub max_backoff: Duration,
}

impl Default for DeployerSettings {
    fn default() -> Self {
        Self {
            idle_tick: Duration::from_secs(1),
            start_probe_interval: Duration::from_millis(50),
            stop_grace: Duration::from_secs(10),
            build_timeout: Duration::from_secs(1800),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What the API shows about a service's running side.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServiceSnapshot {
    pub instances: Vec<InstanceInfo>,
    /// Instances replaced after a crash or failed health checks since ferry started.
    pub restarts: u32,
    /// Why the last instance that ended ended.
    pub last_exit: Option<String>,
    /// What the reconciler is doing or waiting for.
    pub phase: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_reconcile: Option<OffsetDateTime>,
}

/// State a worker shares with the API and the router.
pub struct ServiceShared {
    wake: Notify,
    snapshot: Mutex<ServiceSnapshot>,
    pub stats: Arc<ServiceStats>,
}

pub struct Deployer {
    store: Arc<Store>,
    data: DataDir,
    runtimes: Runtimes,
    routes: Arc<RoutePublisher>,
    settings: DeployerSettings,
    shared: Mutex<HashMap<ServiceId, Arc<ServiceShared>>>,
    wake_all: Notify,
    /// What the security gate read from recent images, by image id.
    image_analyses: gates::ImageAnalyses,
    /// Instances found at start-up, waiting for their service's worker to adopt or stop them.
    recovered: Mutex<HashMap<ServiceId, Vec<(RuntimeKind, RuntimeInstance)>>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every value behind these mutexes is replaced whole, never left half-updated.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Deployer {
    pub fn new(
        store: Arc<Store>,
        data: DataDir,
        runtimes: Runtimes,
        routes: Arc<RoutePublisher>,
        settings: DeployerSettings,
    ) -> Self {
        Self {
            store,
            data,
            runtimes,
            routes,
            settings,
            shared: Mutex::new(HashMap::new()),
            wake_all: Notify::new(),
            image_analyses: gates::ImageAnalyses::default(),
            recovered: Mutex::new(HashMap::new()),
        }
    }

    /// Asks the service's worker (or the supervisor, for a new service) to look now.
    pub fn wake(&self, service: &ServiceId) {
        match lock(&self.shared).get(service) {
            Some(shared) => shared.wake.notify_one(),
            None => self.wake_all.notify_one(),
        }
    }

    pub fn snapshot(&self, service: &ServiceId) -> Option<ServiceSnapshot> {
        lock(&self.shared)
            .get(service)
            .map(|shared| lock(&shared.snapshot).clone())
    }

    pub fn stats(&self, service: &ServiceId) -> Option<Arc<ServiceStats>> {
        lock(&self.shared)
            .get(service)
            .map(|shared| Arc::clone(&shared.stats))
    }

    /// The supervisor: recovers instances left by an earlier ferry process, then keeps
    /// one worker per stored service until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.recover().await;
        let mut workers: JoinSet<ServiceId> = JoinSet::new();
        let mut running: HashMap<ServiceId, ()> = HashMap::new();
        loop {
            match self.store.list_services() {
                Ok(rows) => {
                    for row in rows {
                        if running.contains_key(&row.id) {
                            continue;
                        }
                        let shared = Arc::new(ServiceShared {
                            wake: Notify::new(),
                            snapshot: Mutex::new(ServiceSnapshot::default()),
                            stats: Arc::new(ServiceStats::default()),
                        });
                        lock(&self.shared).insert(row.id.clone(), Arc::clone(&shared));
                        running.insert(row.id.clone(), ());
                        let worker = Worker::new(Arc::clone(&self), row.id.clone(), shared);
                        workers.spawn(worker.run(shutdown.clone()));
                    }
                }
                Err(err) => tracing::error!(error = %err, "cannot list services"),
            }
            self.stop_orphans().await;
            tokio::select! {
                _ = self.wake_all.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                Some(done) = workers.join_next() => {
                    if let Ok(id) = done {
                        running.remove(&id);
                        lock(&self.shared).remove(&id);
                    }
                }
                _ = shutdown.cancelled() => break,
            }
        }
        while workers.join_next().await.is_some() {}
    }

    async fn recover(&self) {
        for runtime in self.runtimes.all() {
            match runtime.list().await {
                Ok(found) => {
                    let mut recovered = lock(&self.recovered);
                    for instance in found {
                        tracing::info!(instance = %instance.instance_id, runtime = %runtime.kind(), "found instance from an earlier run");
                        recovered
                            .entry(instance.service_id.clone())
                            .or_default()
                            .push((runtime.kind(), instance));
                    }
                }
                Err(err) => {
                    tracing::warn!(runtime = %runtime.kind(), error = %err, "cannot list instances")
                }
            }
        }
    }

    /// Stops recovered instances whose service no longer exists.
    async fn stop_orphans(&self) {
        let orphans: Vec<(RuntimeKind, RuntimeInstance)> = {
            let mut recovered = lock(&self.recovered);
            let services: Vec<ServiceId> = recovered.keys().cloned().collect();
            let mut orphans = Vec::new();
            for service in services {
                if matches!(self.store.get_service(&service), Ok(None)) {
                    orphans.extend(recovered.remove(&service).unwrap_or_default());
                }
            }
            orphans
        };
        for (kind, instance) in orphans {
            if let Some(runtime) = self.runtimes.by_kind(kind) {
                if let Err(err) = runtime
                    .stop(&instance.instance_id, self.settings.stop_grace)
                    .await
                {
                    tracing::warn!(instance = %instance.instance_id, error = %err, "cannot stop orphaned instance");
                }
            }
        }
    }
}

/// One instance as a worker tracks it.
struct Inst {
    id: InstanceId,
    revision: RevisionId,
    runtime: RuntimeKind,
    upstream: Arc<Upstream>,
    state: InstanceState,
    in_rotation: bool,
    started_at: OffsetDateTime,
    started: Instant,
    ready_since: Option<Instant>,
    successes: u32,
    failures: u32,
    next_probe: Instant,
    last_probe_error: Option<String>,
    log_path: PathBuf,
}

impl Inst {
    /// A just-started (or just-adopted) instance: out of rotation until its health
    /// check passes.
    fn starting(
        id: InstanceId,
        revision: RevisionId,
        runtime: RuntimeKind,
        address: std::net::SocketAddr,
        log_path: PathBuf,
    ) -> Self {
        let now = Instant::now();
        Self {
            upstream: Arc::new(Upstream::new(id.to_string(), address)),
            id,
            revision,
            runtime,
            state: InstanceState::Starting,
            in_rotation: false,
            started_at: ferry_types::now(),
            started: now,
            ready_since: None,
            successes: 0,
            failures: 0,
            next_probe: now,
            last_probe_error: None,
            log_path,
        }
    }
}

enum Next {
    After(Duration),
    Exit,
}

#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the security gates look at.
enum GateTarget {
    Source(PathBuf),
    Image { id: String, reference: String },
}

/// Why a rollout failed, for the operation and the revision.
struct RolloutFailure {
    reason: String,
}

struct Worker {
    deployer: Arc<Deployer>,
    id: ServiceId,
    name: String,
    shared: Arc<ServiceShared>,
    instances: Vec<Inst>,
    restarts: u32,
    last_exit: Option<String>,
    crash_streak: u32,
    backoff_until: Option<Instant>,
    phase: String,
    published: Option<String>,
}

impl Worker {
    fn new(deployer: Arc<Deployer>, id: ServiceId, shared: Arc<ServiceShared>) -> Self {
        Self {
            deployer,
            id,
            name: String::new(),
            shared,
            instances: Vec::new(),
            restarts: 0,
            last_exit: None,
            crash_streak: 0,
            backoff_until: None,
            phase: "starting".to_string(),
            published: None,
        }
    }

    fn store(&self) -> &Store {
        &self.deployer.store
    }

    fn settings(&self) -> &DeployerSettings {
        &self.deployer.settings
    }

    async fn run(mut self, shutdown: CancellationToken) -> ServiceId {
        let mut first = true;
        loop {
            let next = match self.reconcile(first).await {
                Ok(next) => next,
                Err(err) => {
                    tracing::error!(service = %self.name, error = %err, "reconcile failed; retrying");
                    Next::After(Duration::from_secs(5))
                }
            };
            first = false;
            self.publish_snapshot();
            let delay = match next {
                Next::Exit => break,
                Next::After(delay) => delay,
            };
            tokio::select! {
                _ = self.shared.wake.notified() => {}
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => {
                    self.shutdown().await;
                    break;
                }
            }
        }
        self.id
    }

    /// On server shutdown: instances that a restarted ferry can adopt keep running
    /// (containers); host processes would be orphaned, so they stop now.
    async fn shutdown(&mut self) {
        let ids: Vec<InstanceId> = self
            .instances
            .iter()
            .filter(|inst| {
                self.deployer
                    .runtimes
                    .by_kind(inst.runtime)
                    .is_some_and(|rt| !rt.can_adopt())
            })
            .map(|inst| inst.id.clone())
            .collect();
        self.stop_instances(&ids).await;
    }

    async fn reconcile(&mut self, first: bool) -> Result<Next, WorkerError> {
        let Some(row) = self.store().get_service(&self.id)? else {
            let all: Vec<InstanceId> = self.instances.iter().map(|i| i.id.clone()).collect();
            self.stop_instances(&all).await;
            self.deployer.routes.remove(&self.id);
            return Ok(Next::Exit);
        };
        self.name = row.name.to_string();
        if first {
            self.adopt_recovered(&row).await;
        }
        if row.deleting {
            self.delete(&row).await?;
            return Ok(Next::Exit);
        }
        if row.paused {
            self.pause(&row).await?;
            return Ok(Next::After(self.settings().idle_tick * 2));
        }
        let Some(desired) = row.desired_revision.clone() else {
            self.phase = if row.active_revision.is_none() {
                "no healthy revision: the first deployment failed".to_string()
            } else {
                "no revision".to_string()
            };
            self.publish_route(&row, None);
            self.settle_operations()?;
            return Ok(Next::After(self.settings().idle_tick * 2));
        };
        let Some(revision) = self.store().get_revision(&desired)? else {
            tracing::error!(service = %self.name, revision = %desired, "desired revision is missing");
            return Ok(Next::After(Duration::from_secs(5)));
        };
        if row.active_revision.as_ref() != Some(&desired) {
            self.rollout(&row, &revision).await?;
            self.settle_operations()?;
            return Ok(Next::After(Duration::ZERO));
        }
        let next = self.maintain(&row, &revision).await;
        self.settle_operations()?;
        Ok(next)
    }

    /// Takes over (containers) or stops (processes, other revisions) the instances an
    /// earlier ferry process left running.
    async fn adopt_recovered(&mut self, row: &ServiceRow) {
        let found = lock(&self.deployer.recovered)
            .remove(&self.id)
            .unwrap_or_default();
        for (kind, found) in found {
            let Some(runtime) = self.deployer.runtimes.by_kind(kind).cloned() else {
                continue;
            };
            let keep = runtime.can_adopt()
                && found.status == RunStatus::Running
                && row.active_revision.as_ref() == Some(&found.revision_id)
                && row.desired_revision == row.active_revision
                && !row.paused
                && !row.deleting;
            let log_path = self.log_path(&found.instance_id);
            if keep && runtime.adopt(&found, &log_path).await.is_ok() {
                tracing::info!(service = %self.name, instance = %found.instance_id, "adopted running instance");
                self.instances.push(Inst::starting(
                    found.instance_id.clone(),
                    found.revision_id.clone(),
                    kind,
                    found.address,
                    log_path,
                ));
            } else if let Err(err) = runtime
                .stop(&found.instance_id, self.settings().stop_grace)
                .await
            {
                tracing::warn!(instance = %found.instance_id, error = %err, "cannot stop leftover instance");
            }
        }
    }

    fn log_path(&self, instance: &InstanceId) -> PathBuf {
        self.deployer
            .data
            .service_logs(&self.name)
            .join(format!("{instance}.log"))
    }

    fn event(&self, operations: &[Operation], level: EventLevel, message: &str) {
        for op in operations {
            if let Err(err) = self.store().add_operation_event(&op.id, level, message) {
                tracing::warn!(operation = %op.id, error = %err, "cannot record event");
            }
        }
    }

    /// Unfinished operations of the given kinds, marked IN_PROGRESS.
    fn begin_operations(
        &self,
        kinds: &[OperationKind],
        revision: Option<&RevisionId>,
    ) -> Result<Vec<Operation>, WorkerError> {
        let mut ops = Vec::new();
        for op in self.store().unfinished_operations(&self.id)? {
            if !kinds.contains(&op.kind) {
                continue;
            }
            if revision.is_some() && op.revision_id.as_ref() != revision {
                continue;
            }
            if op.status == OperationStatus::Pending {
                self.store()
                    .set_operation_status(&op.id, OperationStatus::InProgress, None)?;
            }
            ops.push(op);
        }
        Ok(ops)
    }

    fn finish(&self, op: &Operation, outcome: Result<(), String>) -> Result<(), WorkerError> {
        match outcome {
            Ok(()) => {
                self.store().add_operation_event(
                    &op.id,
                    EventLevel::Info,
                    "Operation succeeded",
                )?;
                self.store()
                    .set_operation_status(&op.id, OperationStatus::Succeeded, None)?;
            }
            Err(reason) => {
                let first_line = reason.lines().next().unwrap_or_default();
                self.store().add_operation_event(
                    &op.id,
                    EventLevel::Error,
                    &format!("Operation failed: {first_line}"),
                )?;
                self.store().set_operation_status(
                    &op.id,
                    OperationStatus::Failed,
                    Some(&reason),
                )?;
            }
        }
        Ok(())
    }

    /// Completes operations whose goal the current state meets (or can no longer meet).
    /// The operations are read before the service row: an operation and the desired
    /// revision it sets are written in one transaction, so the row read after is at
    /// least as new as every operation seen.
    fn settle_operations(&self) -> Result<(), WorkerError> {
        let operations = self.store().unfinished_operations(&self.id)?;
        let Some(row) = self.store().get_service(&self.id)? else {
            return Ok(());
        };
        let ready = self
            .instances
            .iter()
            .filter(|i| i.in_rotation && i.state == InstanceState::Ready)
            .count();
        for op in operations {
            let outcome = match op.kind {
                OperationKind::PauseService => {
                    (row.paused && self.instances.is_empty()).then_some(Ok(()))
                }
                OperationKind::ResumeService => {
                    if row.paused {
                        Some(Err("paused again before it resumed".to_string()))
                    } else if ready > 0 {
                        Some(Ok(()))
                    } else if self.crash_streak >= 3 {
                        Some(Err(format!(
                            "instances keep failing: {}",
                            self.last_exit.as_deref().unwrap_or("unknown reason")
                        )))
                    } else {
                        None
                    }
                }
                OperationKind::DeleteService => None,
                OperationKind::CreateService
                | OperationKind::StartDeployment
                | OperationKind::Rollback => {
                    let target = op.revision_id.as_ref();
                    let failed = match target {
                        Some(id) => self
                            .store()
                            .get_revision(id)?
                            .filter(|r| r.status == RevisionStatus::Failed)
                            .map(|r| r.failure.unwrap_or_else(|| "revision failed".into())),
                        None => Some("operation has no revision".to_string()),
                    };
                    if let Some(reason) = failed {
                        Some(Err(reason))
                    } else if target == row.active_revision.as_ref()
                        && row.active_revision == row.desired_revision
                        && ready > 0
                    {
                        Some(Ok(()))
                    } else if target != row.desired_revision.as_ref() {
                        // A revision replaced before it was tried would otherwise stay
                        // PENDING for ever.
                        if let Some(id) = target {
                            self.store().supersede_pending_revision(id)?;
                        }
                        Some(Err("superseded by a later deployment".to_string()))
                    } else {
                        None
                    }
                }
            };
            if let Some(outcome) = outcome {
                self.finish(&op, outcome)?;
            }
        }
        Ok(())
    }

    async fn delete(&mut self, row: &ServiceRow) -> Result<(), WorkerError> {
        let ops = self.begin_operations(&[OperationKind::DeleteService], None)?;
        self.event(&ops, EventLevel::Info, "Stopping all instances");
        let all: Vec<InstanceId> = self.instances.iter().map(|i| i.id.clone()).collect();
        self.stop_instances(&all).await;
        self.deployer.routes.remove(&self.id);
        for revision in self.store().list_revisions(&row.id)? {
            let dir = self.deployer.data.revision_dir(&revision.id);
            if dir.exists() {
                if let Err(err) = std::fs::remove_dir_all(&dir) {
                    tracing::warn!(dir = %dir.display(), error = %err, "cannot remove revision files");
                }
            }
            let _ = std::fs::remove_file(built_marker(&self.deployer.data, &revision.id));
        }
        let logs = self.deployer.data.service_logs(&self.name);
        if logs.exists() {
            let _ = std::fs::remove_dir_all(&logs);
        }
        self.store().delete_service(&row.id)?;
        for op in self.store().unfinished_operations(&self.id)? {
            if op.kind == OperationKind::DeleteService {
                self.finish(&op, Ok(()))?;
            } else {
                self.finish(&op, Err("the service was deleted".to_string()))?;
            }
        }
        self.phase = "deleted".to_string();
        Ok(())
    }

    async fn pause(&mut self, row: &ServiceRow) -> Result<(), WorkerError> {
        self.phase = "paused".to_string();
        if !self.instances.is_empty() {
            let ops = self.begin_operations(&[OperationKind::PauseService], None)?;
            self.event(&ops, EventLevel::Info, "Stopping instances");
            for inst in &mut self.instances {
                inst.in_rotation = false;
            }
            self.publish_route(row, None);
            let ids: Vec<InstanceId> = self.instances.iter().map(|i| i.id.clone()).collect();
            self.drain_and_stop(&ids, Duration::from_secs(30)).await;
        }
        self.publish_route(row, None);
        self.settle_operations()
    }

    /// Moves the service to `revision`: build, start, wait healthy, switch, drain.
    async fn rollout(&mut self, row: &ServiceRow, revision: &Revision) -> Result<(), WorkerError> {
        let ops = self.begin_operations(
            &[
                OperationKind::CreateService,
                OperationKind::StartDeployment,
                OperationKind::Rollback,
            ],
            Some(&revision.id),
        )?;
        self.phase = format!("deploying revision {}", revision.number);
        self.publish_snapshot();
        match self.try_rollout(row, revision, &ops).await {
            Ok(old) => {
                self.event(
                    &ops,
                    EventLevel::Info,
                    &format!("Traffic switched to revision {}", revision.number),
                );
                self.store()
                    .set_revision_status(&revision.id, RevisionStatus::Active, None)?;
                if let Some(previous) = &row.active_revision {
                    if previous != &revision.id {
                        self.store().set_revision_status(
                            previous,
                            RevisionStatus::Inactive,
                            None,
                        )?;
                    }
                }
                self.store()
                    .set_active_revision(&self.id, Some(&revision.id))?;
                self.crash_streak = 0;
                self.backoff_until = None;
                self.settle_operations()?;
                if !old.is_empty() {
                    let drain = row_drain_timeout(self.store(), row);
                    tracing::info!(service = %self.name, count = old.len(), "draining old instances");
                    self.drain_and_stop(&old, drain).await;
                    self.event(
                        &ops,
                        EventLevel::Info,
                        &format!("Drained and stopped {} old instance(s)", old.len()),
                    );
                }
                self.phase = "serving".to_string();
            }
            Err(failure) => {
                tracing::warn!(service = %self.name, revision = revision.number, reason = %failure.reason, "rollout failed");
                self.store().set_revision_status(
                    &revision.id,
                    RevisionStatus::Failed,
                    Some(&failure.reason),
                )?;
                self.store().set_desired_revision_if(
                    &self.id,
                    &revision.id,
                    row.active_revision.as_ref(),
                )?;
                if row.active_revision.is_some() {
                    self.event(
                        &ops,
                        EventLevel::Info,
                        "The previous revision keeps serving",
                    );
                }
                self.phase = format!("revision {} failed", revision.number);
            }
        }
        Ok(())
    }

    /// Returns the ids of the instances that lost traffic (to drain), or why it failed.
    async fn try_rollout(
        &mut self,
        row: &ServiceRow,
        revision: &Revision,
        ops: &[Operation],
    ) -> Result<Vec<InstanceId>, RolloutFailure> {
        let fail = |reason: String| RolloutFailure { reason };
        let runtime = self
            .deployer
            .runtimes
            .for_source(row.source_kind)
            .map_err(|err| fail(err.to_string()))?
            .clone();
        let mut revision = revision.clone();
        match revision.source.clone() {
            RevisionSource::Directory { .. } => {
                let dir = self.deployer.data.revision_dir(&revision.id);
                self.run_gates(&revision, ops, GateTarget::Source(dir))
                    .await?;
                self.build(&revision, ops).await?
            }
            RevisionSource::Image { image, image_id } => {
                let image_id = match image_id {
                    Some(id) => id,
                    None => {
                        runtime
                            .resolve_image(&image)
                            .await
                            .map_err(|err| fail(err.to_string()))?
                            .id
                    }
                };
                revision.source = RevisionSource::Image {
                    image: image.clone(),
                    image_id: Some(image_id.clone()),
                };
                self.run_gates(
                    &revision,
                    ops,
                    GateTarget::Image {
                        id: image_id,
                        reference: image.clone(),
                    },
                )
                .await?;
            }
        }
        let count = revision.config.scaling.min.max(1);
        self.event(
            ops,
            EventLevel::Info,
            &format!(
                "Starting {count} instance(s) of revision {}",
                revision.number
            ),
        );
        let mut new_ids = Vec::new();
        for _ in 0..count {
            match self.start_instance(&runtime, row, &revision).await {
                Ok(inst) => {
                    new_ids.push(inst.id.clone());
                    self.instances.push(inst);
                }
                Err(reason) => {
                    self.stop_instances(&new_ids).await;
                    return Err(fail(reason));
                }
            }
        }
        if let Err(reason) = self
            .wait_ready(&runtime, &new_ids, &revision.config, ops)
            .await
        {
            self.stop_instances(&new_ids).await;
            return Err(fail(reason));
        }
        // The switch: one table swap moves all traffic to the new instances.
        let mut old = Vec::new();
        for inst in &mut self.instances {
            if new_ids.contains(&inst.id) {
                inst.in_rotation = true;
                inst.ready_since = Some(Instant::now());
            } else {
                inst.in_rotation = false;
                inst.state = InstanceState::Draining;
                old.push(inst.id.clone());
            }
        }
        self.publish_route(row, Some(&revision.config));
        Ok(old)
    }

    /// Runs the security gates once per revision (a rollback to a revision that
    /// passed them does not re-run them), stores their reports with the revision, puts
    /// their findings on the timeline, and fails the rollout when the policy blocks.
    async fn run_gates(
        &self,
        revision: &Revision,
        ops: &[Operation],
        target: GateTarget,
    ) -> Result<(), RolloutFailure> {
        let already = self
            .store()
            .reports(&revision.id)
            .map_err(|err| RolloutFailure {
                reason: format!("cannot read security reports: {err}"),
            })?;
        if !already.is_empty() && already.iter().all(|r| !r.blocked) {
            return Ok(());
        }
        let security = &revision.config.security;
        let db = self.deployer.data.vulndb();
        self.event(ops, EventLevel::Info, "Running security checks");
        let results = match &target {
            GateTarget::Source(dir) => gates::source_checks(dir, &db, security).await,
            GateTarget::Image { id, reference } => {
                let analyses = &self.deployer.image_analyses;
                gates::image_checks(id, reference, &db, security, analyses).await
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
            self.event(ops, level, &result.summary);
            for line in result.details.iter().take(20) {
                self.event(ops, EventLevel::Warn, line);
            }
            if result.details.len() > 20 {
                self.event(
                    ops,
                    EventLevel::Warn,
                    &format!(
                        "… and {} more (ferry report {})",
                        result.details.len() - 20,
                        self.name
                    ),
                );
            }
            let stored = ferry_store::StoredReport {
                revision_id: revision.id.clone(),
                kind: result.kind.to_string(),
                blocked: result.blocked,
                summary: result.summary.clone(),
                body: result.body.clone(),
                created_at: ferry_types::now(),
            };
            if let Err(err) = self.store().put_report(&stored) {
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
        Err(RolloutFailure { reason })
    }

    async fn build(&self, revision: &Revision, ops: &[Operation]) -> Result<(), RolloutFailure> {
        let marker = built_marker(&self.deployer.data, &revision.id);
        if marker.exists() {
            return Ok(());
        }
        let plan = ferry_build::BuildPlan::from_config(&revision.config);
        if !plan.is_empty() {
            self.event(
                ops,
                EventLevel::Info,
                &format!(
                    "Building revision {} ({} step(s))",
                    revision.number,
                    plan.steps.len()
                ),
            );
            let log = self
                .deployer
                .data
                .service_logs(&self.name)
                .join(format!("build-{}.log", revision.number));
            let dir = self.deployer.data.revision_dir(&revision.id);
            if let Err(err) =
                ferry_build::execute(&plan, &dir, &log, self.settings().build_timeout).await
            {
                return Err(RolloutFailure {
                    reason: with_log_tail(format!("build failed: {err}"), &log),
                });
            }
            self.event(ops, EventLevel::Info, "Build succeeded");
        }
        std::fs::write(&marker, b"").map_err(|err| RolloutFailure {
            reason: format!("cannot record the build: {err}"),
        })
    }

    async fn start_instance(
        &self,
        runtime: &Arc<dyn Runtime>,
        row: &ServiceRow,
        revision: &Revision,
    ) -> Result<Inst, String> {
        let config = &revision.config;
        let host_port = allocate_port().map_err(|err| format!("cannot allocate a port: {err}"))?;
        let id = InstanceId::generate();
        let (workload, app_port) = match &revision.source {
            RevisionSource::Directory { .. } => {
                let command = config.run.command.clone().ok_or_else(|| {
                    "the app has no start command: set [run] command in ferry.toml".to_string()
                })?;
                (
                    Workload::Process {
                        dir: self.deployer.data.revision_dir(&revision.id),
                        command,
                    },
                    host_port,
                )
            }
            RevisionSource::Image { image, image_id } => (
                Workload::Container {
                    image: image_id.clone().unwrap_or_else(|| image.clone()),
                    command: config.run.command.clone(),
                    container_port: config.run.port,
                },
                config.run.port,
            ),
        };
        let mut env = config.run.env.clone();
        env.insert("PORT".to_string(), app_port.to_string());
        if let Some(name) = &config.run.port_env {
            env.insert(name.clone(), app_port.to_string());
        }
        let log_path = self.log_path(&id);
        if let Some(dir) = log_path.parent() {
            let live = self.instances.iter().map(|i| i.id.to_string()).collect();
            crate::app::logs::prune_instance_logs(
                dir,
                crate::app::logs::KEPT_STOPPED_INSTANCE_LOGS,
                &live,
            );
        }
        let spec = InstanceSpec {
            instance_id: id.clone(),
            service_id: row.id.clone(),
            service_name: self.name.clone(),
            revision_id: revision.id.clone(),
            workload,
            env,
            host_port,
            cpu: config.instance.cpu,
            memory_mib: config.instance.memory_mib,
            log_path: log_path.clone(),
        };
        let started = runtime
            .start(&spec)
            .await
            .map_err(|err| runtime_failure(&err))?;
        Ok(Inst::starting(
            id,
            revision.id.clone(),
            runtime.kind(),
            started.address,
            log_path,
        ))
    }

    /// Waits until every listed instance passes its health check, or fails with why.
    async fn wait_ready(
        &mut self,
        runtime: &Arc<dyn Runtime>,
        ids: &[InstanceId],
        config: &ServiceConfig,
        ops: &[Operation],
    ) -> Result<(), String> {
        let deadline = Instant::now() + start_deadline(config);
        let spec = probe_spec(config);
        loop {
            let mut all_ready = true;
            for inst in self.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
                if inst.state == InstanceState::Ready {
                    continue;
                }
                all_ready = false;
                if let Ok(RunStatus::Exited { reason, .. }) = runtime.status(&inst.id).await {
                    inst.state = InstanceState::Failed;
                    return Err(with_log_tail(
                        format!("instance {} {reason} before becoming healthy", inst.id),
                        &inst.log_path,
                    ));
                }
                match probe(inst.upstream.addr, &spec).await {
                    Ok(()) => {
                        inst.successes += 1;
                        if inst.successes >= config.health_check.healthy_threshold {
                            inst.state = InstanceState::Ready;
                            if let Some(op) = ops.first() {
                                let _ = self.deployer.store.add_operation_event(
                                    &op.id,
                                    EventLevel::Info,
                                    &format!("Instance {} is healthy", inst.id),
                                );
                            }
                        }
                    }
                    Err(err) => {
                        inst.successes = 0;
                        inst.last_probe_error = Some(err.to_string());
                    }
                }
            }
            if all_ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let inst = self
                    .instances
                    .iter()
                    .find(|i| ids.contains(&i.id) && i.state != InstanceState::Ready);
                let (detail, log) = match inst {
                    Some(inst) => (
                        inst.last_probe_error
                            .clone()
                            .unwrap_or_else(|| "no check passed".into()),
                        inst.log_path.clone(),
                    ),
                    None => ("no check passed".to_string(), PathBuf::new()),
                };
                return Err(with_log_tail(
                    format!(
                        "health check failed: no healthy instance within {}s ({} check on port {}: {detail})",
                        start_deadline(config).as_secs(),
                        match config.health_check.protocol {
                            HealthProtocol::Tcp => "TCP".to_string(),
                            HealthProtocol::Http => format!("HTTP {}", config.health_check.path),
                        },
                        config.run.port
                    ),
                    &log,
                ));
            }
            tokio::time::sleep(self.settings().start_probe_interval).await;
        }
    }

    /// Steady state: replace crashed or unhealthy instances (with backoff), keep the
    /// instance count, admit new instances once healthy.
    async fn maintain(&mut self, row: &ServiceRow, revision: &Revision) -> Next {
        let config = &revision.config;
        let Ok(runtime) = self.deployer.runtimes.for_source(row.source_kind).cloned() else {
            self.phase = crate::runtimes::NO_DOCKER_MESSAGE.to_string();
            self.publish_route(row, Some(config));
            return Next::After(Duration::from_secs(5));
        };
        let ops = self
            .begin_operations(&[OperationKind::ResumeService], None)
            .unwrap_or_default();
        // Instances of other revisions here are leftovers (e.g. an interrupted drain).
        let strays: Vec<InstanceId> = self
            .instances
            .iter()
            .filter(|i| i.revision != revision.id)
            .map(|i| i.id.clone())
            .collect();
        if !strays.is_empty() {
            self.drain_and_stop(&strays, Duration::from_secs(config.drain_timeout.into()))
                .await;
        }
        let spec = probe_spec(config);
        let now = Instant::now();
        let mut failed: Vec<(InstanceId, String)> = Vec::new();
        for inst in &mut self.instances {
            if let Ok(RunStatus::Exited { reason, .. }) = runtime.status(&inst.id).await {
                failed.push((inst.id.clone(), reason));
                continue;
            }
            if inst.next_probe > now {
                continue;
            }
            let result = probe(inst.upstream.addr, &spec).await;
            match inst.state {
                InstanceState::Starting => {
                    inst.next_probe = Instant::now() + self.deployer.settings.start_probe_interval;
                    match result {
                        Ok(()) => {
                            inst.successes += 1;
                            if inst.successes >= config.health_check.healthy_threshold {
                                inst.state = InstanceState::Ready;
                                inst.in_rotation = true;
                                inst.ready_since = Some(Instant::now());
                                inst.failures = 0;
                            }
                        }
                        Err(err) => {
                            inst.successes = 0;
                            inst.last_probe_error = Some(err.to_string());
                            if inst.started.elapsed() > start_deadline(config) {
                                failed.push((
                                    inst.id.clone(),
                                    format!("never became healthy: {err}"),
                                ));
                            }
                        }
                    }
                }
                InstanceState::Ready => {
                    inst.next_probe =
                        Instant::now() + Duration::from_secs(config.health_check.interval.into());
                    match result {
                        Ok(()) => inst.failures = 0,
                        Err(err) => {
                            inst.failures += 1;
                            if inst.failures >= config.health_check.unhealthy_threshold {
                                failed.push((
                                    inst.id.clone(),
                                    format!(
                                        "failed {} health checks in a row: {err}",
                                        inst.failures
                                    ),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if !failed.is_empty() {
            for inst in &mut self.instances {
                if failed.iter().any(|(id, _)| id == &inst.id) {
                    inst.in_rotation = false;
                }
            }
            self.publish_route(row, Some(config));
            let ids: Vec<InstanceId> = failed.iter().map(|(id, _)| id.clone()).collect();
            self.stop_instances(&ids).await;
            for (id, reason) in failed {
                tracing::warn!(service = %self.name, instance = %id, %reason, "instance failed; replacing it");
                self.restarts += 1;
                self.crash_streak += 1;
                self.last_exit = Some(format!("{id}: {reason}"));
                self.event(
                    &ops,
                    EventLevel::Warn,
                    &format!("Instance {id} {reason}; replacing it"),
                );
            }
            let backoff = Duration::from_secs(1u64 << self.crash_streak.min(6).saturating_sub(1))
                .min(self.settings().max_backoff);
            self.backoff_until = Some(Instant::now() + backoff);
        }
        // A streak ends once an instance has stayed ready for a while.
        if self.instances.iter().any(|i| {
            i.ready_since
                .is_some_and(|t| t.elapsed() > Duration::from_secs(10))
        }) {
            self.crash_streak = 0;
        }
        let wanted = config.scaling.min.max(1) as usize;
        let live = self.instances.len();
        if live < wanted && self.backoff_until.is_none_or(|t| Instant::now() >= t) {
            for _ in live..wanted {
                match self.start_instance(&runtime, row, revision).await {
                    Ok(inst) => self.instances.push(inst),
                    Err(reason) => {
                        self.restarts += 1;
                        self.crash_streak += 1;
                        self.last_exit = Some(reason);
                        self.backoff_until = Some(Instant::now() + Duration::from_secs(5));
                        break;
                    }
                }
            }
        } else if live > wanted {
            // More than wanted (the autoscaler will manage this range later): drain
            // the newest extras.
            let extra: Vec<InstanceId> = self
                .instances
                .iter()
                .rev()
                .take(live - wanted)
                .map(|i| i.id.clone())
                .collect();
            for inst in &mut self.instances {
                if extra.contains(&inst.id) {
                    inst.in_rotation = false;
                }
            }
            self.publish_route(row, Some(config));
            self.drain_and_stop(&extra, Duration::from_secs(config.drain_timeout.into()))
                .await;
        }
        let ready = self.instances.iter().filter(|i| i.in_rotation).count();
        self.phase = if ready > 0 {
            "serving".to_string()
        } else if let Some(exit) = &self.last_exit {
            format!("no healthy instance (last failure: {exit})")
        } else {
            "starting instances".to_string()
        };
        self.publish_route(row, Some(config));
        let starting = self
            .instances
            .iter()
            .any(|i| i.state == InstanceState::Starting);
        if starting {
            Next::After(self.settings().start_probe_interval)
        } else if let Some(until) = self.backoff_until.filter(|t| *t > Instant::now()) {
            Next::After(until - Instant::now())
        } else {
            let next_probe = self
                .instances
                .iter()
                .map(|i| i.next_probe.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(self.settings().idle_tick);
            Next::After(next_probe.min(self.settings().idle_tick))
        }
    }

    /// Waits for in-flight requests of instances out of rotation (bounded by `timeout`),
    /// then stops them.
    async fn drain_and_stop(&mut self, ids: &[InstanceId], timeout: Duration) {
        for inst in &mut self.instances {
            if ids.contains(&inst.id) {
                inst.in_rotation = false;
                inst.state = InstanceState::Draining;
            }
        }
        self.publish_snapshot();
        let upstreams: Vec<Arc<Upstream>> = self
            .instances
            .iter()
            .filter(|i| ids.contains(&i.id))
            .map(|i| Arc::clone(&i.upstream))
            .collect();
        let deadline = Instant::now() + timeout;
        // A request that picked an upstream just before the table swap registers
        // itself within microseconds; a short pause covers it before counting.
        tokio::time::sleep(Duration::from_millis(50)).await;
        while upstreams.iter().any(|u| u.in_flight() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.stop_instances(ids).await;
    }

    /// Stops instances (concurrently) and forgets them.
    async fn stop_instances(&mut self, ids: &[InstanceId]) {
        if ids.is_empty() {
            return;
        }
        let grace = self.settings().stop_grace;
        let mut stops = JoinSet::new();
        for inst in self.instances.iter().filter(|i| ids.contains(&i.id)) {
            let Some(runtime) = self.deployer.runtimes.by_kind(inst.runtime).cloned() else {
                continue;
            };
            let id = inst.id.clone();
            stops.spawn(async move {
                if let Err(err) = runtime.stop(&id, grace).await {
                    tracing::warn!(instance = %id, error = %err, "cannot stop instance");
                }
            });
        }
        while stops.join_next().await.is_some() {}
        self.instances.retain(|i| !ids.contains(&i.id));
    }

    fn publish_route(&mut self, row: &ServiceRow, config: Option<&ServiceConfig>) {
        let config = match config {
            Some(config) => Some(config.clone()),
            None => row
                .active_revision
                .as_ref()
                .and_then(|id| self.store().get_revision(id).ok().flatten())
                .map(|r| r.config),
        };
        let upstreams: Vec<Arc<Upstream>> = self
            .instances
            .iter()
            .filter(|i| i.in_rotation)
            .map(|i| Arc::clone(&i.upstream))
            .collect();
        let state = if row.paused {
            RouteState::Paused
        } else if !upstreams.is_empty() {
            RouteState::Serving(upstreams)
        } else {
            RouteState::Unavailable {
                reason: self.phase.clone(),
            }
        };
        let mut hosts = vec![format!("{}.localhost", self.name)];
        let timeout = config.as_ref().map_or(120, |c| c.request_timeout);
        if let Some(config) = &config {
            hosts.extend(config.domains.iter().cloned());
        }
        let signature = format!(
            "{hosts:?}|{timeout}|{}",
            match &state {
                RouteState::Serving(ups) => ups
                    .iter()
                    .map(|u| u.instance_id.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                RouteState::Paused => "paused".to_string(),
                RouteState::Unavailable { reason } => format!("unavailable:{reason}"),
            }
        );
        if self.published.as_deref() == Some(signature.as_str()) {
            return;
        }
        self.published = Some(signature);
        self.deployer.routes.set(
            &self.id,
            hosts,
            ServiceRoute {
                service: self.name.clone(),
                state,
                request_timeout: Duration::from_secs(timeout.into()),
                stats: Arc::clone(&self.shared.stats),
            },
        );
    }

    fn publish_snapshot(&self) {
        let instances = self
            .instances
            .iter()
            .map(|inst| InstanceInfo {
                id: inst.id.clone(),
                service_id: self.id.clone(),
                revision_id: inst.revision.clone(),
                runtime: inst.runtime,
                state: inst.state,
                address: inst.upstream.addr.to_string(),
                in_flight: inst.upstream.in_flight(),
                started_at: inst.started_at,
            })
            .collect();
        *lock(&self.shared.snapshot) = ServiceSnapshot {
            instances,
            restarts: self.restarts,
            last_exit: self.last_exit.clone(),
            phase: self.phase.clone(),
            last_reconcile: Some(ferry_types::now()),
        };
    }
}

fn built_marker(data: &DataDir, revision: &RevisionId) -> PathBuf {
    data.builds().join(format!("{revision}.built"))
}

fn row_drain_timeout(store: &Store, row: &ServiceRow) -> Duration {
    let seconds = row
        .active_revision
        .as_ref()
        .and_then(|id| store.get_revision(id).ok().flatten())
        .map_or(30, |r| r.config.drain_timeout);
    Duration::from_secs(seconds.into())
}

/// How long a new instance may take to pass its first health check: App Runner's
/// unhealthy threshold × interval, and never less than 5 s.
fn start_deadline(config: &ServiceConfig) -> Duration {
    let hc = &config.health_check;
    Duration::from_secs(u64::from(hc.interval * hc.unhealthy_threshold).max(5))
}

fn probe_spec(config: &ServiceConfig) -> ProbeSpec {
    ProbeSpec {
        protocol: match config.health_check.protocol {
            HealthProtocol::Tcp => ProbeProtocol::Tcp,
            HealthProtocol::Http => ProbeProtocol::Http,
        },
        path: config.health_check.path.clone(),
        timeout: Duration::from_secs(config.health_check.timeout.into()),
    }
}

fn runtime_failure(err: &RuntimeError) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Appends the last lines of a log file to a failure reason, so the user sees why.
fn with_log_tail(reason: String, log: &std::path::Path) -> String {
    // Stored with the revision: 20 lines of at most 1 KiB each.
    let tail = crate::app::logs::tail_lines(log, 20, 1024);
    if tail.is_empty() {
        reason
    } else {
        format!("{reason}\nlast log lines:\n{}", tail.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    //! The reconciler against the fake runtime: no daemon, no processes, real store.

    use super::*;
    use ferry_runtime::FakeRuntime;
    use ferry_store::{NewDeployment, NewService};
    use ferry_types::{ServiceName, SourceKind};

    struct Harness {
        store: Arc<Store>,
        fake: Arc<FakeRuntime>,
        deployer: Arc<Deployer>,
        routes: Arc<RoutePublisher>,
        shutdown: CancellationToken,
        _dir: tempfile::TempDir,
    }

    impl Harness {
        fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let data = DataDir::new(dir.path());
            data.ensure().unwrap();
            let store = Arc::new(Store::open_in_memory().unwrap());
            let fake = Arc::new(FakeRuntime::new().serving_tcp());
            let runtimes = Runtimes {
                process: Arc::new(
                    FakeRuntime::new()
                        .with_kind(RuntimeKind::Process)
                        .with_adopt(false),
                ),
                docker: Some(fake.clone()),
            };
            let routes = Arc::new(RoutePublisher::new());
            let settings = DeployerSettings {
                idle_tick: Duration::from_millis(50),
                stop_grace: Duration::from_millis(100),
                ..DeployerSettings::default()
            };
            let deployer = Arc::new(Deployer::new(
                Arc::clone(&store),
                data,
                runtimes,
                Arc::clone(&routes),
                settings,
            ));
            let shutdown = CancellationToken::new();
            tokio::spawn(Arc::clone(&deployer).run(shutdown.clone()));
            Self {
                store,
                fake,
                deployer,
                routes,
                shutdown,
                _dir: dir,
            }
        }

        /// Records an image deploy the way the app layer does; returns the operation.
        fn deploy(&self, revision: &RevisionId) -> Operation {
            let mut config = ServiceConfig::default();
            config.health_check.timeout = 1;
            let (service, _, operation) = self
                .store
                .create_deployment(&NewDeployment {
                    service: &NewService {
                        name: ServiceName::parse("web").unwrap(),
                        source_kind: SourceKind::Image,
                    },
                    source: RevisionSource::Image {
                        image: "web:1".into(),
                        image_id: Some("sha256:feed".into()),
                    },
                    config,
                    revision_id: revision.clone(),
                })
                .unwrap();
            self.deployer.wake(&service.id);
            operation
        }

        async fn outcome(&self, operation: &Operation) -> Operation {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let current = self.store.get_operation(&operation.id).unwrap().unwrap();
                if current.status.is_terminal() {
                    return current;
                }
                assert!(Instant::now() < deadline, "operation never ended");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        fn service(&self) -> ServiceRow {
            self.store.get_service_by_name("web").unwrap().unwrap()
        }

        /// Instance ids the router sends `web.localhost` traffic to.
        fn routed(&self) -> Vec<String> {
            let table = self.routes.subscribe().borrow().clone();
            match table.hosts.get("web.localhost").map(|r| r.state.clone()) {
                Some(RouteState::Serving(upstreams)) => {
                    upstreams.iter().map(|u| u.instance_id.clone()).collect()
                }
                _ => Vec::new(),
            }
        }
    }

    impl Drop for Harness {
        fn drop(&mut self) {
            self.shutdown.cancel();
        }
    }

    #[tokio::test]
    async fn a_new_revision_takes_all_traffic_and_the_old_instance_is_stopped() {
        let h = Harness::start();
        let first = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
        let old = h.routed();
        assert_eq!(old.len(), 1);
        let second = h.deploy(&RevisionId::generate());
        let done = h.outcome(&second).await;
        assert_eq!(done.status, OperationStatus::Succeeded);
        let new = h.routed();
        assert_eq!(new.len(), 1);
        assert_ne!(new, old);
        // Drained, then stopped.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !h.fake.stopped().iter().any(|id| id.as_str() == old[0]) {
            assert!(Instant::now() < deadline, "old instance never stopped");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let row = h.service();
        assert_eq!(row.active_revision, second.revision_id);
        let messages: Vec<String> = done.events.iter().map(|e| e.message.clone()).collect();
        assert!(
            messages.iter().any(|m| m.starts_with("Traffic switched")),
            "{messages:?}"
        );
    }

    #[tokio::test]
    async fn a_revision_that_cannot_start_fails_and_the_previous_one_keeps_serving() {
        let h = Harness::start();
        let good = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&good).await.status, OperationStatus::Succeeded);
        let serving = h.routed();
        let bad_revision = RevisionId::generate();
        h.fake
            .fail_start_with_message(&bad_revision, "no space left for this container");
        let bad = h.deploy(&bad_revision);
        let done = h.outcome(&bad).await;
        assert_eq!(done.status, OperationStatus::Failed);
        assert!(done.error.unwrap().contains("no space left"));
        let row = h.service();
        assert_eq!(row.active_revision, good.revision_id);
        assert_eq!(row.desired_revision, good.revision_id);
        let failed = h.store.get_revision(&bad_revision).unwrap().unwrap();
        assert_eq!(failed.status, RevisionStatus::Failed);
        assert_eq!(h.routed(), serving);
    }

    #[tokio::test]
    async fn a_revision_replaced_before_it_ran_is_marked_superseded() {
        let h = Harness::start();
        let first_revision = RevisionId::generate();
        // No await in between: the worker sees only the second as desired.
        let first = h.deploy(&first_revision);
        let second = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&second).await.status, OperationStatus::Succeeded);
        let first = h.outcome(&first).await;
        assert_eq!(first.status, OperationStatus::Failed);
        assert!(first.error.unwrap_or_default().contains("superseded"));
        let revision = h.store.get_revision(&first_revision).unwrap().unwrap();
        assert_eq!(revision.status, RevisionStatus::Superseded);
        // A revision that served keeps its status when a later one replaces it.
        let third = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&third).await.status, OperationStatus::Succeeded);
        let second = h
            .store
            .get_revision(&second.revision_id.unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(second.status, RevisionStatus::Inactive);
    }

    #[tokio::test]
    async fn a_crashed_instance_is_replaced_and_counted() {
        let h = Harness::start();
        let op = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
        let first = h.routed()[0].clone();
        assert!(h.fake.set_exited(
            &InstanceId::from_string(first.clone()),
            Some(1),
            "exited with code 1"
        ));
        let service = h.service().id;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let snapshot = h.deployer.snapshot(&service).unwrap_or_default();
            let routed = h.routed();
            if snapshot.restarts == 1 && routed.len() == 1 && routed[0] != first {
                assert!(snapshot
                    .last_exit
                    .unwrap_or_default()
                    .contains("exited with code 1"));
                break;
            }
            assert!(Instant::now() < deadline, "not replaced: {snapshot:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn pause_stops_instances_and_resume_starts_them_again() {
        let h = Harness::start();
        let op = h.deploy(&RevisionId::generate());
        assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
        let row = h.service();
        let pause = h
            .store
            .create_operation(&row.id, "web", OperationKind::PauseService, None)
            .unwrap();
        h.store.set_paused(&row.id, true).unwrap();
        h.deployer.wake(&row.id);
        assert_eq!(h.outcome(&pause).await.status, OperationStatus::Succeeded);
        let table = h.routes.subscribe().borrow().clone();
        assert!(matches!(
            table.hosts.get("web.localhost").map(|r| r.state.clone()),
            Some(RouteState::Paused)
        ));
        let resume = h
            .store
            .create_operation(&row.id, "web", OperationKind::ResumeService, None)
            .unwrap();
        h.store.set_paused(&row.id, false).unwrap();
        h.deployer.wake(&row.id);
        assert_eq!(h.outcome(&resume).await.status, OperationStatus::Succeeded);
        assert_eq!(h.routed().len(), 1);
    }
}
