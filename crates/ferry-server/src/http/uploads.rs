//! `POST /api/v1/uploads`: a source archive, streamed to disk.

use super::{ApiError, ApiState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// `sha256:<hex>` the content must have.
    digest: Option<String>,
}

pub use ferry_api::Uploaded;

pub async fn upload(
    State(state): State<ApiState>,
    Query(query): Query<UploadQuery>,
    body: Body,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let digest = state
        .app
        .store_upload(body.into_data_stream(), query.digest.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(Uploaded { digest })))
}
