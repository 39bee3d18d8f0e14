//! Operation bookkeeping for the reconcilers: marking what they work on IN_PROGRESS,
//! timeline events, and settling operations once the state meets (or can no longer
//! meet) their goal. Operations record what users asked for; reconcilers never take
//! instructions from them.

use ferry_store::{Store, StoreError};
use ferry_types::{
    EventLevel, Operation, OperationKind, OperationStatus, RevisionId, RevisionStatus, ServiceId,
};

/// The kinds that move a service to a revision.
pub const DEPLOY_KINDS: [OperationKind; 3] = [
    OperationKind::CreateService,
    OperationKind::StartDeployment,
    OperationKind::Rollback,
];

/// Unfinished operations of the given kinds (and revision, when given), marked
/// IN_PROGRESS.
pub fn begin(
    store: &Store,
    service: &ServiceId,
    kinds: &[OperationKind],
    revision: Option<&RevisionId>,
) -> Result<Vec<Operation>, StoreError> {
    let mut ops = Vec::new();
    for op in store.unfinished_operations(service)? {
        if !kinds.contains(&op.kind) {
            continue;
        }
        if revision.is_some() && op.revision_id.as_ref() != revision {
            continue;
        }
        if op.status == OperationStatus::Pending {
            store.set_operation_status(&op.id, OperationStatus::InProgress, None)?;
        }
        ops.push(op);
    }
    Ok(ops)
}

/// Adds an event to each operation; a failure is logged, never fatal (the timeline is
/// for people, the state is in the rows).
pub fn event(store: &Store, operations: &[Operation], level: EventLevel, message: &str) {
    for op in operations {
        if let Err(err) = store.add_operation_event(&op.id, level, message) {
            tracing::warn!(operation = %op.id, error = %err, "cannot record event");
        }
    }
}

/// Ends an operation with its outcome and a last event saying so.
pub fn finish(
    store: &Store,
    op: &Operation,
    outcome: Result<(), String>,
) -> Result<(), StoreError> {
    match outcome {
        Ok(()) => {
            store.add_operation_event(&op.id, EventLevel::Info, "Operation succeeded")?;
            store.set_operation_status(&op.id, OperationStatus::Succeeded, None)?;
        }
        Err(reason) => {
            let first_line = reason.lines().next().unwrap_or_default();
            store.add_operation_event(
                &op.id,
                EventLevel::Error,
                &format!("Operation failed: {first_line}"),
            )?;
            store.set_operation_status(&op.id, OperationStatus::Failed, Some(&reason))?;
        }
    }
    Ok(())
}

/// What the deploy reconciler observed, for settling.
pub struct Observed<'a> {
    /// Instances of the active revision serving traffic.
    pub ready: usize,
    pub instances: usize,
    /// Replacements failed this many times in a row.
    pub crash_streak: u32,
    pub last_exit: Option<&'a str>,
}

/// Completes operations whose goal the current state meets (or can no longer meet).
/// The operations are read before the service row: an operation and the desired
/// revision it sets are written in one transaction, so the row read after is at least
/// as new as every operation seen.
pub fn settle(store: &Store, service: &ServiceId, seen: &Observed<'_>) -> Result<(), StoreError> {
    let operations = store.unfinished_operations(service)?;
    let Some(row) = store.get_service(service)? else {
        return Ok(());
    };
    for op in operations {
        let outcome = match op.kind {
            OperationKind::PauseService => (row.paused && seen.instances == 0).then_some(Ok(())),
            OperationKind::ResumeService => {
                if row.paused {
                    Some(Err("paused again before it resumed".to_string()))
                } else if seen.ready > 0 {
                    Some(Ok(()))
                } else if seen.crash_streak >= 3 {
                    Some(Err(format!(
                        "instances keep failing: {}",
                        seen.last_exit.unwrap_or("unknown reason")
                    )))
                } else {
                    None
                }
            }
            OperationKind::DeleteService => None,
            OperationKind::CreateService
            | OperationKind::StartDeployment
            | OperationKind::Rollback => {
                let target = op.revision_id.as_ref();
                let ended = match target {
                    Some(id) => store
                        .get_revision(id)?
                        .filter(|r| {
                            matches!(
                                r.status,
                                RevisionStatus::Failed | RevisionStatus::Superseded
                            )
                        })
                        .map(|r| {
                            r.failure
                                .unwrap_or_else(|| format!("revision {}", r.status))
                        }),
                    None => Some("operation has no revision".to_string()),
                };
                if let Some(reason) = ended {
                    Some(Err(reason))
                } else if target == row.active_revision.as_ref()
                    && row.active_revision == row.desired_revision
                    && seen.ready > 0
                {
                    Some(Ok(()))
                } else if target != row.desired_revision.as_ref() {
                    Some(Err("superseded by a later deployment".to_string()))
                } else {
                    None
                }
            }
        };
        if let Some(outcome) = outcome {
            finish(store, &op, outcome)?;
        }
    }
    Ok(())
}
