//! The process back end's dependency cache, end to end: a detected Python app with a
//! requirements.txt is deployed twice with only a code change; the second build links
//! the cached virtualenv instead of reinstalling, serves the new code, and a rollback
//! to the first revision still serves. Offline: the one dependency is a wheel made
//! here and installed with `--no-index --find-links` (a real pip install into a real
//! venv, from a directory outside the app, which keeps the install cacheable).

#![allow(clippy::unwrap_used)]

mod support;

use support::*;

/// Writes `ferrymarker-1.0-py3-none-any.whl` (a module with `VERSION`) into `dir`.
fn make_wheel(dir: &std::path::Path) {
    let script = r#"
import sys, zipfile
path = sys.argv[1] + "/ferrymarker-1.0-py3-none-any.whl"
with zipfile.ZipFile(path, "w") as z:
    z.writestr("ferrymarker/__init__.py", "VERSION = 'marker 1.0'\n")
    z.writestr("ferrymarker-1.0.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: ferrymarker\nVersion: 1.0\n")
    z.writestr("ferrymarker-1.0.dist-info/WHEEL",
               "Wheel-Version: 1.0\nGenerator: ferry-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("ferrymarker-1.0.dist-info/RECORD", "")
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn main_py(code_version: &str) -> String {
    format!(
        r#"import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import ferrymarker

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("code {code_version}, " + ferrymarker.VERSION + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#
    )
}

fn key_in(log: &str, what: &str) -> Option<String> {
    let start = log.find(&format!("dependencies: {what} (key "))? + what.len() + 20;
    let end = start + log[start..].find(')')?;
    Some(log[start..end].to_string())
}

#[test]
fn a_code_only_change_reuses_the_cached_virtualenv_and_rollback_still_serves() {
    let platform = TestPlatform::start();
    let wheels = tempfile::tempdir().unwrap();
    make_wheel(wheels.path());
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("requirements.txt"),
        format!(
            "--no-index\n--find-links {}\nferrymarker==1.0\n",
            wheels.path().display()
        ),
    )
    .unwrap();
    std::fs::write(app.path().join("main.py"), main_py("v1")).unwrap();
    let deploy = || {
        let output = platform.ferry(&["deploy", app.path().to_str().unwrap(), "--name", "cached"]);
        assert!(
            output.status.success(),
            "{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            tail(&platform.server_log(), 40)
        );
    };
    let build_log = |n: u32| {
        std::fs::read_to_string(
            platform
                .data
                .path()
                .join(format!("logs/cached/build-{n}.log")),
        )
        .unwrap()
    };

    deploy();
    let (status, body) = platform.curl("cached.localhost", "/");
    assert_eq!((status, body.as_str()), (200, "code v1, marker 1.0\n"));
    let first = build_log(1);
    let key = key_in(&first, "installing").unwrap_or_else(|| panic!("{first}"));
    assert!(first.contains("pip install"), "{first}");

    std::fs::write(app.path().join("main.py"), main_py("v2")).unwrap();
    deploy();
    let (status, body) = platform.curl("cached.localhost", "/");
    assert_eq!((status, body.as_str()), (200, "code v2, marker 1.0\n"));
    let second = build_log(2);
    assert_eq!(key_in(&second, "cached"), Some(key.clone()), "{second}");
    assert!(!second.contains("pip install"), "reinstalled: {second}");
    // One cache entry, and the second revision runs from it.
    let cache = platform.data.path().join("cache/deps");
    assert!(std::fs::symlink_metadata(cache.join(&key)).is_ok());
    assert_eq!(std::fs::read_dir(cache.join("store")).unwrap().count(), 1);

    platform.ferry_ok(&["rollback", "cached"]);
    let body = platform.wait_for_body(
        "cached.localhost",
        "code v1, marker 1.0",
        std::time::Duration::from_secs(30),
    );
    assert!(body.contains("code v1"), "{body}");
}
