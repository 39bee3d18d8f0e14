//! What the deploy reconciler remembers about a service between passes: its instances
//! (health, rotation, drains, stops), restart counts, what it last published, and the
//! snapshot the API reads.

use super::health::{Health, HealthTracker};
use super::plan::{DrainView, HealthView, InstanceView};
use ferry_router::{ServiceStats, Upstream};
use ferry_types::{InstanceId, InstanceInfo, InstanceState, RevisionId, RuntimeKind, ServiceId};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use ferry_api::ServiceSnapshot;

/// What a service is doing, in words for `ferry status` and the router's 503 page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Building {
        revision: u32,
    },
    Deploying {
        revision: u32,
    },
    Serving,
    /// A static site: the router serves the revision's files itself, no instance runs.
    ServingFiles {
        revision: u32,
        root: String,
    },
    /// The active static site's files cannot be served (the reason).
    FilesUnavailable(String),
    /// `min = 0` and idle: no instance on purpose; the next request starts one.
    ScaledToZero,
    StartingInstances,
    NoHealthyInstance {
        last_failure: String,
    },
    RevisionFailed {
        revision: u32,
    },
    FirstDeploymentFailed,
    NoRevision,
    RuntimeUnavailable(String),
    Paused,
    Deleting,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::Building { revision } => write!(f, "building revision {revision}"),
            Self::Deploying { revision } => write!(f, "deploying revision {revision}"),
            Self::Serving => f.write_str("serving"),
            Self::FilesUnavailable(reason) => f.write_str(reason),
            Self::ServingFiles { revision, root } => {
                write!(f, "serving static files of revision {revision} ({root}/)")
            }
            Self::ScaledToZero => {
                f.write_str("scaled to zero (the next request starts an instance)")
            }
            Self::StartingInstances => f.write_str("starting instances"),
            Self::NoHealthyInstance { last_failure } => {
                write!(f, "no healthy instance (last failure: {last_failure})")
            }
            Self::RevisionFailed { revision } => write!(f, "revision {revision} failed"),
            Self::FirstDeploymentFailed => {
                f.write_str("no healthy revision: the first deployment failed")
            }
            Self::NoRevision => f.write_str("no revision"),
            Self::RuntimeUnavailable(message) => f.write_str(message),
            Self::Paused => f.write_str("paused"),
            Self::Deleting => f.write_str("deleting"),
        }
    }
}

/// State shared with the API and the router.
pub struct ServiceShared {
    pub snapshot: Mutex<ServiceSnapshot>,
    pub stats: Arc<ServiceStats>,
    /// The router's concurrency limit, queue and load counters for the service.
    pub admission: Arc<ferry_router::Admission>,
    /// The instances in rotation as last published (their in-flight counts are live).
    pub upstreams: Mutex<Vec<Arc<Upstream>>>,
}

/// Where a stop stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopState {
    Running,
    /// The runtime refused; tried again at `retry_at`. The instance is never forgotten
    /// while it may still run.
    Failed {
        retry_at: Instant,
    },
}

/// One instance as the reconciler tracks it.
pub struct Inst {
    pub id: InstanceId,
    pub revision: RevisionId,
    pub runtime: RuntimeKind,
    pub upstream: Arc<Upstream>,
    pub started_at: OffsetDateTime,
    pub health: HealthTracker,
    pub in_rotation: bool,
    /// Set when it left the rotation to drain: since when, and until when at most.
    pub drain: Option<(Instant, Instant)>,
    pub stop: Option<StopState>,
    pub log_path: PathBuf,
}

/// A request that picked an upstream just before a table swap registers itself within
/// microseconds; a drain waits this long before trusting an in-flight count of zero.
const DRAIN_SETTLE: std::time::Duration = std::time::Duration::from_millis(50);

impl Inst {
    pub fn starting(
        id: InstanceId,
        revision: RevisionId,
        runtime: RuntimeKind,
        address: std::net::SocketAddr,
        log_path: PathBuf,
    ) -> Self {
        Self {
            upstream: Arc::new(Upstream::new(id.to_string(), address)),
            id,
            revision,
            runtime,
            started_at: ferry_types::now(),
            health: HealthTracker::starting(Instant::now()),
            in_rotation: false,
            drain: None,
            stop: None,
            log_path,
        }
    }

    pub fn view(&self, now: Instant) -> InstanceView {
        InstanceView {
            id: self.id.clone(),
            revision: self.revision.clone(),
            health: match self.health.health() {
                Health::Starting => HealthView::Starting,
                Health::Ready => HealthView::Ready,
                Health::Failed(reason) => HealthView::Failed(reason.clone()),
            },
            in_rotation: self.in_rotation,
            draining: self.drain.map(|(since, deadline)| DrainView {
                done: now >= deadline
                    || (now >= since + DRAIN_SETTLE && self.upstream.in_flight() == 0),
            }),
            // Once asked to stop, an instance is only ever stopped (again, until the
            // runtime confirms): never counted, admitted or replaced.
            stopping: self.stop.is_some(),
        }
    }

    pub fn info(&self, service: &ServiceId) -> InstanceInfo {
        InstanceInfo {
            id: self.id.clone(),
            service_id: service.clone(),
            revision_id: self.revision.clone(),
            runtime: self.runtime,
            state: if self.drain.is_some() || self.stop.is_some() {
                InstanceState::Draining
            } else {
                match self.health.health() {
                    Health::Starting => InstanceState::Starting,
                    Health::Ready => InstanceState::Ready,
                    Health::Failed(_) => InstanceState::Failed,
                }
            },
            address: self.upstream.addr.to_string(),
            in_flight: self.upstream.in_flight(),
            started_at: self.started_at,
        }
    }
}

/// The static site the router serves for a service: its active revision's files.
pub struct ServedSite {
    pub revision: RevisionId,
    pub site: Arc<ferry_router::StaticSite>,
}

/// What one service's reconciles share, behind the service's async lock.
pub struct ServiceWork {
    pub name: String,
    pub instances: Vec<Inst>,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub crash_streak: u32,
    pub backoff_until: Option<Instant>,
    pub phase: Phase,
    /// The route last published, to publish only changes.
    pub published: Option<PublishedRoute>,
    /// Instances an earlier ferry left were adopted or stopped.
    pub recovered: bool,
    /// Stops in flight: they outlast a pass (a stop may take the whole grace period).
    pub stops: JoinSet<(InstanceId, Result<(), String>)>,
    /// The active revision's files, when it is a static site the router serves.
    pub site: Option<ServedSite>,
    /// Why the active static site's files cannot be served (its route is unavailable).
    pub site_error: Option<String>,
}

/// What was published for a service, compared to skip identical updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishedRoute {
    Removed,
    Set {
        hosts: Vec<String>,
        timeout: u32,
        serving: Vec<String>,
        paused: bool,
        reason: String,
        /// The revision whose files are served, for a static site.
        files: Option<RevisionId>,
    },
}

impl Default for ServiceWork {
    fn default() -> Self {
        Self {
            name: String::new(),
            instances: Vec::new(),
            restarts: 0,
            last_exit: None,
            crash_streak: 0,
            backoff_until: None,
            phase: Phase::Starting,
            published: None,
            recovered: false,
            stops: JoinSet::new(),
            site: None,
            site_error: None,
        }
    }
}

impl ServiceWork {
    pub fn get_mut(&mut self, id: &InstanceId) -> Option<&mut Inst> {
        self.instances.iter_mut().find(|i| &i.id == id)
    }

    /// Takes in the stops that finished: a stopped instance is forgotten, a failed stop
    /// is retried after a pause.
    pub fn collect_stops(&mut self, retry_after: std::time::Duration) {
        while let Some(done) = self.stops.try_join_next() {
            let Ok((id, result)) = done else { continue };
            match result {
                Ok(()) => self.instances.retain(|i| i.id != id),
                Err(err) => {
                    tracing::warn!(service = %self.name, instance = %id, error = %err, "cannot stop instance; will retry");
                    if let Some(inst) = self.get_mut(&id) {
                        inst.stop = Some(StopState::Failed {
                            retry_at: Instant::now() + retry_after,
                        });
                    }
                }
            }
        }
    }

    /// The static site served for `active`, if that is what serves.
    pub fn site_for(&self, active: Option<&RevisionId>) -> Option<&ServedSite> {
        self.site
            .as_ref()
            .filter(|served| Some(&served.revision) == active)
    }

    pub fn ready_in_rotation(&self) -> usize {
        self.instances
            .iter()
            .filter(|i| i.in_rotation && i.health.is_ready())
            .count()
    }

    pub fn snapshot(&self, service: &ServiceId) -> ServiceSnapshot {
        ServiceSnapshot {
            instances: self.instances.iter().map(|i| i.info(service)).collect(),
            restarts: self.restarts,
            last_exit: self.last_exit.clone(),
            phase: self.phase.to_string(),
            last_reconcile: Some(ferry_types::now()),
        }
    }
}
