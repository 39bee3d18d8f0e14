//! Image-lint tests: one image per case, built at run time as a `docker save`
//! archive (layers and config written with the tar crate), a triggering and a passing
//! fixture for every check; and an end-to-end run through the Docker Engine.

use ferry_testenv::Need;
use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::image::{Image, ImageFs, ImageSource};

/// One member of a test layer.
enum Entry<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Whiteout(&'a str),
}

fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_700_000_000);
        match entry {
            Entry::File(name, content, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(content.len() as u64);
                header.set_mode(*mode);
                builder.append_data(&mut header, name, *content).unwrap();
            }
            Entry::Dir(name) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_mode(0o755);
                builder
                    .append_data(&mut header, name, std::io::empty())
                    .unwrap();
            }
            Entry::Symlink(name, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                header.set_mode(0o777);
                builder.append_link(&mut header, name, target).unwrap();
            }
            Entry::Whiteout(name) => {
                let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
                let wh = if dir.is_empty() {
                    format!(".wh.{file}")
                } else {
                    format!("{dir}/.wh.{file}")
                };
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(0);
                header.set_mode(0o644);
                builder
                    .append_data(&mut header, wh, std::io::empty())
                    .unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

fn append(outer: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    outer.append_data(&mut header, name, data).unwrap();
}

/// Writes a `docker save` archive of `layers` with `config` (its rootfs filled in).
fn archive(dir: &Path, layers: &[Vec<u8>], mut config: Value) -> std::path::PathBuf {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| crate::image::sha256_digest(l))
        .collect();
    config["rootfs"] = json!({ "type": "layers", "diff_ids": diff_ids });
    let config = serde_json::to_vec(&config).unwrap();
    let mut outer = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        append(&mut outer, &name, l);
        names.push(name);
    }
    let config_name = format!("{}.json", &crate::image::sha256_digest(&config)[7..]);
    append(&mut outer, &config_name, &config);
    let manifest = json!([{ "Config": config_name, "RepoTags": ["test/lint:1"], "Layers": names }]);
    append(&mut outer, "manifest.json", manifest.to_string().as_bytes());
    let path = dir.join("image.tar");
    std::fs::write(&path, outer.into_inner().unwrap()).unwrap();
    path
}

const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &[u8] = b"root:x:0:\napp:x:1000:\n";
const SHADOW: &[u8] = b"root:*:19000:0:99999:7:::\napp:!:19000::::::\n";

/// A well-built image's files: accounts with locked passwords, an app binary.
fn good_files() -> Vec<Entry<'static>> {
    vec![
        Entry::Dir("etc"),
        Entry::File("etc/passwd", PASSWD, 0o644),
        Entry::File("etc/group", GROUP, 0o644),
        Entry::File("etc/shadow", SHADOW, 0o640),
        Entry::File("app/server", b"\x7fELF", 0o755),
    ]
}

/// A well-built image's config: a user, a HEALTHCHECK, clean history.
fn good_config() -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": "app",
            "Env": ["PATH=/usr/bin:/bin", "GPG_KEY=ABCDEF"],
            "Cmd": ["/app/server"],
            "Labels": { "maintainer": "ferry" },
            "Healthcheck": { "Test": ["CMD", "/app/server", "--health"] }
        },
        "history": [
            { "created_by": "/bin/sh -c #(nop) ADD file:0123abcd in / " },
            { "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true },
            { "created_by": "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* # buildkit" },
            { "created_by": "RUN /bin/sh -c apk add --no-cache curl # buildkit" },
            { "created_by": "COPY server /app/server # buildkit" },
            { "created_by": "ENV PATH=/usr/bin:/bin", "empty_layer": true }
        ]
    })
}

fn open(layers: &[Vec<u8>], config: Value) -> (tempfile::TempDir, ImageFs) {
    let tmp = tempfile::tempdir().unwrap();
    let path = archive(tmp.path(), layers, config);
    let image = Image::open_local(&ImageSource::DockerArchive(path)).unwrap();
    (tmp, ImageFs::from_image(image).unwrap())
}

/// Default options with content trust on, so only the check under test speaks.
fn trusted() -> ImageLintOptions {
    ImageLintOptions {
        content_trust: true,
        ..ImageLintOptions::default()
    }
}

fn lint_with(files: &[Entry<'_>], config: Value, options: &ImageLintOptions) -> ImageLintReport {
    let (_tmp, fs) = open(&[layer(files)], config);
    lint_image(&fs, options)
}

fn lint(files: &[Entry<'_>], config: Value) -> ImageLintReport {
    lint_with(files, config, &trusted())
}

fn level(report: &ImageLintReport, code: &str) -> Level {
    report.check(code).unwrap().level
}

fn messages(report: &ImageLintReport, code: &str) -> Vec<String> {
    report
        .check(code)
        .unwrap()
        .alerts
        .iter()
        .map(|a| a.message.clone())
        .collect()
}

fn with_history(lines: &[&str]) -> Value {
    let mut config = good_config();
    config["history"] = lines
        .iter()
        .map(|l| json!({ "created_by": l }))
        .collect::<Vec<_>>()
        .into();
    config
}

#[test]
fn well_built_image_passes_every_check() {
    let report = lint(&good_files(), good_config());
    let not_passing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.level != Level::Pass)
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    assert_eq!(report.checks.len(), CHECKS.len());
    assert_eq!(report.summary().pass, CHECKS.len());
    assert!(!report.exceeds(Level::Info));
}

#[test]
fn catalog_matches_dockle_levels() {
    let levels: Vec<(&str, Level)> = CHECKS.iter().map(|c| (c.code, c.default_level)).collect();
    assert_eq!(
        levels,
        vec![
            ("CIS-DI-0001", Level::Warn),
            ("CIS-DI-0005", Level::Info),
            ("CIS-DI-0006", Level::Info),
            ("CIS-DI-0007", Level::Fatal),
            ("CIS-DI-0008", Level::Info),
            ("CIS-DI-0009", Level::Fatal),
            ("CIS-DI-0010", Level::Fatal),
            ("DKL-DI-0001", Level::Fatal),
            ("DKL-DI-0002", Level::Fatal),
            ("DKL-DI-0003", Level::Warn),
            ("DKL-DI-0004", Level::Fatal),
            ("DKL-DI-0005", Level::Fatal),
            ("DKL-DI-0006", Level::Warn),
            ("DKL-LI-0001", Level::Fatal),
            ("DKL-LI-0002", Level::Fatal),
            ("DKL-LI-0003", Level::Info),
        ]
    );
}

#[test]
fn cis_di_0001_root_user() {
    for user in [json!(""), json!("root"), json!("0:0"), Value::Null] {
        let mut config = good_config();
        config["config"]["User"] = user.clone();
        let report = lint(&good_files(), config);
        assert_eq!(level(&report, "CIS-DI-0001"), Level::Warn, "{user}");
        assert_eq!(
            messages(&report, "CIS-DI-0001"),
            vec!["Last user should not be root"]
        );
    }
    let report = lint(&good_files(), good_config());
    assert_eq!(level(&report, "CIS-DI-0001"), Level::Pass);
}

#[test]
fn cis_di_0005_content_trust() {
    let report = lint_with(&good_files(), good_config(), &ImageLintOptions::default());
    assert_eq!(level(&report, "CIS-DI-0005"), Level::Info);
    assert_eq!(
        messages(&report, "CIS-DI-0005"),
        vec!["export DOCKER_CONTENT_TRUST=1 before docker pull/build"]
    );
    let report = lint(&good_files(), good_config());
    assert_eq!(level(&report, "CIS-DI-0005"), Level::Pass);
}

#[test]
fn cis_di_0006_healthcheck() {
    let mut config = good_config();
    config["config"]
        .as_object_mut()
        .unwrap()
        .remove("Healthcheck");
    let report = lint(&good_files(), config);
    assert_eq!(level(&report, "CIS-DI-0006"), Level::Info);
    assert_eq!(
        messages(&report, "CIS-DI-0006"),
        vec!["not found HEALTHCHECK statement"]
    );
    assert_eq!(
        level(&lint(&good_files(), good_config()), "CIS-DI-0006"),
        Level::Pass
    );
}

#[test]
fn cis_di_0007_update_alone() {
    let line = "/bin/sh -c apt-get update";
    let report = lint(&good_files(), with_history(&[line]));
    assert_eq!(level(&report, "CIS-DI-0007"), Level::Fatal);
    assert_eq!(
        messages(&report, "CIS-DI-0007"),
        vec![format!(
            "Always combine 'apt-get update' with 'apt-get install|upgrade' : {line}"
        )]
    );
    let report = lint(
        &good_files(),
        with_history(&[
            "/bin/sh -c apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*",
        ]),
    );
    assert_eq!(level(&report, "CIS-DI-0007"), Level::Pass);
}

#[test]
fn cis_di_0008_setuid_and_setgid_files() {
    let mut files = good_files();
    files.push(Entry::File("usr/bin/passwd", b"bin", 0o4755));
    files.push(Entry::File("usr/bin/wall", b"bin", 0o2755));
    files.push(Entry::Dir("var/mail")); // directories are not looked at
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "CIS-DI-0008"), Level::Info);
    assert_eq!(
        messages(&report, "CIS-DI-0008"),
        vec![
            "setuid file: urwxr-xr-x usr/bin/passwd",
            "setgid file: grwxr-xr-x usr/bin/wall"
        ]
    );
    assert_eq!(
        report.check("CIS-DI-0008").unwrap().alerts[0].location,
        "usr/bin/passwd"
    );
    assert_eq!(
        level(&lint(&good_files(), good_config()), "CIS-DI-0008"),
        Level::Pass
    );
}

#[test]
fn cis_di_0009_add_after_the_base_layer() {
    let config = with_history(&[
        "/bin/sh -c #(nop) ADD file:0123abcd in / ",
        "/bin/sh -c #(nop) ADD file:4567 in /app/credentials.json ",
        "ADD https://example.com/app.tar.gz /app # buildkit",
    ]);
    let report = lint(&good_files(), config);
    assert_eq!(level(&report, "CIS-DI-0009"), Level::Fatal);
    assert_eq!(
        messages(&report, "CIS-DI-0009"),
        vec![
            "Use COPY : /bin/sh -c #(nop) ADD file:4567 in /app/credentials.json ",
            "Use COPY : ADD https://example.com/app.tar.gz /app # buildkit",
        ]
    );
    // The base image's own ADD alone is fine.
    let report = lint(
        &good_files(),
        with_history(&["/bin/sh -c #(nop) ADD file:0123abcd in / "]),
    );
    assert_eq!(level(&report, "CIS-DI-0009"), Level::Pass);
}

#[test]
fn cis_di_0010_secrets_in_history_env_and_labels() {
    let mut config = with_history(&[
        "/bin/sh -c #(nop)  ENV MYSQL_PASSWD=hunter2",
        "RUN |1 API_TOKEN=abc123 /bin/sh -c make # buildkit",
        "ENV GPG_KEY=ABCDEF",
    ]);
    config["config"]["Env"] = json!(["PATH=/bin", "AWS_SECRET_ACCESS_KEY=xyz", "EMPTY_KEY="]);
    config["config"]["Labels"] = json!({ "deploy.password": "p", "maintainer": "ferry" });
    let report = lint(&good_files(), config.clone());
    assert_eq!(level(&report, "CIS-DI-0010"), Level::Fatal);
    let got = messages(&report, "CIS-DI-0010");
    assert_eq!(
        got,
        vec![
            "Suspicious ENV key found : MYSQL_PASSWD on /bin/sh -c #(nop)  ENV MYSQL_PASSWD=******* (You can suppress it with --accept-key MYSQL_PASSWD)",
            "Suspicious ENV key found : API_TOKEN on RUN |1 API_TOKEN=******* /bin/sh -c make # buildkit (You can suppress it with --accept-key API_TOKEN)",
            "Suspicious ENV key found : AWS_SECRET_ACCESS_KEY (You can suppress it with --accept-key AWS_SECRET_ACCESS_KEY)",
            "Suspicious LABEL key found : deploy.password (You can suppress it with --accept-key deploy.password)",
        ]
    );
    assert!(!got
        .iter()
        .any(|m| m.contains("hunter2") || m.contains("abc123")));

    let accepting = ImageLintOptions {
        accept_keys: vec![
            "MYSQL_PASSWD".into(),
            "API_TOKEN".into(),
            "AWS_SECRET_ACCESS_KEY".into(),
            "deploy.password".into(),
        ],
        ..trusted()
    };
    let report = lint_with(&good_files(), config, &accepting);
    assert_eq!(level(&report, "CIS-DI-0010"), Level::Pass);

    // A word of one's own makes a name suspicious.
    let config = with_history(&["ENV MY_PRIVATE=1"]);
    assert_eq!(
        level(&lint(&good_files(), config.clone()), "CIS-DI-0010"),
        Level::Pass
    );
    let words = ImageLintOptions {
        sensitive_words: vec!["private".into()],
        ..trusted()
    };
    assert_eq!(
        level(&lint_with(&good_files(), config, &words), "CIS-DI-0010"),
        Level::Fatal
    );
}

#[test]
fn cis_di_0010_secret_files() {
    let mut files = good_files();
    files.push(Entry::File("app/credentials.json", b"{}", 0o600));
    files.push(Entry::File("root/.ssh/id_rsa", b"key", 0o600));
    files.push(Entry::File("etc/openvpn/client.ovpn", b"conf", 0o644));
    files.push(Entry::File("app/cert.pfx", b"x", 0o644));
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "CIS-DI-0010"), Level::Fatal);
    assert_eq!(
        messages(&report, "CIS-DI-0010"),
        vec![
            "Suspicious filename found : app/credentials.json (You can suppress it with \"--accept-file credentials.json\")",
            "Suspicious file extension found : etc/openvpn/client.ovpn (You can suppress it with \"--accept-file-extension ovpn\")",
            "Suspicious filename found : root/.ssh/id_rsa (You can suppress it with \"--accept-file id_rsa\")",
        ]
    );

    let accepting = ImageLintOptions {
        accept_files: vec!["credentials.json".into(), "/root/.ssh/id_rsa".into()],
        accept_file_extensions: vec![".ovpn".into()],
        ..trusted()
    };
    assert_eq!(
        level(&lint_with(&files, good_config(), &accepting), "CIS-DI-0010"),
        Level::Pass
    );

    let sensitive = ImageLintOptions {
        sensitive_file_extensions: vec!["pfx".into()],
        sensitive_files: vec!["server".into()],
        ..accepting
    };
    let report = lint_with(&files, good_config(), &sensitive);
    assert_eq!(
        messages(&report, "CIS-DI-0010"),
        vec![
            "Suspicious file extension found : app/cert.pfx (You can suppress it with \"--accept-file-extension pfx\")",
            "Suspicious filename found : app/server (You can suppress it with \"--accept-file server\")",
        ]
    );
}

#[test]
fn dkl_di_0001_sudo() {
    let line = "/bin/sh -c sudo apt-get install -y vim";
    let report = lint(&good_files(), with_history(&[line]));
    assert_eq!(level(&report, "DKL-DI-0001"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-DI-0001"),
        vec![format!("Avoid sudo in container : {line}")]
    );
    let report = lint(&good_files(), with_history(&["/bin/sh -c echo pseudo"]));
    assert_eq!(level(&report, "DKL-DI-0001"), Level::Pass);
}

#[test]
fn dkl_di_0002_sensitive_volumes() {
    let mut config = good_config();
    config["config"]["Volumes"] = json!({ "/proc": {}, "/data": {} });
    let report = lint(&good_files(), config);
    assert_eq!(level(&report, "DKL-DI-0002"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-DI-0002"),
        vec!["Avoid mounting sensitive dirs : /proc"]
    );
    let mut config = good_config();
    config["config"]["Volumes"] = json!({ "/data": {} });
    assert_eq!(
        level(&lint(&good_files(), config), "DKL-DI-0002"),
        Level::Pass
    );
}

#[test]
fn dkl_di_0003_dist_upgrade() {
    let line =
        "/bin/sh -c apt-get update && apt-get dist-upgrade -y && rm -rf /var/lib/apt/lists/*";
    let report = lint(&good_files(), with_history(&[line]));
    assert_eq!(level(&report, "DKL-DI-0003"), Level::Warn);
    assert_eq!(
        messages(&report, "DKL-DI-0003"),
        vec![format!("Avoid dist-upgrade in container : {line}")]
    );
    let line = "/bin/sh -c apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*";
    assert_eq!(
        level(&lint(&good_files(), with_history(&[line])), "DKL-DI-0003"),
        Level::Pass
    );
}

#[test]
fn dkl_di_0004_apk_add_without_no_cache() {
    let line = "/bin/sh -c apk add --update curl";
    let report = lint(&good_files(), with_history(&[line]));
    assert_eq!(level(&report, "DKL-DI-0004"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-DI-0004"),
        vec![format!("Use --no-cache option if use 'apk add': {line}")]
    );
    let line = "/bin/sh -c apk add --no-cache curl";
    assert_eq!(
        level(&lint(&good_files(), with_history(&[line])), "DKL-DI-0004"),
        Level::Pass
    );
}

#[test]
fn dkl_di_0005_apt_lists_kept() {
    let line = "/bin/sh -c apt-get update && apt-get install -y git";
    let report = lint(&good_files(), with_history(&[line]));
    assert_eq!(level(&report, "DKL-DI-0005"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-DI-0005"),
        vec![format!(
            "Use 'rm -rf /var/lib/apt/lists' after 'apt-get install|update' : {line}"
        )]
    );
    let line = "/bin/sh -c apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*";
    assert_eq!(
        level(&lint(&good_files(), with_history(&[line])), "DKL-DI-0005"),
        Level::Pass
    );
}

#[test]
fn dkl_di_0006_latest_tag() {
    for reference in [
        "alpine",
        "alpine:latest",
        "localhost:7070/shop/web",
        "127.0.0.1:5000/a/b:latest",
    ] {
        let options = ImageLintOptions {
            reference: Some(reference.into()),
            ..trusted()
        };
        let report = lint_with(&good_files(), good_config(), &options);
        assert_eq!(level(&report, "DKL-DI-0006"), Level::Warn, "{reference}");
        assert_eq!(messages(&report, "DKL-DI-0006"), vec!["Avoid 'latest' tag"]);
    }
    for reference in [
        Some("alpine:3.19"),
        Some("localhost:7070/shop/web:1.4"),
        Some("alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        Some("Not A Reference"),
        None,
    ] {
        let options = ImageLintOptions {
            reference: reference.map(String::from),
            ..trusted()
        };
        let report = lint_with(&good_files(), good_config(), &options);
        assert_eq!(level(&report, "DKL-DI-0006"), Level::Pass, "{reference:?}");
    }
}

#[test]
fn dkl_li_0001_empty_password() {
    let mut files = good_files();
    files[3] = Entry::File(
        "etc/shadow",
        b"# comment\nroot::19000:0:99999:7:::\nbroken\n\napp:!:19000::::::\n",
        0o640,
    );
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "DKL-LI-0001"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-LI-0001"),
        vec!["No password user found! username : root"]
    );
    assert_eq!(
        report.check("DKL-LI-0001").unwrap().alerts[0].location,
        "etc/shadow"
    );
    assert_eq!(
        level(&lint(&good_files(), good_config()), "DKL-LI-0001"),
        Level::Pass
    );
    // No shadow file at all: SKIP, as Dockle.
    let report = lint(&[Entry::File("etc/passwd", PASSWD, 0o644)], good_config());
    assert_eq!(level(&report, "DKL-LI-0001"), Level::Skip);
    assert_eq!(
        messages(&report, "DKL-LI-0001"),
        vec!["failed to detect etc/shadow,etc/master.passwd"]
    );
}

#[test]
fn dkl_li_0002_duplicate_ids() {
    let mut files = good_files();
    files[1] = Entry::File(
        "etc/passwd",
        b"root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nshort\n",
        0o644,
    );
    files[2] = Entry::File("etc/group", b"root:x:0:\nwheel:x:0:\n", 0o644);
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "DKL-LI-0002"), Level::Fatal);
    assert_eq!(
        messages(&report, "DKL-LI-0002"),
        vec![
            "duplicate UID 0 : username toor",
            "duplicate GroupID 0 : username wheel"
        ]
    );
    assert_eq!(
        level(&lint(&good_files(), good_config()), "DKL-LI-0002"),
        Level::Pass
    );
    // A finding in passwd outranks the missing group file's SKIP note.
    let report = lint(&files[..2], good_config());
    assert_eq!(level(&report, "DKL-LI-0002"), Level::Fatal);
    let report = lint(&[Entry::File("app/x", b"", 0o644)], good_config());
    assert_eq!(level(&report, "DKL-LI-0002"), Level::Skip);
    assert_eq!(
        messages(&report, "DKL-LI-0002"),
        vec!["failed to detect etc/passwd", "failed to detect etc/group"]
    );
}

#[test]
fn dkl_li_0003_unnecessary_files() {
    let mut files = good_files();
    files.push(Entry::File("app/.DS_Store", b"", 0o644));
    files.push(Entry::File("app/Dockerfile", b"FROM x", 0o644));
    files.push(Entry::File("app/.git/HEAD", b"ref", 0o644));
    files.push(Entry::File("app/.git/config", b"", 0o644));
    files.push(Entry::File("root/.aws/credentials", b"", 0o600));
    files.push(Entry::File("app/node_modules/x/.git/HEAD", b"", 0o644));
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "DKL-LI-0003"), Level::Info);
    assert_eq!(
        messages(&report, "DKL-LI-0003"),
        vec![
            "unnecessary file : app/.DS_Store",
            "Suspicious directory : app/.git",
            "unnecessary file : app/Dockerfile",
            "Suspicious directory : root/.aws",
        ]
    );
    // The credentials file is also a secret.
    assert!(messages(&report, "CIS-DI-0010")[0].contains("root/.aws/credentials"));
    assert_eq!(
        level(&lint(&good_files(), good_config()), "DKL-LI-0003"),
        Level::Pass
    );
}

#[test]
fn deleted_files_are_not_reported() {
    let base = layer(&[
        Entry::File("etc/passwd", PASSWD, 0o644),
        Entry::File("etc/group", GROUP, 0o644),
        Entry::File("etc/shadow", b"root::1::::::\n", 0o640),
        Entry::File("app/id_rsa", b"key", 0o600),
        Entry::File("usr/bin/su", b"su", 0o4755),
    ]);
    let upper = layer(&[
        Entry::Whiteout("app/id_rsa"),
        Entry::File("etc/shadow", SHADOW, 0o640),
        Entry::File("usr/bin/su", b"su", 0o755),
    ]);
    let (_tmp, fs) = open(&[base, upper], good_config());
    let report = lint_image(&fs, &trusted());
    for code in ["CIS-DI-0010", "DKL-LI-0001", "CIS-DI-0008"] {
        assert_eq!(level(&report, code), Level::Pass, "{code}");
    }
}

#[test]
fn symlinked_account_files_are_followed() {
    let files = [
        Entry::File("etc/passwd", PASSWD, 0o644),
        Entry::File("etc/group", GROUP, 0o644),
        Entry::File("data/shadow", b"root::1::::::\n", 0o640),
        Entry::Symlink("etc/shadow", "/data/shadow"),
    ];
    let report = lint(&files, good_config());
    assert_eq!(level(&report, "DKL-LI-0001"), Level::Fatal);
}

#[test]
fn ignored_checks_are_kept_but_not_shown() {
    let options = ImageLintOptions {
        ignore: vec!["CIS-DI-0005".into(), " DKL-LI-0001 ".into()],
        ..ImageLintOptions::default()
    };
    let report = lint_with(&[Entry::File("app/x", b"", 0o644)], good_config(), &options);
    assert_eq!(level(&report, "CIS-DI-0005"), Level::Ignore);
    assert_eq!(level(&report, "DKL-LI-0001"), Level::Ignore);
    assert_eq!(report.ignored_count(), 2);
    // Ignored checks come last; the rest by default level, then id.
    let order: Vec<&str> = report.checks.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(&order[order.len() - 2..], &["CIS-DI-0005", "DKL-LI-0001"]);
    assert_eq!(order[0], "CIS-DI-0007");
    let summary = report.summary();
    assert_eq!(summary.skip, 1); // DKL-LI-0002
    assert_eq!(summary.pass, CHECKS.len() - 1);
    let json: Value = serde_json::from_str(&output::render_json(&report)).unwrap();
    assert!(json["details"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["code"] != "CIS-DI-0005"));
    assert!(!output::render_list(&report, false).contains("CIS-DI-0005"));
}

/// A badly built image for the output tests.
fn bad_report() -> ImageLintReport {
    let mut config = good_config();
    config["config"]["User"] = json!("");
    config["history"] = json!([
        { "created_by": "/bin/sh -c #(nop) ADD file:0123abcd in / " },
        { "created_by": "/bin/sh -c apt-get update && apt-get install -y git" },
    ]);
    let mut files = good_files();
    files[3] = Entry::File("etc/shadow", b"nopasswd::1::::::\n", 0o640);
    files.push(Entry::File("usr/bin/su", b"su", 0o4755));
    let options = ImageLintOptions {
        reference: Some("test/lint:1".into()),
        ..ImageLintOptions::default()
    };
    lint_with(&files, config, &options)
}

#[test]
fn list_output_as_dockle() {
    let report = bad_report();
    assert_eq!(
        output::render_list(&report, false),
        "FATAL\t- DKL-DI-0005: Clear apt-get caches\n\
         \t* Use 'rm -rf /var/lib/apt/lists' after 'apt-get install|update' : /bin/sh -c apt-get update && apt-get install -y git\n\
         FATAL\t- DKL-LI-0001: Avoid empty password\n\
         \t* No password user found! username : nopasswd\n\
         WARN\t- CIS-DI-0001: Create a user for the container\n\
         \t* Last user should not be root\n\
         INFO\t- CIS-DI-0005: Enable Content trust for Docker\n\
         \t* export DOCKER_CONTENT_TRUST=1 before docker pull/build\n\
         INFO\t- CIS-DI-0008: Confirm safety of setuid/setgid files\n\
         \t* setuid file: urwxr-xr-x usr/bin/su\n"
    );
    let colored = output::render_list(&report, true);
    assert!(colored
        .contains("\x1b[31mFATAL\x1b[0m\t- \x1b[36mDKL-DI-0005\x1b[0m: Clear apt-get caches"));
}

#[test]
fn json_output_as_dockle() {
    let report = bad_report();
    let text = output::render_json(&report);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["summary"],
        json!({ "fatal": 2, "warn": 1, "info": 2, "skip": 0, "pass": 11 })
    );
    assert_eq!(
        json["details"][0],
        json!({
            "code": "DKL-DI-0005",
            "title": "Clear apt-get caches",
            "level": "FATAL",
            "alerts": ["Use 'rm -rf /var/lib/apt/lists' after 'apt-get install|update' : /bin/sh -c apt-get update && apt-get install -y git"]
        })
    );
    assert_eq!(json["details"].as_array().unwrap().len(), 5);
    // Keys in Dockle's order, two-space indent.
    assert!(text.starts_with("{\n  \"image\": "), "{text}");
    assert!(text.find("\"summary\"").unwrap() < text.find("\"details\"").unwrap());
}

#[test]
fn sarif_output_rule_ids_are_check_ids() {
    let report = bad_report();
    let sarif = output::sarif_value(&report);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(rules.len(), 5);
    assert_eq!(results.len(), 5);
    assert_eq!(rules[1]["id"], "DKL-LI-0001");
    assert_eq!(
        rules[1]["helpUri"],
        "https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#DKL-LI-0001"
    );
    assert_eq!(results[1]["ruleId"], "DKL-LI-0001");
    assert_eq!(results[1]["ruleIndex"], 1);
    assert_eq!(results[1]["level"], "error");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "etc/shadow"
    );
    assert_eq!(results[2]["level"], "warning");
    assert_eq!(results[3]["level"], "note");
}

#[test]
fn exit_codes_follow_exit_level() {
    let report = bad_report();
    assert_eq!(report.exit_code(0, Level::Info), 0);
    assert_eq!(report.exit_code(3, Level::Fatal), 3);
    assert_eq!(report.exit_code(3, Level::Warn), 3);
    let report = lint(&good_files(), {
        let mut c = good_config();
        c["config"]["User"] = json!("root");
        c
    });
    assert_eq!(report.exit_code(1, Level::Warn), 1);
    assert_eq!(report.exit_code(1, Level::Fatal), 0);
    // SKIP never counts.
    let report = lint(&[Entry::File("app/x", b"", 0o644)], good_config());
    assert_eq!(report.skip_count(), 2);
    assert_eq!(report.exit_code(1, Level::Info), 0);
}

#[test]
fn report_round_trips_through_serde() {
    let report = bad_report();
    let text = serde_json::to_string(&report).unwrap();
    let back: ImageLintReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.fatal_count(), 2);
    let options: ImageLintOptions =
        serde_json::from_str(r#"{"ignore":["CIS-DI-0001"],"content_trust":true}"#).unwrap();
    assert!(options.content_trust);
}

#[test]
fn hostile_inputs_do_not_panic() {
    let garbage: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let files = [
        Entry::File("etc/passwd", &garbage, 0o644),
        Entry::File("etc/group", b":::::\n::\n\n#\n\xff\xfe", 0o644),
        Entry::File("etc/shadow", b"\0\0\n:\n::\n", 0o640),
        Entry::Symlink("etc/master.passwd", "../../../../etc/shadow"),
        Entry::File("\u{00e9}t\u{00e9}/.ovpn", b"", 0o7777),
        Entry::Symlink("loop", "loop"),
    ];
    let mut config = good_config();
    config["history"] = json!([
        { "created_by": "ENV A=\"unterminated && apk add" },
        { "created_by": "&&&&  && =x == =" },
        { "created_by": "\u{00e9}=\u{00e9} KEY=\\" },
        { "created_by": null },
        {}
    ]);
    config["config"]["Env"] = json!(["=", "NOVALUE", "TOKEN=="]);
    config["config"]["Volumes"] = json!({ "": {}, "/": {} });
    let report = lint(&files, config);
    assert_eq!(report.checks.len(), CHECKS.len());
    let _ = output::render_sarif(&report);
}

/// An image from a rootfs directory has no config: the config checks see defaults.
#[test]
fn rootfs_directory_input() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("etc")).unwrap();
    std::fs::write(tmp.path().join("etc/shadow"), b"user::1::::::\n").unwrap();
    std::fs::write(tmp.path().join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(tmp.path().join("etc/group"), GROUP).unwrap();
    let image = Image::open_local(&ImageSource::Rootfs(tmp.path().to_path_buf())).unwrap();
    let fs = ImageFs::from_image(image).unwrap();
    let report = lint_image(&fs, &trusted());
    assert_eq!(level(&report, "DKL-LI-0001"), Level::Fatal);
    assert_eq!(level(&report, "CIS-DI-0001"), Level::Warn);
}

#[test]
fn cli_usage_errors_and_missing_images() {
    assert_eq!(
        cli::run(vec!["--exit-level".into(), "pass".into(), "x".into()]),
        2
    );
    assert_eq!(
        cli::run(vec!["--format".into(), "xml".into(), "x".into()]),
        2
    );
    assert_eq!(cli::run(vec!["--help".into()]), 0);
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.tar");
    assert_eq!(
        cli::run(vec![
            "--input".into(),
            missing.into_os_string(),
            "-q".into()
        ]),
        1
    );
}

#[test]
fn cli_on_an_archive_writes_json_and_exits_by_level() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = good_files();
    files[3] = Entry::File("etc/shadow", b"nopasswd::1::::::\n", 0o640);
    let path = archive(tmp.path(), &[layer(&files)], good_config());
    let out = tmp.path().join("report.json");
    let code = cli::run(vec![
        "--input".into(),
        path.clone().into_os_string(),
        "-f".into(),
        "json".into(),
        "-o".into(),
        out.clone().into_os_string(),
        "-c".into(),
        "4".into(),
        "-l".into(),
        "FATAL".into(),
        "-i".into(),
        "CIS-DI-0005".into(),
    ]);
    assert_eq!(code, 4);
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["summary"]["fatal"], 1);
    assert_eq!(json["details"][0]["code"], "DKL-LI-0001");
    // Ignoring the only FATAL leaves nothing at the exit level.
    let code = cli::run(vec![
        "--input".into(),
        path.into_os_string(),
        "-o".into(),
        out.clone().into_os_string(),
        "-c".into(),
        "4".into(),
        "-l".into(),
        "fatal".into(),
        "--ignore".into(),
        "DKL-LI-0001,CIS-DI-0005".into(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
}

/// Builds a busybox image in the local Docker Engine with an empty root password and
/// a setuid file, and lints it through `--docker`. Needs a Docker Engine (see
/// ferry-testenv).
#[test]
fn needs_docker_image_lint_of_engine_image() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let busybox =
        std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is installed");
    let rootfs = layer(&[
        Entry::Dir("bin"),
        Entry::File("bin/busybox", &busybox, 0o755),
        Entry::Symlink("bin/sh", "busybox"),
        Entry::Dir("etc"),
        Entry::File("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
        Entry::File("etc/group", b"root:x:0:\n", 0o644),
        Entry::File("etc/shadow", b"root::19000:0:99999:7:::\n", 0o640),
        Entry::Dir("usr/local/bin"),
        Entry::File("usr/local/bin/escalate", b"#!/bin/sh\n", 0o4755),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("rootfs.tar");
    std::fs::write(&tar, &rootfs).unwrap();
    let tag = format!("ferry-scan-test/imagelint:{}", std::process::id());
    let status = std::process::Command::new("docker")
        .args(["import", "--change", "ENV DB_PASSWORD=s3cret"])
        .arg(&tar)
        .arg(&tag)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("docker CLI is installed");
    assert!(
        status.success(),
        "docker import failed: is the Docker Engine running?"
    );
    let out = tmp.path().join("report.json");
    let code = cli::run(vec![
        "--docker".into(),
        tag.clone().into(),
        "-f".into(),
        "json".into(),
        "-o".into(),
        out.clone().into_os_string(),
        "--exit-code".into(),
        "3".into(),
    ]);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    assert_eq!(code, 3);
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let detail = |code: &str| {
        json["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} missing from {json:#}"))
    };
    assert_eq!(
        detail("DKL-LI-0001")["alerts"],
        json!(["No password user found! username : root"])
    );
    assert_eq!(detail("DKL-LI-0001")["level"], "FATAL");
    assert_eq!(
        detail("CIS-DI-0008")["alerts"],
        json!(["setuid file: urwxr-xr-x usr/local/bin/escalate"])
    );
    assert_eq!(detail("CIS-DI-0001")["level"], "WARN");
    assert_eq!(detail("CIS-DI-0010")["level"], "FATAL");
    // A tagged name is not `latest`.
    assert!(json["details"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["code"] != "DKL-DI-0006"));
}

#[test]
fn a_stored_report_relints_for_other_host_options_as_a_fresh_lint_would() {
    // A FATAL finding, a SKIP note (no /etc/group) and config findings to carry over.
    let mut files = good_files();
    files[3] = Entry::File("etc/shadow", b"root::19000:0:99999:7:::\n", 0o640);
    files.retain(|f| !matches!(f, Entry::File("etc/group", _, _)));
    let config = with_history(&["/bin/sh -c apt-get update"]);
    let stored = lint_with(&files, config.clone(), &trusted());
    assert_eq!(level(&stored, "DKL-LI-0001"), Level::Fatal);
    assert!(stored.checks.iter().any(|c| c.level == Level::Skip));
    for options in [
        trusted(),
        ImageLintOptions::default(),
        ImageLintOptions {
            reference: Some("localhost:7070/shop/web:latest".into()),
            ..ImageLintOptions::default()
        },
        ImageLintOptions {
            reference: Some("localhost:7070/shop/web:1".into()),
            ..trusted()
        },
        ImageLintOptions {
            reference: Some("localhost:7070/shop/web".into()),
            ignore: vec!["DKL-LI-0001".into(), "DKL-DI-0006".into()],
            ..ImageLintOptions::default()
        },
    ] {
        let mut fresh = lint_with(&files, config.clone(), &options);
        // Each lint opens its own temporary archive: only the name differs.
        fresh.image = stored.image.clone();
        assert_eq!(relint_for(&stored, &options), fresh, "{options:?}");
    }
}
