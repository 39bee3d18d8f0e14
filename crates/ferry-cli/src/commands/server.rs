//! `ferry server`: runs the platform in the foreground until SIGTERM or Ctrl-C.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ferry_server::app::unpack::UploadLimits;
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
    /// Most bytes one source upload may unpack to (suffixes K, M, G, T: powers of 1024)
    #[arg(long, env = "FERRY_MAX_UNPACKED_BYTES", value_name = "SIZE", default_value = "4G", value_parser = parse_size)]
    pub max_unpacked_bytes: u64,
    /// Most files, directories and links one source upload may unpack to
    #[arg(long, env = "FERRY_MAX_UNPACKED_ENTRIES", value_name = "N", default_value_t = UploadLimits::default().max_entries, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_unpacked_entries: u64,
    /// Most directories deep a path in a source upload may be
    #[arg(long, env = "FERRY_MAX_PATH_DEPTH", value_name = "N", default_value_t = UploadLimits::default().max_depth, value_parser = positive)]
    pub max_path_depth: usize,
    /// Most bytes in one path of a source upload
    #[arg(long, env = "FERRY_MAX_PATH_LENGTH", value_name = "BYTES", default_value_t = UploadLimits::default().max_path_bytes, value_parser = positive)]
    pub max_path_length: usize,
    /// Most open API connections; more wait in the listen backlog (default: derived from the open-files limit, at most 512)
    #[arg(long, env = "FERRY_API_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub api_max_connections: Option<u32>,
    /// Most open router connections, all threads together; more wait in the listen backlog (default: derived from the open-files limit, at most 16384)
    #[arg(long, env = "FERRY_ROUTER_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub router_max_connections: Option<u32>,
    /// Seconds a client has to send a request's headers, on both listeners; idle keep-alive connections close after it too
    #[arg(long, default_value_t = 30, env = "FERRY_HEADER_READ_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
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
    /// Let anyone pull from ferry's registry repositories matching this glob without credentials (repeatable; `*` matches anything)
    #[arg(long, value_name = "GLOB")]
    pub registry_anonymous_pull: Vec<String>,
    /// How often the registry's unused blobs are collected (90s, 30m, 24h, 7d; 0 turns it off)
    #[arg(long, env = "FERRY_REGISTRY_GC_INTERVAL", value_name = "DURATION", default_value = "24h", value_parser = parse_duration_or_zero)]
    pub registry_gc_interval: std::time::Duration,
    /// Ended revisions each service keeps to roll back to; older ones are pruned (their files, build log and built image removed)
    #[arg(long, env = "FERRY_KEEP_REVISIONS", value_name = "N", default_value_t = ferry_server::background::retention::DEFAULT_KEEP as u32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub keep_revisions: u32,
    /// How long `git push` to ferry's remote waits for the build and the rollout; past it the push is rejected and the deployment given up (90s, 30m, 2h)
    #[arg(long, env = "FERRY_GIT_PUSH_TIMEOUT", value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub git_push_timeout: std::time::Duration,
}

/// `90s`, `15m`, `12h`, `30d`, `2w` (a bare number is seconds); zero is refused.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration_or_zero(text)? {
        d if d.is_zero() => Err("the duration must be more than zero".into()),
        d => Ok(d),
    }
}

/// As [`parse_duration`], zero allowed (it means "off" or "none").
pub fn parse_duration_or_zero(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration (e.g. 90s, 15m, 12h, 30d, 2w)"
            ))
        }
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 15m, 12h, 30d, 2w)"))?;
    number
        .checked_mul(seconds)
        .filter(|s| *s <= 100 * 366 * 86_400)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// `4096`, `512K`, `100M`, `4G`, `1T` (powers of 1024; a trailing `B` or `iB` is fine).
fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let trimmed = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match trimmed.chars().last() {
        Some('K') => (&trimmed[..trimmed.len() - 1], 10),
        Some('M') => (&trimmed[..trimmed.len() - 1], 20),
        Some('G') => (&trimmed[..trimmed.len() - 1], 30),
        Some('T') => (&trimmed[..trimmed.len() - 1], 40),
        _ => (trimmed, 0),
    };
    let number: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 4096, 512M, 4G)"))?;
    match number.checked_mul(1 << shift) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?} is too large")),
    }
}

fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a positive number")),
    }
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
        options.upload_limits = UploadLimits {
            max_bytes: self.max_unpacked_bytes,
            max_entries: self.max_unpacked_entries,
            max_depth: self.max_path_depth,
            max_path_bytes: self.max_path_length,
        };
        options.api_max_connections = self.api_max_connections.map(|n| n as usize);
        options.router_max_connections = self.router_max_connections.map(|n| n as usize);
        options.header_read_timeout = std::time::Duration::from_secs(self.header_read_timeout);
        options.logs = ferry_server::LogLimits {
            max_line_bytes: usize::try_from(self.log_max_line).unwrap_or(usize::MAX),
            max_file_bytes: self.log_max_size,
            rotated_files: self.log_files,
        };
        options.log_followers = usize::try_from(self.log_followers).unwrap_or(usize::MAX);
        options.registry_anonymous_pull = self.registry_anonymous_pull.clone();
        options.registry_gc_interval = self.registry_gc_interval;
        options.deployer.keep_revisions =
            usize::try_from(self.keep_revisions).unwrap_or(usize::MAX);
        options.git_push_timeout = self.git_push_timeout;
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
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("16K"), Ok(16 * 1024));
        assert_eq!(parse_size("100m"), Ok(100 << 20));
        assert_eq!(parse_size("2MB"), Ok(2 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert!(parse_size("0").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn durations_take_unit_suffixes() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_secs());
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("12h"), Ok(43_200));
        assert_eq!(secs("30d"), Ok(2_592_000));
        assert_eq!(secs("2w"), Ok(1_209_600));
        for bad in [
            "0",
            "0s",
            "",
            "d",
            "1y",
            "-1d",
            "1.5h",
            "99999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration_or_zero("0").map(|d| d.as_secs()), Ok(0));
    }
}
