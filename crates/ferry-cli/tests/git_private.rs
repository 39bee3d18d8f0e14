//! Private git remotes end to end (`ferry git-auth`), with real git and a real
//! `ferry server`: the private repository is ferry's own git remote of another service,
//! which answers only with the admin token. A deploy without credentials fails with
//! the command that fixes it and creates nothing; a URL with a password in it is
//! refused without echoing it; stored credentials make the deploy work; wrong ones are
//! named as refused; the password is never listed.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::*;

fn git_ok(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Ferry Test",
            "-c",
            "user.email=test@example.test",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git is installed");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `ferry git-auth URL --username USER --password-stdin` with `password` on stdin.
fn git_auth(platform: &TestPlatform, url: &str, user: &str, password: &str) -> Output {
    let mut child = Command::new(FERRY)
        .args(["git-auth", url, "--username", user, "--password-stdin"])
        .env("FERRY_DATA_DIR", platform.data.path())
        .env_remove("FERRY_TOKEN")
        .env_remove("FERRY_SERVER")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_private_remote_needs_stored_credentials_and_never_shows_them() {
    let platform = TestPlatform::start();
    let token = platform.token();
    let api = platform.info.api.clone();

    // The private repository: ferry's remote of a service that follows a local one.
    let work = copy_app("hello");
    git_ok(work.path(), &["init", "-q"]);
    git_ok(work.path(), &["add", "-A"]);
    git_ok(work.path(), &["commit", "-q", "-m", "hello"]);
    let local = format!("file://{}", work.path().display());
    platform.ferry_ok(&[
        "deploy", "--git", &local, "--branch", "main", "--name", "upstream",
    ]);
    let private = format!("http://{api}/git/upstream.git");
    let origin = format!("http://{api}");

    let err = platform.ferry_fails(&[
        "deploy", "--git", &private, "--branch", "main", "--name", "mirror",
    ]);
    assert!(err.contains("needs credentials"), "{err}");
    assert!(err.contains(&format!("ferry git-auth {origin}")), "{err}");
    let services = platform.ferry_ok(&["ls"]);
    assert!(
        !services.contains("mirror"),
        "nothing half-created: {services}"
    );

    let with_password = format!("http://ferry:{token}@{api}/git/upstream.git");
    let err = platform.ferry_fails(&[
        "deploy",
        "--git",
        &with_password,
        "--branch",
        "main",
        "--name",
        "mirror",
    ]);
    assert!(err.contains("carries a password"), "{err}");
    assert!(!err.contains(&token), "the password is echoed: {err}");

    // Wrong credentials are named as refused.
    let stored = git_auth(&platform, &origin, "ferry", "not-the-token");
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    let err = platform.ferry_fails(&[
        "deploy", "--git", &private, "--branch", "main", "--name", "mirror",
    ]);
    assert!(err.contains("were refused"), "{err}");

    // The right ones (a repository URL works too: only its origin is kept).
    let stored = git_auth(&platform, &private, "ferry", &token);
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    platform.ferry_ok(&[
        "deploy", "--git", &private, "--branch", "main", "--name", "mirror",
    ]);
    assert_eq!(
        platform.curl("mirror.localhost", "/").1.trim(),
        "Hello from ferry"
    );

    let listed = platform.ferry_json(&["git-auth"]);
    assert_eq!(
        listed,
        serde_json::json!([{ "origin": origin, "username": "ferry" }])
    );
    let table = platform.ferry_ok(&["git-auth"]);
    assert!(
        table.contains(&origin) && !table.contains(&token),
        "{table}"
    );
    let status = platform.ferry_ok(&["status", "mirror", "--json"]);
    assert!(!status.contains(&token), "{status}");
    let file = platform.data.path().join("git/credentials.json");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    platform.ferry_ok(&["git-auth", &origin, "--remove"]);
    assert_eq!(platform.ferry_json(&["git-auth"]), serde_json::json!([]));
    let err = platform.ferry_fails(&["git-auth", &origin, "--remove"]);
    assert!(err.contains("not found"), "{err}");
}
