//! The reverse proxy: accepts HTTP/1.1 connections, routes each request by Host,
//! picks the ready instance with the fewest outstanding requests, streams bodies
//! both ways, splices upgraded (WebSocket) connections, and drains on shutdown.

mod admit;
mod body;
mod error;
mod headers;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::uri::{PathAndQuery, Scheme};
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::accept::{Accepted, ConnectionLimit};
use crate::table::{InFlightGuard, RouteState, RouteTable, ServiceRoute, Upstream};
use admit::{Admitted, Refused, TriedSet};
use body::{RequestBodySource, UpstreamBody};

pub use body::{ProxyBody, ProxyBodyError};
pub use error::{ErrorSide, ProxyError, ProxyErrorKind};

/// A request is tried on at most this many instances (connect failures only).
const MAX_TRIES: usize = 3;

/// Router settings; `Default` suits a single-machine deployment.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// After shutdown, in-flight requests (and open WebSockets) get this long to
    /// finish before their connections are closed.
    pub shutdown_grace: Duration,
    /// Idle keep-alive connections to instances are closed after this long.
    pub upstream_idle_timeout: Duration,
    /// Most idle keep-alive connections kept per instance.
    pub upstream_max_idle_per_instance: usize,
    /// Limit for opening a connection to an instance; a connect that fails or times
    /// out is retried on another instance.
    pub connect_timeout: Duration,
    /// A client must send a request's headers within this long (slow-client guard);
    /// `None` disables the guard and saves a timer per request. It also closes idle
    /// keep-alive connections: hyper starts it when it waits for the next request.
    pub header_read_timeout: Option<Duration>,
    /// Open client connections allowed (shared by every `serve` given a clone of
    /// this config); past it, new connections wait in the listen backlog.
    pub connections: ConnectionLimit,
}

/// Client connections the router holds by default: each may also hold a connection
/// to an instance, and an idle one costs some 10–20 KiB, so this bounds both file
/// descriptors and memory. `ferry server` lowers it when the open-files limit is low.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            shutdown_grace: Duration::from_secs(30),
            upstream_idle_timeout: Duration::from_secs(60),
            upstream_max_idle_per_instance: 256,
            connect_timeout: Duration::from_secs(2),
            header_read_timeout: Some(Duration::from_secs(30)),
            connections: ConnectionLimit::new("router", DEFAULT_MAX_CONNECTIONS),
        }
    }
}

/// State shared by every connection of one `serve` call.
struct Shared {
    table: watch::Receiver<Arc<RouteTable>>,
    client: Client<HttpConnector, UpstreamBody>,
}

type Splice = Pin<Box<dyn Future<Output = ()> + Send>>;

/// State of one client connection.
struct ClientConnection {
    shared: Arc<Shared>,
    /// The client's address as an `X-Forwarded-For` entry, formatted once.
    client_ip: HeaderValue,
    /// Set when a request was upgraded: the splice runs once hyper hands back the
    /// connection's IO, inside this connection's task (so it is owned, not detached).
    upgraded: Mutex<Option<Splice>>,
}

/// Serves HTTP on `listener` until `shutdown` is cancelled, routing with the latest
/// table from `table`. On shutdown it stops accepting, lets in-flight requests
/// finish for up to `config.shutdown_grace`, closes what remains, and returns.
pub async fn serve(
    listener: TcpListener,
    table: watch::Receiver<Arc<RouteTable>>,
    config: RouterConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(config.connect_timeout));
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(config.upstream_idle_timeout)
        .pool_max_idle_per_host(config.upstream_max_idle_per_instance)
        .pool_timer(TokioTimer::new())
        .build(connector);
    let shared = Arc::new(Shared { table, client });

    let mut http = http1::Builder::new();
    http.keep_alive(true);
    if let Some(timeout) = config.header_read_timeout {
        http.timer(TokioTimer::new()).header_read_timeout(timeout);
    }

    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            // Waits for a free slot first: past the cap, connections queue in the
            // kernel rather than taking descriptors ferry needs for probes and spawns.
            accepted = config.connections.accept(&listener) => match accepted {
                Ok(accepted) => {
                    connections.spawn(serve_connection(
                        accepted,
                        Arc::clone(&shared),
                        http.clone(),
                        shutdown.clone(),
                    ));
                }
                // Running out of descriptors was logged (rate-limited) and paused on;
                // anything else is one client's aborted handshake.
                Err(err) => tracing::debug!(error = %err, "router: accept failed"),
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                log_task_end(finished);
            }
        }
    }
    drop(listener);

    let in_flight = connections.len();
    if in_flight > 0 {
        tracing::info!(connections = in_flight, grace = ?config.shutdown_grace, "router: draining");
    }
    let drain = async {
        while let Some(finished) = connections.join_next().await {
            log_task_end(finished);
        }
    };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "router: shutdown grace elapsed, closing remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

fn log_task_end(finished: Result<(), tokio::task::JoinError>) {
    if let Err(err) = finished {
        if err.is_panic() {
            tracing::error!(error = %err, "router: connection task panicked");
        }
    }
}

async fn serve_connection(
    accepted: Accepted,
    shared: Arc<Shared>,
    http: http1::Builder,
    shutdown: CancellationToken,
) {
    let Accepted {
        stream,
        peer,
        slot: _slot,
    } = accepted;
    // Small responses must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let ip = peer.ip().to_canonical().to_string();
    let client = Arc::new(ClientConnection {
        shared,
        // An IP address's text form is always a valid header value.
        client_ip: HeaderValue::from_str(&ip)
            .unwrap_or_else(|_| HeaderValue::from_static("unknown")),
        upgraded: Mutex::new(None),
    });
    let service = {
        let client = Arc::clone(&client);
        service_fn(move |request| handle(Arc::clone(&client), request))
    };
    let connection = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            // Finish the request in progress (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "router: client connection ended with an error");
    }
    let splice = client
        .upgraded
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(splice) = splice {
        splice.await;
    }
}

async fn handle(
    client: Arc<ClientConnection>,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let start = Instant::now();
    let (route, host) = match find_route(&client.shared, &request) {
        Ok(found) => found,
        Err(error) => return Ok(error.to_response(None)),
    };
    route.stats.record_request();
    let refusal = match &route.state {
        RouteState::Files(site) => return Ok(serve_files(site, &route, &request, start).await),
        // Serving (possibly with every instance at its limit) and Cold are admitted,
        // through the queue if need be.
        RouteState::Serving(upstreams) if !upstreams.is_empty() => None,
        RouteState::Cold => None,
        RouteState::Serving(_) => Some(ProxyError::new(
            ProxyErrorKind::Unavailable,
            "The service has no ready instance.",
        )),
        RouteState::Paused => Some(ProxyError::new(
            ProxyErrorKind::Paused,
            "This service is paused. Resume it to serve requests again.",
        )),
        RouteState::Unavailable { reason } => Some(ProxyError::new(
            ProxyErrorKind::Unavailable,
            format!("The service is starting or unavailable: {reason}"),
        )),
    };
    if let Some(error) = refusal {
        return Ok(router_error(&route, &error));
    }
    let admitted = match admit::admit(&client.shared.table, route, host).await {
        Ok(admitted) => admitted,
        Err(Refused { route, error }) => {
            return Ok(match &route.state {
                RouteState::Files(site) => serve_files(site, &route, &request, start).await,
                _ => router_error(&route, &error),
            });
        }
    };
    let Admitted {
        route,
        index,
        guard,
    } = admitted;
    let outcome = forward(&client, &route, (index, guard), request).await;
    let stats = &route.stats;
    stats.record_latency(start.elapsed());
    Ok(match outcome {
        Ok(response) => {
            stats.record_response(response.status());
            response
        }
        Err(error) => router_error(&route, &error),
    })
}

/// A static site's answer, counted in the service's stats like a proxied one.
async fn serve_files(
    site: &Arc<crate::files::StaticSite>,
    route: &ServiceRoute,
    request: &Request<Incoming>,
    start: Instant,
) -> Response<ProxyBody> {
    let response =
        crate::files::serve(site, request.method(), request.uri(), request.headers()).await;
    route.stats.record_latency(start.elapsed());
    route.stats.record_response(response.status());
    response
}

fn router_error(route: &ServiceRoute, error: &ProxyError) -> Response<ProxyBody> {
    route.stats.record_router_error(error.status());
    error.to_response(Some(&route.service))
}

/// The route for a request's host (the absolute-form URI's authority if present,
/// RFC 9112 §3.2.2, else the Host header), and that host.
fn find_route<'r>(
    shared: &Shared,
    request: &'r Request<Incoming>,
) -> Result<(Arc<ServiceRoute>, &'r str), ProxyError> {
    if request.method() == Method::CONNECT {
        return Err(ProxyError::new(
            ProxyErrorKind::BadRequest,
            "CONNECT is not supported by this router.",
        ));
    }
    // RFC 9112 §3.2: more than one Host is a 400, whatever the request target says;
    // forwarding both would let the app and the router disagree on the host. One
    // lookup serves both the check and the routing.
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host_header = hosts.next();
    if host_header.is_some() && hosts.next().is_some() {
        return Err(ProxyError::new(
            ProxyErrorKind::BadRequest,
            "The request has more than one Host header.",
        ));
    }
    let host = match request.uri().authority() {
        Some(authority) => authority.host(),
        None => host_header
            .and_then(|host| host.to_str().ok())
            .ok_or_else(|| {
                ProxyError::new(
                    ProxyErrorKind::BadRequest,
                    "The request has no valid Host header.",
                )
            })?,
    };
    let table = shared.table.borrow();
    match table.lookup(host) {
        Some(route) => Ok((Arc::clone(route), host)),
        None => Err(ProxyError::new(
            ProxyErrorKind::UnknownHost,
            format!("No service is routed for host \"{host}\"."),
        )),
    }
}

/// Sends the request to the instance it was admitted to (retrying connect failures
/// on others with room) and turns its response into the client's.
async fn forward(
    client: &ClientConnection,
    route: &ServiceRoute,
    first: (usize, InFlightGuard),
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let upstreams = admit::upstreams(route);
    let (mut parts, body) = request.into_parts();
    // For an absolute-form request the URI's authority is the host (RFC 9112
    // §3.2.2): the instance sees that as Host too, so it agrees with the routing.
    let original_host = match parts.uri.authority() {
        Some(authority) => {
            let host = HeaderValue::from_str(authority.as_str()).ok();
            if let Some(host) = &host {
                parts.headers.insert(header::HOST, host.clone());
            }
            host
        }
        None => parts.headers.get(header::HOST).cloned(),
    };
    let upgrade = headers::strip_hop_by_hop(&mut parts.headers);
    let client_upgrade = match upgrade {
        Some(protocol) => {
            headers::set_upgrade(&mut parts.headers, protocol);
            parts.extensions.remove::<OnUpgrade>()
        }
        None => None,
    };
    headers::set_forwarded(&mut parts.headers, &client.client_ip, original_host);
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));

    let max_tries = upstreams.len().min(MAX_TRIES);
    let mut body = RequestBodySource::new(body, max_tries > 1);
    // The request timeout counts from admission: time spent queued is bounded by
    // the queue timeout instead.
    let deadline = Instant::now() + route.request_timeout;
    let mut tried = TriedSet::default();
    let mut slot = Some(first);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last_try = attempt >= max_tries;
        // A retry takes a slot on another instance with room (the failed one's slot
        // was released), so the limit holds across retries too.
        // When the others are all busy, it waits for room on one of them (as long as
        // a queued request may wait) instead of failing a request an instance could
        // still serve.
        let found = match slot.take() {
            Some(first) => Some(first),
            None => {
                let wait_until =
                    deadline.min(Instant::now() + route.admission.settings().queue_timeout);
                admit::acquire_for_retry(route, &tried, wait_until).await
            }
        };
        let Some((index, guard)) = found else {
            return Err(ProxyError::new(
                ProxyErrorKind::ConnectFailed,
                "No instance of the service accepted the connection.",
            ));
        };
        tried.insert(index);
        let upstream = &upstreams[index];

        let mut upstream_request = Request::new(body.next_attempt());
        *upstream_request.method_mut() = parts.method.clone();
        *upstream_request.uri_mut() = upstream_uri(upstream, &path_and_query);
        *upstream_request.version_mut() = Version::HTTP_11;
        *upstream_request.headers_mut() = if last_try {
            std::mem::take(&mut parts.headers)
        } else {
            parts.headers.clone()
        };

        let sent =
            tokio::time::timeout_at(deadline, client.shared.client.request(upstream_request)).await;
        let error = match sent {
            Ok(Ok(response)) => {
                let limits = (deadline, route.request_timeout);
                return upstream_response(client, response, guard, client_upgrade, limits);
            }
            Ok(Err(err)) => {
                let retry = err.is_connect() && body.is_unread();
                let kind = if err.is_connect() {
                    ProxyErrorKind::ConnectFailed
                } else {
                    ProxyErrorKind::UpstreamFailed
                };
                tracing::debug!(
                    service = %route.service,
                    instance = %upstream.instance_id,
                    error = %ErrorChain(&err),
                    retry,
                    "router: upstream request failed"
                );
                let message = match kind {
                    ProxyErrorKind::ConnectFailed => {
                        "No instance of the service accepted the connection."
                    }
                    _ => "The instance closed the connection or sent an invalid response.",
                };
                ProxyError::new(kind, message).retryable(retry)
            }
            Err(_elapsed) => {
                return Err(ProxyError::new(
                    ProxyErrorKind::UpstreamTimeout,
                    format!(
                        "The service did not answer within {}.",
                        crate::health::format_duration(route.request_timeout)
                    ),
                ));
            }
        };
        drop(guard);
        if !error.retry || last_try {
            tracing::warn!(
                service = %route.service,
                kind = error.kind.code(),
                attempts = attempt,
                "router: request failed"
            );
            return Err(error);
        }
    }
}

/// Builds the client's response from the instance's, splicing an upgrade.
fn upstream_response(
    client: &ClientConnection,
    mut response: Response<Incoming>,
    guard: InFlightGuard,
    client_upgrade: Option<OnUpgrade>,
    (deadline, timeout): (Instant, Duration),
) -> Result<Response<ProxyBody>, ProxyError> {
    let upgrade = headers::strip_hop_by_hop(response.headers_mut());
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(response.map(|body| ProxyBody::upstream(body, guard, deadline, timeout)));
    }
    let (Some(client_upgrade), Some(protocol)) = (client_upgrade, upgrade) else {
        return Err(ProxyError::new(
            ProxyErrorKind::UpstreamFailed,
            "The instance switched protocols without being asked to.",
        ));
    };
    let upstream_upgrade = hyper::upgrade::on(&mut response);
    let splice: Splice = Box::pin(async move {
        // An open WebSocket counts as an outstanding request of its instance.
        let _guard = guard;
        match tokio::try_join!(client_upgrade, upstream_upgrade) {
            Ok((downstream, upstream)) => {
                let mut downstream = TokioIo::new(downstream);
                let mut upstream = TokioIo::new(upstream);
                if let Err(err) =
                    tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await
                {
                    tracing::debug!(error = %err, "router: upgraded connection ended");
                }
            }
            Err(err) => tracing::debug!(error = %err, "router: upgrade failed"),
        }
    });
    *client
        .upgraded
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(splice);
    let (mut parts, _body) = response.into_parts();
    headers::set_upgrade(&mut parts.headers, protocol);
    Ok(Response::from_parts(parts, ProxyBody::empty()))
}

fn upstream_uri(upstream: &Upstream, path_and_query: &PathAndQuery) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(upstream.authority().clone());
    parts.path_and_query = Some(path_and_query.clone());
    // Scheme, authority and path are all present and individually valid.
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("http://127.0.0.1/"))
}

/// Displays an error with its sources, for logs.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_uri_targets_the_instance() {
        let up = Upstream::new("i", std::net::SocketAddr::from(([127, 0, 0, 1], 4000)));
        let uri = upstream_uri(&up, &PathAndQuery::from_static("/a?b=1"));
        assert_eq!(uri.to_string(), "http://127.0.0.1:4000/a?b=1");
    }
}
