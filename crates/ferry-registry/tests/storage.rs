//! The store on its own: garbage collection (reachability, pins, grace, uploads,
//! leftovers of crashes) and upload sessions that survive a reopen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use ferry_registry::{Algorithm, Digest, GcOptions, Limits, Registry};
use http::{Method, StatusCode};
use support::*;

fn now_options() -> GcOptions {
    GcOptions {
        grace: Some(Duration::ZERO),
        ..GcOptions::default()
    }
}

fn blob_path(api: &Api, digest: &Digest) -> std::path::PathBuf {
    api.dir
        .path()
        .join("registry/blobs")
        .join(digest.algorithm().as_str())
        .join(&digest.hex()[..2])
        .join(digest.hex())
}

#[tokio::test]
async fn gc_removes_only_unreachable_content() {
    let api = Api::new();
    let (manifest, body) = api.push_image("app", "v1", "kept").await;
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let layer: Digest = parsed["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let orphan = api.push_blob("app", b"nobody references me").await;

    // Within the grace period nothing goes, not even the orphan.
    let report = api.registry.gc(&GcOptions::default()).await.unwrap();
    assert_eq!(report.blobs_removed, 0);
    assert!(blob_path(&api, &orphan).exists());

    let report = api.registry.gc(&now_options()).await.unwrap();
    assert_eq!(report.blobs_removed, 1, "{report:?}");
    assert_eq!(report.links_removed, 1);
    assert!(!blob_path(&api, &orphan).exists());
    assert!(blob_path(&api, &layer).exists());
    assert!(blob_path(&api, &manifest).exists());
    let head = api
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{orphan}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/v2/app/manifests/v1").await.status, StatusCode::OK);
    assert_eq!(
        api.get(&format!("/v2/app/blobs/{layer}")).await.status,
        StatusCode::OK
    );

    // A dry run counts without removing.
    api.send(
        Method::DELETE,
        &format!("/v2/app/manifests/{manifest}"),
        &[],
        Body::empty(),
    )
    .await;
    let dry = api
        .registry
        .gc(&GcOptions {
            dry_run: true,
            ..now_options()
        })
        .await
        .unwrap();
    assert_eq!(dry.blobs_removed, 3, "{dry:?}");
    assert!(blob_path(&api, &layer).exists());

    // Once its manifest is deleted, the image goes.
    let report = api.registry.gc(&now_options()).await.unwrap();
    assert_eq!(
        report.blobs_removed, 3,
        "manifest, config, layer: {report:?}"
    );
    assert!(!blob_path(&api, &layer).exists());
}

#[tokio::test]
async fn gc_keeps_pinned_revisions_and_what_indexes_reach() {
    let api = Api::new();
    let (pinned, body) = api.push_image("app", "v1", "rollback target").await;
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let layer: Digest = parsed["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    api.send(
        Method::DELETE,
        &format!("/v2/app/manifests/{pinned}"),
        &[],
        Body::empty(),
    )
    .await;
    let options = GcOptions {
        pinned: [pinned.clone()].into_iter().collect(),
        ..now_options()
    };
    let report = api.registry.gc(&options).await.unwrap();
    assert_eq!(report.blobs_removed, 0, "{report:?}");
    assert!(blob_path(&api, &layer).exists());

    // An index keeps its child's layers even after the child's own delete.
    let (child, child_body) = api.push_image("multi", "child", "child").await;
    let child_layer: Digest = serde_json::from_slice::<serde_json::Value>(&child_body).unwrap()
        ["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child.to_string(), "size": child_body.len()}],
    })
    .to_string();
    let put = api
        .send(
            Method::PUT,
            "/v2/multi/manifests/all",
            &[("content-type", OCI_INDEX)],
            index,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    api.send(
        Method::DELETE,
        &format!("/v2/multi/manifests/{child}"),
        &[],
        Body::empty(),
    )
    .await;
    api.registry.gc(&options).await.unwrap();
    assert!(blob_path(&api, &child_layer).exists());
    assert!(blob_path(&api, &child).exists());

    // Unpinned, the rollback target goes.
    let report = api.registry.gc(&now_options()).await.unwrap();
    assert!(report.blobs_removed >= 3, "{report:?}");
    assert!(!blob_path(&api, &layer).exists());
}

#[tokio::test]
async fn gc_leaves_live_uploads_and_removes_abandoned_ones_and_leftovers() {
    let api = Api::new();
    let start = api
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").unwrap();
    api.send(Method::PATCH, &location, &[], b"partial".to_vec())
        .await;

    // Leftovers of a crash: a temp file, a manifest blob stored but never linked.
    let root = api.dir.path().join("registry");
    std::fs::write(root.join("tmp/0123456789abcdef"), b"cut short").unwrap();
    let dangling = Digest::of(Algorithm::Sha256, b"{\"schemaVersion\":2}");
    let dangling_path = root
        .join("blobs/sha256")
        .join(&dangling.hex()[..2])
        .join(dangling.hex());
    std::fs::create_dir_all(dangling_path.parent().unwrap()).unwrap();
    std::fs::write(&dangling_path, b"{\"schemaVersion\":2}").unwrap();

    let report = api.registry.gc(&now_options()).await.unwrap();
    assert_eq!(report.uploads_removed, 0, "a live upload stays: {report:?}");
    assert_eq!(report.temp_files_removed, 1);
    assert!(!dangling_path.exists());
    assert_eq!(api.get(&location).await.status, StatusCode::NO_CONTENT);

    let report = api
        .registry
        .gc(&GcOptions {
            upload_ttl: Some(Duration::ZERO),
            ..now_options()
        })
        .await
        .unwrap();
    assert_eq!(report.uploads_removed, 1);
    assert_eq!(api.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
}

#[tokio::test]
async fn uploads_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("registry");
    let repo = "app".parse().unwrap();
    let registry = Registry::open(&root, Limits::default()).unwrap();
    let id = registry.start_upload(&repo).await.unwrap();
    let first: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"first half, "))];
    registry
        .append_upload(&repo, &id, None, None, futures_util::stream::iter(first))
        .await
        .unwrap();
    drop(registry);

    // A new process: the session is still there, at the same offset, and completes
    // (the digest is computed from the file, since the running hash is gone).
    let registry = Registry::open(&root, Limits::default()).unwrap();
    assert_eq!(registry.upload_status(&repo, &id).await.unwrap(), 12);
    let whole = b"first half, second half";
    let digest = Digest::of(Algorithm::Sha256, whole);
    let last: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"second half"))];
    let size = registry
        .complete_upload(
            &repo,
            &id,
            &digest,
            Some((None, None, futures_util::stream::iter(last))),
        )
        .await
        .unwrap();
    assert_eq!(size, whole.len() as u64);
    assert_eq!(
        registry.blob_size(&repo, &digest).await.unwrap(),
        Some(size)
    );
}

#[tokio::test]
async fn a_broken_body_rolls_the_chunk_back() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path(), Limits::default()).unwrap();
    let repo = "app".parse().unwrap();
    let id = registry.start_upload(&repo).await.unwrap();
    let ok: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"good "))];
    registry
        .append_upload(&repo, &id, None, None, futures_util::stream::iter(ok))
        .await
        .unwrap();
    let broken: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from_static(b"half a chu")),
        Err(std::io::Error::other("connection reset")),
    ];
    let err = registry
        .append_upload(&repo, &id, None, None, futures_util::stream::iter(broken))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(registry.upload_status(&repo, &id).await.unwrap(), 5);
    // The running hash was rolled back too: the blob verifies.
    let rest: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"rest"))];
    let digest = Digest::of(Algorithm::Sha256, b"good rest");
    registry
        .complete_upload(
            &repo,
            &id,
            &digest,
            Some((None, None, futures_util::stream::iter(rest))),
        )
        .await
        .unwrap();
}
