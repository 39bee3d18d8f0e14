//! End-to-end: images pushed with `docker push` to ferry's own registry are scanned once,
//! carry their SBOM and vulnerability report as OCI referrers (seen with the oras
//! client), and a deploy of a vulnerable one from that registry fails its gate while
//! the running revision keeps serving. Images are built locally from busybox-static.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const SBOM_TYPE: &str = "application/vnd.cyclonedx+json";
const REPORT_TYPE: &str = "application/vnd.ferry.vulnerability-report+json";

/// Imports a busybox httpd image made of /bin/busybox plus `files` under `tag`.
fn import_busybox(tag: &str, files: &[(&str, &str)]) {
    import_busybox_image(tag, files);
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

fn docker(config: &Path, args: &[&str]) -> String {
    let output = Command::new("docker")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `GET /v2/<path>` on the API listener with the admin token: the JSON body.
fn registry_get(platform: &TestPlatform, path: &str) -> serde_json::Value {
    let output = Command::new("curl")
        .args(["-sf", "--max-time", "10", "-u"])
        .arg(format!("ferry:{}", platform.token()))
        .arg(format!("http://{}/v2/{path}", platform.info.api))
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// Waits until the image's referrers list has both ferry artifacts; returns it.
fn wait_for_referrers(platform: &TestPlatform, repo: &str, digest: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let index = registry_get(platform, &format!("{repo}/referrers/{digest}"));
        let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
        let has = |t: &str| manifests.iter().any(|m| m["artifactType"] == t);
        if has(SBOM_TYPE) && has(REPORT_TYPE) {
            return manifests;
        }
        assert!(
            Instant::now() < deadline,
            "no SBOM and report for {repo}@{digest}: {index}\n{}",
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn needs_docker_pushed_images_are_scanned_and_gated() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox, Need::Oras);
    let platform = TestPlatform::start_with("docker");
    let osv = tempfile::tempdir().unwrap();
    std::fs::write(
        osv.path().join("DEBIAN-CVE-2099-20001.json"),
        OPENSSL_RECORD,
    )
    .unwrap();
    platform.ferry_ok(&["vulndb", "import", osv.path().to_str().unwrap()]);

    let port = platform.info.api.rsplit(':').next().unwrap().to_string();
    let host = format!("localhost:{port}");
    let clean = format!("{host}/shop/web:clean");
    let vulnerable = format!("{host}/shop/web:latest");
    import_busybox(&clean, &[("www/index.html", "clean and serving\n")]);
    import_busybox(
        &vulnerable,
        &[
            ("www/index.html", "vulnerable\n"),
            (
                "etc/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            (
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u1\nDescription: Secure Sockets Layer toolkit - shared libraries\n\n",
            ),
        ],
    );
    let config = tempfile::tempdir().unwrap();
    let login = Command::new("docker")
        .arg("--config")
        .arg(config.path())
        .args(["login", &host, "-u", "ferry", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(platform.token().as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(login.success(), "docker login");
    let pushed_at = Instant::now();
    for image in [&clean, &vulnerable] {
        docker(config.path(), &["push", image]);
    }

    // Both images get their SBOM and report; the SBOM names the package, the report
    // the vulnerability.
    let digest_of = |tag: &str| {
        let output = Command::new("curl")
            .args(["-sfI", "--max-time", "10", "-u"])
            .arg(format!("ferry:{}", platform.token()))
            .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"])
            .arg(format!("http://{}/v2/shop/web/manifests/{tag}", platform.info.api))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("docker-content-digest:")
                    .map(|d| d.trim().to_string())
            })
            .unwrap()
    };
    let vulnerable_digest = digest_of("latest");
    let clean_digest = digest_of("clean");
    wait_for_referrers(&platform, "shop/web", &clean_digest);
    let referrers = wait_for_referrers(&platform, "shop/web", &vulnerable_digest);
    eprintln!(
        "both pushed images scanned and attached within {:?}",
        pushed_at.elapsed()
    );
    assert_eq!(referrers.len(), 2, "{referrers:?}");

    // What oras sees: the referrers, the artifactType filter, and the SBOM it pulls.
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/oras_discover.py");
    let output = Command::new("python3")
        .arg(script)
        .args([&host, &platform.token(), "shop/web", "latest"])
        .arg(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let oras: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(oras["subject"], vulnerable_digest.as_str());
    assert_eq!(oras["referrers"]["manifests"].as_array().unwrap().len(), 2);
    let sboms = oras["sboms"]["manifests"].as_array().unwrap();
    assert_eq!(sboms.len(), 1, "{oras}");
    assert_eq!(sboms[0]["artifactType"], SBOM_TYPE);
    assert_eq!(oras["filters_applied"], "artifactType");
    assert_eq!(oras["sbom"]["bomFormat"], "CycloneDX");
    assert!(oras["sbom"].to_string().contains("libssl3"), "{oras}");
    let report_digest = referrers
        .iter()
        .find(|m| m["artifactType"] == REPORT_TYPE)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let report_manifest = registry_get(&platform, &format!("shop/web/manifests/{report_digest}"));
    assert_eq!(
        report_manifest["subject"]["digest"],
        vulnerable_digest.as_str()
    );
    assert_eq!(
        report_manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    let layer = report_manifest["layers"][0]["digest"].as_str().unwrap();
    let report = registry_get(&platform, &format!("shop/web/blobs/{layer}"));
    assert!(report.to_string().contains("CVE-2099-20001"), "{report}");

    // The clean image deploys from the registry; the gate used the stored scan (its
    // lint report names the image as the registry scan did, not by engine id).
    platform.ferry_ok(&[
        "deploy",
        "--image",
        &clean,
        "--name",
        "web",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(platform.curl("web.localhost", "/").1, "clean and serving\n");
    let report = platform.ferry_json(&["report", "web"]);
    let lint = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "image-lint")
        .unwrap();
    assert_eq!(
        lint["body"]["image"],
        format!("localhost:{port}/shop/web@{clean_digest}"),
        "{lint}"
    );

    // The vulnerable one fails its operation naming the finding; the clean one serves.
    let err = platform.ferry_fails(&[
        "deploy",
        "--image",
        &vulnerable,
        "--name",
        "web",
        "--fail-on",
        "critical",
    ]);
    assert!(err.contains("CVE-2099-20001"), "{err}");
    assert!(err.contains("libssl3"), "{err}");
    assert_eq!(platform.curl("web.localhost", "/").1, "clean and serving\n");
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["active_revision_number"], 1, "{status}");

    // Each image was read once: by the registry scan, never again by the gates.
    let scans = platform
        .server_log()
        .matches("scanned a pushed image")
        .count();
    assert_eq!(scans, 2, "{}", tail(&platform.server_log(), 40));

    // A push, not a deploy: the service follows :latest now (auto-deploy is on for
    // ferry's registry), so another vulnerable image pushed there makes a revision by
    // itself, whose gate fails naming the finding; the clean one keeps serving.
    let ids = |operations: &serde_json::Value| -> Vec<String> {
        operations
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["id"].as_str().unwrap().to_string())
            .collect()
    };
    let operations_before = ids(&platform.ferry_json(&["ops", "web"]));
    import_busybox(
        &vulnerable,
        &[
            ("www/index.html", "vulnerable, pushed\n"),
            (
                "etc/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            (
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u1\nDescription: Secure Sockets Layer toolkit - shared libraries\n\n",
            ),
        ],
    );
    docker(config.path(), &["push", &vulnerable]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let failed = loop {
        let operations = platform.ferry_json(&["ops", "web"]);
        let operations = operations.as_array().unwrap();
        let settled = operations.len() > operations_before.len()
            && operations.iter().all(|op| {
                !["PENDING", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS"]
                    .contains(&op["status"].as_str().unwrap_or(""))
            });
        if settled {
            break operations
                .iter()
                .filter(|op| !operations_before.contains(&op["id"].as_str().unwrap().to_string()))
                .find(|op| {
                    op["status"] == "FAILED" && op["error"].to_string().contains("CVE-2099-20001")
                })
                .cloned();
        }
        assert!(
            Instant::now() < deadline,
            "the pushed image made no settled operation: {operations:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let failed = failed.expect("the pushed image's operation failed naming the finding");
    let revisions = platform.ferry_json(&["revisions", "web"]);
    assert_eq!(revisions.as_array().unwrap().len(), 3, "{revisions}");
    assert!(failed["error"].to_string().contains("libssl3"), "{failed}");
    assert_eq!(platform.curl("web.localhost", "/").1, "clean and serving\n");
    let status = platform.ferry_json(&["status", "web"]);
    assert_eq!(status["active_revision_number"], 1, "{status}");

    for image in [&clean, &vulnerable] {
        let _ = Command::new("docker")
            .args(["rmi", "-f", image])
            .stdout(Stdio::null())
            .status();
    }
}
