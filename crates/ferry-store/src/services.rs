//! The `services` table: one row per service with its desired and active revision.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use ferry_types::{RevisionId, ServiceId, ServiceName, SourceKind};
use rusqlite::{params, OptionalExtension, Row};
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
        self.update_service(
            id,
            "desired_revision = ?2",
            params![id.as_str(), revision.map(RevisionId::as_str)],
        )
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
        let changed = conn.execute(
            "UPDATE services SET desired_revision = ?3, updated_at = ?4 WHERE id = ?1 AND desired_revision = ?2",
            params![id.as_str(), expected.as_str(), new.map(RevisionId::as_str), ts(ferry_types::now())],
        )?;
        Ok(changed == 1)
    }

    /// Records which revision serves traffic, after the switch happened.
    pub fn set_active_revision(
        &self,
        id: &ServiceId,
        revision: Option<&RevisionId>,
    ) -> Result<(), StoreError> {
        self.update_service(
            id,
            "active_revision = ?2",
            params![id.as_str(), revision.map(RevisionId::as_str)],
        )
    }

    pub fn set_paused(&self, id: &ServiceId, paused: bool) -> Result<(), StoreError> {
        self.update_service(id, "paused = ?2", params![id.as_str(), paused])
    }

    pub fn set_deleting(&self, id: &ServiceId) -> Result<(), StoreError> {
        self.update_service(id, "deleting = 1", params![id.as_str()])
    }

    /// Removes a service and its revisions (operations stay as history).
    pub fn delete_service(&self, id: &ServiceId) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute("DELETE FROM services WHERE id = ?1", [id.as_str()])?;
        Ok(())
    }

    fn update_service(
        &self,
        id: &ServiceId,
        assignment: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let conn = self.conn();
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
