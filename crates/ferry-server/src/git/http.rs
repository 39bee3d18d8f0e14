//! Ferry as a git remote over smart HTTP: `git http-backend` (git's own
//! implementation of the protocol) run as a CGI program for each request. The request
//! body is streamed into it, its CGI headers are parsed, and the rest of its output is
//! streamed back, so a push's `post-receive` hook output (the build, see
//! `app/git.rs`) reaches `git push` as it happens. Authentication and the choice of
//! repository are the caller's.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Largest request body (a push's pack) accepted.
pub const MAX_REQUEST_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// CGI response headers larger than this are not http-backend's.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// A request (a push with its build streamed) ends after this long at the most.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(3600);

/// One request for `git http-backend`.
pub struct BackendRequest {
    /// `GIT_PROJECT_ROOT`: the directory holding `<service>.git`.
    pub project_root: PathBuf,
    /// `/<service>.git/info/refs` and the like.
    pub path_info: String,
    pub method: Method,
    pub query: String,
    pub headers: HeaderMap,
    /// Extra environment for the backend (and so for the push's hooks).
    pub env: Vec<(String, String)>,
}

/// Runs `git http-backend` for `request` with `body` as its input.
pub async fn serve(request: BackendRequest, body: Body) -> Response {
    match run(request, body).await {
        Ok(response) => response,
        Err(message) => {
            tracing::warn!(%message, "git http-backend failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")).into_response()
        }
    }
}

async fn run(request: BackendRequest, body: Body) -> Result<Response, String> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &request.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &request.path_info)
        .env("REQUEST_METHOD", request.method.as_str())
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("REMOTE_USER", "ferry")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("CONTENT_LENGTH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // A gzipped request body (git sends upload-pack requests so) is inflated by the
    // backend when told; protocol v2 is asked for in Git-Protocol.
    let encoding = header("content-encoding");
    if !encoding.is_empty() {
        cmd.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let protocol = header("git-protocol");
    if !protocol.is_empty() {
        cmd.env("GIT_PROTOCOL", protocol);
    }
    for (key, value) in &request.env {
        cmd.env(key, value);
    }
    let mut child = cmd
        .spawn()
        .map_err(|err| format!("cannot run git http-backend (is git installed?): {err}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let stderr = child.stderr.take();

    // The body goes in while the output comes out: the backend may answer before it
    // read everything (an error), and a push's pack can be large.
    let feed = tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut total: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            total += chunk.len() as u64;
            if total > MAX_REQUEST_BYTES {
                tracing::warn!("git push larger than {MAX_REQUEST_BYTES} bytes: cut");
                break;
            }
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });
    if let Some(stderr) = stderr {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut logged = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if logged < 50 {
                    tracing::debug!(%line, "git http-backend");
                    logged += 1;
                }
            }
        });
    }

    let mut reader = BufReader::new(stdout);
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    let mut header_bytes = 0;
    loop {
        let mut line = String::new();
        let read = reader
            .read_line(&mut line)
            .await
            .map_err(|err| format!("reading git http-backend's headers: {err}"))?;
        header_bytes += read;
        if read == 0 || header_bytes > MAX_HEADER_BYTES {
            return Err("git http-backend ended before its headers".into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }

    // The backend's output, as it comes; the child is reaped (or killed after the
    // longest a request may take) whatever the client does.
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    tokio::spawn(async move {
        match tokio::time::timeout(MAX_REQUEST_TIME, child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("git http-backend ran too long: killed");
                if let Some(pid) = child.id() {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.wait().await;
            }
        }
        feed.abort();
    });
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}
