//! The registry's errors, each mapped to the distribution spec's error code and the
//! HTTP status Distribution answers it with.

use http::StatusCode;
use oci_spec::distribution::ErrorCode;

/// What went wrong in a registry operation. `Display` is the message clients see in
/// the error body's `message` (I/O details stay in the server's log).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    /// A chunk that does not start where the upload ends (416).
    #[error("chunk out of order: {0}")]
    ChunkOutOfOrder(String),
    #[error("digest invalid: {0}")]
    DigestInvalid(String),
    #[error("manifest references something unknown to this repository: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("size invalid: {0}")]
    SizeInvalid(String),
    /// A body over a configured bound (413).
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// A request the API does not understand (a bad query parameter, say).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A path outside the API.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The client went away or its body could not be read; nothing was stored.
    #[error("request body: {0}")]
    Body(String),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

impl RegistryError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> RegistryError {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    /// The spec's code for the error body; None for server-side failures.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            RegistryError::BlobUnknown(_) => ErrorCode::BlobUnknown,
            RegistryError::BlobUploadUnknown => ErrorCode::BlobUploadUnknown,
            RegistryError::BlobUploadInvalid(_) | RegistryError::ChunkOutOfOrder(_) => {
                ErrorCode::BlobUploadInvalid
            }
            RegistryError::DigestInvalid(_) => ErrorCode::DigestInvalid,
            RegistryError::ManifestBlobUnknown(_) => ErrorCode::ManifestBlobUnknown,
            RegistryError::ManifestInvalid(_) => ErrorCode::ManifestInvalid,
            RegistryError::ManifestUnknown(_) => ErrorCode::ManifestUnknown,
            RegistryError::NameInvalid(_) => ErrorCode::NameInvalid,
            RegistryError::NameUnknown(_) => ErrorCode::NameUnknown,
            RegistryError::SizeInvalid(_) | RegistryError::TooLarge(_) => ErrorCode::SizeInvalid,
            RegistryError::Unsupported(_) => ErrorCode::Unsupported,
            RegistryError::TooManyRequests(_) => ErrorCode::TooManyRequests,
            RegistryError::Body(_) => ErrorCode::BlobUploadInvalid,
            RegistryError::BadRequest(_)
            | RegistryError::NotFound(_)
            | RegistryError::MethodNotAllowed => ErrorCode::Unsupported,
            RegistryError::Io { .. } => return None,
        })
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::BlobUnknown(_)
            | RegistryError::BlobUploadUnknown
            | RegistryError::ManifestUnknown(_)
            | RegistryError::NameUnknown(_)
            | RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RegistryError::ChunkOutOfOrder(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            RegistryError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RegistryError::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            RegistryError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            RegistryError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            RegistryError::BlobUploadInvalid(_)
            | RegistryError::DigestInvalid(_)
            | RegistryError::ManifestBlobUnknown(_)
            | RegistryError::ManifestInvalid(_)
            | RegistryError::NameInvalid(_)
            | RegistryError::SizeInvalid(_)
            | RegistryError::Body(_)
            | RegistryError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }
}
