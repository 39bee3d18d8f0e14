//! A one-route router for benchmarks and manual tests, until `ferry server` runs
//! the router itself: `route --listen ADDR --upstream ADDR [--upstream ADDR…] --host NAME`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_router::{RouteState, RouteTable, RouterConfig, ServiceRoute, ServiceStats, Upstream};
use tokio_util::sync::CancellationToken;

struct Args {
    listen: SocketAddr,
    upstreams: Vec<SocketAddr>,
    host: String,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = None;
    let mut upstreams = Vec::new();
    let mut host = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(parse_addr(&value()?)?),
            "--upstream" => upstreams.push(parse_addr(&value()?)?),
            "--host" => host = Some(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: route --listen ADDR --upstream ADDR [--upstream ADDR…] --host NAME"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if upstreams.is_empty() {
        return Err("--upstream is required".into());
    }
    Ok(Args {
        listen: listen.ok_or("--listen is required")?,
        upstreams,
        host: host.ok_or("--host is required")?,
    })
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|err| format!("invalid address {text:?}: {err}"))
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("route: {message}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("route: cannot start the runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(run(args)) {
        eprintln!("route: {err}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let upstreams = args
        .upstreams
        .iter()
        .enumerate()
        .map(|(i, addr)| Arc::new(Upstream::new(format!("upstream-{i}"), *addr)))
        .collect();
    let route = Arc::new(ServiceRoute {
        service: args.host.clone(),
        state: RouteState::Serving(upstreams),
        request_timeout: Duration::from_secs(60),
        stats: Arc::new(ServiceStats::new()),
        admission: Default::default(),
    });
    let mut table = RouteTable::default();
    table.insert(&args.host, Arc::clone(&route));
    let (_table_tx, table_rx) = tokio::sync::watch::channel(Arc::new(table));

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "route: {} → {:?} for host {}",
        args.listen, args.upstreams, args.host
    );
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    let config = RouterConfig {
        shutdown_grace: Duration::from_secs(5),
        ..RouterConfig::default()
    };
    let server = ferry_router::serve(listener, table_rx, config, shutdown);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let signal = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        on_signal.cancel();
    };
    let (served, ()) = tokio::join!(server, signal);
    let stats = route.stats.snapshot();
    eprintln!(
        "route: {} requests, p50 {:.2} ms, p99 {:.2} ms, {} router errors",
        stats.requests, stats.latency_p50_ms, stats.latency_p99_ms, stats.router_errors
    );
    served
}
