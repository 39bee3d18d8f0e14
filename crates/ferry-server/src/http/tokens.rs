//! `/api/v1/tokens…` handlers: scoped tokens for ferry's registry.

use super::{ApiResult, ApiState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferry_api::{CreateTokenRequest, CreatedToken, RegistryToken};

pub async fn create(
    State(state): State<ApiState>,
    Json(request): Json<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), super::ApiError> {
    Ok((StatusCode::CREATED, Json(state.app.create_token(request)?)))
}

pub async fn list(State(state): State<ApiState>) -> ApiResult<Vec<RegistryToken>> {
    Ok(Json(state.app.list_tokens()?))
}

pub async fn revoke(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<RegistryToken> {
    Ok(Json(state.app.revoke_token(&id)?))
}
