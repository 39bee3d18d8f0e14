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
    /// Longest instance log line kept; longer lines are cut and marked (bytes, or 16K)
    #[arg(long, env = "FERRY_LOG_MAX_LINE", default_value = "16K", value_parser = parse_size)]
    pub log_max_line: u64,
    /// Size at which an instance log is rotated (bytes, or 10M)
    #[arg(long, env = "FERRY_LOG_MAX_SIZE", default_value = "10M", value_parser = parse_size)]
    pub log_max_size: u64,
    /// Rotated files kept per instance log (0: start over when full)
    #[arg(long, env = "FERRY_LOG_FILES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub log_files: u32,
    /// Log streams (`ferry logs -f`) open at once
    #[arg(long, env = "FERRY_LOG_FOLLOWERS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub log_followers: u32,
}

/// `4096`, `16K`, `10M`, `1G` (binary units; a trailing `B`/`iB` is accepted).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (number, unit) = match upper.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => (&upper[..at], &upper[at..]),
        None => (upper, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("{text:?}: use a number of bytes, or K, M or G")),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: use a number of bytes, or K, M or G"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
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
        options.logs = ferry_server::LogLimits {
            max_line_bytes: usize::try_from(self.log_max_line).unwrap_or(usize::MAX),
            max_file_bytes: self.log_max_size,
            rotated_files: self.log_files,
        };
        options.log_followers = usize::try_from(self.log_followers).unwrap_or(usize::MAX);
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("16K"), Ok(16 * 1024));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5T").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
