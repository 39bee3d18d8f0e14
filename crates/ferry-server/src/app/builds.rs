//! Builds: the build history of a service (one per source revision, with its
//! commit), a build's log read in bounded pieces, and cancelling a pending or running
//! build (the build reconciler stops it, as it does a superseded one).

use super::{App, AppError};
use ferry_api::{BuildInfo, BuildLogChunk};
use ferry_store::BuildRow;
use std::io::{Read, Seek, SeekFrom};

/// Builds listed at most.
const MAX_BUILDS: usize = 100;
/// Bytes of a build log returned by one request.
pub const LOG_CHUNK: u64 = 64 * 1024;

fn info(row: BuildRow, desired: Option<&ferry_types::RevisionId>) -> BuildInfo {
    let running = row.build == "pending"
        && row.started_at.is_some()
        && row.ended_at.is_none()
        && desired == Some(&row.revision_id);
    let duration_ms = match (row.started_at, row.ended_at) {
        (Some(start), Some(end)) => u64::try_from((end - start).whole_milliseconds()).ok(),
        (Some(start), None) if running => {
            u64::try_from((ferry_types::now() - start).whole_milliseconds()).ok()
        }
        _ => None,
    };
    BuildInfo {
        revision: row.number,
        commit: row.commit,
        state: if running { "running".into() } else { row.build },
        status: row.status,
        created_at: row.created_at,
        started_at: row.started_at,
        duration_ms,
    }
}

impl App {
    fn build_log_path(&self, name: &str, number: u32) -> std::path::PathBuf {
        self.data
            .service_logs(name)
            .join(format!("build-{number}.log"))
    }

    pub fn list_builds(&self, name: &str) -> Result<Vec<BuildInfo>, AppError> {
        let row = self.live_service(name)?;
        Ok(self
            .store
            .list_builds(&row.id, MAX_BUILDS)?
            .into_iter()
            .map(|b| info(b, row.desired_revision.as_ref()))
            .collect())
    }

    fn build(&self, name: &str, number: u32) -> Result<BuildInfo, AppError> {
        let row = self.live_service(name)?;
        let revision = self
            .store
            .get_revision_by_number(&row.id, number)?
            .ok_or_else(|| AppError::not_found(format!("build {number} of {name}")))?;
        self.store
            .list_builds(&row.id, MAX_BUILDS)?
            .into_iter()
            .find(|b| b.revision_id == revision.id)
            .map(|b| info(b, row.desired_revision.as_ref()))
            .ok_or_else(|| AppError::not_found(format!("build {number} of {name}")))
    }

    /// Up to [`LOG_CHUNK`] bytes of build `number`'s log from `offset` (cut back to a
    /// line end when more follows). A build that ran no steps has an empty log.
    pub async fn build_log(
        &self,
        name: &str,
        number: u32,
        offset: u64,
    ) -> Result<BuildLogChunk, AppError> {
        let build = self.build(name, number)?;
        let finished = !matches!(build.state.as_str(), "pending" | "running");
        let path = self.build_log_path(name, number);
        let (text, next, size) = tokio::task::spawn_blocking(move || read_chunk(&path, offset))
            .await
            .map_err(|err| AppError::Internal(err.to_string()))?
            .map_err(|err| AppError::Internal(format!("cannot read the build log: {err}")))?;
        Ok(BuildLogChunk {
            offset,
            next,
            text,
            done: finished && next >= size,
        })
    }

    /// Cancels build `number` if it is pending or running.
    pub fn cancel_build(&self, name: &str, number: u32) -> Result<BuildInfo, AppError> {
        let row = self.live_service(name)?;
        let build = self.build(name, number)?;
        if !matches!(build.state.as_str(), "pending" | "running") {
            return Err(AppError::Conflict(format!(
                "build {number} of {name} is {}: only a pending or running build can be cancelled",
                build.state
            )));
        }
        let revision = self
            .store
            .get_revision_by_number(&row.id, number)?
            .ok_or_else(|| AppError::not_found(format!("build {number} of {name}")))?;
        self.store.cancel_build(
            &row.id,
            &revision.id,
            "cancelled by `ferry builds cancel`",
            row.active_revision.as_ref(),
        )?;
        self.background.wake(&row.id);
        self.build(name, number)
    }

    fn live_service(&self, name: &str) -> Result<ferry_store::ServiceRow, AppError> {
        self.store
            .get_service_by_name(name)?
            .filter(|row| !row.deleting)
            .ok_or_else(|| AppError::not_found(format!("service {name:?}")))
    }
}

/// Reads at most [`LOG_CHUNK`] bytes from `offset`; returns the text, the next offset
/// and the file's size (a missing file is empty).
fn read_chunk(path: &std::path::Path, offset: u64) -> std::io::Result<(String, u64, u64)> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok((String::new(), offset, 0))
        }
        Err(err) => return Err(err),
    };
    let size = file.metadata()?.len();
    if offset >= size {
        return Ok((String::new(), offset, size));
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(LOG_CHUNK).read_to_end(&mut bytes)?;
    let end = offset + bytes.len() as u64;
    // Whole lines only while more is to come, so a line is never split in two.
    if end < size {
        if let Some(last) = bytes.iter().rposition(|b| *b == b'\n') {
            bytes.truncate(last + 1);
        }
    }
    let next = offset + bytes.len() as u64;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), next, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_chunks_are_bounded_and_end_at_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build-1.log");
        let line = "x".repeat(99) + "\n";
        std::fs::write(&path, line.repeat(2000)).unwrap();
        let (text, next, size) = read_chunk(&path, 0).unwrap();
        assert_eq!(size, 200_000);
        assert!(text.len() as u64 <= LOG_CHUNK && text.ends_with('\n'));
        assert_eq!(next, text.len() as u64);
        let (rest, _, _) = read_chunk(&path, 199_900).unwrap();
        assert_eq!(rest, line);
        assert_eq!(
            read_chunk(&dir.path().join("none"), 5).unwrap(),
            (String::new(), 5, 0)
        );
    }
}
