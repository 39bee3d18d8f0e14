//! Services: deploy (creating on first deploy), describe, list, roll back, pause,
//! resume, delete. Each change records an operation and wakes the deployer.

use super::{App, AppError};
use crate::background::deploy::ServiceSnapshot;
use ferry_router::StatsSnapshot;
use ferry_runtime::RuntimeError;
use ferry_store::{NewDeployment, NewService, ServiceRow};
use ferry_types::{
    config::ConfigError, HealthProtocol, Operation, OperationKind, Revision, RevisionId,
    RevisionSource, RevisionStatus, Service, ServiceConfig, ServiceName, ServiceStatus, SourceKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to deploy.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploySource {
    /// An uploaded source archive (`sha256:…` from `POST /api/v1/uploads`).
    Upload(String),
    /// An image in the local Docker Engine.
    Image(String),
}

/// Settings given on the command line; they win over the config file.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigOverrides {
    pub command: Option<String>,
    pub port: Option<u16>,
    /// Merged over the file's `[run] env`.
    pub env: BTreeMap<String, String>,
    pub cpu: Option<f64>,
    pub memory_mib: Option<u32>,
    pub min_instances: Option<u32>,
    pub max_instances: Option<u32>,
    /// Switches the health check to HTTP on this path.
    pub health_check_path: Option<String>,
    pub request_timeout: Option<u32>,
    pub domains: Option<Vec<String>>,
    /// `[security] fail_on`: vulnerability severity that blocks the deploy.
    pub fail_on: Option<String>,
    /// `[security] lint_fail_on`: Dockerfile lint severity that blocks the deploy.
    pub lint_fail_on: Option<String>,
    pub ignore_unfixed: Option<bool>,
    /// Vulnerability ids accepted for this deploy (added to `[security] ignore`).
    pub ignore_vulnerabilities: Vec<String>,
    /// `[security] image_lint_blocks`: image-lint FATAL findings refuse the deploy.
    pub image_lint_blocks: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DeployRequest {
    pub source: DeploySource,
    #[serde(default)]
    pub overrides: ConfigOverrides,
}

/// The answer to a change: the operation to follow.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    pub service: Service,
    pub operation: Operation,
    pub revision: Option<Revision>,
    /// Notes for the user (e.g. config keys accepted but not acted on).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A service with its running side, for `ferry status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub service: Service,
    pub active_revision_number: Option<u32>,
    pub config: Option<ServiceConfig>,
    pub runtime: ServiceSnapshot,
    pub metrics: StatsSnapshot,
    pub last_operation: Option<Operation>,
}

impl ConfigOverrides {
    fn apply(&self, config: &mut ServiceConfig) {
        if let Some(command) = &self.command {
            config.run.command = Some(command.clone());
        }
        if let Some(port) = self.port {
            config.run.port = port;
        }
        config
            .run
            .env
            .extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(cpu) = self.cpu {
            config.instance.cpu = cpu;
        }
        if let Some(memory) = self.memory_mib {
            config.instance.memory_mib = memory;
        }
        if let Some(min) = self.min_instances {
            config.scaling.min = min;
        }
        if let Some(max) = self.max_instances {
            config.scaling.max = max;
        }
        if let Some(path) = &self.health_check_path {
            config.health_check.protocol = HealthProtocol::Http;
            config.health_check.path = path.clone();
        }
        if let Some(timeout) = self.request_timeout {
            config.request_timeout = timeout;
        }
        if let Some(domains) = &self.domains {
            config.domains = domains.clone();
        }
        if let Some(fail_on) = &self.fail_on {
            config.security.fail_on = Some(fail_on.clone());
        }
        if let Some(lint_fail_on) = &self.lint_fail_on {
            config.security.lint_fail_on = Some(lint_fail_on.clone());
        }
        if let Some(ignore_unfixed) = self.ignore_unfixed {
            config.security.ignore_unfixed = ignore_unfixed;
        }
        config
            .security
            .ignore
            .extend(self.ignore_vulnerabilities.iter().cloned());
        if let Some(blocks) = self.image_lint_blocks {
            config.security.image_lint_blocks = blocks;
        }
    }
}

fn parse_name(name: &str) -> Result<ServiceName, AppError> {
    ServiceName::parse(name).map_err(|err| AppError::BadRequest(err.to_string()))
}

impl App {
    fn service_row(&self, name: &str) -> Result<ServiceRow, AppError> {
        self.store
            .get_service_by_name(name)?
            .filter(|row| !row.deleting)
            .ok_or_else(|| AppError::not_found(format!("service {name:?}")))
    }

    /// The API view of a stored service (status derived, never stored).
    pub fn service_view(&self, row: &ServiceRow) -> Result<Service, AppError> {
        let busy = !self.store.unfinished_operations(&row.id)?.is_empty();
        let status = if busy {
            ServiceStatus::OperationInProgress
        } else if row.paused {
            ServiceStatus::Paused
        } else if row.active_revision.is_none() {
            ServiceStatus::CreateFailed
        } else {
            ServiceStatus::Running
        };
        let domains = match &row.active_revision {
            Some(id) => self
                .store
                .get_revision(id)?
                .map(|r| r.config.domains)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(Service {
            id: row.id.clone(),
            name: row.name.clone(),
            source_kind: row.source_kind,
            status,
            active_revision: row.active_revision.clone(),
            desired_revision: row.desired_revision.clone(),
            paused: row.paused,
            url: format!("http://{}.localhost:{}", row.name, self.router_port),
            domains,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    pub fn list_services(&self) -> Result<Vec<Service>, AppError> {
        self.store
            .list_services()?
            .iter()
            .filter(|row| !row.deleting)
            .map(|row| self.service_view(row))
            .collect()
    }

    pub fn describe_service(&self, name: &str) -> Result<ServiceDetail, AppError> {
        let row = self.service_row(name)?;
        let active = match &row.active_revision {
            Some(id) => self.store.get_revision(id)?,
            None => None,
        };
        let last_operation = self
            .store
            .list_operations(Some(&row.id), 1)?
            .into_iter()
            .next();
        Ok(ServiceDetail {
            service: self.service_view(&row)?,
            active_revision_number: active.as_ref().map(|r| r.number),
            config: active.map(|r| r.config),
            runtime: self.deployer.snapshot(&row.id).unwrap_or_default(),
            metrics: self
                .deployer
                .stats(&row.id)
                .map(|s| s.snapshot())
                .unwrap_or_default(),
            last_operation,
        })
    }

    /// Deploys a new revision, creating the service on its first deploy.
    pub async fn deploy(&self, name: &str, request: DeployRequest) -> Result<Accepted, AppError> {
        let name = parse_name(name)?;
        let existing = self.store.get_service_by_name(name.as_str())?;
        if existing.as_ref().is_some_and(|row| row.deleting) {
            return Err(AppError::Conflict(format!(
                "service {name} is being deleted; try again when it is gone"
            )));
        }
        if existing.as_ref().is_some_and(|row| row.paused) {
            return Err(AppError::Conflict(format!(
                "service {name} is paused; `ferry resume {name}` first, then deploy"
            )));
        }
        let revision_id = RevisionId::generate();
        let (kind, source, config, warnings) = match &request.source {
            DeploySource::Upload(digest) => {
                let dir = self.data.revision_dir(&revision_id);
                self.unpack_upload(digest, &dir).await?;
                match self.source_config(&dir, &request.overrides) {
                    Ok((config, warnings)) => (
                        SourceKind::Directory,
                        RevisionSource::Directory {
                            digest: digest.clone(),
                        },
                        config,
                        warnings,
                    ),
                    Err(err) => {
                        let _ = std::fs::remove_dir_all(&dir);
                        return Err(err);
                    }
                }
            }
            DeploySource::Image(image) => {
                let (source, config) = self.image_config(image, &request.overrides).await?;
                (SourceKind::Image, source, config, Vec::new())
            }
        };
        if let Some(row) = &existing {
            if row.source_kind != kind {
                let _ = std::fs::remove_dir_all(self.data.revision_dir(&revision_id));
                return Err(AppError::Conflict(format!(
                    "service {name} deploys from {}; delete it first to deploy from {}",
                    kind_name(row.source_kind),
                    kind_name(kind)
                )));
            }
        }
        // Refused now, with the reason, rather than failing the rollout.
        if let Ok(runtime) = self.runtimes.for_source(kind) {
            if let Err(reason) =
                runtime.check_limits(config.instance.cpu, config.instance.memory_mib)
            {
                let _ = std::fs::remove_dir_all(self.data.revision_dir(&revision_id));
                return Err(AppError::InvalidConfig(reason));
            }
        }
        if let Err(err) = self.check_domains(&name, &config) {
            let _ = std::fs::remove_dir_all(self.data.revision_dir(&revision_id));
            return Err(err);
        }
        let created = self.store.create_deployment(&NewDeployment {
            service: &NewService {
                name: name.clone(),
                source_kind: kind,
            },
            source,
            config,
            revision_id: revision_id.clone(),
        });
        let (row, revision, operation) = match created {
            Ok(created) => created,
            Err(err) => {
                let _ = std::fs::remove_dir_all(self.data.revision_dir(&revision_id));
                return Err(err.into());
            }
        };
        self.store.add_operation_event(
            &operation.id,
            ferry_types::EventLevel::Info,
            &format!("Revision {} created", revision.number),
        )?;
        self.deployer.wake(&row.id);
        Ok(Accepted {
            service: self.service_view(&row)?,
            operation,
            revision: Some(revision),
            warnings,
        })
    }

    /// Refuses hosts another service already answers on: its `<name>.localhost` or a
    /// custom domain of its serving or pending revision. Without this the router would
    /// silently send the host to whichever service it met first.
    fn check_domains(&self, name: &ServiceName, config: &ServiceConfig) -> Result<(), AppError> {
        let own_host = format!("{name}.localhost");
        for other in self.store.list_services()? {
            if other.name == *name {
                continue;
            }
            let mut other_domains = Vec::new();
            let revisions = [&other.active_revision, &other.desired_revision];
            for id in revisions.into_iter().flatten() {
                if let Some(revision) = self.store.get_revision(id)? {
                    other_domains.extend(revision.config.domains);
                }
            }
            let other_host = format!("{}.localhost", other.name);
            let taken = |host: &str| {
                host.eq_ignore_ascii_case(&other_host)
                    || other_domains.iter().any(|d| d.eq_ignore_ascii_case(host))
            };
            if let Some(domain) = config.domains.iter().find(|d| taken(d)) {
                return Err(AppError::Conflict(format!(
                    "domain {domain} is already routed to service {}; remove it there first",
                    other.name
                )));
            }
            if other_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&own_host))
            {
                return Err(AppError::Conflict(format!(
                    "service {} routes {own_host} as a custom domain; pick another name \
                     or remove that domain there first",
                    other.name
                )));
            }
        }
        Ok(())
    }

    fn source_config(
        &self,
        dir: &std::path::Path,
        overrides: &ConfigOverrides,
    ) -> Result<(ServiceConfig, Vec<String>), AppError> {
        let loaded = ferry_types::config::load_dir(dir).map_err(|err| match err {
            // The unpacked path means nothing to the user: name the file only.
            ConfigError::NotFound { .. } => AppError::InvalidConfig(
                ConfigError::NotFound {
                    dir: std::path::PathBuf::from("."),
                }
                .to_string(),
            ),
            other => AppError::InvalidConfig(strip_prefix(&other.to_string(), dir)),
        })?;
        let mut config = loaded.config;
        overrides.apply(&mut config);
        validate(&config)?;
        if config.run.command.is_none() {
            let file = loaded
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(AppError::InvalidConfig(format!(
                "{file}: no start command: add `command = \"...\"` under [run] (or `run.command` in apprunner.yaml)"
            )));
        }
        Ok((config, loaded.warnings))
    }

    async fn image_config(
        &self,
        image: &str,
        overrides: &ConfigOverrides,
    ) -> Result<(RevisionSource, ServiceConfig), AppError> {
        if image.trim().is_empty() {
            return Err(AppError::BadRequest("image reference is empty".into()));
        }
        // A malformed reference is the client's mistake, whatever runtime is there.
        ferry_scan::image::Reference::parse(image).map_err(AppError::BadRequest)?;
        let runtime = self
            .runtimes
            .for_source(SourceKind::Image)
            .map_err(|err| AppError::RuntimeUnavailable(err.to_string()))?;
        let (image_id, exposed) = match runtime.resolve_image(image).await {
            Ok(resolved) => (Some(resolved.id), resolved.exposed_port),
            // Recorded anyway: the operation fails with the reason and the previous
            // revision keeps serving, as for any failed deploy.
            Err(RuntimeError::ImageNotFound { .. }) => (None, None),
            Err(err @ RuntimeError::InvalidSpec(_)) => {
                return Err(AppError::BadRequest(err.to_string()))
            }
            Err(err) => return Err(AppError::RuntimeUnavailable(err.to_string())),
        };
        let mut config = ServiceConfig::default();
        if let Some(port) = exposed {
            config.run.port = port;
        }
        overrides.apply(&mut config);
        validate(&config)?;
        Ok((
            RevisionSource::Image {
                image: image.to_string(),
                image_id,
            },
            config,
        ))
    }

    pub fn list_revisions(&self, name: &str) -> Result<Vec<Revision>, AppError> {
        let row = self.service_row(name)?;
        Ok(self.store.list_revisions(&row.id)?)
    }

    pub fn get_revision(&self, name: &str, number: u32) -> Result<Revision, AppError> {
        let row = self.service_row(name)?;
        self.store
            .get_revision_by_number(&row.id, number)?
            .ok_or_else(|| AppError::not_found(format!("revision {number} of {name}")))
    }

    /// Re-activates an earlier revision (default: the one before the active one).
    pub fn rollback(&self, name: &str, number: Option<u32>) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        let revisions = self.store.list_revisions(&row.id)?;
        let active_number = revisions
            .iter()
            .find(|r| Some(&r.id) == row.active_revision.as_ref())
            .map(|r| r.number);
        let target = match number {
            Some(number) => revisions
                .iter()
                .find(|r| r.number == number)
                .ok_or_else(|| AppError::not_found(format!("revision {number} of {name}")))?,
            None => revisions
                .iter()
                .find(|r| {
                    r.status == RevisionStatus::Inactive
                        && active_number.is_none_or(|active| r.number < active)
                })
                .ok_or_else(|| {
                    AppError::Conflict(format!(
                        "{name} has no earlier revision that served traffic to roll back to"
                    ))
                })?,
        };
        if target.status == RevisionStatus::Failed {
            return Err(AppError::Conflict(format!(
                "revision {} of {name} failed to deploy; pick one that served traffic",
                target.number
            )));
        }
        if row.paused {
            return Err(AppError::Conflict(format!(
                "{name} is paused; resume it first"
            )));
        }
        // Its domains may have gone to another service since it last served.
        self.check_domains(&row.name, &target.config)?;
        let operation = self.store.create_operation_with_desired(
            &row.id,
            row.name.as_str(),
            OperationKind::Rollback,
            &target.id,
        )?;
        self.store.add_operation_event(
            &operation.id,
            ferry_types::EventLevel::Info,
            &format!("Rolling back to revision {}", target.number),
        )?;
        self.deployer.wake(&row.id);
        Ok(Accepted {
            service: self.service_view(&self.service_row(name)?)?,
            operation,
            revision: Some(target.clone()),
            warnings: Vec::new(),
        })
    }

    pub fn pause(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        if row.paused {
            return Err(AppError::Conflict(format!("{name} is already paused")));
        }
        if row.active_revision.is_none() {
            return Err(AppError::Conflict(format!(
                "{name} has no running revision to pause"
            )));
        }
        let operation = self.store.create_operation(
            &row.id,
            row.name.as_str(),
            OperationKind::PauseService,
            None,
        )?;
        self.store.set_paused(&row.id, true)?;
        self.deployer.wake(&row.id);
        self.accepted(name, operation)
    }

    pub fn resume(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        if !row.paused {
            return Err(AppError::Conflict(format!("{name} is not paused")));
        }
        let operation = self.store.create_operation(
            &row.id,
            row.name.as_str(),
            OperationKind::ResumeService,
            None,
        )?;
        self.store.set_paused(&row.id, false)?;
        self.deployer.wake(&row.id);
        self.accepted(name, operation)
    }

    pub fn delete(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        let operation = self.store.create_operation(
            &row.id,
            row.name.as_str(),
            OperationKind::DeleteService,
            None,
        )?;
        let service = self.service_view(&row)?;
        self.store.set_deleting(&row.id)?;
        self.deployer.wake(&row.id);
        Ok(Accepted {
            service,
            operation,
            revision: None,
            warnings: Vec::new(),
        })
    }

    fn accepted(&self, name: &str, operation: Operation) -> Result<Accepted, AppError> {
        Ok(Accepted {
            service: self.service_view(&self.service_row(name)?)?,
            operation,
            revision: None,
            warnings: Vec::new(),
        })
    }

    pub fn instances(&self, name: &str) -> Result<ServiceSnapshot, AppError> {
        let row = self.service_row(name)?;
        Ok(self.deployer.snapshot(&row.id).unwrap_or_default())
    }

    pub fn metrics(&self, name: &str) -> Result<StatsSnapshot, AppError> {
        let row = self.service_row(name)?;
        Ok(self
            .deployer
            .stats(&row.id)
            .map(|s| s.snapshot())
            .unwrap_or_default())
    }

    /// Log directory of a service (which must exist as a service).
    pub fn log_dir(&self, name: &str) -> Result<std::path::PathBuf, AppError> {
        let row = self.service_row(name)?;
        Ok(self.data.service_logs(row.name.as_str()))
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Image => "an image",
        SourceKind::Directory => "a source directory",
    }
}

fn validate(config: &ServiceConfig) -> Result<(), AppError> {
    crate::background::gates::validate_policy(&config.security).map_err(AppError::InvalidConfig)?;
    let problems = config.validate();
    if problems.is_empty() {
        return Ok(());
    }
    Err(AppError::InvalidConfig(
        problems
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}

/// Config errors name the unpacked file; show the path relative to the app instead.
fn strip_prefix(message: &str, dir: &std::path::Path) -> String {
    let prefix = format!("{}/", dir.display());
    message.replace(&prefix, "")
}
