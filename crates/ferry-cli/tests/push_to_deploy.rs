//! Push-to-deploy end to end: the real `ferry server` with its own registry, real
//! `docker push` to it, and Distribution (`docker-registry`) with htpasswd auth fed by
//! skopeo for a followed tag elsewhere. Images are made from a static busybox; nothing
//! is pulled from the internet. Measured times are printed (never asserted tightly).

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// Runs a command and asserts success; returns stdout.
fn ok(command: &mut Command) -> String {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A docker CLI whose credentials live in `config` (never the user's own).
fn docker(config: &Path) -> Command {
    let mut command = Command::new("docker");
    command.env("DOCKER_CONFIG", config);
    command
}

/// Imports a busybox httpd image serving `content` at `/` as `tag` (a local name).
fn import_site(tag: &str, content: &str) {
    import_busybox_image(tag, &[("www/index.html", content)]);
}

/// The digest `docker push` printed.
fn pushed_digest(output: &str) -> String {
    output
        .split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in {output}"))
        .to_string()
}

fn revisions(platform: &TestPlatform, name: &str) -> Vec<serde_json::Value> {
    platform
        .ferry_json(&["revisions", name])
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `name` has `count` revisions; returns how long it took.
fn wait_for_revisions(
    platform: &TestPlatform,
    name: &str,
    count: usize,
    timeout: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        if revisions(platform, name).len() >= count {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "{name} never got {count} revisions\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Local image names made by one test, and the repositories the engine pulled by
/// digest for it, removed at its end.
struct Images(Vec<String>, Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        let mut all = self.0.clone();
        for repository in &self.1 {
            if let Ok(output) = Command::new("docker")
                .args(["images", "-q", "--no-trunc", repository])
                .output()
            {
                all.extend(
                    String::from_utf8_lossy(&output.stdout)
                        .split_whitespace()
                        .map(str::to_string),
                );
            }
        }
        let _ = Command::new("docker")
            .arg("rmi")
            .arg("-f")
            .args(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn needs_docker_push_to_ferrys_registry_deploys_and_a_rollback_stays() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    // Declared before the server so they are removed after its containers.
    let mut images = Images(Vec::new(), Vec::new());
    let platform = TestPlatform::start_with("docker");
    let port = platform.info.api.rsplit(':').next().unwrap().to_string();
    let host = format!("localhost:{port}");
    let config = tempfile::tempdir().unwrap();
    let mut login = docker(config.path())
        .args(["login", &host, "-u", "ferry", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(login.stdin.as_mut().unwrap(), platform.token().as_bytes()).unwrap();
    drop(login.stdin.take());
    assert!(login.wait().unwrap().success(), "docker login failed");

    let local = format!("ferry-push-e2e-{}", std::process::id());
    let latest = format!("{host}/shop/web:latest");
    images.0.push(latest.clone());
    images.1.push(format!("{host}/shop/web"));
    let push = |tag: &str| -> String {
        ok(docker(config.path()).args(["tag", tag, &latest]));
        pushed_digest(&ok(docker(config.path()).args(["push", &latest])))
    };
    for (n, content) in [(1, "content A\n"), (2, "content B\n"), (3, "content C\n")] {
        let tag = format!("{local}:{n}");
        import_site(&tag, content);
        images.0.push(tag);
    }

    // Tag 1 pushed, then deployed from ferry's registry: pinned to its digest.
    let digest_a = push(&format!("{local}:1"));
    platform.ferry_ok(&["deploy", "--image", &latest, "--name", "web"]);
    platform.wait_for_body("web.localhost", "content A", Duration::from_secs(30));
    let first = &revisions(&platform, "web")[0];
    assert_eq!(
        first["source"]["image"],
        format!("{host}/shop/web@{digest_a}")
    );
    assert_eq!(first["source"]["from_tag"], latest);
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["following"]["auto_deploy"], true);
    assert_eq!(status["following"]["last_digest"], digest_a);

    // A new image pushed to :latest deploys by itself.
    let digest_b = push(&format!("{local}:2"));
    let pushed = Instant::now();
    let to_revision = wait_for_revisions(&platform, "web", 2, Duration::from_secs(30));
    platform.wait_for_body("web.localhost", "content B", Duration::from_secs(60));
    let to_serving = pushed.elapsed();
    eprintln!(
        "push-to-deploy: push end -> revision created {:.0} ms, -> serving {:.0} ms",
        to_revision.as_secs_f64() * 1000.0,
        to_serving.as_secs_f64() * 1000.0
    );
    let second = &revisions(&platform, "web")[0];
    assert_eq!(second["number"], 2);
    assert_eq!(
        second["source"]["image"],
        format!("{host}/shop/web@{digest_b}")
    );

    // The same digest pushed again: no new revision.
    assert_eq!(push(&format!("{local}:2")), digest_b);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(revisions(&platform, "web").len(), 2);

    // A rollback runs the old digest, and stays: the trigger runs after it (the
    // rollback wakes it, and so does another push of the same digest) and does nothing.
    platform.ferry_ok(&["rollback", "web"]);
    platform.wait_for_body("web.localhost", "content A", Duration::from_secs(30));
    assert_eq!(push(&format!("{local}:2")), digest_b);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(platform.curl("web.localhost", "/").1, "content A\n");
    assert_eq!(revisions(&platform, "web").len(), 2);
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["active_revision_number"], 1);
    let trigger = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "image-trigger")
        .expect("the image trigger's status is shown");
    assert_eq!(trigger["last_outcome"], "ok");

    // Only a new push moves it on again.
    push(&format!("{local}:3"));
    wait_for_revisions(&platform, "web", 3, Duration::from_secs(30));
    platform.wait_for_body("web.localhost", "content C", Duration::from_secs(60));

    // --no-auto-deploy pins the digest and stops following.
    platform.ferry_ok(&[
        "deploy",
        "--image",
        &latest,
        "--name",
        "web",
        "--no-auto-deploy",
    ]);
    push(&format!("{local}:1"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(revisions(&platform, "web").len(), 4);
    assert_eq!(platform.curl("web.localhost", "/").1, "content C\n");

    // The engine's copy pruned while the service is paused: resume pulls it again
    // from ferry's registry (by digest) instead of failing to start.
    let image_id = revisions(&platform, "web")[0]["source"]["image_id"]
        .as_str()
        .unwrap()
        .to_string();
    platform.ferry_ok(&["pause", "web"]);
    ok(docker(config.path()).args(["rmi", "-f", &image_id]));
    let gone = docker(config.path())
        .args(["image", "inspect", &image_id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!gone.success(), "the image is still in the engine");
    platform.ferry_ok(&["resume", "web"]);
    platform.wait_for_body("web.localhost", "content C", Duration::from_secs(60));

    // A tag that is not in the registry is refused with what to do.
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        &format!("{host}/shop/none:1"),
        "--name",
        "none",
    ]);
    assert!(err.contains("is not in ferry's registry"), "{err}");
}

/// Distribution with htpasswd auth on a loopback port, stopped when dropped.
struct Distribution {
    child: std::process::Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl Distribution {
    fn start(user: &str, password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let htpasswd = ok(Command::new("htpasswd").args(["-Bbn", user, password]));
        std::fs::write(dir.path().join("htpasswd"), htpasswd).unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: ferry-test\n    path: {}\n",
                dir.path().join("data").display(),
                dir.path().join("htpasswd").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            host: format!("127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn needs_docker_a_tag_in_another_registry_is_polled_and_deployed() {
    ferry_testenv::require!(
        Need::DockerEngine,
        Need::StaticBusybox,
        Need::Skopeo,
        Need::DockerRegistry,
        Need::Htpasswd
    );
    let (user, password) = ("deployer", "s3cret-pass");
    let registry = Distribution::start(user, password);
    // Declared before the server so they are removed after its containers.
    let mut images = Images(Vec::new(), vec![format!("{}/team/api", registry.host)]);
    let platform = TestPlatform::start_with("docker");
    let local = format!("ferry-poll-e2e-{}", std::process::id());
    let stable = format!("{}/team/api:stable", registry.host);
    for (n, content) in [(1, "api one\n"), (2, "api two\n")] {
        let tag = format!("{local}:{n}");
        import_site(&tag, content);
        images.0.push(tag);
    }
    let copy = |tag: &str| {
        ok(Command::new("skopeo").args([
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            &format!("{user}:{password}"),
            &format!("docker-daemon:{tag}"),
            &format!("docker://{stable}"),
        ]));
    };
    copy(&format!("{local}:1"));

    // Credentials come from a Docker config of the CLI's own.
    let docker_config = tempfile::tempdir().unwrap();
    let auth = ok(Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s' '{user}:{password}' | base64 -w0")));
    std::fs::write(
        docker_config.path().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            registry.host,
            auth.trim()
        ),
    )
    .unwrap();
    let deploy = Command::new(FERRY)
        .args([
            "deploy",
            "--image",
            &stable,
            "--name",
            "api",
            "--auto-deploy",
            "--poll",
            "1s",
        ])
        .env("FERRY_DATA_DIR", platform.data.path())
        .env("DOCKER_CONFIG", docker_config.path())
        .env_remove("FERRY_TOKEN")
        .env_remove("FERRY_SERVER")
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "deploy failed: {}\n{}",
        String::from_utf8_lossy(&deploy.stderr),
        tail(&platform.server_log(), 40)
    );
    platform.wait_for_body("api.localhost", "api one", Duration::from_secs(30));
    let status = platform.ferry_json(&["status", "api"]);
    assert_eq!(status["following"]["poll_ms"], 1000);
    assert_eq!(status["following"]["has_credentials"], true);
    assert!(revisions(&platform, "api")[0]["source"]["image"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/team/api@sha256:", registry.host)));

    // A new image behind the tag, pushed by skopeo, is found by polling and served.
    copy(&format!("{local}:2"));
    let pushed = Instant::now();
    let to_revision = wait_for_revisions(&platform, "api", 2, Duration::from_secs(30));
    platform.wait_for_body("api.localhost", "api two", Duration::from_secs(60));
    eprintln!(
        "poll-to-deploy (1s poll): push end -> revision created {:.0} ms, -> serving {:.0} ms",
        to_revision.as_secs_f64() * 1000.0,
        pushed.elapsed().as_secs_f64() * 1000.0
    );

    // Without credentials the registry refuses the poll: a clear error on deploy.
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        &stable,
        "--name",
        "other",
        "--auto-deploy",
    ]);
    assert!(err.contains("cannot read"), "{err}");
}
