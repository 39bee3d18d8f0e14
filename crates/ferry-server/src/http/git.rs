//! Git over HTTP: ferry's remote (`/git/<service>.git/…`, served by `git
//! http-backend`, the admin token as the Basic password), the calls its `pre-receive`
//! hook makes (`POST /api/v1/services/{name}/git/pushed` and `…/git/abandon`), and
//! forge webhooks (`POST /hooks/git/{name}`, verified by the service's secret, not
//! the token).

use super::{ApiResult, ApiState};
use crate::app::git::WebhookOutcome;
use crate::git::http::{serve, BackendRequest, OnExit};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api::{
    GitAbandon, GitAbandoned, GitCredential, GitCredentialView, GitPushed, GitTriggered,
};

/// How much longer than the push timeout a push's `git http-backend` may run.
const HOOK_MARGIN: std::time::Duration = std::time::Duration::from_secs(120);
/// The least time any request to ferry's git remote may take.
const MIN_REQUEST_TIME: std::time::Duration = std::time::Duration::from_secs(3600);

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "ferry: authentication required (any user name, the admin token as password)\n",
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"ferry\""),
    );
    response
}

/// `/git/{repo}/{*rest}`: `repo` is `<service>.git`.
pub async fn remote(
    State(state): State<ApiState>,
    Path((repo, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(super::token_from_authorization);
    if !presented.is_some_and(|t| super::constant_time_eq(t.as_bytes(), state.token.as_bytes())) {
        return unauthorized();
    }
    let Some(name) = repo.strip_suffix(".git") else {
        return (
            StatusCode::NOT_FOUND,
            "ferry: git remotes are /git/<service>.git\n",
        )
            .into_response();
    };
    // Only the smart protocol's three endpoints: nothing else of the repository's
    // files is served.
    if !matches!(
        rest.as_str(),
        "info/refs" | "git-upload-pack" | "git-receive-pack"
    ) {
        return (
            StatusCode::NOT_FOUND,
            "ferry: not a smart HTTP git endpoint\n",
        )
            .into_response();
    }
    if let Err(err) = state.app.git_remote(name).await {
        return (StatusCode::NOT_FOUND, format!("ferry: {err}\n")).into_response();
    }
    let (parts, body) = request.into_parts();
    // A push's deployment is the hook's to accept or give up; if the hook never says
    // (killed outright), the end of this request gives it up.
    let push = crate::app::PushId::new();
    let on_exit = {
        let (app, push) = (std::sync::Arc::clone(&state.app), push.clone());
        OnExit::new(move || app.git_push_ended(&push))
    };
    let hook_program = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let env = vec![
        ("FERRY_HOOK_PROGRAM".to_string(), hook_program),
        (
            "FERRY_HOOK_URL".to_string(),
            format!("http://{}", state.api_addr),
        ),
        ("FERRY_HOOK_TOKEN".to_string(), state.token.to_string()),
        ("FERRY_HOOK_SERVICE".to_string(), name.to_string()),
        ("FERRY_HOOK_PUSH".to_string(), push.as_str().to_string()),
        (
            "FERRY_HOOK_TIMEOUT".to_string(),
            state.git_push_timeout.as_secs().to_string(),
        ),
    ];
    serve(
        BackendRequest {
            project_root: state.app.data.git(),
            path_info: format!("/{name}.git/{rest}"),
            method: parts.method,
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts.headers,
            env,
            // The hook gives up at its timeout; the margin covers giving the
            // deployment up and git's own work after it. Clones of large
            // repositories get an hour whatever the push timeout.
            max_time: (state.git_push_timeout + HOOK_MARGIN).max(MIN_REQUEST_TIME),
            on_exit: Some(on_exit),
        },
        Body::new(body),
    )
    .await
}

pub async fn pushed(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(pushed): Json<GitPushed>,
) -> ApiResult<GitTriggered> {
    Ok(Json(
        state
            .app
            .git_pushed(
                &name,
                &pushed.updates,
                pushed.quarantine.as_deref(),
                pushed.push.as_deref(),
            )
            .await?,
    ))
}

pub async fn abandon(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(abandon): Json<GitAbandon>,
) -> ApiResult<GitAbandoned> {
    Ok(Json(state.app.git_abandon(
        &name,
        abandon.revision,
        &abandon.reason,
    )?))
}

/// `GET /git/credentials`: origins and user names, never passwords.
pub async fn credentials(State(state): State<ApiState>) -> ApiResult<Vec<GitCredentialView>> {
    Ok(Json(state.app.git_credentials().await?))
}

/// `PUT /git/credentials`.
pub async fn set_credential(
    State(state): State<ApiState>,
    Json(request): Json<GitCredential>,
) -> ApiResult<GitCredentialView> {
    Ok(Json(state.app.set_git_credential(request).await?))
}

#[derive(serde::Deserialize)]
pub struct CredentialQuery {
    url: String,
}

/// `DELETE /git/credentials?url=…`.
pub async fn remove_credential(
    State(state): State<ApiState>,
    axum::extract::Query(query): axum::extract::Query<CredentialQuery>,
) -> ApiResult<serde_json::Value> {
    state.app.remove_git_credential(&query.url).await?;
    Ok(Json(serde_json::json!({ "removed": query.url })))
}

/// `POST /hooks/git/{name}`: 401 for a missing or wrong signature, 202 otherwise.
pub async fn webhook(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let message = |status: StatusCode, text: String| {
        (status, Json(serde_json::json!({ "message": text }))).into_response()
    };
    match state.app.git_webhook(&name, &headers, &body) {
        Ok(WebhookOutcome::Unauthorized) => super::error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong webhook signature",
        ),
        Ok(WebhookOutcome::Ignored(text)) => message(StatusCode::ACCEPTED, text),
        Ok(WebhookOutcome::Queued(text)) => message(StatusCode::ACCEPTED, text),
        Err(err) => super::ApiError(err).into_response(),
    }
}
