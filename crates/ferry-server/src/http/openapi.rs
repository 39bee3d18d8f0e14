//! The OpenAPI 3.1 document of `/api/v1`, generated from one catalogue of routes (the
//! same list the auth test walks, so a new route cannot be forgotten there).

use super::ApiState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

/// One documented route.
pub struct ApiRoute {
    pub method: &'static str,
    /// Path under `/api/v1`, with `{param}` placeholders.
    pub path: &'static str,
    pub summary: &'static str,
    /// Whether the request has a JSON body.
    pub json_body: bool,
    /// Success status.
    pub status: u16,
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    json_body: bool,
    status: u16,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        summary,
        json_body,
        status,
    }
}

/// Every route of the API.
pub const ROUTES: &[ApiRoute] = &[
    route("get", "/openapi.json", "This document", false, 200),
    route("get", "/status", "Server version, runtimes and counts", false, 200),
    route("get", "/services", "List services", false, 200),
    route("get", "/services/{name}", "Describe a service with its instances, metrics and last operation", false, 200),
    route("delete", "/services/{name}", "Delete a service (operation)", false, 202),
    route("post", "/services/{name}/deployments", "Deploy a new revision from an upload, an image or a git branch, creating the service if needed (operation)", true, 202),
    route("post", "/services/{name}/rollback", "Re-activate an earlier revision (operation)", true, 202),
    route("post", "/services/{name}/pause", "Stop all instances; the router answers 503 (operation)", false, 202),
    route("post", "/services/{name}/resume", "Start instances again (operation)", false, 202),
    route("put", "/services/{name}/scaling", "Set scaling overrides (min, max, concurrency, autoscaler windows, queue) without a new revision; answers the autoscaler's status", true, 200),
    route("get", "/services/{name}/revisions", "List revisions, newest first", false, 200),
    route("get", "/services/{name}/revisions/{number}", "One revision", false, 200),
    route("get", "/services/{name}/instances", "Running instances, restarts and last exit", false, 200),
    route("get", "/services/{name}/metrics", "Request count and latency through the router", false, 200),
    route("get", "/services/{name}/report", "Shared-responsibility view with the security reports of the active revision", false, 200),
    route("get", "/services/{name}/operations", "Operations of a service, newest first", false, 200),
    route("get", "/services/{name}/logs", "Instance and build logs as NDJSON; `follow=true` streams", false, 200),
    route("get", "/services/{name}/builds", "Builds of a service (revision, commit, state, start, duration), newest first", false, 200),
    route("get", "/services/{name}/builds/{number}/log", "A piece of a build's log (`offset=<bytes>`; at most 64 KiB, whole lines)", false, 200),
    route("post", "/services/{name}/builds/{number}/cancel", "Cancel a pending or running build (the running revision keeps serving)", true, 200),
    route("post", "/services/{name}/git/pushed", "Refs a push to ferry's git remote is about to update (sent by its pre-receive hook): builds the followed branch's new head from the push's quarantine", true, 200),
    route("post", "/services/{name}/git/abandon", "A push's pre-receive hook rejects it after its deployment started: the deployment is given up unless the revision already serves", true, 200),
    route("get", "/git/credentials", "Origins with a stored credential for private git remotes, with their user names (never the passwords)", false, 200),
    route("put", "/git/credentials", "Store the credential ferry reads a private http(s) git remote with (`{url, username, password}`; one per origin)", true, 200),
    route("delete", "/git/credentials", "Remove the credential of an origin (`url=<scheme://host[:port]>`)", false, 200),
    route("get", "/operations", "All operations, newest first", false, 200),
    route("get", "/operations/{id}", "One operation with its event timeline (`after=<seq>` for new events)", false, 200),
    route("get", "/tokens", "Scoped registry tokens (never their secrets)", false, 200),
    route("post", "/tokens", "Create a registry token with pull and push repository globs; the answer holds its secret, shown once", true, 201),
    route("delete", "/tokens/{id}", "Revoke a registry token (effective at once)", false, 200),
    route("get", "/images", "Repositories of ferry's registry with their tags, digests and sizes", false, 200),
    route("get", "/images/{repository}", "One repository's tags, digests and sizes (the name may hold '/')", false, 200),
    route("delete", "/images/{reference}", "Remove REPO:TAG or REPO@DIGEST (`force=true` for a manifest a revision uses)", false, 200),
    route("post", "/registry/gc", "Collect the registry's garbage now, keeping what revisions use", true, 200),
    route("post", "/uploads", "Upload a source archive (.tar.gz); returns its sha256 digest", false, 201),
];

/// Builds the document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(format!("/api/v1{}", route.path))
            .or_insert_with(|| json!({}));
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                route.status.to_string(): {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "default": {"$ref": "#/components/responses/Error"},
            },
        });
        if route.json_body {
            operation["requestBody"] = json!({
                "required": false,
                "content": {"application/json": {"schema": {"type": "object"}}}
            });
        }
        if route.path == "/uploads" {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}}
            });
        }
        entry[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ferry API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Deploy, route and operate services on a ferry server. Every route needs the admin token."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "Stable machine-readable code: unauthorized, not_found, conflict, invalid_config, bad_request, payload_too_large, runtime_unavailable, internal"},
                        "message": {"type": "string"}
                    }
                }
            },
            "responses": {
                "Unauthorized": {"description": "Missing or wrong token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}

pub async fn serve(State(_state): State<ApiState>) -> Json<Value> {
    Json(document())
}
