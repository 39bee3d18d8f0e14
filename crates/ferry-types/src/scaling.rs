//! `[scaling]`: instance bounds, the per-instance concurrency, and the autoscaler's
//! knobs (Knative's KPA defaults), with their ranges; and the per-service overrides
//! `ferry scale` writes on top of a revision's config (no new revision).

use serde::{Deserialize, Serialize};

/// Instance counts, the per-instance concurrency the autoscaler targets and how it
/// reacts. Seconds and percentages are whole numbers so `ferry.toml` and flags agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scaling {
    /// Instances always running (App Runner's MinSize), 0–25; 0 = scale to zero when idle.
    pub min: u32,
    /// Upper bound for the autoscaler, 1–25.
    pub max: u32,
    /// Requests one instance is sent at once (a hard limit in the router), 1–200.
    pub concurrency: u32,
    /// Share of `concurrency` the autoscaler aims for, in percent (1–100).
    pub target_utilization: u32,
    /// Seconds of load averaged for normal decisions (1–3600).
    pub stable_window: u32,
    /// Seconds of load averaged to detect a burst (1–stable_window).
    pub panic_window: u32,
    /// Panic when the panic-window demand reaches this percentage of current capacity
    /// (110–1000).
    pub panic_threshold: u32,
    /// Seconds a lower count must hold before instances are removed (0–3600).
    pub scale_down_delay: u32,
    /// At most this many times the ready instances in one decision (2–10000).
    pub max_scale_up_rate: u32,
    /// At most the ready instances divided by this removed in one decision (2–1000).
    pub max_scale_down_rate: u32,
    /// With `min = 0`: seconds without any request before going to zero (0–3600).
    pub scale_to_zero_grace: u32,
    /// Requests the router holds for the service at once (waiting for room or a cold
    /// start), 0–10000.
    pub queue_size: u32,
    /// Seconds a held request waits before a 503 (1–3600).
    pub queue_timeout: u32,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            min: 1,
            max: 25,
            concurrency: 100,
            target_utilization: 70,
            stable_window: 60,
            panic_window: 6,
            panic_threshold: 200,
            scale_down_delay: 0,
            max_scale_up_rate: 1000,
            max_scale_down_rate: 2,
            scale_to_zero_grace: 30,
            queue_size: 1000,
            queue_timeout: 30,
        }
    }
}

/// Every knob with its range, in the order `ferry scale --help` and errors use.
pub const SCALING_RANGES: &[(&str, u32, u32)] = &[
    ("min", 0, 25),
    ("max", 1, 25),
    ("concurrency", 1, 200),
    ("target_utilization", 1, 100),
    ("stable_window", 1, 3600),
    ("panic_window", 1, 3600),
    ("panic_threshold", 110, 1000),
    ("scale_down_delay", 0, 3600),
    ("max_scale_up_rate", 2, 10000),
    ("max_scale_down_rate", 2, 1000),
    ("scale_to_zero_grace", 0, 3600),
    ("queue_size", 0, 10000),
    ("queue_timeout", 1, 3600),
];

impl Scaling {
    /// The knob named `key` (one of [`SCALING_RANGES`]).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut u32> {
        Some(match key {
            "min" => &mut self.min,
            "max" => &mut self.max,
            "concurrency" => &mut self.concurrency,
            "target_utilization" => &mut self.target_utilization,
            "stable_window" => &mut self.stable_window,
            "panic_window" => &mut self.panic_window,
            "panic_threshold" => &mut self.panic_threshold,
            "scale_down_delay" => &mut self.scale_down_delay,
            "max_scale_up_rate" => &mut self.max_scale_up_rate,
            "max_scale_down_rate" => &mut self.max_scale_down_rate,
            "scale_to_zero_grace" => &mut self.scale_to_zero_grace,
            "queue_size" => &mut self.queue_size,
            "queue_timeout" => &mut self.queue_timeout,
            _ => return None,
        })
    }

    fn get(&self, key: &str) -> Option<u32> {
        self.clone().get_mut(key).map(|v| *v)
    }

    /// Range problems as `(scaling.<key>, message)`.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for &(key, lo, hi) in SCALING_RANGES {
            let value = self.get(key).unwrap_or_default();
            if value < lo || value > hi {
                problems.push((
                    format!("scaling.{key}"),
                    format!("must be between {lo} and {hi}, got {value}"),
                ));
            }
        }
        if self.max < self.min {
            problems.push((
                "scaling.max".to_string(),
                format!(
                    "must be at least scaling.min ({}), got {}",
                    self.min, self.max
                ),
            ));
        }
        if self.panic_window > self.stable_window {
            problems.push((
                "scaling.panic_window".to_string(),
                format!(
                    "must be at most scaling.stable_window ({}), got {}",
                    self.stable_window, self.panic_window
                ),
            ));
        }
        problems
    }
}

/// Knobs set with `ferry scale` for one service, laid over the active revision's
/// `[scaling]`; a knob not set keeps the revision's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingOverrides {
    /// `knob -> value`, keys from [`SCALING_RANGES`].
    pub values: std::collections::BTreeMap<String, u32>,
}

impl ScalingOverrides {
    /// The revision's scaling with these overrides on top.
    pub fn apply(&self, base: &Scaling) -> Scaling {
        let mut out = base.clone();
        for (key, value) in &self.values {
            if let Some(slot) = out.get_mut(key) {
                *slot = *value;
            }
        }
        out
    }

    /// Adds `other`'s knobs (later wins); unknown keys are refused.
    pub fn merge(&mut self, other: &ScalingOverrides) -> Result<(), String> {
        for (key, value) in &other.values {
            if Scaling::default().get_mut(key).is_none() {
                let known: Vec<&str> = SCALING_RANGES.iter().map(|(k, _, _)| *k).collect();
                return Err(format!(
                    "unknown scaling setting `{key}` (known: {})",
                    known.join(", ")
                ));
            }
            self.values.insert(key.clone(), *value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_knative_like() {
        let s = Scaling::default();
        assert!(s.validate().is_empty());
        assert_eq!((s.min, s.max, s.concurrency), (1, 25, 100));
        assert_eq!(
            (s.target_utilization, s.stable_window, s.panic_window),
            (70, 60, 6)
        );
    }

    #[test]
    fn overrides_apply_and_validate() {
        let mut o = ScalingOverrides::default();
        let mut add = ScalingOverrides::default();
        add.values.insert("min".into(), 0);
        add.values.insert("max".into(), 3);
        o.merge(&add).unwrap();
        let s = o.apply(&Scaling::default());
        assert_eq!((s.min, s.max), (0, 3));
        assert!(s.validate().is_empty());
        let mut bad = ScalingOverrides::default();
        bad.values.insert("nope".into(), 1);
        assert!(o
            .merge(&bad)
            .unwrap_err()
            .contains("unknown scaling setting"));
        let wrong = Scaling {
            min: 5,
            max: 2,
            concurrency: 0,
            ..Scaling::default()
        };
        let keys: Vec<String> = wrong.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["scaling.concurrency", "scaling.max"]);
    }
}
