//! End-to-end with the Docker Engine: images built locally from a busybox-static rootfs
//! (nothing is pulled), deployed by the real `ferry server`, served through its router.
//! Without an engine each says it was not run; with `FERRY_TEST_DOCKER=required` (CI)
//! they fail instead (see ferry-testenv).

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const IMAGE: &str = "ferry-e2e-busybox:1";

/// Imports a busybox `httpd` image made of /bin/busybox plus `files` (path, content),
/// once per machine. Nothing is pulled.
fn import_busybox(tag: &'static str, files: &[(&str, &str)]) -> &'static str {
    import_once(tag, || import_busybox_image(tag, files));
    tag
}

fn busybox_image() -> &'static str {
    import_busybox(IMAGE, &[("www/index.html", "busybox says hi\n")])
}

/// Serves `$MARKER` from busybox httpd on `$PORT`.
const MARKER_COMMAND: &str =
    "echo \"marker $MARKER\" > /www/index.html && exec httpd -f -p \"$PORT\" -h /www";

#[test]
fn needs_docker_image_deploy_serves_through_the_router() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let image = busybox_image();
    let platform = TestPlatform::start_with("docker");
    let out = platform.ferry_ok(&[
        "deploy", "--image", image, "--name", "web", "--port", "8080",
    ]);
    assert!(out.contains("http://web.localhost:"), "{out}");
    let (status, body) = platform.curl("web.localhost", "/");
    assert_eq!((status, body.as_str()), (200, "busybox says hi\n"));
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["runtime"]["instances"][0]["runtime"], "docker");
    // The container is limited and published on loopback only.
    let id = status["runtime"]["instances"][0]["id"].as_str().unwrap();
    let inspect = Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{json .HostConfig.PortBindings}}",
            &format!("ferry-web-{id}"),
        ])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.starts_with("2147483648 1000000000 "), "{inspect}");
    assert!(inspect.contains("\"HostIp\":\"127.0.0.1\""), "{inspect}");
    platform.ferry_ok(&["delete", "web"]);
    assert_eq!(platform.curl("web.localhost", "/").0, 404);
}

#[test]
fn needs_docker_zero_downtime_across_three_image_deploys() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let image = busybox_image();
    let platform = TestPlatform::start_with("docker");
    let deploy = |marker: &str| {
        platform.ferry_ok(&[
            "deploy",
            "--image",
            image,
            "--name",
            "web",
            "--command",
            MARKER_COMMAND,
            "--env",
            &format!("MARKER={marker}"),
        ]);
    };
    deploy("v0");
    let load = Load::start(&platform.info.router, "web.localhost", 4);
    let mut deployed_at = Vec::new();
    for n in 1..=3 {
        deploy(&format!("v{n}"));
        deployed_at.push((format!("marker v{n}"), Instant::now()));
        std::thread::sleep(Duration::from_millis(300));
    }
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
    let span = samples.last().unwrap().at - samples.first().unwrap().at;
    let rate = samples.len() as f64 / span.as_secs_f64();
    assert!(rate >= 50.0, "only {rate:.0} req/s");
    for (marker, at) in &deployed_at {
        assert!(
            samples
                .iter()
                .any(|s| s.at >= *at && s.body.trim() == marker),
            "{marker} never served after its deploy"
        );
    }
}

#[test]
fn needs_docker_missing_image_fails_and_the_previous_revision_serves() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let image = busybox_image();
    let platform = TestPlatform::start_with("docker");
    platform.ferry_ok(&["deploy", "--image", image, "--name", "web"]);
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        "ferry-no-such-image:404",
        "--name",
        "web",
    ]);
    assert!(err.contains("was not found in the Docker Engine"), "{err}");
    assert_eq!(platform.curl("web.localhost", "/").0, 200);
    // A container that exits at once fails the deploy with its exit reason.
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        image,
        "--name",
        "web",
        "--command",
        "echo bye; exit 7",
    ]);
    assert!(err.contains("exited with code 7"), "{err}");
    assert!(err.contains("bye"), "{err}");
    assert_eq!(platform.curl("web.localhost", "/").0, 200);
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["active_revision_number"], 1);
}

/// Counts on stdout five times a second while serving busybox httpd on `$PORT`.
const TICKING_COMMAND: &str = "(i=0; while true; do echo \"tick $i\"; i=$((i+1)); sleep 0.2; done) & exec httpd -f -p \"$PORT\" -h /www";

/// The `tick N` numbers in `ferry logs` output, in order.
fn ticks(logs: &str) -> Vec<u64> {
    logs.lines()
        .filter_map(|line| line.split("tick ").nth(1))
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

#[test]
fn needs_docker_restart_re_adopts_running_containers() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let image = busybox_image();
    let mut platform = TestPlatform::start_with("docker");
    platform.ferry_ok(&[
        "deploy",
        "--image",
        image,
        "--name",
        "web",
        "--command",
        TICKING_COMMAND,
    ]);
    let before = platform.ferry_json(&["status", "web"]);
    let instance = before["runtime"]["instances"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ticks(&platform.ferry_ok(&["logs", "web", "--tail", "10000"])).len() < 3 {
        assert!(Instant::now() < deadline, "no ticks in the log");
        std::thread::sleep(Duration::from_millis(200));
    }
    platform.kill9();
    // The container keeps counting while no server follows its output.
    std::thread::sleep(Duration::from_secs(2));
    platform.boot();
    platform.wait_for_body("web.localhost", "busybox says hi", Duration::from_secs(30));
    let after = platform.ferry_json(&["status", "web"]);
    let instances = after["runtime"]["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{after}");
    assert_eq!(
        instances[0]["id"],
        instance.as_str(),
        "the same container was adopted"
    );
    // The log has every tick once: those written while the server was down are
    // fetched on adoption, none is repeated.
    std::thread::sleep(Duration::from_secs(1));
    let logs = platform.ferry_ok(&["logs", "web", "--tail", "10000"]);
    let seen = ticks(&logs);
    let expected: Vec<u64> = (0..seen.len() as u64).collect();
    assert_eq!(seen, expected, "{logs}");
    assert!(seen.len() >= 15, "{logs}");
}

/// A busybox httpd image that also carries a Debian 12 dpkg database listing an
/// openssl build with a (test) critical vulnerability.
fn vulnerable_image() -> &'static str {
    import_busybox(
        "ferry-e2e-vulnerable:1",
        &[
            ("www/index.html", "vulnerable but alive\n"),
            (
                "etc/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n",
            ),
            (
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 6000\nMaintainer: Debian OpenSSL Team\nArchitecture: amd64\nMulti-Arch: same\nSource: openssl\nVersion: 3.0.11-1~deb12u1\nDescription: Secure Sockets Layer toolkit - shared libraries\n\n",
            ),
        ],
    )
}

const OPENSSL_RECORD: &str = r#"{
  "schema_version": "1.6.0",
  "id": "DEBIAN-CVE-2099-20001",
  "modified": "2026-11-01T00:00:00Z",
  "upstream": ["CVE-2099-20001"],
  "summary": "openssl: remote code execution (test record)",
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "openssl"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
  }],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
}"#;

#[test]
fn needs_docker_vulnerability_gate_on_an_image() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let clean = busybox_image();
    let vulnerable = vulnerable_image();
    let platform = TestPlatform::start_with("docker");
    let osv = tempfile::tempdir().unwrap();
    std::fs::write(
        osv.path().join("DEBIAN-CVE-2099-20001.json"),
        OPENSSL_RECORD,
    )
    .unwrap();
    platform.ferry_ok(&["vulndb", "import", osv.path().to_str().unwrap()]);

    platform.ferry_ok(&[
        "deploy",
        "--image",
        clean,
        "--name",
        "web",
        "--fail-on",
        "critical",
    ]);
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        vulnerable,
        "--name",
        "web",
        "--fail-on",
        "critical",
    ]);
    assert!(err.contains("CVE-2099-20001"), "{err}");
    assert!(err.contains("openssl") || err.contains("libssl3"), "{err}");
    assert_eq!(
        platform.curl("web.localhost", "/").1,
        "busybox says hi\n",
        "old revision serves"
    );

    platform.ferry_ok(&[
        "deploy",
        "--image",
        vulnerable,
        "--name",
        "web",
        "--fail-on",
        "critical",
        "--ignore-vulnerability",
        "CVE-2099-20001",
    ]);
    assert_eq!(
        platform.curl("web.localhost", "/").1,
        "vulnerable but alive\n"
    );
    let report = platform.ferry_json(&["report", "web"]);
    let vulns = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "vulnerabilities")
        .unwrap();
    assert_eq!(vulns["blocked"], false);
    assert_eq!(vulns["body"]["ignored"].as_array().unwrap().len(), 1);
    // Dockle's checks ran on the same image: no USER and no HEALTHCHECK.
    let lint = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "image-lint")
        .unwrap();
    let codes: Vec<&str> = lint["body"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] != "PASS")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"CIS-DI-0001"), "{codes:?}");
}

#[test]
fn needs_docker_image_lint_fatal_blocks_only_when_asked() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let clean = busybox_image();
    // Dockle's DKL-LI-0001 (FATAL): an account with an empty password.
    let weak = import_busybox(
        "ferry-e2e-empty-password:1",
        &[
            ("www/index.html", "weak but alive\n"),
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            ("etc/shadow", "root::19000:0:99999:7:::\n"),
        ],
    );
    let platform = TestPlatform::start_with("docker");
    platform.ferry_ok(&["deploy", "--image", clean, "--name", "web"]);
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        weak,
        "--name",
        "web",
        "--image-lint-blocks",
    ]);
    assert!(err.contains("image lint blocked the deploy"), "{err}");
    assert!(err.contains("DKL-LI-0001"), "{err}");
    assert_eq!(platform.curl("web.localhost", "/").1, "busybox says hi\n");
    // Without the policy the finding is reported, not enforced.
    let out = platform.ferry(&["deploy", "--image", weak, "--name", "web"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FATAL DKL-LI-0001"));
    assert_eq!(platform.curl("web.localhost", "/").1, "weak but alive\n");
}
