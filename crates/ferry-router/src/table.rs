//! The route table the deployer publishes and the proxy reads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::uri::Authority;

pub use crate::admission::{Admission, AdmissionSettings, LoadSample};
pub use crate::stats::{ServiceStats, StatsSnapshot};

/// One instance the router may send requests to. The deployer keeps the same `Arc`
/// across table rebuilds so in-flight counts survive them (the drain and the
/// autoscaler read them).
#[derive(Debug)]
pub struct Upstream {
    pub instance_id: String,
    pub addr: SocketAddr,
    in_flight: AtomicU64,
    /// `addr` as a URI authority, built once so the proxy does not format it per request.
    authority: Authority,
}

impl Upstream {
    pub fn new(instance_id: impl Into<String>, addr: SocketAddr) -> Self {
        // A socket address always formats as a valid authority ("1.2.3.4:80",
        // "[::1]:80"); the fallback only exists so this constructor cannot panic.
        let authority = Authority::from_maybe_shared(bytes::Bytes::from(addr.to_string()))
            .unwrap_or_else(|_| Authority::from_static("127.0.0.1"));
        Self {
            instance_id: instance_id.into(),
            addr,
            in_flight: AtomicU64::new(0),
            authority,
        }
    }

    /// The URI authority (`ip:port`) requests to this instance are sent to.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Requests currently being proxied to this instance.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Marks a request as started; the guard marks it finished when dropped. Not
    /// limited: the proxy takes slots with [`Upstream::try_begin`].
    pub fn begin(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlightGuard {
            upstream: Arc::clone(self),
            admission: None,
        }
    }

    /// Takes one of the instance's `limit` slots for a request of the service whose
    /// admission is `admission`, or `None` when all are taken. Compare-exchange, so
    /// two requests cannot both take the last slot.
    pub fn try_begin(
        self: &Arc<Self>,
        limit: u64,
        admission: &Arc<Admission>,
    ) -> Option<InFlightGuard> {
        // SeqCst pairs with `Admission::end` (see there): a waiter that enqueued
        // before looking here sees every slot released before its look.
        let mut current = self.in_flight.load(Ordering::SeqCst);
        loop {
            if current >= limit {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        admission.slot_taken();
        Some(InFlightGuard {
            upstream: Arc::clone(self),
            admission: Some(Arc::clone(admission)),
        })
    }
}

/// A request's slot on an instance: decrements the instance's in-flight count on
/// drop (also when a request is cancelled) and, for a slot taken through the
/// service's admission, lets a waiting request have it.
#[derive(Debug)]
pub struct InFlightGuard {
    upstream: Arc<Upstream>,
    admission: Option<Arc<Admission>>,
}

impl InFlightGuard {
    /// The instance the slot is on.
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.upstream.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(admission) = &self.admission {
            admission.slot_released();
        }
    }
}

/// How a service answers right now.
#[derive(Debug, Clone)]
pub enum RouteState {
    /// Ready instances to balance across (never empty; use `Unavailable` instead).
    Serving(Vec<Arc<Upstream>>),
    /// Paused by the user: 503 with a page that says so.
    Paused,
    /// No ready instance (starting, crashed, failed deploy): 503 with the reason.
    Unavailable { reason: String },
    /// Scaled to zero on purpose: requests are held in the service's queue (and
    /// demand is signalled) until a table with ready upstreams is published, as
    /// Knative's activator does.
    Cold,
    /// A static site: the router answers from the directory itself (no instance, no
    /// admission). A new revision's files replace the old ones in one table swap;
    /// requests in flight keep the `Arc` and the files they opened.
    Files(Arc<crate::files::StaticSite>),
}

/// Per-service routing entry.
#[derive(Debug, Clone)]
pub struct ServiceRoute {
    pub service: String,
    pub state: RouteState,
    pub request_timeout: Duration,
    /// Shared across table rebuilds, like upstreams.
    pub stats: Arc<ServiceStats>,
    /// Concurrency limit, queue and load counters; shared across rebuilds too.
    pub admission: Arc<Admission>,
}

/// Host (lowercase, without port) → route. Cheap to clone: routes are `Arc`s.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub hosts: HashMap<String, Arc<ServiceRoute>>,
}

impl RouteTable {
    /// Adds `host` (normalised to lowercase, without port or trailing dot) for `route`.
    pub fn insert(&mut self, host: &str, route: Arc<ServiceRoute>) {
        self.hosts.insert(normalize_host(host).into_owned(), route);
    }

    /// The route for a host as the client sent it (any case, with or without port).
    pub fn lookup(&self, host: &str) -> Option<&Arc<ServiceRoute>> {
        self.hosts.get(normalize_host(host).as_ref())
    }
}

/// Lowercases a host and strips its port and a trailing dot ("Api.Localhost.:8080"
/// → "api.localhost"); IPv6 literals keep their brackets ("[::1]:80" → "[::1]").
/// Borrows when nothing changes, which is the common case on the hot path.
pub fn normalize_host(host: &str) -> std::borrow::Cow<'_, str> {
    let without_port = if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        match host.rfind(':') {
            Some(colon) => &host[..colon],
            None => host,
        }
    };
    let trimmed = without_port.strip_suffix('.').unwrap_or(without_port);
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_host_strips_port_case_and_trailing_dot() {
        assert_eq!(normalize_host("api.localhost"), "api.localhost");
        assert_eq!(normalize_host("API.Localhost:8080"), "api.localhost");
        assert_eq!(normalize_host("example.com."), "example.com");
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
        assert_eq!(normalize_host("[::1"), "[::1");
        assert_eq!(normalize_host(""), "");
    }

    #[test]
    fn upstream_authority_matches_addr() {
        let up = Upstream::new("i-1", "127.0.0.1:4000".parse().unwrap());
        assert_eq!(up.authority().as_str(), "127.0.0.1:4000");
        let up6 = Upstream::new("i-2", "[::1]:4000".parse().unwrap());
        assert_eq!(up6.authority().as_str(), "[::1]:4000");
    }

    #[test]
    fn try_begin_stops_at_the_limit_and_counts_the_service() {
        let up = Arc::new(Upstream::new("i-1", "127.0.0.1:1".parse().unwrap()));
        let admission = Arc::new(Admission::default());
        let a = up.try_begin(2, &admission).unwrap();
        let b = up.try_begin(2, &admission).unwrap();
        assert!(up.try_begin(2, &admission).is_none());
        assert_eq!(admission.load().in_flight, 2);
        drop(a);
        assert_eq!(up.in_flight(), 1);
        assert_eq!(admission.load().in_flight, 1);
        let c = up.try_begin(2, &admission).unwrap();
        drop((b, c));
        assert_eq!(up.in_flight(), 0);
        assert_eq!(admission.load().in_flight, 0);
    }

    #[test]
    fn in_flight_guard_counts_and_releases() {
        let up = Arc::new(Upstream::new("i-1", "127.0.0.1:1".parse().unwrap()));
        let a = up.begin();
        let b = up.begin();
        assert_eq!(up.in_flight(), 2);
        drop(a);
        assert_eq!(up.in_flight(), 1);
        drop(b);
        assert_eq!(up.in_flight(), 0);
    }
}
