//! Operations: listing them and reading one with its event timeline.

use super::{App, AppError};
use ferry_types::{Operation, OperationId};

impl App {
    /// Operations of one service (or all), newest first.
    pub fn list_operations(
        &self,
        service: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Operation>, AppError> {
        match service {
            Some(name) => {
                // Operations outlive deleted services, so look them up by name too.
                let row = self.store.get_service_by_name(name)?;
                match row {
                    Some(row) => Ok(self.store.list_operations(Some(&row.id), limit)?),
                    None => Ok(self
                        .store
                        .list_operations(None, 1000)?
                        .into_iter()
                        .filter(|op| op.service_name == name)
                        .take(limit as usize)
                        .collect()),
                }
            }
            None => Ok(self.store.list_operations(None, limit)?),
        }
    }

    /// One operation with the events after `after` (all when 0).
    pub fn get_operation(&self, id: &str, after: i64) -> Result<Operation, AppError> {
        let id = OperationId::from_string(id);
        let mut operation = self
            .store
            .get_operation(&id)?
            .ok_or_else(|| AppError::not_found(format!("operation {id}")))?;
        if after > 0 {
            operation.events.retain(|e| e.seq > after);
        }
        Ok(operation)
    }
}
