//! Runs the router thread-per-core: one single-threaded runtime per thread, each with
//! its own listener on the same address (SO_REUSEPORT, the kernel spreads connections)
//! and its own upstream connection pool. A request then never hops threads, which
//! costs less CPU per request than one work-stealing runtime for everything.

use ferry_router::{RouteTable, RouterConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Blocking threads per router thread, for static files (opens and reads).
const STATIC_FILE_THREADS: usize = 16;

/// Binds `threads` listeners to `addr` (the first one picks the port when it is 0).
pub fn bind(addr: SocketAddr, threads: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut listeners: Vec<std::net::TcpListener> = Vec::with_capacity(threads.max(1));
    let mut bound = addr;
    for _ in 0..threads.max(1) {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(bound),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&bound.into())?;
        socket.listen(1024)?;
        let listener: std::net::TcpListener = socket.into();
        bound = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves on every listener, each on its own thread, until `shutdown`; returns once
/// all of them have drained.
pub async fn run(
    listeners: Vec<std::net::TcpListener>,
    table: watch::Receiver<Arc<RouteTable>>,
    config: RouterConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut threads = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let table = table.clone();
        let config = config.clone();
        let shutdown = shutdown.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("ferry-router-{index}"))
                .spawn(move || -> std::io::Result<()> {
                    // The blocking pool only reads static sites' files: bounded, so
                    // a flood of file requests queues instead of spawning threads.
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .max_blocking_threads(STATIC_FILE_THREADS)
                        .build()?;
                    runtime.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        ferry_router::serve(listener, table, config, shutdown).await
                    })
                })?,
        );
    }
    tokio::task::spawn_blocking(move || {
        let mut result = Ok(());
        for thread in threads {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(err)) => result = Err(err),
                Err(_) => result = Err(std::io::Error::other("a router thread panicked")),
            }
        }
        result
    })
    .await
    .map_err(std::io::Error::other)?
}
