//! OCI image layouts and registry stores: `index.json` (layouts) or a manifest digest
//! (stores) → (nested index →) manifest → config + layer blobs, found through a
//! [`BlobStore`]. Layers may be gzip, zstd or uncompressed tars and are streamed from
//! their blob files. Registry pulls land in a layout and go through [`from_manifest`].

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::blob::LayerData;
use super::store::BlobStore;
use super::{attach_history, Image, ImageConfig, ImageError, Layer};

pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Config media types of container images; any other names an artifact (an SBOM, a
/// signature, a Helm chart…), which is not opened as an image.
pub const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const MAX_JSON: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// Opens the image in an OCI layout, picking `reference` (a ref name or digest).
pub fn open(dir: &Path, reference: Option<&str>) -> Result<Image, ImageError> {
    let index_path = dir.join("index.json");
    let bytes = read_json_file(&index_path)?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
        ImageError::format(
            index_path.display().to_string(),
            format!("invalid index: {e}"),
        )
    })?;
    let chosen = choose(
        &index.manifests,
        reference,
        &index_path.display().to_string(),
    )?;
    let name = match reference {
        Some(r) => format!("{}:{r}", dir.display()),
        None => dir.display().to_string(),
    };
    open_descriptor(&BlobStore::oci_layout(dir), &chosen, name, None, 0)
}

/// Opens the image a manifest (or index: this platform's child) names in a blob store,
/// such as ferry's registry on disk. Nothing is copied: layers are read in place.
pub fn open_store(
    store: &BlobStore,
    manifest_digest: &str,
    name: String,
) -> Result<Image, ImageError> {
    let desc = Descriptor {
        media_type: None,
        digest: manifest_digest.to_string(),
        size: None,
        platform: None,
        annotations: None,
    };
    open_descriptor(store, &desc, name, None, 0)
}

/// Follows a descriptor that may be an index (choose a platform) or a manifest.
pub fn open_descriptor(
    store: &BlobStore,
    desc: &Descriptor,
    name: String,
    scratch: Option<Arc<tempfile::TempDir>>,
    depth: usize,
) -> Result<Image, ImageError> {
    if depth > 4 {
        return Err(ImageError::format(name, "indexes nested too deeply"));
    }
    let bytes = read_blob(store, &desc.digest)?;
    let media = desc
        .media_type
        .clone()
        .unwrap_or_else(|| sniff_media_type(&bytes));
    if media == MEDIA_OCI_INDEX || media == MEDIA_DOCKER_LIST {
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::format(desc.digest.clone(), format!("invalid index: {e}")))?;
        let next = choose(&index.manifests, None, &desc.digest)?;
        return open_descriptor(store, &next, name, scratch, depth + 1);
    }
    from_manifest(store, &desc.digest, &bytes, name, scratch)
}

/// Builds the image from manifest bytes whose blobs are in `store`. A manifest whose
/// config is not an image configuration (an artifact) is refused.
pub fn from_manifest(
    store: &BlobStore,
    manifest_digest: &str,
    bytes: &[u8],
    name: String,
    scratch: Option<Arc<tempfile::TempDir>>,
) -> Result<Image, ImageError> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| {
        ImageError::format(
            manifest_digest.to_string(),
            format!("invalid manifest: {e}"),
        )
    })?;
    if let Some(kind) = manifest
        .config
        .media_type
        .as_deref()
        .filter(|t| !IMAGE_CONFIG_TYPES.contains(t))
    {
        return Err(ImageError::Unsupported(format!(
            "{name}: manifest {manifest_digest} is not a container image (its config is {kind})"
        )));
    }
    let config_bytes = read_blob(store, &manifest.config.digest)?;
    let config = ImageConfig::parse(&config_bytes, &manifest.config.digest)?;
    let diff_ids = config.diff_ids().to_vec();
    let mut warnings = Vec::new();
    if diff_ids.len() != manifest.layers.len() {
        warnings.push(format!(
            "{name}: config lists {} diff_ids for {} layers",
            diff_ids.len(),
            manifest.layers.len()
        ));
    }
    let mut layers = Vec::new();
    let mut data = Vec::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        if let Some(m) = &desc.media_type {
            if !(m.contains("tar") || m.contains("layer")) {
                warnings.push(format!(
                    "{name}: layer {} has media type {m}; read as a tar",
                    i + 1
                ));
            }
            if m.contains("nondistributable") || m.contains("foreign") {
                warnings.push(format!("{name}: layer {} is foreign ({m})", i + 1));
            }
        }
        let file = store.path(&desc.digest)?;
        let len = std::fs::metadata(&file)
            .map_err(|e| ImageError::io(&file, e))?
            .len();
        layers.push(Layer {
            digest: desc.digest.clone(),
            diff_id: diff_ids.get(i).cloned(),
            media_type: desc.media_type.clone(),
            size: desc.size.or(Some(len)),
            created_by: None,
        });
        data.push(LayerData::Region {
            file,
            offset: 0,
            len,
        });
    }
    attach_history(&config, &mut layers);
    Ok(Image {
        name,
        id: Some(manifest.config.digest.clone()),
        manifest_digest: Some(manifest_digest.to_string()),
        repo_tags: Vec::new(),
        config,
        layers,
        warnings,
        data,
        _scratch: scratch,
    })
}

/// Picks a manifest: by ref name or digest when asked, else the only one, else the one
/// for this machine's platform (linux/amd64 on x86_64).
pub fn choose(
    manifests: &[Descriptor],
    reference: Option<&str>,
    what: &str,
) -> Result<Descriptor, ImageError> {
    if let Some(r) = reference {
        let found = manifests.iter().find(|d| {
            d.digest == r
                || d.annotations.as_ref().is_some_and(|a| {
                    a.get(REF_NAME).is_some_and(|n| n == r)
                        || a.get("io.containerd.image.name")
                            .is_some_and(|n| n == r || n.ends_with(&format!(":{r}")))
                })
        });
        return found
            .cloned()
            .ok_or_else(|| ImageError::format(what.to_string(), format!("no manifest named {r}")));
    }
    match manifests {
        [] => Err(ImageError::format(what.to_string(), "lists no manifest")),
        [only] => Ok(only.clone()),
        many => {
            let arch = host_architecture();
            many.iter()
                .find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == arch)
                })
                .or_else(|| many.iter().find(|d| d.platform.is_none()))
                .or_else(|| many.first())
                .cloned()
                .ok_or_else(|| ImageError::format(what.to_string(), "lists no manifest"))
        }
    }
}

/// GOARCH-style name of this machine's architecture.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Guesses a manifest's type when the descriptor does not say.
pub fn sniff_media_type(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(m) = value.get("mediaType").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    if value.get("manifests").is_some() {
        MEDIA_OCI_INDEX.to_string()
    } else {
        MEDIA_OCI_MANIFEST.to_string()
    }
}

/// Reads a small JSON blob and checks its sha256 digest.
pub fn read_blob(store: &BlobStore, digest: &str) -> Result<Vec<u8>, ImageError> {
    let path = store.path(digest)?;
    let bytes = read_json_file(&path)?;
    if digest.starts_with("sha256:") {
        let actual = super::sha256_digest(&bytes);
        if actual != digest {
            return Err(ImageError::Digest {
                what: path.display().to_string(),
                expected: digest.to_string(),
                actual,
            });
        }
    }
    Ok(bytes)
}

fn read_json_file(path: &Path) -> Result<Vec<u8>, ImageError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| ImageError::io(path, e))?;
    let mut buf = Vec::new();
    file.take(MAX_JSON + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::io(path, e))?;
    if buf.len() as u64 > MAX_JSON {
        return Err(ImageError::TooLarge {
            path: path.display().to_string(),
            size: buf.len() as u64,
            limit: MAX_JSON,
        });
    }
    Ok(buf)
}
