//! Ferry's own registry as the API carries it: scoped registry tokens, the images it
//! holds, and what a garbage collection removed.

use ferry_types::TokenId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `POST /tokens`: a token that may pull from the `pull` repositories and push to (and
/// pull from, and delete in) the `push` ones. Patterns are repository globs (`*`
/// matches any run of characters, `/` included).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// A note for `ferry tokens ls` (who or what uses it).
    pub name: Option<String>,
    pub pull: Vec<String>,
    pub push: Vec<String>,
    /// The token stops working this many seconds after creation; None: never.
    pub expires_in_seconds: Option<u64>,
}

/// A registry token as listed: never its secret.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct RegistryToken {
    pub id: TokenId,
    pub name: String,
    pub pull: Vec<String>,
    pub push: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub revoked: bool,
}

impl RegistryToken {
    /// Neither revoked nor expired at `now`.
    pub fn is_usable_at(&self, now: OffsetDateTime) -> bool {
        !self.revoked && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// The answer to `POST /tokens`: the only time the secret is shown.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CreatedToken {
    pub token: RegistryToken,
    pub secret: String,
}

/// One tag of a repository.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ImageTag {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    /// Config plus layers as the manifest states them; None for an index (its
    /// children's sizes are not added up) or an unreadable manifest.
    pub size: Option<u64>,
}

/// A repository of the registry and its tags.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ImageRepository {
    pub name: String,
    pub tags: Vec<ImageTag>,
    /// More tags exist than the listing shows.
    #[serde(default)]
    pub truncated: bool,
}

/// `GET /images` (every repository) or `GET /images/{repository}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ImageList {
    pub repositories: Vec<ImageRepository>,
    /// More repositories exist than the listing shows.
    #[serde(default)]
    pub truncated: bool,
}

/// The answer to `DELETE /images/{reference}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ImageRemoved {
    pub repository: String,
    /// Tags removed (the one named, or every tag of a manifest removed by digest).
    pub tags: Vec<String>,
    /// The manifest removed, when no tag pointed at it any more (its blobs go at the
    /// next gc).
    pub manifest: Option<String>,
}

/// `POST /registry/gc`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcRequest {
    /// Content younger than this is kept (a push in progress has its blobs before its
    /// manifest); None: the server's default.
    pub grace_seconds: Option<u64>,
    /// Count what would go, remove nothing.
    pub dry_run: bool,
}

/// What a registry garbage collection did.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct GcResult {
    pub dry_run: bool,
    /// Manifest digests kept because a revision can still be rolled back to them.
    pub pinned: Vec<String>,
    pub blobs_kept: u64,
    pub blobs_removed: u64,
    pub bytes_removed: u64,
    pub links_removed: u64,
    pub referrers_removed: u64,
    pub uploads_removed: u64,
    pub temp_files_removed: u64,
    /// Revision images in ferry's registry that could not be resolved (a tag that is
    /// gone): nothing could be pinned for them.
    #[serde(default)]
    pub unresolved: Vec<String>,
    /// Scan records (SBOM and vulnerability report) of manifests that are gone.
    #[serde(default)]
    pub scans_removed: u64,
}
