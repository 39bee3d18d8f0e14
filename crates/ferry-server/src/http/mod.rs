//! The HTTP API on the shared listener: `/api/v1/…` (token required). Handlers are thin:
//! they parse, call the app layer, and turn its result into JSON.

pub mod builds;
pub mod git;
pub mod images;
pub mod logs;
pub mod openapi;
mod operations;
pub mod services;
pub mod tokens;
pub mod uploads;

use crate::app::{App, AppError};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub app: Arc<App>,
    pub token: Arc<str>,
    /// The API listener's address (ferry's git hook calls back on it).
    pub api_addr: std::net::SocketAddr,
    /// Ends long-lived responses (log follows) when the server stops.
    pub shutdown: CancellationToken,
    /// Bounds how many log follows are open at once.
    pub followers: logs::Followers,
    /// How long a push to ferry's git remote waits for its build and rollout.
    pub git_push_timeout: std::time::Duration,
}

/// The whole HTTP surface of the API listener.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/status", get(services::server_status))
        .route("/services", get(services::list))
        .route(
            "/services/{name}",
            get(services::describe).delete(services::delete),
        )
        .route("/services/{name}/deployments", post(services::deploy))
        .route("/services/{name}/rollback", post(services::rollback))
        .route("/services/{name}/pause", post(services::pause))
        .route("/services/{name}/resume", post(services::resume))
        .route(
            "/services/{name}/scaling",
            axum::routing::put(services::scale),
        )
        .route("/services/{name}/revisions", get(services::revisions))
        .route(
            "/services/{name}/revisions/{number}",
            get(services::revision),
        )
        .route("/services/{name}/instances", get(services::instances))
        .route("/services/{name}/metrics", get(services::metrics))
        .route("/services/{name}/report", get(services::report))
        .route("/services/{name}/operations", get(operations::for_service))
        .route("/services/{name}/logs", get(logs::stream))
        .route("/services/{name}/builds", get(builds::list))
        .route("/services/{name}/builds/{number}/log", get(builds::log))
        .route(
            "/services/{name}/builds/{number}/cancel",
            post(builds::cancel),
        )
        .route("/services/{name}/git/pushed", post(git::pushed))
        .route("/services/{name}/git/abandon", post(git::abandon))
        .route(
            "/git/credentials",
            get(git::credentials)
                .put(git::set_credential)
                .delete(git::remove_credential),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/images", get(images::list))
        .route(
            "/images/{*reference}",
            get(images::list_one).delete(images::remove),
        )
        .route("/registry/gc", post(images::gc))
        .route("/operations", get(operations::list))
        .route("/operations/{id}", get(operations::get))
        .route(
            "/uploads",
            post(uploads::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hide_data_dir,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/", get(index))
        .route(
            "/git/{repo}/{*rest}",
            axum::routing::any(git::remote).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/hooks/git/{name}",
            post(git::webhook).layer(axum::extract::DefaultBodyLimit::max(
                crate::app::git::MAX_WEBHOOK_BYTES,
            )),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

async fn index() -> &'static str {
    "ferry server: the API is under /api/v1 (see /api/v1/openapi.json); apps are served by the router.\n"
}

/// Errors axum answers itself (a bad path parameter or query string, a wrong method)
/// are plain text or empty; API clients get every error in the one JSON shape.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Rejection texts are one line; anything longer is cut, not buffered.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "method not allowed on this route")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "expected a JSON body"),
        s if s.is_client_error() => ("bad_request", "bad request"),
        _ => ("internal", "internal error"),
    };
    let message = if text.is_empty() { message } else { &text };
    let mut json = error_response(status, code, message);
    // Keep what the original response said about the method or retrying.
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

/// Errors say what went wrong, not where in the data dir: a path a lower layer put in a
/// message (an unpacking error naming the temporary directory, say) is replaced by
/// `<data dir>` before it leaves the server.
async fn hide_data_dir(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are one short JSON object; a longer one is not passed on whole.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return error_response(status, "internal", "error details too long to show");
    };
    let text = String::from_utf8_lossy(&bytes);
    let root = state.app.data.root();
    let mut roots = vec![root.display().to_string()];
    if let Ok(canonical) = root.canonicalize() {
        roots.push(canonical.display().to_string());
    }
    if !roots
        .iter()
        .any(|r| !r.is_empty() && text.contains(r.as_str()))
    {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let mut hidden = text.into_owned();
    for root in roots.iter().filter(|r| !r.is_empty()) {
        hidden = hidden.replace(root.as_str(), "<data dir>");
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(hidden))
}

async fn api_not_found() -> ApiError {
    ApiError(AppError::not_found("API route"))
}

/// Rejects `/api/…` requests without the admin token (Bearer, or Basic with the token as
/// password so `docker login` works later). Unknown API paths are rejected too, so the
/// API's shape is not readable without the token.
async fn require_token(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // `/v2/` is the registry's: it checks credentials itself, with its own challenge.
    let protected = path.starts_with("/api/") || path == "/api";
    if !protected {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(token_from_authorization);
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        _ => {
            let mut response = error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong token: send `Authorization: Bearer <token>` (the token is in the server's data dir, file `token`, or set FERRY_TOKEN)",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"ferry\""),
            );
            response
        }
    }
}

pub(crate) fn token_from_authorization(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(rest)?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

/// Standard base64, with or without padding (clients differ).
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(input).ok()
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub use ferry_api::ErrorBody;

pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            code: code.to_string(),
            message: message.to_string(),
            config: None,
        }),
    )
        .into_response()
}

/// An app error on its way out as JSON.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::InvalidConfig(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RuntimeUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let config = match &self.0 {
            AppError::InvalidConfig(problem) if problem.file.is_some() || problem.key.is_some() => {
                Some(problem.clone())
            }
            _ => None,
        };
        let body = ErrorBody {
            code: self.0.code().to_string(),
            message: self.0.to_string(),
            config,
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<Json<T>, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_and_basic_tokens() {
        assert_eq!(
            token_from_authorization("Bearer abc").as_deref(),
            Some("abc")
        );
        // "ferry:abc"
        assert_eq!(
            token_from_authorization("Basic ZmVycnk6YWJj").as_deref(),
            Some("abc")
        );
        assert_eq!(token_from_authorization("Basic !!!"), None);
        assert_eq!(token_from_authorization("abc"), None);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
