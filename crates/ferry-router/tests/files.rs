//! Static sites through the router over real sockets: the route's target is a
//! directory, answered by the router itself; a table swap moves new requests to new
//! files while a download in flight finishes from the old ones.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use ferry_router::{serve, RouteState, RouteTable, RouterConfig, ServiceRoute, StaticSite};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

mod support;
use support::*;

fn site_route(dir: &std::path::Path) -> Arc<RouteTable> {
    let site = StaticSite::open(&dir.join("public"), dir).unwrap();
    let route = Arc::new(ServiceRoute {
        service: "site".to_string(),
        state: RouteState::Files(Arc::new(site)),
        request_timeout: Duration::from_secs(30),
        stats: Default::default(),
        admission: Default::default(),
    });
    let mut table = RouteTable::default();
    table.insert("site.localhost", route);
    Arc::new(table)
}

fn write_site(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("public")).unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join("public").join(name), content).unwrap();
    }
    dir
}

async fn connect(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<TestBody> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

fn request(method: http::Method, path: &str) -> Request<TestBody> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "site.localhost")
        .body(empty())
        .unwrap()
}

#[tokio::test]
async fn a_switch_serves_new_files_while_a_download_finishes_from_the_old_ones() {
    let big_old = vec![b'o'; 4 << 20];
    let old = write_site(&[("index.html", b"old"), ("big.bin", &big_old)]);
    let new = write_site(&[("index.html", b"new"), ("big.bin", b"small now")]);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (table, rx) = watch::channel(site_route(old.path()));
    let shutdown = CancellationToken::new();
    let _server = AbortOnDrop(tokio::spawn(async move {
        let _ = serve(listener, rx, RouterConfig::default(), shutdown).await;
    }));

    let mut client = connect(addr).await;
    let response = within(
        "index",
        client.send_request(request(http::Method::GET, "/")),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"old");

    // HEAD keeps the file's length and sends no body.
    let head = within(
        "head",
        client.send_request(request(http::Method::HEAD, "/big.bin")),
    )
    .await
    .unwrap();
    assert_eq!(
        head.headers()["content-length"],
        (4 << 20).to_string().as_str()
    );
    assert!(head
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    // A download starts on the old files…
    let mut downloader = connect(addr).await;
    let download = within(
        "download head",
        downloader.send_request(request(http::Method::GET, "/big.bin")),
    )
    .await
    .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let mut body = download.into_body();
    let first = within("first chunk", body.frame()).await.unwrap().unwrap();
    let mut received = first.into_data().unwrap().len();

    // …the switch happens, and the old revision's files are even removed…
    table.send_replace(site_route(new.path()));
    std::fs::remove_dir_all(old.path().join("public")).unwrap();
    let response = within(
        "after switch",
        client.send_request(request(http::Method::GET, "/")),
    )
    .await
    .unwrap();
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&text[..], b"new");

    // …and the download still completes with the old content, whole.
    while let Some(frame) = within("download", body.frame()).await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(data.iter().all(|b| *b == b'o'));
        received += data.len();
    }
    assert_eq!(received, big_old.len());
}
