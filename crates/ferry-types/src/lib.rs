//! Ferry's shared vocabulary: typed ids, the service/revision/operation/instance model
//! and the config files (`ferry.toml`, `apprunner.yaml`). Pure data and validation, no I/O
//! beyond reading a config file the caller points at.

pub mod config;
pub mod ids;
pub mod instance;
pub mod operation;
pub mod policy;
pub mod revision;
pub mod scaling;
pub mod service;

pub use ids::{InstanceId, OperationId, RevisionId, ServiceId, TokenId};
pub use instance::{InstanceInfo, InstanceState, RuntimeKind};
pub use operation::{EventLevel, Operation, OperationEvent, OperationKind, OperationStatus};
pub use policy::{LintThreshold, VulnThreshold};
pub use revision::{Revision, RevisionSource, RevisionStatus};
pub use scaling::{ScalingOverrides, SCALING_RANGES};
pub use service::{
    build_secret_env_names, BuildConfig, HealthCheck, HealthProtocol, InstanceSize, NameError,
    RunConfig, Scaling, SecurityConfig, Service, ServiceConfig, ServiceName, ServiceStatus,
    SourceKind, BUILD_SECRET_ENV_PREFIX,
};

/// Current time in UTC; one place so tests and the store agree on the clock type.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
