//! `ferry report`: the shared-responsibility view of a service — what ferry runs for
//! the user, and what the user owns, with the security reports of the active revision.

use super::{App, AppError};
pub use ferry_api::{Responsibility, ServiceReport};
use ferry_types::{HealthProtocol, RevisionSource};

impl App {
    pub fn report(&self, name: &str) -> Result<ServiceReport, AppError> {
        let row = self
            .store
            .get_service_by_name(name)?
            .filter(|row| !row.deleting)
            .ok_or_else(|| AppError::not_found(format!("service {name:?}")))?;
        let revision_id = row
            .active_revision
            .clone()
            .or(row.desired_revision.clone())
            .ok_or_else(|| AppError::Conflict(format!("{name} has no revision yet")))?;
        let revision = self
            .store
            .get_revision(&revision_id)?
            .ok_or_else(|| AppError::not_found(format!("revision {revision_id}")))?;
        let config = &revision.config;
        let hc = &config.health_check;
        let check = match hc.protocol {
            HealthProtocol::Tcp => "TCP".to_string(),
            HealthProtocol::Http => format!("HTTP GET {}", hc.path),
        };
        let (source, runtime, user) = match &revision.source {
            RevisionSource::Image {
            image, image_id, ..
        } => (
                format!("image {image} ({})", image_id.as_deref().unwrap_or("unresolved")),
                format!(
                    "Docker container with {} vCPU and {} MiB, published on loopback only, restarted with backoff when it fails",
                    config.instance.cpu, config.instance.memory_mib
                ),
                vec![
                    Responsibility { area: "OS packages".into(), detail: "the image's distribution packages and their known vulnerabilities".into() },
                    Responsibility { area: "language packages".into(), detail: "Python, Node, Go, Rust and Java dependencies inside the image".into() },
                    Responsibility { area: "build practices".into(), detail: "how the image was built (user, secrets, setuid files, cache hygiene)".into() },
                    Responsibility { area: "application code".into(), detail: "what the app does with requests".into() },
                ],
            ),
            RevisionSource::Directory { digest } => (
                format!("source upload {digest}"),
                "host process in its own process group and snapshot directory, restarted with backoff when it fails".to_string(),
                vec![
                    Responsibility { area: "dependencies".into(), detail: "the packages your lock files and vendored directories pin".into() },
                    Responsibility { area: "Dockerfile".into(), detail: "linted when the app has one".into() },
                    Responsibility { area: "application code".into(), detail: "what the app does with requests".into() },
                    Responsibility { area: "base".into(), detail: "ferry's choice: the host's own runtime (process runtime, no container image to scan yet)".into() },
                ],
            ),
        };
        let mut domains = vec![format!("{}.localhost:{}", row.name, self.router_port)];
        domains.extend(config.domains.iter().cloned());
        let platform = vec![
            Responsibility { area: "runtime".into(), detail: runtime },
            Responsibility {
                area: "routing".into(),
                detail: format!(
                    "{} through ferry's router, least outstanding requests, {} s request timeout, zero-downtime switches",
                    domains.join(", "),
                    config.request_timeout
                ),
            },
            Responsibility {
                area: "scaling".into(),
                detail: {
                    let s = self.store.scaling_overrides(&row.id)?.apply(&config.scaling);
                    let floor = if s.min == 0 {
                        format!(
                            "down to zero after {} s without requests (the next request is held while an instance starts)",
                            s.scale_to_zero_grace
                        )
                    } else {
                        format!("never below {} instance(s)", s.min)
                    };
                    format!(
                        "request-driven autoscaling (Knative's KPA): {floor}, at most {}; each instance \
                         takes at most {} requests at once (more wait in a queue of {}, {} s), and \
                         the autoscaler aims at {} % of that over a {} s window ({} s for bursts)",
                        s.max,
                        s.concurrency,
                        s.queue_size,
                        s.queue_timeout,
                        s.target_utilization,
                        s.stable_window,
                        s.panic_window
                    )
                },
            },
            Responsibility {
                area: "health".into(),
                detail: format!(
                    "{check} every {} s (timeout {} s, healthy after {}, replaced after {} failures)",
                    hc.interval, hc.timeout, hc.healthy_threshold, hc.unhealthy_threshold
                ),
            },
            Responsibility {
                area: "builds and checks".into(),
                detail: "build commands in a per-revision snapshot; Dockerfile lint and vulnerability matching before traffic moves".into(),
            },
        ];
        Ok(ServiceReport {
            service: row.name.to_string(),
            revision: Some(revision.number),
            source,
            platform,
            user,
            reports: self.store.reports(&revision.id)?,
        })
    }
}
