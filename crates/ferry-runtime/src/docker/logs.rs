//! Following a container's output into its instance log: the engine's log stream
//! (with timestamps) is appended through [`LogWriter`], and `<log>.cursor` remembers the
//! last line appended so a server adopting the container after a crash resumes there.

use crate::logs::{LogLimits, LogWriter};
use crate::RuntimeError;
use bollard::query_parameters::LogsOptions;
use bollard::Docker;
use ferry_types::InstanceId;
use futures_util::StreamExt;
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// Starts the task appending the container's output to `log_path`: everything the
/// container wrote after `after`, or all of it when `None`. The task ends when the
/// container stops (the engine closes a followed stream).
pub(super) async fn follow(
    docker: &Docker,
    id: &InstanceId,
    container_id: &str,
    log_path: &Path,
    after: Option<OffsetDateTime>,
    limits: LogLimits,
) -> Result<JoinHandle<()>, RuntimeError> {
    let io_err = |source| RuntimeError::Io {
        context: "opening the instance's log file".to_string(),
        source,
    };
    let mut log = LogWriter::open(log_path, limits).map_err(io_err)?;
    // The engine filters by whole seconds; each line's timestamp does the rest.
    let since = after.map_or(0, |t| i32::try_from(t.unix_timestamp()).unwrap_or(i32::MAX));
    let mut stream = docker.logs(
        container_id,
        Some(LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since,
            timestamps: true,
            ..Default::default()
        }),
    );
    let cursor = LogCursor::open(log_path).await.map_err(io_err)?;
    let instance = id.clone();
    Ok(tokio::spawn(async move {
        let mut failed = false;
        while let Some(chunk) = stream.next().await {
            let output = match chunk {
                Ok(output) => output,
                Err(e) => {
                    tracing::warn!(%instance, error = %e, "log stream of container failed");
                    break;
                }
            };
            let Frame::New { stamp, line } = split_timestamp(output.as_ref(), after) else {
                continue;
            };
            // Written inline: an unbuffered append to the page cache, not worth a hop
            // to the blocking pool per frame. A failing log (disk full) drops output but
            // keeps reading, so the engine's stream does not back up.
            match log.write(line).and_then(|()| cursor.record(stamp)) {
                Ok(()) => failed = false,
                Err(e) => {
                    if !failed {
                        tracing::warn!(%instance, error = %e, "could not write instance log");
                    }
                    failed = true;
                }
            }
        }
    }))
}

/// A log frame, requested with timestamps, sorted against what the log already holds.
#[derive(Debug, PartialEq)]
enum Frame<'a> {
    /// Written at or before the cursor: already in the instance log.
    Old,
    /// To append: the line without its timestamp, and the timestamp's text.
    New {
        stamp: Option<&'a str>,
        line: &'a [u8],
    },
}

/// A frame is `<RFC 3339 time> <line>`. One without a readable timestamp is kept
/// whole rather than lost.
fn split_timestamp(frame: &[u8], after: Option<OffsetDateTime>) -> Frame<'_> {
    let whole = Frame::New {
        stamp: None,
        line: frame,
    };
    let Some(space) = frame.iter().position(|&b| b == b' ') else {
        return whole;
    };
    let Ok(text) = std::str::from_utf8(&frame[..space]) else {
        return whole;
    };
    let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) else {
        return whole;
    };
    if after.is_some_and(|after| at <= after) {
        return Frame::Old;
    }
    Frame::New {
        stamp: Some(text),
        line: &frame[space + 1..],
    }
}

/// `<log>.cursor`: the engine's timestamp of the last line appended to an instance
/// log, so a server that adopts the container after a crash appends exactly the lines
/// it has not seen (a file's modification time is too coarse for that).
pub(super) struct LogCursor {
    file: std::fs::File,
}

/// Room for any RFC 3339 timestamp with nanoseconds; the rest is padding.
const CURSOR_WIDTH: usize = 40;

impl LogCursor {
    fn path(log_path: &Path) -> std::path::PathBuf {
        let mut path = log_path.as_os_str().to_owned();
        path.push(".cursor");
        path.into()
    }

    async fn open(log_path: &Path) -> std::io::Result<LogCursor> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(Self::path(log_path))
            .await?;
        Ok(LogCursor {
            file: file.into_std().await,
        })
    }

    /// Overwrites the cursor in place with one fixed-width positional write: a 40-byte
    /// pwrite to the page cache, done inline rather than as another blocking-pool hop
    /// per log line.
    fn record(&self, stamp: Option<&str>) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let Some(stamp) = stamp.filter(|s| s.len() < CURSOR_WIDTH) else {
            return Ok(());
        };
        let mut record = [b' '; CURSOR_WIDTH];
        record[..stamp.len()].copy_from_slice(stamp.as_bytes());
        record[CURSOR_WIDTH - 1] = b'\n';
        self.file.write_all_at(&record, 0)
    }

    /// Where an adopting follower starts: after the recorded line, or after the log
    /// file's last change when there is no cursor; `None` (everything) with no log.
    pub(super) fn resume_after(log_path: &Path) -> Option<OffsetDateTime> {
        let recorded = std::fs::read_to_string(Self::path(log_path))
            .ok()
            .and_then(|text| OffsetDateTime::parse(text.trim(), &Rfc3339).ok());
        recorded.or_else(|| {
            std::fs::metadata(log_path)
                .and_then(|meta| meta.modified())
                .ok()
                .map(OffsetDateTime::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_split_off_and_old_lines_skipped() {
        let frame = b"2026-11-28T02:10:00.5Z tick 7\n";
        let new = Frame::New {
            stamp: Some("2026-11-28T02:10:00.5Z"),
            line: b"tick 7\n",
        };
        assert_eq!(split_timestamp(frame, None), new);
        let before = time::macros::datetime!(2026-11-28 02:10:00.4 UTC);
        let same = time::macros::datetime!(2026-11-28 02:10:00.5 UTC);
        assert_eq!(split_timestamp(frame, Some(before)), new);
        assert_eq!(split_timestamp(frame, Some(same)), Frame::Old);
        // Frames without a timestamp are kept whole, never dropped.
        for whole in [&b"no-stamp\n"[..], b"x y"] {
            let kept = Frame::New {
                stamp: None,
                line: whole,
            };
            assert_eq!(split_timestamp(whole, Some(same)), kept);
        }
    }

    #[tokio::test]
    async fn the_cursor_resumes_after_the_last_recorded_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ins-a.log");
        assert_eq!(LogCursor::resume_after(&log), None, "no log: everything");
        std::fs::write(&log, "a\n").unwrap();
        assert!(
            LogCursor::resume_after(&log).is_some(),
            "log only: its mtime"
        );
        let cursor = LogCursor::open(&log).await.unwrap();
        cursor
            .record(Some("2026-11-28T02:10:00.123456789Z"))
            .unwrap();
        cursor.record(Some("2026-11-28T02:10:01.5Z")).unwrap();
        assert_eq!(
            LogCursor::resume_after(&log),
            Some(time::macros::datetime!(2026-11-28 02:10:01.5 UTC))
        );
    }
}
