//! Services: describe, list, roll back, pause, resume, delete (deploys are
//! `deploys.rs`). Each change records an operation and wakes the reconcilers.

use super::{App, AppError};
pub use ferry_api::{
    Accepted, ConfigOverrides, DeployRequest, DeploySource, FollowOptions, ServiceDetail,
};
use ferry_api::{ServiceSnapshot, StatsSnapshot};
use ferry_store::ServiceRow;
use ferry_types::{
    Operation, OperationKind, Revision, RevisionStatus, Service, ServiceName, ServiceStatus,
};

pub(super) fn parse_name(name: &str) -> Result<ServiceName, AppError> {
    ServiceName::parse(name).map_err(|err| AppError::BadRequest(err.to_string()))
}

impl App {
    pub(crate) fn service_row(&self, name: &str) -> Result<ServiceRow, AppError> {
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
        let mut detail = ServiceDetail {
            service: self.service_view(&row)?,
            active_revision_number: active.as_ref().map(|r| r.number),
            static_root: active
                .as_ref()
                .and_then(|r| r.static_root())
                .map(str::to_string),
            config: active.map(|r| r.config),
            runtime: self.background.snapshot(&row.id).unwrap_or_default(),
            metrics: self
                .background
                .stats(&row.id)
                .map(|s| s.snapshot())
                .unwrap_or_default(),
            last_operation,
            tasks: self.background.tasks(&row.id),
            following: self
                .store
                .image_follow(&row.id)?
                .map(|f| ferry_api::Following {
                    has_credentials: f.username.is_some(),
                    image: f.image,
                    auto_deploy: f.auto_deploy,
                    poll_ms: f.poll_ms,
                    last_digest: f.acted_digest,
                }),
            autoscale: self.background.autoscale(&row.id),
            git: None,
            active_commit: None,
        };
        self.git_detail(&row, &mut detail)?;
        Ok(detail)
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
        if target.status == RevisionStatus::Pruned {
            return Err(AppError::Conflict(format!(
                "revision {} of {name} was pruned: the server keeps the newest ended revisions \
                 of each service (ferry server --keep-revisions) and removed its files and image",
                target.number
            )));
        }
        let never_served = match target.status {
            RevisionStatus::Failed => Some("failed to deploy"),
            RevisionStatus::Superseded => Some("was superseded before it served"),
            _ => None,
        };
        if let Some(why) = never_served {
            return Err(AppError::Conflict(format!(
                "revision {} of {name} {why}; pick one that served traffic",
                target.number
            )));
        }
        if row.paused {
            return Err(AppError::Conflict(format!(
                "{name} is paused; resume it first"
            )));
        }
        // Its domains may have gone to another service since it last served: the
        // store refuses the host claim and nothing is written.
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
        self.background.wake(&row.id);
        Ok(Accepted {
            service: self.service_view(&self.service_row(name)?)?,
            operation,
            revision: Some(target.clone()),
            warnings: Vec::new(),
        })
    }

    pub fn pause(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        let operation = self.store.pause_service(
            &row.id,
            "cancelled: the service was paused before this revision served",
        )?;
        self.background.wake(&row.id);
        self.accepted(name, operation)
    }

    pub fn resume(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        let operation = self.store.resume_service(&row.id)?;
        self.background.wake(&row.id);
        self.accepted(name, operation)
    }

    pub fn delete(&self, name: &str) -> Result<Accepted, AppError> {
        let row = self.service_row(name)?;
        let service = self.service_view(&row)?;
        let operation = self.store.delete_service_intent(&row.id)?;
        self.background.wake(&row.id);
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
        Ok(self.background.snapshot(&row.id).unwrap_or_default())
    }

    pub fn metrics(&self, name: &str) -> Result<StatsSnapshot, AppError> {
        let row = self.service_row(name)?;
        Ok(self
            .background
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
