//! `ferry scale NAME --min 0 --max 10 --concurrency 50 …`: sets scaling overrides on
//! the server (no new revision) and shows what is now in force; and the autoscaler's
//! lines of `ferry status NAME`.

use crate::client::{segment, Client};
use crate::output::{ago, outln, print_json};
use anyhow::{bail, Result};
use ferry_api::{AutoscaleStatus, ScaleRequest};
use std::collections::BTreeMap;

/// Knobs of `ferry scale`; each unset flag keeps its current value.
#[derive(clap::Args, Debug, Default)]
pub struct ScaleArgs {
    pub name: String,
    /// Instances always running, 0–25 (0: scale to zero when idle)
    #[arg(long)]
    pub min: Option<u32>,
    /// Most instances, 1–25
    #[arg(long)]
    pub max: Option<u32>,
    /// Requests one instance is sent at once (a hard limit), 1–200
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Share of --concurrency the autoscaler aims for, percent (default 70)
    #[arg(long)]
    pub target_utilization: Option<u32>,
    /// Seconds of load averaged for decisions (default 60)
    #[arg(long)]
    pub stable_window: Option<u32>,
    /// Seconds of load averaged to detect bursts (default 6)
    #[arg(long)]
    pub panic_window: Option<u32>,
    /// Panic at this percentage of capacity (default 200)
    #[arg(long)]
    pub panic_threshold: Option<u32>,
    /// Seconds a lower count must hold before scaling in (default 0)
    #[arg(long)]
    pub scale_down_delay: Option<u32>,
    /// At most this many times the ready instances per decision (default 1000)
    #[arg(long)]
    pub max_scale_up_rate: Option<u32>,
    /// At most ready ÷ this removed per decision (default 2)
    #[arg(long)]
    pub max_scale_down_rate: Option<u32>,
    /// With --min 0: seconds without requests before going to zero (default 30)
    #[arg(long)]
    pub scale_to_zero_grace: Option<u32>,
    /// Requests the router holds for the service at once (default 1000)
    #[arg(long)]
    pub queue_size: Option<u32>,
    /// Seconds a held request waits before a 503 (default 30)
    #[arg(long)]
    pub queue_timeout: Option<u32>,
    /// Drop earlier overrides first (back to the revision's [scaling])
    #[arg(long)]
    pub reset: bool,
}

impl ScaleArgs {
    fn knobs(&self) -> BTreeMap<String, u32> {
        [
            ("min", self.min),
            ("max", self.max),
            ("concurrency", self.concurrency),
            ("target_utilization", self.target_utilization),
            ("stable_window", self.stable_window),
            ("panic_window", self.panic_window),
            ("panic_threshold", self.panic_threshold),
            ("scale_down_delay", self.scale_down_delay),
            ("max_scale_up_rate", self.max_scale_up_rate),
            ("max_scale_down_rate", self.max_scale_down_rate),
            ("scale_to_zero_grace", self.scale_to_zero_grace),
            ("queue_size", self.queue_size),
            ("queue_timeout", self.queue_timeout),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_string(), value?)))
        .collect()
    }
}

pub async fn run(client: &Client, args: ScaleArgs, json: bool) -> Result<()> {
    let set = args.knobs();
    if set.is_empty() && !args.reset {
        bail!("nothing to change: give at least one of --min, --max, --concurrency, … (see `ferry scale --help`), or --reset");
    }
    let request = ScaleRequest {
        set,
        reset: args.reset,
    };
    let path = format!("/services/{}/scaling", segment(&args.name));
    let status: AutoscaleStatus = client.put(&path, &request).await?;
    if json {
        return print_json(&status);
    }
    let s = &status.scaling;
    outln!(
        "{}: min {}, max {}, concurrency {} (no new revision)",
        args.name,
        s.min,
        s.max,
        s.concurrency
    );
    let set: Vec<String> = status
        .overrides
        .values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !set.is_empty() {
        outln!("overrides  {}", set.join(", "));
    }
    Ok(())
}

/// The autoscaler's lines of `ferry status NAME`.
pub fn print_status(status: &AutoscaleStatus) {
    let s = &status.scaling;
    outln!(
        "  scaling    desired {} / ready {} (min {}, max {}, concurrency {}, target {}%)",
        status.desired,
        status.ready,
        s.min,
        s.max,
        s.concurrency,
        s.target_utilization
    );
    outln!(
        "  load       in-flight {}, queued {}{}",
        status.in_flight,
        status.queued,
        if status.panicking { ", PANIC mode" } else { "" }
    );
    for decision in status.decisions.iter().take(5) {
        outln!(
            "  decision   {} {} → {} (stable {:.1}, panic {:.1}, capacity {:.0}, ready {}): {}",
            ago(decision.at),
            decision.previous,
            decision.desired,
            decision.stable_concurrency,
            decision.panic_concurrency,
            decision.capacity,
            decision.ready,
            decision.reason
        );
    }
}
