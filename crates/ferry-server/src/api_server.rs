//! Serves the API (`http::router`) on its listener: HTTP/1.1 under a connection cap,
//! with a header-read timeout that also closes idle keep-alive connections, and a
//! graceful shutdown. `axum::serve` has neither a cap nor a timeout, so a few
//! thousand idle connections could take every file descriptor of the process.
//!
//! HTTP/1.1 only: no API client (the CLI, curl, docker) speaks cleartext HTTP/2, and
//! the timeout that bounds idle connections is an HTTP/1 notion.

use std::time::Duration;

use ferry_router::{Accepted, ConnectionLimit};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How the API listener treats its connections.
#[derive(Clone, Debug)]
pub struct ApiListenerConfig {
    /// Open connections allowed; past it, new ones wait in the listen backlog.
    pub connections: ConnectionLimit,
    /// A client must send a request's headers within this long, and an idle
    /// keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// After shutdown, in-flight requests get this long before their connections close.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown`, then drains (bounded by the grace).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    config: ApiListenerConfig,
    shutdown: CancellationToken,
) {
    let mut http = http1::Builder::new();
    http.keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = config.connections.accept(&listener) => match accepted {
                Ok(accepted) => {
                    connections.spawn(serve_connection(
                        accepted,
                        app.clone(),
                        http.clone(),
                        shutdown.clone(),
                    ));
                }
                // Running out of descriptors was logged (rate-limited) and paused on.
                Err(err) => tracing::debug!(error = %err, "API: accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "API: shutdown grace elapsed, closing remaining connections"
        );
        connections.shutdown().await;
    }
}

async fn serve_connection(
    accepted: Accepted,
    app: axum::Router,
    http: http1::Builder,
    shutdown: CancellationToken,
) {
    let Accepted {
        stream,
        peer,
        slot: _slot,
    } = accepted;
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(app);
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
        tracing::debug!(%peer, error = %err, "API: connection ended with an error");
    }
}
