//! End-to-end: the real `ferry server` and `ferry` CLI with the process runtime, real
//! SQLite, real processes, curl through the router.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};
use support::*;

#[test]
fn deploys_every_example_app_and_serves_it_through_the_router() {
    let platform = TestPlatform::start();
    let out = platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    assert!(out.contains("http://hello.localhost:"), "{out}");
    let (status, body) = platform.curl("hello.localhost", "/");
    assert_eq!((status, body.trim()), (200, "Hello from ferry"));

    // apprunner.yaml as App Runner users write it, port via network.env.
    platform.ferry_ok(&[
        "deploy",
        example("apprunner-python").to_str().unwrap(),
        "--name",
        "greeter",
    ]);
    let (status, body) = platform.curl("greeter.localhost", "/");
    assert_eq!(
        (status, body.trim()),
        (200, "Greetings from apprunner.yaml")
    );

    let listed = platform.ferry_json(&["ls"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["greeter", "hello"]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "RUNNING"));

    // Unknown host: the router's 404 page.
    let (status, body) = platform.curl("nope.localhost", "/");
    assert_eq!(status, 404);
    assert!(body.contains("nope.localhost"));
}

#[test]
fn redeploy_rollback_pause_resume_delete() {
    let platform = TestPlatform::start();
    let app = example("hello");
    let app = app.to_str().unwrap();
    platform.ferry_ok(&["deploy", app, "--env", "MARKER=one"]);
    platform.ferry_ok(&["deploy", app, "--env", "MARKER=two"]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry two"
    );

    let revisions = platform.ferry_json(&["revisions", "hello"]);
    let statuses: Vec<&str> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "INACTIVE"]);

    // Rollback runs revision 1's own files and config again, without a rebuild.
    platform.ferry_ok(&["rollback", "hello"]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry one"
    );
    platform.ferry_ok(&["rollback", "hello", "2"]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry two"
    );

    platform.ferry_ok(&["pause", "hello"]);
    let (status, body) = platform.curl("hello.localhost", "/");
    assert_eq!(status, 503);
    assert!(body.to_lowercase().contains("paused"), "{body}");
    let status = platform.ferry_json(&["status", "hello"]);
    assert_eq!(status["status"], "PAUSED");
    assert!(status["runtime"]["instances"]
        .as_array()
        .unwrap()
        .is_empty());
    platform.ferry_fails(&["pause", "hello"]);

    platform.ferry_ok(&["resume", "hello"]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry two"
    );

    let logs = platform.ferry_ok(&["logs", "hello", "--tail", "50"]);
    assert!(logs.contains("listening on 127.0.0.1:"), "{logs}");
    assert!(logs.contains("[build-1]"), "{logs}");

    let ops = platform.ferry_json(&["ops", "hello"]);
    let kinds: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "RESUME_SERVICE",
            "PAUSE_SERVICE",
            "ROLLBACK",
            "ROLLBACK",
            "START_DEPLOYMENT",
            "CREATE_SERVICE"
        ]
    );
    assert!(ops
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "SUCCEEDED"));
    let first = ops.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let timeline = platform.ferry_ok(&["ops", "--id", &first]);
    assert!(
        timeline.contains("Traffic switched to revision 1"),
        "{timeline}"
    );

    platform.ferry_ok(&["delete", "hello"]);
    assert_eq!(platform.curl("hello.localhost", "/").0, 404);
    let listed = platform.ferry_json(&["ls"]);
    assert!(listed.as_array().unwrap().is_empty());
    let err = platform.ferry_fails(&["status", "hello"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn failed_deploys_keep_the_previous_revision_serving() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    let dir = app.path().to_str().unwrap();
    platform.ferry_ok(&["deploy", dir, "--env", "MARKER=good"]);

    // 1. A process that exits at once.
    let err = platform.ferry_fails(&["deploy", dir, "--command", "echo about to fail; exit 3"]);
    assert!(err.contains("exited with code 3"), "{err}");
    assert!(
        err.contains("about to fail"),
        "the last log lines are shown: {err}"
    );
    assert_eq!(
        platform.curl("hello.localhost", "/"),
        (200, "Hello from ferry good\n".into())
    );

    // 2. A process that never opens its port (short health check window).
    write_config(
        app.path(),
        "name = \"hello\"\n[run]\ncommand = \"echo sleeping; exec sleep 600\"\n[health_check]\ninterval = 1\nunhealthy_threshold = 2\n",
    );
    let started = Instant::now();
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(err.contains("health check failed"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        platform.curl("hello.localhost", "/"),
        (200, "Hello from ferry good\n".into())
    );

    // 3. A build that fails.
    write_config(
        app.path(),
        "name = \"hello\"\n[build]\ncommand = \"echo compiling; false\"\n[run]\ncommand = \"python3 app.py\"\n",
    );
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(err.contains("build failed"), "{err}");
    assert!(err.contains("compiling"), "{err}");
    assert_eq!(platform.curl("hello.localhost", "/").0, 200);

    let status = platform.ferry_json(&["status", "hello"]);
    assert_eq!(status["status"], "RUNNING");
    assert_eq!(status["active_revision_number"], 1);
    let revisions = platform.ferry_json(&["revisions", "hello"]);
    let statuses: Vec<&str> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["FAILED", "FAILED", "FAILED", "ACTIVE"]);
    let ops = platform.ferry_json(&["ops", "hello"]);
    assert_eq!(ops[0]["status"], "FAILED");
    assert!(ops[0]["error"].as_str().unwrap().contains("build failed"));
    // A failed revision cannot be rolled back to.
    let err = platform.ferry_fails(&["rollback", "hello", "2"]);
    assert!(err.contains("failed to deploy"), "{err}");

    // A first deploy that fails leaves a CREATE_FAILED service, not a broken route.
    let crasher = tempfile::tempdir().unwrap();
    write_config(
        crasher.path(),
        "name = \"crasher\"\n[run]\ncommand = \"exit 1\"\n",
    );
    platform.ferry_fails(&["deploy", crasher.path().to_str().unwrap()]);
    let listed = platform.ferry_json(&["status", "crasher"]);
    assert_eq!(listed["status"], "CREATE_FAILED");
    assert_eq!(platform.curl("crasher.localhost", "/").0, 503);
}

#[test]
fn invalid_config_names_file_line_and_key() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    let dir = app.path().to_str().unwrap();
    write_config(
        app.path(),
        "name = \"hello\"\n\n[run]\ncommand = \"python3 app.py\"\nprot = 8080\n",
    );
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(err.contains("ferry.toml:5:1"), "{err}");
    assert!(err.contains("\"prot\""), "{err}");

    write_config(
        app.path(),
        "[health_check]\ninterval = 99\n[run]\ncommand = \"x\"\n",
    );
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(err.contains("ferry.toml:2:"), "{err}");
    assert!(err.contains("interval"), "{err}");

    std::fs::remove_file(app.path().join("ferry.toml")).unwrap();
    std::fs::write(
        app.path().join("apprunner.yaml"),
        "version: 1.0\nruntime: python3\nrun:\n  command: python3 app.py\n  network:\n    port: 70000\n",
    )
    .unwrap();
    let err = platform.ferry_fails(&["deploy", dir, "--name", "hello"]);
    assert!(err.contains("apprunner.yaml:6:"), "{err}");
    assert!(err.contains("port"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = platform.ferry_fails(&["deploy", empty.path().to_str().unwrap(), "--name", "x"]);
    assert!(err.contains("no ferry.toml or apprunner.yaml"), "{err}");
    assert!(err.contains("[run]"), "{err}");

    // Nothing was created by the rejected deploys.
    assert!(platform.ferry_json(&["ls"]).as_array().unwrap().is_empty());
}

#[test]
fn api_rejects_missing_or_wrong_token_on_every_route() {
    let platform = TestPlatform::start();
    let base = format!("http://{}", platform.info.api);
    let token = platform.token();
    // The route list comes from the OpenAPI document, itself generated from the
    // router's route catalogue.
    let doc = std::process::Command::new("curl")
        .args([
            "-sf",
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("{base}/api/v1/openapi.json"),
        ])
        .output()
        .unwrap();
    assert!(doc.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
    let mut checked = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{name}", "hello")
            .replace("{number}", "1")
            .replace("{id}", "op-123");
        for method in methods.as_object().unwrap().keys() {
            for auth in [None, Some("Bearer wrong"), Some("Basic ZmVycnk6d3Jvbmc=")] {
                let mut args = vec![
                    "-s".to_string(),
                    "-o".into(),
                    "/dev/null".into(),
                    "-w".into(),
                    "%{http_code}".into(),
                    "-X".into(),
                    method.to_uppercase(),
                ];
                if let Some(auth) = auth {
                    args.push("-H".into());
                    args.push(format!("Authorization: {auth}"));
                }
                args.push(format!("{base}{concrete}"));
                let out = std::process::Command::new("curl")
                    .args(&args)
                    .output()
                    .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    "401",
                    "{method} {concrete} with {auth:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 18 * 3, "only {checked} checks");
    // Unknown API paths do not reveal anything either.
    let (status, _) = curl_at(&platform.info.api, "localhost", "/api/v1/nope");
    assert_eq!(status, 401);
    // With the right token, Basic works as well as Bearer.
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            &format!("ferry:{token}"),
            &format!("{base}/api/v1/services"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    // And the CLI reports a wrong token clearly.
    let out = std::process::Command::new(FERRY)
        .args(["ls"])
        .env("FERRY_DATA_DIR", platform.data.path())
        .env("FERRY_TOKEN", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing or wrong token"));
    // The token file is owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(platform.data.path().join("token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // With the token, requests axum rejects by itself still get the JSON error shape.
    for (method, path, status, code) in [
        ("GET", "/api/v1/operations?limit=abc", 400, "bad_request"),
        ("GET", "/api/v1/services/%ff%fe", 400, "bad_request"),
        ("GET", "/api/v1/services/x/logs?tail=-5", 400, "bad_request"),
        ("PUT", "/api/v1/services", 405, "method_not_allowed"),
        ("POST", "/api/v1/services/x/deployments", 400, "bad_request"),
    ] {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                "-X",
                method,
                "-H",
                &format!("Authorization: Bearer {token}"),
                "-H",
                "content-type: application/json",
                &format!("{base}{path}"),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, got) = text.rsplit_once('\n').unwrap();
        assert_eq!(got, status.to_string(), "{method} {path}: {body}");
        let body: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}"));
        assert_eq!(body["code"], code, "{method} {path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    }
}

#[test]
fn crashed_instances_are_replaced_and_counted() {
    let platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let status = platform.ferry_json(&["status", "hello"]);
    let address = status["runtime"]["instances"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let port = address.rsplit(':').next().unwrap();
    // Kill the app's process (not ferry's): find it by its port.
    let pids = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ss -ltnpH 'sport = :{port}' | grep -o 'pid=[0-9]*' | cut -d= -f2"
        ))
        .output()
        .unwrap();
    let pids = String::from_utf8_lossy(&pids.stdout).to_string();
    assert!(!pids.trim().is_empty(), "no process on port {port}");
    for pid in pids.split_whitespace() {
        std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status()
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = platform.ferry_json(&["status", "hello"]);
        let restarted = status["runtime"]["restarts"].as_u64().unwrap_or(0) >= 1;
        let ready = status["runtime"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["state"] == "ready" && i["address"] != address.as_str());
        if restarted && ready {
            let exit = status["runtime"]["last_exit"].as_str().unwrap_or_default();
            assert!(
                exit.contains("signal 9") || exit.contains("SIGKILL"),
                "{exit}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not replaced: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(platform.curl("hello.localhost", "/").0, 200);
    let text = platform.ferry_ok(&["status", "hello"]);
    assert!(text.contains("restarts   1"), "{text}");
    assert!(text.contains("last exit"), "{text}");
}

#[test]
fn zero_downtime_across_five_process_deploys() {
    let platform = TestPlatform::start();
    let app = example("hello");
    let app = app.to_str().unwrap();
    platform.ferry_ok(&["deploy", app, "--env", "MARKER=v0"]);
    let load = Load::start(&platform.info.router, "hello.localhost", 4);
    let mut deployed_at = Vec::new();
    for n in 1..=5 {
        platform.ferry_ok(&["deploy", app, "--env", &format!("MARKER=v{n}")]);
        deployed_at.push((format!("v{n}"), Instant::now()));
        std::thread::sleep(Duration::from_millis(300));
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let samples = load.finish();
    let failures: Vec<&Sample> = samples
        .iter()
        .filter(|s| !(200..300).contains(&s.status))
        .collect();
    assert!(
        failures.is_empty(),
        "{} non-2xx of {}: {:?}",
        failures.len(),
        samples.len(),
        &failures[..failures.len().min(5)]
    );
    // Reported, never asserted: these machines are shared and noisy.
    let span = samples.last().unwrap().at - samples.first().unwrap().at;
    let rate = samples.len() as f64 / span.as_secs_f64();
    eprintln!(
        "{} requests at {rate:.0} req/s during five deploys",
        samples.len()
    );
    for (marker, at) in &deployed_at {
        let seen = samples
            .iter()
            .any(|s| s.at >= *at && s.body.trim().ends_with(marker.as_str()));
        assert!(seen, "{marker} never served after its deploy");
    }
    // Markers never go backwards: once a load thread is served v<n>, its next
    // requests never reach an older revision (the switch is one atomic table swap).
    for worker in 0..4 {
        let markers: Vec<u32> = samples
            .iter()
            .filter(|s| s.worker == worker)
            .filter_map(|s| s.body.trim().rsplit('v').next()?.parse().ok())
            .collect();
        assert!(
            markers.windows(2).all(|w| w[0] <= w[1]),
            "worker {worker}: a marker went backwards: {markers:?}"
        );
    }
    // Once the last deploy is done, only its marker is served.
    let last: Vec<&Sample> = samples.iter().filter(|s| s.at >= started).collect();
    assert!(last.iter().all(|s| s.body.trim().ends_with("v5")));
}

#[test]
fn kill_9_during_a_deploy_then_restart_loses_nothing() {
    let mut platform = TestPlatform::start();
    let app = copy_app("hello");
    let dir = app.path().to_str().unwrap();
    platform.ferry_ok(&["deploy", dir, "--env", "MARKER=stable"]);
    // A slow build so the kill lands mid-deploy.
    write_config(
        app.path(),
        "name = \"hello\"\n[build]\ncommand = \"sleep 3\"\n[run]\ncommand = \"python3 app.py\"\nenv = { MARKER = \"after\" }\n",
    );
    platform.ferry_ok(&["deploy", dir, "--detach"]);
    std::thread::sleep(Duration::from_millis(1000));
    platform.kill9();
    platform.boot();
    let listed = platform.ferry_json(&["ls"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The interrupted deploy resumes (its revision was complete on disk) and succeeds.
    platform.wait_for_body("hello.localhost", "after", Duration::from_secs(60));
    let revisions = platform.ferry_json(&["revisions", "hello"]);
    assert_eq!(revisions.as_array().unwrap().len(), 2);
    for revision in revisions.as_array().unwrap() {
        let dir = platform
            .data
            .path()
            .join("builds")
            .join(revision["id"].as_str().unwrap());
        assert!(dir.join("app.py").is_file(), "revision files complete");
    }
    let leftovers: Vec<_> = std::fs::read_dir(platform.data.path().join("builds"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    // Exactly one instance serves after the restart (the old one was replaced).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = platform.ferry_json(&["status", "hello"]);
        if status["status"] == "RUNNING"
            && status["runtime"]["instances"].as_array().unwrap().len() == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn restart_brings_back_every_service() {
    let mut platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    platform.ferry_ok(&[
        "deploy",
        example("apprunner-python").to_str().unwrap(),
        "--name",
        "greeter",
    ]);
    assert!(platform.terminate(), "clean SIGTERM exit");
    platform.boot();
    platform.wait_for_body(
        "hello.localhost",
        "Hello from ferry",
        Duration::from_secs(30),
    );
    platform.wait_for_body("greeter.localhost", "Greetings", Duration::from_secs(30));
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let router = platform.info.router.clone();
    let slow = std::thread::spawn(move || curl_at(&router, "hello.localhost", "/slow/2"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(platform.terminate());
    let (status, body) = slow.join().unwrap();
    assert_eq!((status, body.trim()), (200, "Hello from ferry"));
}

#[test]
fn interrupted_upload_leaves_nothing_behind() {
    use std::io::Write;
    let platform = TestPlatform::start();
    let mut stream = std::net::TcpStream::connect(&platform.info.api).unwrap();
    let request = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 1000000\r\n\r\n",
        platform.token()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(&[0u8; 10_000]).unwrap();
    drop(stream);
    std::thread::sleep(Duration::from_millis(500));
    let uploads: Vec<_> = std::fs::read_dir(platform.data.path().join("uploads"))
        .unwrap()
        .flatten()
        .collect();
    assert!(uploads.is_empty(), "{uploads:?}");
    // A digest mismatch is refused and stored nowhere.
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {}", platform.token()),
            "--data-binary",
            "hello",
            &format!(
                "http://{}/api/v1/uploads?digest=sha256:{}",
                platform.info.api,
                "0".repeat(64)
            ),
        ])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("digest mismatch"), "{body}");
    assert!(std::fs::read_dir(platform.data.path().join("uploads"))
        .unwrap()
        .next()
        .is_none());
    // A garbage "archive" is rejected at deploy time with a clear error, no service made.
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {}", platform.token()),
            "--data-binary",
            "not a tarball",
            &format!("http://{}/api/v1/uploads", platform.info.api),
        ])
        .output()
        .unwrap();
    let uploaded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = uploaded["digest"].as_str().unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {}", platform.token()),
            "-H",
            "content-type: application/json",
            "-d",
            &format!("{{\"source\":{{\"upload\":\"{digest}\"}}}}"),
            &format!(
                "http://{}/api/v1/services/junk/deployments",
                platform.info.api
            ),
        ])
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["code"], "bad_request", "{body}");
    assert!(platform.ferry_json(&["ls"]).as_array().unwrap().is_empty());
}

#[test]
fn up_runs_the_demo_in_one_command() {
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(FERRY)
        .args([
            "up",
            example("hello").to_str().unwrap(),
            "--api",
            "127.0.0.1:0",
            "--router",
            "127.0.0.1:0",
            "--runtime",
            "process",
        ])
        .env("FERRY_DATA_DIR", data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("http://hello.localhost:"), "{url}");
    let port = url.rsplit(':').next().unwrap();
    let (status, body) = curl_at(&format!("127.0.0.1:{port}"), "hello.localhost", "/");
    assert_eq!((status, body.trim()), (200, "Hello from ferry"));
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn image_deploy_without_a_container_runtime_says_what_to_install() {
    let platform = TestPlatform::start_with("process");
    let err = platform.ferry_fails(&["deploy", "--image", "busybox:1", "--name", "web"]);
    assert!(err.contains("install Docker"), "{err}");
    assert!(platform.ferry_json(&["ls"]).as_array().unwrap().is_empty());
}

#[test]
fn instances_domains_and_request_timeout() {
    let platform = TestPlatform::start();
    platform.ferry_ok(&[
        "deploy",
        example("hello").to_str().unwrap(),
        "--min",
        "2",
        "--domain",
        "hello.example.test",
        "--request-timeout",
        "1",
    ]);
    let status = platform.ferry_json(&["status", "hello"]);
    let instances = status["runtime"]["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{status}");
    assert!(instances.iter().all(|i| i["state"] == "ready"));
    // The custom domain routes to the same service.
    assert_eq!(platform.curl("hello.example.test", "/").0, 200);
    // Another service cannot claim that domain (or hello's own host); nothing is created.
    let other = example("hello");
    for domain in ["HELLO.example.test", "hello.localhost"] {
        let err = platform.ferry_fails(&[
            "deploy",
            other.to_str().unwrap(),
            "--name",
            "other",
            "--domain",
            domain,
        ]);
        assert!(err.contains("already routed to service hello"), "{err}");
    }
    assert_eq!(platform.ferry_json(&["ls"]).as_array().unwrap().len(), 1);
    assert_eq!(platform.curl("hello.example.test", "/").0, 200);
    // Both instances get traffic.
    for _ in 0..20 {
        assert_eq!(platform.curl("hello.localhost", "/lb").0, 200);
    }
    let logs = platform.ferry_ok(&["logs", "hello", "--tail", "200"]);
    for instance in instances {
        let id = instance["id"].as_str().unwrap();
        assert!(
            logs.contains(&format!("[{id}] 127.0.0.1 \"GET /lb HTTP/1.1\"")),
            "{id} got no request:\n{logs}"
        );
    }
    // A request slower than the service's timeout gets the router's 504.
    let (status, body) = platform.curl("hello.localhost", "/slow/3");
    assert_eq!(status, 504, "{body}");
    let metrics = platform.ferry_json(&["status", "hello"])["metrics"].clone();
    assert!(metrics["requests"].as_u64().unwrap() >= 22, "{metrics}");
    assert!(metrics["responses_5xx"].as_u64().unwrap() >= 1, "{metrics}");

    // Once hello's new revision drops the domain, another service may take it; rolling
    // hello back to the revision that had it is then refused, and hello keeps serving.
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let other = example("hello");
    let other = other.to_str().unwrap();
    platform.ferry_ok(&[
        "deploy",
        other,
        "--name",
        "other",
        "--domain",
        "hello.example.test",
    ]);
    let err = platform.ferry_fails(&["rollback", "hello", "1"]);
    assert!(err.contains("already routed to service other"), "{err}");
    assert_eq!(platform.curl("hello.localhost", "/").0, 200);
    assert_eq!(platform.curl("hello.example.test", "/").0, 200);
    let ops = platform.ferry_json(&["ops", "hello"]);
    let kinds: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"START_DEPLOYMENT"), "{ops}");
    assert!(!kinds.contains(&"ROLLBACK"), "{ops}");
}

#[test]
fn dockerfile_lint_gate_blocks_at_the_threshold_and_reports_otherwise() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    let dir = app.path().to_str().unwrap();
    platform.ferry_ok(&["deploy", dir, "--env", "MARKER=clean"]);
    std::fs::write(
        app.path().join("Dockerfile"),
        "FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD python3 app.py\n",
    )
    .unwrap();
    // Default policy: findings are shown and stored, the deploy goes on.
    let out = platform.ferry(&["deploy", dir, "--env", "MARKER=linted"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Dockerfile:2 DL3008 warning"), "{stderr}");
    assert!(stderr.contains("DL3006"), "{stderr}");
    let report = platform.ferry_json(&["report", "hello"]);
    let lint = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "dockerfile-lint")
        .expect("lint report stored with the revision");
    assert_eq!(lint["blocked"], false);
    assert!(lint["body"]["findings"].as_array().unwrap().len() >= 2);

    // lint_fail_on = "warning" in ferry.toml refuses the deploy; the old revision serves.
    let mut config = std::fs::read_to_string(app.path().join("ferry.toml")).unwrap();
    config.push_str("\n[security]\nlint_fail_on = \"warning\"\n");
    write_config(app.path(), &config);
    let err = platform.ferry_fails(&["deploy", dir, "--env", "MARKER=refused"]);
    assert!(err.contains("Dockerfile lint blocked the deploy"), "{err}");
    assert!(err.contains("DL3008 (line 2)"), "{err}");
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry linted"
    );
    // A typo in the policy is a config error, not a policy that never blocks.
    let err = platform.ferry_fails(&["deploy", dir, "--lint-fail-on", "loud"]);
    assert!(err.contains("lint_fail_on"), "{err}");
}

/// An OSV record written for this test from the facts of a real advisory shape.
const LODASH_RECORD: &str = r#"{
  "schema_version": "1.6.0",
  "id": "GHSA-ferry-test-0001",
  "modified": "2026-11-01T00:00:00Z",
  "published": "2026-10-01T00:00:00Z",
  "aliases": ["CVE-2099-10001"],
  "summary": "Prototype pollution in lodash (test record)",
  "affected": [{
    "package": {"ecosystem": "npm", "name": "lodash"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]
  }],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
}"#;

#[test]
fn vulnerability_gate_blocks_a_critical_dependency_unless_ignored() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    let dir = app.path().to_str().unwrap();
    platform.ferry_ok(&["deploy", dir, "--env", "MARKER=before"]);
    std::fs::write(
        app.path().join("package-lock.json"),
        r#"{"name":"hello","lockfileVersion":3,"requires":true,"packages":{"":{"name":"hello","dependencies":{"lodash":"4.17.15"}},"node_modules/lodash":{"version":"4.17.15","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"}}}"#,
    )
    .unwrap();
    // fail_on set but no data: the gate fails closed and says how to get data.
    let err = platform.ferry_fails(&["deploy", dir, "--fail-on", "critical"]);
    assert!(err.contains("ferry vulndb import"), "{err}");

    let osv = tempfile::tempdir().unwrap();
    std::fs::write(osv.path().join("GHSA-ferry-test-0001.json"), LODASH_RECORD).unwrap();
    platform.ferry_ok(&["vulndb", "import", osv.path().to_str().unwrap()]);

    let err = platform.ferry_fails(&[
        "deploy",
        dir,
        "--fail-on",
        "critical",
        "--env",
        "MARKER=vulnerable",
    ]);
    assert!(err.contains("CVE-2099-10001"), "{err}");
    assert!(err.contains("lodash"), "{err}");
    assert!(err.contains("4.17.21"), "the fixed version is named: {err}");
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry before"
    );

    // Accepted with a reason in the policy: the deploy goes through, the finding is
    // reported as ignored.
    platform.ferry_ok(&[
        "deploy",
        dir,
        "--fail-on",
        "critical",
        "--ignore-vulnerability",
        "CVE-2099-10001",
        "--env",
        "MARKER=accepted",
    ]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry accepted"
    );
    let report = platform.ferry_json(&["report", "hello"]);
    let vulns = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "vulnerabilities")
        .unwrap();
    assert_eq!(vulns["blocked"], false);
    assert_eq!(vulns["body"]["ignored"].as_array().unwrap().len(), 1);
    let text = platform.ferry_ok(&["report", "hello"]);
    assert!(text.contains("Ferry runs for you"), "{text}");
    assert!(text.contains("You own"), "{text}");
}

#[test]
fn logs_follow_streams_new_lines() {
    use std::io::BufRead;
    let platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    let mut follow = std::process::Command::new(FERRY)
        .args(["logs", "hello", "-f", "--tail", "0"])
        .env("FERRY_DATA_DIR", platform.data.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(platform.curl("hello.localhost", "/followed").0, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen = line.contains("GET /followed");
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        seen,
        "the request's log line never arrived on `ferry logs -f`"
    );
}

#[test]
fn environment_overrides_the_file_and_flags_override_the_environment() {
    let platform = TestPlatform::start();
    let app = example("hello");
    let run = |extra: &[&str], min: Option<&str>| {
        let mut cmd = std::process::Command::new(FERRY);
        cmd.arg("deploy")
            .arg(&app)
            .args(extra)
            .env("FERRY_DATA_DIR", platform.data.path());
        if let Some(min) = min {
            cmd.env("FERRY_MIN_INSTANCES", min);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        platform.ferry_json(&["status", "hello"])["config"]["scaling"]["min"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(run(&[], None), 1, "the file's (default) value");
    assert_eq!(run(&[], Some("2")), 2, "environment beats the file");
    assert_eq!(
        run(&["--min", "1"], Some("2")),
        1,
        "a flag beats the environment"
    );
}
