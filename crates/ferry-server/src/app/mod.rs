//! The app layer: what the API can do, in the platform's words. Handlers call it; it is
//! the only code that talks to the store.

mod blocking;
pub mod builds;
pub mod deploys;
pub mod git;
pub mod images;
pub mod logs;
pub mod operations;
mod pushes;
pub mod reports;
pub mod scaling;
pub mod services;
pub mod tokens;
pub mod unpack;
pub mod uploads;

use crate::background::Background;
use crate::data_dir::DataDir;
use crate::runtimes::Runtimes;
pub use ferry_api::ConfigProblem;
use ferry_store::{Store, StoreError};
pub use pushes::PushId;
use std::sync::Arc;

/// Shared by every handler.
pub struct App {
    pub store: Arc<Store>,
    pub data: DataDir,
    pub runtimes: Runtimes,
    pub background: Arc<Background>,
    /// Port the router listens on, for service URLs.
    pub router_port: u16,
    /// What one source upload may unpack to.
    pub upload_limits: unpack::UploadLimits,
    /// Bounds of instance logs (readers cut lines at the same length).
    pub log_limits: ferry_runtime::LogLimits,
    /// Ferry's own registry, its token cache and gc status.
    pub registry: Arc<crate::registry::LocalRegistry>,
    /// Ferry's registry, where `--image localhost:<api port>/…` deploys resolve.
    pub own_registry: Option<crate::registry::own::OwnRegistry>,
    /// Credentials for private git remotes (`ferry git-auth`).
    pub git_credentials: Arc<crate::git::credentials::CredentialStore>,
    /// Pushes whose deployment waits for their hook.
    pub pushes: pushes::PendingPushes,
}

/// Errors the API turns into a status code and a stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidConfig(ConfigProblem),
    #[error("{0}")]
    BadRequest(String),
    /// Over a size limit of the server (413).
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    RuntimeUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Config problems from the loaders, placed relative to the app.
pub trait ConfigProblemExt {
    fn from_config_error(err: &ferry_types::config::ConfigError, dir: &std::path::Path) -> Self;
}

impl ConfigProblemExt for ConfigProblem {
    /// From a loader error about a file under `dir`, naming the file relative to it:
    /// the unpacked path on the server means nothing to the user.
    fn from_config_error(err: &ferry_types::config::ConfigError, dir: &std::path::Path) -> Self {
        use ferry_types::config::ConfigError;
        let relative =
            |path: &std::path::Path| path.strip_prefix(dir).unwrap_or(path).display().to_string();
        match err {
            ConfigError::NotFound { .. } => Self::new(
                ConfigError::NotFound {
                    dir: std::path::PathBuf::from("."),
                }
                .to_string(),
            ),
            ConfigError::File(err) => Self {
                message: err.to_string(),
                file: Some(err.name().to_string()),
                ..Self::default()
            },
            ConfigError::Invalid {
                location,
                key,
                message,
            } => {
                let file = relative(&location.file);
                Self {
                    message: format!("{file}:{}:{}: {message}", location.line, location.column),
                    file: Some(file),
                    line: Some(location.line),
                    column: Some(location.column),
                    key: key.clone(),
                }
            }
        }
    }
}

impl AppError {
    /// The stable machine-readable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Conflict(_) => "conflict",
            Self::InvalidConfig(_) => "invalid_config",
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge(_) => "payload_too_large",
            Self::RuntimeUnavailable(_) => "runtime_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => Self::NotFound { what },
            StoreError::Conflict { what } => Self::Conflict(format!("{what} already exists")),
            StoreError::HostTaken { host, owner } => Self::Conflict(format!(
                "{host} is already routed to service {owner}; remove it there first \
                 (or pick another name)"
            )),
            StoreError::InvalidState(message) => Self::Conflict(message),
            other => {
                tracing::error!(error = %other, "store error");
                Self::Internal(other.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_carry_their_place_relative_to_the_app() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ferry.toml"),
            "[run]\ncommand = \"x\"\nprot = 1\n",
        )
        .unwrap();
        let err = ferry_types::config::load_dir(dir.path()).unwrap_err();
        let problem = ConfigProblem::from_config_error(&err, dir.path());
        assert_eq!(problem.file.as_deref(), Some("ferry.toml"));
        assert_eq!((problem.line, problem.column), (Some(3), Some(1)));
        assert_eq!(problem.key.as_deref(), Some("run.prot"));
        assert!(problem.message.starts_with("ferry.toml:3:1: "), "{problem}");
        assert!(!problem.message.contains(&dir.path().display().to_string()));
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["line"], 3);
    }
}
