//! Access to ferry's registry with the real server, docker and skopeo: the admin token,
//! scoped tokens (`ferry tokens`), anonymous pull globs, `ferry images ls/rm` and
//! `ferry registry gc` keeping what a revision uses. Images are imported locally from
//! a static busybox; nothing is pulled from the internet.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Imports a busybox image holding `marker` in /www/index.html (so two markers make
/// two images with different layers), served by httpd on 8080. Its local tag.
fn import_image(tag: &str, marker: &str) -> String {
    import_busybox_image(tag, &[("www/index.html", &format!("{marker}\n"))]);
    tag.to_string()
}

/// Local image tags made by the test, removed at the end whatever happens.
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("docker")
                .arg("rmi")
                .arg("-f")
                .args(&self.0)
                .output();
        }
    }
}

/// (success, stdout + stderr)
fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn ok(command: &mut Command) -> String {
    let (success, text) = run(command);
    assert!(success, "{command:?} failed:\n{text}");
    text
}

fn fails(command: &mut Command) -> String {
    let (success, text) = run(command);
    assert!(!success, "{command:?} should fail:\n{text}");
    text
}

/// A docker CLI whose credentials live in `config` (never the user's own).
fn docker(config: &Path) -> Command {
    let mut command = Command::new("docker");
    command.env("DOCKER_CONFIG", config);
    command
}

fn login(config: &Path, host: &str, secret: &str) -> (bool, String) {
    run(docker(config).args(["login", host, "-u", "anyone", "--password", secret]))
}

/// `skopeo inspect` of `host/reference` with `creds` ("user:secret") or none.
fn skopeo_inspect(host: &str, reference: &str, creds: Option<&str>) -> (bool, String) {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--tls-verify=false"]);
    match creds {
        Some(creds) => command.args(["--creds", creds]),
        None => command.arg("--no-creds"),
    };
    run(command.arg(format!("docker://{host}/{reference}")))
}

fn blob_path(data: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    data.join("registry/blobs/sha256").join(&hex[..2]).join(hex)
}

fn create_token(platform: &TestPlatform, args: &[&str]) -> (String, String) {
    let mut all = vec!["tokens", "create"];
    all.extend_from_slice(args);
    let created = platform.ferry_json(&all);
    (
        created["token"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

#[test]
fn needs_docker_scoped_tokens_anonymous_pull_images_and_gc() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox, Need::Skopeo);
    let platform = TestPlatform::start_with_args(
        "docker",
        &[
            "--registry-anonymous-pull",
            "public/*",
            "--registry-gc-interval",
            "0",
        ],
    );
    let host = platform.info.api.clone();
    let pid = std::process::id();
    let web_image = import_image(&format!("ferry-access-web:{pid}"), "web");
    let other_image = import_image(&format!("ferry-access-other:{pid}"), "other");
    let mut tags = Tags(vec![web_image.clone(), other_image.clone()]);
    let mut tag = |image: &str, reference: &str| {
        let remote = format!("{host}/{reference}");
        ok(Command::new("docker").args(["tag", image, &remote]));
        tags.0.push(remote.clone());
        remote
    };
    let shop_web = tag(&web_image, "shop/web:1");
    let shop_web2 = tag(&web_image, "shop/web:2");
    let shop_other = tag(&other_image, "shop/other:1");
    let public_site = tag(&other_image, "public/site:1");
    let private_site = tag(&other_image, "private/site:1");

    // The admin token logs in and pushes what the scoped tokens will read.
    let admin_config = tempfile::tempdir().unwrap();
    let admin = admin_config.path();
    let (success, text) = login(admin, &host, "wrong-password");
    assert!(!success, "a wrong password must be refused:\n{text}");
    let (success, text) = login(admin, &host, &platform.token());
    assert!(success, "{text}");
    for image in [&shop_other, &public_site, &private_site] {
        ok(docker(admin).args(["push", image]));
    }

    // A scoped token: pull shop/*, push shop/web.
    let (ci_id, ci_secret) = create_token(
        &platform,
        &["--name", "ci", "--pull", "shop/*", "--push", "shop/web"],
    );
    assert!(ci_secret.starts_with("ferry_rt_"), "{ci_secret}");
    let ci_config = tempfile::tempdir().unwrap();
    let ci = ci_config.path();
    let (success, text) = login(ci, &host, &ci_secret);
    assert!(success, "{text}");
    let pushed = ok(docker(ci).args(["push", &shop_web]));
    let digest = pushed
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in:\n{pushed}"))
        .to_string();
    ok(docker(ci).args(["push", &shop_web2]));
    let denied = fails(docker(ci).args(["push", &shop_other]));
    assert!(denied.to_lowercase().contains("denied"), "{denied}");
    // Pulling shop/other is in the token's globs.
    ok(Command::new("docker").args(["rmi", &shop_other]));
    ok(docker(ci).args(["pull", &shop_other]));
    let creds = format!("ci:{ci_secret}");
    let (success, text) = skopeo_inspect(&host, "shop/other:1", Some(&creds));
    assert!(success && text.contains("\"Digest\""), "{text}");
    let (success, text) = skopeo_inspect(&host, "private/site:1", Some(&creds));
    assert!(
        !success,
        "private/site is outside the token's globs:\n{text}"
    );

    // A pull-only token cannot push.
    let (_, reader_secret) = create_token(&platform, &["--pull", "shop/*"]);
    let reader_config = tempfile::tempdir().unwrap();
    let reader = reader_config.path();
    assert!(login(reader, &host, &reader_secret).0);
    let denied = fails(docker(reader).args(["push", &shop_web]));
    assert!(denied.to_lowercase().contains("denied"), "{denied}");
    // Registry tokens are not API tokens.
    let api = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {reader_secret}"))
        .arg(format!("http://{host}/api/v1/tokens"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&api.stdout), "401");
    let reader_creds = format!("reader:{reader_secret}");
    assert!(skopeo_inspect(&host, "shop/web:1", Some(&reader_creds)).0);

    // Anonymous pull only for the configured glob.
    let (success, text) = skopeo_inspect(&host, "public/site:1", None);
    assert!(success, "{text}");
    let (success, text) = skopeo_inspect(&host, "shop/web:1", None);
    assert!(
        !success,
        "shop/web must not be readable anonymously:\n{text}"
    );

    // Revocation takes effect at once: login and a request with an issued token.
    platform.ferry_ok(&["tokens", "revoke", &ci_id]);
    let (success, text) = login(ci, &host, &ci_secret);
    assert!(!success, "a revoked token must not log in:\n{text}");
    let (success, text) = skopeo_inspect(&host, "shop/web:1", Some(&creds));
    assert!(!success, "{text}");
    let listed = platform.ferry_ok(&["tokens", "ls"]);
    assert!(
        listed.contains(&ci_id) && listed.contains("revoked"),
        "{listed}"
    );
    assert!(!listed.contains(&ci_secret) && !listed.contains(&reader_secret));
    let listed = platform.ferry_ok(&["tokens", "ls", "--json"]);
    assert!(!listed.contains(&ci_secret) && !listed.contains("ferry_rt_"));

    // `ferry images ls` shows what was pushed, with its digest.
    let images = platform.ferry_ok(&["images", "ls"]);
    for expected in ["shop/web", "shop/other", "public/site", &digest[..19]] {
        assert!(images.contains(expected), "{expected} missing:\n{images}");
    }
    let one = platform.ferry_json(&["images", "ls", "shop/web"]);
    let tags_of_web: Vec<&str> = one["repositories"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags_of_web, ["1", "2"]);
    assert_eq!(one["repositories"][0]["tags"][0]["digest"], digest.as_str());
    assert!(one["repositories"][0]["tags"][0]["size"].as_u64().unwrap() > 100_000);

    // A revision of shop/web by digest: its image must outlive its repository entry.
    let by_digest = format!("{host}/shop/web@{digest}");
    platform.ferry_ok(&[
        "deploy", "--image", &by_digest, "--name", "web", "--port", "8080",
    ]);
    assert_eq!(
        platform.curl("web.localhost", "/"),
        (200, "web\n".to_string())
    );
    let refused = platform.ferry_fails(&["images", "rm", &format!("shop/web@{digest}")]);
    assert!(refused.contains("rolled back"), "{refused}");
    // Untagging keeps a manifest that another tag uses.
    let out = platform.ferry_ok(&["images", "rm", "shop/web:2"]);
    assert!(out.contains("Untagged shop/web:2"), "{out}");
    assert!(out.contains("stays"), "{out}");
    let removed = platform.ferry_json(&["images", "rm", &format!("shop/web@{digest}"), "--force"]);
    assert_eq!(removed["tags"], serde_json::json!(["1"]));
    // shop/other goes by tag: its manifest too, as nothing else uses it.
    let other_manifest = platform.ferry_json(&["images", "ls", "shop/other"])["repositories"][0]
        ["tags"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let removed = platform.ferry_json(&["images", "rm", "shop/other:1"]);
    assert_eq!(removed["manifest"], other_manifest.as_str());
    let images = platform.ferry_ok(&["images", "ls"]);
    assert!(
        !images.contains("shop/other ") && !images.contains("shop/web "),
        "{images}"
    );

    // gc keeps everything of shop/web's, which the revision pins (and shop/other's
    // image, which public/site and private/site still have).
    let gc = platform.ferry_json(&["registry", "gc", "--grace", "0s"]);
    assert!(gc["pinned"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(digest)));
    let data = platform.data.path();
    assert!(
        blob_path(data, &digest).exists(),
        "the pinned manifest is kept"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob_path(data, &digest)).unwrap()).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        let layer = layer["digest"].as_str().unwrap();
        assert!(
            blob_path(data, layer).exists(),
            "layer {layer} of the pinned image is kept"
        );
    }
    // public/site is the same image as shop/other: still served.
    assert!(skopeo_inspect(&host, "public/site:1", None).0);

    // Removing public/site and private/site leaves that image unreferenced: gc frees it.
    platform.ferry_ok(&["images", "rm", "public/site:1"]);
    platform.ferry_ok(&["images", "rm", "private/site:1"]);
    let gc = platform.ferry_json(&["registry", "gc", "--grace", "0s"]);
    assert!(gc["blobs_removed"].as_u64().unwrap() >= 3, "{gc}");
    assert!(gc["bytes_removed"].as_u64().unwrap() > 100_000, "{gc}");
    assert!(!blob_path(data, &other_manifest).exists());
    assert!(
        blob_path(data, &digest).exists(),
        "still pinned by the revision"
    );
    let out = platform.ferry_ok(&["registry", "gc", "--grace", "0s"]);
    assert!(out.contains("Removed 0 blob(s)"), "{out}");

    platform.ferry_ok(&["delete", "web"]);
}

#[test]
fn needs_docker_anonymous_pull_is_off_without_the_flag() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox, Need::Skopeo);
    let platform = TestPlatform::start_with_args("docker", &["--registry-gc-interval", "0"]);
    let host = platform.info.api.clone();
    let image = import_image(&format!("ferry-access-anon:{}", std::process::id()), "anon");
    let remote = format!("{host}/public/site:1");
    ok(Command::new("docker").args(["tag", &image, &remote]));
    let _tags = Tags(vec![image, remote.clone()]);
    let config = tempfile::tempdir().unwrap();
    assert!(login(config.path(), &host, &platform.token()).0);
    ok(docker(config.path()).args(["push", &remote]));
    let (success, text) = skopeo_inspect(&host, "public/site:1", None);
    assert!(!success, "{text}");
    let admin = format!("admin:{}", platform.token());
    assert!(skopeo_inspect(&host, "public/site:1", Some(&admin)).0);
    // Bad input is a clear error.
    let text = platform.ferry_fails(&["tokens", "create", "--pull", "Public"]);
    assert!(text.contains("repository pattern"), "{text}");
    let text = platform.ferry_fails(&["tokens", "create", "--pull", "x", "--expires", "0s"]);
    assert!(text.contains("more than zero"), "{text}");
    let text = platform.ferry_fails(&["tokens", "revoke", "tok-missing"]);
    assert!(text.contains("not found"), "{text}");
    let text = platform.ferry_fails(&["images", "rm", "public/site"]);
    assert!(text.contains("REPOSITORY:TAG"), "{text}");
}
