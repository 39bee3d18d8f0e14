//! A minimal OCI-distribution registry on 127.0.0.1 for pull tests: serves one OCI
//! layout behind a Bearer token challenge (token realm wants Basic credentials).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{gzip, oci_layout, LayerBuilder};
use crate::image::{Image, ImageError, ImageFs, ImageSource, RegistryOptions};

struct Served {
    /// `/v2/...` path → (content type, body).
    routes: HashMap<String, (String, Vec<u8>)>,
}

async fn serve(listener: tokio::net::TcpListener, served: Arc<Served>, port: u16) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let served = served.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf).to_string();
            let target = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            let auth = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: ")
                        .or_else(|| l.strip_prefix("Authorization: "))
                })
                .unwrap_or("")
                .trim()
                .to_string();
            let (status, headers, body) = if target.starts_with("/token?") {
                let want = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
                );
                if auth == want && target.contains("scope=repository%3Atest%2Fapp%3Apull") {
                    (
                        "200 OK",
                        vec![("Content-Type".to_string(), "application/json".to_string())],
                        br#"{"token":"t0k"}"#.to_vec(),
                    )
                } else {
                    ("401 Unauthorized", vec![], b"bad credentials".to_vec())
                }
            } else if auth != "Bearer t0k" {
                let challenge = format!(
                    r#"Bearer realm="http://127.0.0.1:{port}/token",service="test-registry",scope="repository:test/app:pull""#
                );
                (
                    "401 Unauthorized",
                    vec![("WWW-Authenticate".to_string(), challenge)],
                    b"{}".to_vec(),
                )
            } else {
                match served.routes.get(&target) {
                    Some((ct, body)) => (
                        "200 OK",
                        vec![("Content-Type".to_string(), ct.clone())],
                        body.clone(),
                    ),
                    None => (
                        "404 Not Found",
                        vec![],
                        b"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}".to_vec(),
                    ),
                }
            };
            let mut response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                response.push_str(&format!("{k}: {v}\r\n"));
            }
            response.push_str("\r\n");
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// Builds routes from an OCI layout written by the fixtures.
fn routes_from_layout(
    dir: &std::path::Path,
    corrupt_layers: bool,
) -> HashMap<String, (String, Vec<u8>)> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(&d[7..])).unwrap();
    let manifest = blob(&manifest_digest);
    let parsed: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let mut routes = HashMap::new();
    let manifest_type = "application/vnd.oci.image.manifest.v1+json".to_string();
    routes.insert(
        "/v2/test/app/manifests/v1".to_string(),
        (manifest_type.clone(), manifest.clone()),
    );
    routes.insert(
        format!("/v2/test/app/manifests/{manifest_digest}"),
        (manifest_type, manifest),
    );
    let config = parsed["config"]["digest"].as_str().unwrap();
    routes.insert(
        format!("/v2/test/app/blobs/{config}"),
        ("application/octet-stream".into(), blob(config)),
    );
    for layer in parsed["layers"].as_array().unwrap() {
        let d = layer["digest"].as_str().unwrap();
        let mut bytes = blob(d);
        if corrupt_layers {
            bytes.push(0);
        }
        routes.insert(
            format!("/v2/test/app/blobs/{d}"),
            ("application/octet-stream".into(), bytes),
        );
    }
    routes
}

async fn start(corrupt: bool) -> (u16, tempfile::TempDir) {
    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n")
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    oci_layout(
        tmp.path(),
        &[(
            layer.clone(),
            gzip(&layer),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(Served {
        routes: routes_from_layout(tmp.path(), corrupt),
    });
    tokio::spawn(serve(listener, served, port));
    (port, tmp)
}

fn creds() -> RegistryOptions {
    RegistryOptions {
        username: Some("alice".into()),
        password: Some("s3cret".into()),
        ..RegistryOptions::default()
    }
}

#[tokio::test]
async fn registry_pull_follows_bearer_challenge() {
    let (port, _layout) = start(false).await;
    let source = ImageSource::Registry(format!("127.0.0.1:{port}/test/app:v1"));
    let image = Image::fetch(&source, &creds()).await.unwrap();
    assert!(image.manifest_digest.is_some());
    let scratch = image._scratch.as_ref().unwrap().path().to_path_buf();
    let fs = tokio::task::spawn_blocking(move || ImageFs::from_image(image).unwrap())
        .await
        .unwrap();
    assert_eq!(
        fs.read("/etc/os-release").unwrap(),
        b"ID=alpine\nVERSION_ID=3.19.1\n"
    );
    drop(fs);
    assert!(
        !scratch.exists(),
        "scratch blobs are removed with the image"
    );
}

#[tokio::test]
async fn registry_pull_without_credentials_fails_clearly() {
    let (port, _layout) = start(false).await;
    let source = ImageSource::Registry(format!("127.0.0.1:{port}/test/app:v1"));
    let err = Image::fetch(&source, &RegistryOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ImageError::Registry { .. }), "{err}");
    assert!(err.to_string().contains("token from"), "{err}");
}

#[tokio::test]
async fn registry_blob_digest_mismatch_is_refused() {
    let (port, _layout) = start(true).await;
    let source = ImageSource::Registry(format!("127.0.0.1:{port}/test/app:v1"));
    let err = Image::fetch(&source, &creds()).await.unwrap_err();
    assert!(matches!(err, ImageError::Digest { .. }), "{err}");
}
