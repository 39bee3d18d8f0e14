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

impl Revision {
    /// For a static site, the directory of its files (relative to the revision's
    /// directory) that ferry's router serves itself; `None` for anything that runs.
    /// Revisions made before the router served files ran ferry's file server as a
    /// process (`exec "$FERRY_BIN" static-serve <root>`); that exact command is read
    /// as the same site, so rolling back to one serves it the new way.
    pub fn static_root(&self) -> Option<&str> {
        if !matches!(self.source, RevisionSource::Directory { .. }) {
            return None;
        }
        let run = &self.config.run;
        if let Some(root) = run.static_root.as_deref() {
            return Some(root);
        }
        let legacy = run
            .command
            .as_deref()?
            .strip_prefix("exec \"$FERRY_BIN\" static-serve ")?;
        (!legacy.is_empty() && !legacy.contains(char::is_whitespace)).then_some(legacy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(source: RevisionSource, root: Option<&str>, command: Option<&str>) -> Revision {
        let mut config = ServiceConfig::default();
        config.run.static_root = root.map(str::to_string);
        config.run.command = command.map(str::to_string);
        Revision {
            id: RevisionId::from_string("r"),
            service_id: ServiceId::from_string("s"),
            number: 1,
            source,
            config,
            status: RevisionStatus::Pending,
            failure: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            commit: None,
        }
    }

    #[test]
    fn static_root_from_the_config_or_the_old_command() {
        let dir = || RevisionSource::Directory {
            digest: "d".to_string(),
        };
        assert_eq!(
            revision(dir(), Some("public"), None).static_root(),
            Some("public")
        );
        let legacy = revision(dir(), None, Some("exec \"$FERRY_BIN\" static-serve dist"));
        assert_eq!(legacy.static_root(), Some("dist"));
        let app = revision(dir(), None, Some("python3 app.py"));
        assert_eq!(app.static_root(), None);
        let image = RevisionSource::Image {
            image: "busybox".to_string(),
            image_id: None,
            from_tag: None,
        };
        assert_eq!(revision(image, Some("public"), None).static_root(), None);
    }
}
