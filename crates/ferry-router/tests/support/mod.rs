//! Shared pieces of the router's end-to-end tests: bodies, bounded waits, and hyper
//! upstreams on 127.0.0.1 that count their connections.

// Test code: a failed setup step should stop the test with its panic message; not
// every test file uses every helper.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_router::Upstream;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Upper bound for anything a test waits on, so a bug fails the test instead of hanging.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

pub type TestBody = BoxBody<Bytes, std::io::Error>;

pub fn full(text: impl Into<Bytes>) -> TestBody {
    Full::new(text.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

pub fn empty() -> TestBody {
    Empty::new()
        .map_err(|never: Infallible| match never {})
        .boxed()
}

pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `condition` until it holds (bounded by the hang guard).
pub async fn eventually(what: &str, condition: impl Fn() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Aborts a spawned test server when the test ends.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct TestUpstream {
    pub addr: SocketAddr,
    /// Connections the upstream accepted.
    pub connections: Arc<AtomicUsize>,
    _server: AbortOnDrop,
}

impl TestUpstream {
    pub fn upstream(&self, id: &str) -> Arc<Upstream> {
        Arc::new(Upstream::new(id, self.addr))
    }
}

/// An HTTP upstream (upgrades allowed) answering with `handler`.
pub async fn spawn_upstream<F, Fut>(handler: F) -> TestUpstream
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let handler = Arc::new(handler);
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    TestUpstream {
        addr,
        connections,
        _server: AbortOnDrop(server),
    }
}
