//! Content-addressed blob directories: where a digest's bytes live in an OCI image
//! layout (`blobs/<alg>/<hex>`) or in a registry's store (`blobs/<alg>/<hex[..2]>/<hex>`,
//! ferry's registry and Distribution's), so one opener serves both.

use std::path::{Path, PathBuf};

use super::{split_digest, ImageError};

/// How blobs are laid out under the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobLayout {
    /// `blobs/<alg>/<hex>`: an OCI image layout.
    Flat,
    /// `blobs/<alg>/<hex[..2]>/<hex>`: ferry's registry (and Distribution's).
    Sharded,
}

/// A directory of blobs named by digest. Reading never needs more than the file a
/// digest names: layers are streamed from their blob files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobStore {
    root: PathBuf,
    layout: BlobLayout,
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>, layout: BlobLayout) -> BlobStore {
        BlobStore {
            root: root.into(),
            layout,
        }
    }

    /// The blobs of an OCI image layout at `dir`.
    pub fn oci_layout(dir: impl Into<PathBuf>) -> BlobStore {
        BlobStore::new(dir, BlobLayout::Flat)
    }

    /// The blobs of a registry store rooted at `root` (the directory holding `blobs/`).
    pub fn registry(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore::new(root, BlobLayout::Sharded)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding `digest`, refusing digests that are not plain `alg:hex` (so a
    /// digest from a manifest can never name a path outside the store).
    pub fn path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        let (alg, hex) = split_digest(digest).ok_or_else(|| {
            ImageError::format(
                self.root.display().to_string(),
                format!("invalid digest {digest:?}"),
            )
        })?;
        let dir = self.root.join("blobs").join(alg);
        Ok(match self.layout {
            BlobLayout::Flat => dir.join(hex),
            BlobLayout::Sharded => dir.join(&hex[..2]).join(hex),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_layout_and_refuse_bad_digests() {
        let hex = "ab".repeat(32);
        let digest = format!("sha256:{hex}");
        let flat = BlobStore::oci_layout("/l");
        assert_eq!(
            flat.path(&digest).unwrap(),
            PathBuf::from(format!("/l/blobs/sha256/{hex}"))
        );
        let sharded = BlobStore::registry("/r");
        assert_eq!(
            sharded.path(&digest).unwrap(),
            PathBuf::from(format!("/r/blobs/sha256/ab/{hex}"))
        );
        for bad in ["sha256:../../etc", "sha256", "SHA256:abc", "sha256:ABCD"] {
            assert!(sharded.path(bad).is_err(), "{bad}");
        }
    }
}
