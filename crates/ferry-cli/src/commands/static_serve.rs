//! `ferry static-serve DIR`: the process a detected static site runs as (ferry's own
//! file server), listening on `$HOST:$PORT` as every instance does.

use anyhow::{Context, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use tokio_util::sync::CancellationToken;

pub async fn run(dir: &Path) -> Result<()> {
    let port: u16 = std::env::var("PORT")
        .context("PORT is not set (ferry sets it for every instance)")?
        .parse()
        .context("PORT is not a port number")?;
    // Instances on the host listen on loopback only; a container sets HOST=0.0.0.0.
    let host: IpAddr = match std::env::var("HOST") {
        Ok(host) => host
            .parse()
            .with_context(|| format!("HOST {host:?} is not an IP address"))?,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let shutdown = CancellationToken::new();
    super::server::cancel_on_signals(shutdown.clone())?;
    let addr = SocketAddr::new(host, port);
    tracing::info!(%addr, dir = %dir.display(), "serving static files");
    ferry_server::static_site::serve(dir, addr, shutdown)
        .await
        .with_context(|| format!("serving {}", dir.display()))
}
