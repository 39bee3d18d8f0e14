//! The KPA on a simulated clock: one sample and one decision per simulated second.

use super::*;

fn config(min: u32, max: u32) -> KpaConfig {
    KpaConfig::from(&Scaling {
        min,
        max,
        concurrency: 10,
        target_utilization: 100,
        stable_window: 60,
        panic_window: 6,
        ..Scaling::default()
    })
}

/// Drives a `Kpa` like the reconciler, with `ready` following `desired` at once.
struct Sim {
    kpa: Kpa,
    now: u64,
    total: u64,
    config: KpaConfig,
    ready: u32,
}

impl Sim {
    fn new(config: KpaConfig, start: u32) -> Self {
        Self {
            kpa: Kpa::new(0, start),
            now: 0,
            total: 0,
            config,
            ready: start,
        }
    }

    /// `seconds` of constant load; returns the desired count after each second.
    fn run(&mut self, seconds: u64, load: u64) -> Vec<u32> {
        (0..seconds)
            .map(|_| {
                self.now += 1000;
                if load > 0 {
                    self.total += load;
                }
                self.kpa.observe(self.now, load, 0, self.total);
                self.kpa.decide(self.now, self.ready, &self.config);
                self.ready = self.kpa.desired();
                self.kpa.desired()
            })
            .collect()
    }
}

#[test]
fn steady_load_settles_at_load_over_target() {
    let mut sim = Sim::new(config(1, 25), 1);
    let counts = sim.run(120, 45);
    assert_eq!(*counts.last().unwrap(), 5, "45 in flight ÷ 10 per instance");
    // Once settled it stays: no change in the last minute.
    assert!(counts[60..].iter().all(|&c| c == 5), "{counts:?}");
}

#[test]
fn defaults_target_seventy_percent_of_concurrency() {
    let c = KpaConfig::from(&Scaling::default());
    assert!((c.target - 70.0).abs() < 1e-9);
    assert_eq!((c.stable_window_ms, c.panic_window_ms), (60_000, 6_000));
    assert!((c.panic_threshold - 2.0).abs() < 1e-9);
}

#[test]
fn step_up_panics_and_scales_within_the_panic_window() {
    let mut sim = Sim::new(config(1, 25), 1);
    sim.run(60, 5);
    assert_eq!(sim.kpa.desired(), 1);
    // 200 in flight against 1 × 10: far past 200 % of capacity.
    let counts = sim.run(6, 200);
    assert!(sim.kpa.panicking());
    assert!(
        counts[0] > 1,
        "the first second of the burst scales out: {counts:?}"
    );
    // Six seconds in, the panic window holds only the burst: 200 ÷ 10.
    assert_eq!(*counts.last().unwrap(), 20);
    let decision = sim.kpa.history().next().unwrap();
    assert!(
        decision.panicking && decision.reason.starts_with("panic"),
        "{decision:?}"
    );
}

#[test]
fn no_scale_down_while_panicking_then_down_after_a_stable_window() {
    let mut sim = Sim::new(config(1, 25), 1);
    sim.run(10, 200);
    let peak = sim.kpa.desired();
    assert_eq!(peak, 20);
    // Load drops: still panicking for a stable window after the last burst.
    let during = sim.run(45, 10);
    assert!(sim.kpa.panicking());
    assert!(during.iter().all(|&c| c == peak), "{during:?}");
    let after = sim.run(130, 10);
    assert!(!sim.kpa.panicking());
    assert_eq!(*after.last().unwrap(), 1);
}

#[test]
fn step_down_follows_the_stable_window_and_the_scale_down_rate() {
    let mut cfg = config(1, 25);
    cfg.panic_threshold = 1000.0; // no panic: watch the stable path alone
    let mut sim = Sim::new(cfg, 1);
    sim.run(120, 160);
    assert_eq!(sim.kpa.desired(), 16);
    let counts = sim.run(120, 0);
    // Never more than halved in one decision (max_scale_down_rate 2).
    for pair in counts.windows(2) {
        assert!(pair[1] * 2 >= pair[0], "{counts:?}");
    }
    // The stable window still holds load for a while: no instant drop.
    assert!(counts[0] >= 8, "{counts:?}");
    assert_eq!(*counts.last().unwrap(), 1, "min 1");
}

#[test]
fn oscillating_load_does_not_flap() {
    let mut cfg = config(1, 25);
    cfg.scale_down_delay_ms = 30_000;
    let mut sim = Sim::new(cfg, 1);
    let mut counts = Vec::new();
    for _ in 0..20 {
        counts.extend(sim.run(5, 60));
        counts.extend(sim.run(5, 20));
    }
    let tail = &counts[100..];
    let changes = tail.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes <= 2, "flapping: {tail:?}");
    assert!(tail.iter().all(|&c| c >= 4), "{tail:?}");
}

#[test]
fn bounds_clamp_every_decision() {
    let mut sim = Sim::new(config(2, 4), 2);
    assert_eq!(*sim.run(30, 500).last().unwrap(), 4);
    let decision = sim.kpa.history().next().unwrap();
    assert!(
        decision.reason.contains("bounded to [2, 4]"),
        "{decision:?}"
    );
    assert_eq!(*sim.run(200, 0).last().unwrap(), 2);
}

#[test]
fn scale_up_rate_limits_one_decision() {
    let mut cfg = config(1, 25);
    cfg.max_scale_up_rate = 2.0;
    let mut sim = Sim::new(cfg, 1);
    let counts = sim.run(4, 1000);
    assert_eq!(counts[..4], [2, 4, 8, 16]);
    assert!(sim
        .kpa
        .history()
        .next()
        .unwrap()
        .reason
        .contains("max_scale_up_rate"));
}

#[test]
fn scale_down_delay_holds_the_highest_recent_count() {
    let mut cfg = config(1, 25);
    cfg.panic_threshold = 1000.0;
    cfg.stable_window_ms = 6_000;
    cfg.panic_window_ms = 1_000;
    cfg.scale_down_delay_ms = 20_000;
    let mut sim = Sim::new(cfg, 1);
    sim.run(10, 80);
    assert_eq!(sim.kpa.desired(), 8);
    let counts = sim.run(80, 0);
    assert!(counts[..19].iter().all(|&c| c == 8), "{counts:?}");
    assert_eq!(*counts.last().unwrap(), 1);
}

#[test]
fn scale_to_zero_only_after_the_grace_and_with_min_zero() {
    let mut cfg = config(0, 5);
    cfg.stable_window_ms = 6_000;
    cfg.panic_window_ms = 1_000;
    cfg.zero_grace_ms = 10_000;
    let mut sim = Sim::new(cfg.clone(), 1);
    sim.run(5, 5);
    let counts = sim.run(30, 0);
    let first_zero = counts.iter().position(|&c| c == 0).expect("reaches zero");
    assert!(first_zero >= 9, "not before the grace: {counts:?}");
    assert!(counts[first_zero..].iter().all(|&c| c == 0), "{counts:?}");
    assert!(sim
        .kpa
        .history()
        .next()
        .unwrap()
        .reason
        .contains("scale_to_zero_grace"));

    // min 1: never zero.
    let mut sim = Sim::new(config(1, 5), 1);
    assert!(sim.run(300, 0).iter().all(|&c| c == 1));
}

#[test]
fn demand_at_zero_asks_for_one_at_once_then_load_decides() {
    let mut cfg = config(0, 5);
    cfg.zero_grace_ms = 5_000;
    let mut sim = Sim::new(cfg.clone(), 0);
    sim.run(10, 0);
    assert_eq!(sim.kpa.desired(), 0);
    let decision = sim
        .kpa
        .demand(sim.now, 0, &cfg)
        .cloned()
        .expect("a decision");
    assert_eq!((decision.previous, decision.desired), (0, 1));
    assert!(sim.kpa.demand(sim.now, 0, &cfg).is_none(), "already waking");
    // Held requests show as queued: the count stays up while they wait.
    sim.now += 1000;
    sim.kpa.observe(sim.now, 0, 3, 0);
    sim.kpa.decide(sim.now, 0, &cfg);
    assert_eq!(sim.kpa.desired(), 1);
}

#[test]
fn history_is_bounded_and_newest_first() {
    let mut sim = Sim::new(config(1, 25), 1);
    for i in 0..30 {
        sim.run(1, if i % 2 == 0 { 250 } else { 0 });
    }
    let history: Vec<&Decision> = sim.kpa.history().collect();
    assert!(history.len() <= HISTORY);
    assert!(history.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
}

#[test]
fn resume_keeps_the_count_and_restarts_the_idle_clock() {
    let mut cfg = config(0, 5);
    cfg.stable_window_ms = 6_000;
    cfg.panic_window_ms = 1_000;
    cfg.zero_grace_ms = 10_000;
    let mut sim = Sim::new(cfg, 1);
    sim.run(20, 30);
    assert_eq!(sim.kpa.desired(), 3);
    // Paused for an hour: no samples, no decisions.
    sim.now += 3_600_000;
    sim.kpa.resumed(sim.now);
    assert_eq!(sim.kpa.desired(), 3, "resume restores the count");
    let counts = sim.run(30, 0);
    assert!(
        counts[..5].iter().all(|&c| c == 3),
        "held for a stable window: {counts:?}"
    );
    let first_zero = counts.iter().position(|&c| c == 0).expect("reaches zero");
    assert!(
        first_zero >= 9,
        "the grace counts from the resume: {counts:?}"
    );
}
