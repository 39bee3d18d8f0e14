//! End-to-end tests of admission: the hard per-instance concurrency limit, the
//! bounded queue (full, expired, abandoned), the cold-start hold, WebSockets
//! counting against the limit, and the load counters. Real sockets on 127.0.0.1.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_router::{
    serve, Admission, AdmissionSettings, RouteState, RouteTable, RouterConfig, ServiceRoute,
    ServiceStats, Upstream,
};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod support;
use support::*;

/// Answers once `release` has a permit for it (one request per permit).
async fn holding_upstream(release: Arc<Semaphore>) -> TestUpstream {
    spawn_upstream(move |_request| {
        let release = Arc::clone(&release);
        async move {
            release.acquire().await.unwrap().forget();
            Response::new(full("released"))
        }
    })
    .await
}

fn settings(concurrency: u32, queue_capacity: u32, queue_timeout: Duration) -> AdmissionSettings {
    AdmissionSettings {
        concurrency,
        queue_capacity,
        queue_timeout,
    }
}

fn route(state: RouteState, admission: &Arc<Admission>) -> Arc<ServiceRoute> {
    Arc::new(ServiceRoute {
        service: "app".to_owned(),
        state,
        request_timeout: Duration::from_secs(30),
        stats: Arc::new(ServiceStats::new()),
        admission: Arc::clone(admission),
    })
}

fn table(route: &Arc<ServiceRoute>) -> Arc<RouteTable> {
    let mut table = RouteTable::default();
    table.insert("app.localhost", Arc::clone(route));
    Arc::new(table)
}

struct TestRouter {
    addr: SocketAddr,
    table: watch::Sender<Arc<RouteTable>>,
    shutdown: CancellationToken,
}

impl TestRouter {
    async fn start(table: Arc<RouteTable>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(table);
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(
            listener,
            rx,
            RouterConfig::default(),
            shutdown.clone(),
        ));
        Self {
            addr,
            table: tx,
            shutdown,
        }
    }

    fn publish(&self, table: Arc<RouteTable>) {
        self.table.send_replace(table);
    }

    /// GET `path` on a fresh connection, run in its own task.
    fn spawn_get(&self, path: &str) -> JoinHandle<Response<Incoming>> {
        let addr = self.addr;
        let request = Request::get(path)
            .header("host", "app.localhost")
            .body(empty())
            .unwrap();
        tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            sender.send_request(request).await.unwrap()
        })
    }

    async fn get(&self, path: &str) -> Response<Incoming> {
        within("response", self.spawn_get(path)).await.unwrap()
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn header<'a>(response: &'a Response<Incoming>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

/// Tracks how many requests an upstream serves at once, and the most it saw.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

async fn peak_recording_upstream(concurrency: Arc<Concurrency>) -> TestUpstream {
    spawn_upstream(move |_request| {
        let concurrency = Arc::clone(&concurrency);
        async move {
            let now = concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
            concurrency.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            concurrency.now.fetch_sub(1, Ordering::SeqCst);
            Response::new(full("ok"))
        }
    })
    .await
}

#[tokio::test]
async fn an_instance_never_gets_more_than_its_concurrency() {
    let (a_seen, b_seen) = (Arc::default(), Arc::default());
    let a = peak_recording_upstream(Arc::clone(&a_seen)).await;
    let b = peak_recording_upstream(Arc::clone(&b_seen)).await;
    let admission = Arc::new(Admission::new(settings(10, 100, HANG_GUARD)));
    let serving = RouteState::Serving(vec![a.upstream("a"), b.upstream("b")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let requests: Vec<_> = (0..40).map(|_| router.spawn_get("/")).collect();
    for request in requests {
        let response = within("response", request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (a_peak, b_peak) = (
        a_seen.peak.load(Ordering::SeqCst),
        b_seen.peak.load(Ordering::SeqCst),
    );
    assert!(a_peak <= 10 && b_peak <= 10, "peaks {a_peak} and {b_peak}");
    assert!(a_peak + b_peak > 0);
    let load = admission.load();
    assert_eq!(
        (load.in_flight, load.queued, load.requests_total),
        (0, 0, 40)
    );
}

#[tokio::test]
async fn a_full_queue_is_503_with_retry_after() {
    let release = Arc::new(Semaphore::new(0));
    let up = holding_upstream(Arc::clone(&release)).await;
    let admission = Arc::new(Admission::new(settings(1, 1, HANG_GUARD)));
    let serving = RouteState::Serving(vec![up.upstream("u")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let first = router.spawn_get("/1");
    eventually("first in flight", || admission.load().in_flight == 1).await;
    let second = router.spawn_get("/2");
    eventually("second queued", || admission.load().queued == 1).await;
    let third = router.get("/3").await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&third, "x-ferry-error"), "queue-full");
    assert_eq!(header(&third, "retry-after"), "1");

    release.add_permits(1);
    assert_eq!(
        within("first", first).await.unwrap().status(),
        StatusCode::OK
    );
    eventually("second sent on", || admission.load().queued == 0).await;
    release.add_permits(1);
    assert_eq!(
        within("second", second).await.unwrap().status(),
        StatusCode::OK
    );
    let load = admission.load();
    assert_eq!(
        (load.in_flight, load.queued, load.requests_total),
        (0, 0, 3)
    );
}

#[tokio::test]
async fn an_expired_queue_wait_is_503_with_retry_after() {
    let release = Arc::new(Semaphore::new(0));
    let up = holding_upstream(Arc::clone(&release)).await;
    let admission = Arc::new(Admission::new(settings(1, 10, Duration::from_millis(100))));
    let serving = RouteState::Serving(vec![up.upstream("u")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let first = router.spawn_get("/1");
    eventually("first in flight", || admission.load().in_flight == 1).await;
    let second = router.get("/2").await;
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&second, "x-ferry-error"), "queue-timeout");
    assert_eq!(header(&second, "retry-after"), "5");
    assert_eq!(admission.load().queued, 0);
    release.add_permits(1);
    assert_eq!(
        within("first", first).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_leaving_the_queue_frees_its_place() {
    let release = Arc::new(Semaphore::new(0));
    let up = holding_upstream(Arc::clone(&release)).await;
    let admission = Arc::new(Admission::new(settings(1, 1, HANG_GUARD)));
    let serving = RouteState::Serving(vec![up.upstream("u")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let first = router.spawn_get("/1");
    eventually("first in flight", || admission.load().in_flight == 1).await;
    let mut queued = TcpStream::connect(router.addr).await.unwrap();
    queued
        .write_all(b"GET /2 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
        .await
        .unwrap();
    eventually("second queued", || admission.load().queued == 1).await;
    drop(queued);
    eventually("place freed", || admission.load().queued == 0).await;

    // The place is usable again, and the held request still completes.
    let third = router.spawn_get("/3");
    eventually("third queued", || admission.load().queued == 1).await;
    release.add_permits(1);
    assert_eq!(
        within("first", first).await.unwrap().status(),
        StatusCode::OK
    );
    eventually("third sent on", || admission.load().queued == 0).await;
    release.add_permits(1);
    assert_eq!(
        within("third", third).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cold_service_holds_requests_until_an_instance_is_published() {
    let admission = Arc::new(Admission::new(settings(100, 100, HANG_GUARD)));
    let router = TestRouter::start(table(&route(RouteState::Cold, &admission))).await;
    let demanded = {
        let admission = Arc::clone(&admission);
        tokio::spawn(async move { admission.demanded().await })
    };

    let requests: Vec<_> = (0..20)
        .map(|i| router.spawn_get(&format!("/{i}")))
        .collect();
    within("demand signalled", demanded).await.unwrap();
    eventually("all 20 held", || admission.load().queued == 20).await;
    assert_eq!(admission.load().in_flight, 0);

    // A cold start publishes "starting" first: held requests keep waiting.
    let starting = RouteState::Unavailable {
        reason: "starting".to_owned(),
    };
    router.publish(table(&route(starting, &admission)));
    let up = spawn_upstream(|request: Request<Incoming>| async move {
        Response::new(full(request.uri().path().to_owned()))
    })
    .await;
    router.publish(table(&route(
        RouteState::Serving(vec![up.upstream("u")]),
        &admission,
    )));
    for (i, request) in requests.into_iter().enumerate() {
        let response = within("held response", request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = within("body", response.into_body().collect())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, format!("/{i}"));
    }
    let load = admission.load();
    assert_eq!(
        (load.in_flight, load.queued, load.requests_total),
        (0, 0, 20)
    );
}

#[tokio::test]
async fn a_cold_service_answers_503_when_the_hold_expires() {
    let admission = Arc::new(Admission::new(settings(
        100,
        100,
        Duration::from_millis(50),
    )));
    let router = TestRouter::start(table(&route(RouteState::Cold, &admission))).await;
    let response = router.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "x-ferry-error"), "queue-timeout");
    assert_eq!(header(&response, "retry-after"), "5");
    assert_eq!(admission.load().queued, 0);
}

#[tokio::test]
async fn an_unavailable_service_is_503_at_once_without_queueing() {
    let admission = Arc::new(Admission::new(settings(1, 10, HANG_GUARD)));
    let starting = RouteState::Unavailable {
        reason: "crashed".to_owned(),
    };
    let router = TestRouter::start(table(&route(starting, &admission))).await;
    let response = router.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "x-ferry-error"), "unavailable");
    assert_eq!(admission.load(), Default::default());
}

/// Reads from `stream` until the end of a response head; returns the head.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = within("response head", stream.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(read, 1, "connection closed mid-head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[tokio::test]
async fn an_open_websocket_takes_a_slot_until_it_closes() {
    // Upgrades to an echo of raw bytes; plain requests get 200.
    let up = spawn_upstream(|mut request: Request<Incoming>| async move {
        if !request.headers().contains_key("upgrade") {
            return Response::new(full("plain"));
        }
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut io = TokioIo::new(upgraded);
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = io.read(&mut buf).await {
                if io.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(empty())
            .unwrap()
    })
    .await;
    let admission = Arc::new(Admission::new(settings(1, 10, HANG_GUARD)));
    let serving = RouteState::Serving(vec![up.upstream("u")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let mut ws = TcpStream::connect(router.addr).await.unwrap();
    ws.write_all(
        b"GET /ws HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_head(&mut ws).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ws.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    within("echo", ws.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"ping");
    assert_eq!(admission.load().in_flight, 1);

    // The open WebSocket holds the only slot: a plain request waits for it.
    let plain = router.spawn_get("/plain");
    eventually("plain request queued", || admission.load().queued == 1).await;
    assert!(!plain.is_finished());
    drop(ws);
    let response = within("plain response", plain).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    eventually("slots released", || admission.load().in_flight == 0).await;
}

#[tokio::test]
async fn load_counts_in_flight_queued_and_total() {
    let release = Arc::new(Semaphore::new(0));
    let up = holding_upstream(Arc::clone(&release)).await;
    let admission = Arc::new(Admission::new(settings(2, 10, HANG_GUARD)));
    let serving = RouteState::Serving(vec![up.upstream("u")]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;

    let held: Vec<_> = (0..3).map(|_| router.spawn_get("/")).collect();
    eventually("two in flight, one queued", || {
        let load = admission.load();
        (load.in_flight, load.queued, load.requests_total) == (2, 1, 3)
    })
    .await;
    // Raising the limit lets the queued request through at once.
    admission.set_settings(settings(3, 10, HANG_GUARD));
    eventually("three in flight", || {
        let load = admission.load();
        (load.in_flight, load.queued) == (3, 0)
    })
    .await;
    for request in held {
        release.add_permits(1);
        assert_eq!(
            within("held", request).await.unwrap().status(),
            StatusCode::OK
        );
    }
    assert_eq!(admission.load().in_flight, 0);
}

/// A route over an instance that refuses connections and a good one that holds
/// its requests until released.
async fn refused_and_holding(
    queue_timeout: Duration,
) -> (
    TestRouter,
    Arc<Admission>,
    Arc<Upstream>,
    Arc<Upstream>,
    Arc<Semaphore>,
    TestUpstream,
) {
    let release = Arc::new(Semaphore::new(0));
    let good = holding_upstream(Arc::clone(&release)).await;
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let (good_up, refused_up) = (
        good.upstream("good"),
        Arc::new(Upstream::new("gone", refused)),
    );
    let admission = Arc::new(Admission::new(settings(1, 10, queue_timeout)));
    let serving = RouteState::Serving(vec![Arc::clone(&refused_up), Arc::clone(&good_up)]);
    let router = TestRouter::start(table(&route(serving, &admission))).await;
    (router, admission, good_up, refused_up, release, good)
}

#[tokio::test]
async fn a_connect_retry_waits_for_room_without_breaking_the_limit() {
    let (router, admission, good_up, refused_up, release, _good) =
        refused_and_holding(HANG_GUARD).await;

    // Wherever it starts, the first request ends on the good instance and fills it.
    let first = router.spawn_get("/1");
    eventually("first on the good instance", || good_up.in_flight() == 1).await;
    assert_eq!(
        refused_up.in_flight(),
        0,
        "the failed try released its slot"
    );
    // The second one can only take the refused instance's slot; its retry finds the
    // good one full and waits for it rather than exceed the limit or fail.
    let second = router.spawn_get("/2");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the retry gave up while it could wait"
    );
    assert_eq!(good_up.in_flight(), 1, "the limit held");
    release.add_permits(2);
    for (name, request) in [("first", first), ("second", second)] {
        let response = within(name, request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
    eventually("slots released", || admission.load().in_flight == 0).await;
}

#[tokio::test]
async fn a_connect_retry_waits_no_longer_than_the_queue_timeout() {
    let (router, admission, good_up, _refused_up, release, _good) =
        refused_and_holding(Duration::from_millis(300)).await;
    let first = router.spawn_get("/1");
    eventually("first on the good instance", || good_up.in_flight() == 1).await;
    // Nothing frees the good instance: the retry gives up after the queue timeout
    // with the connect failure, and never takes a second slot there.
    let second = router.get("/2").await;
    assert_eq!(second.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&second, "x-ferry-error"), "connect-failed");
    assert_eq!(good_up.in_flight(), 1);
    release.add_permits(1);
    assert_eq!(
        within("first", first).await.unwrap().status(),
        StatusCode::OK
    );
    eventually("slots released", || admission.load().in_flight == 0).await;
}
