//! The autoscaling algorithm as a pure state machine (Knative's KPA): load samples in,
//! a desired instance count out, with the clock passed in (milliseconds on any
//! monotonic scale) so tests run on a simulated clock.

use ferry_types::Scaling;
use std::collections::VecDeque;

/// Samples kept at most (one a second over the longest stable window, with room).
const MAX_SAMPLES: usize = 4096;
/// Decisions kept for `ferry status`.
pub const HISTORY: usize = 20;

/// The knobs in the algorithm's units.
#[derive(Clone, Debug, PartialEq)]
pub struct KpaConfig {
    pub min: u32,
    pub max: u32,
    /// Requests in flight one instance should carry: concurrency × target utilization.
    pub target: f64,
    pub stable_window_ms: u64,
    pub panic_window_ms: u64,
    /// Panic when panic-window demand ÷ capacity reaches this (2.0 = 200 %).
    pub panic_threshold: f64,
    pub scale_down_delay_ms: u64,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    pub zero_grace_ms: u64,
}

impl From<&Scaling> for KpaConfig {
    fn from(s: &Scaling) -> Self {
        let secs = |v: u32| u64::from(v) * 1000;
        Self {
            min: s.min,
            max: s.max.max(s.min),
            target: (f64::from(s.concurrency) * f64::from(s.target_utilization) / 100.0).max(0.01),
            stable_window_ms: secs(s.stable_window.max(1)),
            panic_window_ms: secs(s.panic_window.clamp(1, s.stable_window.max(1))),
            panic_threshold: f64::from(s.panic_threshold) / 100.0,
            scale_down_delay_ms: secs(s.scale_down_delay),
            max_scale_up_rate: f64::from(s.max_scale_up_rate.max(2)),
            max_scale_down_rate: f64::from(s.max_scale_down_rate.max(2)),
            zero_grace_ms: secs(s.scale_to_zero_grace),
        }
    }
}

/// One decision and what it was based on.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub at_ms: u64,
    pub desired: u32,
    pub previous: u32,
    /// Average requests in flight + queued over the stable and panic windows.
    pub stable_concurrency: f64,
    pub panic_concurrency: f64,
    /// Requests the ready instances carry at the target utilization.
    pub capacity: f64,
    pub ready: u32,
    pub panicking: bool,
    pub reason: String,
}

/// One service's autoscaler state.
#[derive(Clone, Debug)]
pub struct Kpa {
    /// `(at, in_flight + queued)`, oldest first.
    samples: VecDeque<(u64, f64)>,
    last_requests_total: Option<u64>,
    /// The last moment a request was in flight, queued or new.
    last_activity: u64,
    /// Set while panicking: the last time the panic condition held.
    panic_since: Option<u64>,
    max_panic: u32,
    /// Recent recommendations, for the scale-down delay.
    recent: VecDeque<(u64, u32)>,
    desired: u32,
    /// Since when load has been sampled (start, resume): no scale-down before a whole
    /// stable window of it, so a count restored after a restart or a pause is not
    /// dropped on the strength of one sample.
    fresh_since: u64,
    history: VecDeque<Decision>,
}

impl Kpa {
    /// Starts at `desired` (the last count kept, or the bounds' floor), idle since `now`.
    pub fn new(now: u64, desired: u32) -> Self {
        Self {
            samples: VecDeque::new(),
            last_requests_total: None,
            last_activity: now,
            panic_since: None,
            max_panic: 0,
            recent: VecDeque::new(),
            desired,
            fresh_since: now,
            history: VecDeque::new(),
        }
    }

    pub fn desired(&self) -> u32 {
        self.desired
    }

    pub fn panicking(&self) -> bool {
        self.panic_since.is_some()
    }

    /// Newest first.
    pub fn history(&self) -> impl Iterator<Item = &Decision> {
        self.history.iter().rev()
    }

    /// The service was paused and runs again: the count is kept (resume restores what
    /// the autoscaler wanted), but the idle clock and the windows start afresh, so a
    /// long pause does not count as idleness.
    pub fn resumed(&mut self, now: u64) {
        self.samples.clear();
        self.recent.clear();
        self.panic_since = None;
        self.max_panic = 0;
        self.last_activity = now;
        self.fresh_since = now;
    }

    /// Takes one load sample: requests in flight and queued, and the monotonic count of
    /// admitted requests (a new request is activity even if it finished in between).
    pub fn observe(&mut self, now: u64, in_flight: u64, queued: u64, requests_total: u64) {
        let concurrency = (in_flight + queued) as f64;
        let new_requests = self
            .last_requests_total
            .is_some_and(|last| requests_total != last);
        self.last_requests_total = Some(requests_total);
        if concurrency > 0.0 || new_requests {
            self.last_activity = now;
        }
        self.samples.push_back((now, concurrency));
        while self.samples.len() > MAX_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// A request is held with no instance to take it: at least one instance, now.
    /// Returns the decision when it changed the count.
    pub fn demand(&mut self, now: u64, ready: u32, config: &KpaConfig) -> Option<&Decision> {
        self.last_activity = now;
        if self.desired > 0 || config.max == 0 {
            return None;
        }
        let previous = self.desired;
        self.desired = 1;
        self.recent.clear();
        self.record(Decision {
            at_ms: now,
            desired: 1,
            previous,
            stable_concurrency: 0.0,
            panic_concurrency: 0.0,
            capacity: 0.0,
            ready,
            panicking: false,
            reason: "a request is waiting and no instance runs: cold start".to_string(),
        });
        self.history.back()
    }

    /// Decides the count from the samples so far. Returns the decision when the count
    /// or the panic mode changed (those are kept in the history).
    pub fn decide(&mut self, now: u64, ready: u32, config: &KpaConfig) -> Option<&Decision> {
        // Old samples go (a bounded window).
        let horizon = now.saturating_sub(config.stable_window_ms);
        while self.samples.front().is_some_and(|(at, _)| *at < horizon) {
            self.samples.pop_front();
        }
        let average = |window: u64| {
            let since = now.saturating_sub(window);
            let (sum, n) = self
                .samples
                .iter()
                .filter(|(at, _)| *at > since)
                .fold((0.0, 0u32), |(sum, n), (_, c)| (sum + c, n + 1));
            if n == 0 {
                0.0
            } else {
                sum / f64::from(n)
            }
        };
        let stable = average(config.stable_window_ms);
        let panic = average(config.panic_window_ms);
        let rate_base = f64::from(ready.max(1));
        let capacity = f64::from(ready) * config.target;
        let max_up = (config.max_scale_up_rate * rate_base).ceil() as u32;
        let max_down = (rate_base / config.max_scale_down_rate).floor() as u32;
        let pods = |load: f64| (load / config.target).ceil() as u32;
        let (want_stable, want_panic) = (pods(stable), pods(panic));
        let mut notes = Vec::new();
        let limit = |want: u32, notes: &mut Vec<String>| {
            if want > max_up {
                notes.push(format!("scale-up limited to {max_up} (max_scale_up_rate)"));
                max_up
            } else if want < max_down {
                notes.push(format!(
                    "scale-down limited to {max_down} (max_scale_down_rate)"
                ));
                max_down
            } else {
                want
            }
        };

        // Panic: the short window's demand reached threshold × capacity.
        let over = panic / (rate_base * config.target) >= config.panic_threshold;
        let was_panicking = self.panic_since.is_some();
        if over {
            self.panic_since = Some(now);
        } else if self
            .panic_since
            .is_some_and(|since| now >= since + config.stable_window_ms)
        {
            self.panic_since = None;
            self.max_panic = 0;
        }
        let mut desired;
        let mut reason;
        if self.panic_since.is_some() {
            // No scale-down while panicking.
            desired = limit(want_panic, &mut notes).max(self.max_panic);
            self.max_panic = desired;
            reason = format!(
                "panic: {panic:.1} requests over the panic window, {:.0}% of capacity; \
                 no scale-down until a stable window passes without a burst",
                100.0 * panic / (rate_base * config.target)
            );
        } else {
            desired = limit(want_stable, &mut notes);
            reason = format!(
                "{stable:.1} requests over the stable window ÷ {:.1} per instance",
                config.target
            );
            if was_panicking {
                reason = format!("panic over; {reason}");
            }
        }

        // Scale-down delay: the highest recommendation within the delay wins.
        if config.scale_down_delay_ms > 0 {
            let since = now.saturating_sub(config.scale_down_delay_ms);
            while self.recent.front().is_some_and(|(at, _)| *at < since) {
                self.recent.pop_front();
            }
            self.recent.push_back((now, desired));
            let held = self.recent.iter().map(|(_, d)| *d).max().unwrap_or(desired);
            if held > desired {
                notes.push(format!(
                    "scale-down delayed (scale_down_delay): keeping {held}"
                ));
                desired = held;
            }
        }

        if desired < self.desired && now < self.fresh_since + config.stable_window_ms {
            notes.push(format!(
                "keeping {} until a stable window of load has been seen",
                self.desired
            ));
            desired = self.desired;
        }

        // Zero only with min 0 and after the grace period without any request.
        if desired == 0 {
            let idle = now.saturating_sub(self.last_activity);
            if config.min > 0 {
                // The bounds below lift it.
            } else if self.desired == 0 {
                reason = "idle, at zero".to_string();
            } else if idle >= config.zero_grace_ms {
                reason = format!(
                    "no request for {}s (scale_to_zero_grace): to zero",
                    idle / 1000
                );
            } else {
                desired = 1;
                notes.push("waiting for scale_to_zero_grace before going to zero".to_string());
            }
        }
        let bounded = desired.clamp(config.min, config.max);
        if bounded != desired {
            notes.push(format!("bounded to [{}, {}]", config.min, config.max));
            desired = bounded;
        }
        if !notes.is_empty() {
            reason = format!("{reason}; {}", notes.join("; "));
        }
        let previous = self.desired;
        self.desired = desired;
        let panicking = self.panic_since.is_some();
        if previous == desired && panicking == was_panicking {
            return None;
        }
        self.record(Decision {
            at_ms: now,
            desired,
            previous,
            stable_concurrency: stable,
            panic_concurrency: panic,
            capacity,
            ready,
            panicking,
            reason,
        });
        self.history.back()
    }

    fn record(&mut self, decision: Decision) {
        self.history.push_back(decision);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
