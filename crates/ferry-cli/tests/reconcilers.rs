//! End-to-end: long steps never block a service or the server. A slow build is
//! superseded by a newer deploy, cancelled by a delete, and does not hold SIGTERM;
//! racing deploys never both hold a domain. Bounds are generous (these machines are
//! shared); the measured times are printed.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};
use support::*;

/// The hello app with a build step that sleeps `seconds` first.
fn slow_app(seconds: u32) -> tempfile::TempDir {
    let app = copy_app("hello");
    write_config(
        app.path(),
        &format!(
            "name = \"hello\"\n[build]\ncommand = \"sleep {seconds}\"\n[run]\ncommand = \"python3 app.py\"\nenv = {{ GREETING = \"slow {seconds}\" }}\n"
        ),
    );
    app
}

/// Deploys without waiting; returns the operation id.
fn deploy_detached(platform: &TestPlatform, dir: &std::path::Path) -> String {
    let accepted = platform.ferry_json(&["deploy", dir.to_str().unwrap(), "--detach"]);
    accepted["operation"]["id"].as_str().unwrap().to_string()
}

fn operation(platform: &TestPlatform, id: &str) -> serde_json::Value {
    platform.ferry_json(&["ops", "--id", id])
}

/// Waits until the operation's timeline says the build started.
fn wait_building(platform: &TestPlatform, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let op = operation(platform, id);
        let events = op["events"].to_string();
        if events.contains("Building revision") {
            return;
        }
        assert!(Instant::now() < deadline, "build never started: {op}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_terminal(platform: &TestPlatform, id: &str, patience: Duration) -> serde_json::Value {
    let deadline = Instant::now() + patience;
    loop {
        let op = operation(platform, id);
        if matches!(
            op["status"].as_str(),
            Some("SUCCEEDED" | "FAILED" | "ROLLBACK_SUCCEEDED" | "ROLLBACK_FAILED")
        ) {
            return op;
        }
        assert!(Instant::now() < deadline, "operation never ended: {op}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_newer_deploy_supersedes_a_slow_build_long_before_it_would_end() {
    let platform = TestPlatform::start();
    let slow = slow_app(120);
    let slow_op = deploy_detached(&platform, slow.path());
    wait_building(&platform, &slow_op);
    let started = Instant::now();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let took = started.elapsed();
    let superseded = wait_terminal(&platform, &slow_op, Duration::from_secs(30));
    eprintln!("newer deploy served {took:?} after it was sent during a 120 s build");
    assert!(
        took < Duration::from_secs(90),
        "waited for the slow build: {took:?}"
    );
    assert_eq!(superseded["status"], "FAILED", "{superseded}");
    assert!(
        superseded["error"].as_str().unwrap().contains("superseded"),
        "{superseded}"
    );
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry"
    );
    let revisions = platform.ferry_json(&["revisions", "hello"]);
    assert_eq!(revisions[1]["status"], "SUPERSEDED", "{revisions}");
    // The build's sleep is gone with it.
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "sleep 120"])
        .output()
        .unwrap();
    let pids = String::from_utf8_lossy(&sleeping.stdout).trim().to_string();
    let ours: Vec<&str> = pids
        .lines()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.starts_with(platform.data.path()))
        })
        .collect();
    assert!(
        ours.is_empty(),
        "build processes outlived the build: {ours:?}"
    );
}

#[test]
fn delete_during_a_slow_build_acts_at_once() {
    let platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let slow = slow_app(120);
    let slow_op = deploy_detached(&platform, slow.path());
    wait_building(&platform, &slow_op);
    let started = Instant::now();
    platform.ferry_ok(&["delete", "hello"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while platform.curl("hello.localhost", "/").0 != 404 {
        assert!(Instant::now() < deadline, "hello still routed after delete");
        std::thread::sleep(Duration::from_millis(50));
    }
    while !platform.ferry_json(&["ls"]).as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "hello still listed after delete");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "delete during a 120 s build finished after {:?}",
        started.elapsed()
    );
    let op = wait_terminal(&platform, &slow_op, Duration::from_secs(30));
    assert_eq!(op["status"], "FAILED", "{op}");
}

#[test]
fn sigterm_during_a_slow_build_exits_promptly() {
    let mut platform = TestPlatform::start();
    let slow = slow_app(120);
    let slow_op = deploy_detached(&platform, slow.path());
    wait_building(&platform, &slow_op);
    let started = Instant::now();
    assert!(platform.terminate(), "{}", tail(&platform.server_log(), 30));
    let took = started.elapsed();
    eprintln!("SIGTERM during a 120 s build: exited after {took:?}");
    // The drain timeout (30 s) plus a few seconds, generously.
    assert!(took < Duration::from_secs(45), "{took:?}");
    // A restart builds it again and serves it (the build is not lost).
}

#[test]
fn racing_deploys_for_one_domain_give_it_to_exactly_one() {
    let platform = TestPlatform::start();
    let app = example("hello");
    let app = app.to_str().unwrap().to_string();
    let outcomes: Vec<(String, bool, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|n| {
                let platform = &platform;
                let app = app.clone();
                scope.spawn(move || {
                    let name = format!("racer{n}");
                    let out = platform.ferry(&[
                        "deploy",
                        &app,
                        "--name",
                        &name,
                        "--domain",
                        "shop.example.test",
                        "--detach",
                    ]);
                    (
                        name,
                        out.status.success(),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&String> = outcomes.iter().filter(|o| o.1).map(|o| &o.0).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for (name, ok, stderr) in &outcomes {
        if !ok {
            assert!(
                stderr.contains("already routed to service")
                    && stderr.contains(winners[0].as_str()),
                "{name}: {stderr}"
            );
        }
    }
    let services = platform.ferry_json(&["ls"]);
    assert_eq!(services.as_array().unwrap().len(), 1, "{services}");
    let body = platform.wait_for_body(
        "shop.example.test",
        "Hello from ferry",
        Duration::from_secs(60),
    );
    assert!(body.contains("Hello from ferry"));
}
