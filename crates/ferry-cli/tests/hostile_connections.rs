//! End-to-end: the real `ferry server` under connection floods. The server runs with
//! a low open-files limit (`prlimit --nofile=1024:1024`), so a few thousand loopback
//! connections are well past what it may hold; it must keep its health checks,
//! instances and API working, keep serving the clients it has, and stay small.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// One flood at a time: each test starts a server and thousands of sockets, which
/// is plenty for a shared machine.
static SERIAL: Mutex<()> = Mutex::new(());

/// The server's open-files limit (soft and hard, so ferry cannot raise it).
const SERVER_NOFILE: &str = "--nofile=1024:1024";

/// Connections per flood, when this test process may open that many.
const FLOOD: usize = 3000;

/// What the server's resident memory must stay under through every flood.
const RSS_LIMIT_KIB: u64 = 256 * 1024;

/// Half a request head: what a slow or hostile client sends before it stops.
const PARTIAL_HEAD: &[u8] = b"GET / HTTP/1.1\r\n";

/// `wanted` connections, or fewer when this process's own open-files limit would
/// not allow them next to everything else the test holds.
fn flood_size(wanted: usize) -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft: usize = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(1024);
    wanted.min(soft.saturating_sub(512) / 2).max(100)
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

/// The `hello` example as `name`, with health checks every second and two failures
/// enough to replace an instance: a probe that wrongly fails shows up within seconds.
fn deploy_app(platform: &TestPlatform, name: &str) {
    let app = copy_app("hello");
    write_config(
        app.path(),
        &format!(
            r#"name = "{name}"
[run]
command = "python3 app.py"
env = {{ GREETING = "Hello from {name}" }}
[health_check]
protocol = "http"
path = "/"
interval = 1
timeout = 1
unhealthy_threshold = 2
"#
        ),
    );
    platform.ferry_ok(&["deploy", app.path().to_str().unwrap()]);
}

/// (instance ids, restarts) of a service, from the API.
fn instances(platform: &TestPlatform, name: &str) -> (Vec<String>, u64) {
    let status = platform.ferry_json(&["status", name]);
    let mut ids: Vec<String> = status["runtime"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    (ids, status["runtime"]["restarts"].as_u64().unwrap_or(0))
}

/// Many connections to one address, each sending `payload` (maybe nothing) and then
/// holding until stopped or until the server closes it.
struct Flood {
    stop: CancellationToken,
    connected: Arc<AtomicUsize>,
    closed_by_server: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flood {
    fn start(addr: &str, count: usize, payload: &'static [u8]) -> Self {
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        let stop = CancellationToken::new();
        let connected = Arc::new(AtomicUsize::new(0));
        let closed_by_server = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, connected, closed) = (
                stop.clone(),
                Arc::clone(&connected),
                Arc::clone(&closed_by_server),
            );
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    for _ in 0..count {
                        let (stop, connected, closed) =
                            (stop.clone(), Arc::clone(&connected), Arc::clone(&closed));
                        tasks.spawn(async move {
                            // Past the server's cap and backlog the kernel drops SYNs:
                            // such a connect only completes once room is made.
                            let connect = tokio::net::TcpStream::connect(addr);
                            let mut stream = tokio::select! {
                                () = stop.cancelled() => return,
                                stream = connect => match stream {
                                    Ok(stream) => stream,
                                    Err(_) => return,
                                },
                            };
                            connected.fetch_add(1, Ordering::SeqCst);
                            if !payload.is_empty() && stream.write_all(payload).await.is_err() {
                                closed.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            let mut buf = [0u8; 512];
                            tokio::select! {
                                () = stop.cancelled() => {}
                                _ = stream.read(&mut buf) => {
                                    closed.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        });
                    }
                    while tasks.join_next().await.is_some() {}
                });
            })
        };
        Self {
            stop,
            connected,
            closed_by_server,
            thread: Some(thread),
        }
    }

    fn connected(&self) -> usize {
        self.connected.load(Ordering::SeqCst)
    }

    fn closed_by_server(&self) -> usize {
        self.closed_by_server.load(Ordering::SeqCst)
    }

    fn stop(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Watches the server while a flood holds: it must stay up and small.
struct Watch {
    max_rss_kib: u64,
}

impl Watch {
    fn sample(&mut self, platform: &mut TestPlatform) {
        let server = platform.server.as_mut().unwrap();
        if let Some(status) = server.try_wait().unwrap() {
            panic!(
                "ferry server exited during the flood with {status}:\n{}",
                tail(&platform.server_log(), 40)
            );
        }
        let rss = vm_rss_kib(platform.info.pid);
        self.max_rss_kib = self.max_rss_kib.max(rss);
        assert!(
            rss < RSS_LIMIT_KIB,
            "ferry server's RSS grew to {rss} KiB under the flood"
        );
    }
}

fn wait_until(what: &str, platform: &TestPlatform, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn floods_of_both_listeners_replace_nothing_and_the_services_keep_answering() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let size = flood_size(FLOOD);
    // A short header timeout lets the API flood drain within the test; long enough
    // that a stalled machine does not close the load client's keep-alive connection.
    let mut platform = TestPlatform::start_custom(
        "process",
        &["prlimit", SERVER_NOFILE],
        &["--header-read-timeout", "5"],
    );
    deploy_app(&platform, "alpha");
    deploy_app(&platform, "beta");
    let alpha = instances(&platform, "alpha");
    let beta = instances(&platform, "beta");
    let mut watch = Watch { max_rss_kib: 0 };
    watch.sample(&mut platform);
    let rss_before = watch.max_rss_kib;
    let load = Load::start(&platform.info.router, "alpha.localhost", 2);

    // The router: idle half-requests and bare connects, far past its cap.
    let router = platform.info.router.clone();
    let half_requests = Flood::start(&router, size, PARTIAL_HEAD);
    let bare = Flood::start(&router, size / 2, b"");
    wait_until("the router flood never connected", &platform, || {
        half_requests.connected() + bare.connected() >= 1000
    });
    let held_until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < held_until {
        watch.sample(&mut platform);
        // The API has its own cap: it answers while the router is flooded.
        assert_eq!(instances(&platform, "alpha"), alpha);
        std::thread::sleep(Duration::from_millis(300));
    }
    half_requests.stop();
    bare.stop();

    // The API: half-requests past its cap. The header timeout closes them, and
    // connections waiting in the backlog get their turn (and are closed in turn).
    let api = Flood::start(
        &platform.info.api,
        size / 4,
        b"GET /api/v1/status HTTP/1.1\r\n",
    );
    wait_until("the API flood never connected", &platform, || {
        api.connected() >= 200
    });
    let held_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < held_until {
        watch.sample(&mut platform);
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_until(
        "the API never closed connections that sent no full request head",
        &platform,
        || api.closed_by_server() >= 200,
    );
    watch.sample(&mut platform);
    api.stop();

    let samples = load.finish();
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(samples.len() > 10, "too few requests: {}", samples.len());
    assert!(
        failed.is_empty(),
        "{} of {} requests to alpha failed during the floods, first: {:?}\nserver log:\n{}",
        failed.len(),
        samples.len(),
        failed.first(),
        tail(&platform.server_log(), 40)
    );
    // New connections are served again, and no instance was replaced.
    platform.wait_for_body(
        "alpha.localhost",
        "Hello from alpha",
        Duration::from_secs(60),
    );
    platform.wait_for_body("beta.localhost", "Hello from beta", Duration::from_secs(60));
    assert_eq!(instances(&platform, "alpha"), alpha);
    assert_eq!(instances(&platform, "beta"), beta);
    eprintln!(
        "RSS before the floods {rss_before} KiB, at most {} KiB during them; {} requests to alpha, all 200",
        watch.max_rss_kib,
        samples.len()
    );
}

#[test]
fn probes_failing_for_lack_of_descriptors_replace_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let size = flood_size(FLOOD);
    // Caps far above what 1024 descriptors allow: the flood takes every descriptor, so
    // ferry's own health checks cannot open sockets.
    let mut platform = TestPlatform::start_custom(
        "process",
        &["prlimit", SERVER_NOFILE],
        &[
            "--router-max-connections",
            "100000",
            "--api-max-connections",
            "100000",
        ],
    );
    assert!(platform.server_log().contains("the connection caps exceed"));
    deploy_app(&platform, "alpha");
    let alpha = instances(&platform, "alpha");
    let mut watch = Watch { max_rss_kib: 0 };

    let flood = Flood::start(&platform.info.router, size, PARTIAL_HEAD);
    wait_until("the flood never connected", &platform, || {
        flood.connected() >= 1100
    });
    // Well past interval × unhealthy threshold (2 s), several times over.
    let held_until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < held_until {
        watch.sample(&mut platform);
        std::thread::sleep(Duration::from_millis(300));
    }
    flood.stop();

    platform.wait_for_body(
        "alpha.localhost",
        "Hello from alpha",
        Duration::from_secs(60),
    );
    let (ids, restarts) = instances(&platform, "alpha");
    assert_eq!(
        (&ids, restarts),
        (&alpha.0, 0),
        "instances were replaced:\n{}",
        tail(&platform.server_log(), 40)
    );
    let log = platform.server_log();
    assert!(
        log.contains("health checks inconclusive"),
        "the flood did not starve the probes:\n{}",
        tail(&log, 40)
    );
}

#[test]
fn the_open_files_soft_limit_is_raised_to_the_hard_limit() {
    let platform = TestPlatform::start_custom("process", &["prlimit", "--nofile=512:4096"], &[]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", platform.info.pid)).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
    // The caps follow the raised limit: (4096 - 1024) / 8 for the API.
    assert!(
        platform.server_log().contains("api=384 router=1344"),
        "{}",
        tail(&platform.server_log(), 10)
    );
}
