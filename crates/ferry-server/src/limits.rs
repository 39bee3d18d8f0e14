//! The process's file-descriptor budget: at start the open-files soft limit is raised
//! to the hard limit, and each listener's default connection cap is derived from it,
//! keeping headroom for what ferry itself needs (health probes, instance spawns and
//! their logs, connections to instances and to the Docker Engine, the store).

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors always kept out of the listeners' reach: at least this many, or a
/// quarter of the limit when that is more.
const MIN_RESERVE: u64 = 256;

/// The API's default cap never exceeds this: its clients are the CLI, CI jobs and
/// `docker push`, not the public.
const MAX_API_DEFAULT: u64 = 512;

/// Neither default cap goes below this (a very low limit still serves someone).
const MIN_CAP: u64 = 16;

/// Raises the soft open-files limit to the hard one (ferry holds one descriptor per
/// connection, more than the usual soft default of 1024 allows); returns the soft limit
/// in force afterwards. A failure keeps the old limit and is only logged.
pub fn raise_open_files_limit() -> u64 {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the open-files limit; assuming 1024");
            return 1024;
        }
    };
    if soft >= hard {
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            tracing::debug!(from = soft, to = hard, "raised the open-files limit");
            hard
        }
        Err(err) => {
            tracing::warn!(soft, hard, error = %err, "cannot raise the open-files limit");
            soft
        }
    }
}

/// Connection caps of the two listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionCaps {
    pub api: usize,
    pub router: usize,
}

impl ConnectionCaps {
    /// The defaults for a process allowed `open_files` descriptors: a reserve for
    /// ferry's own work, an eighth of the rest for the API (at most 512), and what is
    /// left for the router at two descriptors per connection (a client connection may
    /// hold one to an instance too), at most `router_max`.
    pub fn for_open_files(open_files: u64, router_max: usize) -> Self {
        let reserve = MIN_RESERVE.max(open_files / 4);
        let budget = open_files.saturating_sub(reserve);
        let api = (budget / 8).clamp(MIN_CAP, MAX_API_DEFAULT);
        let router = (budget.saturating_sub(api) / 2).clamp(MIN_CAP, router_max as u64);
        Self {
            api: to_usize(api),
            router: to_usize(router),
        }
    }

    /// Descriptors these caps can take at worst (for a warning when set by hand).
    pub fn descriptors_needed(&self) -> u64 {
        self.api as u64 + 2 * self.router as u64 + MIN_RESERVE
    }
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_router::proxy::DEFAULT_MAX_CONNECTIONS as ROUTER_MAX;

    #[test]
    fn caps_leave_headroom_at_every_limit() {
        for open_files in [64, 256, 1024, 4096, 20_000, 65_536, 1 << 20] {
            let caps = ConnectionCaps::for_open_files(open_files, ROUTER_MAX);
            assert!(
                caps.api >= 16 && caps.router >= 16,
                "{open_files}: {caps:?}"
            );
            assert!(caps.api <= 512 && caps.router <= ROUTER_MAX);
            if open_files >= 1024 {
                // Both listeners full still leaves a quarter (or 256) for ferry.
                let used = caps.api as u64 + 2 * caps.router as u64;
                assert!(
                    open_files - used >= (open_files / 4).max(256),
                    "{open_files}: {caps:?}"
                );
            }
        }
        assert_eq!(
            ConnectionCaps::for_open_files(1024, ROUTER_MAX),
            ConnectionCaps {
                api: 96,
                router: 336
            }
        );
    }
}
