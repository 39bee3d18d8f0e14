//! Revisions: immutable snapshots of what runs (artifact + config).

use crate::ids::{RevisionId, ServiceId};
use crate::service::ServiceConfig;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// What a revision runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevisionSource {
    /// A container image; `image_id` pins the exact image resolved at deploy time.
    /// An image from a registry is pinned by digest in `image`
    /// (`host/repo@sha256:…`), with the tag it was resolved from in `from_tag`.
    Image {
        image: String,
        image_id: Option<String>,
        /// The tag reference `image` was resolved from (`host/repo:tag`), for display.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_tag: Option<String>,
    },
    /// A snapshot of an uploaded directory, kept under the data dir so a rollback runs
    /// the old files. `digest` is the sha256 of the uploaded archive.
    Directory { digest: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevisionStatus {
    /// Created, not yet tried.
    Pending,
    /// Serving traffic.
    Active,
    /// Served before and can be rolled back to.
    Inactive,
    /// Never became healthy (or failed its build); kept for its logs.
    Failed,
    /// A later deployment (or a pause) replaced it before it served.
    Superseded,
    /// Past the server's revision retention: its files, build log and image are gone;
    /// the row stays as history and cannot be rolled back to.
    Pruned,
}

impl RevisionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
            Self::Failed => "FAILED",
            Self::Superseded => "SUPERSEDED",
            Self::Pruned => "PRUNED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "PENDING" => Self::Pending,
            "ACTIVE" => Self::Active,
            "INACTIVE" => Self::Inactive,
            "FAILED" => Self::Failed,
            "SUPERSEDED" => Self::Superseded,
            "PRUNED" => Self::Pruned,
            _ => return None,
        })
    }
}

impl fmt::Display for RevisionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub id: RevisionId,
    pub service_id: ServiceId,
    /// 1, 2, 3… per service, for humans (`ferry rollback web 3`).
    pub number: u32,
    pub source: RevisionSource,
    pub config: ServiceConfig,
    pub status: RevisionStatus,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The git commit (full sha) the revision was built from, for a git source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}
