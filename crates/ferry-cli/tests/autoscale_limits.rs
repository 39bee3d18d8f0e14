//! Autoscaling under real load, as issue 13 states it: examples/apps/slow-peak (each
//! request sleeps; each instance writes the most requests it ever had at once) behind
//! the real router. 40 concurrent slow requests with concurrency 10 scale to 4–6
//! instances, no request fails and no instance sees more than 10 at once; idle, it
//! goes back to min; with min 0 it goes to zero and 20 concurrent requests to the
//! cold service are all answered — on the process runtime and on Docker.

// Test code: a failed step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{copy_app, curl_at, import_busybox_image, tail, TestPlatform};

fn wait_until(platform: &TestPlatform, name: &str, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}; status:\n{}\nserver log:\n{}",
            platform.ferry_ok(&["status", name]),
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `count` requests at once to a service; every status, in no order.
fn concurrent_requests(platform: &TestPlatform, host: &str, path: &str, count: usize) -> Vec<u16> {
    let router = platform.info.router.clone();
    let clients: Vec<_> = (0..count)
        .map(|_| {
            let (router, host, path) = (router.clone(), host.to_string(), path.to_string());
            std::thread::spawn(move || curl_at(&router, &host, &path).0)
        })
        .collect();
    clients.into_iter().map(|c| c.join().unwrap()).collect()
}

fn assert_all_ok(statuses: &[u16]) {
    assert!(!statuses.is_empty());
    let failed: Vec<_> = statuses.iter().filter(|&&s| s != 200).collect();
    assert!(
        failed.is_empty(),
        "failed requests: {failed:?} of {}",
        statuses.len()
    );
}

#[test]
fn forty_slow_requests_scale_out_within_the_limit_then_to_min_and_to_zero() {
    let platform = TestPlatform::start();
    let app = copy_app("slow-peak");
    let peaks = tempfile::tempdir().unwrap();
    let peak_env = format!("PEAK_DIR={}", peaks.path().display());
    platform.ferry_ok(&[
        "deploy",
        app.path().to_str().unwrap(),
        "--name",
        "slow-peak",
        "--env",
        &peak_env,
    ]);
    // Target utilisation stays at its default (70 %): 40 / (10 × 0.7) → 6 instances.
    platform.ferry_ok(&[
        "scale",
        "slow-peak",
        "--concurrency",
        "10",
        "--min",
        "1",
        "--max",
        "10",
        "--stable-window",
        "4",
        "--panic-window",
        "1",
    ]);
    wait_until(&platform, "slow-peak", "one ready instance", || {
        platform.instance_counts("slow-peak") == (1, 1)
    });

    let stop = Arc::new(AtomicBool::new(false));
    let router = platform.info.router.clone();
    let clients: Vec<_> = (0..40)
        .map(|_| {
            let (stop, router) = (Arc::clone(&stop), router.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    statuses.push(curl_at(&router, "slow-peak.localhost", "/?ms=500").0);
                }
                statuses
            })
        })
        .collect();
    // Watch the count while the load lasts: it must reach 4 and never pass 6.
    let mut most_ready = 0;
    let mut most_desired = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut steady_since: Option<Instant> = None;
    while Instant::now() < deadline {
        let status = platform.ferry_json(&["status", "slow-peak"]);
        let ready = status["runtime"]["instances"]
            .as_array()
            .map(|list| list.iter().filter(|i| i["state"] == "ready").count())
            .unwrap_or(0);
        most_ready = most_ready.max(ready);
        most_desired = most_desired.max(status["autoscale"]["desired"].as_u64().unwrap_or(0));
        if ready >= 4 {
            // Keep the load a few seconds more, to see that the count holds.
            let since = *steady_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(4) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::SeqCst);
    let statuses: Vec<u16> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        (4..=6).contains(&most_ready),
        "ready instances peaked at {most_ready} (desired at most {most_desired})\n{}",
        tail(&platform.server_log(), 30)
    );
    assert!(most_desired <= 6, "desired peaked at {most_desired}");
    assert_all_ok(&statuses);
    // The app's own view: no instance ever had more than 10 requests at once.
    let mut instance_peaks = Vec::new();
    for entry in std::fs::read_dir(peaks.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        instance_peaks.push(text.trim().parse::<u32>().unwrap());
    }
    assert!(instance_peaks.len() >= 4, "{instance_peaks:?}");
    assert!(
        instance_peaks.iter().all(|&peak| peak <= 10),
        "an instance saw more than 10 requests at once: {instance_peaks:?}"
    );

    // Load stops: back to min after the stable window.
    wait_until(&platform, "slow-peak", "back to min", || {
        platform.instance_counts("slow-peak") == (1, 1)
    });

    // min 0: zero after the grace, then 20 concurrent requests to the cold service.
    platform.ferry_ok(&[
        "scale",
        "slow-peak",
        "--min",
        "0",
        "--scale-to-zero-grace",
        "2",
    ]);
    wait_until(&platform, "slow-peak", "zero instances", || {
        platform.instance_counts("slow-peak").1 == 0
    });
    let statuses = concurrent_requests(&platform, "slow-peak.localhost", "/?ms=50", 20);
    assert_all_ok(&statuses);
}

#[test]
fn needs_docker_a_container_service_at_zero_answers_every_concurrent_cold_request() {
    ferry_testenv::require!(
        ferry_testenv::Need::DockerEngine,
        ferry_testenv::Need::StaticBusybox
    );
    const IMAGE: &str = "ferry-test-busybox-cold:1";
    import_busybox_image(IMAGE, &[("www/index.html", "cold but served\n")]);
    let platform = TestPlatform::start_with("docker");
    platform.ferry_ok(&[
        "deploy", "--image", IMAGE, "--name", "web", "--port", "8080",
    ]);
    platform.ferry_ok(&[
        "scale",
        "web",
        "--min",
        "0",
        "--scale-to-zero-grace",
        "1",
        "--stable-window",
        "2",
        "--panic-window",
        "1",
    ]);
    wait_until(&platform, "web", "zero containers", || {
        platform.instance_counts("web").1 == 0
    });
    let statuses = concurrent_requests(&platform, "web.localhost", "/", 20);
    assert_all_ok(&statuses);
    assert_eq!(platform.curl("web.localhost", "/").1, "cold but served\n");
}
