//! `kill -9` of the registry process in the middle of a large upload and of manifest
//! pushes: after a restart no partial blob or manifest is served, every stored file
//! matches its digest, the push can be retried, and gc removes the leftovers. Also
//! checks that a large upload and download keep the server's memory bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_registry::{Algorithm, Digest};
use support::process::{eventually, ok, Server, TOKEN};

const MIB: usize = 1 << 20;

/// A deterministic, incompressible-looking stream of `len` bytes, in 1 MiB pieces.
fn pattern(len: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len.div_ceil(MIB)).map(move |i| {
        let n = MIB.min(len - i * MIB);
        let mut piece = Vec::with_capacity(n);
        while piece.len() < n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            piece.extend_from_slice(&state.to_le_bytes());
        }
        piece.truncate(n);
        piece
    })
}

fn digest_of_pattern(len: usize) -> Digest {
    let mut hasher = Algorithm::Sha256.hasher();
    for piece in pattern(len) {
        hasher.update(&piece);
    }
    hasher.finish()
}

/// Reads `reader` to its end; returns its length and sha256.
fn hash_reader(mut reader: impl Read) -> (usize, Digest) {
    let mut hasher = Algorithm::Sha256.hasher();
    let mut buf = vec![0u8; MIB];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            return (total, hasher.finish());
        }
        total += n;
        hasher.update(&buf[..n]);
    }
}

/// A response's status and headers, and the connection positioned at its body.
type Head = (u16, Vec<(String, String)>, BufReader<TcpStream>);

/// A raw HTTP/1.1 request on a fresh connection; the body is written by `body`.
/// Returns the status and headers (the caller reads the rest from the stream).
fn request(
    addr: &str,
    head: &str,
    body: impl FnOnce(&mut TcpStream) -> std::io::Result<()>,
) -> std::io::Result<Head> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(head.as_bytes())?;
    body(&mut stream)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok((status, headers, reader))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn request_head(method: &str, path: &str, host: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n{extra}\r\n")
}

/// Status and body of a small request.
fn call(
    addr: &str,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let head = request_head(
        method,
        path,
        addr,
        &format!("{extra}Content-Length: {}\r\n", body.len()),
    );
    let (status, headers, mut reader) = request(addr, &head, |s| s.write_all(body)).unwrap();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    (status, headers, rest)
}

fn start_upload(addr: &str, repo: &str) -> String {
    let (status, headers, _) = call(addr, "POST", &format!("/v2/{repo}/blobs/uploads/"), "", b"");
    assert_eq!(status, 202);
    header(&headers, "location").unwrap().to_string()
}

/// Uploads `len` pattern bytes in one PATCH + PUT; returns the PUT's status.
fn upload_pattern(addr: &str, repo: &str, len: usize) -> u16 {
    let location = start_upload(addr, repo);
    let digest = digest_of_pattern(len);
    let head = request_head(
        "PATCH",
        &location,
        addr,
        &format!("Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n"),
    );
    let (status, headers, _) = request(addr, &head, |s| {
        for piece in pattern(len) {
            s.write_all(&piece)?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(status, 202);
    let location = header(&headers, "location").unwrap().to_string();
    call(addr, "PUT", &format!("{location}?digest={digest}"), "", b"").0
}

/// Every file of the blob store hashes to its own name: nothing partial was stored.
fn assert_store_consistent(root: &Path) {
    let blobs = root.join("blobs/sha256");
    for prefix in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(prefix.path()).unwrap().flatten() {
            let name = entry.file_name().into_string().unwrap();
            let (_, digest) = hash_reader(std::fs::File::open(entry.path()).unwrap());
            assert_eq!(digest.hex(), name, "{} is partial", entry.path().display());
        }
    }
}

fn gc(root: &Path) -> serde_json::Value {
    let out = ok(Command::new(env!("CARGO_BIN_EXE_ferry-registry"))
        .args([
            "gc",
            "--grace-secs",
            "0",
            "--upload-ttl-secs",
            "0",
            "--root",
        ])
        .arg(root));
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn kill9_during_a_large_upload_then_retry_and_gc() {
    const LEN: usize = 200 * MIB;
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("registry");
    let mut server = Server::start(&root);
    let addr = server.addr.clone();
    let digest = digest_of_pattern(LEN);

    // Send about half of the blob, then kill the server while the body streams.
    let location = start_upload(&addr, "big");
    let head = request_head(
        "PATCH",
        &location,
        &addr,
        &format!("Content-Length: {LEN}\r\n"),
    );
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    for piece in pattern(LEN).take(LEN / MIB / 2) {
        stream.write_all(&piece).unwrap();
    }
    let data = root
        .join("uploads")
        .join(location.rsplit('/').next().unwrap())
        .join("data");
    eventually("the upload to reach the disk", || {
        std::fs::metadata(&data).is_ok_and(|m| m.len() > 64 * MIB as u64)
    });
    server.kill9();
    drop(stream);

    let server = Server::start(&root);
    let addr = server.addr.clone();
    // Nothing partial is served or stored.
    let (status, _, body) = call(&addr, "GET", &format!("/v2/big/blobs/{digest}"), "", b"");
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert_store_consistent(&root);
    // The interrupted session is still known, with what reached the disk.
    let (status, headers, _) = call(&addr, "GET", &location, "", b"");
    assert_eq!(status, 204);
    assert!(header(&headers, "range").is_some());

    // The retry succeeds; the blob reads back whole, and memory stayed bounded.
    assert_eq!(upload_pattern(&addr, "big", LEN), 201);
    let head = request_head("GET", &format!("/v2/big/blobs/{digest}"), &addr, "");
    let (status, headers, mut reader) = request(&addr, &head, |_| Ok(())).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-length"),
        Some(LEN.to_string().as_str())
    );
    let (read, read_digest) = hash_reader(&mut reader);
    assert_eq!(read, LEN);
    assert_eq!(read_digest, digest);
    let peak_mib = server.peak_rss_kib() / 1024;
    eprintln!(
        "server peak RSS after a {}-MiB upload and download: {peak_mib} MiB",
        LEN / MIB
    );
    assert!(
        peak_mib < 128,
        "a {}-MiB blob took the server to {peak_mib} MiB",
        LEN / MIB
    );

    // A manifest makes the blob reachable; gc then removes only the leftover upload.
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = Digest::of(Algorithm::Sha256, config);
    let (status, _, _) = call(
        &addr,
        "POST",
        &format!("/v2/big/blobs/uploads/?digest={config_digest}"),
        "",
        config,
    );
    assert_eq!(status, 201);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.to_string(), "size": LEN}],
    })
    .to_string();
    let (status, _, _) = call(
        &addr,
        "PUT",
        "/v2/big/manifests/v1",
        "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n",
        manifest.as_bytes(),
    );
    assert_eq!(status, 201);
    drop(server);
    let report = gc(&root);
    assert_eq!(report["uploads_removed"], 1, "{report}");
    assert_eq!(report["blobs_removed"], 0, "{report}");
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
    let server = Server::start(&root);
    let (status, _, _) = call(
        &server.addr,
        "HEAD",
        &format!("/v2/big/blobs/{digest}"),
        "",
        b"",
    );
    assert_eq!(status, 200);
}

#[test]
fn kill9_during_manifest_pushes_leaves_only_whole_manifests() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("registry");
    let mut server = Server::start(&root);
    let addr = server.addr.clone();
    let config = br#"{"os":"linux"}"#;
    let config_digest = Digest::of(Algorithm::Sha256, config);
    assert_eq!(
        call(
            &addr,
            "POST",
            &format!("/v2/app/blobs/uploads/?digest={config_digest}"),
            "",
            config
        )
        .0,
        201
    );
    let manifest = move |i: usize| {
        serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
            "layers": [],
            "annotations": {"n": i.to_string()},
        })
        .to_string()
    };

    // One push whose body is cut off midway by the kill...
    let body = manifest(0);
    let head = request_head(
        "PUT",
        "/v2/app/manifests/half",
        &addr,
        &format!(
            "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n",
            body.len()
        ),
    );
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(head.as_bytes()).unwrap();
    half.write_all(&body.as_bytes()[..body.len() / 2]).unwrap();
    // ...while other pushes run flat out.
    let pusher = {
        let addr = addr.clone();
        let manifest = manifest.clone();
        std::thread::spawn(move || {
            let mut pushed = 0;
            for i in 1..10_000 {
                let body = manifest(i);
                let head = request_head(
                    "PUT",
                    &format!("/v2/app/manifests/t{i}"),
                    &addr,
                    &format!("Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n", body.len()),
                );
                match request(&addr, &head, |s| s.write_all(body.as_bytes())) {
                    Ok((201, _, _)) => pushed += 1,
                    _ => break,
                }
            }
            pushed
        })
    };
    eventually("some pushes", || {
        std::fs::read_dir(root.join("repositories/app/_manifests/tags"))
            .is_ok_and(|d| d.count() > 20)
    });
    server.kill9();
    drop(half);
    let pushed = pusher.join().unwrap();
    assert!(pushed > 0);

    let server = Server::start(&root);
    let addr = server.addr.clone();
    assert_store_consistent(&root);
    // Every tag that exists names a whole manifest whose bytes match its digest.
    let (_, _, list) = call(&addr, "GET", "/v2/app/tags/list", "", b"");
    let tags: serde_json::Value = serde_json::from_slice(&list).unwrap();
    let tags = tags["tags"].as_array().unwrap();
    assert!(
        tags.len() >= pushed,
        "{} tags for {pushed} acknowledged pushes",
        tags.len()
    );
    for tag in tags {
        let tag = tag.as_str().unwrap();
        let (status, headers, body) =
            call(&addr, "GET", &format!("/v2/app/manifests/{tag}"), "", b"");
        assert_eq!(status, 200, "{tag}");
        let digest = Digest::of(Algorithm::Sha256, &body);
        assert_eq!(
            header(&headers, "docker-content-digest"),
            Some(digest.to_string().as_str())
        );
        serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    }
    // The cut-off push stored nothing, and its retry works.
    assert_eq!(call(&addr, "GET", "/v2/app/manifests/half", "", b"").0, 404);
    let (status, _, _) = call(
        &addr,
        "PUT",
        "/v2/app/manifests/half",
        "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n",
        manifest(0).as_bytes(),
    );
    assert_eq!(status, 201);
    let (_, _, got) = call(&addr, "GET", "/v2/app/manifests/half", "", b"");
    assert_eq!(got, manifest(0).as_bytes());

    // gc keeps every manifest that a tag or link reaches, drops temp leftovers.
    drop(server);
    let report = gc(&root);
    assert_eq!(report["uploads_removed"], 0, "{report}");
    let server = Server::start(&root);
    for tag in tags {
        let tag = tag.as_str().unwrap();
        assert_eq!(
            call(
                &server.addr,
                "GET",
                &format!("/v2/app/manifests/{tag}"),
                "",
                b""
            )
            .0,
            200
        );
    }
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}
