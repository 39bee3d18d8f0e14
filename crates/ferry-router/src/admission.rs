//! Per-service admission: the hard per-instance concurrency limit, the bounded queue
//! requests wait in (for room on an instance, or for a cold start), and the load
//! counters the autoscaler samples.
//!
//! One `Admission` lives as long as its service (the deployer keeps the same `Arc`
//! across route-table rebuilds, like `ServiceStats`), so its counters and waiting
//! requests survive a table swap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::Notify;

/// How a service admits requests. `ferry scale` changes it without a new revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Most requests one instance is sent at once (App Runner's max concurrency,
    /// a hard limit). WebSocket connections count while open.
    pub concurrency: u32,
    /// Most requests waiting for room (or for a cold start) at once; past it, 503.
    pub queue_capacity: u32,
    /// Longest a request waits in the queue before a 503 with Retry-After.
    pub queue_timeout: Duration,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        Self {
            concurrency: 100,
            queue_capacity: 1000,
            queue_timeout: Duration::from_secs(30),
        }
    }
}

/// The service's load at one moment, for the autoscaler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSample {
    /// Requests being proxied to any instance of the service.
    pub in_flight: u64,
    /// Requests waiting in the queue (no instance with room, or none at all).
    pub queued: u64,
    /// Requests admitted since the service's route was created (monotonic): the
    /// autoscaler derives the request rate from two samples.
    pub requests_total: u64,
}

/// Admission state of one service, shared by the proxy and the autoscaler.
#[derive(Debug, Default)]
pub struct Admission {
    settings: RwLock<AdmissionSettings>,
    in_flight: AtomicU64,
    queued: AtomicU64,
    requests_total: AtomicU64,
    /// Signalled when a request starts waiting and no instance can take it (the
    /// service is at zero, or every instance is at its limit): the server wakes the
    /// autoscaler and the deployer on it, so a cold start begins at once.
    demand: Notify,
}

impl Admission {
    pub fn new(settings: AdmissionSettings) -> Self {
        Self {
            settings: RwLock::new(settings),
            ..Self::default()
        }
    }

    pub fn settings(&self) -> AdmissionSettings {
        *self
            .settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the settings; requests already admitted keep their slot.
    pub fn set_settings(&self, settings: AdmissionSettings) {
        *self
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
    }

    /// The service's load now.
    pub fn load(&self) -> LoadSample {
        LoadSample {
            in_flight: self.in_flight.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            requests_total: self.requests_total.load(Ordering::Relaxed),
        }
    }

    /// Resolves when requests wait with no instance to take them. Server side:
    /// `loop { admission.demanded().await; wake autoscaler + deployer }`.
    pub async fn demanded(&self) {
        self.demand.notified().await;
    }

    /// Proxy side: a request started waiting with nowhere to go.
    pub fn signal_demand(&self) {
        self.demand.notify_waiters();
    }

    /// Proxy side: counts an admitted request; the guard ends it.
    pub fn begin(&self) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Proxy side: a request admitted with [`Admission::begin`] finished.
    pub fn end(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Proxy side: queue accounting.
    pub fn enqueue(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dequeue(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }
}
