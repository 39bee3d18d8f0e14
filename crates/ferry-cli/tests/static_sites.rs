//! Static sites served by ferry's router itself, against the real server binary, the
//! real CLI and curl: no process runs for them, a new revision's files switch under
//! load with no failed request, paths that try to leave the site never reach a file,
//! ranges and conditional requests, a custom domain, pause, a server restart, delete.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

/// A static site in a temp dir: `public/index.html` holding `body`.
fn site(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("public")).unwrap();
    std::fs::write(dir.path().join("public/index.html"), body).unwrap();
    dir
}

/// GET with curl, the path sent exactly as written (no `..` folding): status,
/// headers (lowercased names), body.
fn curl_raw(
    platform: &TestPlatform,
    host: &str,
    path: &str,
    headers: &[&str],
) -> (u16, String, String) {
    let mut command = Command::new("curl");
    command.args(["-s", "--path-as-is", "--max-time", "10", "-D", "-", "-H"]);
    command.arg(format!("Host: {host}"));
    for header in headers {
        command.args(["-H", header]);
    }
    command.arg(format!("http://{}{path}", platform.info.router));
    let output = command.output().expect("curl is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Processes whose parent is `pid` (every thread's children).
fn children(pid: u32) -> Vec<String> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in list.split_whitespace() {
            let cmdline =
                std::fs::read_to_string(format!("/proc/{child}/cmdline")).unwrap_or_default();
            found.push(format!("{child}: {}", cmdline.replace('\0', " ")));
        }
    }
    found
}

fn deploy(platform: &TestPlatform, dir: &Path) {
    platform.ferry_ok(&["deploy", dir.to_str().unwrap(), "--name", "site"]);
}

#[test]
fn a_new_revision_switches_the_files_under_load_with_no_failed_request() {
    let platform = TestPlatform::start();
    let dir = site("<p>v1</p>");
    deploy(&platform, dir.path());
    platform.wait_for_body("site.localhost", "v1", Duration::from_secs(10));

    let load = Load::start(&platform.info.router, "site.localhost", 4);
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(dir.path().join("public/index.html"), "<p>v2</p>").unwrap();
    deploy(&platform, dir.path());
    let switched = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    // Rollback is a switch too: the first revision's files, again with no failure.
    platform.ferry_ok(&["rollback", "site", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    let samples = load.finish();

    let failures: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(
        failures.is_empty(),
        "{} failed of {}: {:?}",
        failures.len(),
        samples.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(samples
        .iter()
        .all(|s| s.body == "<p>v1</p>" || s.body == "<p>v2</p>"));
    assert!(samples
        .iter()
        .any(|s| s.body == "<p>v2</p>" && s.at >= switched));
    // Per client, the switches are clean: v1…, then v2…, then v1 (rolled back).
    for worker in 0..4 {
        let bodies: Vec<&str> = samples
            .iter()
            .filter(|s| s.worker == worker)
            .map(|s| s.body.as_str())
            .collect();
        let changes = bodies.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(changes <= 2, "worker {worker} flipped {changes} times");
    }
    let (status, body) = platform.curl("site.localhost", "/");
    assert_eq!((status, body.as_str()), (200, "<p>v1</p>"));
    eprintln!(
        "{} requests through two switches, none failed",
        samples.len()
    );
}

#[test]
fn paths_out_of_the_site_never_reach_a_file() {
    let platform = TestPlatform::start();
    let dir = site("home");
    std::fs::write(dir.path().join("secret.txt"), "SECRET-OUTSIDE").unwrap();
    std::fs::write(dir.path().join("public/.env"), "TOKEN=hidden").unwrap();
    let public = dir.path().join("public");
    std::os::unix::fs::symlink("/etc/passwd", public.join("passwd")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", public.join("up.txt")).unwrap();
    std::os::unix::fs::symlink("/etc", public.join("etc")).unwrap();
    deploy(&platform, dir.path());
    platform.wait_for_body("site.localhost", "home", Duration::from_secs(10));

    for path in [
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/passwd",
        "/up.txt",
        "/etc/passwd",
        "/etc/",
        "/.env",
    ] {
        let (status, _, body) = curl_raw(&platform, "site.localhost", path, &[]);
        assert!(status == 404 || status == 403, "{path}: {status} {body}");
        for leaked in ["root:", "SECRET-OUTSIDE", "TOKEN=hidden"] {
            assert!(!body.contains(leaked), "{path} leaked {leaked}: {body}");
        }
    }
}

#[test]
fn ranges_and_conditional_requests() {
    let platform = TestPlatform::start();
    let dir = site("home");
    std::fs::write(dir.path().join("public/data.txt"), "0123456789").unwrap();
    deploy(&platform, dir.path());
    platform.wait_for_body("site.localhost", "home", Duration::from_secs(10));

    let (status, head, body) = curl_raw(
        &platform,
        "site.localhost",
        "/data.txt",
        &["Range: bytes=2-5"],
    );
    assert_eq!((status, body.as_str()), (206, "2345"), "{head}");
    assert!(head.contains("content-range: bytes 2-5/10"), "{head}");
    let (status, head, _) = curl_raw(
        &platform,
        "site.localhost",
        "/data.txt",
        &["Range: bytes=50-"],
    );
    assert_eq!(status, 416, "{head}");

    let (status, head, _) = curl_raw(&platform, "site.localhost", "/data.txt", &[]);
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/plain"), "{head}");
    let etag = head
        .lines()
        .find_map(|line| line.strip_prefix("etag: "))
        .unwrap()
        .trim()
        .to_string();
    let (status, _, body) = curl_raw(
        &platform,
        "site.localhost",
        "/data.txt",
        &[&format!("If-None-Match: {etag}")],
    );
    assert_eq!((status, body.as_str()), (304, ""));
    let (status, _, body) = curl_raw(
        &platform,
        "site.localhost",
        "/data.txt",
        &["If-None-Match: \"other\""],
    );
    assert_eq!((status, body.as_str()), (200, "0123456789"));
}

#[test]
fn pause_resume_a_server_restart_and_delete_keep_the_site_right() {
    let mut platform = TestPlatform::start();
    let dir = site("still here");
    platform.ferry_ok(&[
        "deploy",
        dir.path().to_str().unwrap(),
        "--name",
        "site",
        "--domain",
        "www.example.test",
    ]);
    platform.wait_for_body("site.localhost", "still here", Duration::from_secs(10));
    // A custom domain routes to the files too.
    let (status, _, body) = curl_raw(&platform, "www.example.test", "/", &[]);
    assert_eq!((status, body.as_str()), (200, "still here"));

    platform.ferry_ok(&["pause", "site"]);
    let (status, _, body) = curl_raw(&platform, "site.localhost", "/", &[]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("paused"), "{body}");
    platform.ferry_ok(&["resume", "site"]);
    platform.wait_for_body("site.localhost", "still here", Duration::from_secs(10));

    assert!(platform.terminate(), "server did not stop cleanly");
    platform.boot();
    platform.wait_for_body("site.localhost", "still here", Duration::from_secs(20));
    let status = platform.ferry_json(&["status", "site"]);
    assert_eq!(status["runtime"]["instances"].as_array().unwrap().len(), 0);
    assert_eq!(status["static_root"], "public");
    // The autoscaler keeps nothing for a site it has nothing to scale.
    assert!(status["autoscale"].is_null(), "{status}");
    let pid = platform.server.as_ref().unwrap().id();
    assert_eq!(children(pid), Vec::<String>::new());

    platform.ferry_ok(&["delete", "site"]);
    let (status, head, _) = curl_raw(&platform, "site.localhost", "/", &[]);
    assert_eq!(status, 404, "{head}");
    assert!(head.contains("x-ferry-error: unknown-host"), "{head}");
}

#[test]
fn a_site_served_from_the_apps_own_directory_keeps_its_config_to_itself() {
    let platform = TestPlatform::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "root site").unwrap();
    write_config(dir.path(), "[run]\nenv = { NOTE = \"not for visitors\" }\n");
    deploy(&platform, dir.path());
    platform.wait_for_body("site.localhost", "root site", Duration::from_secs(10));
    let (status, _, body) = curl_raw(&platform, "site.localhost", "/ferry.toml", &[]);
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("not for visitors"), "{body}");
    assert_eq!(platform.instance_counts("site"), (0, 0));
}
