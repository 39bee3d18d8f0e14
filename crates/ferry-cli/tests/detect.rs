//! Deploy without a config: each example under examples/apps/ with no ferry.toml is
//! detected, planned, built and run by the process runtime, and answers 200 through
//! the router. `ferry plan` shows the same plan without a server; bad input is refused
//! with a message that says what to add.

#![allow(clippy::unwrap_used)]

mod support;

use support::*;

#[test]
fn detected_examples_deploy_and_answer_through_the_router() {
    let platform = TestPlatform::start();
    for (app, greeting) in [
        ("python-hello", "Hello from a detected Python app"),
        ("node-hello", "Hello from a detected Node app"),
        ("static-site", "Hello from a detected static site"),
        ("procfile-app", "Hello from a Procfile app"),
    ] {
        let dir = example(app);
        assert!(!dir.join("ferry.toml").exists() && !dir.join("apprunner.yaml").exists());
        let output = platform.ferry(&["deploy", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{app}: {stderr}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        assert!(stderr.contains("detected"), "{app}: {stderr}");
        let (status, body) = platform.curl(&format!("{app}.localhost"), "/");
        assert_eq!(status, 200, "{app}: {body}");
        assert!(body.contains(greeting), "{app}: {body}");
    }
}

/// Go and Rust examples build on the host with their compilers' caches shared under
/// the data dir (so a code-only change recompiles only the app's own code).
#[test]
fn compiled_examples_deploy_with_shared_compiler_caches() {
    ferry_testenv::require!(ferry_testenv::Need::Go);
    let platform = TestPlatform::start();
    for (app, greeting, cache) in [
        ("go-hello", "Hello from a detected Go app", "go/build"),
        (
            "rust-hello",
            "Hello from a detected Rust app",
            "cargo-target/rust-hello",
        ),
    ] {
        let dir = copy_app(app);
        let output = platform.ferry(&["deploy", dir.path().to_str().unwrap(), "--name", app]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{app}: {stderr}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        let (status, body) = platform.curl(&format!("{app}.localhost"), "/");
        assert_eq!(status, 200, "{app}: {body}");
        assert!(body.contains(greeting), "{app}: {body}");
        let cache_dir = platform
            .data
            .path()
            .join("cache/deps/compilers")
            .join(cache);
        let entries = std::fs::read_dir(&cache_dir)
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(entries > 0, "{app}: {} is empty", cache_dir.display());
    }
}

/// A static site is served by ferry's router itself: no process is started for it
/// (no instance, no child of the server), index files, the site's 404 page, and
/// nothing outside the site's root.
#[test]
fn static_site_is_served_by_ferry_itself() {
    let platform = TestPlatform::start();
    let dir = copy_app("static-site");
    std::fs::write(dir.path().join("public/404.html"), "<p>not here</p>").unwrap();
    platform.ferry_ok(&["deploy", dir.path().to_str().unwrap(), "--name", "site"]);
    let (status, body) = platform.curl("site.localhost", "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Hello from a detected static site"), "{body}");
    assert_eq!(platform.instance_counts("site"), (0, 0));
    let pid = platform.server.as_ref().unwrap().id();
    let children: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .flat_map(|task| {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            list.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        children.is_empty(),
        "the server runs processes: {children:?}"
    );
    let status = platform.ferry_ok(&["status", "site"]);
    assert!(
        status.contains("runtime    static: public/ served by ferry's router (no instances)"),
        "{status}"
    );
    let (status, body) = platform.curl("site.localhost", "/missing.html");
    assert_eq!((status, body.as_str()), (404, "<p>not here</p>"));
    let (status, _) = platform.curl("site.localhost", "/../README.md");
    assert_eq!(status, 404);
}

#[test]
fn plan_shows_the_plan_without_a_server() {
    // No server is started: the plan is computed by the CLI alone.
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(FERRY)
            .args(args)
            .env("FERRY_DATA_DIR", data.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let node = example("node-hello");
    let output = run(&["plan", node.to_str().unwrap(), "--json"]);
    assert!(output.status.success(), "{output:?}");
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["provider"], "node");
    assert_eq!(plan["start"], "exec node server.js");

    let output = run(&["plan", example("static-site").to_str().unwrap()]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        table.contains("static") && table.contains("public"),
        "{table}"
    );

    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "hi").unwrap();
    let output = run(&["plan", empty.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(err.contains("Looked for: Dockerfile;"), "{err}");
    assert!(err.contains("[run]\n  command = \""), "{err}");
}

#[test]
fn apprunner_build_commands_as_a_plain_list_deploy_with_a_warning() {
    let platform = TestPlatform::start();
    let app = copy_app("apprunner-python");
    std::fs::write(
        app.path().join("apprunner.yaml"),
        "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    - python3 -m py_compile app.py\n\
         run:\n  command: python3 app.py\n  network:\n    port: 8000\n    env: APP_PORT\n",
    )
    .unwrap();
    let output = platform.ferry(&["deploy", app.path().to_str().unwrap(), "--name", "listed"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("build.commands.build"), "{stderr}");
    assert_eq!(platform.curl("listed.localhost", "/").0, 200);

    std::fs::write(
        app.path().join("apprunner.yaml"),
        "version: 1.0\nruntime: python2\nrun:\n  command: python3 app.py\n",
    )
    .unwrap();
    let err = platform.ferry_fails(&["deploy", app.path().to_str().unwrap(), "--name", "listed"]);
    assert!(err.contains("apprunner.yaml:2:10"), "{err}");
    assert!(err.contains("unknown runtime \"python2\""), "{err}");
}
