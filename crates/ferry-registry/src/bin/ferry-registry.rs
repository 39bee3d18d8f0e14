//! `ferry-registry`: the registry on its own, for end-to-end tests, benchmarks and
//! standalone use. `serve` listens (loopback by default) with one admin token;
//! `gc` collects a store that no server is using.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use ferry_registry::auth::StaticAuthorizer;
use ferry_registry::http::{router, HttpConfig};
use ferry_registry::{Digest, GcOptions, Limits, Registry, RepositoryPattern};

#[derive(Parser)]
#[command(version, about = "Ferry's OCI registry, standalone")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the /v2/ API.
    Serve {
        /// Store directory.
        #[arg(long)]
        root: PathBuf,
        /// Address to listen on (port 0 picks one; the first stdout line says which).
        #[arg(long, default_value = "127.0.0.1:5000")]
        listen: SocketAddr,
        /// The admin token (Bearer, or the password of `docker login`).
        #[arg(long, env = "FERRY_REGISTRY_TOKEN")]
        token: String,
        /// Let anyone pull from repositories matching this glob (repeatable).
        #[arg(long = "anonymous-pull")]
        anonymous_pull: Vec<String>,
        /// Run gc this often, in seconds (0: never).
        #[arg(long, default_value_t = 0)]
        gc_interval: u64,
    },
    /// Collect garbage in a store no server is using, and print the report as JSON.
    Gc {
        #[arg(long)]
        root: PathBuf,
        /// Keep content written less than this many seconds ago.
        #[arg(long)]
        grace_secs: Option<u64>,
        /// Remove uploads untouched for this many seconds.
        #[arg(long)]
        upload_ttl_secs: Option<u64>,
        /// Keep this manifest and what it references (repeatable).
        #[arg(long = "pin")]
        pinned: Vec<Digest>,
        #[arg(long)]
        dry_run: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "ferry_registry=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            root,
            listen,
            token,
            anonymous_pull,
            gc_interval,
        } => serve(root, listen, token, anonymous_pull, gc_interval).await,
        Command::Gc {
            root,
            grace_secs,
            upload_ttl_secs,
            pinned,
            dry_run,
        } => {
            let registry = Registry::open(&root, Limits::default())
                .with_context(|| format!("open {}", root.display()))?;
            let report = registry
                .gc(&GcOptions {
                    pinned: pinned.into_iter().collect(),
                    grace: grace_secs.map(Duration::from_secs),
                    upload_ttl: upload_ttl_secs.map(Duration::from_secs),
                    dry_run,
                })
                .await
                .context("gc")?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

async fn serve(
    root: PathBuf,
    listen: SocketAddr,
    token: String,
    anonymous_pull: Vec<String>,
    gc_interval: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(!token.is_empty(), "the token must not be empty");
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "listening on a non-loopback address");
    }
    let registry = Registry::open(&root, Limits::default())
        .with_context(|| format!("open {}", root.display()))?;
    let mut authorizer = StaticAuthorizer::new(token);
    for pattern in anonymous_pull {
        authorizer = authorizer.with_anonymous_pull(RepositoryPattern::new(&pattern));
    }
    let app = router(
        registry.clone(),
        Arc::new(authorizer),
        HttpConfig::default(),
    )?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("bind {listen}"))?;
    let local = listener.local_addr()?;
    println!("listening on {local}");

    let mut tasks = tokio::task::JoinSet::new();
    if gc_interval > 0 {
        let registry = registry.clone();
        tasks.spawn(async move {
            let mut timer = tokio::time::interval(Duration::from_secs(gc_interval));
            timer.tick().await;
            loop {
                timer.tick().await;
                if let Err(e) = registry.gc(&GcOptions::default()).await {
                    tracing::warn!(error = %e, "scheduled gc failed");
                }
            }
        });
    }
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    // Responses are often a header write followed by a body write; without
    // TCP_NODELAY the second can wait for the client's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serve")?;
    tasks.shutdown().await;
    Ok(())
}
