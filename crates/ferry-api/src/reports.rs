//! `ferry report`: the shared-responsibility view of a service and its security reports.

use ferry_types::RevisionId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One line of "what ferry does for you".
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Responsibility {
    pub area: String,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceReport {
    pub service: String,
    pub revision: Option<u32>,
    /// What the revision runs: an image, or an uploaded source tree.
    pub source: String,
    /// The platform's side: runtime, routing, scaling, builds, health checks.
    pub platform: Vec<Responsibility>,
    /// The user's side, in words (what the reports below cover).
    pub user: Vec<Responsibility>,
    /// The checks' reports on the active revision.
    pub reports: Vec<SecurityReport>,
}

/// One security check's report on a revision (Dockerfile lint, vulnerabilities, image
/// lint): whether it blocked the deploy, a one-line summary and the full findings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityReport {
    pub revision_id: RevisionId,
    pub kind: String,
    pub blocked: bool,
    pub summary: String,
    pub body: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
