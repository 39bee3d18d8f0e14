//! A log flood against the real server: an app that writes 50 MB lines without a
//! newline and a fast stream of short lines, followed by several `logs?follow=true`
//! clients (one never reads). The server's memory must stay bounded, the instance's log
//! files must stay under the rotation bound, and another service must keep answering.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// Small bounds, so the flood crosses them many times within the test.
const MAX_LINE: u64 = 4 * 1024;
const MAX_FILE: u64 = 256 * 1024;
const ROTATED: u64 = 1;
/// What one instance may hold on disk: each file is rotated at the first line end past
/// MAX_FILE, and lines are cut at MAX_LINE (plus the cut marker).
const MAX_DISK: u64 = (MAX_FILE + MAX_LINE + 64) * (ROTATED + 1);

/// How long the flood is watched.
const WATCH: Duration = Duration::from_secs(20);

/// Resident memory the server may reach under the flood. Idle it holds ~30–60 MB (a
/// debug build); unbounded, each follower held the whole 50 MB line several times over.
const MAX_SERVER_RSS_KB: u64 = 128 * 1024;

const FLOOD_APP: &str = r#"
import os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()
out = sys.stdout.buffer
out.write(b"flood starting\n")
out.flush()
time.sleep(3)  # let the followers attach
chunk = b"x" * (1 << 20)
line = b"y" * 200 + b"\n"
while True:
    # 50 MB without a newline ...
    for _ in range(50):
        out.write(chunk)
    out.write(b"\n")
    # ... then a fast stream of short lines for a few seconds.
    until = time.time() + 3
    while time.time() < until:
        out.write(line * 500)
        out.flush()
        time.sleep(0.01)
"#;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Bytes on disk per instance of a service: `<instance>.log` plus its rotated files.
fn disk_per_instance(dir: &Path) -> Vec<(String, u64)> {
    let mut sizes = std::collections::BTreeMap::<String, u64>::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(instance) = name.split(".log").next().filter(|s| s.starts_with("ins-")) else {
            continue;
        };
        if name.ends_with(".cursor") {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        *sizes.entry(instance.to_string()).or_default() += size;
    }
    sizes.into_iter().collect()
}

/// `ferry logs flood -f`, read line by line; remembers whether a cut line came by.
fn reading_follower(platform: &TestPlatform, saw_cut: Arc<AtomicBool>) -> Child {
    let mut child = Command::new(FERRY)
        .args(["logs", "flood", "-f", "--tail", "5"])
        .env("FERRY_DATA_DIR", platform.data.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if line.windows(19).any(|w| w == b"[ferry: line cut at") {
                        saw_cut.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    });
    child
}

/// A follow request on a raw connection whose response is never read.
fn stalled_follower(platform: &TestPlatform) -> std::net::TcpStream {
    let mut stream = std::net::TcpStream::connect(&platform.info.api).unwrap();
    write!(
        stream,
        "GET /api/v1/services/flood/logs?follow=true&tail=100 HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {}\r\n\r\n",
        platform.token()
    )
    .unwrap();
    stream
}

#[test]
fn a_log_flood_with_stalled_followers_stays_bounded() {
    let platform = TestPlatform::start_with_env(
        "process",
        &[
            ("FERRY_LOG_MAX_LINE", &MAX_LINE.to_string()),
            ("FERRY_LOG_MAX_SIZE", &MAX_FILE.to_string()),
            ("FERRY_LOG_FILES", &ROTATED.to_string()),
        ],
    );
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("flood.py"), FLOOD_APP).unwrap();
    write_config(
        app.path(),
        "name = \"flood\"\n[run]\ncommand = \"python3 -u flood.py\"\n",
    );
    platform.ferry_ok(&["deploy", app.path().to_str().unwrap()]);
    let idle_rss = rss_kb(platform.info.pid);

    let saw_cut = Arc::new(AtomicBool::new(false));
    let mut followers: Vec<Child> = (0..3)
        .map(|_| reading_follower(&platform, Arc::clone(&saw_cut)))
        .collect();
    let curl_follower = Command::new("curl")
        .args(["-sN", "-o", "/dev/null", "-H"])
        .arg(format!("Authorization: Bearer {}", platform.token()))
        .arg(format!(
            "http://{}/api/v1/services/flood/logs?follow=true",
            platform.info.api
        ))
        .spawn()
        .unwrap();
    followers.push(curl_follower);
    let stalled = [stalled_follower(&platform), stalled_follower(&platform)];

    let logs = platform.data.path().join("logs/flood");
    let started = Instant::now();
    let mut peak_rss = 0;
    let mut peak_disk = (String::new(), 0);
    let mut answered = 0;
    let mut last_check = Instant::now() - Duration::from_secs(1);
    while started.elapsed() < WATCH {
        peak_rss = peak_rss.max(rss_kb(platform.info.pid));
        for (instance, size) in disk_per_instance(&logs) {
            if size > peak_disk.1 {
                peak_disk = (instance, size);
            }
        }
        if last_check.elapsed() >= Duration::from_secs(1) {
            last_check = Instant::now();
            let (status, body) = platform.curl("hello.localhost", "/");
            assert_eq!(
                (status, body.trim()),
                (200, "Hello from ferry"),
                "hello stopped answering during the flood"
            );
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "server RSS: idle {idle_rss} kB, peak {peak_rss} kB; peak log disk {} bytes ({}); \
         hello answered {answered} times",
        peak_disk.1, peak_disk.0
    );

    assert!(answered >= 10, "hello answered only {answered} times");
    assert!(
        peak_rss <= MAX_SERVER_RSS_KB,
        "the server grew to {peak_rss} kB under the flood (idle: {idle_rss} kB)"
    );
    assert!(peak_disk.1 > MAX_FILE, "the flood never filled a log file");
    assert!(
        peak_disk.1 <= MAX_DISK,
        "instance {} holds {} bytes of logs, above the bound of {MAX_DISK}",
        peak_disk.0,
        peak_disk.1
    );
    assert!(
        saw_cut.load(Ordering::SeqCst),
        "no follower saw a cut 50 MB line"
    );
    // The flood is still running and the server still answers its API.
    let status = platform.ferry_json(&["status", "flood"]);
    assert_eq!(status["status"], "RUNNING", "{status}");
    assert_eq!(status["runtime"]["restarts"], 0, "{status}");

    for mut follower in followers {
        let _ = follower.kill();
        let _ = follower.wait();
    }
    drop(stalled);
}
