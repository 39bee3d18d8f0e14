//! The router against hostile clients: ambiguous Host headers, Connection headers that
//! name end-to-end headers, and more connections than it may hold. Real sockets on
//! 127.0.0.1 and raw HTTP bytes, so nothing a client library would tidy up is hidden.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_router::{
    serve, ConnectionLimit, RouteState, RouteTable, RouterConfig, ServiceRoute, ServiceStats,
    Upstream,
};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits on, so a bug fails the test instead of hanging.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// An upstream that answers every request with the Host headers it received, one per
/// line, and counts requests.
struct HostEcho {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn host_echo() -> HostEcho {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let hosts: Vec<String> = request
                        .headers()
                        .get_all("host")
                        .iter()
                        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
                        .collect();
                    let body = format!("hosts={}", hosts.join(","));
                    async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    HostEcho {
        addr,
        requests,
        task,
    }
}

struct Router {
    addr: SocketAddr,
    shutdown: CancellationToken,
    _table: watch::Sender<Arc<RouteTable>>,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn router_for(upstream: SocketAddr, config: RouterConfig) -> Router {
    let mut table = RouteTable::default();
    table.insert(
        "a.localhost",
        Arc::new(ServiceRoute {
            service: "a".into(),
            state: RouteState::Serving(vec![Arc::new(Upstream::new("a-1", upstream))]),
            request_timeout: Duration::from_secs(30),
            stats: Arc::new(ServiceStats::new()),
            admission: Default::default(),
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = watch::channel(Arc::new(table));
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(listener, rx, config, shutdown.clone()));
    Router {
        addr,
        shutdown,
        _table: tx,
    }
}

/// Sends raw bytes on a fresh connection and reads until the peer closes.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut response))
        .await
        .expect("response within the hang guard")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn two_host_headers_are_a_400_and_never_reach_the_app() {
    let app = host_echo().await;
    let router = router_for(app.addr, RouterConfig::default()).await;
    for request in [
        &b"GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: a.localhost\r\nConnection: close\r\n\r\n",
        // The absolute form names the host, but two Host lines are still ambiguous.
        b"GET http://a.localhost/ HTTP/1.1\r\nHost: a.localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    ] {
        let response = exchange(router.addr, request).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        assert!(response.contains("more than one Host"), "{response}");
    }
    assert_eq!(app.requests.load(Ordering::SeqCst), 0);
    // One Host is still fine.
    let response = exchange(
        router.addr,
        b"GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hosts=a.localhost"), "{response}");
}

#[tokio::test]
async fn connection_naming_host_does_not_remove_it() {
    let app = host_echo().await;
    let router = router_for(app.addr, RouterConfig::default()).await;
    let response = exchange(
        router.addr,
        b"GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: close, Host\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Not the instance's address (what hyper's client fills in for a missing Host).
    assert!(response.ends_with("hosts=a.localhost"), "{response}");
}

#[tokio::test]
async fn past_the_cap_a_connection_waits_for_a_free_slot() {
    let app = host_echo().await;
    let limit = ConnectionLimit::new("router", 3);
    let config = RouterConfig {
        connections: limit.clone(),
        ..RouterConfig::default()
    };
    let router = router_for(app.addr, config).await;

    // Three clients that send half a request head and hold.
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(router.addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        holders.push(stream);
    }
    tokio::time::timeout(HANG_GUARD, async {
        while limit.in_use() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the holders were accepted");

    // A fourth is connected by the kernel but not accepted, so it gets no answer...
    let mut waiting = TcpStream::connect(router.addr).await.unwrap();
    waiting
        .write_all(b"GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.peek(&mut byte)).await;
    assert!(early.is_err(), "answered past the cap");
    assert_eq!(limit.in_use(), 3);

    // ...until a holder goes away and frees its slot.
    drop(holders.pop());
    let mut response = Vec::new();
    tokio::time::timeout(HANG_GUARD, waiting.read_to_end(&mut response))
        .await
        .expect("served once a slot was free")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    drop(holders);
    tokio::time::timeout(HANG_GUARD, async {
        while limit.in_use() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("every slot is given back");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_cut_off() {
    let app = host_echo().await;
    let limit = ConnectionLimit::new("router", 8);
    let config = RouterConfig {
        connections: limit.clone(),
        header_read_timeout: Some(Duration::from_millis(300)),
        ..RouterConfig::default()
    };
    let router = router_for(app.addr, config).await;
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut rest))
        .await
        .expect("closed by the header timeout")
        .ok();
    tokio::time::timeout(HANG_GUARD, async {
        while limit.in_use() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("its slot is given back");
}
