//! End-to-end tests of the router: real sockets on 127.0.0.1, hyper upstreams and
//! clients in the same process, no external programs.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_router::{
    serve, RouteState, RouteTable, RouterConfig, ServiceRoute, ServiceStats, Upstream,
};
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod support;
use support::*;

/// A body fed chunk by chunk from a channel.
fn channel_body() -> (mpsc::Sender<Bytes>, TestBody) {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(Frame::data(chunk)), rx))
    });
    (tx, BodyExt::boxed(StreamBody::new(stream)))
}

/// Answers with its name in `x-upstream`, the path as body, and every request
/// header echoed back as `echo-<name>`.
async fn echo_upstream(name: &'static str) -> TestUpstream {
    spawn_upstream(move |request: Request<Incoming>| async move {
        let mut response = Response::new(full(request.uri().path().to_owned()));
        response
            .headers_mut()
            .insert("x-upstream", name.parse().unwrap());
        for (header, value) in request.headers() {
            let echoed = format!("echo-{header}");
            response
                .headers_mut()
                .append(http::HeaderName::try_from(echoed).unwrap(), value.clone());
        }
        response
    })
    .await
}

fn route(service: &str, state: RouteState, request_timeout: Duration) -> Arc<ServiceRoute> {
    Arc::new(ServiceRoute {
        service: service.to_owned(),
        state,
        request_timeout,
        stats: Arc::new(ServiceStats::new()),
        admission: Default::default(),
    })
}

fn serving(service: &str, upstreams: Vec<Arc<Upstream>>) -> Arc<ServiceRoute> {
    route(
        service,
        RouteState::Serving(upstreams),
        Duration::from_secs(30),
    )
}

fn table(entries: &[(&str, &Arc<ServiceRoute>)]) -> Arc<RouteTable> {
    let mut table = RouteTable::default();
    for (host, route) in entries {
        table.insert(host, Arc::clone(route));
    }
    Arc::new(table)
}

struct TestRouter {
    addr: SocketAddr,
    table: watch::Sender<Arc<RouteTable>>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestRouter {
    async fn start(table: Arc<RouteTable>) -> Self {
        Self::start_with(table, RouterConfig::default()).await
    }

    async fn start_with(table: Arc<RouteTable>, config: RouterConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(table);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, rx, config, shutdown.clone()));
        Self {
            addr,
            table: tx,
            shutdown,
            server: Some(server),
        }
    }

    /// Opens a client connection to the router.
    async fn connect(&self) -> hyper::client::conn::http1::SendRequest<TestBody> {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = connection.with_upgrades().await;
        });
        sender
    }

    /// Sends one request on a fresh connection.
    async fn send(&self, request: Request<TestBody>) -> Response<Incoming> {
        let mut sender = self.connect().await;
        within("response head", sender.send_request(request))
            .await
            .unwrap()
    }

    async fn get(&self, host: &str, path: &str) -> Response<Incoming> {
        self.send(get_request(host, path)).await
    }

    async fn stop(mut self) -> std::io::Result<()> {
        self.shutdown.cancel();
        let server = self.server.take().unwrap();
        within("router shutdown", server).await.unwrap()
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn get_request(host: &str, path: &str) -> Request<TestBody> {
    Request::get(path)
        .header("host", host)
        .body(empty())
        .unwrap()
}

async fn body_text(response: Response<Incoming>) -> String {
    let bytes = within("response body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn header<'a>(response: &'a Response<Incoming>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

/// An address where nothing listens (bound once, then released).
async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn routes_by_host_header_ignoring_case_and_port() {
    let a = echo_upstream("a").await;
    let b = echo_upstream("b").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let route_b = serving("b", vec![b.upstream("b-1")]);
    let router = TestRouter::start(table(&[
        ("a.localhost", &route_a),
        ("shop.example.com", &route_b),
    ]))
    .await;

    let response = router.get("a.localhost", "/one").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-upstream"), "a");
    assert_eq!(body_text(response).await, "/one");

    let response = router.get("Shop.Example.COM:8080", "/two").await;
    assert_eq!(header(&response, "x-upstream"), "b");
    assert_eq!(body_text(response).await, "/two");

    assert_eq!(route_a.stats.snapshot().requests, 1);
    assert_eq!(route_b.stats.snapshot().requests, 1);
}

#[tokio::test]
async fn absolute_form_uri_routes_by_its_authority() {
    let a = echo_upstream("a").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let router = TestRouter::start(table(&[("a.localhost", &route_a)])).await;

    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    stream
        .write_all(
            b"GET http://a.localhost/abs?x=1 HTTP/1.1\r\nHost: elsewhere\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut raw = String::new();
    within("raw response", stream.read_to_string(&mut raw))
        .await
        .unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("x-upstream: a"), "{raw}");
    assert!(raw.contains("echo-host: a.localhost\r\n"), "{raw}");
    assert!(raw.ends_with("/abs"), "{raw}");
}

#[tokio::test]
async fn head_responses_keep_their_length_and_the_connection() {
    let a = echo_upstream("a").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let router = TestRouter::start(table(&[("a.localhost", &route_a)])).await;

    let mut sender = router.connect().await;
    let head = Request::head("/five")
        .header("host", "a.localhost")
        .body(empty())
        .unwrap();
    let response = sender.send_request(head).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-length"), "5");
    assert_eq!(body_text(response).await, "");
    // The same connection still works: no stray body bytes were sent.
    let response = sender
        .send_request(get_request("a.localhost", "/after"))
        .await
        .unwrap();
    assert_eq!(body_text(response).await, "/after");
}

#[tokio::test]
async fn unknown_host_gets_a_404_page() {
    let router = TestRouter::start(Arc::new(RouteTable::default())).await;
    let response = router.get("nope.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "x-ferry-error"), "unknown-host");
    assert!(header(&response, "content-type").starts_with("text/html"));
    let page = body_text(response).await;
    assert!(page.contains("404"), "{page}");
    assert!(page.contains("nope.localhost"), "{page}");
}

#[tokio::test]
async fn bad_requests_get_400_and_the_router_keeps_serving() {
    let a = echo_upstream("a").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let router = TestRouter::start(table(&[("a.localhost", &route_a)])).await;

    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(router.addr).await.unwrap();
        stream.write_all(garbage).await.unwrap();
        let mut raw = vec![0; 1024];
        let read = within("raw response", stream.read(&mut raw)).await.unwrap();
        let head = String::from_utf8_lossy(&raw[..read]).into_owned();
        assert!(head.starts_with("HTTP/1.1 400"), "{head:?}");
    }
    let response = router.get("a.localhost", "/after").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn least_outstanding_spreads_idle_load() {
    let a = echo_upstream("a").await;
    let b = echo_upstream("b").await;
    let route_ab = serving("ab", vec![a.upstream("a-1"), b.upstream("b-1")]);
    let router = TestRouter::start(table(&[("ab.localhost", &route_ab)])).await;

    let mut sender = router.connect().await;
    let mut seen_a = 0;
    let mut seen_b = 0;
    for _ in 0..60 {
        let response = sender
            .send_request(get_request("ab.localhost", "/"))
            .await
            .unwrap();
        match header(&response, "x-upstream") {
            "a" => seen_a += 1,
            "b" => seen_b += 1,
            other => panic!("unexpected upstream {other:?}"),
        }
        body_text(response).await;
    }
    assert!(seen_a > 0 && seen_b > 0, "a={seen_a} b={seen_b}");
}

/// Upstream whose `/slow` waits for `release`; other paths answer at once.
async fn holding_upstream(name: &'static str, release: Arc<Notify>) -> TestUpstream {
    spawn_upstream(move |request: Request<Incoming>| {
        let release = Arc::clone(&release);
        async move {
            if request.uri().path() == "/slow" {
                release.notified().await;
            }
            let mut response = Response::new(full(name));
            response
                .headers_mut()
                .insert("x-upstream", name.parse().unwrap());
            response
        }
    })
    .await
}

#[tokio::test]
async fn least_outstanding_prefers_the_idle_instance() {
    let release = Arc::new(Notify::new());
    let a = holding_upstream("a", Arc::clone(&release)).await;
    let b = holding_upstream("b", Arc::clone(&release)).await;
    let (up_a, up_b) = (a.upstream("a-1"), b.upstream("b-1"));
    let route_ab = serving("ab", vec![Arc::clone(&up_a), Arc::clone(&up_b)]);
    let router = Arc::new(TestRouter::start(table(&[("ab.localhost", &route_ab)])).await);

    let slow = {
        let router = Arc::clone(&router);
        tokio::spawn(async move { body_text(router.get("ab.localhost", "/slow").await).await })
    };
    eventually("the slow request to be in flight", || {
        up_a.in_flight() + up_b.in_flight() == 1
    })
    .await;
    let busy = if up_a.in_flight() == 1 { "a" } else { "b" };

    let mut sender = router.connect().await;
    for _ in 0..20 {
        let response = sender
            .send_request(get_request("ab.localhost", "/fast"))
            .await
            .unwrap();
        assert_ne!(header(&response, "x-upstream"), busy);
        body_text(response).await;
    }
    release.notify_one();
    assert_eq!(within("slow request", slow).await.unwrap(), busy);
}

#[tokio::test]
async fn slow_chunked_response_arrives_incrementally() {
    let (chunks_tx, chunks_rx) = mpsc::channel::<mpsc::Sender<Bytes>>(1);
    let chunks_tx = Arc::new(chunks_tx);
    let upstream = spawn_upstream(move |_request| {
        let chunks_tx = Arc::clone(&chunks_tx);
        async move {
            let (tx, body) = channel_body();
            chunks_tx.send(tx).await.unwrap();
            Response::new(body)
        }
    })
    .await;
    let up = upstream.upstream("s-1");
    let stream_route = serving("stream", vec![Arc::clone(&up)]);
    let router = TestRouter::start(table(&[("stream.localhost", &stream_route)])).await;

    let mut chunks_rx = chunks_rx;
    let response = router.get("stream.localhost", "/").await;
    let upstream_body = within("upstream body sender", chunks_rx.recv())
        .await
        .unwrap();
    let mut body = response.into_body();
    for i in 0..3 {
        let chunk = format!("chunk {i}\n");
        upstream_body
            .send(Bytes::from(chunk.clone()))
            .await
            .unwrap();
        // The next chunk is only sent once this one came through: a buffering
        // proxy would hang here.
        let frame = within("a streamed chunk", body.frame())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(frame.into_data().unwrap(), Bytes::from(chunk));
        assert_eq!(up.in_flight(), 1, "held while the body streams");
    }
    drop(upstream_body);
    assert!(within("end of body", body.frame()).await.is_none());
    eventually("in-flight back to 0", || up.in_flight() == 0).await;
}

/// Answers with a body that sends `first`, then stays open until the proxy drops it.
async fn first_chunk_then_open_upstream() -> TestUpstream {
    spawn_upstream(|_request| async move {
        let (tx, body) = channel_body();
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from_static(b"first")).await;
            tx.closed().await;
        });
        Response::new(body)
    })
    .await
}

#[tokio::test]
async fn a_response_still_streaming_at_the_request_timeout_is_cut() {
    let upstream = first_chunk_then_open_upstream().await;
    let up = upstream.upstream("s-1");
    let stream_route = route(
        "stream",
        RouteState::Serving(vec![Arc::clone(&up)]),
        Duration::from_secs(1),
    );
    let router = TestRouter::start(table(&[("stream.localhost", &stream_route)])).await;

    let response = router.get("stream.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = within("first chunk", body.frame()).await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"first"));
    // The head came in time, but the whole response did not: the router ends the
    // connection instead of letting the body stream past the timeout.
    let rest = within("the cut", body.frame()).await;
    assert!(
        !matches!(rest, Some(Ok(_))),
        "expected the body to end early, got {rest:?}"
    );
    eventually("in-flight back to 0 after the cut", || up.in_flight() == 0).await;
}

#[tokio::test]
async fn client_going_away_mid_body_releases_the_instance() {
    let upstream = first_chunk_then_open_upstream().await;
    let up = upstream.upstream("s-1");
    let stream_route = serving("stream", vec![Arc::clone(&up)]);
    let router = TestRouter::start(table(&[("stream.localhost", &stream_route)])).await;

    let response = router.get("stream.localhost", "/").await;
    let mut body = response.into_body();
    within("first chunk", body.frame()).await.unwrap().unwrap();
    assert_eq!(up.in_flight(), 1);
    drop(body);
    eventually("in-flight back to 0 after the client left", || {
        up.in_flight() == 0
    })
    .await;
}

#[tokio::test]
async fn large_request_body_streams_through() {
    // The upstream answers with how many bytes it read and a simple checksum.
    let upstream = spawn_upstream(|request: Request<Incoming>| async move {
        let mut body = request.into_body();
        let (mut total, mut sum) = (0u64, 0u64);
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                total += data.len() as u64;
                sum = data
                    .iter()
                    .fold(sum, |acc, b| acc.wrapping_add(u64::from(*b)));
            }
        }
        Response::new(full(format!("{total} {sum}")))
    })
    .await;
    let upload = serving("upload", vec![upstream.upstream("u-1")]);
    let router = TestRouter::start(table(&[("upload.localhost", &upload)])).await;

    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 512; // 32 MiB
    let (tx, body) = channel_body();
    let feeder = tokio::spawn(async move {
        let (mut total, mut sum) = (0u64, 0u64);
        for i in 0..CHUNKS {
            let chunk = vec![(i % 251) as u8; CHUNK];
            total += chunk.len() as u64;
            sum = chunk
                .iter()
                .fold(sum, |acc, b| acc.wrapping_add(u64::from(*b)));
            tx.send(Bytes::from(chunk)).await.unwrap();
        }
        format!("{total} {sum}")
    });
    let request = Request::post("/upload")
        .header("host", "upload.localhost")
        .body(body)
        .unwrap();
    let response = router.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let expected = within("feeder", feeder).await.unwrap();
    assert_eq!(body_text(response).await, expected);
}

#[tokio::test]
async fn keep_alive_is_reused_on_both_sides() {
    let a = echo_upstream("a").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let router = TestRouter::start(table(&[("a.localhost", &route_a)])).await;

    // Twenty requests on one client connection...
    let mut sender = router.connect().await;
    for i in 0..20 {
        let response = within(
            "keep-alive response",
            sender.send_request(get_request("a.localhost", &format!("/{i}"))),
        )
        .await
        .unwrap();
        assert_eq!(body_text(response).await, format!("/{i}"));
    }
    // ...are carried over pooled upstream connections, not one each.
    let opened = a.connections.load(Ordering::SeqCst);
    assert!(opened < 10, "upstream connections opened: {opened}");
}

#[tokio::test]
async fn forwarded_headers_are_set_and_hop_by_hop_dropped() {
    let a = echo_upstream("a").await;
    let route_a = serving("a", vec![a.upstream("a-1")]);
    let router = TestRouter::start(table(&[("a.localhost", &route_a)])).await;

    let request = Request::get("/h")
        .header("host", "A.localhost:1234")
        .header("x-forwarded-for", "10.1.2.3")
        .header("x-forwarded-proto", "https")
        .header("connection", "keep-alive, x-private")
        .header("x-private", "secret")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("x-app", "kept")
        .body(empty())
        .unwrap();
    let response = router.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "echo-host"), "A.localhost:1234");
    assert_eq!(
        header(&response, "echo-x-forwarded-for"),
        "10.1.2.3, 127.0.0.1"
    );
    assert_eq!(header(&response, "echo-x-forwarded-proto"), "http");
    assert_eq!(
        header(&response, "echo-x-forwarded-host"),
        "A.localhost:1234"
    );
    assert_eq!(header(&response, "echo-x-app"), "kept");
    for dropped in [
        "echo-x-private",
        "echo-keep-alive",
        "echo-proxy-authorization",
    ] {
        assert!(
            response.headers().get(dropped).is_none(),
            "{dropped} leaked"
        );
    }
}

#[tokio::test]
async fn websocket_echo_through_the_proxy() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_addr = listener.local_addr().unwrap();
    let ws_server = AbortOnDrop(tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    }));
    let up = Arc::new(Upstream::new("ws-1", ws_addr));
    let ws_route = serving("ws", vec![Arc::clone(&up)]);
    let router = TestRouter::start(table(&[("ws.localhost", &ws_route)])).await;

    let stream = TcpStream::connect(router.addr).await.unwrap();
    let (mut ws, response) = within(
        "websocket handshake",
        tokio_tungstenite::client_async("ws://ws.localhost/chat", stream),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    for text in ["hello", "through", "ferry"] {
        ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .unwrap();
        let echoed = within("websocket echo", ws.next()).await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    assert_eq!(up.in_flight(), 1, "an open WebSocket counts as outstanding");
    ws.close(None).await.unwrap();
    // Read the server's close reply, then hang up.
    while let Some(Ok(_)) = within("websocket close", ws.next()).await {}
    drop(ws);
    eventually("websocket released", || up.in_flight() == 0).await;
    drop(ws_server);
}

#[tokio::test]
async fn upstream_closing_without_response_is_502() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _closer = AbortOnDrop(tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    }));
    let broken = serving("broken", vec![Arc::new(Upstream::new("b-1", addr))]);
    let router = TestRouter::start(table(&[("broken.localhost", &broken)])).await;

    let response = router.get("broken.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, "x-ferry-error"), "upstream-failed");
    let page = body_text(response).await;
    assert!(page.contains("broken"), "{page}");
    let stats = broken.stats.snapshot();
    assert_eq!((stats.router_errors, stats.responses_5xx), (1, 1));
}

#[tokio::test]
async fn no_instance_and_paused_are_503_with_reasons() {
    let starting = route(
        "api",
        RouteState::Unavailable {
            reason: "instance i-3 is starting (health check pending)".into(),
        },
        Duration::from_secs(30),
    );
    let paused = route("blog", RouteState::Paused, Duration::from_secs(30));
    let empty_route = serving("empty", Vec::new());
    let router = TestRouter::start(table(&[
        ("api.localhost", &starting),
        ("blog.localhost", &paused),
        ("empty.localhost", &empty_route),
    ]))
    .await;

    let response = router.get("api.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "x-ferry-error"), "unavailable");
    let page = body_text(response).await;
    assert!(page.contains("starting"), "{page}");
    assert!(page.contains("health check pending"), "{page}");
    assert!(page.contains("api"), "{page}");

    let response = router.get("blog.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "x-ferry-error"), "paused");
    let page = body_text(response).await;
    assert!(page.contains("paused"), "{page}");
    assert!(page.contains("blog"), "{page}");

    let response = router.get("empty.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "x-ferry-error"), "unavailable");

    assert_eq!(paused.stats.snapshot().router_errors, 1);
}

#[tokio::test]
async fn slow_upstream_past_the_service_timeout_is_504() {
    let release = Arc::new(Notify::new());
    let upstream = holding_upstream("slow", Arc::clone(&release)).await;
    let up = upstream.upstream("s-1");
    let slow = route(
        "slow",
        RouteState::Serving(vec![Arc::clone(&up)]),
        Duration::from_secs(1),
    );
    let router = TestRouter::start(table(&[("slow.localhost", &slow)])).await;

    let response = router.get("slow.localhost", "/slow").await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(header(&response, "x-ferry-error"), "upstream-timeout");
    let page = body_text(response).await;
    assert!(page.contains("within 1s"), "{page}");
    assert_eq!(up.in_flight(), 0);
    release.notify_waiters();
}

#[tokio::test]
async fn connection_refused_is_retried_on_another_instance() {
    let good = echo_upstream("good").await;
    let dead = Arc::new(Upstream::new("dead-1", refused_addr().await));
    let mixed = serving("mixed", vec![Arc::clone(&dead), good.upstream("good-1")]);
    let router = TestRouter::start(table(&[("mixed.localhost", &mixed)])).await;

    for i in 0..10 {
        // Bodies too: a refused connect never read a byte of them.
        let request = Request::post(format!("/{i}"))
            .header("host", "mixed.localhost")
            .body(full(format!("payload {i}")))
            .unwrap();
        let response = router.send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
        assert_eq!(header(&response, "x-upstream"), "good");
        body_text(response).await;
    }
    assert_eq!(dead.in_flight(), 0);
    let stats = mixed.stats.snapshot();
    assert_eq!((stats.requests, stats.responses_2xx), (10, 10));

    // With every instance refusing, the client gets a 502 saying so.
    let all_dead = serving(
        "dead",
        vec![
            Arc::new(Upstream::new("d-1", refused_addr().await)),
            Arc::new(Upstream::new("d-2", refused_addr().await)),
        ],
    );
    router
        .table
        .send_replace(table(&[("dead.localhost", &all_dead)]));
    let response = router.get("dead.localhost", "/").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, "x-ferry-error"), "connect-failed");
}

#[tokio::test]
async fn in_flight_rises_during_a_slow_request_and_returns_to_zero() {
    let release = Arc::new(Notify::new());
    let upstream = holding_upstream("slow", Arc::clone(&release)).await;
    let up = upstream.upstream("s-1");
    let slow = serving("slow", vec![Arc::clone(&up)]);
    let router = Arc::new(TestRouter::start(table(&[("slow.localhost", &slow)])).await);

    assert_eq!(up.in_flight(), 0);
    let pending = {
        let router = Arc::clone(&router);
        tokio::spawn(async move { body_text(router.get("slow.localhost", "/slow").await).await })
    };
    eventually("request in flight", || up.in_flight() == 1).await;
    release.notify_one();
    assert_eq!(within("slow response", pending).await.unwrap(), "slow");
    eventually("in-flight back to 0", || up.in_flight() == 0).await;
}

#[tokio::test]
async fn stats_count_classes_and_latency() {
    let upstream = spawn_upstream(|request: Request<Incoming>| async move {
        let status = match request.uri().path() {
            "/missing" => StatusCode::NOT_FOUND,
            "/moved" => StatusCode::MOVED_PERMANENTLY,
            "/boom" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::OK,
        };
        let mut response = Response::new(full("x"));
        *response.status_mut() = status;
        response
    })
    .await;
    let app = serving("app", vec![upstream.upstream("a-1")]);
    let router = TestRouter::start(table(&[("app.localhost", &app)])).await;

    let mut sender = router.connect().await;
    for path in ["/", "/", "/", "/missing", "/moved", "/boom"] {
        let response = sender
            .send_request(get_request("app.localhost", path))
            .await
            .unwrap();
        body_text(response).await;
    }
    let stats = app.stats.snapshot();
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.responses_2xx, 3);
    assert_eq!(stats.responses_3xx, 1);
    assert_eq!(stats.responses_4xx, 1);
    assert_eq!(stats.responses_5xx, 1);
    assert_eq!(stats.router_errors, 0);
    assert!(stats.latency_p50_ms > 0.0);
    assert!(stats.latency_p99_ms >= stats.latency_p50_ms);
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let release = Arc::new(Notify::new());
    let upstream = holding_upstream("slow", Arc::clone(&release)).await;
    let up = upstream.upstream("s-1");
    let slow = serving("slow", vec![Arc::clone(&up)]);
    let router = TestRouter::start_with(
        table(&[("slow.localhost", &slow)]),
        RouterConfig {
            shutdown_grace: Duration::from_secs(15),
            ..RouterConfig::default()
        },
    )
    .await;

    let mut sender = router.connect().await;
    let pending = tokio::spawn(async move {
        let response = sender
            .send_request(get_request("slow.localhost", "/slow"))
            .await
            .unwrap();
        (response.status(), body_text(response).await)
    });
    eventually("request in flight", || up.in_flight() == 1).await;

    let addr = router.addr;
    let stopping = tokio::spawn(router.stop());
    // New connections are refused once the listener is closed...
    eventually("listener closed", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
    })
    .await;
    assert!(
        !stopping.is_finished(),
        "serve returned with a request in flight"
    );
    // ...while the request in flight completes normally.
    release.notify_one();
    let (status, body) = within("in-flight response", pending).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "slow");
    within("serve to return", stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn table_swaps_while_requests_flow() {
    let a = echo_upstream("a").await;
    let b = echo_upstream("b").await;
    let up_a = a.upstream("a-1");
    let up_b = b.upstream("b-1");
    let stats = Arc::new(ServiceStats::new());
    let with = |upstreams: Vec<Arc<Upstream>>| {
        Arc::new(ServiceRoute {
            service: "app".into(),
            state: RouteState::Serving(upstreams),
            request_timeout: Duration::from_secs(30),
            stats: Arc::clone(&stats),
            admission: Default::default(),
        })
    };
    let router = Arc::new(
        TestRouter::start(table(&[("app.localhost", &with(vec![Arc::clone(&up_a)]))])).await,
    );

    let mut clients = Vec::new();
    for _ in 0..4 {
        let router = Arc::clone(&router);
        clients.push(tokio::spawn(async move {
            let mut sender = router.connect().await;
            let mut seen = Vec::new();
            for _ in 0..100 {
                let response = sender
                    .send_request(get_request("app.localhost", "/"))
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                seen.push(header(&response, "x-upstream").to_owned());
                body_text(response).await;
            }
            seen
        }));
    }
    // Blue → both → green, as a deploy does, while the clients keep sending.
    let steps = [
        (100, vec![Arc::clone(&up_a), Arc::clone(&up_b)]),
        (200, vec![Arc::clone(&up_b)]),
    ];
    for (after_requests, upstreams) in steps {
        eventually("traffic before the swap", || {
            stats.snapshot().requests >= after_requests
        })
        .await;
        router
            .table
            .send_replace(table(&[("app.localhost", &with(upstreams))]));
    }
    let mut seen = Vec::new();
    for client in clients {
        seen.extend(within("client", client).await.unwrap());
    }
    assert_eq!(seen.len(), 400);
    assert!(seen.iter().any(|name| name == "a"));
    assert!(seen.iter().any(|name| name == "b"));
    let response = router.get("app.localhost", "/").await;
    assert_eq!(header(&response, "x-upstream"), "b");
    assert_eq!(stats.snapshot().requests, 401);
    assert_eq!(stats.snapshot().responses_2xx, 401);
}
