//! Every endpoint of the distribution API and every error it answers, through the
//! router in-process: statuses, headers and error codes as the spec gives them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use ferry_registry::{Algorithm, Digest, Limits, RegistryEvent};
use http::{Method, StatusCode};
use support::*;

#[tokio::test]
async fn base_check_needs_credentials_and_names_the_token_endpoint() {
    let api = Api::new();
    let ok = api.get("/v2/").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.header("docker-distribution-api-version").as_deref(),
        Some("registry/2.0")
    );

    let anonymous = api.send_as(Method::GET, "/v2/", &[], Body::empty()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.code(), "UNAUTHORIZED");
    assert_eq!(
        anonymous.header("www-authenticate").as_deref(),
        Some(r#"Bearer realm="http://registry.test:5000/v2/token",service="ferry-registry""#)
    );
    assert_eq!(
        anonymous
            .header("docker-distribution-api-version")
            .as_deref(),
        Some("registry/2.0")
    );

    let wrong = api
        .send_as(
            Method::GET,
            "/v2/",
            &[("authorization", "Bearer nope".into())],
            Body::empty(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn monolithic_upload_then_read_head_range_and_delete() {
    let api = Api::new();
    let content = b"0123456789abcdef";
    let digest = api.push_blob("app", content).await;

    let got = api.get(&format!("/v2/app/blobs/{digest}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.body[..], content);
    assert_eq!(
        got.header("docker-content-digest"),
        Some(digest.to_string())
    );
    assert_eq!(got.header("content-length").as_deref(), Some("16"));

    let head = api
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length").as_deref(), Some("16"));
    assert_eq!(
        head.header("docker-content-digest"),
        Some(digest.to_string())
    );

    let part = api
        .send(
            Method::GET,
            &format!("/v2/app/blobs/{digest}"),
            &[("range", "bytes=2-5")],
            Body::empty(),
        )
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&part.body[..], b"2345");
    assert_eq!(
        part.header("content-range").as_deref(),
        Some("bytes 2-5/16")
    );
    let tail = api
        .send(
            Method::GET,
            &format!("/v2/app/blobs/{digest}"),
            &[("range", "bytes=-3")],
            Body::empty(),
        )
        .await;
    assert_eq!(&tail.body[..], b"def");
    let beyond = api
        .send(
            Method::GET,
            &format!("/v2/app/blobs/{digest}"),
            &[("range", "bytes=16-")],
            Body::empty(),
        )
        .await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.header("content-range").as_deref(),
        Some("bytes */16")
    );

    // Another repository does not have it.
    let elsewhere = api.get(&format!("/v2/other/blobs/{digest}")).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(elsewhere.code(), "BLOB_UNKNOWN");

    let deleted = api
        .send(
            Method::DELETE,
            &format!("/v2/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let gone = api
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let again = api
        .send(
            Method::DELETE,
            &format!("/v2/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.code(), "BLOB_UNKNOWN");

    let bad = api.get("/v2/app/blobs/sha256:nothex").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.code(), "DIGEST_INVALID");
}

#[tokio::test]
async fn single_post_upload_with_digest() {
    let api = Api::new();
    let content = b"single post";
    let digest = Digest::of(Algorithm::Sha256, content);
    let reply = api
        .send(
            Method::POST,
            &format!("/v2/app/blobs/uploads/?digest={digest}"),
            &[("content-type", "application/octet-stream")],
            content.to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("location"),
        Some(format!("/v2/app/blobs/{digest}"))
    );
    assert_eq!(
        reply.header("docker-content-digest"),
        Some(digest.to_string())
    );
    assert_eq!(
        &api.get(&format!("/v2/app/blobs/{digest}")).await.body[..],
        content
    );
}

#[tokio::test]
async fn chunked_upload_in_order_out_of_order_status_and_sha512() {
    let api = Api::new();
    let start = api
        .send(
            Method::POST,
            "/v2/app/blobs/uploads/",
            &[("content-length", "0")],
            Body::empty(),
        )
        .await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    assert_eq!(start.header("range").as_deref(), Some("0-0"));
    let location = start.header("location").unwrap();
    assert!(location.starts_with("/v2/app/blobs/uploads/"));

    let first = api
        .send(
            Method::PATCH,
            &location,
            &[
                ("content-type", "application/octet-stream"),
                ("content-range", "0-4"),
                ("content-length", "5"),
            ],
            b"hello".to_vec(),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(first.header("range").as_deref(), Some("0-4"));
    let location = first.header("location").unwrap();

    let skipped = api
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "10-14")],
            b"xxxxx".to_vec(),
        )
        .await;
    assert_eq!(skipped.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(skipped.code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(skipped.header("range").as_deref(), Some("0-4"));
    let repeated = api
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-4")],
            b"hello".to_vec(),
        )
        .await;
    assert_eq!(repeated.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let garbled = api
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "five-six")],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(garbled.status, StatusCode::RANGE_NOT_SATISFIABLE);

    let status = api.get(&location).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range").as_deref(), Some("0-4"));

    // A chunk whose body is shorter than its range is refused and leaves nothing.
    let short = api
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "5-9")],
            b" w".to_vec(),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{:?}", short.body);
    assert_eq!(
        api.get(&location).await.header("range").as_deref(),
        Some("0-4")
    );

    // Docker's way: a PATCH without Content-Range appends.
    let second = api
        .send(Method::PATCH, &location, &[], b" world".to_vec())
        .await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(second.header("range").as_deref(), Some("0-10"));

    // The last chunk rides on the closing PUT; sha512 is verified too.
    let whole = b"hello world!";
    let digest = Digest::of(Algorithm::Sha512, whole);
    let done = api
        .send(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[("content-range", "11-11"), ("content-length", "1")],
            b"!".to_vec(),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    assert_eq!(
        done.header("location"),
        Some(format!("/v2/app/blobs/{digest}"))
    );
    let got = api.get(&format!("/v2/app/blobs/{digest}")).await;
    assert_eq!(&got.body[..], whole);

    // The session is gone.
    let after = api.get(&location).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(after.code(), "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn digest_mismatch_stores_nothing() {
    let api = Api::new();
    let start = api
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").unwrap();
    let claimed = Digest::of(Algorithm::Sha256, b"what the client claims");
    let reply = api
        .send(
            Method::PUT,
            &format!("{location}?digest={claimed}"),
            &[],
            b"something else".to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "DIGEST_INVALID");
    let head = api
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{claimed}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    let actual = Digest::of(Algorithm::Sha256, b"something else");
    assert_eq!(
        api.get(&format!("/v2/app/blobs/{actual}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    let stored = walk(&api.dir.path().join("registry/blobs"));
    assert!(stored.is_empty(), "{stored:?}");
    let uploads = walk(&api.dir.path().join("registry/uploads"));
    assert!(uploads.is_empty(), "{uploads:?}");

    // Same through the single POST.
    let reply = api
        .send(
            Method::POST,
            &format!("/v2/app/blobs/uploads/?digest={claimed}"),
            &[],
            b"other".to_vec(),
        )
        .await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
    assert!(walk(&api.dir.path().join("registry/blobs")).is_empty());

    // And a closing PUT without a digest.
    let start = api
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").unwrap();
    let reply = api.send(Method::PUT, &location, &[], b"x".to_vec()).await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files
}

#[tokio::test]
async fn upload_cancel_and_unknown_sessions() {
    let api = Api::new();
    let start = api
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").unwrap();
    let cancel = api
        .send(Method::DELETE, &location, &[], Body::empty())
        .await;
    assert_eq!(cancel.status, StatusCode::NO_CONTENT);
    let after = api.send(Method::PATCH, &location, &[], b"x".to_vec()).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(after.code(), "BLOB_UPLOAD_UNKNOWN");
    for bogus in [
        "/v2/app/blobs/uploads/nope",
        "/v2/app/blobs/uploads/..%2F..%2Fetc",
    ] {
        let reply = api.get(bogus).await;
        assert_eq!(reply.code(), "BLOB_UPLOAD_UNKNOWN", "{bogus}");
    }
    // A session belongs to its repository.
    let start = api
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    let id = start.header("docker-upload-uuid").unwrap();
    let stolen = api.get(&format!("/v2/other/blobs/uploads/{id}")).await;
    assert_eq!(stolen.code(), "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn cross_repository_mount() {
    let api = Api::new();
    let digest = api.push_blob("source", b"shared layer").await;
    let mounted = api
        .send(
            Method::POST,
            &format!("/v2/dest/blobs/uploads/?mount={digest}&from=source"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(mounted.status, StatusCode::CREATED);
    assert_eq!(
        mounted.header("location"),
        Some(format!("/v2/dest/blobs/{digest}"))
    );
    assert_eq!(
        mounted.header("docker-content-digest"),
        Some(digest.to_string())
    );
    assert_eq!(
        &api.get(&format!("/v2/dest/blobs/{digest}")).await.body[..],
        b"shared layer"
    );

    // From a repository that lacks it: an ordinary session starts instead.
    let fallback = api
        .send(
            Method::POST,
            &format!("/v2/dest2/blobs/uploads/?mount={digest}&from=nowhere"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(fallback.status, StatusCode::ACCEPTED);
    assert!(fallback
        .header("location")
        .unwrap()
        .starts_with("/v2/dest2/blobs/uploads/"));

    // A mount is a push: a pull-only credential cannot make one.
    let digest = api.push_blob("private", b"secret layer").await;
    let reply = api
        .send_as(
            Method::POST,
            &format!("/v2/public/x/blobs/uploads/?mount={digest}&from=private"),
            &[("authorization", format!("Bearer {PULL_ONLY}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn manifests_by_tag_and_digest_with_negotiation() {
    let api = Api::new();
    let (digest, body) = api.push_image("app", "v1", "one").await;

    let by_tag = api
        .send(
            Method::GET,
            "/v2/app/manifests/v1",
            &[("accept", OCI_MANIFEST)],
            Body::empty(),
        )
        .await;
    assert_eq!(by_tag.status, StatusCode::OK);
    assert_eq!(&by_tag.body[..], &body[..]);
    assert_eq!(by_tag.header("content-type").as_deref(), Some(OCI_MANIFEST));
    assert_eq!(
        by_tag.header("docker-content-digest"),
        Some(digest.to_string())
    );

    let by_digest = api.get(&format!("/v2/app/manifests/{digest}")).await;
    assert_eq!(&by_digest.body[..], &body[..]);

    let head = api
        .send(Method::HEAD, "/v2/app/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some(body.len().to_string()));
    assert_eq!(
        head.header("docker-content-digest"),
        Some(digest.to_string())
    );

    // A client that reads only Docker's types cannot use an OCI manifest.
    let docker_only = api
        .send(
            Method::GET,
            "/v2/app/manifests/v1",
            &[("accept", DOCKER_MANIFEST)],
            Body::empty(),
        )
        .await;
    assert_eq!(docker_only.status, StatusCode::NOT_FOUND);
    assert_eq!(docker_only.code(), "MANIFEST_UNKNOWN");
    let wildcard = api
        .send(
            Method::GET,
            "/v2/app/manifests/v1",
            &[("accept", "*/*")],
            Body::empty(),
        )
        .await;
    assert_eq!(wildcard.status, StatusCode::OK);

    let missing = api.get("/v2/app/manifests/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "MANIFEST_UNKNOWN");
    let bad_tag = api.get("/v2/app/manifests/-bad").await;
    assert_eq!(bad_tag.status, StatusCode::BAD_REQUEST);
    let unknown_digest = api
        .get(&format!(
            "/v2/app/manifests/{}",
            Digest::of(Algorithm::Sha256, b"x")
        ))
        .await;
    assert_eq!(unknown_digest.code(), "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn docker_schema2_manifest_and_list() {
    let api = Api::new();
    let config = api.push_blob("d", b"{\"os\":\"linux\"}").await;
    let layer = api.push_blob("d", b"layer").await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config.to_string(), "size": 15},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer.to_string(), "size": 5}],
    })
    .to_string();
    let put = api
        .send(
            Method::PUT,
            "/v2/d/manifests/latest",
            &[("content-type", DOCKER_MANIFEST)],
            manifest.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    let manifest_digest = Digest::of(Algorithm::Sha256, manifest.as_bytes());
    assert_eq!(
        put.header("location"),
        Some(format!("/v2/d/manifests/{manifest_digest}"))
    );

    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": manifest_digest.to_string(), "size": manifest.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    })
    .to_string();
    let put = api
        .send(
            Method::PUT,
            "/v2/d/manifests/multi",
            &[("content-type", DOCKER_LIST)],
            list.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    let got = api
        .send(
            Method::GET,
            "/v2/d/manifests/multi",
            &[("accept", DOCKER_LIST), ("accept", DOCKER_MANIFEST)],
            Body::empty(),
        )
        .await;
    assert_eq!(got.header("content-type").as_deref(), Some(DOCKER_LIST));
    assert_eq!(&got.body[..], list.as_bytes());

    // An OCI index whose child is not in the repository.
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": Digest::of(Algorithm::Sha256, b"nope").to_string(), "size": 4}],
    })
    .to_string();
    let put = api
        .send(
            Method::PUT,
            "/v2/d/manifests/idx",
            &[("content-type", OCI_INDEX)],
            index,
        )
        .await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST);
    assert_eq!(put.code(), "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn manifest_push_errors() {
    let api = Api::with_limits(Limits {
        max_manifest_bytes: 2048,
        ..Limits::default()
    });
    let config = api.push_blob("app", b"{}").await;
    let missing = Digest::of(Algorithm::Sha256, b"never pushed");
    let manifest = image_manifest(&config, 2, &missing, 12, None);
    let reply = api
        .send(
            Method::PUT,
            "/v2/app/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            manifest,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        api.get("/v2/app/manifests/v1").await.status,
        StatusCode::NOT_FOUND
    );

    let reply = api
        .send(
            Method::PUT,
            "/v2/app/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            "{not json",
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_INVALID");
    let reply = api
        .send(
            Method::PUT,
            "/v2/app/manifests/v1",
            &[("content-type", DOCKER_MANIFEST)],
            image_manifest(&config, 2, &config, 2, None),
        )
        .await;
    assert_eq!(
        reply.code(),
        "MANIFEST_INVALID",
        "Content-Type differs from mediaType"
    );

    let good = image_manifest(&config, 2, &config, 2, None);
    let wrong_digest = Digest::of(Algorithm::Sha256, b"other");
    let reply = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{wrong_digest}"),
            &[("content-type", OCI_MANIFEST)],
            good.clone(),
        )
        .await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
    let right = Digest::of(Algorithm::Sha256, &good);
    let reply = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{right}"),
            &[("content-type", OCI_MANIFEST)],
            good,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    let huge = vec![b' '; 4096];
    let reply = api
        .send(
            Method::PUT,
            "/v2/app/manifests/big",
            &[("content-type", OCI_MANIFEST)],
            huge,
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.code(), "SIZE_INVALID");
}

#[tokio::test]
async fn deletes_by_tag_and_by_digest() {
    let api = Api::new();
    let (digest, _) = api.push_image("app", "v1", "one").await;
    let tag_other = api
        .send(
            Method::PUT,
            "/v2/app/manifests/also",
            &[("content-type", OCI_MANIFEST)],
            api.get("/v2/app/manifests/v1").await.body,
        )
        .await;
    assert_eq!(tag_other.status, StatusCode::CREATED);

    let reply = api
        .send(Method::DELETE, "/v2/app/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(
        api.get("/v2/app/manifests/v1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/v2/app/manifests/{digest}")).await.status,
        StatusCode::OK
    );

    let reply = api
        .send(
            Method::DELETE,
            &format!("/v2/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(
        api.get(&format!("/v2/app/manifests/{digest}")).await.code(),
        "MANIFEST_UNKNOWN"
    );
    assert_eq!(
        api.get("/v2/app/manifests/also").await.code(),
        "MANIFEST_UNKNOWN"
    );
    let reply = api
        .send(
            Method::DELETE,
            &format!("/v2/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.code(), "MANIFEST_UNKNOWN");
    let tags = api.get("/v2/app/tags/list").await.json();
    assert_eq!(tags["tags"], serde_json::json!([]));
}

#[tokio::test]
async fn tag_listing_pages_with_link() {
    let api = Api::new();
    let (_, body) = api.push_image("app", "t0", "x").await;
    for tag in ["t3", "t1", "T9", "t2", "t4"] {
        let reply = api
            .send(
                Method::PUT,
                &format!("/v2/app/manifests/{tag}"),
                &[("content-type", OCI_MANIFEST)],
                body.clone(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let all = api.get("/v2/app/tags/list").await;
    assert_eq!(
        all.json(),
        serde_json::json!({"name": "app", "tags": ["T9", "t0", "t1", "t2", "t3", "t4"]})
    );
    assert_eq!(all.header("link"), None);

    let first = api.get("/v2/app/tags/list?n=2").await;
    assert_eq!(first.json()["tags"], serde_json::json!(["T9", "t0"]));
    assert_eq!(
        first.header("link").as_deref(),
        Some(r#"</v2/app/tags/list?n=2&last=t0>; rel="next""#)
    );
    let second = api.get("/v2/app/tags/list?n=2&last=t0").await;
    assert_eq!(second.json()["tags"], serde_json::json!(["t1", "t2"]));
    let last = api.get("/v2/app/tags/list?n=2&last=t2").await;
    assert_eq!(last.json()["tags"], serde_json::json!(["t3", "t4"]));
    assert_eq!(last.header("link"), None);
    let after = api.get("/v2/app/tags/list?last=t1").await;
    assert_eq!(after.json()["tags"], serde_json::json!(["t2", "t3", "t4"]));

    let zero = api.get("/v2/app/tags/list?n=0").await;
    assert_eq!(zero.json()["tags"], serde_json::json!([]));
    assert_eq!(zero.header("link"), None);
    assert_eq!(
        api.get("/v2/app/tags/list?n=x").await.status,
        StatusCode::BAD_REQUEST
    );

    let unknown = api.get("/v2/nothing/tags/list").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "NAME_UNKNOWN");
}

#[tokio::test]
async fn tag_pages_are_capped_by_the_page_size() {
    let api = Api::with_limits(Limits {
        page_size: 2,
        ..Limits::default()
    });
    let (_, body) = api.push_image("app", "a", "x").await;
    for tag in ["b", "c"] {
        api.send(
            Method::PUT,
            &format!("/v2/app/manifests/{tag}"),
            &[("content-type", OCI_MANIFEST)],
            body.clone(),
        )
        .await;
    }
    let page = api.get("/v2/app/tags/list?n=100").await;
    assert_eq!(page.json()["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(
        page.header("link").as_deref(),
        Some(r#"</v2/app/tags/list?n=100&last=b>; rel="next""#)
    );
}

#[tokio::test]
async fn catalog_lists_repositories() {
    let api = Api::new();
    for repo in ["b/two", "a", "b/one", "b"] {
        api.push_image(repo, "latest", repo).await;
    }
    // A repository with only a blob has no manifests: not listed.
    api.push_blob("blobonly", b"x").await;
    let all = api.get("/v2/_catalog").await;
    assert_eq!(
        all.json(),
        serde_json::json!({"repositories": ["a", "b", "b/one", "b/two"]})
    );
    let page = api.get("/v2/_catalog?n=2").await;
    assert_eq!(page.json()["repositories"], serde_json::json!(["a", "b"]));
    assert_eq!(
        page.header("link").as_deref(),
        Some(r#"</v2/_catalog?n=2&last=b>; rel="next""#)
    );
    let next = api.get("/v2/_catalog?n=2&last=b").await;
    assert_eq!(
        next.json()["repositories"],
        serde_json::json!(["b/one", "b/two"])
    );

    // Only the admin may list the catalog.
    let puller = api
        .send_as(
            Method::GET,
            "/v2/_catalog",
            &[("authorization", format!("Bearer {PULL_ONLY}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(puller.status, StatusCode::FORBIDDEN);
    assert_eq!(puller.code(), "DENIED");
}

#[tokio::test]
async fn referrers_api_with_subject_and_filter() {
    let api = Api::new();
    let (subject, subject_body) = api.push_image("app", "v1", "base").await;
    let config = api.push_blob("app", b"{}").await;
    let layer = api.push_blob("app", b"signature bytes").await;
    let mut referrer: serde_json::Value = serde_json::from_slice(&image_manifest(
        &config,
        2,
        &layer,
        15,
        Some((&subject, subject_body.len())),
    ))
    .unwrap();
    referrer["artifactType"] = "application/vnd.example.sig".into();
    referrer["annotations"] = serde_json::json!({"org.example.k": "v"});
    let referrer = referrer.to_string();
    let referrer_digest = Digest::of(Algorithm::Sha256, referrer.as_bytes());
    let put = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{referrer_digest}"),
            &[("content-type", OCI_MANIFEST)],
            referrer.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    assert_eq!(put.header("oci-subject"), Some(subject.to_string()));

    let list = api.get(&format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.header("content-type").as_deref(), Some(OCI_INDEX));
    let index = list.json();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    assert_eq!(
        index["manifests"],
        serde_json::json!([{
            "mediaType": OCI_MANIFEST,
            "digest": referrer_digest.to_string(),
            "size": referrer.len(),
            "artifactType": "application/vnd.example.sig",
            "annotations": {"org.example.k": "v"},
        }])
    );
    assert_eq!(list.header("oci-filters-applied"), None);

    let filtered = api
        .get(&format!(
            "/v2/app/referrers/{subject}?artifactType=application%2Fvnd.example.sig"
        ))
        .await;
    assert_eq!(
        filtered.header("oci-filters-applied").as_deref(),
        Some("artifactType")
    );
    assert_eq!(filtered.json()["manifests"].as_array().unwrap().len(), 1);
    let other = api
        .get(&format!(
            "/v2/app/referrers/{subject}?artifactType=application%2Fvnd.example.sbom"
        ))
        .await;
    assert_eq!(other.json()["manifests"], serde_json::json!([]));
    assert_eq!(
        other.header("oci-filters-applied").as_deref(),
        Some("artifactType")
    );

    // A subject nobody refers to: 200 with an empty list, never 404.
    let none = api
        .get(&format!(
            "/v2/app/referrers/{}",
            Digest::of(Algorithm::Sha256, b"x")
        ))
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["manifests"], serde_json::json!([]));
    let bad = api.get("/v2/app/referrers/sha256:zz").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.code(), "DIGEST_INVALID");
    assert_eq!(
        api.get(&format!("/v2/nothing/referrers/{subject}"))
            .await
            .code(),
        "NAME_UNKNOWN"
    );

    // Deleting the referrer takes it out of the list.
    api.send(
        Method::DELETE,
        &format!("/v2/app/manifests/{referrer_digest}"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(
        api.get(&format!("/v2/app/referrers/{subject}"))
            .await
            .json()["manifests"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn referrers_tag_schema_fallback_is_an_ordinary_tag() {
    // Clients of registries without the referrers API push an index under the tag
    // `<alg>-<hex>`; ferry stores and serves it like any tag.
    let api = Api::new();
    let (subject, _) = api.push_image("app", "v1", "base").await;
    let (child, child_body) = api.push_image("app", "sig", "sig").await;
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child.to_string(), "size": child_body.len(), "artifactType": "application/x"}],
    })
    .to_string();
    let tag = format!("sha256-{}", subject.hex());
    let put = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{tag}"),
            &[("content-type", OCI_INDEX)],
            index.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    let got = api
        .send(
            Method::GET,
            &format!("/v2/app/manifests/{tag}"),
            &[("accept", OCI_INDEX)],
            Body::empty(),
        )
        .await;
    assert_eq!(&got.body[..], index.as_bytes());
}

/// Pushes a manifest with `subject` under `reference` (a tag or its digest) and
/// returns its digest and body.
async fn push_referrer(
    api: &Api,
    reference: Option<&str>,
    subject: (&Digest, usize),
    artifact_type: &str,
    seed: &str,
) -> (Digest, String) {
    let config = api.push_blob("app", b"{}").await;
    let layer = api.push_blob("app", seed.as_bytes()).await;
    let mut manifest: serde_json::Value = serde_json::from_slice(&image_manifest(
        &config,
        2,
        &layer,
        seed.len(),
        Some(subject),
    ))
    .unwrap();
    manifest["artifactType"] = artifact_type.into();
    let manifest = manifest.to_string();
    let digest = Digest::of(Algorithm::Sha256, manifest.as_bytes());
    let reference = reference.map_or_else(|| digest.to_string(), str::to_string);
    let put = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{reference}"),
            &[("content-type", OCI_MANIFEST)],
            manifest.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    assert_eq!(put.header("oci-subject"), Some(subject.0.to_string()));
    (digest, manifest)
}

fn listed_digests(reply: &Reply) -> Vec<String> {
    let mut digests: Vec<String> = reply.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    digests.sort();
    digests
}

#[tokio::test]
async fn referrers_are_indexed_on_put_by_tag_and_for_indexes() {
    let api = Api::new();
    let (subject, subject_body) = api.push_image("app", "v1", "base").await;
    // A manifest with a subject pushed by tag is indexed as well as one pushed by
    // digest.
    let (by_tag, by_tag_body) = push_referrer(
        &api,
        Some("sig"),
        (&subject, subject_body.len()),
        "application/vnd.example.sig",
        "sig",
    )
    .await;
    // So is an index with a subject.
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.example.bundle",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": by_tag.to_string(), "size": by_tag_body.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": subject_body.len()},
    })
    .to_string();
    let index_digest = Digest::of(Algorithm::Sha256, index.as_bytes());
    let put = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{index_digest}"),
            &[("content-type", OCI_INDEX)],
            index.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    assert_eq!(put.header("oci-subject"), Some(subject.to_string()));

    let list = api.get(&format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(list.status, StatusCode::OK);
    let mut expected = vec![by_tag.to_string(), index_digest.to_string()];
    expected.sort();
    assert_eq!(listed_digests(&list), expected);
    let manifests = list.json()["manifests"].as_array().unwrap().clone();
    let entry = manifests
        .iter()
        .find(|d| d["digest"] == index_digest.to_string())
        .unwrap();
    assert_eq!(entry["mediaType"], OCI_INDEX);
    assert_eq!(entry["artifactType"], "application/vnd.example.bundle");
    assert_eq!(entry["size"], index.len());
}

#[tokio::test]
async fn referrers_merge_the_fallback_tag_index() {
    let api = Api::new();
    let (subject, subject_body) = api.push_image("app", "v1", "base").await;
    // One referrer the registry indexes itself (it has a subject) ...
    let (indexed, indexed_body) = push_referrer(
        &api,
        None,
        (&subject, subject_body.len()),
        "application/vnd.example.sig",
        "sig",
    )
    .await;
    // ... and one that only the client's fallback index names (no subject field,
    // as an older client would push it).
    let (sbom, sbom_body) = api.push_image("app", "sbom", "sbom").await;
    // The client keeps its index under `<alg>-<hex>`, listing both: the one the
    // registry already has must not appear twice.
    let fallback = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": indexed.to_string(), "size": indexed_body.len(), "artifactType": "application/vnd.example.sig"},
            {"mediaType": OCI_MANIFEST, "digest": sbom.to_string(), "size": sbom_body.len(), "artifactType": "application/vnd.example.sbom", "annotations": {"org.example.k": "v"}},
        ],
    })
    .to_string();
    let tag = format!("sha256-{}", subject.hex());
    let put = api
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{tag}"),
            &[("content-type", OCI_INDEX)],
            fallback,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);

    let list = api.get(&format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(list.status, StatusCode::OK);
    let mut expected = vec![indexed.to_string(), sbom.to_string()];
    expected.sort();
    assert_eq!(listed_digests(&list), expected);
    let manifests = list.json()["manifests"].as_array().unwrap().clone();
    let from_fallback = manifests
        .iter()
        .find(|d| d["digest"] == sbom.to_string())
        .unwrap();
    assert_eq!(
        from_fallback,
        &serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "digest": sbom.to_string(),
            "size": sbom_body.len(),
            "artifactType": "application/vnd.example.sbom",
            "annotations": {"org.example.k": "v"},
        })
    );

    // The artifactType filter applies to both sources.
    let sboms = api
        .get(&format!(
            "/v2/app/referrers/{subject}?artifactType=application%2Fvnd.example.sbom"
        ))
        .await;
    assert_eq!(listed_digests(&sboms), vec![sbom.to_string()]);
    let sigs = api
        .get(&format!(
            "/v2/app/referrers/{subject}?artifactType=application%2Fvnd.example.sig"
        ))
        .await;
    assert_eq!(listed_digests(&sigs), vec![indexed.to_string()]);

    // The fallback index of another subject does not leak into this one.
    let other = Digest::of(Algorithm::Sha256, b"other");
    let none = api.get(&format!("/v2/app/referrers/{other}")).await;
    assert_eq!(none.json()["manifests"], serde_json::json!([]));

    // A manifest the fallback index still names after it was deleted is left out.
    let deleted = api
        .send(
            Method::DELETE,
            &format!("/v2/app/manifests/{sbom}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let after = api.get(&format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(listed_digests(&after), vec![indexed.to_string()]);
}

#[tokio::test]
async fn names_follow_the_grammar() {
    let api = Api::new();
    for path in [
        "/v2/../x/manifests/latest",
        "/v2/Upper/manifests/latest",
        "/v2/a//b/manifests/latest",
        "/v2/a/./b/tags/list",
        "/v2/-a/blobs/uploads/",
        "/v2/a%2Fb/tags/list",
    ] {
        let reply = api.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.code(), "NAME_INVALID", "{path}");
    }
    let long = format!("/v2/{}/tags/list", "a".repeat(256));
    assert_eq!(api.get(&long).await.code(), "NAME_INVALID");
    let not_api = api.get("/v2/app/somewhere/else").await;
    assert_eq!(not_api.status, StatusCode::NOT_FOUND);
    let method = api
        .send(
            Method::PATCH,
            "/v2/app/manifests/latest",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.code(), "UNSUPPORTED");
}

#[tokio::test]
async fn auth_challenges_denials_and_tokens() {
    let api = Api::new();
    let (digest, _) = api.push_image("app", "v1", "one").await;

    // No credentials: 401 with a challenge naming the scope the request needs.
    let reply = api
        .send_as(Method::GET, "/v2/app/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "UNAUTHORIZED");
    assert_eq!(
        reply.header("www-authenticate").as_deref(),
        Some(
            r#"Bearer realm="http://registry.test:5000/v2/token",service="ferry-registry",scope="repository:app:pull""#
        )
    );
    let push = api
        .send_as(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await;
    assert!(push
        .header("www-authenticate")
        .unwrap()
        .contains(r#"scope="repository:app:pull,push""#));

    // A pull-only credential may pull, not push: DENIED.
    let puller = [("authorization", format!("Bearer {PULL_ONLY}"))];
    let pulled = api
        .send_as(
            Method::GET,
            &format!("/v2/app/manifests/{digest}"),
            &puller,
            Body::empty(),
        )
        .await;
    assert_eq!(pulled.status, StatusCode::OK);
    let pushed = api
        .send_as(
            Method::POST,
            "/v2/app/blobs/uploads/",
            &puller,
            Body::empty(),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::FORBIDDEN);
    assert_eq!(pushed.code(), "DENIED");
    let deleted = api
        .send_as(
            Method::DELETE,
            &format!("/v2/app/manifests/{digest}"),
            &puller,
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.code(), "DENIED");

    // Basic works directly too (user name free, the token as password).
    let basic = [(
        "authorization",
        "Basic ZG9ja2VyOmFkbWluLXRva2Vu".to_string(),
    )]; // docker:admin-token
    assert_eq!(
        api.send_as(Method::GET, "/v2/", &basic, Body::empty())
            .await
            .status,
        StatusCode::OK
    );

    // The token endpoint, as docker uses it: Basic in, Bearer out.
    let reply = api
        .send_as(
            Method::GET,
            "/v2/token?service=ferry-registry&scope=repository%3Aapp%3Apull%2Cpush",
            &[(
                "authorization",
                format!("Basic {}", b64(&format!("u:{PULL_ONLY}"))),
            )],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.json()["token"].as_str().unwrap().to_string();
    assert_eq!(reply.json()["access_token"], token.as_str());
    assert!(reply.json()["expires_in"].as_u64().unwrap() >= 60);
    let bearer = [("authorization", format!("Bearer {token}"))];
    assert_eq!(
        api.send_as(Method::GET, "/v2/", &bearer, Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.send_as(Method::GET, "/v2/app/manifests/v1", &bearer, Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    // The token was not granted push: a pull-only token pushing is DENIED.
    let reply = api
        .send_as(
            Method::POST,
            "/v2/app/blobs/uploads/",
            &bearer,
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "DENIED");
    // The token stands for its credentials, not for the scopes asked (oras-py reuses
    // one token for a whole push): another repository is pulled with it.
    let (other, _) = api.push_image("other", "v1", "two").await;
    let reply = api
        .send_as(
            Method::GET,
            &format!("/v2/other/manifests/{other}"),
            &bearer,
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // A forged token.
    let forged = [("authorization", format!("Bearer {token}x"))];
    let reply = api
        .send_as(Method::GET, "/v2/", &forged, Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));

    // docker login with a wrong password: the token endpoint refuses.
    let reply = api
        .send_as(
            Method::GET,
            "/v2/token?account=u&service=ferry-registry",
            &[("authorization", format!("Basic {}", b64("u:wrong")))],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "UNAUTHORIZED");

    // Anonymous tokens carry only what anonymous may do.
    let anonymous = api
        .send_as(
            Method::GET,
            "/v2/token?scope=repository:public/x:pull,push",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let token = anonymous.json()["token"].as_str().unwrap().to_string();
    let bearer = [("authorization", format!("Bearer {token}"))];
    let reply = api
        .send_as(
            Method::POST,
            "/v2/public/x/blobs/uploads/",
            &bearer,
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_pull_where_allowed() {
    let api = Api::new();
    let (digest, _) = api.push_image("public/app", "v1", "one").await;
    let reply = api
        .send_as(
            Method::GET,
            "/v2/public/app/manifests/v1",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = api
        .send_as(
            Method::GET,
            &format!("/v2/public/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = api
        .send_as(
            Method::DELETE,
            &format!("/v2/public/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = api
        .send_as(Method::GET, "/v2/private/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn too_many_uploads_is_429() {
    let api = Api::with_limits(Limits {
        max_uploads_per_repository: 2,
        max_uploads: 3,
        ..Limits::default()
    });
    for _ in 0..2 {
        assert_eq!(
            api.send(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty())
                .await
                .status,
            StatusCode::ACCEPTED
        );
    }
    let third = api
        .send(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty())
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.code(), "TOOMANYREQUESTS");
    assert_eq!(
        api.send(Method::POST, "/v2/b/blobs/uploads/", &[], Body::empty())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let global = api
        .send(Method::POST, "/v2/c/blobs/uploads/", &[], Body::empty())
        .await;
    assert_eq!(global.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn blobs_over_the_limit_are_refused() {
    let api = Api::with_limits(Limits {
        max_blob_bytes: 8,
        ..Limits::default()
    });
    let start = api
        .send(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").unwrap();
    let reply = api.send(Method::PATCH, &location, &[], vec![0u8; 9]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        api.get(&location).await.header("range").as_deref(),
        Some("0-0")
    );
    let reply = api.send(Method::PATCH, &location, &[], vec![0u8; 8]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn events_for_pushes_and_deletes() {
    let api = Api::new();
    let mut events = api.registry.subscribe();
    let (digest, _) = api.push_image("app", "v1", "one").await;
    match events.recv().await.unwrap() {
        RegistryEvent::ManifestPushed {
            repository,
            tag,
            digest: d,
            media_type,
        } => {
            assert_eq!(repository.as_str(), "app");
            assert_eq!(tag.unwrap().as_str(), "v1");
            assert_eq!(d, digest);
            assert_eq!(media_type, OCI_MANIFEST);
        }
        other => panic!("{other:?}"),
    }
    api.send(Method::DELETE, "/v2/app/manifests/v1", &[], Body::empty())
        .await;
    assert!(matches!(
        events.recv().await.unwrap(),
        RegistryEvent::TagDeleted { .. }
    ));
    api.send(
        Method::DELETE,
        &format!("/v2/app/manifests/{digest}"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(
        events.recv().await.unwrap(),
        RegistryEvent::ManifestDeleted {
            repository: "app".parse().unwrap(),
            digest
        }
    );
}
