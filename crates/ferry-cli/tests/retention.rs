//! End-to-end, revision retention (`ferry server --keep-revisions`): old revisions are
//! pruned — their snapshot directory goes (process runtime), their built image leaves
//! ferry's registry and the engine (docker back end) — while the row stays as PRUNED
//! history that cannot be rolled back to, and the kept ones still roll back.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const BUSYBOX: &str = "ferry-e2e-busybox:1";

/// `(number, status)` of each revision, newest first.
fn statuses(platform: &TestPlatform, name: &str) -> Vec<(u64, String)> {
    platform
        .ferry_json(&["revisions", name])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["number"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits (generously: the machine is shared) until the revisions read `expected`.
fn wait_for_statuses(platform: &TestPlatform, name: &str, expected: &[(u64, &str)]) {
    let expected: Vec<(u64, String)> = expected.iter().map(|(n, s)| (*n, s.to_string())).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = statuses(platform, name);
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "revisions of {name}: {now:?}, expected {expected:?}\nserver log:\n{}",
            tail(&platform.server_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn revision_field(platform: &TestPlatform, name: &str, number: u64, field: &str) -> String {
    let revisions = platform.ferry_json(&["revisions", name]);
    let revision = revisions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == number)
        .unwrap_or_else(|| panic!("no revision {number}: {revisions}"))
        .clone();
    let value = match field {
        "image" => &revision["source"]["image"],
        other => &revision[other],
    };
    value
        .as_str()
        .unwrap_or_else(|| panic!("{field} of {revision}"))
        .to_string()
}

#[test]
fn old_revisions_are_pruned_and_the_kept_ones_still_roll_back() {
    let platform = TestPlatform::start_with_args("process", &["--keep-revisions", "1"]);
    let app = example("hello");
    let app = app.to_str().unwrap();
    for marker in ["one", "two", "three", "four"] {
        platform.ferry_ok(&["deploy", app, "--env", &format!("MARKER={marker}")]);
    }
    // One ended revision kept besides the active one.
    wait_for_statuses(
        &platform,
        "hello",
        &[(4, "ACTIVE"), (3, "INACTIVE"), (2, "PRUNED"), (1, "PRUNED")],
    );
    let builds = platform.data.path().join("builds");
    for (number, present) in [(1, false), (2, false), (3, true), (4, true)] {
        let id = revision_field(&platform, "hello", number, "id");
        assert_eq!(
            builds.join(&id).exists(),
            present,
            "revision {number}'s directory {id}"
        );
    }

    let err = platform.ferry_fails(&["rollback", "hello", "2"]);
    assert!(err.contains("pruned"), "{err}");
    assert!(err.contains("--keep-revisions"), "{err}");
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry four"
    );
    // A plain rollback skips pruned revisions and finds the kept one.
    platform.ferry_ok(&["rollback", "hello"]);
    assert_eq!(
        platform.curl("hello.localhost", "/").1.trim(),
        "Hello from ferry three"
    );
    // Rolled back to 3: 4 is now the one ended revision kept.
    wait_for_statuses(
        &platform,
        "hello",
        &[(4, "INACTIVE"), (3, "ACTIVE"), (2, "PRUNED"), (1, "PRUNED")],
    );
    let table = platform.ferry_ok(&["revisions", "hello"]);
    assert!(table.contains("PRUNED"), "{table}");
}

#[test]
fn needs_docker_a_pruned_revisions_built_image_leaves_the_registry_and_the_engine() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    import_once(BUSYBOX, || {
        import_busybox_image(BUSYBOX, &[("www/index.html", "busybox says hi\n")])
    });
    let app = copy_app("dockerfile-app");
    let dockerfile = std::fs::read_to_string(app.path().join("Dockerfile")).unwrap();
    let platform = TestPlatform::start_with_args("docker", &["--keep-revisions", "1"]);
    let dir = app.path().to_str().unwrap();
    for n in 1..=3 {
        std::fs::write(app.path().join("index.html"), format!("version {n}\n")).unwrap();
        std::fs::write(
            app.path().join("Dockerfile"),
            dockerfile.replace("FROM busybox:1.36", &format!("FROM {BUSYBOX}")),
        )
        .unwrap();
        let out = platform.ferry(&["deploy", dir, "--name", "boxed"]);
        assert!(
            out.status.success(),
            "{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&platform.server_log(), 40)
        );
    }
    assert_eq!(platform.curl("boxed.localhost", "/").1, "version 3\n");
    wait_for_statuses(
        &platform,
        "boxed",
        &[(3, "ACTIVE"), (2, "INACTIVE"), (1, "PRUNED")],
    );
    let api = &platform.info.api;
    let first = revision_field(&platform, "boxed", 1, "image");
    let second = revision_field(&platform, "boxed", 2, "image");
    let build_tag = |n: u32| format!("{api}/builds/boxed:r{n}");
    // The engine lost revision 1's image (both its names), not revision 2's.
    assert!(!image_exists(&first), "{first} is still in the engine");
    assert!(
        !image_exists(&build_tag(1)),
        "{} is still in the engine",
        build_tag(1)
    );
    assert!(image_exists(&second), "{second} should be kept");
    // Ferry's registry no longer has revision 1's manifest; revision 2's is there.
    let manifest_status = |image: &str| {
        let digest = image.rsplit('@').next().unwrap();
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-u",
                &format!("ferry:{}", platform.token()),
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
                &format!("http://{api}/v2/builds/boxed/manifests/{digest}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(manifest_status(&first), "404");
    assert_eq!(manifest_status(&second), "200");
    // And the registry's gc frees its blobs (nothing pins it any more).
    let gc = platform.ferry_ok(&["registry", "gc"]);
    assert!(!gc.is_empty());
    // The kept revision still rolls back, from its image.
    platform.ferry_ok(&["rollback", "boxed"]);
    assert_eq!(platform.curl("boxed.localhost", "/").1, "version 2\n");
}
