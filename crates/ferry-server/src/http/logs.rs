//! `GET /api/v1/services/{name}/logs`: the last lines, then (with `follow=true`) new lines
//! as they are written, as newline-delimited JSON.
//!
//! A follower holds at most one poll's worth of lines (the stream is pulled by the
//! connection: a client that stops reading stops the reads), and one that falls far
//! behind skips ahead; followers are counted so their number is bounded too.

use super::{ApiError, ApiState};
use crate::app::logs::{LogFollower, LogLine, ReadLimits};
use crate::app::AppError;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How often a caught-up follower looks for new lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default = "default_tail")]
    tail: usize,
    #[serde(default)]
    follow: bool,
}

fn default_tail() -> usize {
    100
}

fn encode(lines: &[LogLine]) -> Bytes {
    let mut out = Vec::new();
    for line in lines {
        if serde_json::to_writer(&mut out, line).is_ok() {
            out.push(b'\n');
        }
    }
    Bytes::from(out)
}

/// Open `follow=true` streams, server-wide.
#[derive(Clone)]
pub struct Followers(Arc<Semaphore>);

impl Followers {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.0).try_acquire_owned().ok()
    }
}

/// What the follow stream carries from one chunk to the next.
struct Follow {
    pending: Option<Bytes>,
    follower: LogFollower,
    /// Whether the last poll stopped at its budget (poll again at once).
    more: bool,
    state: ApiState,
    name: String,
    _permit: OwnedSemaphorePermit,
}

pub async fn stream(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let dir = state.app.log_dir(&name)?;
    let limits = ReadLimits::new(state.app.log_limits.max_line_bytes);
    let permit = match query.follow {
        true => match state.followers.admit() {
            Some(permit) => Some(permit),
            None => {
                return Ok(super::error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "too many log streams (`follow=true`) are open on this server; close one, \
                     or read without following",
                ))
            }
        },
        false => None,
    };
    let tail = query.tail.min(10_000);
    let (follower, first) =
        tokio::task::spawn_blocking(move || LogFollower::start(dir, tail, limits))
            .await
            .map_err(|err| AppError::Internal(err.to_string()))?;
    let first = encode(&first);
    let Some(permit) = permit else {
        return respond(Body::from(first));
    };
    let start = Follow {
        pending: Some(first),
        follower,
        more: false,
        state,
        name,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(start, |mut follow| async move {
        if let Some(first) = follow.pending.take() {
            return Some((Ok::<Bytes, std::io::Error>(first), follow));
        }
        loop {
            if !follow.more {
                tokio::select! {
                    _ = follow.state.shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(FOLLOW_INTERVAL) => {}
                }
                // The service went away: end the stream.
                if follow.state.app.log_dir(&follow.name).is_err() {
                    return None;
                }
            }
            // Inline, like the original follower: at most one step (64 KiB) read from
            // the page cache. A hop to the blocking pool per step cost more memory
            // (allocator caches of its many threads) than it saved.
            let (lines, more) = follow.follower.poll();
            follow.more = more;
            if !lines.is_empty() {
                return Some((Ok(encode(&lines)), follow));
            }
        }
    });
    respond(Body::from_stream(stream))
}

fn respond(body: Body) -> Result<Response, ApiError> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body)
        .map_err(|err| ApiError(AppError::Internal(err.to_string())))
}
