//! The filesystem store: where each kind of object lives under the root, and the
//! file primitives (atomic writes, streamed appends, bounded listings) the blob,
//! upload, manifest, referrers and gc modules share.

pub mod artifacts;
pub(crate) mod blobs;
pub(crate) mod fsutil;
pub mod gc;
pub(crate) mod manifests;
pub(crate) mod referrers;
pub(crate) mod uploads;

use std::path::{Path, PathBuf};

use tokio::sync::{broadcast, RwLock};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::name::{RepositoryName, Tag};
use crate::{Limits, RegistryEvent};

pub use blobs::BlobContent;
pub use manifests::{PushedManifest, StoredManifest};
pub use referrers::ReferrersPage;

/// One page of a sorted listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<String>,
    /// Whether entries follow the last item (the caller sends a `Link`).
    pub more: bool,
}

pub(crate) struct Inner {
    pub(crate) paths: Paths,
    pub(crate) limits: Limits,
    pub(crate) uploads: uploads::Table,
    /// Writers that make content reachable (blob commit, mount, manifest put) hold it
    /// shared; gc holds it exclusively between mark and sweep, so nothing becomes
    /// reachable behind its back.
    pub(crate) gc_lock: RwLock<()>,
    pub(crate) events: broadcast::Sender<RegistryEvent>,
}

impl Inner {
    pub(crate) fn open(root: PathBuf, limits: Limits) -> Result<Inner> {
        let paths = Paths { root };
        for dir in [
            paths.root.clone(),
            paths.blobs_dir(),
            paths.repositories_dir(),
            paths.uploads_dir(),
            paths.tmp_dir(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| RegistryError::io(format!("create {}", dir.display()), e))?;
        }
        let uploads = uploads::Table::load(&paths)?;
        let (events, _) = broadcast::channel(1024);
        Ok(Inner {
            paths,
            limits,
            uploads,
            gc_lock: RwLock::new(()),
            events,
        })
    }
}

/// Where everything lives. Names, tags and digests are validated before they get
/// here, so joining them cannot leave the root. Cloned into blocking tasks.
#[derive(Clone)]
pub(crate) struct Paths {
    root: PathBuf,
}

impl Paths {
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub(crate) fn blob(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.blobs_dir()
            .join(digest.algorithm().as_str())
            .join(&hex[..2])
            .join(hex)
    }

    pub(crate) fn repositories_dir(&self) -> PathBuf {
        self.root.join("repositories")
    }

    pub(crate) fn repository(&self, name: &RepositoryName) -> PathBuf {
        self.repositories_dir().join(name.as_str())
    }

    pub(crate) fn layer_link(&self, name: &RepositoryName, digest: &Digest) -> PathBuf {
        self.repository(name)
            .join("_layers")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    pub(crate) fn revisions_dir(&self, name: &RepositoryName) -> PathBuf {
        self.repository(name).join("_manifests").join("revisions")
    }

    pub(crate) fn revision(&self, name: &RepositoryName, digest: &Digest) -> PathBuf {
        self.revisions_dir(name)
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    pub(crate) fn tags_dir(&self, name: &RepositoryName) -> PathBuf {
        self.repository(name).join("_manifests").join("tags")
    }

    pub(crate) fn tag(&self, name: &RepositoryName, tag: &Tag) -> PathBuf {
        self.tags_dir(name).join(tag.as_str())
    }

    pub(crate) fn referrers_dir(&self, name: &RepositoryName, subject: &Digest) -> PathBuf {
        self.repository(name)
            .join("_referrers")
            .join(subject.file_name())
    }

    pub(crate) fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}
