//! Health of each instance: one tracker for both the start-up wait and steady-state
//! upkeep (App Runner's thresholds), and the probes behind a trait so tests fake them.

use ferry_router::health::{ProbeError, ProbeProtocol, ProbeSpec};
use ferry_types::{HealthProtocol, ServiceConfig};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Probes one address. The real one is ferry-router's TCP/HTTP probe.
#[async_trait::async_trait]
pub trait Prober: Send + Sync {
    async fn probe(&self, addr: SocketAddr, spec: &ProbeSpec) -> Result<(), ProbeError>;
}

pub struct NetworkProber;

#[async_trait::async_trait]
impl Prober for NetworkProber {
    async fn probe(&self, addr: SocketAddr, spec: &ProbeSpec) -> Result<(), ProbeError> {
        ferry_router::health::probe(addr, spec).await
    }
}

/// Where an instance stands with its health checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Started, not yet passed `healthy_threshold` checks in a row.
    Starting,
    Ready,
    /// Exited, never became healthy in time, or failed `unhealthy_threshold` checks in a
    /// row. Terminal: the instance is replaced, never revived.
    Failed(String),
}

/// One instance's health-check history.
#[derive(Clone, Debug)]
pub struct HealthTracker {
    health: Health,
    successes: u32,
    failures: u32,
    started: Instant,
    ready_since: Option<Instant>,
    next_probe: Instant,
    last_error: Option<String>,
    /// The last probe could not be made (ferry out of sockets): logged once per spell.
    inconclusive: bool,
}

/// How an instance's probe came out, for [`HealthTracker::record`].
pub enum ProbeOutcome {
    Passed,
    Failed(String),
    /// Ferry itself could not probe (out of file descriptors or memory): says nothing
    /// about the instance and never counts against it.
    Inconclusive(String),
}

impl ProbeOutcome {
    pub fn from_result(result: Result<(), ProbeError>) -> Self {
        match result {
            Ok(()) => Self::Passed,
            Err(err) if err.is_inconclusive() => Self::Inconclusive(err.to_string()),
            Err(err) => Self::Failed(err.to_string()),
        }
    }
}

/// While ferry cannot probe, an instance is probed again this soon.
const INCONCLUSIVE_RETRY: Duration = Duration::from_millis(500);

impl HealthTracker {
    /// A just-started (or just-adopted) instance: probe at once.
    pub fn starting(now: Instant) -> Self {
        Self {
            health: Health::Starting,
            successes: 0,
            failures: 0,
            started: now,
            ready_since: None,
            next_probe: now,
            last_error: None,
            inconclusive: false,
        }
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    pub fn is_ready(&self) -> bool {
        self.health == Health::Ready
    }

    pub fn ready_since(&self) -> Option<Instant> {
        self.ready_since
    }

    pub fn next_probe(&self) -> Instant {
        self.next_probe
    }

    pub fn due(&self, now: Instant) -> bool {
        !matches!(self.health, Health::Failed(_)) && self.next_probe <= now
    }

    /// The process or container ended: the instance failed, whatever its checks said.
    pub fn exited(&mut self, reason: &str) {
        if matches!(self.health, Health::Failed(_)) {
            return;
        }
        self.health = Health::Failed(match self.health {
            Health::Starting => format!("{reason} before becoming healthy"),
            _ => reason.to_string(),
        });
    }

    /// Counts one probe and schedules the next: every `start_interval` while starting
    /// (a ready app goes live within a fraction of a second), every `interval` after.
    pub fn record(
        &mut self,
        outcome: ProbeOutcome,
        now: Instant,
        config: &ServiceConfig,
        start_interval: Duration,
    ) {
        let hc = &config.health_check;
        match (&outcome, self.inconclusive) {
            (ProbeOutcome::Inconclusive(err), false) => {
                tracing::warn!(error = %err, "health checks inconclusive: ferry is out of sockets; not counted against instances");
                self.inconclusive = true;
            }
            (ProbeOutcome::Passed | ProbeOutcome::Failed(_), true) => {
                tracing::info!("health checks conclusive again");
                self.inconclusive = false;
            }
            _ => {}
        }
        match &self.health {
            Health::Failed(_) => {}
            Health::Starting => {
                self.next_probe = now + start_interval;
                match outcome {
                    ProbeOutcome::Passed => {
                        self.successes += 1;
                        if self.successes >= hc.healthy_threshold.max(1) {
                            self.health = Health::Ready;
                            self.ready_since = Some(now);
                            self.failures = 0;
                            self.next_probe = now + Duration::from_secs(hc.interval.into());
                        }
                    }
                    ProbeOutcome::Failed(err) => {
                        self.successes = 0;
                        self.last_error = Some(err);
                    }
                    ProbeOutcome::Inconclusive(err) => {
                        // The start deadline waits while ferry cannot look.
                        self.started += start_interval;
                        self.last_error = Some(err);
                    }
                }
                if self.health == Health::Starting && now - self.started > start_deadline(config) {
                    self.health = Health::Failed(self.never_healthy(config));
                }
            }
            Health::Ready => {
                self.next_probe = now + Duration::from_secs(hc.interval.into());
                match outcome {
                    ProbeOutcome::Passed => self.failures = 0,
                    ProbeOutcome::Failed(err) => {
                        self.failures += 1;
                        if self.failures >= hc.unhealthy_threshold.max(1) {
                            self.health = Health::Failed(format!(
                                "failed {} health checks in a row: {err}",
                                self.failures
                            ));
                        }
                        self.last_error = Some(err);
                    }
                    ProbeOutcome::Inconclusive(_) => self.next_probe = now + INCONCLUSIVE_RETRY,
                }
            }
        }
    }

    fn never_healthy(&self, config: &ServiceConfig) -> String {
        let hc = &config.health_check;
        format!(
            "health check failed: no healthy instance within {}s ({} check on port {}: {})",
            start_deadline(config).as_secs(),
            match hc.protocol {
                HealthProtocol::Tcp => "TCP".to_string(),
                HealthProtocol::Http => format!("HTTP {}", hc.path),
            },
            config.run.port,
            self.last_error.as_deref().unwrap_or("no check passed"),
        )
    }
}

/// How long a new instance may take to pass its first health check: App Runner's
/// unhealthy threshold × interval, and never less than 5 s.
pub fn start_deadline(config: &ServiceConfig) -> Duration {
    let hc = &config.health_check;
    Duration::from_secs(u64::from(hc.interval * hc.unhealthy_threshold).max(5))
}

pub fn probe_spec(config: &ServiceConfig) -> ProbeSpec {
    ProbeSpec {
        protocol: match config.health_check.protocol {
            HealthProtocol::Tcp => ProbeProtocol::Tcp,
            HealthProtocol::Http => ProbeProtocol::Http,
        },
        path: config.health_check.path.clone(),
        timeout: Duration::from_secs(config.health_check.timeout.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(50);

    fn config(healthy: u32, unhealthy: u32) -> ServiceConfig {
        let mut config = ServiceConfig::default();
        config.health_check.healthy_threshold = healthy;
        config.health_check.unhealthy_threshold = unhealthy;
        config.health_check.interval = 1;
        config
    }

    fn fail() -> ProbeOutcome {
        ProbeOutcome::Failed("connection refused".into())
    }

    #[test]
    fn ready_after_the_healthy_threshold_then_failed_after_the_unhealthy_one() {
        let config = config(2, 3);
        let t0 = Instant::now();
        let mut h = HealthTracker::starting(t0);
        h.record(ProbeOutcome::Passed, t0, &config, FAST);
        assert_eq!(h.health(), &Health::Starting);
        h.record(fail(), t0, &config, FAST);
        h.record(ProbeOutcome::Passed, t0, &config, FAST);
        assert_eq!(h.health(), &Health::Starting, "successes must be in a row");
        h.record(ProbeOutcome::Passed, t0, &config, FAST);
        assert!(h.is_ready());
        assert_eq!(h.next_probe(), t0 + Duration::from_secs(1));
        h.record(fail(), t0, &config, FAST);
        h.record(fail(), t0, &config, FAST);
        h.record(ProbeOutcome::Passed, t0, &config, FAST);
        h.record(fail(), t0, &config, FAST);
        h.record(fail(), t0, &config, FAST);
        assert!(h.is_ready(), "failures must be in a row");
        h.record(fail(), t0, &config, FAST);
        assert!(
            matches!(h.health(), Health::Failed(r) if r.starts_with("failed 3 health checks in a row")),
            "{:?}",
            h.health()
        );
    }

    #[test]
    fn inconclusive_probes_never_count_against_an_instance() {
        let config = config(1, 1);
        let t0 = Instant::now();
        let mut h = HealthTracker::starting(t0);
        h.record(ProbeOutcome::Passed, t0, &config, FAST);
        for _ in 0..10 {
            h.record(
                ProbeOutcome::Inconclusive("EMFILE".into()),
                t0,
                &config,
                FAST,
            );
        }
        assert!(h.is_ready());
        let emfile = ProbeError::LocalResources(std::io::Error::from_raw_os_error(24));
        assert!(matches!(
            ProbeOutcome::from_result(Err(emfile)),
            ProbeOutcome::Inconclusive(_)
        ));
        assert!(matches!(
            ProbeOutcome::from_result(Err(ProbeError::ConnectionRefused)),
            ProbeOutcome::Failed(_)
        ));
    }

    #[test]
    fn a_starting_instance_fails_after_its_deadline_with_the_last_error() {
        let config = config(1, 5);
        let t0 = Instant::now();
        let mut h = HealthTracker::starting(t0);
        h.record(fail(), t0 + Duration::from_secs(4), &config, FAST);
        assert_eq!(h.health(), &Health::Starting);
        h.record(fail(), t0 + Duration::from_secs(6), &config, FAST);
        match h.health() {
            Health::Failed(reason) => {
                assert!(reason.contains("within 5s"), "{reason}");
                assert!(reason.contains("connection refused"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_exit_is_terminal_and_says_when_it_happened() {
        let t0 = Instant::now();
        let mut h = HealthTracker::starting(t0);
        h.exited("exited with code 1");
        assert_eq!(
            h.health(),
            &Health::Failed("exited with code 1 before becoming healthy".into())
        );
        h.record(ProbeOutcome::Passed, t0, &config(1, 1), FAST);
        assert!(!h.is_ready());
        assert!(!h.due(t0));
    }
}
