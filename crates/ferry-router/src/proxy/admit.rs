//! Admitting a request to an instance: the least-outstanding instance with room
//! under the service's concurrency limit, or else a wait in the service's bounded
//! queue (also the cold-start hold) until a slot frees or a new route table brings
//! instances, the queue wait expires, or the client goes away.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::error::{ProxyError, ProxyErrorKind};
use crate::table::{InFlightGuard, RouteState, RouteTable, ServiceRoute, Upstream};

/// Rescans after losing a compare-exchange race before the request queues instead
/// (each lost race means another request took a slot, so this only bounds spinning).
const MAX_RACES: usize = 8;

/// A request with a slot on `upstreams(&route)[index]`.
pub(super) struct Admitted {
    /// The route the slot was found in: the latest one for a request that waited.
    pub route: Arc<ServiceRoute>,
    pub index: usize,
    pub guard: InFlightGuard,
}

/// Why a request got no slot, with the route to account the answer to.
pub(super) struct Refused {
    pub route: Arc<ServiceRoute>,
    pub error: ProxyError,
}

/// The instances a route balances across (empty unless it is serving).
pub(super) fn upstreams(route: &ServiceRoute) -> &[Arc<Upstream>] {
    match &route.state {
        RouteState::Serving(upstreams) => upstreams,
        _ => &[],
    }
}

/// Instances already tried for one request (indexes past 63 are never excluded,
/// which only matters for services with more than 64 instances).
#[derive(Default)]
pub(super) struct TriedSet(u64);

impl TriedSet {
    pub fn insert(&mut self, index: usize) {
        if index < 64 {
            self.0 |= 1 << index;
        }
    }

    fn contains(&self, index: usize) -> bool {
        index < 64 && self.0 & (1 << index) != 0
    }
}

/// Admits a request for `route` (serving or cold): at once when an instance has
/// room and nobody is queued, else through the queue. `host` is the request's host
/// as sent, for re-reading the table after a wait.
pub(super) async fn admit(
    table: &watch::Receiver<Arc<RouteTable>>,
    route: Arc<ServiceRoute>,
    host: &str,
) -> Result<Admitted, Refused> {
    route.admission.count_request();
    if route.admission.queued() == 0 {
        if let Some((index, guard)) = try_acquire(&route, &TriedSet::default()) {
            return Ok(Admitted {
                route,
                index,
                guard,
            });
        }
    }
    wait(table.clone(), route, host).await
}

/// A slot on the untried instance with the fewest outstanding requests that is
/// under the limit, or `None` when every untried instance is full.
pub(super) fn try_acquire(
    route: &ServiceRoute,
    tried: &TriedSet,
) -> Option<(usize, InFlightGuard)> {
    let upstreams = upstreams(route);
    let limit = route.admission.concurrency_limit();
    for _ in 0..MAX_RACES {
        let index = least_outstanding(upstreams, tried, limit)?;
        if let Some(guard) = upstreams[index].try_begin(limit, &route.admission) {
            return Some((index, guard));
        }
    }
    None
}

/// How often a retry waiting for room looks at the instances again.
const RETRY_POLL: Duration = Duration::from_millis(10);

/// A slot for a retry after a refused connection: like [`try_acquire`], but when
/// every untried instance is full it waits for one of them to have room, until
/// `deadline`. `None` when every instance was tried or none had room in time.
///
/// It polls rather than waiting on the queue's wake-ups: those go one at a time to
/// queued requests, and a retry that took one it could not use (the slot freed on
/// an instance it already tried) would leave a queued request asleep.
pub(super) async fn acquire_for_retry(
    route: &ServiceRoute,
    tried: &TriedSet,
    deadline: Instant,
) -> Option<(usize, InFlightGuard)> {
    let count = upstreams(route).len();
    if (0..count).all(|index| tried.contains(index)) {
        return None;
    }
    loop {
        if let Some(found) = try_acquire(route, tried) {
            return Some(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        tokio::time::sleep_until(deadline.min(now + RETRY_POLL)).await;
    }
}

/// Waits in the route's queue for a slot. Each time a slot frees, the settings
/// change or a table is published, it looks again at the latest route for `host`:
/// new instances (or a cold service's first) are taken as soon as they appear.
async fn wait(
    mut table: watch::Receiver<Arc<RouteTable>>,
    mut route: Arc<ServiceRoute>,
    host: &str,
) -> Result<Admitted, Refused> {
    let deadline = Instant::now() + route.admission.settings().queue_timeout;
    let Some(mut place) = route.admission.try_enqueue() else {
        return Err(refused(route, queue_full()));
    };
    loop {
        let admission = Arc::clone(place.admission());
        let room = admission.room();
        let mut room = std::pin::pin!(room);
        // Registered before looking, so a slot freed after the look still wakes us.
        room.as_mut().enable();

        let latest = table.borrow_and_update().lookup(host).cloned();
        let Some(latest) = latest else {
            let error = ProxyError::new(
                ProxyErrorKind::UnknownHost,
                format!("No service is routed for host \"{host}\"."),
            );
            return Err(refused(route, error));
        };
        if !Arc::ptr_eq(&latest.admission, &route.admission) {
            // The host now routes to another service: wait in that one's queue.
            route = latest;
            drop(place);
            place = match route.admission.try_enqueue() {
                Some(place) => place,
                None => return Err(refused(route, queue_full())),
            };
            continue;
        }
        route = latest;
        match &route.state {
            RouteState::Paused => {
                let error = ProxyError::new(
                    ProxyErrorKind::Paused,
                    "This service is paused. Resume it to serve requests again.",
                );
                return Err(refused(route, error));
            }
            RouteState::Serving(_) => {
                if let Some((index, guard)) = try_acquire(&route, &TriedSet::default()) {
                    place.admitted();
                    return Ok(Admitted {
                        route,
                        index,
                        guard,
                    });
                }
            }
            // The service became a static site while the request waited: the caller
            // serves it from the files (the error is not shown).
            RouteState::Files(_) => {
                let error = ProxyError::new(ProxyErrorKind::Unavailable, "static files");
                return Err(refused(route, error));
            }
            // Cold, or starting after a cold start: keep holding.
            RouteState::Cold | RouteState::Unavailable { .. } => {}
        }
        route.admission.signal_demand();

        tokio::select! {
            () = room => {}
            changed = table.changed() => {
                if changed.is_err() {
                    // The route table's publisher is gone: the server is stopping.
                    let error = ProxyError::new(
                        ProxyErrorKind::Unavailable,
                        "The router is shutting down.",
                    );
                    return Err(refused(route, error));
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let error = ProxyError::new(
                    ProxyErrorKind::QueueTimeout,
                    "No instance of the service had room in time; try again shortly.",
                );
                return Err(refused(route, error));
            }
        }
    }
}

fn queue_full() -> ProxyError {
    ProxyError::new(
        ProxyErrorKind::QueueFull,
        "The service is at capacity and its queue is full; try again shortly.",
    )
}

fn refused(route: Arc<ServiceRoute>, error: ProxyError) -> Refused {
    Refused { route, error }
}

/// The untried instance under `limit` with the fewest outstanding requests. The
/// scan starts at a random index so ties (e.g. all idle) spread across instances.
fn least_outstanding(upstreams: &[Arc<Upstream>], tried: &TriedSet, limit: u64) -> Option<usize> {
    let count = upstreams.len();
    if count == 1 {
        return (!tried.contains(0) && upstreams[0].in_flight() < limit).then_some(0);
    }
    if count == 0 {
        return None;
    }
    let first = fastrand::usize(..count);
    let mut best: Option<(usize, u64)> = None;
    for step in 0..count {
        let index = (first + step) % count;
        if tried.contains(index) {
            continue;
        }
        let load = upstreams[index].in_flight();
        if load < limit && best.is_none_or(|(_, best_load)| load < best_load) {
            best = Some((index, load));
            if load == 0 {
                break;
            }
        }
    }
    best.map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn upstreams(loads: &[u64]) -> (Vec<Arc<Upstream>>, Vec<InFlightGuard>) {
        let mut guards = Vec::new();
        let list = loads
            .iter()
            .enumerate()
            .map(|(i, load)| {
                let up = Arc::new(Upstream::new(
                    format!("i-{i}"),
                    SocketAddr::from(([127, 0, 0, 1], 1000 + i as u16)),
                ));
                for _ in 0..*load {
                    guards.push(up.begin());
                }
                up
            })
            .collect();
        (list, guards)
    }

    #[test]
    fn picks_the_least_loaded_instance() {
        let (list, _guards) = upstreams(&[3, 1, 2]);
        for _ in 0..50 {
            assert_eq!(
                least_outstanding(&list, &TriedSet::default(), u64::MAX),
                Some(1)
            );
        }
    }

    #[test]
    fn ties_spread_across_instances() {
        let (list, _guards) = upstreams(&[0, 0, 0]);
        let mut seen = [0; 3];
        for _ in 0..300 {
            seen[least_outstanding(&list, &TriedSet::default(), u64::MAX).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }

    #[test]
    fn tried_instances_are_skipped() {
        let (list, _guards) = upstreams(&[0, 5]);
        let mut tried = TriedSet::default();
        tried.insert(0);
        assert_eq!(least_outstanding(&list, &tried, u64::MAX), Some(1));
        tried.insert(1);
        assert_eq!(least_outstanding(&list, &tried, u64::MAX), None);
        let (single, _g) = upstreams(&[0]);
        assert_eq!(
            least_outstanding(&single, &TriedSet::default(), u64::MAX),
            Some(0)
        );
    }

    #[test]
    fn full_instances_are_skipped() {
        let (list, _guards) = upstreams(&[2, 1, 2]);
        assert_eq!(least_outstanding(&list, &TriedSet::default(), 2), Some(1));
        assert_eq!(least_outstanding(&list, &TriedSet::default(), 1), None);
        let (single, _g) = upstreams(&[1]);
        assert_eq!(least_outstanding(&single, &TriedSet::default(), 1), None);
        assert_eq!(least_outstanding(&[], &TriedSet::default(), 1), None);
    }
}
