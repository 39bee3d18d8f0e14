//! `ferry server`: runs the platform in the foreground until SIGTERM or Ctrl-C.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ferry_server::runtimes::RuntimeChoice;
use ferry_server::ServerOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// API listener (the registry and console share it)
    #[arg(long, default_value = "127.0.0.1:7070", env = "FERRY_API_ADDR")]
    pub api: SocketAddr,
    /// Router listener: http://<service>.localhost:<port>
    #[arg(long, default_value = "127.0.0.1:8080", env = "FERRY_ROUTER_ADDR")]
    pub router: SocketAddr,
    /// Which runtime runs instances: docker when the engine answers (auto), or force one
    #[arg(long, value_enum, default_value_t = RuntimeArg::Auto, env = "FERRY_RUNTIME")]
    pub runtime: RuntimeArg,
    /// Router threads, each with its own listener (default: one per CPU)
    #[arg(long, env = "FERRY_ROUTER_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub router_threads: Option<u16>,
    /// Most open API connections; more wait in the listen backlog (default: derived from the open-files limit, at most 512)
    #[arg(long, env = "FERRY_API_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub api_max_connections: Option<u32>,
    /// Most open router connections, all threads together; more wait in the listen backlog (default: derived from the open-files limit, at most 16384)
    #[arg(long, env = "FERRY_ROUTER_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub router_max_connections: Option<u32>,
    /// Seconds a client has to send a request's headers, on both listeners; idle keep-alive connections close after it too
    #[arg(long, default_value_t = 30, env = "FERRY_HEADER_READ_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum RuntimeArg {
    Auto,
    Docker,
    Process,
}

impl ServerArgs {
    pub fn options(&self, data_dir: Option<PathBuf>) -> ServerOptions {
        let mut options = ServerOptions::defaults();
        if let Some(dir) = data_dir {
            options.data_dir = dir;
        }
        options.api_addr = self.api;
        if let Some(threads) = self.router_threads {
            options.router_threads = threads.into();
        }
        options.router_addr = self.router;
        options.api_max_connections = self.api_max_connections.map(|n| n as usize);
        options.router_max_connections = self.router_max_connections.map(|n| n as usize);
        options.header_read_timeout = std::time::Duration::from_secs(self.header_read_timeout);
        options.runtime = match self.runtime {
            RuntimeArg::Auto => RuntimeChoice::Auto,
            RuntimeArg::Docker => RuntimeChoice::Docker,
            RuntimeArg::Process => RuntimeChoice::Process,
        };
        options
    }
}

/// Cancels the token on SIGTERM or SIGINT.
pub fn cancel_on_signals(token: CancellationToken) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("signal received: stopping");
        token.cancel();
    });
    Ok(())
}

pub async fn run(args: ServerArgs, data_dir: Option<PathBuf>) -> Result<()> {
    let options = args.options(data_dir);
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone())?;
    ferry_server::run(options, shutdown, |info| {
        eprintln!(
            "ferry server ready: API http://{}  router http://<service>.localhost:{}",
            info.api,
            info.router.rsplit(':').next().unwrap_or_default()
        );
    })
    .await
    .context("ferry server failed")
}
