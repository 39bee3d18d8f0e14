//! Drives the registry's router in-process (tower `oneshot`) against a temp store.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use ferry_registry::auth::{Access, Action, Authentication, Authorizer, Credentials, Principal};
use ferry_registry::http::{router, HttpConfig};
use ferry_registry::{Algorithm, Digest, Limits, Registry};
use http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;

pub const ADMIN: &str = "admin-token";
pub const PULL_ONLY: &str = "pull-token";

/// The admin token may do everything; `pull-token` may pull anything; anonymous may
/// pull `public/*`.
pub struct TestAuthorizer;

#[async_trait::async_trait]
impl Authorizer for TestAuthorizer {
    async fn authenticate(&self, credentials: &Credentials) -> Authentication {
        match credentials.secret() {
            None => Authentication::Anonymous,
            Some(ADMIN) => Authentication::Authenticated(Principal("admin".into())),
            Some(PULL_ONLY) => Authentication::Authenticated(Principal("puller".into())),
            Some(_) => Authentication::Invalid,
        }
    }

    async fn allows(&self, principal: Option<&Principal>, access: &Access) -> bool {
        match (principal.map(|p| p.0.as_str()), access) {
            (Some("admin"), _) => true,
            (Some("puller"), Access::Registry) => true,
            (
                Some("puller"),
                Access::Repository {
                    action: Action::Pull,
                    ..
                },
            ) => true,
            (
                None,
                Access::Repository {
                    name,
                    action: Action::Pull,
                },
            ) => name.as_str().starts_with("public/"),
            _ => false,
        }
    }
}

pub struct Api {
    pub app: Router,
    pub registry: Registry,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The first error code of a spec error body.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Api {
    pub fn new() -> Api {
        Api::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path().join("registry"), limits).unwrap();
        let app = router(
            registry.clone(),
            Arc::new(TestAuthorizer),
            HttpConfig::default(),
        )
        .unwrap();
        Api { app, registry, dir }
    }

    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request as the admin.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut all: Vec<(&str, String)> = vec![("authorization", format!("Bearer {ADMIN}"))];
        all.extend(headers.iter().map(|(k, v)| (*k, v.to_string())));
        self.send_as(method, uri, &all, body).await
    }

    pub async fn send_as(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, String)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "registry.test:5000");
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        self.raw(request.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], Body::empty()).await
    }

    /// Uploads a blob monolithically (POST then PUT) and returns its digest.
    pub async fn push_blob(&self, repo: &str, content: &[u8]) -> Digest {
        let digest = Digest::of(Algorithm::Sha256, content);
        let start = self
            .send(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(start.status, StatusCode::ACCEPTED);
        let location = start.header("location").unwrap();
        let done = self
            .send(
                Method::PUT,
                &format!("{location}?digest={digest}"),
                &[("content-type", "application/octet-stream")],
                content.to_vec(),
            )
            .await;
        assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
        digest
    }

    /// Pushes an image (config + one layer) under `tag`; returns the manifest's digest
    /// and its bytes.
    pub async fn push_image(&self, repo: &str, tag: &str, seed: &str) -> (Digest, Vec<u8>) {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
        let layer = format!("layer of {seed}");
        let config_digest = self.push_blob(repo, config.as_bytes()).await;
        let layer_digest = self.push_blob(repo, layer.as_bytes()).await;
        let manifest = image_manifest(
            &config_digest,
            config.len(),
            &layer_digest,
            layer.len(),
            None,
        );
        let reply = self
            .send(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{tag}"),
                &[("content-type", OCI_MANIFEST)],
                manifest.clone(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        (Digest::of(Algorithm::Sha256, &manifest), manifest)
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

pub fn image_manifest(
    config: &Digest,
    config_size: usize,
    layer: &Digest,
    layer_size: usize,
    subject: Option<(&Digest, usize)>,
) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.to_string(), "size": layer_size}],
    });
    if let Some((subject, size)) = subject {
        manifest["subject"] = serde_json::json!({"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": size});
    }
    serde_json::to_vec(&manifest).unwrap()
}
pub mod process;
