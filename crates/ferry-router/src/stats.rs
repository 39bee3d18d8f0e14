//! Per-service request counters and a lock-free log-scale latency histogram.
//!
//! The proxy updates these on every request from many tasks at once, so everything
//! is a relaxed atomic: a snapshot may be a few requests out of step between fields,
//! which is fine for a dashboard and an autoscaler.

pub use ferry_api::StatsSnapshot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two: 4 gives at most ~12% relative error, enough for p50/p99.
const SUB_BUCKET_BITS: u32 = 2;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Microsecond buckets from 0 µs to ~2^33 µs (~2.4 h); slower requests land in the last.
const BUCKETS: usize = 128;

/// Request count and latency of one service, updated lock-free by the proxy.
#[derive(Debug)]
pub struct ServiceStats {
    requests: AtomicU64,
    responses_1xx: AtomicU64,
    responses_2xx: AtomicU64,
    responses_3xx: AtomicU64,
    responses_4xx: AtomicU64,
    responses_5xx: AtomicU64,
    router_errors: AtomicU64,
    latency_us: [AtomicU64; BUCKETS],
}

impl Default for ServiceStats {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            responses_1xx: AtomicU64::new(0),
            responses_2xx: AtomicU64::new(0),
            responses_3xx: AtomicU64::new(0),
            responses_4xx: AtomicU64::new(0),
            responses_5xx: AtomicU64::new(0),
            router_errors: AtomicU64::new(0),
            latency_us: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl ServiceStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a request routed to this service.
    pub fn record_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response by its status class.
    pub fn record_response(&self, status: http::StatusCode) {
        let counter = match status.as_u16() {
            100..=199 => &self.responses_1xx,
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response the router generated (also counted by class).
    pub fn record_router_error(&self, status: http::StatusCode) {
        self.router_errors.fetch_add(1, Ordering::Relaxed);
        self.record_response(status);
    }

    /// Adds one latency sample.
    pub fn record_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us[bucket_index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let counts: [u64; BUCKETS] =
            std::array::from_fn(|i| self.latency_us[i].load(Ordering::Relaxed));
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            responses_1xx: self.responses_1xx.load(Ordering::Relaxed),
            responses_2xx: self.responses_2xx.load(Ordering::Relaxed),
            responses_3xx: self.responses_3xx.load(Ordering::Relaxed),
            responses_4xx: self.responses_4xx.load(Ordering::Relaxed),
            responses_5xx: self.responses_5xx.load(Ordering::Relaxed),
            router_errors: self.router_errors.load(Ordering::Relaxed),
            latency_p50_ms: percentile_ms(&counts, 0.50),
            latency_p99_ms: percentile_ms(&counts, 0.99),
        }
    }
}

/// Bucket of a microsecond value: exact below 4 µs, then 4 buckets per power of two.
fn bucket_index(micros: u64) -> usize {
    if micros < SUB_BUCKETS {
        return micros as usize;
    }
    let exponent = 63 - micros.leading_zeros(); // >= SUB_BUCKET_BITS here
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (micros >> shift) & (SUB_BUCKETS - 1);
    let index = ((shift + 1) as usize) * SUB_BUCKETS as usize + sub as usize;
    index.min(BUCKETS - 1)
}

/// The half-open microsecond range `[low, high)` a bucket covers.
fn bucket_bounds(index: usize) -> (u64, u64) {
    let sub_buckets = SUB_BUCKETS as usize;
    if index < sub_buckets {
        return (index as u64, index as u64 + 1);
    }
    let shift = (index / sub_buckets - 1) as u32;
    let sub = (index % sub_buckets) as u64;
    let low = (SUB_BUCKETS + sub) << shift;
    (low, low + (1 << shift))
}

/// The value at quantile `q` (0..=1), as the midpoint of its bucket, in milliseconds.
fn percentile_ms(counts: &[u64; BUCKETS], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    // Rank of the sample at quantile q, 1-based ("nearest rank").
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (index, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            let (low, high) = bucket_bounds(index);
            return (low + high) as f64 / 2.0 / 1000.0;
        }
    }
    // Unreachable: the running sum reaches `total` >= rank at the last bucket.
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_contain_their_values() {
        let mut expected_low = 0;
        for index in 0..BUCKETS - 1 {
            let (low, high) = bucket_bounds(index);
            assert_eq!(low, expected_low, "bucket {index}");
            assert!(high > low);
            assert_eq!(bucket_index(low), index);
            assert_eq!(bucket_index(high - 1), index);
            expected_low = high;
        }
        assert_eq!(bucket_index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn relative_bucket_width_is_bounded() {
        for index in SUB_BUCKETS as usize..BUCKETS {
            let (low, high) = bucket_bounds(index);
            assert!((high - low) as f64 / low as f64 <= 0.25);
        }
    }

    #[test]
    fn empty_stats_snapshot_is_zero() {
        assert_eq!(ServiceStats::new().snapshot(), StatsSnapshot::default());
    }

    #[test]
    fn counts_and_percentiles() {
        let stats = ServiceStats::new();
        for _ in 0..98 {
            stats.record_request();
            stats.record_response(http::StatusCode::OK);
            stats.record_latency(Duration::from_millis(10));
        }
        stats.record_request();
        stats.record_response(http::StatusCode::NOT_FOUND);
        stats.record_latency(Duration::from_millis(10));
        stats.record_request();
        stats.record_router_error(http::StatusCode::GATEWAY_TIMEOUT);
        stats.record_latency(Duration::from_secs(1));
        stats.record_response(http::StatusCode::MOVED_PERMANENTLY);

        let snap = stats.snapshot();
        assert_eq!(snap.requests, 100);
        assert_eq!(snap.responses_2xx, 98);
        assert_eq!(snap.responses_3xx, 1);
        assert_eq!(snap.responses_4xx, 1);
        assert_eq!(snap.responses_5xx, 1);
        assert_eq!(snap.router_errors, 1);
        assert!(
            (snap.latency_p50_ms - 10.0).abs() / 10.0 < 0.15,
            "{}",
            snap.latency_p50_ms
        );
        assert!(
            (snap.latency_p99_ms - 10.0).abs() / 10.0 < 0.15,
            "{}",
            snap.latency_p99_ms
        );

        // Three slow samples out of 102: p99 moves into the slow bucket.
        stats.record_latency(Duration::from_secs(1));
        stats.record_latency(Duration::from_secs(1));
        let snap = stats.snapshot();
        assert!(
            (snap.latency_p99_ms - 1000.0).abs() / 1000.0 < 0.15,
            "{}",
            snap.latency_p99_ms
        );
    }
}
