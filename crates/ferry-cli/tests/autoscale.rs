//! Autoscaling end to end: the real `ferry server` (process runtime), the hello app,
//! `ferry scale`, `ferry status` and curl through the router.
//! A request to a service at zero is held by the router while the demand it signals
//! starts an instance, and is answered by that instance.

// Test code: a failed step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};
use support::{example, tail, TestPlatform};

const HOST: &str = "hello.localhost";

fn deploy_hello(platform: &TestPlatform) {
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    platform.wait_for_body(HOST, "Hello from ferry", Duration::from_secs(60));
}

/// Instances of hello: (ready, all).
fn instances(platform: &TestPlatform) -> (usize, usize) {
    platform.instance_counts("hello")
}

fn wait_until(platform: &TestPlatform, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}; status:\n{}\nserver log:\n{}",
            platform.ferry_ok(&["status", "hello"]),
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ferry_scale_takes_effect_without_a_new_revision_and_is_validated() {
    let platform = TestPlatform::start();
    deploy_hello(&platform);
    let out = platform.ferry_ok(&["scale", "hello", "--min", "2", "--max", "3"]);
    assert!(out.contains("min 2, max 3"), "{out}");
    wait_until(&platform, "two ready instances", || {
        instances(&platform).0 == 2
    });
    let revisions = platform.ferry_json(&["revisions", "hello"]);
    assert_eq!(
        revisions.as_array().map(Vec::len),
        Some(1),
        "no new revision"
    );
    let status = platform.ferry_json(&["status", "hello"]);
    assert_eq!(status["autoscale"]["scaling"]["min"], 2);
    assert_eq!(status["autoscale"]["overrides"]["values"]["max"], 3);

    // Bad values: a clear error naming the setting and its range; nothing changes.
    let err = platform.ferry_fails(&["scale", "hello", "--min", "3", "--max", "2"]);
    assert!(
        err.contains("scaling.max: must be at least scaling.min (3)"),
        "{err}"
    );
    let err = platform.ferry_fails(&["scale", "hello", "--concurrency", "0"]);
    assert!(
        err.contains("scaling.concurrency: must be between 1 and 200"),
        "{err}"
    );
    let err = platform.ferry_fails(&["scale", "hello", "--max", "26"]);
    assert!(
        err.contains("scaling.max: must be between 1 and 25"),
        "{err}"
    );
    let err = platform.ferry_fails(&["scale", "hello"]);
    assert!(err.contains("nothing to change"), "{err}");
    assert_eq!(
        platform.ferry_json(&["status", "hello"])["autoscale"]["scaling"]["min"],
        2
    );

    // Back to the revision's [scaling].
    platform.ferry_ok(&["scale", "hello", "--reset"]);
    wait_until(&platform, "one instance", || instances(&platform) == (1, 1));
    let (status, _) = platform.curl(HOST, "/");
    assert_eq!(status, 200);
}

#[test]
fn min_zero_goes_to_zero_and_a_request_wakes_it_also_after_a_restart() {
    let mut platform = TestPlatform::start();
    deploy_hello(&platform);
    platform.ferry_ok(&[
        "scale",
        "hello",
        "--min",
        "0",
        "--scale-to-zero-grace",
        "2",
        "--stable-window",
        "2",
        "--panic-window",
        "1",
    ]);
    wait_until(&platform, "zero instances", || instances(&platform).1 == 0);
    let text = platform.ferry_ok(&["status", "hello"]);
    assert!(text.contains("desired 0 / ready 0"), "{text}");
    assert!(text.contains("scaled to zero"), "{text}");
    assert!(
        text.contains("scale_to_zero_grace"),
        "the decision says why:\n{text}"
    );

    // A request to the cold service: held while the demand starts an instance, then
    // answered by it.
    let (first, body) = platform.curl(HOST, "/");
    assert_eq!(first, 200, "{body}");
    assert!(body.contains("Hello from ferry"), "{body}");
    let status = platform.ferry_json(&["status", "hello"]);
    let reasons: Vec<String> = status["autoscale"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("cold start")),
        "{reasons:?}"
    );

    // Idle again: back to zero; then a restart keeps it there.
    wait_until(&platform, "zero instances again", || {
        instances(&platform).1 == 0
    });
    assert!(platform.terminate(), "clean stop");
    platform.boot();
    // Several passes of both reconcilers run; none starts an instance.
    for _ in 0..20 {
        assert_eq!(instances(&platform).1, 0, "a service at zero stays at zero");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (first, body) = platform.curl(HOST, "/");
    assert_eq!(
        first, 200,
        "a cold start after a restart is held too: {body}"
    );
    assert!(instances(&platform).0 >= 1);
}

#[test]
fn concurrent_slow_requests_scale_out_and_back_to_min_without_failures() {
    let platform = TestPlatform::start();
    deploy_hello(&platform);
    platform.ferry_ok(&[
        "scale",
        "hello",
        "--concurrency",
        "2",
        "--target-utilization",
        "100",
        "--max",
        "4",
        "--stable-window",
        "2",
        "--panic-window",
        "1",
    ]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let router = platform.info.router.clone();
    let workers: Vec<_> = (0..12)
        .map(|_| {
            let stop = stop.clone();
            let router = router.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    statuses.push(support::curl_at(&router, HOST, "/slow/0.5").0);
                }
                statuses
            })
        })
        .collect();
    wait_until(&platform, "more instances than min under load", || {
        instances(&platform).0 > 1
    });
    let peak = platform.ferry_json(&["status", "hello"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let statuses: Vec<u16> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|&s| s == 200),
        "every request answered: {:?}",
        statuses.iter().filter(|&&s| s != 200).collect::<Vec<_>>()
    );
    let desired = peak["autoscale"]["desired"].as_u64().unwrap();
    assert!((2..=4).contains(&desired), "{peak}");
    wait_until(&platform, "back to min", || instances(&platform) == (1, 1));
    let (status, _) = platform.curl(HOST, "/");
    assert_eq!(status, 200);
}
