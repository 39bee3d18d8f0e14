//! `GET /v2/token`: Docker's token endpoint. Credentials (Basic, as `docker login`
//! sends them, or Bearer) are checked once here; the token carries who they belong
//! to and the requested scopes the authorizer grants.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use super::{json_error, now_secs, query_pairs, AppState};
use crate::auth::token::{Claims, Scope};
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
    let pairs = query_pairs(request.uri().query());
    let scopes = Scope::parse_all(
        pairs
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str()),
    );
    let now = now_secs();
    let ttl = state.config.token_ttl.as_secs().max(60);
    let mut claims = Claims {
        sub,
        exp: now + ttl,
        repositories: Vec::new(),
        catalog: false,
    };
    for scope in scopes {
        match scope {
            Scope::Catalog => {
                claims.catalog = state
                    .authorizer
                    .allows(claims.sub.as_ref(), &Access::Catalog)
                    .await;
            }
            Scope::Repository { name, actions } => {
                let mut granted = Vec::new();
                for action in actions {
                    let access = Access::Repository {
                        name: name.clone(),
                        action,
                    };
                    if state.authorizer.allows(claims.sub.as_ref(), &access).await {
                        granted.push(action);
                    }
                }
                if !granted.is_empty() {
                    claims.repositories.push((name.to_string(), granted));
                }
            }
        }
    }
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
