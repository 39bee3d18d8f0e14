//! Runs instances of revisions. The [`Runtime`] trait is the only way the deployer
//! touches the machine; `docker` talks to the Docker Engine, `process` runs commands on
//! the host, `fake` records calls for unit tests.

pub mod docker;
pub mod fake;
pub mod logs;
mod ports;
pub mod process;

pub use docker::DockerRuntime;
pub use fake::{FakeCall, FakeRuntime};
pub use logs::{LogLimits, LogWriter};
pub use ports::allocate_port;
pub use process::ProcessRuntime;

use async_trait::async_trait;
use ferry_types::{InstanceId, RevisionId, RuntimeKind, ServiceId};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What to run for one instance. Built by the deployer from a revision.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSpec {
    pub instance_id: InstanceId,
    pub service_id: ServiceId,
    pub service_name: String,
    pub revision_id: RevisionId,
    pub workload: Workload,
    /// Environment of the app, already including `PORT` (and apprunner's port variable).
    pub env: BTreeMap<String, String>,
    /// Loopback port allocated on the host; the router connects to `127.0.0.1:host_port`.
    pub host_port: u16,
    /// vCPU limit (a cgroup's `cpu.max` for host processes, when ferry can create one).
    pub cpu: f64,
    /// Memory limit in MiB (a cgroup's `memory.max` or `RLIMIT_DATA` for host processes).
    pub memory_mib: u32,
    /// File the instance's stdout and stderr are appended to.
    pub log_path: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// `sh -c <command>` in `dir`, in its own process group.
    Process { dir: PathBuf, command: String },
    /// A container from `image` (an image id or reference already present in the engine);
    /// `command` overrides the image's CMD via `sh -c` when set.
    Container {
        image: String,
        command: Option<String>,
        /// Port the app listens on inside the container, published on `host_port`.
        container_port: u16,
    },
}

/// An instance as the runtime sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeInstance {
    pub instance_id: InstanceId,
    pub service_id: ServiceId,
    pub revision_id: RevisionId,
    /// Container id or process group id.
    pub runtime_ref: String,
    pub address: SocketAddr,
    pub status: RunStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    /// Ended; `reason` is human text such as "exited with code 1" or "killed by SIGKILL (out of memory)".
    Exited {
        code: Option<i32>,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("image {image:?} was not found in the Docker Engine")]
    ImageNotFound { image: String },
    #[error("no container runtime: {0}")]
    Unavailable(String),
    #[error("instance {0} is not known to this runtime")]
    UnknownInstance(InstanceId),
    /// The spec cannot be run by this driver (for example a process workload given to
    /// the docker driver, or an instance id that is not a safe file/container name).
    #[error("invalid instance spec: {0}")]
    InvalidSpec(String),
    /// An image build (or push) that failed on its own terms: a RUN that exited
    /// non-zero, a missing base image. The message is the engine's.
    #[error("{0}")]
    BuildFailed(String),
    #[error("docker engine request failed: {context}")]
    Docker {
        context: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// A resolved image: what the revision pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedImage {
    /// `sha256:…` image id in the engine.
    pub id: String,
    /// Port the image declares with EXPOSE, if exactly one.
    pub exposed_port: Option<u16>,
}

/// Credentials for pulling an image from a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: this ends up in logs.
        f.debug_struct("RegistryCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An image build through the engine: a context archive and the Dockerfile in it.
#[derive(Clone, Debug)]
pub struct ImageBuildSpec {
    /// An uncompressed tar file: the build context.
    pub context: std::path::PathBuf,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    /// The name the image gets (`host:port/repo:tag`).
    pub tag: String,
    pub labels: std::collections::HashMap<String, String>,
    /// Build with BuildKit (see [`Runtime::buildkit_available`]) rather than the
    /// classic builder: cache and secret mounts work, the context is held in memory.
    pub buildkit: bool,
    /// BuildKit secrets: the id a `RUN --mount=type=secret,id=<id>` names, and the file
    /// holding its value (read when the step asks; never part of the context).
    pub secret_files: Vec<(String, std::path::PathBuf)>,
}

/// Where a build or push writes its progress: one piece of output at a time.
pub type BuildOutput<'a> = &'a mut (dyn FnMut(&str) + Send);

/// A driver that starts, lists and stops instances. Implementations are safe to call
/// concurrently and every call is idempotent where it can be (stopping a stopped
/// instance succeeds).
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    fn kind(&self) -> RuntimeKind;

    /// Whether instances found by [`Runtime::list`] after a restart of ferry can be kept
    /// (containers can; host processes lost their supervisor and are replaced).
    fn can_adopt(&self) -> bool;

    /// Why this driver cannot hold an instance to `cpu` vCPU and `memory_mib` MiB, if it
    /// cannot (checked at deploy time, so the deploy is refused with the reason).
    fn check_limits(&self, _cpu: f64, _memory_mib: u32) -> Result<(), String> {
        Ok(())
    }

    /// How this driver enforces cpu and memory, in one line for logs and `ferry status`.
    fn describe_limits(&self) -> String {
        "enforced by the driver".to_string()
    }

    /// Starts an instance and returns once it has been launched (not once it is healthy).
    async fn start(&self, spec: &InstanceSpec) -> Result<RuntimeInstance, RuntimeError>;

    /// Stops an instance: SIGTERM (to the whole process group / container), then
    /// SIGKILL after `grace`, then removes what it left (container, record).
    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), RuntimeError>;

    /// Every instance this runtime manages, including ones started by an earlier ferry
    /// process (found by container labels or instance records), with current status.
    async fn list(&self) -> Result<Vec<RuntimeInstance>, RuntimeError>;

    /// Takes over an instance found by [`Runtime::list`] after a restart of ferry:
    /// resumes appending its output to `log_path`. Only called when `can_adopt()`.
    async fn adopt(&self, instance: &RuntimeInstance, log_path: &Path) -> Result<(), RuntimeError>;

    /// Current status of one instance.
    async fn status(&self, id: &InstanceId) -> Result<RunStatus, RuntimeError>;

    /// Resolves an image reference to the image id it names now (docker only).
    async fn resolve_image(&self, image: &str) -> Result<ResolvedImage, RuntimeError>;

    /// Makes `image` (a registry reference, pinned by digest) present in the runtime,
    /// pulling it with `credentials` unless it is there already. Runtimes without an
    /// image store have nothing to pull.
    async fn pull_image(
        &self,
        _image: &str,
        _credentials: Option<&RegistryCredentials>,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Builds an image from `spec`, its output written to `output` as it comes, and
    /// returns the image id. Only runtimes with an image store build.
    async fn build_image(
        &self,
        _spec: &ImageBuildSpec,
        _output: BuildOutput<'_>,
    ) -> Result<String, RuntimeError> {
        Err(RuntimeError::Unavailable(format!(
            "the {} runtime cannot build images",
            self.kind()
        )))
    }

    /// Removes the reference `image` (a tag or `name@digest`) from the runtime's image
    /// store, and the image with it when no other reference or container holds it.
    /// `Ok(false)` when it was not there or is in use; runtimes without an image store
    /// have nothing to remove.
    async fn remove_image(&self, _image: &str) -> Result<bool, RuntimeError> {
        Ok(false)
    }

    /// Whether [`Runtime::build_image`] can build with BuildKit
    /// ([`ImageBuildSpec::buildkit`]); false when only the classic builder is there.
    async fn buildkit_available(&self) -> bool {
        false
    }

    /// Pushes `image` (a name the engine has) to its registry with `credentials`.
    async fn push_image(
        &self,
        _image: &str,
        _credentials: Option<&RegistryCredentials>,
        _output: BuildOutput<'_>,
    ) -> Result<(), RuntimeError> {
        Err(RuntimeError::Unavailable(format!(
            "the {} runtime cannot push images",
            self.kind()
        )))
    }
}

/// Rejects instance ids that are unsafe as a file name (process records) or a container
/// name: ids are generated by ferry, but may come back from a URL or a label.
pub(crate) fn check_instance_id(id: &InstanceId) -> Result<(), RuntimeError> {
    let text = id.as_str();
    let safe = !text.is_empty()
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if safe {
        Ok(())
    } else {
        Err(RuntimeError::InvalidSpec(format!(
            "instance id {text:?} may only contain ASCII letters, digits, '-', '_' and '.'"
        )))
    }
}

/// Locks a driver's bookkeeping. A panic while holding the lock cannot leave the maps
/// half-updated (every critical section is a single insert/remove/read), so a poisoned
/// lock is still safe to use.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Words for an exit code. Shells and container inits report a child killed by
/// signal N as code 128+N, so such codes also name the signal.
pub(crate) fn describe_exit_code(code: i32) -> String {
    match nix::sys::signal::Signal::try_from(code - 128) {
        Ok(signal) if code > 128 => format!(
            "exited with code {code} (killed by signal {} ({}))",
            code - 128,
            signal.as_str()
        ),
        _ => format!("exited with code {code}"),
    }
}
