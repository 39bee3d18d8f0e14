//! `/api/v1/services…` handlers.

use super::{ApiError, ApiResult, ApiState};
use crate::app::services::{Accepted, DeployRequest, ServiceDetail};
use crate::app::AppError;
use crate::background::deploy::ServiceSnapshot;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_router::StatsSnapshot;
use ferry_types::{Revision, Service};

pub async fn list(State(state): State<ApiState>) -> ApiResult<Vec<Service>> {
    Ok(Json(state.app.list_services()?))
}

pub async fn describe(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<ServiceDetail> {
    Ok(Json(state.app.describe_service(&name)?))
}

/// A request body that could not be read as JSON, answered with the status axum chose
/// (400 malformed, 413 over the body limit, 415 not sent as JSON) in our error shape.
pub struct BodyRejected {
    status: StatusCode,
    message: String,
}

impl From<JsonRejection> for BodyRejected {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body too large (the limit is {BODY_LIMIT_TEXT})")
        } else {
            rejection.body_text()
        };
        Self { status, message }
    }
}

/// axum's default body limit, which the JSON routes keep.
const BODY_LIMIT_TEXT: &str = "2 MiB";

impl IntoResponse for BodyRejected {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        super::error_response(self.status, code, &self.message)
    }
}

/// Either the body was refused or the app layer said no.
pub enum HandlerError {
    Body(BodyRejected),
    App(ApiError),
}

impl From<AppError> for HandlerError {
    fn from(err: AppError) -> Self {
        Self::App(ApiError(err))
    }
}

impl From<BodyRejected> for HandlerError {
    fn from(err: BodyRejected) -> Self {
        Self::Body(err)
    }
}

impl IntoResponse for HandlerError {
    fn into_response(self) -> Response {
        match self {
            Self::Body(err) => err.into_response(),
            Self::App(err) => err.into_response(),
        }
    }
}

/// Whether the request says its body is JSON (`application/json`, `…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, BodyRejected> {
    payload.map(|Json(value)| value).map_err(BodyRejected::from)
}

pub async fn deploy(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    payload: Result<Json<DeployRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), HandlerError> {
    let request = body(payload)?;
    let accepted = state.app.deploy(&name, request).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub use ferry_api::RollbackRequest;

pub async fn rollback(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<(StatusCode, Json<Accepted>), HandlerError> {
    // An empty body means "the previous revision". Anything else must be JSON: a body
    // sent as a form (curl -d) used to be ignored, rolling back to the wrong revision.
    let request = if raw.iter().all(u8::is_ascii_whitespace) {
        RollbackRequest::default()
    } else if !is_json(&headers) {
        return Err(BodyRejected {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "send the rollback request as JSON with `Content-Type: application/json` \
                      (for example {\"revision\": 3}), or an empty body for the previous revision"
                .to_string(),
        }
        .into());
    } else {
        serde_json::from_slice(&raw).map_err(|err| BodyRejected {
            status: StatusCode::BAD_REQUEST,
            message: format!("invalid rollback request: {err}"),
        })?
    };
    let accepted = state.app.rollback(&name, request.revision)?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn pause(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.app.pause(&name)?)))
}

pub async fn resume(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.app.resume(&name)?)))
}

/// `ferry scale`: the body is `{"set": {"min": 0, …}, "reset": false}`.
pub async fn scale(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    payload: Result<Json<ferry_api::ScaleRequest>, JsonRejection>,
) -> Result<Json<ferry_api::AutoscaleStatus>, HandlerError> {
    let request = body(payload)?;
    Ok(Json(state.app.scale(&name, request)?))
}

pub async fn delete(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.app.delete(&name)?)))
}

pub async fn revisions(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Vec<Revision>> {
    Ok(Json(state.app.list_revisions(&name)?))
}

pub async fn revision(
    State(state): State<ApiState>,
    Path((name, number)): Path<(String, String)>,
) -> ApiResult<Revision> {
    let number: u32 = number.parse().map_err(|_| {
        ApiError(AppError::BadRequest(format!(
            "revision must be a number, got {number:?}"
        )))
    })?;
    Ok(Json(state.app.get_revision(&name, number)?))
}

pub async fn instances(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<ServiceSnapshot> {
    Ok(Json(state.app.instances(&name)?))
}

pub async fn report(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<crate::app::reports::ServiceReport> {
    Ok(Json(state.app.report(&name)?))
}

pub async fn metrics(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<StatsSnapshot> {
    Ok(Json(state.app.metrics(&name)?))
}

pub use ferry_api::ServerStatus;

pub async fn server_status(State(state): State<ApiState>) -> ApiResult<ServerStatus> {
    let app = &state.app;
    Ok(Json(ServerStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        runtimes: app
            .runtimes
            .all()
            .iter()
            .map(|r| r.kind().to_string())
            .collect(),
        services: app.list_services()?.len(),
        data_dir: app.data.root().display().to_string(),
        failing_tasks: app
            .background
            .all_tasks()
            .into_iter()
            .chain([app.registry.gc_status()])
            .filter(|task| task.failures > 0)
            .collect(),
        limits: app
            .runtimes
            .all()
            .iter()
            .map(|r| format!("{}: {}", r.kind(), r.describe_limits()))
            .collect(),
    }))
}
