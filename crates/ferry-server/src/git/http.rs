//! Ferry as a git remote over smart HTTP: `git http-backend` (git's own
//! implementation of the protocol) run as a CGI program for each request. The request
//! body is streamed into it, its CGI headers are parsed, and the rest of its output is
//! streamed back, so a push's `pre-receive` hook output (the build and the rollout,
//! see `app/git.rs`) reaches `git push` as it happens. When the client goes away
//! before the end (Ctrl-C on `git push`), the backend's process group (receive-pack
//! and the hook with it) gets SIGTERM: the hook gives its deployment up and the push
//! ends rejected. Authentication and the choice of repository are the caller's.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Largest request body (a push's pack) accepted.
pub const MAX_REQUEST_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// CGI response headers larger than this are not http-backend's.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long the backend gets to end after SIGTERM (the hook gives its deployment up)
/// before the group is killed.
const TERM_GRACE: Duration = Duration::from_secs(30);

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
    /// The request (a push with its build and rollout streamed) ends after this long
    /// at the most: the backend's group is killed.
    pub max_time: Duration,
    /// Run once the backend and the rest of its group (a push's hook) ended, or when
    /// the backend never started.
    pub on_exit: Option<OnExit>,
}

/// A closure run once when dropped: what must happen after a backend ended, however
/// its request went (also when serving it failed early).
pub struct OnExit(Option<Box<dyn FnOnce() + Send>>);

impl OnExit {
    pub fn new(run: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(run)))
    }
}

impl Drop for OnExit {
    fn drop(&mut self) {
        if let Some(run) = self.0.take() {
            run();
        }
    }
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

    // The backend's output, as it comes; the child is reaped (or signalled when the
    // client leaves early, killed after the longest a request may take) whatever the
    // client does.
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel();
    let body = Body::from_stream(Watched {
        inner: tokio_util::io::ReaderStream::new(reader),
        gone: Some(gone_tx),
    });
    let max_time = request.max_time;
    let on_exit = request.on_exit;
    // The backend leads its own group; the push's hook is in it too.
    let group = child.id().map(|pid| Pid::from_raw(pid as i32));
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = child.wait() => None,
            Ok(()) = gone_rx => Some(Signal::SIGTERM),
            _ = tokio::time::sleep(max_time) => {
                tracing::warn!("git http-backend ran too long: killed");
                Some(Signal::SIGKILL)
            }
        };
        if let (Some(signal), Some(group)) = (signal, group) {
            if signal == Signal::SIGTERM {
                tracing::info!("git client went away: ending its push");
            }
            let _ = killpg(group, signal);
            if tokio::time::timeout(TERM_GRACE, child.wait())
                .await
                .is_err()
            {
                let _ = killpg(group, Signal::SIGKILL);
                let _ = child.wait().await;
            }
        }
        // receive-pack dies at SIGTERM at once while the hook is still telling the
        // server why it gives up: `on_exit` runs only once the hook is gone too, so
        // the hook's own word comes first.
        if let Some(group) = group {
            wait_for_group_to_end(group).await;
        }
        feed.abort();
        drop(on_exit);
    });
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// Waits until no process of `group` is left (its leader already reaped), killing
/// what is left after `TERM_GRACE`.
async fn wait_for_group_to_end(group: Pid) {
    const POLL: Duration = Duration::from_millis(20);
    let deadline = tokio::time::Instant::now() + TERM_GRACE;
    // The check reads /proc, which can be thousands of files: off the async workers.
    let lives = || async move {
        tokio::task::spawn_blocking(move || group_has_a_live_member(group))
            .await
            .unwrap_or(false)
    };
    while lives().await {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!("a git push's hook outlived its backend: killed");
            let _ = killpg(group, Signal::SIGKILL);
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether a process of `group` still runs. Signal 0 says whether the group exists
/// (its id cannot be reused while any member does); an orphaned hook that ended may
/// stay a zombie where nobody reaps orphans, so /proc tells whether a member is more.
fn group_has_a_live_member(group: Pid) -> bool {
    if killpg(group, None).is_err() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return false;
        };
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| live_member_of(&stat))
            .is_some_and(|member_group| member_group == group.as_raw())
    })
}

/// The process group of a `/proc/<pid>/stat` line's process unless it is a zombie.
/// The command name in parentheses may hold anything, so fields count from its end.
fn live_member_of(stat: &str) -> Option<i32> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    (state != "Z" && state != "X").then_some(group)
}

/// The backend's output as a body: dropped before its end means the client left.
struct Watched<S> {
    inner: S,
    /// Taken at the end of the output; sent on drop before it.
    gone: Option<tokio::sync::oneshot::Sender<()>>,
}

impl<S: futures_util::Stream + Unpin> futures_util::Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        if let std::task::Poll::Ready(None) = next {
            self.gone = None;
        }
        next
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        if let Some(gone) = self.gone.take() {
            let _ = gone.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_stat_line_gives_its_group_unless_a_zombie() {
        assert_eq!(live_member_of("42 (git) S 1 42 42 0 -1"), Some(42));
        assert_eq!(live_member_of("43 (a ) b) R 42 40 40 0"), Some(40));
        assert_eq!(live_member_of("44 (ferry) Z 1 40 40 0"), None);
        assert_eq!(live_member_of("garbage"), None);
    }

    #[tokio::test]
    async fn the_wait_ends_when_the_group_has_only_zombies_left() {
        // A group whose leader ended but is not reaped: a zombie, no live member.
        let mut child = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .unwrap();
        let group = Pid::from_raw(child.id() as i32);
        std::thread::sleep(Duration::from_millis(200));
        assert!(killpg(group, None).is_ok(), "the zombie keeps its group");
        assert!(!group_has_a_live_member(group));
        wait_for_group_to_end(group).await;
        child.wait().unwrap();
        assert!(!group_has_a_live_member(group));
    }

    #[tokio::test]
    async fn a_running_member_keeps_the_group_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let group = Pid::from_raw(child.id() as i32);
        assert!(group_has_a_live_member(group));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!group_has_a_live_member(group));
    }
}
