//! Services, deploys, uploads and the server's status as the API carries them.

use crate::metrics::StatsSnapshot;
use ferry_types::{InstanceInfo, Operation, Revision, Service, ServiceConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What to deploy.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploySource {
    /// An uploaded source archive (`sha256:…` from `POST /api/v1/uploads`).
    Upload(String),
    /// An image in the local Docker Engine.
    Image(String),
    /// A branch of a git repository, built by the process runtime and followed.
    Git(crate::git::GitSource),
}

/// Settings given on the command line; they win over the config file.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigOverrides {
    pub command: Option<String>,
    /// `[run] runtime` of a source deploy: `docker` builds it into an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    pub port: Option<u16>,
    /// Merged over the file's `[run] env`.
    pub env: BTreeMap<String, String>,
    pub cpu: Option<f64>,
    pub memory_mib: Option<u32>,
    pub min_instances: Option<u32>,
    pub max_instances: Option<u32>,
    /// Switches the health check to HTTP on this path.
    pub health_check_path: Option<String>,
    pub request_timeout: Option<u32>,
    pub domains: Option<Vec<String>>,
    /// `[security] fail_on`: vulnerability severity that blocks the deploy.
    pub fail_on: Option<String>,
    /// `[security] lint_fail_on`: Dockerfile lint severity that blocks the deploy.
    pub lint_fail_on: Option<String>,
    pub ignore_unfixed: Option<bool>,
    /// Vulnerability ids accepted for this deploy (added to `[security] ignore`).
    pub ignore_vulnerabilities: Vec<String>,
    /// `[security] image_lint_blocks`: image-lint FATAL findings refuse the deploy.
    pub image_lint_blocks: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DeployRequest {
    pub source: DeploySource,
    #[serde(default)]
    pub overrides: ConfigOverrides,
    /// Push-to-deploy settings of an image deploy.
    #[serde(default)]
    pub follow: FollowOptions,
}

/// Whether an image deploy keeps following its tag, and how.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowOptions {
    /// Deploy each new digest pushed to the tag. Default: on for an image in ferry's
    /// own registry, off elsewhere.
    pub auto_deploy: Option<bool>,
    /// How often another registry's tag is read, in milliseconds (default 60 s).
    pub poll_ms: Option<u64>,
    /// Credentials for another registry (the CLI takes them from its flags or from
    /// Docker's config.json).
    pub registry_username: Option<String>,
    pub registry_password: Option<String>,
}

/// The answer to a change: the operation to follow.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    pub service: Service,
    pub operation: Operation,
    pub revision: Option<Revision>,
    /// Notes for the user (e.g. config keys accepted but not acted on).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A service with its running side, for `ferry status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub service: Service,
    pub active_revision_number: Option<u32>,
    pub config: Option<ServiceConfig>,
    pub runtime: ServiceSnapshot,
    pub metrics: StatsSnapshot,
    pub last_operation: Option<Operation>,
    /// Each reconciler's last pass over this service.
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
    /// The image tag the service follows (push-to-deploy), if any.
    #[serde(default)]
    pub following: Option<Following>,
    /// The autoscaler: desired and ready counts, load, panic mode, recent decisions.
    #[serde(default)]
    pub autoscale: Option<crate::AutoscaleStatus>,
    /// The git branch the service builds from, if any.
    #[serde(default)]
    pub git: Option<crate::git::GitFollowing>,
    /// The commit of the active revision, for a git source.
    #[serde(default)]
    pub active_commit: Option<String>,
    /// For a static site, the directory of the active revision that ferry's router
    /// serves itself (runtime "static": no instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_root: Option<String>,
}

/// What a service follows, without its credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Following {
    /// `host:port/repository:tag`.
    pub image: String,
    pub auto_deploy: bool,
    /// Poll interval of another registry's tag; None for ferry's registry (pushes).
    pub poll_ms: Option<u64>,
    /// The digest behind the tag when ferry last deployed from it.
    pub last_digest: Option<String>,
    /// Whether credentials for the registry are stored.
    pub has_credentials: bool,
}

/// What the deploy reconciler shows about a service's running side.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServiceSnapshot {
    pub instances: Vec<InstanceInfo>,
    /// Instances replaced after a crash or failed health checks since ferry started.
    pub restarts: u32,
    /// Why the last instance that ended ended.
    pub last_exit: Option<String>,
    /// What the reconciler is doing or waiting for.
    pub phase: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_reconcile: Option<OffsetDateTime>,
}

/// The last outcome of one background reconciler for one key (a service).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskStatus {
    pub task: String,
    pub key: String,
    pub running: bool,
    pub runs: u64,
    /// Failed (or panicked) passes in a row.
    pub failures: u32,
    /// `ok`, `error: …` or `panicked: …`.
    pub last_outcome: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_finished: Option<OffsetDateTime>,
    /// Milliseconds until the next pass (None: only when woken).
    pub next_run_ms: Option<u64>,
}

/// `POST /services/{name}/rollback`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Revision number to re-activate; the previous one when absent.
    pub revision: Option<u32>,
}

/// The answer to `POST /uploads`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Uploaded {
    pub digest: String,
}

/// Server facts for `ferry status` without a service.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    pub runtimes: Vec<String>,
    pub services: usize,
    pub data_dir: String,
    /// Background reconcilers whose last pass over a service failed or panicked.
    #[serde(default)]
    pub failing_tasks: Vec<TaskStatus>,
    /// How each runtime enforces `[instance]` cpu and memory (`process: …`).
    #[serde(default)]
    pub limits: Vec<String>,
}
