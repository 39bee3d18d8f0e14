//! End-to-end: one data dir, one server. A second `ferry server` on a data dir in use
//! refuses to start, names the first one's pid, and touches nothing: the first
//! server's instances keep running and its `server.json` stays.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn instance_ids(platform: &TestPlatform, service: &str) -> Vec<String> {
    let status = platform.ferry_json(&["status", service]);
    let mut ids: Vec<String> = status["runtime"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_second_server_on_the_same_data_dir_refuses_to_start_and_touches_nothing() {
    let platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let instances = instance_ids(&platform, "hello");
    assert_eq!(instances.len(), 1);
    let info_file = platform.data.path().join("server.json");
    let info_before = std::fs::read(&info_file).unwrap();

    let stderr_path = platform.data.path().join("second-server.log");
    let mut second = Command::new(FERRY)
        .args([
            "server",
            "--api",
            "127.0.0.1:0",
            "--router",
            "127.0.0.1:0",
            "--runtime",
            "process",
        ])
        .env("FERRY_DATA_DIR", platform.data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        let took_over = std::fs::read(&info_file).ok().as_deref() != Some(&info_before[..]);
        if took_over || Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!(
                "a second server started on the data dir (took over server.json: {took_over}):\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", platform.info.pid)),
        "the refusal names the running server: {stderr}"
    );
    assert!(
        stderr.contains(&platform.data.path().display().to_string()),
        "{stderr}"
    );

    // Nothing of the first server was touched.
    assert_eq!(std::fs::read(&info_file).unwrap(), info_before);
    assert_eq!(instance_ids(&platform, "hello"), instances);
    let (code, body) = platform.curl("hello.localhost", "/");
    assert_eq!((code, body.trim()), (200, "Hello from ferry"));
}
