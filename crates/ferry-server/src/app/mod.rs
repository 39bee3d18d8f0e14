//! The app layer: what the API can do, in the platform's words. Handlers call it; it is
//! the only code that talks to the store.

pub mod logs;
pub mod operations;
pub mod reports;
pub mod services;
pub mod uploads;

use crate::background::deploy::Deployer;
use crate::data_dir::DataDir;
use crate::runtimes::Runtimes;
use ferry_store::{Store, StoreError};
use std::sync::Arc;

/// Shared by every handler.
pub struct App {
    pub store: Arc<Store>,
    pub data: DataDir,
    pub runtimes: Runtimes,
    pub deployer: Arc<Deployer>,
    /// Port the router listens on, for service URLs.
    pub router_port: u16,
    /// Bounds of instance logs (readers cut lines at the same length).
    pub log_limits: ferry_runtime::LogLimits,
}

/// Errors the API turns into a status code and a stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    RuntimeUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The stable machine-readable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Conflict(_) => "conflict",
            Self::InvalidConfig(_) => "invalid_config",
            Self::BadRequest(_) => "bad_request",
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
            other => {
                tracing::error!(error = %other, "store error");
                Self::Internal(other.to_string())
            }
        }
    }
}
