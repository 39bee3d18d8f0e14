//! Manifest endpoints: GET/HEAD with `Accept` negotiation, PUT (bounded body),
//! DELETE by tag or digest.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{header, Method, StatusCode};

use super::{empty, set, AppState};
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::{Reference, ReferenceError, RepositoryName};

fn parse_reference(s: &str) -> Result<Reference> {
    Reference::parse(s).map_err(|e| match e {
        ReferenceError::Digest(e) => RegistryError::DigestInvalid(e.to_string()),
        ReferenceError::Tag(e) => RegistryError::ManifestInvalid(e.to_string()),
    })
}

pub(super) async fn manifest(
    state: &AppState,
    name: &RepositoryName,
    reference: &str,
    request: Request,
) -> Result<Response> {
    let reference = parse_reference(reference)?;
    match *request.method() {
        Method::PUT => put(state, name, &reference, request).await,
        Method::DELETE => {
            state.registry.delete_manifest(name, &reference).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        _ => get(state, name, &reference, request).await,
    }
}

async fn get(
    state: &AppState,
    name: &RepositoryName,
    reference: &Reference,
    request: Request,
) -> Result<Response> {
    let stored = state.registry.get_manifest(name, reference).await?;
    // By digest the client asked for exactly this content; by tag it must accept the
    // type (a registry cannot convert formats, and handing an OCI manifest to a
    // client that only reads Docker's would fail later and less clearly).
    if let Reference::Tag(_) = reference {
        let accept: Vec<&str> = request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !manifest::accepts(&accept, &stored.media_type) {
            return Err(RegistryError::ManifestUnknown(format!(
                "{name}:{reference} is a {}, which the request's Accept header does not list",
                stored.media_type
            )));
        }
    }
    let length = stored.body.len();
    let body = if request.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(stored.body)
    };
    let mut response = Response::new(body);
    set(&mut response, "content-type", &stored.media_type);
    set(&mut response, "content-length", &length.to_string());
    set(
        &mut response,
        "docker-content-digest",
        &stored.digest.to_string(),
    );
    set(&mut response, "etag", &format!("\"{}\"", stored.digest));
    Ok(response)
}

async fn put(
    state: &AppState,
    name: &RepositoryName,
    reference: &Reference,
    request: Request,
) -> Result<Response> {
    let max = state.registry.limits().max_manifest_bytes;
    let too_large = || RegistryError::TooLarge(format!("manifests are limited to {max} bytes"));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = request.into_body().into_data_stream();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| RegistryError::Body(e.to_string()))?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let body: Bytes = bytes.freeze();
    let pushed = state
        .registry
        .put_manifest(name, reference, content_type.as_deref(), body)
        .await?;
    let mut response = empty(StatusCode::CREATED);
    set(
        &mut response,
        "location",
        &format!("/v2/{name}/manifests/{}", pushed.digest),
    );
    set(
        &mut response,
        "docker-content-digest",
        &pushed.digest.to_string(),
    );
    if let Some(subject) = &pushed.subject {
        set(&mut response, "oci-subject", &subject.to_string());
    }
    Ok(response)
}
