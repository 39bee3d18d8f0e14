//! The `operations` and `operation_events` tables: asynchronous actions and their timelines.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use ferry_types::{
    EventLevel, Operation, OperationEvent, OperationId, OperationKind, OperationStatus, RevisionId,
    RevisionStatus, ServiceId,
};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str =
    "id, service_id, service_name, kind, status, revision_id, error, created_at, ended_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<Operation, StoreError>> {
    let id: String = row.get(0)?;
    let service_id: String = row.get(1)?;
    let service_name: String = row.get(2)?;
    let kind: String = row.get(3)?;
    let status: String = row.get(4)?;
    let revision_id: Option<String> = row.get(5)?;
    let error: Option<String> = row.get(6)?;
    let created: String = row.get(7)?;
    let ended: Option<String> = row.get(8)?;
    Ok((|| {
        Ok(Operation {
            id: OperationId::from_string(id),
            service_id: ServiceId::from_string(service_id),
            service_name,
            kind: OperationKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                what: "operation kind",
                detail: kind.clone(),
            })?,
            status: OperationStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                what: "operation status",
                detail: status.clone(),
            })?,
            revision_id: revision_id.map(RevisionId::from_string),
            error,
            created_at: parse_ts(&created)?,
            ended_at: ended.as_deref().map(parse_ts).transpose()?,
            events: Vec::new(),
        })
    })())
}

impl Store {
    /// Records a new PENDING operation.
    pub fn create_operation(
        &self,
        service: &ServiceId,
        service_name: &str,
        kind: OperationKind,
        revision: Option<&RevisionId>,
    ) -> Result<Operation, StoreError> {
        let conn = self.conn();
        insert_operation(&conn, service, service_name, kind, revision)
    }

    /// Records an operation that moves the service to `revision` and points the
    /// service's desired revision at it, in one transaction: the deployer never sees
    /// one without the other.
    pub fn create_operation_with_desired(
        &self,
        service: &ServiceId,
        service_name: &str,
        kind: OperationKind,
        revision: &RevisionId,
    ) -> Result<Operation, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        // Checked in the transaction: retention may have pruned it since the caller read it.
        let status: String = tx.query_row(
            "SELECT status FROM revisions WHERE id = ?1",
            [revision.as_str()],
            |row| row.get(0),
        )?;
        if status == RevisionStatus::Pruned.as_str() {
            return Err(StoreError::InvalidState(format!(
                "revision {} was pruned (past the server's revision retention): its files and image are gone",
                revision.as_str()
            )));
        }
        let operation = insert_operation(&tx, service, service_name, kind, Some(revision))?;
        tx.execute(
            "UPDATE services SET desired_revision = ?2, updated_at = ?3 WHERE id = ?1",
            params![service.as_str(), revision.as_str(), ts(ferry_types::now())],
        )?;
        let number: u32 = tx.query_row(
            "SELECT number FROM revisions WHERE id = ?1",
            [revision.as_str()],
            |row| row.get(0),
        )?;
        crate::revisions::supersede_pending(&tx, service, revision, number)?;
        crate::hosts::sync_hosts(&tx, service)?;
        tx.commit()?;
        Ok(operation)
    }

    /// An operation with its whole event timeline.
    pub fn get_operation(&self, id: &OperationId) -> Result<Option<Operation>, StoreError> {
        let conn = self.conn();
        let operation = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM operations WHERE id = ?1"),
                [id.as_str()],
                from_row,
            )
            .optional()?
            .transpose()?;
        drop(conn);
        match operation {
            Some(mut operation) => {
                operation.events = self.operation_events(id, 0)?;
                Ok(Some(operation))
            }
            None => Ok(None),
        }
    }

    /// Events with `seq > after`, oldest first (clients stream with the last seq seen).
    pub fn operation_events(
        &self,
        id: &OperationId,
        after: i64,
    ) -> Result<Vec<OperationEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, at, level, message FROM operation_events WHERE operation_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![id.as_str(), after], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, at, level, message) = row?;
            events.push(OperationEvent {
                seq,
                at: parse_ts(&at)?,
                level: EventLevel::parse(&level).unwrap_or(EventLevel::Info),
                message,
            });
        }
        Ok(events)
    }

    /// Operations, newest first, optionally of one service.
    pub fn list_operations(
        &self,
        service: Option<&ServiceId>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM operations WHERE (?1 IS NULL OR service_id = ?1) ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![service.map(ServiceId::as_str), limit], from_row)?;
        let mut operations = Vec::new();
        for row in rows {
            operations.push(row??);
        }
        Ok(operations)
    }

    /// Operations not yet finished, oldest first (the deployer works through them).
    pub fn unfinished_operations(&self, service: &ServiceId) -> Result<Vec<Operation>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM operations WHERE service_id = ?1 AND status IN ('PENDING', 'IN_PROGRESS', 'ROLLBACK_IN_PROGRESS') ORDER BY created_at, rowid"
        ))?;
        let rows = stmt.query_map([service.as_str()], from_row)?;
        let mut operations = Vec::new();
        for row in rows {
            operations.push(row??);
        }
        Ok(operations)
    }

    /// Moves an operation to `status`; terminal statuses record the end time.
    pub fn set_operation_status(
        &self,
        id: &OperationId,
        status: OperationStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let ended = status.is_terminal().then(|| ts(ferry_types::now()));
        conn.execute(
            "UPDATE operations SET status = ?2, error = COALESCE(?3, error), ended_at = COALESCE(?4, ended_at) WHERE id = ?1",
            params![id.as_str(), status.as_str(), error, ended],
        )?;
        Ok(())
    }

    /// Appends to an operation's timeline; returns the event's sequence number.
    pub fn add_operation_event(
        &self,
        id: &OperationId,
        level: EventLevel,
        message: &str,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO operation_events (operation_id, at, level, message) VALUES (?1, ?2, ?3, ?4)",
            params![id.as_str(), ts(ferry_types::now()), level.as_str(), message],
        )?;
        Ok(conn.last_insert_rowid())
    }
}

pub(crate) fn insert_operation(
    conn: &rusqlite::Connection,
    service: &ServiceId,
    service_name: &str,
    kind: OperationKind,
    revision: Option<&RevisionId>,
) -> Result<Operation, StoreError> {
    let now = ferry_types::now();
    let id = OperationId::generate();
    conn.execute(
        &format!(
            "INSERT INTO operations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, NULL)"
        ),
        params![
            id.as_str(),
            service.as_str(),
            service_name,
            kind.as_str(),
            OperationStatus::Pending.as_str(),
            revision.map(RevisionId::as_str),
            ts(now)
        ],
    )?;
    Ok(Operation {
        id,
        service_id: service.clone(),
        service_name: service_name.to_string(),
        kind,
        status: OperationStatus::Pending,
        revision_id: revision.cloned(),
        error: None,
        created_at: now,
        ended_at: None,
        events: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_record_status_and_events_in_order() {
        let store = Store::open_in_memory().unwrap();
        let service = ServiceId::generate();
        let op = store
            .create_operation(&service, "web", OperationKind::PauseService, None)
            .unwrap();
        assert_eq!(store.unfinished_operations(&service).unwrap().len(), 1);
        let first = store
            .add_operation_event(&op.id, EventLevel::Info, "stopping instances")
            .unwrap();
        store
            .add_operation_event(&op.id, EventLevel::Warn, "slow to stop")
            .unwrap();
        store
            .set_operation_status(&op.id, OperationStatus::Succeeded, None)
            .unwrap();
        let got = store.get_operation(&op.id).unwrap().unwrap();
        assert_eq!(got.status, OperationStatus::Succeeded);
        assert!(got.ended_at.is_some());
        let messages: Vec<&str> = got.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["stopping instances", "slow to stop"]);
        assert_eq!(store.operation_events(&op.id, first).unwrap().len(), 1);
        assert!(store.unfinished_operations(&service).unwrap().is_empty());
        assert_eq!(store.list_operations(Some(&service), 10).unwrap().len(), 1);
        assert_eq!(store.list_operations(None, 10).unwrap().len(), 1);
    }
}
