//! Health probes against real loopback sockets.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry_router::{probe, ProbeError, ProbeSpec};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

struct Server {
    addr: SocketAddr,
    /// (Host header, path) of every request received.
    seen: Arc<Mutex<Vec<(String, String)>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP server answering every request with `status`.
async fn http_server(status: StatusCode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let host = request
                        .headers()
                        .get("host")
                        .map(|h| h.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    log.lock()
                        .unwrap()
                        .push((host, request.uri().path().to_owned()));
                    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                    *response.status_mut() = status;
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, seen, task }
}

/// Accepts connections, reads, and never answers (or hangs up when `close`).
async fn silent_server(close: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf).await;
            if !close {
                held.push(stream);
            }
        }
    });
    Server {
        addr,
        seen: Arc::default(),
        task,
    }
}

async fn refused_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test]
async fn tcp_probe_succeeds_on_a_listening_port() {
    let server = silent_server(true).await;
    probe(server.addr, &ProbeSpec::tcp(Duration::from_secs(2)))
        .await
        .unwrap();
}

/// What Docker's userland proxy does when nothing listens in the container: accept,
/// then close at once.
#[tokio::test]
async fn tcp_probe_fails_when_the_connection_is_closed_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        for _ in 0..2 {
            let (stream, _) = listener.accept().await.unwrap();
            drop(stream);
        }
    });
    let error = probe(addr, &ProbeSpec::tcp(Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert!(matches!(error, ProbeError::ClosedAtOnce), "{error:?}");
    closer.abort();
}

#[tokio::test]
async fn tcp_probe_reports_connection_refused() {
    let error = probe(
        refused_addr().await,
        &ProbeSpec::tcp(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ProbeError::ConnectionRefused), "{error:?}");
    assert_eq!(error.to_string(), "connection refused");
}

#[tokio::test]
async fn http_probe_accepts_2xx_and_3xx_and_sends_host_localhost() {
    for status in [StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::FOUND] {
        let server = http_server(status).await;
        probe(
            server.addr,
            &ProbeSpec::http("/healthz", Duration::from_secs(2)),
        )
        .await
        .unwrap();
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen, vec![("localhost".to_owned(), "/healthz".to_owned())]);
    }
}

#[tokio::test]
async fn http_probe_reports_the_failing_status() {
    let server = http_server(StatusCode::INTERNAL_SERVER_ERROR).await;
    let error = probe(server.addr, &ProbeSpec::http("/", Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert!(matches!(error, ProbeError::Status(500)), "{error:?}");
    assert_eq!(error.to_string(), "HTTP 500");
}

#[tokio::test]
async fn http_probe_times_out_on_a_silent_server() {
    let server = silent_server(false).await;
    let error = probe(
        server.addr,
        &ProbeSpec::http("/", Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ProbeError::TimedOut(_)), "{error:?}");
    assert_eq!(error.to_string(), "timed out after 300ms");
}

#[tokio::test]
async fn http_probe_reports_a_hang_up_and_refusal() {
    let server = silent_server(true).await;
    let error = probe(server.addr, &ProbeSpec::http("/", Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ProbeError::ClosedWithoutResponse | ProbeError::Http(_)
        ),
        "{error:?}"
    );

    let error = probe(
        refused_addr().await,
        &ProbeSpec::http("/", Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ProbeError::ConnectionRefused), "{error:?}");
}
