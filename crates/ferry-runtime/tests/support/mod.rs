//! Shared helpers of the integration tests: instance specs, polling, /proc checks and
//! the locally built busybox test image (nothing is pulled).
#![allow(dead_code)] // each test binary uses its own subset

use ferry_runtime::{InstanceSpec, Workload};
use ferry_types::{InstanceId, RevisionId, ServiceId};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits for; a correctness deadline, not a timing
/// assertion (a healthy machine needs a fraction of it).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub const TEST_IMAGE: &str = "ferry-test-busybox:1";
pub const TEST_PAGE: &str = "hello from the ferry test image\n";
/// Bump when the rootfs below changes, so a stale image from an earlier run is rebuilt
/// (an up-to-date one is reused: re-importing would leave a dangling image per run).
const RECIPE: &str = "2";

pub fn spec(workload: Workload, host_port: u16, log_path: PathBuf) -> InstanceSpec {
    InstanceSpec {
        instance_id: InstanceId::generate(),
        service_id: ServiceId::generate(),
        service_name: "rt-test".to_string(),
        revision_id: RevisionId::generate(),
        workload,
        env: BTreeMap::from([
            ("PORT".to_string(), host_port.to_string()),
            ("GREETING".to_string(), "bonjour".to_string()),
        ]),
        host_port,
        cpu: 0.5,
        memory_mib: 64,
        log_path,
    }
}

pub fn process_spec(dir: &Path, command: &str, log_path: PathBuf) -> InstanceSpec {
    let port = ferry_runtime::allocate_port().expect("free port");
    let mut spec = spec(
        Workload::Process {
            dir: dir.to_path_buf(),
            command: command.to_string(),
        },
        port,
        log_path,
    );
    // The default vCPU: the only value a machine without cgroup v2 accepts.
    spec.cpu = ferry_runtime::process::limits::DEFAULT_CPU;
    spec
}

/// Polls `check` (async) until it returns Some, panicking after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Whether `pid` runs (a zombie does not: it holds nothing and waits to be reaped).
pub fn pid_alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
    !matches!(state.as_deref(), Some("Z") | Some("X") | None)
}

/// One HTTP/1.0 GET to 127.0.0.1:`port` with std's TcpStream; None if it fails.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.starts_with("HTTP/").then_some(reply)
}

/// Builds [`TEST_IMAGE`] once per test binary: a busybox-static rootfs
/// (`/bin/busybox` from the host plus applet symlinks and `/www/index.html`) imported
/// with `docker import`, CMD serving /www on 8080 with busybox httpd.
pub fn ensure_test_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let current = Command::new("docker")
            .args(["image", "inspect", "--format"])
            .arg("{{index .Config.Labels \"ferry.test-recipe\"}}")
            .arg(TEST_IMAGE)
            .output()
            .expect("run docker image inspect");
        if current.status.success() && String::from_utf8_lossy(&current.stdout).trim() == RECIPE {
            return;
        }
        let root = tempfile::tempdir().expect("temp dir");
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::fs::copy("/bin/busybox", bin.join("busybox"))
            .expect("copy /bin/busybox (install busybox-static)");
        for applet in [
            "sh", "httpd", "echo", "cat", "sleep", "ls", "env", "kill", "wget", "true", "head",
            "tail",
        ] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet symlink");
        }
        std::fs::create_dir_all(root.path().join("www")).expect("www dir");
        std::fs::create_dir_all(root.path().join("tmp")).expect("tmp dir");
        std::fs::write(root.path().join("www/index.html"), TEST_PAGE).expect("index.html");
        let script = format!(
            "tar -C {} -c . | docker import \
             --change 'CMD [\"/bin/httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]' \
             --change 'EXPOSE 8080' --change 'LABEL ferry.test-recipe={RECIPE}' - {TEST_IMAGE}",
            root.path().display()
        );
        let output = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("run docker import");
        assert!(
            output.status.success(),
            "docker import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
    TEST_IMAGE
}
