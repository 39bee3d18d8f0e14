//! `/api/v1/operations…` handlers.

use super::{ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::Json;
use ferry_types::Operation;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    50
}

#[derive(Debug, Deserialize)]
pub struct GetQuery {
    /// Only events after this sequence number (for streaming by polling).
    #[serde(default)]
    after: i64,
}

pub async fn list(
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Vec<Operation>> {
    Ok(Json(state.app.list_operations(None, query.limit)?))
}

pub async fn for_service(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Vec<Operation>> {
    Ok(Json(state.app.list_operations(Some(&name), query.limit)?))
}

pub async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(query): Query<GetQuery>,
) -> ApiResult<Operation> {
    Ok(Json(state.app.get_operation(&id, query.after)?))
}
