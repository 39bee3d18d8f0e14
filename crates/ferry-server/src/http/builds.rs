//! `/api/v1/services/{name}/builds…` handlers: the build history, a build's log in
//! bounded pieces, and cancelling a build.

use super::{ApiError, ApiResult, ApiState};
use crate::app::AppError;
use axum::extract::{Path, Query, State};
use axum::Json;
use ferry_api::{BuildInfo, BuildLogChunk};

fn number(text: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| {
        ApiError(AppError::BadRequest(format!(
            "build must be a revision number, got {text:?}"
        )))
    })
}

pub async fn list(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Vec<BuildInfo>> {
    Ok(Json(state.app.list_builds(&name)?))
}

#[derive(serde::Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    offset: u64,
}

pub async fn log(
    State(state): State<ApiState>,
    Path((name, n)): Path<(String, String)>,
    Query(query): Query<LogQuery>,
) -> ApiResult<BuildLogChunk> {
    Ok(Json(
        state
            .app
            .build_log(&name, number(&n)?, query.offset)
            .await?,
    ))
}

pub async fn cancel(
    State(state): State<ApiState>,
    Path((name, n)): Path<(String, String)>,
) -> ApiResult<BuildInfo> {
    Ok(Json(state.app.cancel_build(&name, number(&n)?)?))
}
