//! The deploy reconciler: per service, observe the instances (exits and health), ask
//! the pure planner what to do, and apply its actions one short step at a time. It runs
//! under the background driver, on a timer and when woken, reads desired state from
//! the store and never acts on what woke it — the same path serves normal work and
//! recovery after a restart.

mod execute;
pub mod health;
pub mod plan;
pub mod state;
#[cfg(test)]
mod tests;

use crate::background::driver::{exponential, Context, ReconcileError, Reconciler, Requeue};
use crate::background::operations;
use crate::background::routes::RoutePublisher;
use crate::data_dir::DataDir;
use crate::runtimes::Runtimes;
use ferry_runtime::{RunStatus, RuntimeError, RuntimeInstance};
use ferry_store::{BuildStatus, ServiceRow, Store, StoreError};
use ferry_types::{InstanceId, Revision, RevisionId, RuntimeKind, ServiceId};
use health::{probe_spec, ProbeOutcome, Prober};
use plan::{BuildState, DesiredView, Observed, Wait};
use state::{Phase, ServiceShared, ServiceWork};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub(crate) use execute::{runtime_failure, with_log_tail};
pub use state::ServiceSnapshot;

/// Tunables; the defaults are what `ferry server` uses.
#[derive(Clone, Debug)]
pub struct DeployerSettings {
    /// How often a service is looked at when nothing woke it.
    pub idle_tick: Duration,
    /// How often new instances are probed while they start (fast, so a deploy of a
    /// ready app takes well under a second and a cold start from zero answers its held
    /// request in a few tens of milliseconds), and passes run while one starts.
    pub start_probe_interval: Duration,
    /// How often passes run while instances drain or stop (nothing to probe).
    pub moving_tick: Duration,
    /// SIGTERM → SIGKILL delay when stopping an instance.
    pub stop_grace: Duration,
    /// Upper bound for one build step.
    pub build_timeout: Duration,
    /// Longest wait before a crashed instance is started again.
    pub max_backoff: Duration,
    /// Builds running at once, over all services.
    pub max_concurrent_builds: usize,
    /// Ended revisions each service keeps (see `background/retention.rs`).
    pub keep_revisions: usize,
}

impl Default for DeployerSettings {
    fn default() -> Self {
        Self {
            idle_tick: Duration::from_secs(1),
            start_probe_interval: Duration::from_millis(15),
            moving_tick: Duration::from_millis(50),
            stop_grace: Duration::from_secs(10),
            build_timeout: Duration::from_secs(1800),
            max_backoff: Duration::from_secs(60),
            max_concurrent_builds: 2,
            keep_revisions: crate::background::retention::DEFAULT_KEEP,
        }
    }
}

/// Why a pass failed; the driver retries after the backoff it chooses.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("store")]
    Store(#[from] StoreError),
    #[error("runtime")]
    Runtime(#[from] RuntimeError),
}

impl ReconcileError for DeployError {
    fn retry_after(&self, failures: u32) -> Duration {
        match self {
            // A locked or failing database usually clears fast.
            Self::Store(_) => exponential(
                Duration::from_millis(200),
                failures,
                Duration::from_secs(10),
            ),
            Self::Runtime(_) => {
                exponential(Duration::from_secs(1), failures, Duration::from_secs(30))
            }
        }
    }
}

/// One service's slot: what the API reads, and the work its passes share (one pass at
/// a time, which the driver guarantees; the lock also keeps shutdown out of a pass).
pub(crate) struct ServiceSlot {
    pub shared: Arc<ServiceShared>,
    pub work: tokio::sync::Mutex<ServiceWork>,
}

pub struct DeployReconciler {
    pub(crate) store: Arc<Store>,
    pub(crate) data: DataDir,
    pub(crate) runtimes: Runtimes,
    pub(crate) routes: Arc<RoutePublisher>,
    pub(crate) settings: DeployerSettings,
    pub(crate) prober: Arc<dyn Prober>,
    /// The desired instance counts (the autoscale reconciler writes them).
    pub(crate) autoscaler: Arc<crate::background::autoscale::Autoscaler>,
    /// Ferry's registry, whose images the engine pulls with the admin token.
    pub(crate) own_registry: Option<crate::registry::own::OwnRegistry>,
    slots: Mutex<HashMap<ServiceId, Arc<ServiceSlot>>>,
    /// Instances found at start-up, waiting for their service's first pass to adopt or
    /// stop them.
    recovered: Mutex<HashMap<ServiceId, Vec<(RuntimeKind, RuntimeInstance)>>>,
    /// Instances of services that no longer exist, whose stop failed: retried.
    orphans: Mutex<Vec<(RuntimeKind, RuntimeInstance)>>,
}

/// How soon a stop the runtime refused is tried again.
const STOP_RETRY: Duration = Duration::from_secs(1);
/// Attempts to stop host processes on shutdown before leaving them to the records.
const SHUTDOWN_STOP_ATTEMPTS: u32 = 3;

use crate::background::driver::lock;

impl DeployReconciler {
    pub fn new(
        store: Arc<Store>,
        data: DataDir,
        runtimes: Runtimes,
        routes: Arc<RoutePublisher>,
        settings: DeployerSettings,
        prober: Arc<dyn Prober>,
    ) -> Self {
        Self {
            autoscaler: Arc::new(crate::background::autoscale::Autoscaler::new(Arc::clone(
                &store,
            ))),
            store,
            data,
            runtimes,
            routes,
            settings,
            prober,
            own_registry: None,
            slots: Mutex::new(HashMap::new()),
            recovered: Mutex::new(HashMap::new()),
            orphans: Mutex::new(Vec::new()),
        }
    }

    /// Images of ferry's registry are pulled with its admin token.
    pub fn with_own_registry(
        mut self,
        own_registry: Option<crate::registry::own::OwnRegistry>,
    ) -> Self {
        self.own_registry = own_registry;
        self
    }

    pub(crate) fn slot(&self, service: &ServiceId) -> Arc<ServiceSlot> {
        Arc::clone(lock(&self.slots).entry(service.clone()).or_insert_with(|| {
            Arc::new(ServiceSlot {
                shared: Arc::new(ServiceShared {
                    snapshot: Mutex::new(ServiceSnapshot::default()),
                    stats: Arc::new(ferry_router::ServiceStats::default()),
                    admission: Arc::new(ferry_router::Admission::default()),
                    upstreams: Mutex::new(Vec::new()),
                }),
                work: tokio::sync::Mutex::new(ServiceWork::default()),
            })
        }))
    }

    pub fn shared(&self, service: &ServiceId) -> Option<Arc<ServiceShared>> {
        lock(&self.slots)
            .get(service)
            .map(|s| Arc::clone(&s.shared))
    }

    /// Lists every driver's instances once, before the first pass: each service's first
    /// pass adopts its own; instances of services that no longer exist are stopped.
    pub async fn recover(&self) {
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
        lock(&self.orphans).extend(orphans);
        self.stop_orphans().await;
    }

    /// Stops instances whose service no longer exists; those the runtime refuses stay
    /// listed for the next try. Returns whether any are left.
    pub async fn stop_orphans(&self) -> bool {
        let orphans = std::mem::take(&mut *lock(&self.orphans));
        for (kind, instance) in orphans {
            let Some(runtime) = self.runtimes.by_kind(kind) else {
                continue;
            };
            if let Err(err) = runtime
                .stop(&instance.instance_id, self.settings.stop_grace)
                .await
            {
                tracing::warn!(instance = %instance.instance_id, error = %err, "cannot stop orphaned instance; will retry");
                lock(&self.orphans).push((kind, instance));
            }
        }
        !lock(&self.orphans).is_empty()
    }

    /// Takes over (containers of the active revision) or stops (processes, other
    /// revisions) the instances an earlier ferry process left running.
    async fn adopt_recovered(&self, row: &ServiceRow, work: &mut ServiceWork) {
        let found = lock(&self.recovered).remove(&row.id).unwrap_or_default();
        for (kind, found) in found {
            let Some(runtime) = self.runtimes.by_kind(kind).cloned() else {
                continue;
            };
            let keep = runtime.can_adopt()
                && found.status == RunStatus::Running
                && row.active_revision.as_ref() == Some(&found.revision_id)
                && row.desired_revision == row.active_revision
                && !row.paused
                && !row.deleting;
            let log_path = self.log_path(&work.name, &found.instance_id);
            if keep && runtime.adopt(&found, &log_path).await.is_ok() {
                tracing::info!(service = %work.name, instance = %found.instance_id, "adopted running instance");
                work.instances.push(state::Inst::starting(
                    found.instance_id.clone(),
                    found.revision_id.clone(),
                    kind,
                    found.address,
                    log_path,
                ));
            } else if let Err(err) = runtime
                .stop(&found.instance_id, self.settings.stop_grace)
                .await
            {
                // Tracked as one to stop: its stop is retried until the runtime confirms.
                tracing::warn!(instance = %found.instance_id, error = %err, "cannot stop leftover instance; will retry");
                let mut leftover = state::Inst::starting(
                    found.instance_id.clone(),
                    found.revision_id.clone(),
                    kind,
                    found.address,
                    log_path,
                );
                leftover.stop = Some(state::StopState::Failed {
                    retry_at: Instant::now() + STOP_RETRY,
                });
                work.instances.push(leftover);
            }
        }
    }

    pub(crate) fn log_path(
        &self,
        service: &str,
        instance: &ferry_types::InstanceId,
    ) -> std::path::PathBuf {
        self.data
            .service_logs(service)
            .join(format!("{instance}.log"))
    }

    /// Exits and due health probes of the instances that serve or are about to; probes
    /// run concurrently, each bounded by its timeout.
    async fn observe_health(
        &self,
        work: &mut ServiceWork,
        revisions: &HashMap<RevisionId, Revision>,
    ) {
        let now = Instant::now();
        let mut probes = Vec::new();
        for inst in &mut work.instances {
            if inst.stop.is_some() || inst.drain.is_some() {
                continue;
            }
            let Some(revision) = revisions.get(&inst.revision) else {
                continue;
            };
            if let Some(runtime) = self.runtimes.by_kind(inst.runtime) {
                if let Ok(RunStatus::Exited { reason, .. }) = runtime.status(&inst.id).await {
                    inst.health.exited(&reason);
                    continue;
                }
            }
            if inst.health.due(now) {
                let spec = probe_spec(&revision.config);
                let prober = Arc::clone(&self.prober);
                let addr = inst.upstream.addr;
                probes.push(async move { (addr, prober.probe(addr, &spec).await) });
            }
        }
        let results = futures_util::future::join_all(probes).await;
        let now = Instant::now();
        for (addr, result) in results {
            let Some(inst) = work.instances.iter_mut().find(|i| i.upstream.addr == addr) else {
                continue;
            };
            let Some(revision) = revisions.get(&inst.revision) else {
                continue;
            };
            inst.health.record(
                ProbeOutcome::from_result(result),
                now,
                &revision.config,
                self.settings.start_probe_interval,
            );
        }
    }

    /// Keeps `work.site` on the active revision's files when that revision is a static
    /// site: opened here at the first pass after a start-up (a switch opens its own),
    /// dropped when the active revision is no static site any more. An error is kept
    /// as the reason the route is unavailable and tried again next pass.
    async fn ensure_site(
        &self,
        row: &ServiceRow,
        revisions: &HashMap<RevisionId, Revision>,
        work: &mut ServiceWork,
    ) {
        let active = row
            .active_revision
            .as_ref()
            .and_then(|id| revisions.get(id));
        let Some(revision) = active.filter(|r| r.static_root().is_some()) else {
            work.site = None;
            work.site_error = None;
            return;
        };
        if work.site_for(Some(&revision.id)).is_some() {
            return;
        }
        match execute::open_site(self, revision).await {
            Ok(site) => {
                work.site = Some(state::ServedSite {
                    revision: revision.id.clone(),
                    site,
                });
                work.site_error = None;
            }
            Err(reason) => {
                if work.site_error.as_ref() != Some(&reason) {
                    tracing::warn!(service = %row.name, %reason, "cannot serve the static site");
                }
                work.site = None;
                work.site_error = Some(reason);
            }
        }
    }

    async fn pass(
        &self,
        service: &ServiceId,
        work: &mut ServiceWork,
    ) -> Result<Requeue, DeployError> {
        let Some(row) = self.store.get_service(service)? else {
            // Gone (deleted here, or by hand): nothing may keep running for it.
            self.routes.remove(service);
            execute::stop_all_now(self, work).await;
            lock(&self.slots).remove(service);
            return Ok(Requeue::Done);
        };
        work.name = row.name.to_string();
        if !work.recovered {
            self.adopt_recovered(&row, work).await;
            work.recovered = true;
        }
        work.collect_stops(STOP_RETRY);
        execute::retry_stops(self, work);

        let mut revisions = HashMap::new();
        for id in [&row.active_revision, &row.desired_revision]
            .into_iter()
            .flatten()
        {
            if let Some(revision) = self.store.get_revision(id)? {
                revisions.insert(id.clone(), revision);
            }
        }
        self.ensure_site(&row, &revisions, work).await;
        self.observe_health(work, &revisions).await;

        let desired = match row
            .desired_revision
            .as_ref()
            .and_then(|id| revisions.get(id))
        {
            Some(revision) => {
                let files = revision.static_root().is_some();
                Some(DesiredView {
                    id: revision.id.clone(),
                    build: match self.store.revision_build(&revision.id)? {
                        Some(BuildStatus::Built) => BuildState::Built,
                        Some(BuildStatus::Pending) | None => BuildState::Pending,
                        Some(BuildStatus::Failed | BuildStatus::Cancelled) => BuildState::Failed,
                    },
                    // A static site runs nothing, so the autoscaler keeps no count for it.
                    wanted: if files {
                        0
                    } else {
                        self.autoscaler.wanted(service, &revision.config.scaling)? as usize
                    },
                    files,
                })
            }
            None => None,
        };
        let now = Instant::now();
        let observed = Observed {
            deleting: row.deleting,
            paused: row.paused,
            active: row.active_revision.clone(),
            desired,
            instances: work.instances.iter().map(|i| i.view(now)).collect(),
            backoff: work.backoff_until.is_some_and(|t| now < t),
        };
        let wanted = observed.desired.as_ref().map_or(0, |d| d.wanted);
        let (actions, wait) = plan::plan(&observed);
        let mut deleted = false;
        for action in actions {
            deleted |= execute::apply(self, &row, &revisions, work, action).await?;
        }
        if deleted {
            lock(&self.slots).remove(service);
            return Ok(Requeue::Done);
        }
        // The row may have changed during the actions (a switch, a failed rollout).
        let row = self.store.get_service(service)?.unwrap_or(row);
        work.phase = phase(&row, &revisions, work, &wait, &self.runtimes, wanted);
        execute::publish_route(self, &row, work);
        // A static site that serves counts as ready: it is what the operations wait for.
        let files_serving = !row.paused && work.site_for(row.active_revision.as_ref()).is_some();
        let seen = operations::Observed {
            ready: work.ready_in_rotation() + usize::from(files_serving),
            instances: work.instances.len(),
            crash_streak: work.crash_streak,
            last_exit: work.last_exit.as_deref(),
        };
        operations::settle(&self.store, service, &seen)?;
        // A streak ends once an instance has stayed ready for a while.
        if work.instances.iter().any(|i| {
            i.in_rotation
                && i.health
                    .ready_since()
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(10))
        }) {
            work.crash_streak = 0;
        }
        Ok(Requeue::After(self.next_pass(work, &wait)))
    }

    fn next_pass(&self, work: &ServiceWork, wait: &Wait) -> Duration {
        let settings = &self.settings;
        let moving = !matches!(wait, Wait::Nothing | Wait::Building)
            || !work.stops.is_empty()
            || work
                .instances
                .iter()
                .any(|i| i.stop.is_some() || i.drain.is_some());
        let starting = work.instances.iter().any(|i| {
            i.stop.is_none() && i.drain.is_none() && *i.health.health() == health::Health::Starting
        });
        if starting {
            return settings.start_probe_interval;
        }
        if moving {
            return settings.moving_tick;
        }
        let now = Instant::now();
        let next_probe = work
            .instances
            .iter()
            .map(|i| i.health.next_probe().saturating_duration_since(now))
            .min()
            .unwrap_or(settings.idle_tick);
        let backoff = work
            .backoff_until
            .map_or(settings.idle_tick, |t| t.saturating_duration_since(now));
        next_probe.min(backoff).min(settings.idle_tick)
    }
}

fn phase(
    row: &ServiceRow,
    revisions: &HashMap<RevisionId, Revision>,
    work: &ServiceWork,
    wait: &Wait,
    runtimes: &Runtimes,
    wanted: usize,
) -> Phase {
    if row.deleting {
        return Phase::Deleting;
    }
    if row.paused {
        return Phase::Paused;
    }
    if let Err(err) = runtimes.for_source(row.source_kind) {
        return Phase::RuntimeUnavailable(err.to_string());
    }
    let number = |id: &Option<RevisionId>| {
        id.as_ref()
            .and_then(|id| revisions.get(id))
            .map_or(0, |r| r.number)
    };
    let Some(desired) = &row.desired_revision else {
        return if row.active_revision.is_none() {
            Phase::FirstDeploymentFailed
        } else {
            Phase::NoRevision
        };
    };
    if row.active_revision.as_ref() != Some(desired) {
        return match wait {
            Wait::Building => Phase::Building {
                revision: number(&row.desired_revision),
            },
            _ => Phase::Deploying {
                revision: number(&row.desired_revision),
            },
        };
    }
    if let Some(served) = work.site_for(row.active_revision.as_ref()) {
        let root = revisions
            .get(&served.revision)
            .and_then(Revision::static_root)
            .unwrap_or(".");
        return Phase::ServingFiles {
            revision: number(&row.active_revision),
            root: root.trim_end_matches('/').to_string(),
        };
    }
    if let Some(reason) = &work.site_error {
        return Phase::FilesUnavailable(reason.clone());
    }
    if work.ready_in_rotation() > 0 {
        Phase::Serving
    } else if wanted == 0 {
        // Instances may still drain; none serves and none is wanted.
        Phase::ScaledToZero
    } else if let Some(exit) = work.last_exit.as_ref().filter(|_| work.crash_streak > 0) {
        // Only a crash streak that has not ended: an old exit must not turn a cold
        // start (held requests) into a 503.
        Phase::NoHealthyInstance {
            last_failure: exit.clone(),
        }
    } else {
        Phase::StartingInstances
    }
}

impl Reconciler for DeployReconciler {
    type Key = ServiceId;
    type Error = DeployError;

    fn name(&self) -> &'static str {
        "deploy"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, DeployError> {
        Ok(self
            .store
            .list_services()?
            .into_iter()
            .map(|row| row.id)
            .collect())
    }

    async fn reconcile(&self, service: ServiceId, _ctx: Context) -> Result<Requeue, DeployError> {
        let slot = self.slot(&service);
        let mut work = slot.work.lock().await;
        let result = self.pass(&service, &mut work).await;
        *lock(&slot.shared.snapshot) = work.snapshot(&service);
        result
    }

    /// On server shutdown: instances that a restarted ferry can adopt keep running
    /// (containers); host processes would be orphaned, so they stop now.
    async fn shutdown(&self) {
        let slots: Vec<Arc<ServiceSlot>> = lock(&self.slots).values().cloned().collect();
        let mut stops = tokio::task::JoinSet::new();
        for slot in slots {
            let runtimes = self.runtimes.clone();
            let grace = self.settings.stop_grace;
            stops.spawn(async move {
                let mut work = slot.work.lock().await;
                while work.stops.join_next().await.is_some() {}
                let mut left: Vec<(InstanceId, Arc<dyn ferry_runtime::Runtime>)> = work
                    .instances
                    .iter()
                    .filter_map(|inst| {
                        let runtime = runtimes.by_kind(inst.runtime)?;
                        (!runtime.can_adopt()).then(|| (inst.id.clone(), Arc::clone(runtime)))
                    })
                    .collect();
                for attempt in 1..=SHUTDOWN_STOP_ATTEMPTS {
                    let stops = left.iter().map(|(id, runtime)| async move {
                        (id.clone(), runtime.stop(id, grace).await)
                    });
                    let failed: Vec<InstanceId> = futures_util::future::join_all(stops)
                        .await
                        .into_iter()
                        .filter_map(|(id, result)| {
                            let err = result.err()?;
                            tracing::warn!(instance = %id, error = %err, attempt, "cannot stop instance on shutdown");
                            Some(id)
                        })
                        .collect();
                    left.retain(|(id, _)| failed.contains(id));
                    if left.is_empty() {
                        break;
                    }
                    if attempt < SHUTDOWN_STOP_ATTEMPTS {
                        tokio::time::sleep(STOP_RETRY).await;
                    }
                }
                if !left.is_empty() {
                    tracing::error!(service = %work.name, "instances could not be stopped; their records let the next ferry server stop them");
                }
                work.instances.clear();
            });
        }
        while stops.join_next().await.is_some() {}
    }
}
