//! `/api/v1/images…` and `/api/v1/registry/gc` handlers: what ferry's registry holds.

use super::{ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::Json;
use ferry_api::{GcRequest, GcResult, ImageList, ImageRemoved};
use serde::Deserialize;

pub async fn list(State(state): State<ApiState>) -> ApiResult<ImageList> {
    Ok(Json(state.app.list_images(None).await?))
}

/// `GET /images/{repository}` (the repository name may hold `/`).
pub async fn list_one(
    State(state): State<ApiState>,
    Path(repository): Path<String>,
) -> ApiResult<ImageList> {
    Ok(Json(state.app.list_images(Some(&repository)).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

/// `DELETE /images/{reference}`: `REPO:TAG` or `REPO@DIGEST`.
pub async fn remove(
    State(state): State<ApiState>,
    Path(reference): Path<String>,
    Query(query): Query<RemoveQuery>,
) -> ApiResult<ImageRemoved> {
    Ok(Json(state.app.remove_image(&reference, query.force).await?))
}

pub async fn gc(
    State(state): State<ApiState>,
    body: Option<Json<GcRequest>>,
) -> ApiResult<GcResult> {
    let request = body.map(|Json(request)| request).unwrap_or_default();
    Ok(Json(state.app.registry_gc(request).await?))
}
