//! `GET /v2/token`: Docker's token endpoint. Credentials (Basic, as `docker login`
//! sends them, or Bearer) are checked here; the token carries who they belong to.
//! The requested `scope`s are not needed: each request is authorized on its own.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use super::{json_error, now_secs, AppState};
use crate::auth::token::Claims;
use crate::auth::{Access, Authentication, Credentials};

/// The token endpoint's answer (Docker reads `token`, OAuth clients `access_token`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TokenResponse {
    pub token: String,
    pub access_token: String,
    pub expires_in: u64,
    pub issued_at: String,
}

fn refused(state: &AppState, message: &str) -> Response {
    let mut response = json_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message);
    let challenge = format!("Basic realm=\"{}\"", state.config.service);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub(super) async fn token(State(state): State<AppState>, request: Request) -> Response {
    let credentials = match Credentials::from_headers(request.headers()) {
        Ok(c) => c,
        Err(e) => return refused(&state, &e.to_string()),
    };
    let sub = match state.authorizer.authenticate(&credentials).await {
        Authentication::Invalid => return refused(&state, "invalid credentials"),
        Authentication::Anonymous => None,
        Authentication::Authenticated(principal) => {
            // `docker login` only asks for a token: credentials that may not use the
            // registry at all must fail it.
            if !state
                .authorizer
                .allows(Some(&principal), &Access::Registry)
                .await
            {
                return refused(&state, "these credentials may not use the registry");
            }
            Some(principal)
        }
    };
    let now = now_secs();
    let ttl = state.config.token_ttl.as_secs().max(60);
    let claims = Claims {
        sub,
        exp: now + ttl,
    };
    let token = state.signer.issue(&claims);
    let issued_at = time::OffsetDateTime::from_unix_timestamp(now as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let body = TokenResponse {
        token: token.clone(),
        access_token: token,
        expires_in: ttl,
        issued_at,
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}
