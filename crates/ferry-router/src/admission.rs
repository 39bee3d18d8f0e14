//! Per-service admission: the hard per-instance concurrency limit, the bounded queue
//! requests wait in (for room on an instance, or for a cold start), and the load
//! counters the autoscaler samples.
//!
//! One `Admission` lives as long as its service (the deployer keeps the same `Arc`
//! across route-table rebuilds, like `ServiceStats`), so its counters and waiting
//! requests survive a table swap. Everything here is atomics and two `Notify`s: the
//! request path takes no lock. The waiting itself (re-reading the route table, the
//! timeout) lives in the proxy (`proxy/admit.rs`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// How a service admits requests. `ferry scale` changes it without a new revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Most requests one instance is sent at once (App Runner's max concurrency,
    /// a hard limit). WebSocket connections count while open. 0 is read as 1.
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
    /// Requests being proxied to any instance of the service (open WebSockets too).
    pub in_flight: u64,
    /// Requests waiting in the queue (no instance with room, or none at all).
    pub queued: u64,
    /// Requests that arrived for the service while it was serving or cold, since its
    /// route was created (monotonic; queued ones count on arrival, so a cold service
    /// shows demand): the autoscaler derives the request rate from two samples.
    pub requests_total: u64,
}

/// Admission state of one service, shared by the proxy and the autoscaler.
#[derive(Debug)]
pub struct Admission {
    // Settings as separate atomics rather than behind a lock: every request reads
    // the concurrency, and a read lock is a write to a shared cache line.
    concurrency: AtomicU32,
    queue_capacity: AtomicU32,
    queue_timeout_nanos: AtomicU64,
    in_flight: AtomicU64,
    queued: AtomicU64,
    requests_total: AtomicU64,
    /// Woken (one waiter per freed slot) when an instance of the service gets room.
    room: Notify,
    /// Signalled when a request waits and no instance can take it (the service is
    /// at zero, or every instance is at its limit): the server wakes the autoscaler
    /// and the deployer on it, so a cold start begins at once.
    demand: Notify,
}

impl Default for Admission {
    fn default() -> Self {
        Self::new(AdmissionSettings::default())
    }
}

impl Admission {
    pub fn new(settings: AdmissionSettings) -> Self {
        let admission = Self {
            concurrency: AtomicU32::new(0),
            queue_capacity: AtomicU32::new(0),
            queue_timeout_nanos: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            room: Notify::new(),
            demand: Notify::new(),
        };
        admission.store_settings(settings);
        admission
    }

    pub fn settings(&self) -> AdmissionSettings {
        AdmissionSettings {
            concurrency: self.concurrency.load(Ordering::Relaxed),
            queue_capacity: self.queue_capacity.load(Ordering::Relaxed),
            queue_timeout: Duration::from_nanos(self.queue_timeout_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Replaces the settings; requests already admitted keep their slot, and waiting
    /// requests look again (a higher limit may have made room).
    pub fn set_settings(&self, settings: AdmissionSettings) {
        self.store_settings(settings);
        self.room.notify_waiters();
    }

    fn store_settings(&self, settings: AdmissionSettings) {
        self.concurrency
            .store(settings.concurrency, Ordering::Relaxed);
        self.queue_capacity
            .store(settings.queue_capacity, Ordering::Relaxed);
        let nanos = u64::try_from(settings.queue_timeout.as_nanos()).unwrap_or(u64::MAX);
        self.queue_timeout_nanos.store(nanos, Ordering::Relaxed);
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
    /// `loop { admission.demanded().await; wake autoscaler + deployer }`. A signal
    /// raised while nobody awaits is kept (once), so none is lost between awaits;
    /// meant for one awaiter per service (each signal wakes one).
    pub async fn demanded(&self) {
        self.demand.notified().await;
    }

    /// A request waits with nowhere to go (the proxy calls it; so may a test).
    /// Cheap to repeat: signals coalesce into at most one pending wake-up.
    pub fn signal_demand(&self) {
        self.demand.notify_one();
    }

    /// The per-instance limit as the proxy applies it (never 0).
    pub fn concurrency_limit(&self) -> u64 {
        u64::from(self.concurrency.load(Ordering::Relaxed).max(1))
    }

    /// Proxy side: a request arrived for the service (rate counter).
    pub fn count_request(&self) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests waiting now; the proxy skips the fast path while others wait, so
    /// newcomers do not overtake them.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Counts a request in flight that no instance slot stands for: load that does
    /// not go through the proxy (the server's tests simulate load with it). The
    /// proxy's own requests are counted by their slots.
    pub fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends a request counted with [`Admission::begin`] (never below zero).
    pub fn end(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        self.wake_one_waiter();
    }

    /// Counts a waiting request that holds no queue place (simulated load, like
    /// [`Admission::begin`]). While it counts, new requests queue behind it.
    pub fn enqueue(&self) {
        self.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends a wait counted with [`Admission::enqueue`] (never below zero).
    pub fn dequeue(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// A slot on an instance was taken (its guard releases it).
    pub(crate) fn slot_taken(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A slot was released; wakes one waiting request to take it.
    pub(crate) fn slot_released(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.wake_one_waiter();
    }

    fn wake_one_waiter(&self) {
        // SeqCst pairs with `try_enqueue`: either this load sees the new waiter (and
        // wakes it), or the waiter's later look at the instances sees this free slot.
        if self.queued.load(Ordering::SeqCst) > 0 {
            self.room.notify_one();
        }
    }

    /// A future that resolves when a slot frees (or the settings change). Enable
    /// it before looking for room so a release in between is not missed.
    pub(crate) fn room(&self) -> Notified<'_> {
        self.room.notified()
    }

    /// Takes a place in the queue, or `None` when it is full. The guard gives the
    /// place back when dropped (also when the waiting request is cancelled).
    pub(crate) fn try_enqueue(self: &Arc<Self>) -> Option<QueueGuard> {
        let capacity = u64::from(self.queue_capacity.load(Ordering::Relaxed));
        let mut current = self.queued.load(Ordering::SeqCst);
        loop {
            if current >= capacity {
                return None;
            }
            match self.queued.compare_exchange_weak(
                current,
                current + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    return Some(QueueGuard {
                        admission: Arc::clone(self),
                        admitted: false,
                    })
                }
                Err(actual) => current = actual,
            }
        }
    }
}

/// A request's place in its service's queue; dropping it leaves the queue.
#[derive(Debug)]
pub(crate) struct QueueGuard {
    admission: Arc<Admission>,
    admitted: bool,
}

impl QueueGuard {
    /// The request leaves the queue with a slot.
    pub(crate) fn admitted(mut self) {
        self.admitted = true;
    }

    pub(crate) fn admission(&self) -> &Arc<Admission> {
        &self.admission
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        let before = self.admission.queued.fetch_sub(1, Ordering::SeqCst);
        // A request leaving without a slot (timeout, client gone, route changed) may
        // have consumed the wake-up meant for a freed slot: pass it on.
        if !self.admitted && before > 1 {
            self.admission.room.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip() {
        let settings = AdmissionSettings {
            concurrency: 7,
            queue_capacity: 3,
            queue_timeout: Duration::from_millis(1500),
        };
        let admission = Admission::new(settings);
        assert_eq!(admission.settings(), settings);
        let changed = AdmissionSettings {
            concurrency: 0,
            ..settings
        };
        admission.set_settings(changed);
        assert_eq!(admission.settings(), changed);
        assert_eq!(admission.concurrency_limit(), 1);
        assert_eq!(
            Admission::default().settings(),
            AdmissionSettings::default()
        );
    }

    #[test]
    fn queue_is_bounded_and_guards_give_places_back() {
        let admission = Arc::new(Admission::new(AdmissionSettings {
            queue_capacity: 2,
            ..AdmissionSettings::default()
        }));
        let a = admission.try_enqueue().unwrap();
        let b = admission.try_enqueue().unwrap();
        assert!(admission.try_enqueue().is_none());
        assert_eq!(admission.load().queued, 2);
        drop(a);
        b.admitted();
        assert_eq!(admission.load().queued, 0);
        assert!(admission.try_enqueue().is_some());
    }

    #[test]
    fn simulated_load_never_goes_below_zero() {
        let admission = Admission::default();
        admission.begin();
        admission.enqueue();
        assert_eq!(admission.load().in_flight, 1);
        assert_eq!(admission.load().queued, 1);
        for _ in 0..2 {
            admission.end();
            admission.dequeue();
        }
        assert_eq!(admission.load(), LoadSample::default());
    }

    #[tokio::test]
    async fn demand_signalled_before_awaiting_is_not_lost() {
        let admission = Admission::default();
        admission.signal_demand();
        tokio::time::timeout(Duration::from_secs(5), admission.demanded())
            .await
            .unwrap();
    }
}
