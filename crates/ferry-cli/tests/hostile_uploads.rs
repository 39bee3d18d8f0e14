//! End-to-end: hostile uploads against the real `ferry server` — archives that unpack to
//! far more than they weigh, paths thousands of directories deep, config files and
//! Dockerfiles that link to `/dev/zero` or `/etc/shadow`, setuid files, a client that
//! leaves mid-deploy, a crash that leaves revision files behind — and the CLI packing a
//! directory full of links. Each is refused with a clear answer, leaves nothing under
//! `builds/`, keeps the server's memory bounded, and another service keeps answering.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// Far above what the server needs here, far below what the bombs used to cost it
/// (750 MB to 2.5 GB for a config linked to /dev/zero).
const RSS_BOUND_KIB: u64 = 256 * 1024;
/// The unpack limits the bombs run against (`ferry server` flags).
const CAP_BYTES: u64 = 1024 * 1024;
const CAP_ENTRIES: u64 = 200;
const CAP_DEPTH: usize = 32;

/// A platform with low unpack limits, `hello` deployed on it as the bystander that must
/// keep answering, and a watcher sampling the server's memory and the bystander.
struct Hostile {
    platform: TestPlatform,
    watch: Watch,
    /// `builds/` as the bystander left it: every bomb must leave it so.
    builds: Vec<String>,
}

impl Hostile {
    fn start() -> Self {
        Self::start_with(&[
            "--max-unpacked-bytes",
            "1M",
            "--max-unpacked-entries",
            &CAP_ENTRIES.to_string(),
            "--max-path-depth",
            &CAP_DEPTH.to_string(),
        ])
    }

    fn start_with(flags: &[&str]) -> Self {
        let platform = TestPlatform::start_with_args("process", flags);
        platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
        platform.wait_for_body(
            "hello.localhost",
            "Hello from ferry",
            Duration::from_secs(60),
        );
        let builds = builds(&platform);
        assert!(builds.iter().any(|b| b.starts_with("rev-")), "{builds:?}");
        let watch = Watch::start(&platform);
        Self {
            platform,
            watch,
            builds,
        }
    }

    /// Nothing new under `builds/`, the bystander still answers, memory stayed bounded.
    fn assert_unharmed(&self, after: &str) {
        assert_eq!(builds(&self.platform), self.builds, "after {after}");
        let (status, body) = self.platform.curl("hello.localhost", "/");
        assert_eq!(
            (status, body.trim()),
            (200, "Hello from ferry"),
            "after {after}"
        );
        let rss = self.platform.server_rss_kib();
        assert!(
            rss < RSS_BOUND_KIB,
            "after {after}: the server holds {rss} KiB"
        );
    }

    fn finish(self) {
        let (peak, failures) = self.watch.stop();
        eprintln!("the server's memory peaked at {peak} KiB");
        assert!(
            peak < RSS_BOUND_KIB,
            "the server's memory peaked at {peak} KiB"
        );
        assert!(
            failures.is_empty(),
            "the bystander did not answer 200: {failures:?}"
        );
    }
}

/// Samples the server's VmRSS and GETs the bystander until stopped.
struct Watch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Watch {
    fn start(platform: &TestPlatform) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let pid = platform.server.as_ref().unwrap().id();
        let router = platform.info.router.clone();
        let thread = {
            let (stop, peak, failures) = (stop.clone(), peak.clone(), failures.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if let Some(rss) = rss_kib(pid) {
                        peak.fetch_max(rss, Ordering::SeqCst);
                    }
                    let (status, body) = curl_at(&router, "hello.localhost", "/");
                    if status != 200 {
                        failures.lock().unwrap().push(format!("{status} {body}"));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Self {
            stop,
            peak,
            failures,
            thread,
        }
    }

    fn stop(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        let failures = self.failures.lock().unwrap().clone();
        (self.peak.load(Ordering::SeqCst), failures)
    }
}

/// `builds/`'s entries, sorted.
fn builds(platform: &TestPlatform) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(platform.data.path().join("builds"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// curl against the API: (status, JSON body).
fn api(platform: &TestPlatform, path: &str, extra: &[&str]) -> (u16, serde_json::Value) {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "120", "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {}", platform.token())])
        .args(extra)
        .arg(format!("http://{}/api/v1{path}", platform.info.api))
        .output()
        .expect("curl is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (code.trim().parse().unwrap_or(0), json)
}

/// Uploads an archive; returns its digest.
fn upload(platform: &TestPlatform, archive: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), archive).unwrap();
    let (status, body) = api(
        platform,
        "/uploads",
        &["--data-binary", &format!("@{}", file.path().display())],
    );
    assert_eq!(status, 201, "{body}");
    body["digest"].as_str().unwrap().to_string()
}

/// Uploads an archive and asks for a deployment of it: (status, JSON body).
fn deploy_archive(
    platform: &TestPlatform,
    name: &str,
    archive: &[u8],
    overrides: &str,
) -> (u16, serde_json::Value) {
    let digest = upload(platform, archive);
    api(
        platform,
        &format!("/services/{name}/deployments"),
        &[
            "-H",
            "content-type: application/json",
            "-d",
            &format!("{{\"source\":{{\"upload\":\"{digest}\"}},\"overrides\":{overrides}}}"),
        ],
    )
}

/// A `.tar.gz` built entry by entry.
struct Archive(tar::Builder<flate2::write::GzEncoder<Vec<u8>>>);

impl Archive {
    fn new() -> Self {
        Self(tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::best(),
        )))
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header
    }

    fn file(mut self, path: &str, mode: u32, data: &[u8]) -> Self {
        let mut header = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut header, path, data).unwrap();
        self
    }

    /// `size` zero bytes, streamed (never held whole).
    fn zeros(mut self, path: &str, size: u64) -> Self {
        let mut header = Self::header(tar::EntryType::Regular, 0o644, size);
        let data = std::io::Read::take(std::io::repeat(0), size);
        self.0.append_data(&mut header, path, data).unwrap();
        self
    }

    fn dir(mut self, path: &str) -> Self {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.0.append_data(&mut header, path, &[][..]).unwrap();
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut header = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.0.append_link(&mut header, path, target).unwrap();
        self
    }

    /// A GNU sparse file of `real_size` bytes: one 512-byte data region at the end,
    /// holes before it (what `tar --sparse` makes of a mostly empty disk image).
    fn sparse(mut self, path: &str, real_size: u64) -> Self {
        let mut header = Self::header(tar::EntryType::GNUSparse, 0o644, 512);
        header.set_path(path).unwrap();
        let gnu = header.as_gnu_mut().unwrap();
        gnu.set_real_size(real_size);
        gnu.sparse[0].set_offset(real_size - 512);
        gnu.sparse[0].set_length(512);
        header.set_cksum();
        self.0.append(&header, &[7u8; 512][..]).unwrap();
        self
    }

    /// The hello example's files, so the archive is a deployable app.
    fn hello(mut self) -> Self {
        for name in ["app.py", "ferry.toml"] {
            let data = std::fs::read(example("hello").join(name)).unwrap();
            self = self.file(name, 0o644, &data);
        }
        self
    }

    fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap().finish().unwrap()
    }
}

#[test]
fn archives_that_unpack_past_the_limits_are_refused_with_413() {
    let hostile = Hostile::start();
    let platform = &hostile.platform;

    let bombs = [
        (
            "a 5 GB sparse file",
            Archive::new()
                .hello()
                .sparse("disk.img", 5_000_000_000)
                .finish(),
            "more than 1048576 bytes",
        ),
        (
            "a sparse file one byte over the limit",
            Archive::new()
                .hello()
                .sparse("disk.img", CAP_BYTES + 1)
                .finish(),
            "more than 1048576 bytes",
        ),
        (
            "zeros one byte over the limit",
            Archive::new()
                .hello()
                .zeros("zeros", CAP_BYTES + 1)
                .finish(),
            "more than 1048576 bytes",
        ),
        (
            "more files than the limit",
            (0..CAP_ENTRIES)
                .fold(Archive::new().hello(), |a, i| {
                    a.file(&format!("f{i}"), 0o644, b"")
                })
                .finish(),
            "more than 200 files and directories",
        ),
    ];
    for (what, archive, expected) in bombs {
        assert!(archive.len() < 64 * 1024, "{what}: {} bytes", archive.len());
        let (status, body) = deploy_archive(platform, "bomb", &archive, "{}");
        assert_eq!(status, 413, "{what}: {body}");
        assert_eq!(body["code"], "payload_too_large", "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{what}: {message}");
        assert!(
            message.contains("FERRY_MAX_UNPACKED_"),
            "{what}: the message says how to raise the limit: {message}"
        );
        hostile.assert_unharmed(what);
    }

    // Just under the limits it deploys.
    let fits = Archive::new()
        .hello()
        .zeros("zeros", CAP_BYTES - 64 * 1024)
        .finish();
    let (status, body) = deploy_archive(platform, "fits", &fits, "{}");
    assert_eq!(status, 202, "{body}");
    platform.wait_for_body(
        "fits.localhost",
        "Hello from ferry",
        Duration::from_secs(60),
    );

    // Through the CLI: the same refusal, in words.
    let app = copy_app("hello");
    std::fs::write(
        app.path().join("data.bin"),
        vec![1u8; 2 * CAP_BYTES as usize],
    )
    .unwrap();
    let out = platform.ferry_fails(&["deploy", app.path().to_str().unwrap(), "--name", "big"]);
    assert!(out.contains("unpacks to more than 1048576 bytes"), "{out}");
    assert!(!builds(platform).iter().any(|b| b.starts_with(".tmp-")));
    hostile.finish();
}

/// An archive with the hello app and one file at `path`.
fn hello_with_file_at(path: &str) -> Vec<u8> {
    let mut header = Archive::header(tar::EntryType::Regular, 0o644, 1);
    let mut archive = Archive::new().hello();
    archive.0.append_data(&mut header, path, &b"x"[..]).unwrap();
    archive.finish()
}

#[test]
fn deep_paths_are_refused_at_the_depth_and_length_limits() {
    let hostile = Hostile::start();
    let platform = &hostile.platform;
    // The 2,000-level bomb: `d/d/…/d/f`, a few hundred bytes compressed, 4,001 bytes of
    // path: over the length limit before the depth is counted.
    let bomb = hello_with_file_at(&format!("{}f", "d/".repeat(2000)));
    assert!(bomb.len() < 2048, "{} bytes", bomb.len());
    let (status, body) = deploy_archive(platform, "deep", &bomb, "{}");
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("path longer than 2048 bytes")
            && message.contains("FERRY_MAX_PATH_LENGTH"),
        "{message}"
    );
    assert!(
        message.len() < 400,
        "the path is cut in the message: {message}"
    );
    hostile.assert_unharmed("the 2,000-level path");

    // Short but deep: the depth limit (32 here).
    let deep = hello_with_file_at(&format!("{}f", "d/".repeat(40)));
    let (status, body) = deploy_archive(platform, "deep", &deep, "{}");
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("deeper than 32 directories") && message.contains("FERRY_MAX_PATH_DEPTH"),
        "{message}"
    );
    hostile.assert_unharmed("the 40-level path");

    // Every directory listed on its own, as `tar` writes them.
    let listed = (1..=200)
        .fold(Archive::new().hello(), |a, level| {
            a.dir(&"d/".repeat(level))
        })
        .finish();
    let (status, body) = deploy_archive(platform, "deep", &listed, "{}");
    assert_eq!(status, 400, "{body}");
    hostile.assert_unharmed("the listed deep path");
    hostile.finish();
}

#[test]
fn config_files_and_dockerfiles_that_link_out_are_refused_unread() {
    let hostile = Hostile::start();
    let platform = &hostile.platform;
    let app_py = std::fs::read(example("hello").join("app.py")).unwrap();
    let cases = [
        ("ferry.toml", "/dev/zero"),
        ("ferry.toml", "/etc/shadow"),
        ("ferry.toml", "../../../../../../etc/passwd"),
        ("apprunner.yaml", "/dev/zero"),
    ];
    for (name, target) in cases {
        let archive = Archive::new()
            .file("app.py", 0o644, &app_py)
            .symlink(name, target)
            .finish();
        let (status, body) = deploy_archive(platform, "linked", &archive, "{}");
        let what = format!("{name} -> {target}");
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["code"], "invalid_config", "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "{name} is a symlink to {target}, outside the app directory"
            )),
            "{what}: {message}"
        );
        hostile.assert_unharmed(&what);
    }

    // A Dockerfile linked to /dev/zero, through the real CLI (which packs the link as a
    // link): with a lint policy the deploy fails closed, saying why.
    let app = copy_app("hello");
    symlink("/dev/zero", app.path().join("Dockerfile")).unwrap();
    let dir = app.path().to_str().unwrap();
    let out = platform.ferry_fails(&[
        "deploy",
        dir,
        "--name",
        "docker-zero",
        "--lint-fail-on",
        "error",
    ]);
    assert!(
        out.contains("Dockerfile is a symlink to /dev/zero, outside the app directory"),
        "{out}"
    );
    let rss = platform.server_rss_kib();
    assert!(rss < RSS_BOUND_KIB, "the server holds {rss} KiB");
    // Without a policy the lint is skipped (and says so), and the app deploys.
    platform.ferry_ok(&["deploy", dir, "--name", "docker-lenient"]);
    let report = platform.ferry_ok(&["report", "docker-lenient"]);
    assert!(report.contains("Dockerfile lint skipped"), "{report}");
    hostile.finish();
}

#[test]
fn setuid_and_setgid_bits_are_dropped_from_uploaded_files() {
    let platform = TestPlatform::start();
    let archive = Archive::new()
        .hello()
        .file("tool", 0o6755, b"#!/bin/sh\necho hi\n")
        .finish();
    let (status, body) = deploy_archive(&platform, "modes", &archive, "{}");
    assert_eq!(status, 202, "{body}");
    let revision = body["revision"]["id"].as_str().unwrap();
    let tool = platform
        .data
        .path()
        .join("builds")
        .join(revision)
        .join("tool");
    let mode = std::fs::metadata(&tool).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o755, "{mode:o}");
}

#[test]
fn a_client_that_leaves_mid_deploy_leaves_no_files_behind() {
    // Default limits: the archive is big enough that unpacking it takes a while.
    let hostile = Hostile::start_with(&[]);
    let platform = &hostile.platform;
    let app = copy_app("hello");
    let big = std::fs::File::create(app.path().join("big.bin")).unwrap();
    big.set_len(300 * 1024 * 1024).unwrap();
    let archive = tempfile::NamedTempFile::new().unwrap();
    let packed = Command::new("tar")
        .args(["-C", app.path().to_str().unwrap(), "-czf"])
        .arg(archive.path())
        .arg(".")
        .status()
        .expect("tar is installed");
    assert!(packed.success());
    let digest = upload(platform, &std::fs::read(archive.path()).unwrap());

    // curl gives up after a second, mid-unpack (300 MiB to write): the server's request
    // is dropped. (A machine fast enough to finish first answers 202: completed.)
    let (status, body) = api(
        platform,
        "/services/leaver/deployments",
        &[
            "--max-time",
            "1",
            "-H",
            "content-type: application/json",
            "-d",
            &format!("{{\"source\":{{\"upload\":\"{digest}\"}}}}"),
        ],
    );
    assert!(status == 0 || status == 202, "{status} {body}");

    // The work is cancelled (nothing left) or completed (a service owns the files);
    // never files without a revision.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let services = platform.ferry_json(&["ls"]);
        let leaver = services
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "leaver");
        let now = builds(platform);
        let settled = if leaver {
            // Completed: one more revision directory (and maybe its build marker).
            now.iter().all(|b| !b.starts_with(".tmp-"))
                && now.iter().filter(|b| !b.ends_with(".built")).count()
                    == hostile
                        .builds
                        .iter()
                        .filter(|b| !b.ends_with(".built"))
                        .count()
                        + 1
        } else {
            now == hostile.builds
        };
        if settled {
            let outcome = if leaver { "completed" } else { "cancelled" };
            eprintln!("the deploy whose client left was {outcome}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "builds/ never settled: {now:?} (service leaver exists: {leaver})\n{}",
            tail(&platform.server_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rss = platform.server_rss_kib();
    assert!(rss < RSS_BOUND_KIB, "the server holds {rss} KiB");
    hostile.finish();
}

#[test]
fn revision_files_without_a_revision_are_removed_at_start_up() {
    let mut platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let kept = builds(&platform);
    // A crash between placing an upload's files and writing its revision row.
    platform.kill9();
    let builds_dir = platform.data.path().join("builds");
    std::fs::create_dir_all(builds_dir.join("rev-0123456789ab/src")).unwrap();
    std::fs::write(builds_dir.join("rev-0123456789ab/src/app.py"), "x").unwrap();
    std::fs::write(builds_dir.join("rev-0123456789ab.built"), "").unwrap();
    std::fs::create_dir_all(builds_dir.join(".tmp-0123/a")).unwrap();
    platform.boot();
    assert_eq!(builds(&platform), kept);
    platform.wait_for_body(
        "hello.localhost",
        "Hello from ferry",
        Duration::from_secs(60),
    );
}

/// Runs the CLI, sampling its peak memory (VmHWM) until it exits; kills it and fails
/// past the deadline. Returns (success, stdout + stderr, peak KiB).
fn ferry_watched(platform: &TestPlatform, args: &[&str]) -> (bool, String, u64) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(FERRY)
        .args(args)
        .env("FERRY_DATA_DIR", platform.data.path())
        .env_remove("FERRY_TOKEN")
        .env_remove("FERRY_SERVER")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(out.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut peak = 0;
    let status = loop {
        if let Some(hwm) = proc_status_kib(child.id(), "VmHWM:") {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ferry {args:?} still running after the deadline, at {peak} KiB:\n{}",
                std::fs::read_to_string(out.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (
        status.success(),
        std::fs::read_to_string(out.path()).unwrap_or_default(),
        peak,
    )
}

#[test]
fn the_cli_packs_links_as_links_and_streams_the_archive() {
    let platform = TestPlatform::start();

    // A config linked to /dev/zero is refused at once, not read.
    let app = copy_app("hello");
    std::fs::remove_file(app.path().join("ferry.toml")).unwrap();
    symlink("/dev/zero", app.path().join("ferry.toml")).unwrap();
    let (ok, out, peak) = ferry_watched(&platform, &["deploy", app.path().to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("ferry.toml is a symlink to /dev/zero, outside the app directory"),
        "{out}"
    );
    assert!(peak < RSS_BOUND_KIB, "the CLI peaked at {peak} KiB");

    // What the CLI needs for a small app, to compare with.
    let small = copy_app("hello");
    let (ok, out, baseline) = ferry_watched(&platform, &["deploy", small.path().to_str().unwrap()]);
    assert!(ok, "{out}");

    // Links to files outside the app and to devices travel as links: the server gets
    // the link, not the content.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "not for the server").unwrap();
    let app = copy_app("hello");
    let secret: PathBuf = outside.path().join("secret");
    symlink(&secret, app.path().join("secret")).unwrap();
    symlink("/dev/zero", app.path().join("zero")).unwrap();
    // Incompressible, so an archive built in memory would weigh as much.
    let mut noise = vec![0u8; 64 * 1024 * 1024];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in noise.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(app.path().join("noise.bin"), &noise).unwrap();
    drop(noise);
    let (ok, out, peak) = ferry_watched(&platform, &["deploy", app.path().to_str().unwrap()]);
    assert!(ok, "{out}\n{}", tail(&platform.server_log(), 30));
    eprintln!("the CLI peaked at {peak} KiB uploading 64 MiB, {baseline} KiB for a small app");
    assert!(
        peak < baseline + 16 * 1024,
        "the CLI peaked at {peak} KiB uploading 64 MiB ({baseline} KiB for a small app): the archive is not streamed"
    );
    // Newest first: the one with the links.
    let listed = platform.ferry_json(&["revisions", "hello"]);
    let revision = listed[0]["id"].as_str().unwrap().to_string();
    let files: &Path = &platform.data.path().join("builds").join(revision);
    assert_eq!(std::fs::read_link(files.join("secret")).unwrap(), secret);
    assert_eq!(
        std::fs::read_link(files.join("zero")).unwrap(),
        Path::new("/dev/zero")
    );
    assert_eq!(
        std::fs::metadata(files.join("noise.bin")).unwrap().len(),
        64 * 1024 * 1024
    );
}
