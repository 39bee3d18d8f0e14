//! BuildKit builds through the engine itself (no buildx, no CLI): a Solve on the
//! engine's `/grpc` and `/session` endpoints (bollard's Moby driver) with the context
//! uploaded from memory and secrets served from files, while a second `/grpc`
//! connection follows the build's Status and turns it into lines like
//! `docker build --progress=plain` prints, for the caller's log.

use super::DockerRuntime;
use crate::{BuildOutput, ImageBuildSpec, RuntimeError};
use bollard::grpc::build::{ImageBuildFrontendOptions, ImageBuildLoadInput, SecretSource};
use bollard::grpc::driver::{moby::Moby, Build as _};
use bollard::grpc::error::GrpcError;
use bollard::grpc::BuildRef;
use bollard::moby::buildkit::v1::control_client::ControlClient;
use bollard::moby::buildkit::v1::{StatusRequest, StatusResponse};
use bollard::Docker;
use hyper_util::rt::TokioIo;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// Largest build context a BuildKit build takes: bollard's upload service holds it in
/// memory (briefly twice), where the classic builder streams it from its file.
pub const MAX_BUILDKIT_CONTEXT_BYTES: u64 = 128 * 1024 * 1024;
/// Longest answer head read on the `/grpc` upgrade.
const MAX_UPGRADE_HEAD: usize = 8 * 1024;
/// How long the probe, and the connection that follows a build's status, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A step's unfinished output line is passed on at this length.
const MAX_LINE: usize = 64 * 1024;
/// Progress texts in flight between the build's thread and the caller.
const OUTPUT_QUEUE: usize = 256;
/// After the solve ends, how long the status stream may take to deliver the rest.
const STATUS_DRAIN: Duration = Duration::from_secs(5);

/// The engine's unix socket (`DOCKER_HOST=unix://…`, else the default); `None` for any
/// other transport, which the hand-made `/grpc` upgrade does not speak.
fn engine_socket() -> Option<PathBuf> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => host.strip_prefix("unix://").map(PathBuf::from),
        _ => Some(PathBuf::from("/var/run/docker.sock")),
    }
}

/// Whether the engine answers BuildKit's `/grpc` endpoint (Linux engines since 18.09,
/// whatever their default builder).
pub(super) async fn available() -> bool {
    let Some(socket) = engine_socket() else {
        return false;
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, upgrade(&socket)).await {
        Ok(Ok(_)) => true,
        Ok(Err(err)) => {
            tracing::info!(error = %err, "the engine has no BuildKit endpoint");
            false
        }
        Err(_) => false,
    }
}

/// Opens the engine's `/grpc` endpoint: an HTTP/1.1 upgrade to cleartext HTTP/2.
async fn upgrade(socket: &Path) -> std::io::Result<UnixStream> {
    let mut stream = UnixStream::connect(socket).await?;
    stream
        .write_all(
            b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        )
        .await?;
    // Byte by byte: what follows the head is HTTP/2 and belongs to the channel.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_UPGRADE_HEAD {
            return Err(std::io::Error::other(
                "the engine's answer to the /grpc upgrade is too long",
            ));
        }
        head.push(stream.read_u8().await?);
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(std::io::Error::other(format!(
            "the engine did not open /grpc: {status}"
        )));
    }
    Ok(stream)
}

/// The connector of the channel that follows a build: each connection is an upgraded
/// `/grpc` request on the engine's socket.
#[derive(Clone)]
struct GrpcUpgrade(PathBuf);

impl tonic::codegen::Service<http::Uri> for GrpcUpgrade {
    type Response = TokioIo<UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let socket = self.0.clone();
        Box::pin(async move { upgrade(&socket).await.map(TokioIo::new) })
    }
}

impl DockerRuntime {
    /// [`crate::Runtime::build_image`] with BuildKit.
    pub(super) async fn build_with_buildkit(
        &self,
        spec: &ImageBuildSpec,
        output: BuildOutput<'_>,
    ) -> Result<String, RuntimeError> {
        let io = |context: &str| {
            let context = context.to_string();
            move |source| RuntimeError::Io { context, source }
        };
        let size = tokio::fs::metadata(&spec.context)
            .await
            .map_err(io("reading the build context"))?
            .len();
        if size > MAX_BUILDKIT_CONTEXT_BYTES {
            return Err(RuntimeError::BuildFailed(format!(
                "the build context is {} MiB, more than the {} MiB a BuildKit build takes \
                 (it is held in memory): make the app's files smaller, or use the classic \
                 builder (FERRY_BUILDKIT=0) if the app has no build secrets",
                size.div_ceil(1024 * 1024),
                MAX_BUILDKIT_CONTEXT_BYTES / (1024 * 1024)
            )));
        }
        let socket = engine_socket().ok_or_else(|| {
            RuntimeError::Unavailable(
                "BuildKit builds need the engine's unix socket (DOCKER_HOST=unix://…)".into(),
            )
        })?;
        let context = tokio::fs::read(&spec.context)
            .await
            .map_err(io("reading the build context"))?;
        let mut options =
            ImageBuildFrontendOptions::builder().dockerfile(Path::new(&spec.dockerfile));
        for (key, value) in &spec.labels {
            options = options.label(key, value);
        }
        for (id, file) in &spec.secret_files {
            options = options.set_secret(id, &SecretSource::File(file.clone()));
        }
        let options = options.build();

        // bollard's solve is not `Send`: it runs on a thread of its own, with a runtime
        // of its own; its progress comes back through a channel.
        let (lines_tx, mut lines_rx) = mpsc::channel::<String>(OUTPUT_QUEUE);
        let (result_tx, mut result_rx) = oneshot::channel();
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let tag = spec.tag.clone();
        std::thread::Builder::new()
            .name("ferry-buildkit".to_string())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(async move {
                        tokio::select! {
                            result = solve(socket, tag, options, context, lines_tx) => result,
                            // The caller gave up (timeout, cancel): dropping the solve
                            // closes its connections, and the engine stops the build.
                            _ = cancel_rx => Err(RuntimeError::BuildFailed(
                                "the build was stopped".to_string(),
                            )),
                        }
                    }),
                    Err(source) => Err(RuntimeError::Io {
                        context: "starting the BuildKit build".to_string(),
                        source,
                    }),
                };
                let _ = result_tx.send(result);
            })
            .map_err(io("starting the BuildKit build"))?;
        let _cancel_when_dropped = cancel_tx;
        let result = loop {
            tokio::select! {
                biased;
                Some(text) = lines_rx.recv() => output(&text),
                result = &mut result_rx => break result,
            }
        };
        while let Ok(text) = lines_rx.try_recv() {
            output(&text);
        }
        result.unwrap_or_else(|_| {
            Err(RuntimeError::BuildFailed(
                "the BuildKit build ended without a result".to_string(),
            ))
        })?;
        self.built_image_id(&spec.tag).await
    }
}

/// The Solve, and the Status stream that narrates it, on the build's own runtime.
async fn solve(
    socket: PathBuf,
    tag: String,
    options: ImageBuildFrontendOptions,
    context: Vec<u8>,
    lines: mpsc::Sender<String>,
) -> Result<(), RuntimeError> {
    let unavailable = |err: bollard::errors::Error| {
        RuntimeError::Unavailable(format!("Docker Engine for a BuildKit build: {err}"))
    };
    // A client of this thread's runtime: the caller's belongs to another one.
    let docker = Docker::connect_with_defaults()
        .map_err(unavailable)?
        .negotiate_version()
        .await
        .map_err(unavailable)?;
    let build_ref = BuildRef::random();
    let follow = follow(socket, build_ref.as_ref().to_string(), lines.clone());
    let build = Moby::new(&docker).docker_build(
        &tag,
        options,
        ImageBuildLoadInput::Upload(context.into()),
        None,
        Some(build_ref),
    );
    let mut build = std::pin::pin!(build);
    let mut follow = std::pin::pin!(follow);
    let mut followed = false;
    let built = loop {
        tokio::select! {
            built = &mut build => break built,
            () = &mut follow, if !followed => followed = true,
        }
    };
    if !followed {
        let _ = tokio::time::timeout(STATUS_DRAIN, follow).await;
    }
    built.map_err(|err| {
        RuntimeError::BuildFailed(match err {
            GrpcError::TonicStatus { err } => err.message().to_string(),
            other => other.to_string(),
        })
    })
}

/// Follows the Status of build `build_ref`, sending its progress as text. A status
/// that cannot be followed is a line in the log, not a failed build.
async fn follow(socket: PathBuf, build_ref: String, lines: mpsc::Sender<String>) {
    let result = async {
        let channel = tonic::transport::Endpoint::from_static("http://docker.invalid")
            .connect_timeout(CONNECT_TIMEOUT)
            .connect_with_connector(GrpcUpgrade(socket))
            .await
            .map_err(|err| error_chain(&err))?;
        let mut stream = ControlClient::new(channel)
            .status(StatusRequest { r#ref: build_ref })
            .await
            .map_err(|status| status.message().to_string())?
            .into_inner();
        let mut progress = Progress::default();
        while let Some(response) = stream
            .message()
            .await
            .map_err(|status| status.message().to_string())?
        {
            let text = progress.push(response);
            if !text.is_empty() && lines.send(text).await.is_err() {
                return Ok(());
            }
        }
        let _ = lines.send(progress.finish()).await;
        Ok::<(), String>(())
    }
    .await;
    if let Err(err) = result {
        let _ = lines
            .send(format!(
                "[ferry: the build's progress is not available: {err}]\n"
            ))
            .await;
    }
}

/// An error and its sources, `: `-joined (tonic's own message is only "transport error").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Turns Status messages into plain progress: `#<n> <step>` when a step starts, its
/// output lines as `#<n> <line>`, and `#<n> DONE`, `CACHED` or `ERROR: …` at its end.
#[derive(Default)]
struct Progress {
    /// Step digest → its number, in order of appearance.
    numbers: HashMap<String, usize>,
    started: HashSet<String>,
    ended: HashSet<String>,
    /// Sub-statuses (`naming to …`) already shown.
    statuses: HashSet<(String, String)>,
    /// Per step, the start of an output line not finished yet: whole lines go out, so a
    /// secret is never cut in two by another step's output (the log's masker sees it).
    partial: HashMap<String, Vec<u8>>,
}

impl Progress {
    fn number(&mut self, digest: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(digest.to_string()).or_insert(next)
    }

    fn push(&mut self, response: StatusResponse) -> String {
        let mut out = String::new();
        for vertex in &response.vertexes {
            let n = self.number(&vertex.digest);
            let began = vertex.started.is_some() || vertex.cached || vertex.completed.is_some();
            if began && self.started.insert(vertex.digest.clone()) {
                let _ = writeln!(out, "#{n} {}", vertex.name);
            }
        }
        for status in &response.statuses {
            let key = (status.vertex.clone(), status.id.clone());
            if status.completed.is_some() && self.statuses.insert(key) {
                let n = self.number(&status.vertex);
                let _ = writeln!(out, "#{n} {}", status.id);
            }
        }
        for log in response.logs {
            let n = self.number(&log.vertex);
            let buffer = self.partial.entry(log.vertex).or_default();
            buffer.extend_from_slice(&log.msg);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let _ = write!(out, "#{n} {}", String::from_utf8_lossy(&line));
            }
            if buffer.len() >= MAX_LINE {
                let line = std::mem::take(buffer);
                let _ = writeln!(out, "#{n} {}", String::from_utf8_lossy(&line));
            }
        }
        for vertex in &response.vertexes {
            let ended = !vertex.error.is_empty() || vertex.completed.is_some();
            if ended && self.ended.insert(vertex.digest.clone()) {
                out.push_str(&self.flush(&vertex.digest));
                let n = self.number(&vertex.digest);
                if !vertex.error.is_empty() {
                    let _ = writeln!(out, "#{n} ERROR: {}", vertex.error);
                } else if vertex.cached {
                    let _ = writeln!(out, "#{n} CACHED");
                } else {
                    let _ = writeln!(out, "#{n} DONE");
                }
            }
        }
        out
    }

    /// The unfinished line of step `digest`, ended.
    fn flush(&mut self, digest: &str) -> String {
        match self.partial.remove(digest) {
            Some(line) if !line.is_empty() => {
                let n = self.number(digest);
                format!("#{n} {}\n", String::from_utf8_lossy(&line))
            }
            _ => String::new(),
        }
    }

    /// Every unfinished line, at the end of the stream.
    fn finish(&mut self) -> String {
        let mut digests: Vec<String> = self.partial.keys().cloned().collect();
        digests.sort_by_key(|digest| self.numbers.get(digest).copied());
        digests.iter().map(|digest| self.flush(digest)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex, VertexLog, VertexStatus};

    fn vertex(digest: &str, name: &str, started: bool, completed: bool) -> Vertex {
        let now = Some(Default::default());
        Vertex {
            digest: digest.into(),
            name: name.into(),
            started: if started { now } else { None },
            completed: if completed { now } else { None },
            ..Default::default()
        }
    }

    fn log(digest: &str, msg: &str) -> VertexLog {
        VertexLog {
            vertex: digest.into(),
            msg: msg.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn status_becomes_plain_progress_with_whole_lines() {
        let mut progress = Progress::default();
        let text = progress.push(StatusResponse {
            vertexes: vec![
                vertex("a", "[1/2] FROM base", true, false),
                vertex("b", "[2/2] RUN make", true, false),
            ],
            logs: vec![log("b", "compiling\nsecr"), log("a", "pulled\n")],
            ..Default::default()
        });
        assert_eq!(
            text,
            "#1 [1/2] FROM base\n#2 [2/2] RUN make\n#2 compiling\n#1 pulled\n"
        );
        let mut cached = vertex("a", "[1/2] FROM base", true, true);
        cached.cached = true;
        let mut failed = vertex("b", "[2/2] RUN make", true, true);
        failed.error = "exit code: 2".into();
        let text = progress.push(StatusResponse {
            vertexes: vec![cached, failed],
            logs: vec![log("b", "et\n"), log("b", "tail")],
            statuses: vec![VertexStatus {
                id: "naming to x".into(),
                vertex: "a".into(),
                completed: Some(Default::default()),
                ..Default::default()
            }],
            ..Default::default()
        });
        // The line cut across messages comes out whole; the unfinished one at the end.
        assert_eq!(
            text,
            "#1 naming to x\n#2 secret\n#1 CACHED\n#2 tail\n#2 ERROR: exit code: 2\n"
        );
        assert_eq!(progress.finish(), "");
    }

    #[tokio::test]
    async fn a_context_over_the_cap_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path().join("context.tar");
        // Sparse: the size is what counts, nothing is written.
        std::fs::File::create(&context)
            .unwrap()
            .set_len(MAX_BUILDKIT_CONTEXT_BYTES + 1)
            .unwrap();
        // No engine is contacted before the check: a client pointed at a closed port
        // (it connects lazily) works on machines without an engine too.
        let client =
            Docker::connect_with_http("http://127.0.0.1:9", 1, bollard::API_DEFAULT_VERSION)
                .unwrap();
        let runtime = DockerRuntime::with_client(client);
        let spec = ImageBuildSpec {
            context,
            dockerfile: "Dockerfile".into(),
            tag: "ferry-test/too-big:1".into(),
            labels: Default::default(),
            buildkit: true,
            secret_files: Vec::new(),
        };
        let mut output = |_: &str| {};
        let err = runtime
            .build_with_buildkit(&spec, &mut output)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than the 128 MiB"), "{err}");
        assert!(err.contains("FERRY_BUILDKIT=0"), "{err}");
    }

    #[test]
    fn unfinished_lines_come_out_at_the_end_and_long_ones_are_cut() {
        let mut progress = Progress::default();
        let long = "x".repeat(MAX_LINE);
        let text = progress.push(StatusResponse {
            vertexes: vec![vertex("a", "RUN x", true, false)],
            logs: vec![log("a", &long), log("a", "end")],
            ..Default::default()
        });
        assert_eq!(text, format!("#1 RUN x\n#1 {long}\n"));
        assert_eq!(progress.finish(), "#1 end\n");
    }
}
