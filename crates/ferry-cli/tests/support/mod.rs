//! `TestPlatform`: the real `ferry server` binary on ephemeral ports with a temp data
//! dir, the real `ferry` CLI against it, and curl through its router.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use ferry_server::data_dir::{DataDir, ServerInfo};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// The workspace's `examples/apps/<name>`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/apps")
        .join(name)
}

pub struct TestPlatform {
    pub data: tempfile::TempDir,
    pub server: Option<Child>,
    pub info: ServerInfo,
    runtime: String,
    /// Command the server is started through (e.g. `prlimit --nofile=…`), if any.
    launcher: Vec<String>,
    /// Arguments appended to `ferry server …`.
    extra_args: Vec<String>,
    /// Extra environment of the server process (its flags' variables).
    env: Vec<(String, String)>,
}

impl TestPlatform {
    /// Starts a server with the process runtime only.
    pub fn start() -> Self {
        Self::start_with("process")
    }

    /// Starts a server with `--runtime <runtime>` (`process`, `docker`, `auto`).
    pub fn start_with(runtime: &str) -> Self {
        Self::start_custom(runtime, &[], &[])
    }

    /// Starts a server with `--runtime <runtime>` and more `ferry server` flags.
    pub fn start_with_args(runtime: &str, server_args: &[&str]) -> Self {
        Self::start_custom(runtime, &[], server_args)
    }

    /// Starts a server with `--runtime <runtime>` and extra environment variables
    /// (`FERRY_LOG_MAX_SIZE`, …) for its flags.
    pub fn start_with_env(runtime: &str, env: &[(&str, &str)]) -> Self {
        Self::launch(runtime, &[], &[], env)
    }

    /// Starts a server with `--runtime <runtime>` and `extra_args`, launched through
    /// `launcher` (a command that runs its arguments, like `prlimit --nofile=N:N`).
    pub fn start_custom(runtime: &str, launcher: &[&str], extra_args: &[&str]) -> Self {
        Self::launch(runtime, launcher, extra_args, &[])
    }

    fn launch(runtime: &str, launcher: &[&str], extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let data = tempfile::Builder::new()
            .prefix("ferry-test-")
            .tempdir()
            .expect("temp dir");
        let mut platform = Self {
            data,
            server: None,
            info: ServerInfo {
                api: String::new(),
                router: String::new(),
                pid: 0,
                version: String::new(),
            },
            runtime: runtime.to_string(),
            launcher: launcher.iter().map(|s| s.to_string()).collect(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        platform.boot();
        platform
    }

    fn data_dir(&self) -> DataDir {
        DataDir::new(self.data.path())
    }

    /// (Re)starts the server process on the same data dir and waits until it is ready.
    pub fn boot(&mut self) {
        let _ = std::fs::remove_file(self.data_dir().server_info_file());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.path().join("server.log"))
            .expect("server log");
        let mut command = match self.launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(FERRY);
                command
            }
            None => Command::new(FERRY),
        };
        let child = command
            .args([
                "server",
                "--api",
                "127.0.0.1:0",
                "--router",
                "127.0.0.1:0",
                "--runtime",
                &self.runtime,
            ])
            .args(&self.extra_args)
            .env("FERRY_DATA_DIR", self.data.path())
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start ferry server");
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(info) = self.data_dir().read_server_info() {
                if info.pid == self.server.as_ref().map_or(0, |c| c.id()) {
                    self.info = info;
                    return;
                }
            }
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("ferry server exited with {status}:\n{}", self.server_log());
            }
            assert!(
                Instant::now() < deadline,
                "server not ready:\n{}",
                self.server_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server process's resident memory now, in KiB (`VmRSS` of /proc/<pid>/status).
    pub fn server_rss_kib(&self) -> u64 {
        let pid = self.server.as_ref().expect("server running").id();
        rss_kib(pid).expect("server process status")
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default()
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("token"))
            .expect("token")
            .trim()
            .to_string()
    }

    pub fn router_port(&self) -> u16 {
        self.info
            .router
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("router port")
    }

    /// Runs the CLI against this server.
    pub fn ferry(&self, args: &[&str]) -> Output {
        Command::new(FERRY)
            .args(args)
            .env("FERRY_DATA_DIR", self.data.path())
            .env_remove("FERRY_TOKEN")
            .env_remove("FERRY_SERVER")
            .env("NO_COLOR", "1")
            .output()
            .expect("run ferry")
    }

    /// Runs the CLI and asserts success; returns stdout.
    pub fn ferry_ok(&self, args: &[&str]) -> String {
        let output = self.ferry(args);
        assert!(
            output.status.success(),
            "ferry {args:?} failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            tail(&self.server_log(), 40)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs the CLI and asserts failure; returns stdout + stderr.
    pub fn ferry_fails(&self, args: &[&str]) -> String {
        let output = self.ferry(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "ferry {args:?} should fail:\n{text}"
        );
        text
    }

    /// `ferry <args> --json` parsed.
    pub fn ferry_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ferry_ok(&all)).expect("json output")
    }

    /// GET through the router with curl: (status, body).
    /// A service's instances from `ferry status NAME --json`: (ready, all).
    pub fn instance_counts(&self, name: &str) -> (usize, usize) {
        let status = self.ferry_json(&["status", name]);
        let list = status["runtime"]["instances"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ready = list.iter().filter(|i| i["state"] == "ready").count();
        (ready, list.len())
    }

    pub fn curl(&self, host: &str, path: &str) -> (u16, String) {
        curl_at(&self.info.router, host, path)
    }

    /// Waits until GET `host` answers 200 and its body contains `needle`.
    pub fn wait_for_body(&self, host: &str, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.curl(host, "/");
            if status == 200 && body.contains(needle) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{host} never answered 200 with {needle:?} (last: {status} {body})\nserver log:\n{}",
                tail(&self.server_log(), 40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: the server gets no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.server.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestPlatform {
    fn drop(&mut self) {
        if !self.terminate() {
            eprintln!(
                "server did not stop cleanly:\n{}",
                tail(&self.server_log(), 40)
            );
        }
        // Process instances stop with the server; containers stay for re-adoption, so
        // remove this test's (by its namespace label).
        if self.runtime != "process" {
            let namespace = ferry_server::docker_namespace(&self.data_dir());
            remove_containers(&namespace);
        }
        // Instances from a kill -9 run still hold records: stop their process groups.
        if let Ok(entries) = std::fs::read_dir(self.data.path().join("run/process")) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    if let Ok(record) = serde_json::from_str::<serde_json::Value>(&text) {
                        if let Some(pgid) = record["pgid"].as_i64() {
                            let _ = Command::new("kill")
                                .args(["-KILL", &format!("-{pgid}")])
                                .stderr(Stdio::null())
                                .status();
                        }
                    }
                }
            }
        }
    }
}

pub fn remove_containers(namespace: &str) {
    let output = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=ferry.namespace={namespace}"),
        ])
        .output();
    if let Ok(output) = output {
        let ids = String::from_utf8_lossy(&output.stdout);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .arg("rm")
                .arg("-f")
                .args(&ids)
                .stdout(Stdio::null())
                .status();
        }
    }
}

/// GET `http://<addr><path>` with `Host: <host>` using curl.
pub fn curl_at(addr: &str, host: &str, path: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "-H",
            &format!("Host: {host}"),
            "-w",
            "\n%{http_code}",
            &format!("http://{addr}{path}"),
        ])
        .output()
        .expect("curl is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// `VmRSS` of a process in KiB, while it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// A `kB` line of /proc/<pid>/status (`VmRSS:`, `VmHWM:`), while the process runs.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Copies an example app (with its sub-directories) into a temp dir so a test can
/// edit it.
pub fn copy_app(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&example(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("example exists").flatten() {
        let target = to.join(entry.file_name());
        let path = entry.path();
        if path.is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&path, &target);
        } else if path.is_file() {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Writes `ferry.toml` for an app directory.
pub fn write_config(dir: &Path, text: &str) {
    std::fs::write(dir.join("ferry.toml"), text).expect("write ferry.toml");
}

/// Continuous traffic through the router: each response is recorded with the time it
/// arrived, so a test can check every response and when each marker first appeared.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handles: Vec<std::thread::JoinHandle<Vec<Sample>>>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// Which load thread sent it (each sends its requests one after another).
    pub worker: usize,
    pub at: Instant,
    pub status: u16,
    pub body: String,
}

impl Load {
    /// `workers` threads, each sending requests back to back over keep-alive.
    pub fn start(router: &str, host: &str, workers: usize) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles = (0..workers)
            .map(|worker| {
                let stop = stop.clone();
                let router = router.to_string();
                let host = host.to_string();
                std::thread::spawn(move || keep_alive_loop(worker, &router, &host, &stop))
            })
            .collect();
        Self { stop, handles }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut all: Vec<Sample> = self
            .handles
            .into_iter()
            .flat_map(|h| h.join().expect("load thread"))
            .collect();
        all.sort_by_key(|s| s.at);
        all
    }
}

/// A minimal HTTP/1.1 keep-alive client (std only) so the load is real traffic over
/// real sockets, reconnecting when the router closes a connection.
fn keep_alive_loop(
    worker: usize,
    router: &str,
    host: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<Sample> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut samples = Vec::new();
    let mut connection: Option<BufReader<std::net::TcpStream>> = None;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let reader = match &mut connection {
            Some(reader) => reader,
            None => match std::net::TcpStream::connect(router) {
                Ok(stream) => {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    connection.insert(BufReader::new(stream))
                }
                Err(_) => {
                    samples.push(Sample {
                        worker,
                        at: Instant::now(),
                        status: 0,
                        body: "connect failed".into(),
                    });
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let result = (|| -> std::io::Result<(u16, String, bool)> {
            reader.get_mut().write_all(request.as_bytes())?;
            let mut status_line = String::new();
            if reader.read_line(&mut status_line)? == 0 {
                return Err(std::io::Error::other("closed"));
            }
            let status: u16 = status_line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut length = 0usize;
            let mut close = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line)?;
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("connection:") && lower.contains("close") {
                    close = true;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            Ok((status, String::from_utf8_lossy(&body).into_owned(), close))
        })();
        match result {
            Ok((status, body, close)) => {
                samples.push(Sample {
                    worker,
                    at: Instant::now(),
                    status,
                    body,
                });
                if close {
                    connection = None;
                }
            }
            Err(err) => {
                // A request that died on an idle connection closed by the peer is not
                // a failed response: the request was never answered; count it as such.
                samples.push(Sample {
                    worker,
                    at: Instant::now(),
                    status: 0,
                    body: format!("io error: {err}"),
                });
                connection = None;
            }
        }
    }
    samples
}

/// Imports, as `tag`, a busybox image serving `/www` with httpd on 8080: /bin/busybox
/// (static) with a few applets, plus `files` (path, content). Nothing is pulled.
pub fn import_busybox_image(tag: &str, files: &[(&str, &str)]) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.path().join("bin/busybox"))
        .expect("/bin/busybox (busybox-static) is installed");
    for applet in ["sh", "httpd", "echo", "cat", "sleep", "ls"] {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
    }
    for (path, content) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | docker import --change 'CMD [\"/bin/httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]' --change 'EXPOSE 8080' - {tag}",
            root.path().display()
        ))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "docker import failed: is dockerd running?"
    );
}

/// Whether the Docker Engine has `image` (a tag, an id or `name@digest`).
/// Runs `import` unless the engine already has `tag`, with the check and the import
/// under one lock: two tests importing the same tag at once would each tag their own
/// import (new layer ids), and a test could build or deploy twice on a base that
/// changed in between.
pub fn import_once(tag: &str, import: impl FnOnce()) {
    static IMPORTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _importing = IMPORTING.lock().unwrap_or_else(|e| e.into_inner());
    if !image_exists(tag) {
        import();
    }
}

pub fn image_exists(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("docker CLI is installed")
        .success()
}
