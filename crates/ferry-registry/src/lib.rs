//! Ferry's own container registry: the OCI Distribution Spec v1.1 API (`/v2/…`) over
//! a content-addressed filesystem store, with garbage collection, push events and
//! an [`auth::Authorizer`] hook the server implements.
//!
//! ```ignore
//! let registry = Registry::open(data_dir.join("registry"), Limits::default())?;
//! let events = registry.subscribe();            // push-to-deploy listens here
//! let app = http::router(registry.clone(), authorizer, http::HttpConfig::default());
//! axum::serve(listener, api_router.merge(app)).await?;
//! ```
//!
//! Layout under the root (every file that appears there appeared by an atomic rename
//! of a complete, fsynced file):
//!
//! ```text
//! blobs/<alg>/<hex[..2]>/<hex>                      blob and manifest content
//! repositories/<name>/_layers/<alg>/<hex>           the blob belongs to <name> (empty file)
//! repositories/<name>/_manifests/revisions/<alg>/<hex>  manifest of <name>; holds its media type
//! repositories/<name>/_manifests/tags/<tag>         holds the digest the tag points at
//! repositories/<name>/_referrers/<subject>/<digest> referrer descriptor (JSON)
//! uploads/<uuid>/{state.json,data}                  upload sessions (survive restarts)
//! tmp/                                              files being written, before their rename
//! ```

pub mod auth;
pub mod digest;
pub mod error;
pub mod http;
pub mod manifest;
pub mod name;
pub mod range;
mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use digest::{Algorithm, Digest};
pub use error::{RegistryError, Result};
pub use name::{Reference, RepositoryName, RepositoryPattern, Tag};
pub use storage::artifacts;
pub use storage::gc::{GcOptions, GcReport};
pub use storage::{BlobContent, Page, PushedManifest, ReferrersPage, StoredManifest};

/// Bounds on everything a client can make the registry hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest manifest accepted (413 above). Distribution's default: 4 MiB.
    pub max_manifest_bytes: usize,
    /// Largest blob accepted (413 above).
    pub max_blob_bytes: u64,
    /// Upload sessions open at once, in all repositories (429 above).
    pub max_uploads: usize,
    /// Upload sessions open at once in one repository (429 above).
    pub max_uploads_per_repository: usize,
    /// Most entries in one page of tags, repositories or referrers (a larger `n` is
    /// cut to this, with a `Link` to the next page).
    pub page_size: usize,
    /// Most descriptor bytes in one referrers page.
    pub referrers_page_bytes: usize,
    /// An upload untouched this long is abandoned: gc removes it.
    pub upload_ttl: Duration,
    /// Content written less than this long ago is never collected: it may belong to a
    /// push whose manifest has not arrived yet.
    pub gc_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 4 << 20,
            max_blob_bytes: 64 << 30,
            max_uploads: 512,
            max_uploads_per_repository: 64,
            page_size: 1000,
            referrers_page_bytes: 4 << 20,
            upload_ttl: Duration::from_secs(24 * 3600),
            gc_grace: Duration::from_secs(3600),
        }
    }
}

/// Something that happened to a repository, for subscribers such as push-to-deploy.
/// Events are hints: a subscriber that lags loses the oldest ones and should re-read
/// the registry's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryEvent {
    /// A manifest was stored (by tag, or by digest with `tag` None).
    ManifestPushed {
        repository: RepositoryName,
        tag: Option<Tag>,
        digest: Digest,
        media_type: String,
    },
    /// A manifest was deleted by digest (its tags went with it).
    ManifestDeleted {
        repository: RepositoryName,
        digest: Digest,
    },
    /// A tag was deleted; the manifest it pointed at stays.
    TagDeleted {
        repository: RepositoryName,
        tag: Tag,
        digest: Digest,
    },
}

/// A handle on one registry store; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<storage::Inner>,
}

impl Registry {
    /// Opens (creating) the store under `root` and reloads the upload sessions that a
    /// previous process left.
    pub fn open(root: impl Into<PathBuf>, limits: Limits) -> Result<Registry> {
        Ok(Registry {
            inner: Arc::new(storage::Inner::open(root.into(), limits)?),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn root(&self) -> &std::path::Path {
        self.inner.paths.root()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RegistryEvent> {
        self.inner.events.subscribe()
    }

    fn emit(&self, event: RegistryEvent) {
        // No subscriber is fine: events are hints.
        let _ = self.inner.events.send(event);
    }
}
