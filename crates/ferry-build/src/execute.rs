//! Runs a build plan's steps on the host, output appended to a log file; the install
//! step goes through the dependency cache (`deps.rs`) when one is given.

use crate::deps::{DepCache, DepsOutcome};
use crate::mask::SecretMasker;
use crate::plan::BuildPlan;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("build step {step} `{command}` {outcome}")]
    StepFailed {
        step: usize,
        command: String,
        outcome: String,
    },
    #[error("build step {step} `{command}` did not finish within {}s", .timeout.as_secs())]
    TimedOut {
        step: usize,
        command: String,
        timeout: Duration,
    },
    /// Said without the directory: it is a data-dir path, not the user's business
    /// (`dir` is kept for logs and `Debug`).
    #[error("cannot run the build in the revision's directory")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A build log stops growing at this size: the rest of the output is read and
/// dropped, with a line saying so (the build itself goes on).
pub const MAX_BUILD_LOG_BYTES: u64 = 8 * 1024 * 1024;
/// How long the log copier may go on after a step ended (a process the step left
/// running may hold the pipe open; its later output is not the step's).
const COPIER_GRACE: Duration = Duration::from_secs(5);

/// Copies a step's output into the log until the pipe closes, through `masker` (build
/// secrets become `***`), up to [`MAX_BUILD_LOG_BYTES`] for the whole file.
fn copy_bounded(mut from: std::io::PipeReader, mut log: std::fs::File, mut masker: SecretMasker) {
    use std::io::{Read, Write};
    let mut size = log.metadata().map_or(0, |m| m.len());
    let mut buffer = vec![0u8; 64 * 1024];
    let mut cut = false;
    let mut done = false;
    while !done {
        let masked = match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                done = true;
                masker.finish()
            }
            Ok(n) => masker.push(&buffer[..n]),
        };
        let n = masked.len();
        let room = MAX_BUILD_LOG_BYTES.saturating_sub(size);
        let take = usize::try_from(room).map_or(n, |room| room.min(n));
        if take > 0 && log.write_all(&masked[..take]).is_ok() {
            size += take as u64;
        }
        if take < n && !cut {
            cut = true;
            let _ = writeln!(
                log,
                "\n… build output cut: the log is limited to {} MiB",
                MAX_BUILD_LOG_BYTES / (1024 * 1024)
            );
        }
    }
}

/// Runs every step in `dir`, stopping at the first failure. Each step gets `timeout`.
/// stdout and stderr go to `log_path` (appended, bounded by [`MAX_BUILD_LOG_BYTES`]),
/// so a failure's last lines can be shown.
pub async fn execute(
    plan: &BuildPlan,
    dir: &Path,
    log_path: &Path,
    timeout: Duration,
) -> Result<(), BuildError> {
    run_steps(plan, dir, log_path, timeout, &BuildSecrets::default()).await
}

/// Build secrets: set as variables of every step, their values masked in the log.
#[derive(Clone, Default)]
pub struct BuildSecrets {
    pub values: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for BuildSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: this may end up in a log.
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl BuildSecrets {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn masker(&self) -> SecretMasker {
        SecretMasker::new(self.values.values())
    }
}

/// Runs the plan like [`execute`] with `secrets` in every step's environment and the
/// output masked on its way to the log. The dependency cache is not used: its key
/// does not cover what the secrets gave the install step access to.
pub async fn execute_with_secrets(
    plan: &BuildPlan,
    dir: &Path,
    log_path: &Path,
    timeout: Duration,
    secrets: &BuildSecrets,
) -> Result<(), BuildError> {
    run_steps(plan, dir, log_path, timeout, secrets).await
}

async fn run_steps(
    plan: &BuildPlan,
    dir: &Path,
    log_path: &Path,
    timeout: Duration,
    secrets: &BuildSecrets,
) -> Result<(), BuildError> {
    let io_err = |source| BuildError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    if let Some(parent) = log_path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err)?;
    }
    for (index, step) in plan.steps().enumerate() {
        let step_number = index + 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(io_err)?;
        // What the log and errors show of the command: masked like its output.
        let shown = if secrets.is_empty() {
            step.command.clone()
        } else {
            secrets.masker().mask_all(&step.command)
        };
        {
            use std::io::Write;
            let mut header = &log;
            writeln!(header, "--> build step {step_number}: {shown}").map_err(io_err)?;
        }
        // One pipe for both streams, copied into the log by a thread with a bound.
        let (reader, writer) = std::io::pipe().map_err(io_err)?;
        let stderr = writer.try_clone().map_err(io_err)?;
        let mut command = Command::new("sh");
        // The server's build secrets reach a build only as the values it names.
        for name in ferry_types::build_secret_env_names() {
            command.env_remove(name);
        }
        let spawned = command
            .arg("-c")
            .arg(&step.command)
            .current_dir(dir)
            .envs(&plan.env)
            .envs(&secrets.values)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        // The parent's copies of the writers go with `command`; then they are the
        // child's (or gone with a failed spawn): the copier sees the end of the output
        // when the step's processes close it.
        drop(command);
        let masker = secrets.masker();
        let copier = tokio::task::spawn_blocking(move || copy_bounded(reader, log, masker));
        let mut child = spawned.map_err(io_err)?;
        // The step runs in its own process group; the guard kills the whole group
        // when the step times out or the build is cancelled (this future dropped), so
        // commands the shell started never outlive the build.
        let group = GroupGuard(child.id().and_then(|pid| i32::try_from(pid).ok()));
        let status = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => {
                group.disarm();
                status.map_err(io_err)?
            }
            Err(_) => {
                drop(group);
                let _ = child.kill().await;
                return Err(BuildError::TimedOut {
                    step: step_number,
                    command: shown,
                    timeout,
                });
            }
        };
        let _ = tokio::time::timeout(COPIER_GRACE, copier).await;
        if !status.success() {
            let outcome = match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".to_string(),
            };
            return Err(BuildError::StepFailed {
                step: step_number,
                command: shown,
                outcome,
            });
        }
    }
    Ok(())
}

/// Runs `plan` in `dir` like [`execute`], its install step through `cache` when there
/// is one and the step can be cached (see [`crate::deps::cacheable`]). Returns what
/// happened to the install step, `None` when the plan has none.
pub async fn execute_cached(
    plan: &BuildPlan,
    dir: &Path,
    log_path: &Path,
    timeout: Duration,
    cache: Option<&DepCache>,
) -> Result<Option<DepsOutcome>, BuildError> {
    // Go and Rust builds share their compilers' caches, install step or not.
    let with_compiler_cache;
    let plan = match cache {
        Some(cache) => {
            let root = cache.compiler_root();
            let env = crate::compiler_cache::compiler_cache_env(&root, plan);
            if env.is_empty() {
                plan
            } else {
                // Bounding the caches is housekeeping: its failure must not fail the build.
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(err) = crate::compiler_cache::gc_compiler_caches(&root) {
                        tracing::warn!(error = %err, "cannot bound the compiler caches");
                    }
                })
                .await;
                let mut extended = plan.clone();
                for (name, value) in env {
                    extended.env.entry(name).or_insert(value);
                }
                with_compiler_cache = extended;
                &with_compiler_cache
            }
        }
        None => plan,
    };
    let (Some(cache), false) = (cache, plan.install.is_empty()) else {
        execute(plan, dir, log_path, timeout).await?;
        return Ok(None);
    };
    let outcome = cache.install(plan, dir, log_path, timeout).await?;
    let rest = if matches!(outcome, DepsOutcome::Uncached { .. }) {
        plan.clone()
    } else {
        BuildPlan {
            install: Vec::new(),
            ..plan.clone()
        }
    };
    execute(&rest, dir, log_path, timeout).await?;
    Ok(Some(outcome))
}

/// Kills a step's process group when dropped, unless the step ended by itself.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(commands: &[&str]) -> BuildPlan {
        BuildPlan {
            build: commands.iter().map(|c| c.to_string()).collect(),
            env: [("GREETING".to_string(), "hi".to_string())].into(),
            ..BuildPlan::default()
        }
    }

    #[tokio::test]
    async fn runs_steps_in_order_in_the_directory_and_logs_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/build.log");
        execute(
            &plan(&["echo $GREETING > out.txt", "cat out.txt"]),
            dir.path(),
            &log,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("--> build step 2: cat out.txt"));
        assert!(text.contains("hi"));
    }

    #[tokio::test]
    async fn the_log_is_bounded_and_the_build_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let limit = MAX_BUILD_LOG_BYTES;
        execute(
            &plan(&[
                &format!("head -c {} /dev/zero | tr '\\0' x; echo", limit + 100_000),
                "echo second step >&2; touch done",
            ]),
            dir.path(),
            &log,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert!(dir.path().join("done").exists());
        let size = std::fs::metadata(&log).unwrap().len();
        assert!(size <= limit + 200, "{size}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("build output cut"));
        // The step ran (its header is there) but its output is past the limit.
        assert!(!text.contains("\nsecond step\n"));
    }

    #[tokio::test]
    async fn secrets_reach_the_steps_and_never_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let secrets = BuildSecrets {
            values: [("API_KEY".to_string(), "k3y-Value".to_string())].into(),
        };
        execute_with_secrets(
            &plan(&[
                "echo \"key=$API_KEY\"; printf 'k3y'; printf -- '-Value\\n' >&2",
                "test \"$API_KEY\" = k3y-Value && echo same > out.txt",
            ]),
            dir.path(),
            &log,
            Duration::from_secs(10),
            &secrets,
        )
        .await
        .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("k3y-Value"), "{text}");
        assert!(text.contains("key=***\n***\n"), "{text}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
            "same\n"
        );
        assert_eq!(format!("{secrets:?}"), "[\"API_KEY\"]");
    }

    #[tokio::test]
    async fn stops_at_the_first_failing_step() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let err = execute(
            &plan(&["exit 3", "touch never"]),
            dir.path(),
            &log,
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "build step 1 `exit 3` exited with code 3");
        assert!(!dir.path().join("never").exists());
    }

    #[tokio::test]
    async fn times_out() {
        let dir = tempfile::tempdir().unwrap();
        let err = execute(
            &plan(&["sleep 5"]),
            dir.path(),
            &dir.path().join("b.log"),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, BuildError::TimedOut { .. }));
    }

    #[tokio::test]
    async fn a_cancelled_build_leaves_no_process_behind() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let steps = plan(&["sleep 60 & echo $! > pid; wait"]);
        let log = dir.path().join("b.log");
        let build = execute(&steps, dir.path(), &log, Duration::from_secs(120));
        // Cancel by dropping the build future once the grandchild is running.
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::pin!(build);
            loop {
                tokio::select! {
                    _ = &mut build => panic!("the build should still run"),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                if std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n')) {
                    break;
                }
            }
        })
        .await;
        assert!(waited.is_ok(), "the build never started its sleep");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The sleep is the shell's child, in the step's group: gone soon after.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "sleep {pid} outlived its cancelled build"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
