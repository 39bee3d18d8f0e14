//! `/api/v1/services…` handlers.

use super::{ApiError, ApiResult, ApiState};
use crate::app::services::{Accepted, DeployRequest, ServiceDetail};
use crate::app::AppError;
use crate::background::deploy::ServiceSnapshot;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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

/// Turns axum's JSON rejections into our error shape.
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| ApiError(AppError::BadRequest(rejection.body_text())))
}

pub async fn deploy(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    payload: Result<Json<DeployRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let request = body(payload)?;
    let accepted = state.app.deploy(&name, request).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub use ferry_api::RollbackRequest;

pub async fn rollback(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    payload: Result<Json<RollbackRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    // An empty body means "the previous revision".
    let request = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => RollbackRequest::default(),
        other => body(other)?,
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
            .filter(|task| task.failures > 0)
            .collect(),
    }))
}
