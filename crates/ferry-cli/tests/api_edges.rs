//! Hostile or careless requests against the real server and CLI: bodies that are not
//! JSON or too large, malformed image references and health-check paths, oversized
//! commands, error messages that would show the data dir, and a CLI whose stdout is
//! closed early.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use support::*;

/// `curl -X <method> <api><path>` with the token and extra args: (status, JSON body).
fn api(
    platform: &TestPlatform,
    method: &str,
    path: &str,
    extra: &[&str],
) -> (u16, serde_json::Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-X", method, "-H"])
        .arg(format!("Authorization: Bearer {}", platform.token()))
        .args(extra)
        .arg(format!("http://{}/api/v1{path}", platform.info.api))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.into()));
    (status.parse().unwrap(), body)
}

/// A pipe whose only reader is already gone: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    Stdio::from(writer)
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly_like_other_tools() {
    let platform = TestPlatform::start();
    platform.ferry_ok(&["deploy", example("hello").to_str().unwrap()]);
    for args in [
        &["status", "hello"][..],
        &["status"],
        &["ls", "--json"],
        &["revisions", "hello"],
        &["logs", "hello"],
        &["completions", "bash"],
    ] {
        let out = Command::new(FERRY)
            .args(args)
            .env("FERRY_DATA_DIR", platform.data.path())
            .env("NO_COLOR", "1")
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // 141 = 128 + SIGPIPE: what a shell reports for `ls | head -1` (with pipefail).
        assert_eq!(out.status.code(), Some(141), "ferry {args:?}: {stderr}");
        assert!(stderr.is_empty(), "ferry {args:?} said: {stderr}");
    }
}

#[test]
fn rollback_bodies_must_be_json_and_are_honoured() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    for _ in 0..3 {
        platform.ferry_ok(&["deploy", app.path().to_str().unwrap()]);
    }
    // `curl -d` sends a form: refused, never read as "the previous revision".
    let (status, body) = api(
        &platform,
        "POST",
        "/services/hello/rollback",
        &["-d", r#"{"revision": 1}"#],
    );
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["code"], "unsupported_media_type", "{body}");
    let active = platform.ferry_json(&["status", "hello"]);
    assert_eq!(
        active["active_revision_number"], 3,
        "nothing was rolled back"
    );
    // As JSON it is honoured.
    let (status, body) = api(
        &platform,
        "POST",
        "/services/hello/rollback",
        &[
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"revision": 1}"#,
        ],
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["revision"]["number"], 1, "{body}");
    // Malformed JSON is a 400 saying why.
    let (status, body) = api(
        &platform,
        "POST",
        "/services/hello/rollback",
        &[
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"revison": 1}"#,
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("revison"),
        "{body}"
    );
}

#[test]
fn a_json_body_over_the_limit_is_413() {
    let platform = TestPlatform::start();
    let big = tempfile::NamedTempFile::new().unwrap();
    let command = "x".repeat(3 * 1024 * 1024);
    std::fs::write(
        big.path(),
        format!(r#"{{"source": {{"image": "web:1"}}, "overrides": {{"command": "{command}"}}}}"#),
    )
    .unwrap();
    let (status, body) = api(
        &platform,
        "POST",
        "/services/web/deployments",
        &[
            "-H",
            "content-type: application/json",
            "--data-binary",
            &format!("@{}", big.path().display()),
        ],
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large", "{body}");
}

#[test]
fn a_malformed_image_reference_is_400_even_without_docker() {
    let platform = TestPlatform::start_with("process");
    for image in ["Web:1", "web:tag with space", "web@sha256:zz", "a//b"] {
        let (status, body) = api(
            &platform,
            "POST",
            "/services/web/deployments",
            &[
                "-H",
                "content-type: application/json",
                "-d",
                &serde_json::json!({"source": {"image": image}}).to_string(),
            ],
        );
        assert_eq!(status, 400, "{image}: {body}");
        assert_eq!(body["code"], "bad_request", "{image}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("invalid image reference"),
            "{image}: {body}"
        );
    }
    // A well-formed one still says what to install.
    let err = platform.ferry_fails(&["deploy", "--image", "busybox:1", "--name", "web"]);
    assert!(err.contains("install Docker"), "{err}");
}

#[test]
fn a_health_check_path_that_cannot_be_sent_is_refused_at_deploy_time() {
    let platform = TestPlatform::start();
    let hello = example("hello");
    let err = platform.ferry_fails(&[
        "deploy",
        hello.to_str().unwrap(),
        "--health-check-path",
        "/health check",
    ]);
    assert!(err.contains("health_check.path"), "{err}");
    assert!(err.contains("a space"), "{err}");
    // CR/LF from the file: refused with its line.
    let app = copy_app("hello");
    let config = std::fs::read_to_string(app.path().join("ferry.toml")).unwrap();
    write_config(
        app.path(),
        &config.replace(r#"path = "/""#, r#"path = "/ok\r\nX-Injected: 1""#),
    );
    let err = platform.ferry_fails(&["deploy", app.path().to_str().unwrap()]);
    assert!(err.contains("ferry.toml:"), "{err}");
    assert!(err.contains("line break"), "{err}");
    assert!(platform.ferry_json(&["ls"]).as_array().unwrap().is_empty());
}

#[test]
fn an_oversized_command_is_refused_not_stored() {
    let platform = TestPlatform::start();
    let app = copy_app("hello");
    let config = std::fs::read_to_string(app.path().join("ferry.toml")).unwrap();
    let long = format!("python3 app.py # {}", "x".repeat(40 * 1024));
    write_config(
        app.path(),
        &config.replace(
            r#"command = "python3 app.py""#,
            &format!("command = \"{long}\""),
        ),
    );
    let err = platform.ferry_fails(&["deploy", app.path().to_str().unwrap()]);
    assert!(err.contains("run.command"), "{err}");
    assert!(err.contains("32 KiB"), "{err}");
    assert!(
        err.len() < 4096,
        "the command is not echoed back: {} bytes",
        err.len()
    );
    assert!(platform.ferry_json(&["ls"]).as_array().unwrap().is_empty());
}

#[test]
fn errors_say_what_failed_not_where_in_the_data_dir() {
    let platform = TestPlatform::start();
    // An archive with the same file twice: unpacking it fails, and the unpacker's
    // message names the directory it was unpacking into.
    let mut archive = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut archive, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for content in [&b"one\n"[..], b"two\n"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, "ferry.toml", content).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(&archive)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = format!("sha256:{hex}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &archive).unwrap();
    let (status, body) = api(
        &platform,
        "POST",
        &format!("/uploads?digest={digest}"),
        &["--data-binary", &format!("@{}", file.path().display())],
    );
    assert!(status < 300, "{status} {body}");
    let (status, body) = api(
        &platform,
        "POST",
        "/services/dup/deployments",
        &[
            "-H",
            "content-type: application/json",
            "-d",
            &serde_json::json!({"source": {"upload": digest}}).to_string(),
        ],
    );
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    let data_dir = platform.data.path().to_str().unwrap();
    assert!(!message.contains(data_dir), "{message}");
    let canonical = platform.data.path().canonicalize().unwrap();
    assert!(!message.contains(canonical.to_str().unwrap()), "{message}");
}
