//! The `revisions` table: immutable snapshots (source + config) numbered per service.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use crate::hosts::sync_hosts;
use crate::operations::insert_operation;
use crate::services::{insert_service, NewService, ServiceRow};
use ferry_types::{
    Operation, OperationKind, Revision, RevisionId, RevisionSource, RevisionStatus, ServiceConfig,
    ServiceId,
};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str =
    "id, service_id, number, source, config, status, failure, created_at, git_commit";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<Revision, StoreError>> {
    let id: String = row.get(0)?;
    let service_id: String = row.get(1)?;
    let number: u32 = row.get(2)?;
    let source: String = row.get(3)?;
    let config: String = row.get(4)?;
    let status: String = row.get(5)?;
    let failure: Option<String> = row.get(6)?;
    let created: String = row.get(7)?;
    let commit: Option<String> = row.get(8)?;
    Ok((|| {
        Ok(Revision {
            id: RevisionId::from_string(id),
            service_id: ServiceId::from_string(service_id),
            number,
            source: serde_json::from_str(&source).map_err(|err| StoreError::Corrupt {
                what: "revision source",
                detail: err.to_string(),
            })?,
            config: serde_json::from_str(&config).map_err(|err| StoreError::Corrupt {
                what: "revision config",
                detail: err.to_string(),
            })?,
            status: RevisionStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                what: "revision status",
                detail: status.clone(),
            })?,
            failure,
            created_at: parse_ts(&created)?,
            commit,
        })
    })())
}

/// What a deploy writes, all in one transaction so a crash never leaves a revision
/// without its operation or a service pointing at a missing revision.
pub struct NewDeployment<'a> {
    /// Created when the service does not exist yet.
    pub service: &'a NewService,
    pub source: RevisionSource,
    pub config: ServiceConfig,
    /// Pre-generated so the caller can put the revision's files in place first.
    pub revision_id: RevisionId,
    /// The git commit the files come from, for a git source.
    pub commit: Option<String>,
}

impl Store {
    /// Creates (if needed) the service, a new revision, its deploy operation, and points
    /// the service's desired revision at it.
    pub fn create_deployment(
        &self,
        new: &NewDeployment<'_>,
    ) -> Result<(ServiceRow, Revision, Operation), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let (service_id, revision, operation) = insert_deployment(&tx, new)?;
        tx.commit()?;
        drop(conn);
        self.deployed(service_id, revision, operation)
    }

    /// The service row after a deployment was written.
    pub(crate) fn deployed(
        &self,
        service_id: ServiceId,
        revision: Revision,
        operation: Operation,
    ) -> Result<(ServiceRow, Revision, Operation), StoreError> {
        let service = self
            .get_service(&service_id)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("service {service_id}"),
            })?;
        Ok((service, revision, operation))
    }

    pub fn get_revision(&self, id: &RevisionId) -> Result<Option<Revision>, StoreError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM revisions WHERE id = ?1"),
            [id.as_str()],
            from_row,
        )
        .optional()?
        .transpose()
    }

    pub fn get_revision_by_number(
        &self,
        service: &ServiceId,
        number: u32,
    ) -> Result<Option<Revision>, StoreError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM revisions WHERE service_id = ?1 AND number = ?2"),
            params![service.as_str(), number],
            from_row,
        )
        .optional()?
        .transpose()
    }

    /// Revisions of a service, newest first.
    pub fn list_revisions(&self, service: &ServiceId) -> Result<Vec<Revision>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM revisions WHERE service_id = ?1 ORDER BY number DESC"
        ))?;
        let rows = stmt.query_map([service.as_str()], from_row)?;
        let mut revisions = Vec::new();
        for row in rows {
            revisions.push(row??);
        }
        Ok(revisions)
    }

    /// The image of every image revision of every service that is not pruned (any
    /// other may be rolled back to while its service exists), for the registry's gc to
    /// pin.
    pub fn revision_images(&self) -> Result<Vec<(RevisionId, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, source FROM revisions WHERE status != 'PRUNED' ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut images = Vec::new();
        for row in rows {
            let (id, source) = row?;
            let source: RevisionSource =
                serde_json::from_str(&source).map_err(|err| StoreError::Corrupt {
                    what: "revision source",
                    detail: err.to_string(),
                })?;
            if let RevisionSource::Image { image, .. } = source {
                images.push((RevisionId::from_string(id), image));
            }
        }
        Ok(images)
    }

    /// The upload digests (`sha256:…`) that revisions still name, pruned ones aside: the
    /// archives the uploads sweep keeps.
    pub fn revision_upload_digests(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT source FROM revisions WHERE status != 'PRUNED' ORDER BY id")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        let mut digests = Vec::new();
        for row in rows {
            let source: RevisionSource =
                serde_json::from_str(&row?).map_err(|err| StoreError::Corrupt {
                    what: "revision source",
                    detail: err.to_string(),
                })?;
            if let RevisionSource::Directory { digest } = source {
                digests.push(digest);
            }
        }
        Ok(digests)
    }

    /// Services with more than `keep` revisions that retention may prune (ended ones:
    /// inactive, failed or superseded).
    pub fn services_over_retention(&self, keep: usize) -> Result<Vec<ServiceId>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT service_id FROM revisions \
             WHERE status IN ('INACTIVE', 'FAILED', 'SUPERSEDED') \
             GROUP BY service_id HAVING COUNT(*) > ?1 ORDER BY service_id",
        )?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let rows = stmt.query_map([keep], |row| row.get::<_, String>(0))?;
        let mut services = Vec::new();
        for row in rows {
            services.push(ServiceId::from_string(row?));
        }
        Ok(services)
    }

    /// Marks an ended revision PRUNED, in one statement that re-checks what retention
    /// decided from an earlier read: it must still be ended and be neither the
    /// service's active nor its desired revision (a rollback may have picked it since).
    /// Returns whether it was pruned; its files are the caller's to remove after.
    pub fn prune_revision(&self, id: &RevisionId) -> Result<bool, StoreError> {
        let conn = self.conn();
        let changed = conn.execute(
            "UPDATE revisions SET status = 'PRUNED' \
             WHERE id = ?1 AND status IN ('INACTIVE', 'FAILED', 'SUPERSEDED') \
             AND NOT EXISTS (SELECT 1 FROM services s WHERE s.id = revisions.service_id \
                 AND (s.active_revision = ?1 OR s.desired_revision = ?1))",
            [id.as_str()],
        )?;
        Ok(changed == 1)
    }

    pub fn set_revision_status(
        &self,
        id: &RevisionId,
        status: RevisionStatus,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE revisions SET status = ?2, failure = COALESCE(?3, failure) WHERE id = ?1",
            params![id.as_str(), status.as_str(), failure],
        )?;
        Ok(())
    }
}

/// Revisions that never got to serve are marked superseded when another becomes the
/// desired one, so none stays PENDING forever.
pub(crate) fn supersede_pending(
    conn: &rusqlite::Connection,
    service: &ServiceId,
    desired: &RevisionId,
    desired_number: u32,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE revisions SET status = 'SUPERSEDED', failure = ?3 \
         WHERE service_id = ?1 AND status = 'PENDING' AND id != ?2",
        params![
            service.as_str(),
            desired.as_str(),
            format!("superseded by revision {desired_number} before it served")
        ],
    )?;
    Ok(())
}

/// Where a revision stands with its gates and build (the build reconciler's state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildStatus {
    /// Not yet run (or interrupted by a restart: it runs again).
    Pending,
    Built,
    Failed,
    /// Superseded, paused or deleted while it ran.
    Cancelled,
}

impl BuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Built => "built",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Self::Pending,
            "built" => Self::Built,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

impl Store {
    pub fn revision_build(&self, id: &RevisionId) -> Result<Option<BuildStatus>, StoreError> {
        let conn = self.conn();
        let build: Option<String> = conn
            .query_row(
                "SELECT build FROM revisions WHERE id = ?1",
                [id.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        build
            .map(|b| {
                BuildStatus::parse(&b).ok_or_else(|| StoreError::Corrupt {
                    what: "revision build state",
                    detail: b.clone(),
                })
            })
            .transpose()
    }

    pub fn set_revision_build(
        &self,
        id: &RevisionId,
        build: BuildStatus,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE revisions SET build = ?2 WHERE id = ?1",
            params![id.as_str(), build.as_str()],
        )?;
        Ok(())
    }

    /// Records a successful build: the resolved source (an image pinned to its id) and
    /// the plan that ran, as JSON.
    pub fn set_revision_built(
        &self,
        id: &RevisionId,
        source: &RevisionSource,
        plan: Option<&str>,
    ) -> Result<(), StoreError> {
        let source = serde_json::to_string(source).map_err(|err| StoreError::Corrupt {
            what: "revision source",
            detail: err.to_string(),
        })?;
        self.conn().execute(
            "UPDATE revisions SET build = 'built', source = ?2, build_plan = ?3 WHERE id = ?1",
            params![id.as_str(), source, plan],
        )?;
        Ok(())
    }

    /// A revision that cannot serve: its status and reason, and (in the same
    /// transaction) the service's desired revision moved back to `fallback` if it still
    /// points at this one, so a deploy that arrived meanwhile wins.
    pub fn fail_revision(
        &self,
        service: &ServiceId,
        id: &RevisionId,
        build: BuildStatus,
        failure: &str,
        fallback: Option<&RevisionId>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE revisions SET build = ?2, \
             status = CASE WHEN status IN ('PENDING', 'ACTIVE', 'INACTIVE') THEN 'FAILED' ELSE status END, \
             failure = COALESCE(failure, ?3) WHERE id = ?1",
            params![id.as_str(), build.as_str(), failure],
        )?;
        tx.execute(
            "UPDATE services SET desired_revision = ?3, updated_at = ?4 WHERE id = ?1 AND desired_revision = ?2",
            params![service.as_str(), id.as_str(), fallback.map(RevisionId::as_str), ts(ferry_types::now())],
        )?;
        sync_hosts(&tx, service)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a revision that never served superseded, with why.
    pub fn set_revision_status_if_pending(
        &self,
        id: &RevisionId,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE revisions SET status = 'SUPERSEDED', failure = COALESCE(failure, ?2) \
             WHERE id = ?1 AND status = 'PENDING'",
            params![id.as_str(), reason],
        )?;
        Ok(())
    }

    /// Services whose desired revision waits for its build (not paused or deleting).
    pub fn services_awaiting_build(&self) -> Result<Vec<ServiceId>, StoreError> {
        crate::services::service_ids_in(
            &self.conn(),
            "SELECT s.id FROM services s JOIN revisions r ON r.id = s.desired_revision \
             WHERE r.build = 'pending' AND s.paused = 0 AND s.deleting = 0 ORDER BY s.id",
        )
    }
}

/// Creates (if needed) the service, a new revision and its deploy operation, points
/// the service's desired revision at it and supersedes older pending ones, inside the
/// caller's transaction.
pub(crate) fn insert_deployment(
    tx: &rusqlite::Connection,
    new: &NewDeployment<'_>,
) -> Result<(ServiceId, Revision, Operation), StoreError> {
    let existing = tx
        .query_row(
            "SELECT id FROM services WHERE name = ?1",
            [new.service.name.as_str()],
            |row| row.get::<_, String>(0),
        )
        .optional()?;
    let (service_id, kind) = match existing {
        Some(id) => (ServiceId::from_string(id), OperationKind::StartDeployment),
        None => (
            insert_service(tx, new.service)?.id,
            OperationKind::CreateService,
        ),
    };
    let number: u32 = tx.query_row(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM revisions WHERE service_id = ?1",
        [service_id.as_str()],
        |row| row.get(0),
    )?;
    let now = ferry_types::now();
    let revision = Revision {
        id: new.revision_id.clone(),
        service_id: service_id.clone(),
        number,
        source: new.source.clone(),
        config: new.config.clone(),
        status: RevisionStatus::Pending,
        failure: None,
        created_at: now,
        commit: new.commit.clone(),
    };
    insert_revision(tx, &revision)?;
    let operation = insert_operation(
        tx,
        &service_id,
        new.service.name.as_str(),
        kind,
        Some(&revision.id),
    )?;
    tx.execute(
        "UPDATE services SET desired_revision = ?2, updated_at = ?3 WHERE id = ?1",
        params![service_id.as_str(), revision.id.as_str(), ts(now)],
    )?;
    supersede_pending(tx, &service_id, &revision.id, revision.number)?;
    sync_hosts(tx, &service_id)?;
    Ok((service_id, revision, operation))
}

fn insert_revision(conn: &rusqlite::Connection, revision: &Revision) -> Result<(), StoreError> {
    let source = serde_json::to_string(&revision.source).map_err(|err| StoreError::Corrupt {
        what: "revision source",
        detail: err.to_string(),
    })?;
    let config = serde_json::to_string(&revision.config).map_err(|err| StoreError::Corrupt {
        what: "revision config",
        detail: err.to_string(),
    })?;
    conn.execute(
        &format!("INSERT INTO revisions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            revision.id.as_str(),
            revision.service_id.as_str(),
            revision.number,
            source,
            config,
            revision.status.as_str(),
            revision.failure,
            ts(revision.created_at),
            revision.commit,
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_types::{OperationStatus, ServiceName, SourceKind};

    #[test]
    fn deployments_number_revisions_and_create_the_service_once() {
        let store = Store::open_in_memory().unwrap();
        let service = NewService {
            name: ServiceName::parse("web").unwrap(),
            source_kind: SourceKind::Directory,
        };
        let deploy = |digest: &str| NewDeployment {
            service: &service,
            source: RevisionSource::Directory {
                digest: digest.to_string(),
            },
            config: ServiceConfig::default(),
            revision_id: RevisionId::generate(),
            commit: None,
        };
        let (svc, first, op1) = store.create_deployment(&deploy("a")).unwrap();
        let (svc2, second, op2) = store.create_deployment(&deploy("b")).unwrap();
        assert_eq!(svc.id, svc2.id);
        assert_eq!((first.number, second.number), (1, 2));
        assert_eq!(op1.kind, OperationKind::CreateService);
        assert_eq!(op2.kind, OperationKind::StartDeployment);
        assert_eq!(op2.status, OperationStatus::Pending);
        assert_eq!(svc2.desired_revision, Some(second.id.clone()));
        let listed: Vec<u32> = store
            .list_revisions(&svc.id)
            .unwrap()
            .iter()
            .map(|r| r.number)
            .collect();
        assert_eq!(listed, [2, 1]);
        store
            .set_revision_status(&first.id, RevisionStatus::Failed, Some("boom"))
            .unwrap();
        let got = store.get_revision_by_number(&svc.id, 1).unwrap().unwrap();
        assert_eq!(got.status, RevisionStatus::Failed);
        assert_eq!(got.failure.as_deref(), Some("boom"));
        assert_eq!(got.source, first.source);
    }

    #[test]
    fn pruning_spares_the_active_and_desired_revisions_and_blocks_rollbacks() {
        let store = Store::open_in_memory().unwrap();
        let service = NewService {
            name: ServiceName::parse("web").unwrap(),
            source_kind: SourceKind::Image,
        };
        let deploy = |n: u32| NewDeployment {
            service: &service,
            source: RevisionSource::Image {
                image: format!("web:{n}"),
                image_id: None,
                from_tag: None,
            },
            config: ServiceConfig::default(),
            revision_id: RevisionId::generate(),
            commit: None,
        };
        let mut revisions = Vec::new();
        for n in 1..=3 {
            let (svc, rev, _) = store.create_deployment(&deploy(n)).unwrap();
            revisions.push((svc.id, rev));
        }
        let svc = revisions[0].0.clone();
        let [first, second, third] = [0, 1, 2].map(|i| revisions[i].1.id.clone());
        store
            .set_revision_status(&first, RevisionStatus::Inactive, None)
            .unwrap();
        store
            .set_revision_status(&third, RevisionStatus::Active, None)
            .unwrap();
        store.set_active_revision(&svc, Some(&third)).unwrap();
        // Superseded by the third deploy; the second never served.
        assert_eq!(
            store.services_over_retention(1).unwrap(),
            std::slice::from_ref(&svc)
        );
        assert!(store.services_over_retention(2).unwrap().is_empty());

        // Active and desired: never pruned, whatever its status says.
        store
            .set_revision_status(&third, RevisionStatus::Inactive, None)
            .unwrap();
        assert!(!store.prune_revision(&third).unwrap());
        // Pending (not ended): not pruned either.
        store
            .set_revision_status(&second, RevisionStatus::Pending, None)
            .unwrap();
        assert!(!store.prune_revision(&second).unwrap());

        assert!(store.prune_revision(&first).unwrap());
        assert!(!store.prune_revision(&first).unwrap(), "already pruned");
        let pruned = store.get_revision(&first).unwrap().unwrap();
        assert_eq!(pruned.status, RevisionStatus::Pruned);
        let images: Vec<String> = store
            .revision_images()
            .unwrap()
            .into_iter()
            .map(|(_, image)| image)
            .collect();
        assert_eq!(images.len(), 2);
        assert!(!images.contains(&"web:1".to_string()), "{images:?}");
        let rollback =
            store.create_operation_with_desired(&svc, "web", OperationKind::Rollback, &first);
        assert!(
            matches!(&rollback, Err(StoreError::InvalidState(m)) if m.contains("pruned")),
            "{rollback:?}"
        );
        assert_eq!(
            store.get_service(&svc).unwrap().unwrap().desired_revision,
            Some(third)
        );
    }

    #[test]
    fn revision_images_lists_every_image_revision() {
        let store = Store::open_in_memory().unwrap();
        let service = |name: &str, kind| NewService {
            name: ServiceName::parse(name).unwrap(),
            source_kind: kind,
        };
        let web = service("web", SourceKind::Image);
        let app = service("app", SourceKind::Directory);
        let mut ids = Vec::new();
        for (svc, source) in [
            (
                &web,
                RevisionSource::Image {
                    image: "localhost:7070/shop/web:1".into(),
                    image_id: None,
                    from_tag: None,
                },
            ),
            (
                &app,
                RevisionSource::Directory {
                    digest: "sha256:ab".into(),
                },
            ),
            (
                &web,
                RevisionSource::Image {
                    image: "busybox:1".into(),
                    image_id: Some("sha256:cd".into()),
                    from_tag: None,
                },
            ),
        ] {
            let revision_id = RevisionId::generate();
            ids.push(revision_id.clone());
            store
                .create_deployment(&NewDeployment {
                    service: svc,
                    source,
                    config: ServiceConfig::default(),
                    revision_id,
                    commit: None,
                })
                .unwrap();
        }
        let mut images = store.revision_images().unwrap();
        images.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            images,
            [
                (ids[2].clone(), "busybox:1".to_string()),
                (ids[0].clone(), "localhost:7070/shop/web:1".to_string()),
            ]
        );
    }
}
