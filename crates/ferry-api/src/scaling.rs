//! Autoscaling as the API carries it: `ferry scale`'s request and the autoscaler's
//! status (counts, load, panic mode and its recent decisions with their inputs).

use ferry_types::{Scaling, ScalingOverrides};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// `PUT /services/{name}/scaling`: knobs to set (`min`, `max`, `concurrency`,
/// `stable_window`, …; see `ferry_types::SCALING_RANGES`), laid over the revision's
/// `[scaling]` without a new revision.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct ScaleRequest {
    pub set: BTreeMap<String, u32>,
    /// Drop every earlier override first (back to the revision's `[scaling]`).
    pub reset: bool,
}

/// The autoscaler's view of one service.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct AutoscaleStatus {
    /// The revision's `[scaling]` with the overrides on top: what is in force.
    pub scaling: Scaling,
    pub overrides: ScalingOverrides,
    /// Instances the autoscaler wants; the deployer converges to it.
    pub desired: u32,
    pub ready: u32,
    /// Requests at the instances and waiting in the router's queue, now.
    pub in_flight: u64,
    pub queued: u64,
    pub panicking: bool,
    /// Newest first, at most 20.
    pub decisions: Vec<ScalingDecision>,
}

/// One change of the desired count (or of panic mode) and what it was based on.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ScalingDecision {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub previous: u32,
    pub desired: u32,
    /// Average requests in flight + queued over the stable and the panic window.
    pub stable_concurrency: f64,
    pub panic_concurrency: f64,
    /// Requests the ready instances carry at the target utilization.
    pub capacity: f64,
    pub ready: u32,
    pub panicking: bool,
    pub reason: String,
}
