//! The process driver: runs a source app's command on the host (Linux), one process
//! group per instance, and keeps a JSON record per instance in a state directory so a
//! later ferry process can find and stop what an earlier one started.
//!
//! Ownership checks use `/proc/<pid>/environ`: every instance carries
//! `FERRY_INSTANCE_ID=<id>` in its environment, so a reused pid is never mistaken for
//! (or signalled as) one of ours.
//!
//! An instance's stdout and stderr are one pipe that a thread per instance copies into
//! its log file through [`LogWriter`] (lines cut, file rotated), so the log stays bounded
//! however much the app writes; `[instance]` cpu and memory are applied by [`limits`].

pub mod limits;

use crate::logs::{LogLimits, LogWriter};
use crate::{
    check_instance_id, lock, InstanceSpec, ResolvedImage, RunStatus, Runtime, RuntimeError,
    RuntimeInstance, Workload,
};
use async_trait::async_trait;
use ferry_types::{InstanceId, RevisionId, RuntimeKind, ServiceId};
use limits::Limits;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Environment variable that marks every process of an instance.
pub const INSTANCE_ENV: &str = "FERRY_INSTANCE_ID";

/// What the process runtime says when asked for containers.
const NO_CONTAINERS: &str = "this server runs the process runtime, which deploys source \
    directories only; install Docker (apt-get install docker.io), start dockerd, and restart \
    ferry server with --runtime auto or docker to deploy images";

/// Reason reported for a recorded instance whose process is gone and whose exit status
/// was lost with the ferry process that supervised it.
const NOT_RUNNING_AFTER_RESTART: &str = "not running (ferry restarted)";

/// How often stop() looks at /proc while waiting for processes to go.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// How long stop() waits for a SIGKILLed group to disappear before giving up on it.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Written to `<state_dir>/<instance-id>.json` when an instance starts.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct InstanceRecord {
    instance_id: InstanceId,
    service_id: ServiceId,
    service_name: String,
    revision_id: RevisionId,
    pid: i32,
    pgid: i32,
    host_port: u16,
    cpu: f64,
    memory_mib: u32,
    dir: PathBuf,
    command: String,
    log_path: PathBuf,
    /// The instance's cgroup, when limits are enforced with one (absent in records
    /// written before ferry used cgroups).
    #[serde(default)]
    cgroup: Option<PathBuf>,
    #[serde(with = "time::serde::rfc3339")]
    started_at: OffsetDateTime,
}

/// An instance this ferry process started and is the parent of.
struct Supervised {
    pgid: i32,
    /// `None` while running; the exit once the waiter reaped the group leader.
    exit: watch::Receiver<Option<RunStatus>>,
    /// Reaps the child; finishes on its own when the child exits.
    _waiter: JoinHandle<()>,
}

/// Runs `sh -c <command>` instances on the host.
pub struct ProcessRuntime {
    state_dir: PathBuf,
    supervised: Mutex<HashMap<InstanceId, Supervised>>,
    log_limits: LogLimits,
    limits: Limits,
}

impl ProcessRuntime {
    /// Creates the driver; `state_dir` holds one record per instance and is created if
    /// missing. Records left there by an earlier ferry process show up in `list()`.
    /// How cpu and memory are enforced is detected ([`Limits::detect`]).
    pub fn new(state_dir: PathBuf) -> Result<Self, RuntimeError> {
        std::fs::create_dir_all(&state_dir).map_err(|source| RuntimeError::Io {
            context: format!("creating process state directory {}", state_dir.display()),
            source,
        })?;
        Ok(Self {
            state_dir,
            supervised: Mutex::new(HashMap::new()),
            log_limits: LogLimits::default(),
            limits: Limits::detect(),
        })
    }

    /// Bounds of the instance logs this driver writes.
    pub fn with_log_limits(mut self, limits: LogLimits) -> Self {
        self.log_limits = limits;
        self
    }

    /// Replaces the detected enforcement of cpu and memory (tests use rlimits).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How cpu and memory are enforced.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The directory holding instance records.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    fn record_path(&self, id: &InstanceId) -> PathBuf {
        self.state_dir.join(format!("{}.json", id.as_str()))
    }

    async fn read_record(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, RuntimeError> {
        if check_instance_id(id).is_err() {
            return Ok(None);
        }
        let path = self.record_path(id);
        match tokio::fs::read(&path).await {
            Ok(bytes) => parse_record(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RuntimeError::Io {
                context: format!("reading instance record {}", path.display()),
                source,
            }),
        }
    }

    async fn write_record(&self, record: &InstanceRecord) -> Result<(), RuntimeError> {
        let path = self.record_path(&record.instance_id);
        let io_err = |source| RuntimeError::Io {
            context: "writing the instance record".to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(record).map_err(|e| io_err(io::Error::other(e)))?;
        // Write then rename so a reader never sees half a record.
        let tmp = path.with_extension("json.tmp");
        tokio::fs::write(&tmp, json).await.map_err(io_err)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io_err)
    }

    async fn remove_record(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        let path = self.record_path(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RuntimeError::Io {
                context: format!("removing instance record {}", path.display()),
                source,
            }),
        }
    }

    /// Status of a recorded instance: from the waiter when this process started it,
    /// from /proc when an earlier ferry process did.
    fn status_of(&self, record: &InstanceRecord) -> RunStatus {
        if let Some(supervised) = lock(&self.supervised).get(&record.instance_id) {
            return supervised
                .exit
                .borrow()
                .clone()
                .unwrap_or(RunStatus::Running);
        }
        if process_is_ours(record.pid, &record.instance_id) {
            RunStatus::Running
        } else {
            RunStatus::Exited {
                code: None,
                reason: NOT_RUNNING_AFTER_RESTART.to_string(),
            }
        }
    }

    fn to_instance(&self, record: &InstanceRecord) -> RuntimeInstance {
        RuntimeInstance {
            instance_id: record.instance_id.clone(),
            service_id: record.service_id.clone(),
            revision_id: record.revision_id.clone(),
            runtime_ref: record.pgid.to_string(),
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, record.host_port)),
            status: self.status_of(record),
        }
    }

    /// Kills a process group we own, used when start fails after the spawn.
    fn kill_group_now(pgid: i32) {
        if let Err(e) = signal_group(pgid, Signal::SIGKILL) {
            tracing::warn!(pgid, error = %e, "could not kill process group");
        }
    }
}

#[async_trait]
impl Runtime for ProcessRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Process
    }

    fn can_adopt(&self) -> bool {
        false
    }

    fn check_limits(&self, cpu: f64, memory_mib: u32) -> Result<(), String> {
        self.limits.check(cpu, memory_mib)
    }

    fn describe_limits(&self) -> String {
        self.limits.describe()
    }

    async fn start(&self, spec: &InstanceSpec) -> Result<RuntimeInstance, RuntimeError> {
        let (dir, command) = match &spec.workload {
            Workload::Process { dir, command } => (dir, command),
            Workload::Container { .. } => {
                return Err(RuntimeError::Unavailable(NO_CONTAINERS.to_string()))
            }
        };
        let id = &spec.instance_id;
        check_instance_id(id)?;
        if lock(&self.supervised).contains_key(id) || self.read_record(id).await?.is_some() {
            return Err(RuntimeError::InvalidSpec(format!(
                "instance {id} already exists; stop it before starting it again"
            )));
        }
        match tokio::fs::metadata(dir).await {
            Ok(meta) if meta.is_dir() => {}
            // Said without the path: it is the data dir's business, not the user's.
            Ok(_) => {
                return Err(RuntimeError::InvalidSpec(
                    "the revision's source directory is not a directory".to_string(),
                ))
            }
            Err(source) => {
                return Err(RuntimeError::Io {
                    context: "the revision's source directory".to_string(),
                    source,
                })
            }
        }

        self.limits
            .check(spec.cpu, spec.memory_mib)
            .map_err(RuntimeError::InvalidSpec)?;
        let log = LogWriter::open(&spec.log_path, self.log_limits).map_err(|source| {
            RuntimeError::Io {
                context: "opening the instance's log file".to_string(),
                source,
            }
        })?;
        let io_err = |context: &str| {
            let context = context.to_string();
            move |source| RuntimeError::Io { context, source }
        };
        // One pipe for stdout and stderr keeps their lines in the order written.
        let (reader, writer) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|errno| {
                io_err("creating the instance's output pipe")(io::Error::from(errno))
            })?;
        let stderr = writer
            .try_clone()
            .map_err(io_err("creating the instance's output pipe"))?;
        let prepared = self
            .limits
            .prepare(id.as_str(), spec.cpu, spec.memory_mib)
            .map_err(io_err("creating the instance's cgroup"))?;
        let mut sh = tokio::process::Command::new("sh");
        // The server's build secrets are for the builds that name them, not instances.
        for name in ferry_types::build_secret_env_names() {
            sh.env_remove(name);
        }
        let spawned = sh
            .arg("-c")
            .arg(&prepared.script)
            .arg("ferry")
            .arg(command)
            .args(&prepared.args)
            .current_dir(dir)
            .envs(&spec.env)
            .env(INSTANCE_ENV, id.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(stderr))
            // Its own group, so stop() reaches every process the command starts.
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(source) => {
                if let Some(group) = &prepared.cgroup {
                    limits::release(group).await;
                }
                return Err(RuntimeError::Io {
                    context: format!("starting `sh -c {}`", shorten(command)),
                    source,
                });
            }
        };
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| RuntimeError::Io {
                context: format!("starting `sh -c {}`", shorten(command)),
                source: io::Error::other("the spawned process has no pid"),
            })?;
        // process_group(0) makes the child the leader of a new group named by its pid.
        let pgid = pid;
        // The write ends went to the child with the Command; the thread ends at EOF,
        // when every process of the instance has closed its output.
        let pumped = std::thread::Builder::new()
            .name(format!("log-{id}"))
            .spawn({
                let id = id.clone();
                move || pump_output(File::from(reader), log, &id)
            });
        if let Err(source) = pumped {
            Self::kill_group_now(pgid);
            let _ = child.wait().await;
            return Err(RuntimeError::Io {
                context: "starting the instance's log thread".to_string(),
                source,
            });
        }

        let record = InstanceRecord {
            instance_id: id.clone(),
            service_id: spec.service_id.clone(),
            service_name: spec.service_name.clone(),
            revision_id: spec.revision_id.clone(),
            pid,
            pgid,
            host_port: spec.host_port,
            cpu: spec.cpu,
            memory_mib: spec.memory_mib,
            dir: dir.clone(),
            command: command.clone(),
            log_path: spec.log_path.clone(),
            cgroup: prepared.cgroup.clone(),
            started_at: OffsetDateTime::now_utc(),
        };
        if let Err(e) = self.write_record(&record).await {
            // Without a record a later ferry could not find it: do not leave it running.
            Self::kill_group_now(pgid);
            let _ = child.wait().await;
            if let Some(group) = &prepared.cgroup {
                limits::release(group).await;
            }
            return Err(e);
        }

        let (exit_tx, exit_rx) = watch::channel(None);
        let waiter_id = id.clone();
        let waiter = tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => RunStatus::Exited {
                    code: None,
                    reason: format!("could not wait for the process: {e}"),
                },
            };
            tracing::debug!(instance = %waiter_id, ?status, "process exited");
            exit_tx.send_replace(Some(status));
        });
        lock(&self.supervised).insert(
            id.clone(),
            Supervised {
                pgid,
                exit: exit_rx,
                _waiter: waiter,
            },
        );
        tracing::info!(instance = %id, pid, port = spec.host_port, "started process");
        Ok(self.to_instance(&record))
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), RuntimeError> {
        let supervised = lock(&self.supervised)
            .get(id)
            .map(|s| (s.pgid, s.exit.clone()));
        let record = self.read_record(id).await?;
        let (pgid, pid) = match (&supervised, &record) {
            (Some((pgid, _)), _) => (*pgid, *pgid),
            (None, Some(record)) => (record.pgid, record.pid),
            (None, None) => return Ok(()),
        };
        // A group we supervise is ours while any member lives (its number cannot be
        // reused until the group is empty); a recorded one must prove it by the marker.
        let owned = |pgid| supervised.is_some() || group_has_marker(pgid, id);

        if owned(pgid) {
            signal_group(pgid, Signal::SIGTERM).map_err(|e| signal_error(id, e))?;
            let deadline = Instant::now() + grace;
            match &supervised {
                Some((_, exit)) => {
                    let mut exit = exit.clone();
                    let _ = tokio::time::timeout_at(deadline, exit.wait_for(Option::is_some)).await;
                }
                None => {
                    while process_is_ours(pid, id) && Instant::now() < deadline {
                        tokio::time::sleep(POLL_INTERVAL).await;
                    }
                }
            }
        }
        // Whatever is left (SIGTERM ignored, or grandchildren that outlived the leader).
        if owned(pgid) && !live_group_members(pgid).is_empty() {
            signal_group(pgid, Signal::SIGKILL).map_err(|e| signal_error(id, e))?;
            let deadline = Instant::now() + KILL_WAIT;
            while !live_group_members(pgid).is_empty() && Instant::now() < deadline {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            let left = live_group_members(pgid);
            if !left.is_empty() {
                tracing::warn!(instance = %id, pgid, ?left, "processes survived SIGKILL");
            }
        }

        if let Some(group) = record.as_ref().and_then(|r| r.cgroup.as_ref()) {
            limits::release(group).await;
        }
        self.remove_record(id).await?;
        lock(&self.supervised).remove(id);
        tracing::info!(instance = %id, pgid, "stopped process group");
        Ok(())
    }

    async fn list(&self) -> Result<Vec<RuntimeInstance>, RuntimeError> {
        let io_err = |source| RuntimeError::Io {
            context: format!("listing instance records in {}", self.state_dir.display()),
            source,
        };
        let mut entries = tokio::fs::read_dir(&self.state_dir).await.map_err(io_err)?;
        let mut instances = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                // Removed by a concurrent stop between read_dir and read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(io_err(source)),
            };
            match parse_record(&path, &bytes) {
                Ok(record) => instances.push(self.to_instance(&record)),
                Err(e) => tracing::warn!(error = %e, "skipping unreadable instance record"),
            }
        }
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(instances)
    }

    async fn adopt(
        &self,
        instance: &RuntimeInstance,
        _log_path: &Path,
    ) -> Result<(), RuntimeError> {
        Err(RuntimeError::Unavailable(format!(
            "the process runtime cannot adopt instance {}: host processes lose their \
             supervisor when ferry restarts, so they are stopped and started again",
            instance.instance_id
        )))
    }

    async fn status(&self, id: &InstanceId) -> Result<RunStatus, RuntimeError> {
        if let Some(supervised) = lock(&self.supervised).get(id) {
            return Ok(supervised
                .exit
                .borrow()
                .clone()
                .unwrap_or(RunStatus::Running));
        }
        match self.read_record(id).await? {
            Some(record) => Ok(self.status_of(&record)),
            None => Err(RuntimeError::UnknownInstance(id.clone())),
        }
    }

    async fn resolve_image(&self, _image: &str) -> Result<ResolvedImage, RuntimeError> {
        Err(RuntimeError::Unavailable(NO_CONTAINERS.to_string()))
    }
}

fn parse_record(path: &Path, bytes: &[u8]) -> Result<InstanceRecord, RuntimeError> {
    serde_json::from_slice(bytes).map_err(|e| RuntimeError::Io {
        context: format!("parsing instance record {}", path.display()),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

/// Copies an instance's output into its log until every writer is gone. A failing log
/// (disk full) does not stop the copy: the app must not block on a full pipe.
fn pump_output(mut output: File, mut log: LogWriter, id: &InstanceId) {
    use std::io::Read;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut failed = false;
    loop {
        match output.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = log.write(&buffer[..n]) {
                    if !failed {
                        tracing::warn!(instance = %id, error = %e, "cannot write the instance log; dropping its output");
                    }
                    failed = true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(instance = %id, error = %e, "cannot read the instance's output");
                break;
            }
        }
    }
}

/// A command as an error message shows it: its start, when it is long.
fn shorten(command: &str) -> String {
    const SHOWN: usize = 200;
    if command.len() <= SHOWN {
        return format!("{command:?}");
    }
    let mut end = SHOWN;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &command[..end], command.len())
}

/// Turns a wait status into the words the deployer shows the user.
pub(crate) fn describe_exit(status: ExitStatus) -> RunStatus {
    if let Some(code) = status.code() {
        RunStatus::Exited {
            code: Some(code),
            reason: crate::describe_exit_code(code),
        }
    } else if let Some(signal) = status.signal() {
        let name = Signal::try_from(signal)
            .map(|s| s.as_str())
            .unwrap_or("unknown signal");
        RunStatus::Exited {
            code: None,
            reason: format!("killed by signal {signal} ({name})"),
        }
    } else {
        RunStatus::Exited {
            code: None,
            reason: "exited".to_string(),
        }
    }
}

fn signal_group(pgid: i32, signal: Signal) -> Result<(), Errno> {
    match killpg(Pid::from_raw(pgid), signal) {
        // The group is already gone: nothing to stop.
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

fn signal_error(id: &InstanceId, errno: Errno) -> RuntimeError {
    RuntimeError::Io {
        context: format!("signalling the processes of instance {id}"),
        source: io::Error::from(errno),
    }
}

/// State letter and process group of a process, from `/proc/<pid>/stat`.
fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// A zombie (or dead) process is gone for our purposes: it runs nothing and holds no port.
fn is_live_state(state: char) -> bool {
    !matches!(state, 'Z' | 'X' | 'x')
}

fn has_marker(pid: i32, id: &InstanceId) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{INSTANCE_ENV}={}", id.as_str());
    environ
        .split(|byte| *byte == 0)
        .any(|entry| entry == wanted.as_bytes())
}

/// Whether `pid` is alive and is the instance `id` (not a reused pid).
fn process_is_ours(pid: i32, id: &InstanceId) -> bool {
    matches!(proc_stat(pid), Some((state, _)) if is_live_state(state)) && has_marker(pid, id)
}

/// Live processes whose process group is `pgid`.
fn live_group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            matches!(proc_stat(*pid), Some((state, pgrp)) if pgrp == pgid && is_live_state(state))
        })
        .collect()
}

/// Whether some live member of group `pgid` carries the marker of instance `id`.
fn group_has_marker(pgid: i32, id: &InstanceId) -> bool {
    live_group_members(pgid)
        .into_iter()
        .any(|pid| has_marker(pid, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn exit_codes_and_signals_are_described() {
        let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(
            describe_exit(status),
            RunStatus::Exited {
                code: Some(3),
                reason: "exited with code 3".into()
            }
        );
        let status = Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .status()
            .unwrap();
        assert_eq!(
            describe_exit(status),
            RunStatus::Exited {
                code: None,
                reason: "killed by signal 9 (SIGKILL)".into()
            }
        );
    }

    #[test]
    fn own_process_is_seen_in_proc() {
        let me = i32::try_from(std::process::id()).unwrap();
        let (state, _) = proc_stat(me).unwrap();
        assert!(is_live_state(state));
        assert!(!has_marker(me, &InstanceId::from_string("ins-nothere")));
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        let err = parse_record(Path::new("x.json"), b"{not json").unwrap_err();
        assert!(err.to_string().contains("x.json"), "{err}");
    }
}
