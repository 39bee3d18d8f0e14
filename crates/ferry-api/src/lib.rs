//! The request and response types of ferry's HTTP API (`/api/v1`), in one place the
//! server and the CLI both use, so the two cannot drift apart. Plain data: no I/O.

pub mod errors;
pub mod git;
pub mod metrics;
pub mod registry;
pub mod reports;
pub mod scaling;
pub mod services;

pub use errors::{ConfigProblem, ErrorBody};
pub use git::{
    BuildInfo, BuildLogChunk, GitAbandon, GitAbandoned, GitCredential, GitCredentialView,
    GitFollowing, GitPushed, GitSource, GitTriggered, RefUpdate,
};
pub use metrics::StatsSnapshot;
pub use registry::{
    CreateTokenRequest, CreatedToken, GcRequest, GcResult, ImageList, ImageRemoved,
    ImageRepository, ImageTag, RegistryToken,
};
pub use reports::{Responsibility, SecurityReport, ServiceReport};
pub use scaling::{AutoscaleStatus, ScaleRequest, ScalingDecision};
pub use services::{
    Accepted, ConfigOverrides, DeployRequest, DeploySource, FollowOptions, Following,
    RollbackRequest, ServerStatus, ServiceDetail, ServiceSnapshot, TaskStatus, Uploaded,
};
