//! `GET /api/v1/services/{name}/logs`: the last lines, then (with `follow=true`) new lines
//! as they are written, as newline-delimited JSON.

use super::{ApiError, ApiState};
use crate::app::logs::{LogFollower, LogLine};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use std::time::Duration;

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

pub async fn stream(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let dir = state.app.log_dir(&name)?;
    let (follower, first) = LogFollower::start(dir, query.tail.min(10_000));
    let first = encode(&first);
    let body = if query.follow {
        let shutdown = state.shutdown.clone();
        let app = state.app.clone();
        let stream = futures_util::stream::unfold(
            (Some(first), follower, shutdown, app, name),
            |(pending, mut follower, shutdown, app, name)| async move {
                if let Some(first) = pending {
                    return Some((
                        Ok::<Bytes, std::io::Error>(first),
                        (None, follower, shutdown, app, name),
                    ));
                }
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                    // The service went away: end the stream.
                    if app.log_dir(&name).is_err() {
                        return None;
                    }
                    let lines = follower.poll();
                    if !lines.is_empty() {
                        return Some((Ok(encode(&lines)), (None, follower, shutdown, app, name)));
                    }
                }
            },
        );
        Body::from_stream(stream)
    } else {
        Body::from(first)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body)
        .map_err(|err| ApiError(crate::app::AppError::Internal(err.to_string())))
}
