//! Image access: opens an image from a docker-archive tar, an OCI layout, a registry
//! (over HTTP, or its blob store on disk), the local Docker Engine or a plain directory,
//! and exposes one model ([`Image`]) plus
//! a merged, read-only filesystem view ([`ImageFs`]) that never extracts to disk.

mod archive;
mod blob;
pub mod config;
mod docker;
mod fs;
mod layer_tar;
mod oci;
mod path;
pub mod reference;
mod registry;
mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{HealthConfig, HistoryEntry, ImageConfig, RootFs, RuntimeConfig};
pub use fs::{FsOptions, ImageFs, Node, NodeKind, DEFAULT_MAX_READ};
pub use oci::IMAGE_CONFIG_TYPES;
pub use reference::Reference;
pub use registry::{docker_config_credentials, resolve_digest, RegistryOptions};
pub use store::{BlobLayout, BlobStore};

pub(crate) use blob::LayerData;

/// Where an image comes from; mirrors the CLI's input flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A `docker save` tar (optionally gzip-compressed).
    DockerArchive(PathBuf),
    /// An OCI image layout directory; `reference` picks a manifest by its
    /// `org.opencontainers.image.ref.name` annotation (or digest) when several exist.
    OciLayout {
        dir: PathBuf,
        reference: Option<String>,
    },
    /// A plain directory used as the root filesystem.
    Rootfs(PathBuf),
    /// An image in the local Docker Engine, by name or id.
    Docker(String),
    /// An image in an OCI-distribution registry: `host[:port]/repo[:tag][@digest]`.
    Registry(String),
    /// An image in a registry's blob store on disk (`root/blobs/<alg>/<hex[..2]>/<hex>`,
    /// ferry's registry), by the digest of its manifest or index (an index opens this
    /// machine's platform). `name` is how reports name it (`localhost:7070/shop/web:1`).
    BlobStore {
        root: PathBuf,
        manifest_digest: String,
        name: Option<String>,
    },
}

impl ImageSource {
    /// A short human name for reports and SBOM metadata.
    pub fn display_name(&self) -> String {
        match self {
            ImageSource::DockerArchive(p) | ImageSource::Rootfs(p) => p.display().to_string(),
            ImageSource::OciLayout { dir, reference } => match reference {
                Some(r) => format!("{}:{r}", dir.display()),
                None => dir.display().to_string(),
            },
            ImageSource::Docker(name) | ImageSource::Registry(name) => name.clone(),
            ImageSource::BlobStore {
                root,
                manifest_digest,
                name,
            } => name
                .clone()
                .unwrap_or_else(|| format!("{}@{manifest_digest}", root.display())),
        }
    }
}

/// One layer of an image, bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The digest that names the layer: the manifest's blob digest for OCI layouts and
    /// registries, the uncompressed `diff_id` for docker archives (whose layer files are
    /// uncompressed tars), empty for a plain directory.
    pub digest: String,
    /// `sha256:` of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    /// Size of the stored blob in bytes, when known.
    pub size: Option<u64>,
    /// The history step that produced the layer (`created_by`), when the history says.
    pub created_by: Option<String>,
}

impl Layer {
    /// The identifier packages record for this layer: the diff id (stable across
    /// compression, what Syft reports as `layerID`), else the blob digest.
    pub fn id(&self) -> Option<&str> {
        match (&self.diff_id, self.digest.is_empty()) {
            (Some(d), _) => Some(d),
            (None, false) => Some(&self.digest),
            (None, true) => None,
        }
    }
}

/// An opened image: its configuration and layers, ready for [`ImageFs::open`].
#[derive(Debug)]
pub struct Image {
    /// How the user named the image.
    pub name: String,
    /// `sha256:` digest of the config blob (the image id), when there is one.
    pub id: Option<String>,
    /// `sha256:` digest of the manifest, when it came from a registry or OCI layout.
    pub manifest_digest: Option<String>,
    pub repo_tags: Vec<String>,
    pub config: ImageConfig,
    pub layers: Vec<Layer>,
    /// Problems found while opening (unknown media types, count mismatches…).
    pub warnings: Vec<String>,
    pub(crate) data: Vec<LayerData>,
    /// Scratch space (Docker exports, registry blobs) removed when the image is dropped.
    pub(crate) _scratch: Option<Arc<tempfile::TempDir>>,
}

impl Image {
    /// Opens an image from a local source (archive, OCI layout, blob store, directory).
    /// Docker and registry sources need [`Image::fetch`] (async) or
    /// [`Image::open_blocking`].
    pub fn open_local(source: &ImageSource) -> Result<Image, ImageError> {
        match source {
            ImageSource::DockerArchive(p) => archive::open(p, None),
            ImageSource::OciLayout { dir, reference } => oci::open(dir, reference.as_deref()),
            ImageSource::Rootfs(dir) => open_rootfs(dir),
            ImageSource::BlobStore {
                root,
                manifest_digest,
                ..
            } => oci::open_store(
                &BlobStore::registry(root.clone()),
                manifest_digest,
                source.display_name(),
            ),
            ImageSource::Docker(_) | ImageSource::Registry(_) => Err(ImageError::Unsupported(
                "docker and registry images are opened with Image::fetch".into(),
            )),
        }
    }

    /// Opens any source; Docker exports and registry blobs go to a scratch directory
    /// that lives as long as the image.
    pub async fn fetch(
        source: &ImageSource,
        options: &RegistryOptions,
    ) -> Result<Image, ImageError> {
        match source {
            ImageSource::Docker(name) => docker::open(name).await,
            ImageSource::Registry(reference) => registry::pull(reference, options).await,
            local => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || Image::open_local(&local))
                    .await
                    .map_err(|e| ImageError::Unsupported(format!("open task failed: {e}")))?
            }
        }
    }

    /// [`Image::fetch`] for synchronous callers (the CLI); must not be called from
    /// inside an async runtime.
    pub fn open_blocking(
        source: &ImageSource,
        options: &RegistryOptions,
    ) -> Result<Image, ImageError> {
        match source {
            ImageSource::Docker(_) | ImageSource::Registry(_) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| ImageError::io("async runtime", e))?;
                runtime.block_on(Image::fetch(source, options))
            }
            local => Image::open_local(local),
        }
    }

    /// The layer a [`Node`] says introduced a path.
    pub fn layer(&self, index: usize) -> Option<&Layer> {
        self.layers.get(index)
    }
}

/// A directory as a one-layer image with an empty config.
fn open_rootfs(dir: &Path) -> Result<Image, ImageError> {
    let meta = std::fs::metadata(dir).map_err(|e| ImageError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(ImageError::Format {
            path: dir.display().to_string(),
            message: "not a directory".into(),
        });
    }
    Ok(Image {
        name: dir.display().to_string(),
        id: None,
        manifest_digest: None,
        repo_tags: Vec::new(),
        config: ImageConfig::default(),
        layers: vec![Layer {
            digest: String::new(),
            diff_id: None,
            media_type: None,
            size: None,
            created_by: None,
        }],
        warnings: Vec::new(),
        data: vec![LayerData::Dir(dir.to_path_buf())],
        _scratch: None,
    })
}

/// Pairs layers with the non-empty history steps, as `docker history` does.
pub(crate) fn attach_history(config: &ImageConfig, layers: &mut [Layer]) {
    let steps = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone());
    for (layer, created_by) in layers.iter_mut().zip(steps) {
        layer.created_by = created_by;
    }
}

/// Errors opening or reading an image. Each names the file, blob or path involved.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    #[error("{path}: not found in the image")]
    NotFound { path: String },
    #[error("{path}: {size} bytes is over the {limit}-byte read limit; not read")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: {message}")]
    Path { path: String, message: String },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    Digest {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    #[error("docker engine: {message}")]
    Docker { message: String },
    #[error("{0}")]
    Unsupported(String),
}

impl ImageError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> ImageError {
        ImageError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
    pub(crate) fn format(path: impl Into<String>, message: impl Into<String>) -> ImageError {
        ImageError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Checks a `sha256:<hex>` digest's shape so it can be used as a path component.
pub(crate) fn split_digest(digest: &str) -> Option<(&str, &str)> {
    let (alg, hex) = digest.split_once(':')?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let hex_ok = hex.len() >= 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    (alg_ok && hex_ok).then_some((alg, hex))
}

/// `sha256:` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
pub(crate) mod tests;
