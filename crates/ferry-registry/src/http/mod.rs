//! The `/v2/` API as an axum [`Router`]: path routing (names contain `/`), the auth
//! check and challenge every request goes through, and spec-shaped error bodies.
//! Handlers are thin: they parse, call the [`Registry`], and shape the response.

mod blobs;
mod listing;
mod manifests;
mod token;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use crate::auth::token::TokenSigner;
use crate::auth::{Access, Action, Authorizer, Credentials};
use crate::error::RegistryError;
use crate::name::RepositoryName;
use crate::Registry;

pub use token::TokenResponse;

/// How the API presents itself to clients.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The `service` of challenges and tokens.
    pub service: String,
    /// The token endpoint's absolute URL for challenges; by default
    /// `http://<Host of the request>/v2/token`.
    pub realm: Option<String>,
    /// How long an issued token is valid (Docker wants at least 60 s).
    pub token_ttl: Duration,
    /// The key tokens are signed with; a random one when None.
    pub signer: Option<TokenSigner>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            service: "ferry-registry".to_string(),
            realm: None,
            token_ttl: Duration::from_secs(300),
            signer: None,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) registry: Registry,
    pub(crate) authorizer: Arc<dyn Authorizer>,
    pub(crate) config: Arc<HttpConfig>,
    pub(crate) signer: TokenSigner,
}

/// Why the router could not be built.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for the token key")]
pub struct RouterError(#[source] getrandom::Error);

/// The registry API: `/v2/`, `/v2/token`, `/v2/_catalog` and `/v2/<name>/…`, ready to
/// be merged into the server's router. It reads request bodies as streams, so no body
/// limit layer of the enclosing router must apply to `/v2/`.
pub fn router(
    registry: Registry,
    authorizer: Arc<dyn Authorizer>,
    mut config: HttpConfig,
) -> Result<Router, RouterError> {
    let signer = match config.signer.take() {
        Some(signer) => signer,
        None => TokenSigner::random().map_err(RouterError)?,
    };
    let state = AppState {
        registry,
        authorizer,
        config: Arc::new(config),
        signer,
    };
    Ok(Router::new()
        .route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/token", get(token::token))
        .route("/v2/_catalog", get(listing::catalog))
        .route("/v2/{*path}", any(dispatch))
        .layer(axum::middleware::map_response(api_version))
        .with_state(state))
}

async fn api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

async fn base(State(state): State<AppState>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return method_not_allowed();
    }
    match authorize(&state, request.headers(), Access::Registry).await {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], "{}").into_response(),
        Err(denied) => denied,
    }
}

/// What a `/v2/<name>/…` path addresses.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Blob(&'a str, &'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Manifest(&'a str, &'a str),
    Tags(&'a str),
    Referrers(&'a str, &'a str),
}

/// Splits the path after `/v2/`. Names may contain `/`, so the route is read from
/// the end.
fn route(path: &str) -> Option<Route<'_>> {
    if let Some(name) = path.strip_suffix("/tags/list") {
        return Some(Route::Tags(name));
    }
    let (head, last) = path.rsplit_once('/')?;
    if let Some(name) = head.strip_suffix("/blobs/uploads") {
        return Some(if last.is_empty() {
            Route::Uploads(name)
        } else {
            Route::Upload(name, last)
        });
    }
    if let Some(name) = head.strip_suffix("/blobs") {
        return Some(Route::Blob(name, last));
    }
    if let Some(name) = head.strip_suffix("/manifests") {
        return Some(Route::Manifest(name, last));
    }
    if let Some(name) = head.strip_suffix("/referrers") {
        return Some(Route::Referrers(name, last));
    }
    None
}

async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let path = request
        .uri()
        .path()
        .strip_prefix("/v2/")
        .unwrap_or_default()
        .to_string();
    let Some(route) = route(&path) else {
        return error_response(&RegistryError::NotFound(format!("no API at /v2/{path}")));
    };
    let raw_name = match route {
        Route::Blob(n, _)
        | Route::Uploads(n)
        | Route::Upload(n, _)
        | Route::Manifest(n, _)
        | Route::Tags(n)
        | Route::Referrers(n, _) => n,
    };
    let name: RepositoryName = match raw_name.parse() {
        Ok(name) => name,
        Err(e) => return error_response(&RegistryError::NameInvalid(e.to_string())),
    };
    let method = request.method().clone();
    let action = match (&route, &method) {
        (Route::Blob(..) | Route::Manifest(..), &Method::GET | &Method::HEAD) => Action::Pull,
        (Route::Tags(_) | Route::Referrers(..), &Method::GET) => Action::Pull,
        (Route::Blob(..) | Route::Manifest(..), &Method::DELETE) => Action::Delete,
        (Route::Manifest(..), &Method::PUT) => Action::Push,
        (Route::Uploads(_), &Method::POST) => Action::Push,
        (Route::Upload(..), &Method::GET | &Method::PATCH | &Method::PUT | &Method::DELETE) => {
            Action::Push
        }
        _ => return method_not_allowed(),
    };
    let access = Access::Repository {
        name: name.clone(),
        action,
    };
    if let Err(denied) = authorize(&state, request.headers(), access).await {
        return denied;
    }
    let result = match route {
        Route::Blob(_, digest) => blobs::blob(&state, &name, digest, request).await,
        Route::Uploads(_) => blobs::start_upload(&state, &name, request).await,
        Route::Upload(_, id) => {
            let id = id.to_string();
            blobs::upload(&state, &name, &id, request).await
        }
        Route::Manifest(_, reference) => {
            let reference = reference.to_string();
            manifests::manifest(&state, &name, &reference, request).await
        }
        Route::Tags(_) => listing::tags(&state, &name, request).await,
        Route::Referrers(_, digest) => {
            let digest = digest.to_string();
            listing::referrers(&state, &name, &digest, request).await
        }
    };
    result.unwrap_or_else(|e| error_response(&e))
}

fn method_not_allowed() -> Response {
    error_response(&RegistryError::MethodNotAllowed)
}

/// The spec's error body for `error`, with its status. Server-side failures are
/// logged here, once, and shown to the client without their detail.
pub(crate) fn error_response(error: &RegistryError) -> Response {
    let status = error.status();
    let code = error
        .code()
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| "UNKNOWN".into());
    let message = if status.is_server_error() {
        tracing::warn!(error = %ErrorChain(error), "registry request failed");
        "internal error; see the server's log".to_string()
    } else {
        tracing::debug!(%error, "registry request refused");
        error.to_string()
    };
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An error and its sources, for the log.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Lets the request through, or answers 401 with a challenge or 403.
pub(crate) async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    access: Access,
) -> Result<(), Response> {
    let credentials = match Credentials::from_headers(headers) {
        Ok(c) => c,
        Err(e) => {
            return Err(unauthorized(
                state,
                headers,
                &access,
                Some("invalid_request"),
                &e.to_string(),
            ))
        }
    };
    if let Credentials::Bearer(token) = &credentials {
        if TokenSigner::is_ours(token) {
            let claims = match state.signer.verify(token, now_secs()) {
                Ok(claims) => claims,
                Err(e) => {
                    return Err(unauthorized(
                        state,
                        headers,
                        &access,
                        Some("invalid_token"),
                        &e.to_string(),
                    ))
                }
            };
            let allowed = state.authorizer.allows(claims.sub.as_ref(), &access).await;
            return match (allowed, claims.sub.is_some()) {
                (true, _) => Ok(()),
                (false, true) => Err(denied(&access)),
                (false, false) => Err(unauthorized(
                    state,
                    headers,
                    &access,
                    None,
                    "authentication required",
                )),
            };
        }
    }
    match state.authorizer.authorize(&credentials, &access).await {
        crate::auth::Decision::Allow => Ok(()),
        crate::auth::Decision::Deny => Err(denied(&access)),
        crate::auth::Decision::Unauthenticated => Err(unauthorized(
            state,
            headers,
            &access,
            None,
            "authentication required",
        )),
    }
}

fn denied(access: &Access) -> Response {
    let what = match access {
        Access::Registry => "the registry".to_string(),
        Access::Catalog => "the catalog".to_string(),
        Access::Repository { name, action } => format!("{} on {name}", action.as_str()),
    };
    json_error(
        StatusCode::FORBIDDEN,
        "DENIED",
        &format!("requested access to the resource is denied: {what}"),
    )
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The scope string a challenge names for `access`.
fn scope_of(access: &Access) -> Option<String> {
    match access {
        Access::Registry => None,
        Access::Catalog => Some("registry:catalog:*".into()),
        Access::Repository { name, action } => Some(format!(
            "repository:{name}:{}",
            match action {
                Action::Pull => "pull",
                Action::Push => "pull,push",
                Action::Delete => "delete",
            }
        )),
    }
}

/// The token endpoint's URL: configured, or from the request's Host (only when it
/// looks like a host, so it cannot break out of the quoted challenge).
pub(crate) fn realm(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(realm) = &state.config.realm {
        return realm.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}/v2/token")
}

fn unauthorized(
    state: &AppState,
    headers: &HeaderMap,
    access: &Access,
    error: Option<&str>,
    message: &str,
) -> Response {
    let mut challenge = format!(
        "Bearer realm=\"{}\",service=\"{}\"",
        realm(state, headers),
        state.config.service
    );
    if let Some(scope) = scope_of(access) {
        challenge.push_str(&format!(",scope=\"{scope}\""));
    }
    if let Some(error) = error {
        challenge.push_str(&format!(",error=\"{error}\""));
    }
    let mut response = json_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Sets a header from a string the registry built (digests, names, numbers: always
/// valid header values).
pub(crate) fn set(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// An empty response with a status.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// Decodes a query string into pairs (percent-decoding, `+` as space).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default()
}

pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_from_the_end() {
        assert_eq!(route("a/b/tags/list"), Some(Route::Tags("a/b")));
        assert_eq!(route("a/blobs/uploads/"), Some(Route::Uploads("a")));
        assert_eq!(
            route("a/blobs/uploads/xyz"),
            Some(Route::Upload("a", "xyz"))
        );
        assert_eq!(
            route("a/blobs/b/blobs/sha256:x"),
            Some(Route::Blob("a/blobs/b", "sha256:x"))
        );
        assert_eq!(
            route("x/manifests/latest"),
            Some(Route::Manifest("x", "latest"))
        );
        assert_eq!(
            route("x/referrers/sha256:1"),
            Some(Route::Referrers("x", "sha256:1"))
        );
        assert_eq!(route("x/other/1"), None);
        assert_eq!(route("nothing"), None);
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode_query_value("application/vnd.x+json"),
            "application%2Fvnd.x%2Bjson"
        );
        let pairs = query_pairs(Some("scope=repository%3Aa%3Apull&scope=b&n=1"));
        assert_eq!(pairs.len(), 3);
        assert_eq!(query_value(&pairs, "scope"), Some("repository:a:pull"));
    }
}
