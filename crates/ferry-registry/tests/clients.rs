//! Real clients against the `ferry-registry` binary on a loopback port: docker
//! (login, push, pull, run), skopeo (copy both ways, inspect) and oras (push with a
//! subject, referrers discovery). Images are built locally from a static busybox;
//! nothing comes from the internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;

use ferry_testenv::Need;
use support::process::{ok, run, Server, TOKEN};

/// A docker CLI whose credentials live in `config` (never the user's own).
fn docker(config: &Path) -> Command {
    let mut command = Command::new("docker");
    command.env("DOCKER_CONFIG", config);
    command
}

/// Builds a two-layer image `tag` from the static busybox: an imported base and a
/// COPY on top. Returns the text its command prints.
fn build_image(work: &Path, config: &Path, tag: &str) -> String {
    let rootfs = work.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let base = format!("{tag}-base");
    let tar = work.join("rootfs.tar");
    ok(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    ok(docker(config)
        .args(["import", "--change", "CMD [\"/bin/busybox\",\"sh\"]"])
        .arg(&tar)
        .arg(&base));
    let context = work.join("context");
    std::fs::create_dir_all(&context).unwrap();
    let message = format!("hello from {tag}");
    std::fs::write(context.join("message.txt"), format!("{message}\n")).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY message.txt /message.txt\nCMD [\"/bin/busybox\", \"cat\", \"/message.txt\"]\n"),
    )
    .unwrap();
    ok(docker(config)
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag])
        .arg(&context));
    ok(docker(config).args(["rmi", &base]));
    message
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

#[test]
fn needs_docker_push_pull_run_and_login() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let server = Server::start(&work.path().join("registry"));
    let host = &server.addr;

    // docker login: a wrong password is refused, the token is accepted.
    let (success, _, stderr) =
        run(docker(&config).args(["login", host, "-u", "ferry", "--password", "wrong"]));
    assert!(!success, "a wrong password logged in");
    assert!(stderr.contains("unauthorized"), "{stderr}");
    ok(docker(&config).args(["login", host, "-u", "ferry", "--password", TOKEN]));

    let local = unique("ferry-registry-e2e");
    let message = build_image(work.path(), &config, &format!("{local}:1"));
    let remote = format!("{host}/e2e/app:v1");
    ok(docker(&config).args(["tag", &format!("{local}:1"), &remote]));
    let pushed = ok(docker(&config).args(["push", &remote]));
    let digest = pushed
        .split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in {pushed}"))
        .to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");

    // Pull it back from scratch, run it, and check the digest.
    ok(docker(&config).args(["rmi", &remote, &format!("{local}:1")]));
    let pulled = ok(docker(&config).args(["pull", &remote]));
    assert!(pulled.contains(&digest), "{pulled}");
    let repo_digest =
        ok(docker(&config).args(["inspect", "--format", "{{index .RepoDigests 0}}", &remote]));
    assert_eq!(repo_digest.trim(), format!("{host}/e2e/app@{digest}"));
    let output = ok(docker(&config).args(["run", "--rm", &remote]));
    assert_eq!(output.trim(), message);

    // Pull by digest too.
    ok(docker(&config).args(["pull", &format!("{host}/e2e/app@{digest}")]));

    // A logged-out client is refused.
    ok(docker(&config).args(["logout", host]));
    ok(docker(&config).args(["rmi", &remote]));
    let _ = run(docker(&config).args(["rmi", &format!("{host}/e2e/app@{digest}")]));
    let (success, _, stderr) = run(docker(&config).args(["pull", &remote]));
    assert!(!success);
    assert!(
        stderr.contains("unauthorized") || stderr.contains("denied"),
        "{stderr}"
    );
}

#[test]
fn needs_docker_skopeo_copy_both_ways_and_inspect() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox, Need::Skopeo);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let server = Server::start(&work.path().join("registry"));
    let host = &server.addr;
    let creds = format!("ferry:{TOKEN}");

    let local = unique("ferry-registry-skopeo");
    build_image(work.path(), &config, &format!("{local}:1"));
    let archive = work.path().join("image.tar");
    ok(docker(&config)
        .args(["save", "-o"])
        .arg(&archive)
        .arg(format!("{local}:1")));
    ok(docker(&config).args(["rmi", &format!("{local}:1")]));

    // Into ferry.
    ok(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!("docker://{host}/skopeo/app:v1")));
    let inspect = ok(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{host}/skopeo/app:v1")));
    let inspected: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspected["RepoTags"], serde_json::json!(["v1"]));
    assert_eq!(inspected["Layers"].as_array().unwrap().len(), 2);
    let digest = inspected["Digest"].as_str().unwrap().to_string();

    // Out of ferry into an OCI layout, and back into another repository: the manifest
    // bytes (hence the digest) survive the round trip.
    let layout = work.path().join("layout");
    ok(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--src-creds", &creds])
        .arg(format!("docker://{host}/skopeo/app@{digest}"))
        .arg(format!("oci:{}:v1", layout.display())));
    ok(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{host}/skopeo/copy:v2")));
    let raw_first = ok(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{host}/skopeo/app:v1")));
    let raw_copy = ok(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{host}/skopeo/copy:v2")));
    let again: serde_json::Value = serde_json::from_str(&ok(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{host}/skopeo/copy:v2"))))
    .unwrap();
    // skopeo converts Docker's schema 2 into OCI on the way into the layout, so the
    // copy has its own digest; its layers are the same blobs.
    assert_eq!(again["Layers"], inspected["Layers"]);
    let media_type =
        |raw: &str| serde_json::from_str::<serde_json::Value>(raw).unwrap()["mediaType"].clone();
    assert_eq!(
        media_type(&raw_first),
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        media_type(&raw_copy),
        "application/vnd.oci.image.manifest.v1+json"
    );

    // Wrong credentials are refused.
    let (success, _, stderr) = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", "ferry:wrong"])
        .arg(format!("docker://{host}/skopeo/app:v1")));
    assert!(!success);
    assert!(
        stderr.contains("unauthorized") || stderr.contains("invalid"),
        "{stderr}"
    );
}

#[test]
fn needs_docker_oras_push_with_subject_and_discover() {
    ferry_testenv::require!(Need::Oras);
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&work.path().join("registry"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/oras_push_discover.py");
    let out = ok(Command::new("python3")
        .arg(script)
        .args([&server.addr, TOKEN, "oras/artifact", "v1"])
        .arg(work.path()));
    let result: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(result["pushed"], 201);
    assert_eq!(result["oci_subject"], result["subject"], "{result}");
    let referrers = result["referrers"]["manifests"].as_array().unwrap();
    assert_eq!(referrers.len(), 1, "{result}");
    assert_eq!(
        referrers[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(referrers[0]["annotations"]["org.example.kind"], "sbom");
    assert_eq!(result["filtered"]["manifests"], serde_json::json!([]));
    assert_eq!(result["filters_applied"], "artifactType");
}
