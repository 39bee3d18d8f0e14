//! How the process driver holds an instance to its `[instance] cpu` and `memory`: one
//! cgroup v2 group per instance (`memory.max`, `cpu.max`) when ferry can create one,
//! else `RLIMIT_DATA` on each process, with CPU not enforceable (and so refused unless
//! left at its default).
//!
//! The limits are applied by a small `sh` prelude before the app's command is exec'd
//! (join the group, or `ulimit -d`), so no code runs between fork and exec in ferry
//! itself (which would need `unsafe`).

use std::io;
use std::path::{Path, PathBuf};

/// The vCPU an instance gets when `[instance] cpu` is not set; the only value accepted
/// when CPU cannot be enforced.
pub const DEFAULT_CPU: f64 = 1.0;

/// `cpu.max` period, the kernel's default (100 ms).
const CPU_PERIOD_US: u64 = 100_000;

/// Name of the leaf group ferry moves itself into so its own group can hand the
/// controllers to instance groups (cgroup v2 lets only leaves hold processes).
const SERVER_LEAF: &str = "ferry-server";

/// Prefix of instance groups, so leftovers are recognisable.
const INSTANCE_PREFIX: &str = "ferry-";

/// How limits are enforced on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limits {
    /// Instance groups are created under `parent`, which has the memory and cpu
    /// controllers enabled for its children.
    CgroupV2 { parent: PathBuf },
    /// No usable cgroup (why is in `reason`): memory is `RLIMIT_DATA` per process,
    /// CPU is not enforced.
    Rlimit { reason: String },
}

/// What a started instance must run before its command, and the group to clean up.
#[derive(Debug)]
pub(super) struct Prepared {
    /// `sh -c` script: apply the limits, then `exec sh -c "$1"`.
    pub script: String,
    /// Arguments after the command (`$2`…).
    pub args: Vec<String>,
    /// The instance's cgroup, to remove once its processes are gone.
    pub cgroup: Option<PathBuf>,
}

impl Limits {
    /// Looks at this process's cgroup v2 group and sets up instance groups below it
    /// when it can; otherwise falls back to rlimits and records why.
    pub fn detect() -> Self {
        match detect_cgroup_v2() {
            Ok(parent) => Limits::CgroupV2 { parent },
            Err(reason) => Limits::Rlimit { reason },
        }
    }

    /// One line for logs and `ferry status`.
    pub fn describe(&self) -> String {
        match self {
            Limits::CgroupV2 { parent } => format!(
                "cgroup v2 per instance under {} (memory.max, cpu.max)",
                parent.display()
            ),
            Limits::Rlimit { reason } => {
                format!("RLIMIT_DATA per process for memory; cpu not enforced ({reason})")
            }
        }
    }

    /// Why an instance of this size cannot be held to it here, if it cannot.
    pub fn check(&self, cpu: f64, _memory_mib: u32) -> Result<(), String> {
        match self {
            Limits::CgroupV2 { .. } => Ok(()),
            Limits::Rlimit { .. } if cpu == DEFAULT_CPU => Ok(()),
            Limits::Rlimit { reason } => Err(format!(
                "instance.cpu = {cpu} cannot be enforced for host processes on this server: \
                 ferry caps CPU with a cgroup v2 group, and {reason}; leave [instance] cpu \
                 at its default (1), or run ferry where it can create cgroups"
            )),
        }
    }

    /// Creates the instance's group (cgroup mode) and the prelude that applies the limits.
    pub(super) fn prepare(
        &self,
        instance: &str,
        cpu: f64,
        memory_mib: u32,
    ) -> io::Result<Prepared> {
        let run = r#"exec sh -c "$1""#;
        match self {
            Limits::CgroupV2 { parent } => {
                let group = parent.join(format!("{INSTANCE_PREFIX}{instance}"));
                create_instance_group(&group, cpu, memory_mib)?;
                let procs = group.join("cgroup.procs");
                Ok(Prepared {
                    script: format!(
                        "{{ echo $$ > \"$2\"; }} 2>/dev/null || \
                         {{ echo \"ferry: cannot join the instance's cgroup\" >&2; exit 125; }}; {run}"
                    ),
                    args: vec![procs.display().to_string()],
                    cgroup: Some(group),
                })
            }
            Limits::Rlimit { .. } => {
                let kib = u64::from(memory_mib) * 1024;
                Ok(Prepared {
                    script: format!(
                        "ulimit -d {kib} || \
                         {{ echo \"ferry: cannot set the memory limit\" >&2; exit 125; }}; {run}"
                    ),
                    args: Vec::new(),
                    cgroup: None,
                })
            }
        }
    }
}

/// Kills whatever is left in an instance's group (processes that left its process
/// group) and removes the group. Best effort: a group still busy stays, with a warning.
pub(super) async fn release(group: &Path) {
    if !group.exists() {
        return;
    }
    // cgroup.kill exists since Linux 5.14; without it the group's processes were the
    // process group's, already killed.
    let _ = std::fs::write(group.join("cgroup.kill"), "1");
    for _ in 0..50 {
        match std::fs::remove_dir(group) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            // Busy until the killed processes are reaped.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    tracing::warn!(group = %group.display(), "could not remove the instance's cgroup");
}

fn create_instance_group(group: &Path, cpu: f64, memory_mib: u32) -> io::Result<()> {
    match std::fs::create_dir(group) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let memory = u64::from(memory_mib) * 1024 * 1024;
    let quota = (cpu * CPU_PERIOD_US as f64).round().max(1000.0) as u64;
    let result = std::fs::write(group.join("memory.max"), memory.to_string())
        .and_then(|()| std::fs::write(group.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}")));
    if let Err(e) = result {
        let _ = std::fs::remove_dir(group);
        return Err(e);
    }
    // Swap would let an instance exceed its memory unnoticed; absent without swap.
    let _ = std::fs::write(group.join("memory.swap.max"), "0");
    Ok(())
}

/// Finds this process's cgroup v2 group and makes it a parent for instance groups.
fn detect_cgroup_v2() -> Result<PathBuf, String> {
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let relative = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or("this machine has no cgroup v2 hierarchy")?
        .to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let (mount_point, mount_root) =
        cgroup2_mount(&mountinfo).ok_or("no cgroup v2 file system is mounted")?;
    let group = group_dir(&mount_point, &mount_root, &relative)
        .ok_or("ferry's cgroup is outside the mounted cgroup v2 file system")?;
    let is_root = relative == "/";
    prepare_parent(&group, is_root, std::process::id())
}

/// The mount point and root of the first cgroup2 file system in `/proc/self/mountinfo`.
fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, String)> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = before.split_whitespace();
        let root = fields.nth(3)?.to_string();
        let point = fields.next()?;
        Some((PathBuf::from(point), root))
    })
}

/// Where group `relative` (from /proc/self/cgroup) is under a mount of `mount_root`.
fn group_dir(mount_point: &Path, mount_root: &str, relative: &str) -> Option<PathBuf> {
    let inside = if mount_root == "/" {
        relative
    } else {
        relative.strip_prefix(mount_root)?
    };
    let inside = inside.trim_start_matches('/');
    Some(if inside.is_empty() {
        mount_point.to_path_buf()
    } else {
        mount_point.join(inside)
    })
}

fn has_controllers(list: &str) -> bool {
    let names: Vec<&str> = list.split_whitespace().collect();
    names.contains(&"memory") && names.contains(&"cpu")
}

/// Makes `group` (ferry's own cgroup) able to give instance groups the memory and cpu
/// controllers: ferry moves itself into a leaf `ferry-server` (a non-root group with
/// processes cannot enable controllers for children), then enables them. Undone when
/// it fails (another process in the group, no permission), and the reason returned.
fn prepare_parent(group: &Path, is_root: bool, pid: u32) -> Result<PathBuf, String> {
    // Already moved by an earlier driver in this process: the parent is one up.
    let group = if group.file_name().is_some_and(|n| n == SERVER_LEAF) {
        group.parent().unwrap_or(group)
    } else {
        group
    };
    let read = |name: &str| std::fs::read_to_string(group.join(name)).unwrap_or_default();
    if !has_controllers(&read("cgroup.controllers")) {
        return Err(format!(
            "the cgroup v2 group {} does not offer the memory and cpu controllers",
            group.display()
        ));
    }
    if has_controllers(&read("cgroup.subtree_control")) {
        return Ok(group.to_path_buf());
    }
    let leaf = group.join(SERVER_LEAF);
    if !is_root {
        let moved = std::fs::create_dir_all(&leaf)
            .and_then(|()| std::fs::write(leaf.join("cgroup.procs"), pid.to_string()));
        if let Err(e) = moved {
            return Err(format!(
                "cannot create cgroups under {} ({e})",
                group.display()
            ));
        }
    }
    if let Err(e) = std::fs::write(group.join("cgroup.subtree_control"), "+memory +cpu") {
        if !is_root {
            let _ = std::fs::write(group.join("cgroup.procs"), pid.to_string());
            let _ = std::fs::remove_dir(&leaf);
        }
        return Err(format!(
            "cannot enable the memory and cpu controllers in {} ({e}; other processes may share ferry's cgroup)",
            group.display()
        ));
    }
    Ok(group.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_and_the_group_under_it() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let (point, root) = cgroup2_mount(mountinfo).unwrap();
        assert_eq!(point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(root, "/");
        assert_eq!(
            group_dir(&point, &root, "/system.slice/ferry.service"),
            Some(PathBuf::from(
                "/sys/fs/cgroup/unified/system.slice/ferry.service"
            ))
        );
        assert_eq!(group_dir(&point, &root, "/"), Some(point.clone()));
        // A container's view: the mount's root is its own group.
        assert_eq!(
            group_dir(
                Path::new("/sys/fs/cgroup"),
                "/docker/abc",
                "/docker/abc/app"
            ),
            Some(PathBuf::from("/sys/fs/cgroup/app"))
        );
        assert_eq!(group_dir(Path::new("/x"), "/a", "/b"), None);
        assert_eq!(cgroup2_mount("31 23 0:28 / /x rw - tmpfs tmpfs rw\n"), None);
    }

    /// A directory standing in for a cgroup v2 group (the kernel's rules are not
    /// emulated: this checks what ferry writes, not what the kernel allows).
    fn fake_group(controllers: &str, enabled: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(dir.path().join("cgroup.subtree_control"), enabled).unwrap();
        dir
    }

    #[test]
    fn a_group_with_the_controllers_becomes_the_parent_of_instance_groups() {
        let group = fake_group("cpuset cpu io memory pids", "");
        let parent = prepare_parent(group.path(), false, 4242).unwrap();
        assert_eq!(parent, group.path());
        let leaf = group.path().join(SERVER_LEAF);
        assert_eq!(
            std::fs::read_to_string(leaf.join("cgroup.procs")).unwrap(),
            "4242"
        );
        assert_eq!(
            std::fs::read_to_string(group.path().join("cgroup.subtree_control")).unwrap(),
            "+memory +cpu"
        );
        // A second driver in the same process (now in the leaf) finds the same parent.
        std::fs::write(group.path().join("cgroup.subtree_control"), "cpu memory").unwrap();
        assert_eq!(prepare_parent(&leaf, false, 4242).unwrap(), group.path());

        let limits = Limits::CgroupV2 {
            parent: parent.clone(),
        };
        assert!(limits.check(2.0, 128).is_ok());
        let prepared = limits.prepare("ins-abc", 0.5, 128).unwrap();
        let instance = parent.join("ferry-ins-abc");
        assert_eq!(prepared.cgroup.as_deref(), Some(instance.as_path()));
        assert_eq!(
            std::fs::read_to_string(instance.join("memory.max")).unwrap(),
            (128u64 << 20).to_string()
        );
        assert_eq!(
            std::fs::read_to_string(instance.join("cpu.max")).unwrap(),
            "50000 100000"
        );
        assert_eq!(
            prepared.args,
            [instance.join("cgroup.procs").display().to_string()]
        );
        assert!(
            prepared.script.contains(r#"echo $$ > "$2""#),
            "{}",
            prepared.script
        );
        assert!(prepared.script.ends_with(r#"exec sh -c "$1""#));
    }

    #[test]
    fn without_the_controllers_ferry_falls_back_and_says_why() {
        let group = fake_group("pids io", "");
        let err = prepare_parent(group.path(), false, 1).unwrap_err();
        assert!(err.contains("memory and cpu controllers"), "{err}");
        assert!(!group.path().join(SERVER_LEAF).exists());

        let limits = Limits::Rlimit { reason: err };
        assert!(limits.check(DEFAULT_CPU, 128).is_ok());
        let refused = limits.check(2.0, 128).unwrap_err();
        assert!(
            refused.contains("instance.cpu = 2 cannot be enforced"),
            "{refused}"
        );
        let prepared = limits.prepare("ins-abc", 1.0, 128).unwrap();
        assert!(
            prepared.script.starts_with("ulimit -d 131072 "),
            "{}",
            prepared.script
        );
        assert!(prepared.cgroup.is_none());
        assert!(limits.describe().starts_with("RLIMIT_DATA"));
    }
}
