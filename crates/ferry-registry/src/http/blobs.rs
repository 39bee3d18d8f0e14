//! Blob endpoints: reads (with `Range`), deletes, and uploads (monolithic, chunked,
//! mounts, status, cancel).

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{header, HeaderMap, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::{authorize, empty, error_response, query_pairs, query_value, set, AppState};
use crate::auth::{Access, Action};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::range::{parse_content_range, resolve_range, ChunkRange, ReadRange};
use crate::storage::fsutil::IO_BUFFER;
use crate::storage::BlobContent;

fn parse_digest(s: &str) -> Result<Digest> {
    s.parse()
        .map_err(|e: crate::digest::DigestError| RegistryError::DigestInvalid(e.to_string()))
}

pub(super) async fn blob(
    state: &AppState,
    name: &RepositoryName,
    digest: &str,
    request: Request,
) -> Result<Response> {
    let digest = parse_digest(digest)?;
    match *request.method() {
        Method::DELETE => {
            state.registry.delete_blob(name, &digest).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        Method::HEAD => {
            let size = state
                .registry
                .blob_size(name, &digest)
                .await?
                .ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
            let mut response = Response::new(Body::empty());
            blob_headers(&mut response, &digest, size);
            Ok(response)
        }
        _ => read_blob(state, name, &digest, request.headers()).await,
    }
}

fn blob_headers(response: &mut Response, digest: &Digest, length: u64) {
    set(response, "content-length", &length.to_string());
    set(response, "content-type", "application/octet-stream");
    set(response, "docker-content-digest", &digest.to_string());
    set(response, "etag", &format!("\"{digest}\""));
    set(response, "accept-ranges", "bytes");
    // Content never changes under a digest.
    set(response, "cache-control", "max-age=31536000");
}

async fn read_blob(
    state: &AppState,
    name: &RepositoryName,
    digest: &Digest,
    headers: &HeaderMap,
) -> Result<Response> {
    let (content, size) = state.registry.open_blob(name, digest).await?;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(ReadRange::Full, |v| resolve_range(v, size));
    let (start, end) = match range {
        ReadRange::Full => (0, size.checked_sub(1)),
        ReadRange::Partial { start, end } => (start, Some(end)),
        ReadRange::Unsatisfiable => {
            let mut response = empty(StatusCode::RANGE_NOT_SATISFIABLE);
            set(&mut response, "content-range", &format!("bytes */{size}"));
            return Ok(response);
        }
    };
    // Bytes [start, end]; an empty blob has no last byte.
    let length = end.map_or(0, |end| end - start + 1);
    let body = match content {
        BlobContent::Bytes(bytes) => {
            // Within the blob: resolve_range only yields ranges inside `size`.
            let from = usize::try_from(start)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let to = usize::try_from(start + length)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            Body::from(bytes.slice(from..to))
        }
        BlobContent::File(file) => {
            let mut file = tokio::fs::File::from_std(file);
            if start > 0 {
                file.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(|e| RegistryError::io("read blob", e))?;
            }
            Body::from_stream(ReaderStream::with_capacity(file.take(length), IO_BUFFER))
        }
    };
    let mut response = Response::new(body);
    blob_headers(&mut response, digest, length);
    if let ReadRange::Partial { start, end } = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        set(
            &mut response,
            "content-range",
            &format!("bytes {start}-{end}/{size}"),
        );
    }
    Ok(response)
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>> {
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| RegistryError::SizeInvalid("Content-Length is not a number".into())),
    }
}

/// The chunk range of a request, if it has one; an unreadable one is out of order
/// by definition (416).
fn chunk_range(headers: &HeaderMap) -> Result<Option<ChunkRange>> {
    match headers.get(header::CONTENT_RANGE) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(parse_content_range)
            .map(Some)
            .ok_or_else(|| {
                RegistryError::ChunkOutOfOrder("Content-Range is not <start>-<end>".into())
            }),
    }
}

fn upload_location(name: &RepositoryName, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// `Range: 0-<last byte>` as Distribution sends it (`0-0` for an empty upload).
fn range_header(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn progress(status: StatusCode, name: &RepositoryName, id: &str, size: u64) -> Response {
    let mut response = empty(status);
    set(&mut response, "location", &upload_location(name, id));
    set(&mut response, "range", &range_header(size));
    set(&mut response, "docker-upload-uuid", id);
    response
}

fn created_blob(name: &RepositoryName, digest: &Digest) -> Response {
    let mut response = empty(StatusCode::CREATED);
    set(
        &mut response,
        "location",
        &format!("/v2/{name}/blobs/{digest}"),
    );
    set(&mut response, "docker-content-digest", &digest.to_string());
    response
}

/// `POST /v2/<name>/blobs/uploads/`: a mount, a whole blob, or a new session.
pub(super) async fn start_upload(
    state: &AppState,
    name: &RepositoryName,
    request: Request,
) -> Result<Response> {
    let pairs = query_pairs(request.uri().query());
    if let Some(mount) = query_value(&pairs, "mount") {
        let digest = parse_digest(mount)?;
        let from = query_value(&pairs, "from").and_then(|f| f.parse::<RepositoryName>().ok());
        if let Some(from) = from {
            let access = Access::Repository {
                name: from.clone(),
                action: Action::Pull,
            };
            // Without pull access on `from`, the client just uploads (no existence leak).
            if authorize(state, request.headers(), access).await.is_ok()
                && state
                    .registry
                    .mount_blob(name, &from, &digest)
                    .await?
                    .is_some()
            {
                return Ok(created_blob(name, &digest));
            }
        }
    } else if let Some(digest) = query_value(&pairs, "digest") {
        let digest = parse_digest(digest)?;
        let length = content_length(request.headers())?;
        let body = request.into_body().into_data_stream();
        state.registry.put_blob(name, &digest, length, body).await?;
        return Ok(created_blob(name, &digest));
    }
    let id = state.registry.start_upload(name).await?;
    Ok(progress(StatusCode::ACCEPTED, name, &id, 0))
}

/// `/v2/<name>/blobs/uploads/<id>`: status, chunk, commit, cancel.
pub(super) async fn upload(
    state: &AppState,
    name: &RepositoryName,
    id: &str,
    request: Request,
) -> Result<Response> {
    let registry = &state.registry;
    let method = request.method().clone();
    let result = match method {
        Method::GET => {
            let size = registry.upload_status(name, id).await?;
            return Ok(progress(StatusCode::NO_CONTENT, name, id, size));
        }
        Method::DELETE => {
            registry.cancel_upload(name, id).await?;
            return Ok(empty(StatusCode::NO_CONTENT));
        }
        Method::PATCH => {
            let range = chunk_range(request.headers())?;
            let length = content_length(request.headers())?;
            let body = request.into_body().into_data_stream();
            registry
                .append_upload(name, id, range, length, body)
                .await
                .map(|size| progress(StatusCode::ACCEPTED, name, id, size))
        }
        _ => {
            let pairs = query_pairs(request.uri().query());
            let digest = query_value(&pairs, "digest")
                .ok_or_else(|| {
                    RegistryError::DigestInvalid("the closing PUT needs ?digest=".into())
                })
                .and_then(parse_digest)?;
            let range = chunk_range(request.headers())?;
            let length = content_length(request.headers())?;
            let body = request.into_body().into_data_stream();
            registry
                .complete_upload(name, id, &digest, Some((range, length, body)))
                .await
                .map(|_| created_blob(name, &digest))
        }
    };
    match result {
        Err(error @ RegistryError::ChunkOutOfOrder(_)) => {
            // 416 says where the upload stands, so the client can resume.
            let size = registry.upload_status(name, id).await.unwrap_or(0);
            let mut response = error_response(&error);
            set(&mut response, "location", &upload_location(name, id));
            set(&mut response, "range", &range_header(size));
            Ok(response)
        }
        other => other,
    }
}
