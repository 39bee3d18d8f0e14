//! Image access tests: fixtures (layers, docker archives, OCI layouts) are built at run
//! time with the tar crate, in temp dirs.

use ferry_testenv::Need;
use std::io::Write as _;
use std::path::Path;

use super::*;

/// Builds layer tars member by member, including names `tar::Builder` would refuse.
pub(crate) struct LayerBuilder {
    builder: tar::Builder<Vec<u8>>,
}

impl LayerBuilder {
    pub(crate) fn new() -> Self {
        LayerBuilder {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(name: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        // Written raw so that hostile names (`../x`) reach the archive unchanged.
        let gnu = h.as_gnu_mut().expect("gnu header");
        let bytes = name.as_bytes();
        assert!(bytes.len() < 100, "test names stay short");
        gnu.name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        h
    }

    pub(crate) fn file(mut self, name: &str, content: &[u8]) -> Self {
        let h = Self::header(name, tar::EntryType::Regular, content.len() as u64, 0o644);
        self.builder.append(&h, content).unwrap();
        self
    }

    #[allow(dead_code)] // used by the inventory tests
    pub(crate) fn exec(mut self, name: &str, content: &[u8]) -> Self {
        let h = Self::header(name, tar::EntryType::Regular, content.len() as u64, 0o755);
        self.builder.append(&h, content).unwrap();
        self
    }

    pub(crate) fn dir(mut self, name: &str) -> Self {
        let h = Self::header(name, tar::EntryType::Directory, 0, 0o755);
        self.builder.append(&h, std::io::empty()).unwrap();
        self
    }

    pub(crate) fn link(mut self, kind: tar::EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(name, kind, 0, 0o777);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        self.builder.append(&h, std::io::empty()).unwrap();
        self
    }

    pub(crate) fn symlink(self, name: &str, target: &str) -> Self {
        self.link(tar::EntryType::Symlink, name, target)
    }

    /// A GNU sparse member of `real_size` bytes that stores only 512 bytes.
    pub(crate) fn sparse_bomb(mut self, name: &str, real_size: u64) -> Self {
        let mut h = Self::header(name, tar::EntryType::GNUSparse, 512, 0o644);
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.set_real_size(real_size);
            gnu.sparse[0].set_offset(real_size - 512);
            gnu.sparse[0].set_length(512);
        }
        h.set_cksum();
        self.builder.append(&h, &[7u8; 512][..]).unwrap();
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    sha256_digest(bytes)
}

pub(crate) fn config_json(diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "User": "app",
            "Env": ["PATH=/usr/bin", "SECRET_KEY=x"],
            "Cmd": ["/bin/sh"],
            "Labels": {"maintainer": "ferry"},
            "ExposedPorts": {"8080/tcp": {}},
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5000000000u64}
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": "ADD rootfs /"},
            {"created_by": "ENV A=b", "empty_layer": true},
            {"created_by": "RUN install"}
        ]
    }))
    .unwrap()
}

/// Writes a `docker save`-style archive with uncompressed layers.
pub(crate) fn docker_archive(dir: &Path, layers: &[Vec<u8>]) -> std::path::PathBuf {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = config_json(&diff_ids);
    let mut outer = tar::Builder::new(Vec::new());
    let mut layer_names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        append(&mut outer, &name, layer);
        layer_names.push(name);
    }
    let config_name = format!("{}.json", &sha(&config)[7..]);
    append(&mut outer, &config_name, &config);
    let manifest = serde_json::json!([{ "Config": config_name, "RepoTags": ["test/app:1"], "Layers": layer_names }]);
    append(&mut outer, "manifest.json", manifest.to_string().as_bytes());
    let path = dir.join("image.tar");
    std::fs::write(&path, outer.into_inner().unwrap()).unwrap();
    path
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, data).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha(bytes);
    let p = dir.join("blobs/sha256").join(&digest[7..]);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
    digest
}

/// Writes an OCI layout; each layer is stored as given (already compressed or not).
pub(crate) fn oci_layout(dir: &Path, stored: &[(Vec<u8>, Vec<u8>, &str)]) {
    let diff_ids: Vec<String> = stored.iter().map(|(plain, _, _)| sha(plain)).collect();
    let config = config_json(&diff_ids);
    let config_digest = write_blob(dir, &config);
    let layers: Vec<serde_json::Value> = stored
        .iter()
        .map(|(_, blob, media)| {
            let d = write_blob(dir, blob);
            serde_json::json!({"mediaType": media, "digest": d, "size": blob.len()})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers
    });
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = write_blob(dir, &manifest_bytes);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}
        }]
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn open_archive(layers: &[Vec<u8>]) -> (tempfile::TempDir, ImageFs) {
    let tmp = tempfile::tempdir().unwrap();
    let path = docker_archive(tmp.path(), layers);
    let image = Image::open_local(&ImageSource::DockerArchive(path)).unwrap();
    let fs = ImageFs::from_image(image).unwrap();
    (tmp, fs)
}

#[test]
fn docker_archive_config_and_layers() {
    let l1 = LayerBuilder::new()
        .dir("etc/")
        .file("etc/os-release", b"ID=debian\n")
        .finish();
    let l2 = LayerBuilder::new().file("app/main", b"hi").finish();
    let (_tmp, fs) = open_archive(&[l1.clone(), l2.clone()]);
    let image = fs.image();
    assert_eq!(image.layers.len(), 2);
    assert_eq!(image.layers[0].diff_id.as_deref(), Some(sha(&l1).as_str()));
    assert_eq!(image.layers[1].created_by.as_deref(), Some("RUN install"));
    assert_eq!(image.repo_tags, vec!["test/app:1".to_string()]);
    let runtime = image.config.runtime();
    assert_eq!(runtime.user.as_deref(), Some("app"));
    assert_eq!(
        runtime.labels.get("maintainer").map(String::as_str),
        Some("ferry")
    );
    assert!(runtime.exposed_ports.contains_key("8080/tcp"));
    assert_eq!(runtime.healthcheck.unwrap().test.unwrap()[0], "CMD");
    assert_eq!(fs.read("/etc/os-release").unwrap(), b"ID=debian\n");
    assert_eq!(fs.read("app/main").unwrap(), b"hi");
    assert_eq!(fs.layer_of("/app/main").unwrap().diff_id, Some(sha(&l2)));
    assert!(fs.warnings().is_empty(), "{:?}", fs.warnings());
}

#[test]
fn whiteouts_and_opaque_dirs_hide_lower_layers() {
    let l1 = LayerBuilder::new()
        .file("a/x", b"x")
        .file("a/y", b"y")
        .file("b/z", b"z")
        .file("c/q", b"q")
        .file("d/keep", b"k")
        .finish();
    let l2 = LayerBuilder::new()
        .file("a/.wh.x", b"")
        .file("b/new", b"n")
        .file("b/.wh..wh..opq", b"")
        .file("c", b"now a file")
        .file(".wh.d", b"")
        .finish();
    let (_tmp, fs) = open_archive(&[l1, l2]);
    assert!(fs.get("/a/x").is_none());
    assert!(fs.get("/a/y").is_some());
    assert!(fs.get("/b/z").is_none(), "opaque dir hides lower children");
    assert_eq!(
        fs.read("/b/new").unwrap(),
        b"n",
        "same-layer entries survive the opaque marker"
    );
    assert_eq!(fs.get("/c").unwrap().kind, NodeKind::File);
    assert!(fs.get("/c/q").is_none());
    assert!(fs.get("/d/keep").is_none());
    assert_eq!(fs.get("/b/new").unwrap().layer, 1);
    assert_eq!(fs.get("/a/y").unwrap().layer, 0);
    let children: Vec<&str> = fs.read_dir("/a").map(|(p, _)| p).collect();
    assert_eq!(children, vec!["/a/y"]);
}

#[test]
fn path_traversal_member_is_reported_and_skipped() {
    let outside = tempfile::tempdir().unwrap();
    let layer = LayerBuilder::new()
        .file("../../etc/x", b"evil")
        .file("ok/../../../y", b"evil")
        .file("etc/real", b"fine")
        .finish();
    let (tmp, fs) = open_archive(&[layer]);
    assert!(fs.get("/etc/x").is_none());
    assert!(fs.entries().all(|(p, _)| !p.contains("..")));
    let w = fs.warnings().join("\n");
    assert!(
        w.contains("../../etc/x") && w.contains("climbs above the image root"),
        "{w}"
    );
    assert_eq!(fs.read("/etc/real").unwrap(), b"fine");
    // Nothing was written next to the archive or anywhere we can see.
    let written: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(written.len(), 1, "only the archive itself");
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[test]
fn symlinks_pointing_outside_stay_inside_the_root() {
    let layer = LayerBuilder::new()
        .file("etc/passwd", b"root:x:0:0:image\n")
        .symlink("app/evil", "../../../../../etc/passwd")
        .symlink("app/abs", "/etc/passwd")
        .symlink("app/shadow", "/etc/shadow")
        .symlink("loop/a", "b")
        .symlink("loop/b", "a")
        .symlink("lib", "usr/lib")
        .file("usr/lib/libc.so", b"libc")
        .finish();
    let (_tmp, fs) = open_archive(&[layer]);
    assert_eq!(
        fs.read("/app/evil").unwrap(),
        b"root:x:0:0:image\n",
        "the image's file, not the host's"
    );
    assert_eq!(fs.read("/app/abs").unwrap(), b"root:x:0:0:image\n");
    assert!(
        matches!(fs.read("/app/shadow"), Err(ImageError::NotFound { .. })),
        "host /etc/shadow is never read"
    );
    assert!(matches!(fs.read("/loop/a"), Err(ImageError::Path { .. })));
    assert_eq!(fs.read("/lib/libc.so").unwrap(), b"libc");
    assert_eq!(fs.resolve("/lib/../etc/passwd").unwrap(), "/usr/etc/passwd");
    let w = fs.warnings().join("\n");
    assert!(
        w.contains("/app/evil") && w.contains("outside the image root"),
        "{w}"
    );
}

#[test]
fn sparse_tar_bomb_is_not_read_into_memory() {
    let layer = LayerBuilder::new()
        .sparse_bomb("var/lib/dpkg/status", 1 << 40)
        .file("etc/ok", b"ok")
        .finish();
    assert!(layer.len() < 64 * 1024);
    let (_tmp, fs) = open_archive(std::slice::from_ref(&layer));
    assert_eq!(fs.get("/var/lib/dpkg/status").unwrap().size, 1 << 40);
    match fs.read("/var/lib/dpkg/status") {
        Err(ImageError::TooLarge { size, limit, .. }) => {
            assert_eq!(size, 1 << 40);
            assert_eq!(limit, DEFAULT_MAX_READ);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(fs.read("/etc/ok").unwrap(), b"ok");
    // Also through a compressed (streamed) layer.
    let tmp = tempfile::tempdir().unwrap();
    oci_layout(
        tmp.path(),
        &[(
            layer.clone(),
            gzip(&layer),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )],
    );
    let image = Image::open_local(&ImageSource::OciLayout {
        dir: tmp.path().to_path_buf(),
        reference: None,
    })
    .unwrap();
    let fs = ImageFs::from_image(image).unwrap();
    assert!(matches!(
        fs.read("/var/lib/dpkg/status"),
        Err(ImageError::TooLarge { .. })
    ));
    // A small sparse file inside the limit reads back with its holes.
    let small = LayerBuilder::new().sparse_bomb("holes", 4096).finish();
    let (_tmp2, fs) = open_archive(&[small]);
    let bytes = fs.read("/holes").unwrap();
    assert_eq!(bytes.len(), 4096);
    assert!(bytes[..3584].iter().all(|b| *b == 0) && bytes[3584..].iter().all(|b| *b == 7));
}

#[test]
fn hard_links_resolve_or_warn() {
    let layer = LayerBuilder::new()
        .file("usr/bin/perl5.36", b"perl")
        .link(tar::EntryType::Link, "usr/bin/perl", "usr/bin/perl5.36")
        .link(tar::EntryType::Link, "usr/bin/ghost", "usr/bin/missing")
        .link(tar::EntryType::Link, "usr/bin/out", "../../../etc/shadow")
        .finish();
    let (_tmp, fs) = open_archive(&[layer]);
    assert_eq!(fs.read("/usr/bin/perl").unwrap(), b"perl");
    assert!(fs.get("/usr/bin/ghost").is_none());
    assert!(fs.get("/usr/bin/out").is_none());
    let w = fs.warnings().join("\n");
    assert!(
        w.contains("usr/bin/ghost") && w.contains("target missing"),
        "{w}"
    );
    assert!(w.contains("usr/bin/out"), "{w}");
}

#[test]
fn oci_layout_with_gzip_zstd_and_plain_layers() {
    let l1 = LayerBuilder::new()
        .file("etc/one", b"1")
        .file("etc/gone", b"g")
        .finish();
    let l2 = LayerBuilder::new()
        .file("etc/two", b"2")
        .file("etc/.wh.gone", b"")
        .finish();
    let l3 = LayerBuilder::new().file("etc/three", b"3").finish();
    let zstd =
        ruzstd::encoding::compress_to_vec(&l2[..], ruzstd::encoding::CompressionLevel::Fastest);
    let tmp = tempfile::tempdir().unwrap();
    oci_layout(
        tmp.path(),
        &[
            (
                l1.clone(),
                gzip(&l1),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            (
                l2.clone(),
                zstd,
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            (
                l3.clone(),
                l3.clone(),
                "application/vnd.oci.image.layer.v1.tar",
            ),
        ],
    );
    let image = Image::open_local(&ImageSource::OciLayout {
        dir: tmp.path().to_path_buf(),
        reference: Some("v1".into()),
    })
    .unwrap();
    assert_eq!(image.layers[1].diff_id, Some(sha(&l2)));
    assert!(image.manifest_digest.is_some());
    let fs = ImageFs::from_image(image).unwrap();
    assert_eq!(fs.read("/etc/one").unwrap(), b"1");
    assert_eq!(fs.read("/etc/two").unwrap(), b"2");
    assert_eq!(fs.read("/etc/three").unwrap(), b"3");
    assert!(fs.get("/etc/gone").is_none());
    // Several files from one compressed layer in one pass.
    let mut seen = Vec::new();
    let errors = fs.visit(&["/etc/one", "/etc/two", "/etc/nope"], 1024, &mut |p, r| {
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        seen.push((p.to_string(), s));
    });
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("/etc/one".into(), "1".into()),
            ("/etc/two".into(), "2".into())
        ]
    );
    assert_eq!(errors.len(), 1);
    let err = Image::open_local(&ImageSource::OciLayout {
        dir: tmp.path().to_path_buf(),
        reference: Some("nope".into()),
    })
    .unwrap_err();
    assert!(err.to_string().contains("no manifest named nope"), "{err}");
}

#[test]
fn gzipped_docker_archive_opens() {
    let l1 = LayerBuilder::new().file("hello", b"world").finish();
    let tmp = tempfile::tempdir().unwrap();
    let plain = docker_archive(tmp.path(), &[l1]);
    let gz = tmp.path().join("image.tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&plain).unwrap())).unwrap();
    let fs =
        ImageFs::from_image(Image::open_local(&ImageSource::DockerArchive(gz)).unwrap()).unwrap();
    assert_eq!(fs.read("/hello").unwrap(), b"world");
}

#[test]
fn rootfs_directory_never_follows_host_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=alpine\n").unwrap();
    let secret = tmp.path().join("host-secret");
    std::fs::write(&secret, "host").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("etc/abs")).unwrap();
    std::os::unix::fs::symlink("../../host-secret", root.join("etc/rel")).unwrap();
    let fs = ImageFs::from_image(Image::open_local(&ImageSource::Rootfs(root)).unwrap()).unwrap();
    assert_eq!(fs.read("/etc/os-release").unwrap(), b"ID=alpine\n");
    assert!(
        fs.read("/etc/abs").is_err(),
        "absolute host path is looked up inside the root"
    );
    assert!(fs.read("/etc/rel").is_err());
    assert!(
        fs.warnings().iter().any(|w| w.contains("/etc/rel")),
        "{:?}",
        fs.warnings()
    );
    assert_eq!(fs.image().layers[0].id(), None);
}

#[test]
fn bad_archives_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.tar");
    std::fs::write(&p, b"not a tar at all").unwrap();
    let err = Image::open_local(&ImageSource::DockerArchive(p.clone())).unwrap_err();
    assert!(err.to_string().contains("x.tar"), "{err}");
    let err = Image::open_local(&ImageSource::OciLayout {
        dir: tmp.path().to_path_buf(),
        reference: None,
    })
    .unwrap_err();
    assert!(err.to_string().contains("index.json"), "{err}");
    // A digest that would climb out of blobs/ is refused.
    std::fs::write(
        tmp.path().join("index.json"),
        r#"{"manifests":[{"digest":"sha256:../../../../etc/passwd","size":1}]}"#,
    )
    .unwrap();
    let err = Image::open_local(&ImageSource::OciLayout {
        dir: tmp.path().to_path_buf(),
        reference: None,
    })
    .unwrap_err();
    assert!(err.to_string().contains("invalid digest"), "{err}");
}

/// A tiny xorshift generator: deterministic "random" input without a dependency.
pub(crate) struct Rng(u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_and_mutated_layers_never_panic() {
    let base = LayerBuilder::new()
        .dir("etc/")
        .file("etc/os-release", b"ID=debian\nVERSION_ID=12\n")
        .symlink("etc/link", "../os-release")
        .link(tar::EntryType::Link, "etc/hard", "etc/os-release")
        .file("a/.wh..wh..opq", b"")
        .sparse_bomb("big", 1 << 30)
        .finish();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let mut layer = if round % 3 == 0 {
            (0..(rng.next() % 4096))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>()
        } else {
            base.clone()
        };
        let flips = 1 + rng.next() % 16;
        for _ in 0..flips {
            if layer.is_empty() {
                break;
            }
            let i = (rng.next() as usize) % layer.len();
            layer[i] = rng.next() as u8;
        }
        if round % 5 == 0 {
            let cut = (rng.next() as usize) % layer.len().max(1);
            layer.truncate(cut);
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = docker_archive(tmp.path(), &[layer.clone()]);
        if let Ok(image) = Image::open_local(&ImageSource::DockerArchive(path)) {
            if let Ok(fs) = ImageFs::from_image(image) {
                let paths: Vec<String> = fs.entries().map(|(p, _)| p.to_string()).collect();
                for p in paths {
                    let _ = fs.read_limited(&p, 1 << 20);
                }
            }
        }
        // The same bytes as a gzip layer in an OCI layout (the streaming path).
        let tmp = tempfile::tempdir().unwrap();
        oci_layout(
            tmp.path(),
            &[(
                layer.clone(),
                gzip(&layer),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )],
        );
        if let Ok(image) = Image::open_local(&ImageSource::OciLayout {
            dir: tmp.path().to_path_buf(),
            reference: None,
        }) {
            if let Ok(fs) = ImageFs::from_image(image) {
                let paths: Vec<String> = fs.entries().map(|(p, _)| p.to_string()).collect();
                let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                let _ = fs.visit(&refs, 1 << 20, &mut |_, r| {
                    let _ = std::io::copy(r, &mut std::io::sink());
                });
            }
        }
    }
}

#[test]
fn entry_limit_stops_indexing_with_a_warning() {
    let mut b = LayerBuilder::new();
    for i in 0..50 {
        b = b.file(&format!("f{i}"), b"");
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = docker_archive(tmp.path(), &[b.finish()]);
    let image = Image::open_local(&ImageSource::DockerArchive(path)).unwrap();
    let fs = ImageFs::open(
        image,
        FsOptions {
            max_read: 1024,
            max_entries: 10,
        },
    )
    .unwrap();
    assert!(fs.len() <= 10);
    assert!(
        fs.warnings().iter().any(|w| w.contains("more than 10")),
        "{:?}",
        fs.warnings()
    );
}

mod blob_store;
mod registry_server;

/// Imports a one-layer image into the local engine and reads it back through the
/// Engine API export. Needs a Docker Engine (see ferry-testenv).
#[tokio::test]
async fn needs_docker_engine_export() {
    ferry_testenv::require!(Need::DockerEngine);
    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\nVERSION_ID=12\n")
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("rootfs.tar");
    std::fs::write(&tar, &layer).unwrap();
    let tag = format!("ferry-scan-test/export:{}", std::process::id());
    let status = std::process::Command::new("docker")
        .args(["import", "--change", "USER nobody"])
        .arg(&tar)
        .arg(&tag)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("docker CLI is installed");
    assert!(
        status.success(),
        "docker import failed: is the Docker Engine running?"
    );
    let result = Image::fetch(
        &ImageSource::Docker(tag.clone()),
        &RegistryOptions::default(),
    )
    .await;
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    let image = result.unwrap();
    assert_eq!(image.name, tag);
    assert!(image.id.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(image.config.runtime().user.as_deref(), Some("nobody"));
    let fs = tokio::task::spawn_blocking(move || ImageFs::from_image(image).unwrap())
        .await
        .unwrap();
    assert_eq!(
        fs.read("/etc/os-release").unwrap(),
        b"ID=debian\nVERSION_ID=12\n"
    );
    assert!(fs.image().layers[0].diff_id.is_some());
}

/// Kills the registry child process when the test ends, pass or fail.
struct ChildGuard(std::process::Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pushes an imported image with skopeo to a Distribution registry (Debian's
/// `docker-registry`) on 127.0.0.1 and pulls it back by tag and by digest. Needs the
/// Docker Engine, `docker-registry` and `skopeo` (see ferry-testenv).
#[tokio::test]
async fn needs_docker_distribution_registry_pull() {
    ferry_testenv::require!(Need::DockerEngine, Need::Skopeo, Need::DockerRegistry);
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = tmp.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            tmp.path().join("data").display()
        ),
    )
    .unwrap();
    let _registry = ChildGuard(
        std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry is installed (Debian package docker-registry)"),
    );
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "docker-registry did not listen on 127.0.0.1:{port}");

    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\nVERSION_ID=12\n")
        .finish();
    let tar = tmp.path().join("rootfs.tar");
    std::fs::write(&tar, &layer).unwrap();
    let tag = format!("ferry-scan-test/registry:{}", std::process::id());
    let status = std::process::Command::new("docker")
        .arg("import")
        .arg(&tar)
        .arg(&tag)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("docker CLI is installed");
    assert!(
        status.success(),
        "docker import failed: is the Docker Engine running?"
    );
    let pushed = std::process::Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("docker-daemon:{tag}"))
        .arg(format!("docker://127.0.0.1:{port}/ferry/test:1"))
        .output()
        .expect("skopeo is installed");
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    assert!(
        pushed.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );

    let by_tag = Image::fetch(
        &ImageSource::Registry(format!("127.0.0.1:{port}/ferry/test:1")),
        &RegistryOptions::default(),
    )
    .await
    .unwrap();
    let digest = by_tag.manifest_digest.clone().unwrap();
    let fs = tokio::task::spawn_blocking(move || ImageFs::from_image(by_tag).unwrap())
        .await
        .unwrap();
    assert_eq!(
        fs.read("/etc/os-release").unwrap(),
        b"ID=debian\nVERSION_ID=12\n"
    );
    let by_digest = Image::fetch(
        &ImageSource::Registry(format!("127.0.0.1:{port}/ferry/test@{digest}")),
        &RegistryOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(by_digest.manifest_digest.as_deref(), Some(digest.as_str()));
    let missing = Image::fetch(
        &ImageSource::Registry(format!("127.0.0.1:{port}/ferry/test:nope")),
        &RegistryOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(missing.to_string().contains("manifest nope"), "{missing}");
}
