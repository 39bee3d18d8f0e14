//! Opening images from a registry's blob store on disk (`blobs/<alg>/<hex[..2]>/<hex>`):
//! OCI manifests, Docker schema 2 manifests, indexes (this platform's child), and
//! artifacts that are refused.

use std::path::Path;

use super::{config_json, gzip, sha, LayerBuilder};
use crate::image::oci::host_architecture;
use crate::image::{Image, ImageError, ImageFs, ImageSource};

/// Writes `bytes` where ferry's registry keeps them; returns the digest.
fn put(root: &Path, bytes: &[u8]) -> String {
    let digest = sha(bytes);
    let hex = &digest[7..];
    let path = root.join("blobs/sha256").join(&hex[..2]).join(hex);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    digest
}

/// A one-layer image holding `marker` at /etc/marker; returns the manifest digest and
/// its size.
fn image(root: &Path, marker: &str, docker: bool) -> (String, usize) {
    let layer = LayerBuilder::new()
        .file("etc/marker", marker.as_bytes())
        .finish();
    let compressed = gzip(&layer);
    let config = config_json(&[sha(&layer)]);
    let config_digest = put(root, &config);
    let layer_digest = put(root, &compressed);
    let (manifest_type, config_type, layer_type) = if docker {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    } else {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": compressed.len()}]
    }))
    .unwrap();
    (put(root, &manifest), manifest.len())
}

fn open(root: &Path, digest: &str) -> Result<Image, ImageError> {
    Image::open_local(&ImageSource::BlobStore {
        root: root.to_path_buf(),
        manifest_digest: digest.to_string(),
        name: Some("localhost:7070/shop/web:1".into()),
    })
}

fn marker(image: Image) -> String {
    let fs = ImageFs::from_image(image).unwrap();
    String::from_utf8(fs.read("/etc/marker").unwrap()).unwrap()
}

#[test]
fn oci_and_docker_manifests_open_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    for docker in [false, true] {
        let (digest, _) = image(tmp.path(), if docker { "docker" } else { "oci" }, docker);
        let image = open(tmp.path(), &digest).unwrap();
        assert_eq!(image.name, "localhost:7070/shop/web:1");
        assert_eq!(image.manifest_digest.as_deref(), Some(digest.as_str()));
        assert!(image
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("sha256:")));
        assert_eq!(image.layers.len(), 1);
        // The layer is read from its blob file, not copied anywhere.
        let hex = &image.layers[0].digest[7..];
        assert_eq!(
            image.data[0].describe(),
            tmp.path()
                .join("blobs/sha256")
                .join(&hex[..2])
                .join(hex)
                .display()
                .to_string()
        );
        assert!(image._scratch.is_none());
        assert_eq!(marker(image), if docker { "docker" } else { "oci" });
    }
}

#[test]
fn an_index_opens_this_platforms_child() {
    let tmp = tempfile::tempdir().unwrap();
    let (other, other_size) = image(tmp.path(), "other platform", false);
    let (mine, mine_size) = image(tmp.path(), "this platform", true);
    let other_arch = if host_architecture() == "s390x" {
        "amd64"
    } else {
        "s390x"
    };
    for media in [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ] {
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media,
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": other,
                 "size": other_size, "platform": {"architecture": other_arch, "os": "linux"}},
                {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": mine,
                 "size": mine_size, "platform": {"architecture": host_architecture(), "os": "linux"}}
            ]
        }))
        .unwrap();
        let index_digest = put(tmp.path(), &index);
        let image = open(tmp.path(), &index_digest).unwrap();
        assert_eq!(image.manifest_digest.as_deref(), Some(mine.as_str()));
        assert_eq!(marker(image), "this platform");
    }
}

#[test]
fn artifacts_missing_blobs_and_tampered_manifests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // An SBOM attached as a referrer is not an image.
    let empty = put(tmp.path(), b"{}");
    let sbom = put(tmp.path(), br#"{"bomFormat":"CycloneDX"}"#);
    let artifact = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.cyclonedx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.cyclonedx+json", "digest": sbom, "size": 24}]
    }))
    .unwrap();
    let artifact = put(tmp.path(), &artifact);
    let err = open(tmp.path(), &artifact).unwrap_err();
    assert!(
        err.to_string().contains("is not a container image"),
        "{err}"
    );

    let missing = format!("sha256:{}", "0".repeat(64));
    assert!(matches!(
        open(tmp.path(), &missing),
        Err(ImageError::Io { .. })
    ));
    assert!(open(tmp.path(), "sha256:../../../etc/passwd").is_err());

    // Content that does not match its digest is refused.
    let (digest, _) = image(tmp.path(), "x", false);
    let hex = &digest[7..];
    let path = tmp.path().join("blobs/sha256").join(&hex[..2]).join(hex);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(b' ');
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        open(tmp.path(), &digest),
        Err(ImageError::Digest { .. })
    ));
}
