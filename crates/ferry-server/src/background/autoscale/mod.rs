//! The autoscaler: one more reconciler under the background driver. Every second per
//! service it samples the router's load (`Admission::load`), runs the KPA
//! ([`kpa`]) and keeps the desired instance count the deploy reconciler converges to
//! (waking it when the count changes). It also keeps the router's admission settings
//! in step with the service's scaling, and one small task per service waits for
//! `Admission::demanded` so a request held while at zero starts an instance at once.
//! Static sites (served by the router from their files) are not scaled.

pub mod kpa;

use crate::background::deploy::state::ServiceShared;
use crate::background::deploy::DeployReconciler;
use crate::background::driver::{lock, Context, ReconcileError, Reconciler, Requeue, Trigger};
use ferry_api::{AutoscaleStatus, ScalingDecision};
use ferry_router::{Admission, AdmissionSettings, LoadSample};
use ferry_store::{Store, StoreError};
use ferry_types::{InstanceState, Scaling, ScalingOverrides, ServiceId};
use kpa::{Decision, Kpa, KpaConfig};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often each service's load is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How soon a service the deployer has not looked at yet is looked at again.
const FIRST_LOOK_RETRY: Duration = Duration::from_millis(50);

/// One service's autoscaler state.
struct ServiceScale {
    kpa: Kpa,
    /// The revision's `[scaling]` with the overrides on top, as last read.
    scaling: Scaling,
    overrides: ScalingOverrides,
    /// Decisions with their wall-clock time, newest last.
    history: VecDeque<ScalingDecision>,
    last_sample: Option<u64>,
    /// The count last written to the store.
    persisted: Option<u32>,
    /// Whether the service was paused at the last pass (a resume restarts the clock).
    paused: bool,
    /// Waits for `Admission::demanded` (aborted with the service).
    waiter: Option<JoinHandle<()>>,
}

impl Drop for ServiceScale {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            waiter.abort();
        }
    }
}

/// The desired counts, shared by the autoscale reconciler (writes), the deploy
/// reconciler (reads) and the API (status).
pub struct Autoscaler {
    store: Arc<Store>,
    epoch: Instant,
    services: Mutex<HashMap<ServiceId, ServiceScale>>,
    /// Woken when a count changes (set once the deploy driver exists).
    deploy: OnceLock<Arc<Trigger<ServiceId>>>,
}

/// Why an autoscale pass failed (the driver retries).
#[derive(Debug, thiserror::Error)]
pub enum AutoscaleError {
    #[error("store")]
    Store(#[from] StoreError),
}

impl ReconcileError for AutoscaleError {
    fn retry_after(&self, failures: u32) -> Duration {
        crate::background::driver::exponential(
            Duration::from_millis(200),
            failures,
            Duration::from_secs(5),
        )
    }
}

/// The router's admission settings for a service's scaling.
pub fn admission_settings(scaling: &Scaling) -> AdmissionSettings {
    AdmissionSettings {
        concurrency: scaling.concurrency.max(1),
        queue_capacity: scaling.queue_size,
        queue_timeout: Duration::from_secs(scaling.queue_timeout.max(1).into()),
    }
}

impl Autoscaler {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            epoch: Instant::now(),
            services: Mutex::new(HashMap::new()),
            deploy: OnceLock::new(),
        }
    }

    pub fn set_deploy_trigger(&self, trigger: Arc<Trigger<ServiceId>>) {
        let _ = self.deploy.set(trigger);
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The state of `service`, created from the store (its overrides and the count kept
    /// from before a restart) the first time it is asked for.
    fn entry<'a>(
        &self,
        services: &'a mut HashMap<ServiceId, ServiceScale>,
        service: &ServiceId,
        base: &Scaling,
    ) -> Result<&'a mut ServiceScale, StoreError> {
        use std::collections::hash_map::Entry;
        Ok(match services.entry(service.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let overrides = self.store.scaling_overrides(service)?;
                let scaling = overrides.apply(base);
                let persisted = self.store.autoscale_desired(service)?;
                // First ever: min, but at least one (a new revision proves itself
                // healthy; with min 0 the autoscaler takes it to zero after the grace).
                let start = persisted
                    .unwrap_or(scaling.min.max(1))
                    .clamp(scaling.min, scaling.max.max(scaling.min));
                entry.insert(ServiceScale {
                    kpa: Kpa::new(self.now_ms(), start),
                    scaling,
                    overrides,
                    history: VecDeque::new(),
                    last_sample: None,
                    persisted,
                    paused: false,
                    waiter: None,
                })
            }
        })
    }

    /// Instances the deployer should run for `service` whose revision's `[scaling]` is
    /// `base`: the autoscaler's desired count within the bounds in force.
    pub fn wanted(&self, service: &ServiceId, base: &Scaling) -> Result<u32, StoreError> {
        let mut services = lock(&self.services);
        let scale = self.entry(&mut services, service, base)?;
        let scaling = scale.overrides.apply(base);
        Ok(scale
            .kpa
            .desired()
            .clamp(scaling.min, scaling.max.max(scaling.min)))
    }

    /// A request is held with no instance to take it: one instance now, and the
    /// deployer woken. Cheap; called from the demand waiter.
    fn demanded(&self, service: &ServiceId, ready: u32) {
        let changed = {
            let mut services = lock(&self.services);
            let Some(scale) = services.get_mut(service) else {
                return;
            };
            let config = KpaConfig::from(&scale.scaling);
            let now = self.now_ms();
            match scale.kpa.demand(now, ready, &config).cloned() {
                Some(decision) => {
                    tracing::info!(%service, reason = %decision.reason, "autoscaler decision: 0 -> 1");
                    push_history(&mut scale.history, &decision, now, self.now_ms());
                    true
                }
                None => false,
            }
        };
        if let Some(trigger) = self.deploy.get() {
            trigger.wake(service);
        }
        if changed {
            self.persist(service);
        }
    }

    fn persist(&self, service: &ServiceId) {
        let desired = {
            let mut services = lock(&self.services);
            let Some(scale) = services.get_mut(service) else {
                return;
            };
            let desired = scale.kpa.desired();
            if scale.persisted == Some(desired) {
                return;
            }
            scale.persisted = Some(desired);
            desired
        };
        if let Err(err) = self.store.set_autoscale_desired(service, desired) {
            tracing::warn!(%service, error = %err, "cannot keep the desired instance count");
            if let Some(scale) = lock(&self.services).get_mut(service) {
                scale.persisted = None;
            }
        }
    }

    /// Drops what is kept for a service (deleted); its waiter stops.
    pub fn forget(&self, service: &ServiceId) {
        lock(&self.services).remove(service);
    }

    /// The autoscaler's view of a service, for the API.
    pub fn status(
        &self,
        service: &ServiceId,
        admission: Option<&Admission>,
        ready: u32,
    ) -> Option<AutoscaleStatus> {
        let services = lock(&self.services);
        let scale = services.get(service)?;
        let load = admission.map(Admission::load).unwrap_or_default();
        Some(AutoscaleStatus {
            scaling: scale.scaling.clone(),
            overrides: scale.overrides.clone(),
            desired: scale.kpa.desired(),
            ready,
            in_flight: load.in_flight,
            queued: load.queued,
            panicking: scale.kpa.panicking(),
            decisions: scale.history.iter().rev().cloned().collect(),
        })
    }

    /// New overrides were stored: take them at once (the next pass decides with them).
    pub fn overrides_changed(&self, service: &ServiceId) {
        // Dropping the entry makes the next read load the overrides from the store;
        // the count and history are kept.
        let mut services = lock(&self.services);
        if let Some(scale) = services.get_mut(service) {
            match self.store.scaling_overrides(service) {
                Ok(overrides) => scale.overrides = overrides,
                Err(err) => tracing::warn!(%service, error = %err, "cannot read scaling overrides"),
            }
        }
    }
}

fn push_history(
    history: &mut VecDeque<ScalingDecision>,
    decision: &Decision,
    at_ms: u64,
    now_ms: u64,
) {
    let ago = Duration::from_millis(now_ms.saturating_sub(at_ms));
    history.push_back(ScalingDecision {
        at: ferry_types::now() - ago,
        previous: decision.previous,
        desired: decision.desired,
        stable_concurrency: decision.stable_concurrency,
        panic_concurrency: decision.panic_concurrency,
        capacity: decision.capacity,
        ready: decision.ready,
        panicking: decision.panicking,
        reason: decision.reason.clone(),
    });
    while history.len() > kpa::HISTORY {
        history.pop_front();
    }
}

/// Ready instances of a service as the deploy reconciler last saw them.
fn ready_count(deploy: &DeployReconciler, service: &ServiceId) -> u32 {
    deploy.shared(service).map_or(0, |shared| {
        let snapshot = lock(&shared.snapshot);
        let ready = snapshot
            .instances
            .iter()
            .filter(|i| i.state == InstanceState::Ready)
            .count();
        u32::try_from(ready).unwrap_or(u32::MAX)
    })
}

/// The service's load: the router's admission counters, with the instances' own
/// in-flight counts as a floor (the larger figure wins).
fn observed_load(shared: &ServiceShared) -> LoadSample {
    let load = shared.admission.load();
    let upstream_in_flight: u64 = lock(&shared.upstreams).iter().map(|u| u.in_flight()).sum();
    // The router counts every request at arrival (queued ones too) and every slot it
    // hands out; the instances' own counts only cover a table being swapped.
    LoadSample {
        in_flight: load.in_flight.max(upstream_in_flight),
        queued: load.queued,
        requests_total: load.requests_total,
    }
}

/// The reconciler: one pass per service per second.
pub struct AutoscaleReconciler {
    pub autoscaler: Arc<Autoscaler>,
    pub deploy: Arc<DeployReconciler>,
}

impl AutoscaleReconciler {
    fn pass(&self, service: &ServiceId) -> Result<Requeue, AutoscaleError> {
        let autoscaler = &self.autoscaler;
        let store = &autoscaler.store;
        let Some(row) = store.get_service(service)? else {
            autoscaler.forget(service);
            return Ok(Requeue::Done);
        };
        if row.deleting {
            autoscaler.forget(service);
            return Ok(Requeue::After(SAMPLE_EVERY));
        }
        let revision = match row
            .active_revision
            .as_ref()
            .or(row.desired_revision.as_ref())
        {
            Some(id) => store.get_revision(id)?,
            None => None,
        };
        let Some(revision) = revision else {
            return Ok(Requeue::After(SAMPLE_EVERY));
        };
        if revision.static_root().is_some() {
            // A static site is served by the router itself: no instance to scale, no
            // count or demand waiter kept (a rollout to an app starts from min again).
            autoscaler.forget(service);
            return Ok(Requeue::After(SAMPLE_EVERY));
        }
        // The router's state exists once the deployer has looked at the service.
        let Some(shared) = self.deploy.shared(service) else {
            // Soon: the router's settings and the demand waiter should not lag the
            // deployer's first pass (at start-up) by a whole sample period.
            return Ok(Requeue::After(FIRST_LOOK_RETRY));
        };
        let admission = Arc::clone(&shared.admission);
        let ready = ready_count(&self.deploy, service);
        let now = autoscaler.now_ms();
        let changed = {
            let mut services = lock(&autoscaler.services);
            let scale = autoscaler.entry(&mut services, service, &revision.config.scaling)?;
            let scaling = scale.overrides.apply(&revision.config.scaling);
            let settings = admission_settings(&scaling);
            if admission.settings() != settings {
                admission.set_settings(settings);
            }
            let config_changed = scaling != scale.scaling;
            scale.scaling = scaling;
            if scale.waiter.is_none() {
                scale.waiter = Some(spawn_waiter(
                    Arc::downgrade(&self.autoscaler),
                    Arc::clone(&self.deploy),
                    Arc::clone(&admission),
                    service.clone(),
                ));
            }
            let due = scale
                .last_sample
                .is_none_or(|at| now >= at + SAMPLE_EVERY.as_millis() as u64 * 9 / 10);
            if scale.paused && !row.paused {
                scale.kpa.resumed(now);
            }
            scale.paused = row.paused;
            if row.paused {
                // Paused: nothing runs on purpose; the count is kept for resume.
                false
            } else if due || config_changed {
                if due {
                    let load = observed_load(&shared);
                    scale
                        .kpa
                        .observe(now, load.in_flight, load.queued, load.requests_total);
                    scale.last_sample = Some(now);
                }
                let config = KpaConfig::from(&scale.scaling);
                let before = scale.kpa.desired();
                if let Some(decision) = scale.kpa.decide(now, ready, &config).cloned() {
                    tracing::info!(service = %row.name, from = decision.previous, to = decision.desired, reason = %decision.reason, "autoscaler decision");
                    push_history(&mut scale.history, &decision, now, now);
                }
                before != scale.kpa.desired()
            } else {
                false
            }
        };
        if changed {
            autoscaler.persist(service);
            if let Some(trigger) = autoscaler.deploy.get() {
                trigger.wake(service);
            }
        }
        Ok(Requeue::After(SAMPLE_EVERY))
    }
}

/// Waits for the router's demand signal for one service (a request held with no
/// instance able to take it) and wakes the deployer at once.
fn spawn_waiter(
    autoscaler: Weak<Autoscaler>,
    deploy: Arc<DeployReconciler>,
    admission: Arc<Admission>,
    service: ServiceId,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            admission.demanded().await;
            let Some(autoscaler) = autoscaler.upgrade() else {
                return;
            };
            let ready = ready_count(&deploy, &service);
            autoscaler.demanded(&service, ready);
        }
    })
}

impl Reconciler for AutoscaleReconciler {
    type Key = ServiceId;
    type Error = AutoscaleError;

    fn name(&self) -> &'static str {
        "autoscale"
    }

    fn keys(&self) -> Result<Vec<ServiceId>, AutoscaleError> {
        Ok(self
            .autoscaler
            .store
            .list_services()?
            .into_iter()
            .map(|row| row.id)
            .collect())
    }

    async fn reconcile(
        &self,
        service: ServiceId,
        _ctx: Context,
    ) -> Result<Requeue, AutoscaleError> {
        self.pass(&service)
    }

    async fn shutdown(&self) {
        // Stops every demand waiter.
        lock(&self.autoscaler.services).clear();
    }
}
