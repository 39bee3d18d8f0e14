//! Listings: tags (`n`, `last`, `Link`), the catalog, and referrers (an image index,
//! `artifactType` filter, `OCI-Filters-Applied`).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header;

use super::{
    authorize, encode_query_value, error_response, query_pairs, query_value, set, AppState,
};
use crate::auth::Access;
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::manifest::OCI_INDEX;
use crate::name::RepositoryName;

/// `n` and `last` of a listing request.
fn paging(pairs: &[(String, String)]) -> Result<(Option<usize>, Option<String>)> {
    let n = match query_value(pairs, "n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            RegistryError::BadRequest(format!("n={n:?} is not a non-negative integer"))
        })?),
    };
    let last = query_value(pairs, "last")
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    Ok((n, last))
}

fn json(value: serde_json::Value, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], value.to_string()).into_response()
}

pub(super) async fn tags(
    state: &AppState,
    name: &RepositoryName,
    request: Request,
) -> Result<Response> {
    let (n, last) = paging(&query_pairs(request.uri().query()))?;
    let page = state.registry.list_tags(name, n, last.as_deref()).await?;
    let next = page.more.then(|| page.items.last().cloned()).flatten();
    let mut response = json(
        serde_json::json!({"name": name.as_str(), "tags": page.items}),
        "application/json",
    );
    if let Some(last) = next {
        let n = n.unwrap_or(state.registry.limits().page_size);
        set(
            &mut response,
            "link",
            &format!(
                "</v2/{name}/tags/list?n={n}&last={}>; rel=\"next\"",
                encode_query_value(&last)
            ),
        );
    }
    Ok(response)
}

pub(super) async fn catalog(State(state): State<AppState>, request: Request) -> Response {
    if let Err(denied) = authorize(&state, request.headers(), Access::Catalog).await {
        return denied;
    }
    let pairs = query_pairs(request.uri().query());
    drop(request);
    let result = async {
        let (n, last) = paging(&pairs)?;
        let page = state.registry.list_repositories(n, last.as_deref()).await?;
        let next = page.more.then(|| page.items.last().cloned()).flatten();
        let mut response = json(
            serde_json::json!({"repositories": page.items}),
            "application/json",
        );
        if let Some(last) = next {
            let n = n.unwrap_or(state.registry.limits().page_size);
            set(
                &mut response,
                "link",
                &format!(
                    "</v2/_catalog?n={n}&last={}>; rel=\"next\"",
                    encode_query_value(&last)
                ),
            );
        }
        Ok::<_, RegistryError>(response)
    }
    .await;
    result.unwrap_or_else(|e| error_response(&e))
}

pub(super) async fn referrers(
    state: &AppState,
    name: &RepositoryName,
    digest: &str,
    request: Request,
) -> Result<Response> {
    let subject: Digest = digest
        .parse()
        .map_err(|e: crate::digest::DigestError| RegistryError::DigestInvalid(e.to_string()))?;
    let pairs = query_pairs(request.uri().query());
    let artifact_type = query_value(&pairs, "artifactType").filter(|t| !t.is_empty());
    let last = query_value(&pairs, "last").filter(|l| !l.is_empty());
    let page = state
        .registry
        .referrers(name, &subject, artifact_type, last)
        .await?;
    let mut response = json(
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": page.descriptors,
        }),
        OCI_INDEX,
    );
    if artifact_type.is_some() {
        set(&mut response, "oci-filters-applied", "artifactType");
    }
    if let Some(next) = page.next {
        let mut link = format!(
            "</v2/{name}/referrers/{subject}?last={}",
            encode_query_value(&next)
        );
        if let Some(t) = artifact_type {
            link.push_str(&format!("&artifactType={}", encode_query_value(t)));
        }
        link.push_str(">; rel=\"next\"");
        set(&mut response, "link", &link);
    }
    Ok(response)
}
