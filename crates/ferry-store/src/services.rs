//! The `services` table: one row per service with its desired and active revision.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use crate::hosts::sync_hosts;
use crate::operations::insert_operation;
use ferry_types::{Operation, OperationKind, RevisionId, ServiceId, ServiceName, SourceKind};
use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

/// A service as stored. The API's `Service` (with its derived status) is built from it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRow {
    pub id: ServiceId,
    pub name: ServiceName,
    pub source_kind: SourceKind,
    pub active_revision: Option<RevisionId>,
    pub desired_revision: Option<RevisionId>,
    pub paused: bool,
    /// Set by `ferry delete`; the deployer stops everything, then removes the row.
    pub deleting: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewService {
    pub name: ServiceName,
    pub source_kind: SourceKind,
}

const COLUMNS: &str = "id, name, source_kind, active_revision, desired_revision, paused, deleting, created_at, updated_at";

fn source_kind_str(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Image => "image",
        SourceKind::Directory => "directory",
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<ServiceRow, StoreError>> {
    let name: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let created: String = row.get(7)?;
    let updated: String = row.get(8)?;
    let active: Option<String> = row.get(3)?;
    let desired: Option<String> = row.get(4)?;
    let id: String = row.get(0)?;
    let paused: bool = row.get(5)?;
    let deleting: bool = row.get(6)?;
    Ok((|| {
        Ok(ServiceRow {
            id: ServiceId::from_string(id),
            name: ServiceName::parse(&name).map_err(|err| StoreError::Corrupt {
                what: "service name",
                detail: err.to_string(),
            })?,
            source_kind: match kind.as_str() {
                "image" => SourceKind::Image,
                "directory" => SourceKind::Directory,
                other => {
                    return Err(StoreError::Corrupt {
                        what: "service source kind",
                        detail: other.to_string(),
                    })
                }
            },
            active_revision: active.map(RevisionId::from_string),
            desired_revision: desired.map(RevisionId::from_string),
            paused,
            deleting,
            created_at: parse_ts(&created)?,
            updated_at: parse_ts(&updated)?,
        })
    })())
}

impl Store {
    pub fn create_service(&self, new: &NewService) -> Result<ServiceRow, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let row = insert_service(&tx, new)?;
        tx.commit()?;
        Ok(row)
    }

    pub fn get_service(&self, id: &ServiceId) -> Result<Option<ServiceRow>, StoreError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM services WHERE id = ?1"),
            [id.as_str()],
            from_row,
        )
        .optional()?
        .transpose()
    }

    pub fn get_service_by_name(&self, name: &str) -> Result<Option<ServiceRow>, StoreError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM services WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?
        .transpose()
    }

    pub fn list_services(&self) -> Result<Vec<ServiceRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM services ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?;
        let mut services = Vec::new();
        for row in rows {
            services.push(row??);
        }
        Ok(services)
    }

    /// Points the deployer at a revision (`None` clears it).
    pub fn set_desired_revision(
        &self,
        id: &ServiceId,
        revision: Option<&RevisionId>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        update_service(
            &tx,
            id,
            "desired_revision = ?2",
            params![id.as_str(), revision.map(RevisionId::as_str)],
        )?;
        sync_hosts(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Moves the desired revision from `expected` to `new` only if nobody changed it
    /// meanwhile (a deploy that arrives during a failing rollout must win). Returns
    /// whether it changed.
    pub fn set_desired_revision_if(
        &self,
        id: &ServiceId,
        expected: &RevisionId,
        new: Option<&RevisionId>,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let changed = tx.execute(
            "UPDATE services SET desired_revision = ?3, updated_at = ?4 WHERE id = ?1 AND desired_revision = ?2",
            params![id.as_str(), expected.as_str(), new.map(RevisionId::as_str), ts(ferry_types::now())],
        )?;
        sync_hosts(&tx, id)?;
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Records which revision serves traffic, after the switch happened.
    pub fn set_active_revision(
        &self,
        id: &ServiceId,
        revision: Option<&RevisionId>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        update_service(
            &tx,
            id,
            "active_revision = ?2",
            params![id.as_str(), revision.map(RevisionId::as_str)],
        )?;
        sync_hosts(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// `ferry pause`, as one transaction: the flag and its operation are written
    /// together. A deployment still rolling out is abandoned (its revision is
    /// superseded with `reason`, desired goes back to the active revision), so resuming
    /// brings back what served.
    pub fn pause_service(&self, id: &ServiceId, reason: &str) -> Result<Operation, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let row = get_in(&tx, id)?;
        if row.deleting {
            return Err(StoreError::InvalidState(format!(
                "{} is being deleted",
                row.name
            )));
        }
        if row.paused {
            return Err(StoreError::InvalidState(format!(
                "{} is already paused",
                row.name
            )));
        }
        let Some(active) = &row.active_revision else {
            return Err(StoreError::InvalidState(format!(
                "{} has no running revision to pause",
                row.name
            )));
        };
        if let Some(desired) = row.desired_revision.as_ref().filter(|d| *d != active) {
            tx.execute(
                "UPDATE revisions SET status = 'SUPERSEDED', failure = ?2 WHERE id = ?1 AND status = 'PENDING'",
                params![desired.as_str(), reason],
            )?;
        }
        update_service(
            &tx,
            id,
            "paused = 1, desired_revision = active_revision",
            params![id.as_str()],
        )?;
        sync_hosts(&tx, id)?;
        let operation = insert_operation(
            &tx,
            id,
            row.name.as_str(),
            OperationKind::PauseService,
            None,
        )?;
        tx.commit()?;
        Ok(operation)
    }

    /// `ferry resume`, as one transaction.
    pub fn resume_service(&self, id: &ServiceId) -> Result<Operation, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let row = get_in(&tx, id)?;
        if row.deleting {
            return Err(StoreError::InvalidState(format!(
                "{} is being deleted",
                row.name
            )));
        }
        if !row.paused {
            return Err(StoreError::InvalidState(format!(
                "{} is not paused",
                row.name
            )));
        }
        update_service(&tx, id, "paused = 0", params![id.as_str()])?;
        let operation = insert_operation(
            &tx,
            id,
            row.name.as_str(),
            OperationKind::ResumeService,
            None,
        )?;
        tx.commit()?;
        Ok(operation)
    }

    /// `ferry delete`, as one transaction: the flag and its operation. The deployer
    /// then stops everything and removes the row.
    pub fn delete_service_intent(&self, id: &ServiceId) -> Result<Operation, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let row = get_in(&tx, id)?;
        if row.deleting {
            return Err(StoreError::InvalidState(format!(
                "{} is already being deleted",
                row.name
            )));
        }
        update_service(&tx, id, "deleting = 1", params![id.as_str()])?;
        let operation = insert_operation(
            &tx,
            id,
            row.name.as_str(),
            OperationKind::DeleteService,
            None,
        )?;
        tx.commit()?;
        Ok(operation)
    }

    /// Sets or clears the pause flag alone (tests and repairs; the API uses
    /// [`Store::pause_service`] and [`Store::resume_service`]).
    pub fn set_paused(&self, id: &ServiceId, paused: bool) -> Result<(), StoreError> {
        update_service(
            &self.conn(),
            id,
            "paused = ?2",
            params![id.as_str(), paused],
        )
    }

    /// Removes a service and its revisions (operations stay as history).
    pub fn delete_service(&self, id: &ServiceId) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute("DELETE FROM services WHERE id = ?1", [id.as_str()])?;
        Ok(())
    }
}

fn get_in(conn: &Connection, id: &ServiceId) -> Result<ServiceRow, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM services WHERE id = ?1"),
        [id.as_str()],
        from_row,
    )
    .optional()?
    .transpose()?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("service {id}"),
    })
}

fn update_service(
    conn: &Connection,
    id: &ServiceId,
    assignment: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let now = ts(ferry_types::now());
    let changed = conn.execute(
        &format!("UPDATE services SET {assignment}, updated_at = '{now}' WHERE id = ?1"),
        params,
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: format!("service {id}"),
        });
    }
    Ok(())
}

/// The id of the service called `name` when it is neither paused nor being deleted:
/// what a trigger may still deploy to, read inside its transaction.
pub(crate) fn live_service_id_in(
    conn: &Connection,
    name: &str,
) -> Result<Option<ServiceId>, StoreError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM services WHERE name = ?1 AND deleting = 0 AND paused = 0",
            [name],
            |row| row.get(0),
        )
        .optional()?;
    Ok(id.map(ServiceId::from_string))
}

/// The service ids a parameterless query selects (its first column).
pub(crate) fn service_ids_in(conn: &Connection, sql: &str) -> Result<Vec<ServiceId>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
    let mut ids = Vec::new();
    for id in rows {
        ids.push(ServiceId::from_string(id?));
    }
    Ok(ids)
}

pub(crate) fn insert_service(
    conn: &rusqlite::Connection,
    new: &NewService,
) -> Result<ServiceRow, StoreError> {
    let now = ferry_types::now();
    let id = ServiceId::generate();
    let inserted = conn.execute(
        "INSERT INTO services (id, name, source_kind, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id.as_str(), new.name.as_str(), source_kind_str(new.source_kind), ts(now)],
    );
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(StoreError::Conflict {
                what: format!("service {:?}", new.name.as_str()),
            })
        }
        Err(err) => return Err(err.into()),
    }
    sync_hosts(conn, &id)?;
    Ok(ServiceRow {
        id,
        name: new.name.clone(),
        source_kind: new.source_kind,
        active_revision: None,
        desired_revision: None,
        paused: false,
        deleting: false,
        created_at: now,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewService {
        NewService {
            name: ServiceName::parse(name).unwrap(),
            source_kind: SourceKind::Directory,
        }
    }

    #[test]
    fn create_get_list_update_delete() {
        let store = Store::open_in_memory().unwrap();
        let web = store.create_service(&new("web")).unwrap();
        store.create_service(&new("api")).unwrap();
        assert!(matches!(
            store.create_service(&new("web")),
            Err(StoreError::Conflict { .. })
        ));
        let names: Vec<String> = store
            .list_services()
            .unwrap()
            .into_iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, ["api", "web"]);
        let rev = RevisionId::generate();
        store.set_desired_revision(&web.id, Some(&rev)).unwrap();
        let other = RevisionId::generate();
        assert!(!store
            .set_desired_revision_if(&web.id, &other, None)
            .unwrap());
        assert!(store
            .set_desired_revision_if(&web.id, &rev, Some(&other))
            .unwrap());
        store.set_desired_revision(&web.id, Some(&rev)).unwrap();
        store.set_paused(&web.id, true).unwrap();
        let got = store.get_service_by_name("web").unwrap().unwrap();
        assert_eq!(got.desired_revision, Some(rev));
        assert!(got.paused);
        store.delete_service(&web.id).unwrap();
        assert!(store.get_service(&web.id).unwrap().is_none());
        assert!(matches!(
            store.set_paused(&web.id, false),
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[cfg(test)]
mod intent_tests {
    //! Each intent is one transaction: a failure on its second write leaves no trace
    //! of the first.

    use super::*;
    use crate::revisions::NewDeployment;
    use ferry_types::{OperationStatus, RevisionSource, RevisionStatus, ServiceConfig};

    fn deployed(store: &Store) -> (ServiceId, RevisionId) {
        let revision = RevisionId::generate();
        let (row, _, op) = store
            .create_deployment(&NewDeployment {
                service: &NewService {
                    name: ServiceName::parse("web").unwrap(),
                    source_kind: SourceKind::Image,
                },
                source: RevisionSource::Image {
                    image: "web:1".into(),
                    image_id: None,
                    from_tag: None,
                },
                config: ServiceConfig::default(),
                revision_id: revision.clone(),
                commit: None,
            })
            .unwrap();
        store.set_active_revision(&row.id, Some(&revision)).unwrap();
        store
            .set_operation_status(&op.id, OperationStatus::Succeeded, None)
            .unwrap();
        (row.id, revision)
    }

    /// Makes every later write to the `services` row fail, as a crash between the
    /// operation insert and the flag update would leave it.
    fn break_service_updates(store: &Store) {
        store
            .conn()
            .execute_batch(
                "CREATE TRIGGER crash BEFORE UPDATE ON services \
                 BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
            )
            .unwrap();
    }

    #[test]
    fn a_failed_flag_write_leaves_no_operation_behind() {
        let store = Store::open_in_memory().unwrap();
        let (id, _) = deployed(&store);
        break_service_updates(&store);
        assert!(store.pause_service(&id, "paused").is_err());
        assert!(store.delete_service_intent(&id).is_err());
        assert!(store.unfinished_operations(&id).unwrap().is_empty());
        let row = store.get_service(&id).unwrap().unwrap();
        assert!(!row.paused && !row.deleting);
    }

    #[test]
    fn intents_check_the_state_they_change() {
        let store = Store::open_in_memory().unwrap();
        let (id, _) = deployed(&store);
        assert!(matches!(
            store.resume_service(&id),
            Err(StoreError::InvalidState(m)) if m == "web is not paused"
        ));
        let pause = store.pause_service(&id, "paused").unwrap();
        assert_eq!(pause.kind, OperationKind::PauseService);
        assert!(store.get_service(&id).unwrap().unwrap().paused);
        assert!(store.pause_service(&id, "paused").is_err());
        store.resume_service(&id).unwrap();
        store.delete_service_intent(&id).unwrap();
        assert!(store.get_service(&id).unwrap().unwrap().deleting);
        assert!(store.pause_service(&id, "paused").is_err());
        assert_eq!(store.unfinished_operations(&id).unwrap().len(), 3);
    }

    #[test]
    fn pausing_abandons_a_deployment_in_progress() {
        let store = Store::open_in_memory().unwrap();
        let (id, active) = deployed(&store);
        let pending = RevisionId::generate();
        store
            .create_deployment(&NewDeployment {
                service: &NewService {
                    name: ServiceName::parse("web").unwrap(),
                    source_kind: SourceKind::Image,
                },
                source: RevisionSource::Image {
                    image: "web:2".into(),
                    image_id: None,
                    from_tag: None,
                },
                config: ServiceConfig::default(),
                revision_id: pending.clone(),
                commit: None,
            })
            .unwrap();
        store.pause_service(&id, "cancelled by pause").unwrap();
        let row = store.get_service(&id).unwrap().unwrap();
        assert_eq!(row.desired_revision, Some(active));
        let abandoned = store.get_revision(&pending).unwrap().unwrap();
        assert_eq!(abandoned.status, RevisionStatus::Superseded);
        assert_eq!(abandoned.failure.as_deref(), Some("cancelled by pause"));
    }
}
