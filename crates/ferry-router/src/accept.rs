//! Accepting TCP connections under a cap. A slot is taken *before* `accept`, so past
//! the cap new connections wait in the kernel's listen backlog (and then in the
//! client's SYN retries) instead of costing a file descriptor each; and running out
//! of descriptors anyway (another part of the process, or a neighbour, used them)
//! backs off briefly instead of spinning or giving up.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long `accept` pauses after the process or the system ran out of descriptors
/// or buffers: long enough not to spin, short enough to recover at once.
const EXHAUSTED_PAUSE: Duration = Duration::from_millis(50);

/// At most one "out of descriptors" warning per listener in this many seconds.
const WARN_EVERY_SECS: u64 = 10;

/// The most connections one listener (or a group of listeners sharing it) holds open.
/// Cloning shares the same slots.
#[derive(Clone, Debug)]
pub struct ConnectionLimit {
    slots: Arc<Semaphore>,
    max: usize,
    /// Accepted connections still open (the semaphore also counts the slot an
    /// `accept` holds while it waits for a connection).
    open: Arc<AtomicUsize>,
    /// Seconds since `epoch` of the last exhaustion warning (0: never).
    last_warning: Arc<AtomicU64>,
    epoch: std::time::Instant,
    name: &'static str,
}

/// One accepted connection; its slot is given back when `slot` is dropped.
#[derive(Debug)]
pub struct Accepted {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub slot: ConnectionSlot,
}

/// A connection's place under the cap: keep it as long as the connection is open.
#[derive(Debug)]
pub struct ConnectionSlot {
    _permit: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionLimit {
    /// `max` connections (at least 1); `name` says which listener in logs.
    pub fn new(name: &'static str, max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
            open: Arc::new(AtomicUsize::new(0)),
            last_warning: Arc::new(AtomicU64::new(0)),
            epoch: std::time::Instant::now(),
            name,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Accepted connections open now.
    pub fn in_use(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Waits for a free slot, then for a connection. Cancel-safe: dropping the future
    /// gives the slot back and loses no connection. Errors other than running out of
    /// resources (an aborted handshake, say) are returned for the caller to log; after
    /// running out of resources this has already paused, so the caller just loops.
    pub async fn accept(&self, listener: &TcpListener) -> std::io::Result<Accepted> {
        // The semaphore is never closed, so acquiring only waits.
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        match listener.accept().await {
            Ok((stream, peer)) => {
                self.open.fetch_add(1, Ordering::Relaxed);
                Ok(Accepted {
                    stream,
                    peer,
                    slot: ConnectionSlot {
                        _permit: permit,
                        open: Arc::clone(&self.open),
                    },
                })
            }
            Err(err) => {
                if is_resource_exhaustion(&err) {
                    self.warn_exhausted(&err);
                    drop(permit);
                    tokio::time::sleep(EXHAUSTED_PAUSE).await;
                }
                Err(err)
            }
        }
    }

    fn warn_exhausted(&self, err: &std::io::Error) {
        let now = self.epoch.elapsed().as_secs() + 1;
        let last = self.last_warning.load(Ordering::Relaxed);
        if (last == 0 || now >= last + WARN_EVERY_SECS)
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                listener = self.name,
                open = self.in_use(),
                cap = self.max,
                error = %err,
                "accept: out of file descriptors or buffers; new connections wait \
                 (raise the open-files limit or lower the connection cap)"
            );
        }
    }
}

/// Whether an I/O error means this process (EMFILE) or the machine (ENFILE, ENOBUFS,
/// ENOMEM) ran out of descriptors or buffers: a fact about ferry's side, not about
/// the peer. Health probes that fail this way say nothing about the instance.
pub fn is_resource_exhaustion(err: &std::io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(err.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_errors_are_recognised() {
        for errno in [23, 24, 105, 12] {
            assert!(is_resource_exhaustion(&std::io::Error::from_raw_os_error(
                errno
            )));
        }
        for errno in [111, 104, 110] {
            assert!(!is_resource_exhaustion(&std::io::Error::from_raw_os_error(
                errno
            )));
        }
        assert!(!is_resource_exhaustion(&std::io::Error::other("x")));
    }

    #[tokio::test]
    async fn past_the_cap_connections_wait_until_a_slot_frees() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limit = ConnectionLimit::new("test", 2);
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        let _c = TcpStream::connect(addr).await.unwrap();
        let first = limit.accept(&listener).await.unwrap();
        let _second = limit.accept(&listener).await.unwrap();
        assert_eq!(limit.in_use(), 2);
        // The third is in the backlog: not accepted while both slots are held.
        let third = tokio::time::timeout(Duration::from_millis(200), limit.accept(&listener)).await;
        assert!(third.is_err(), "accepted past the cap");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(10), limit.accept(&listener))
            .await
            .expect("a freed slot admits the waiting connection")
            .unwrap();
        assert_eq!(limit.in_use(), 2);
        drop(third);
        assert_eq!(limit.in_use(), 1);
    }
}
