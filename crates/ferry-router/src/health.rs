//! Health probes of one instance: a TCP connect or an HTTP GET, within a timeout.
//!
//! The deployer owns the schedule (interval, thresholds); this module only answers
//! "is this address healthy right now, and if not, why" in words a user can read.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How an instance is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeProtocol {
    /// Healthy when a TCP connection is accepted.
    Tcp,
    /// Healthy when `GET path` answers 200–399.
    Http,
}

/// One probe's settings (App Runner's defaults: TCP, timeout 2 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub protocol: ProbeProtocol,
    /// Request path for HTTP probes (ignored for TCP). Empty means `/`.
    pub path: String,
    /// Limit for the whole probe: connect, request and response head.
    pub timeout: Duration,
}

impl ProbeSpec {
    pub fn tcp(timeout: Duration) -> Self {
        Self {
            protocol: ProbeProtocol::Tcp,
            path: String::new(),
            timeout,
        }
    }

    pub fn http(path: impl Into<String>, timeout: Duration) -> Self {
        Self {
            protocol: ProbeProtocol::Http,
            path: path.into(),
            timeout,
        }
    }
}

/// Why a probe failed; `Display` is short enough to show as a reason in the UI.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connection failed")]
    Connect(#[source] std::io::Error),
    /// Ferry itself could not open a socket (out of file descriptors or buffers): the
    /// probe says nothing about the instance, see [`ProbeError::is_inconclusive`].
    #[error("ferry could not open a socket to probe it")]
    LocalResources(#[source] std::io::Error),
    #[error("timed out after {}", format_duration(*.0))]
    TimedOut(Duration),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("HTTP request failed")]
    Http(#[source] hyper::Error),
    #[error("connection closed before a response")]
    ClosedWithoutResponse,
    #[error("connection accepted then closed at once (nothing listening behind the port?)")]
    ClosedAtOnce,
    #[error("invalid health check path {0:?} (must start with '/')")]
    InvalidPath(String),
}

impl ProbeError {
    /// True when the failure is ferry's own (it ran out of descriptors or buffers),
    /// so the instance's health is unknown: such a result must never count as a
    /// failed check, or a flood against ferry would get healthy instances replaced.
    pub fn is_inconclusive(&self) -> bool {
        matches!(self, Self::LocalResources(_))
    }
}

/// Probes `addr` once according to `spec`.
pub async fn probe(addr: SocketAddr, spec: &ProbeSpec) -> Result<(), ProbeError> {
    // Validate before connecting so a bad path is reported as such, not as a timeout.
    let request = match spec.protocol {
        ProbeProtocol::Tcp => None,
        ProbeProtocol::Http => Some(http_request(&spec.path)?),
    };
    let attempt = async {
        let stream = TcpStream::connect(addr).await.map_err(|err| {
            if err.kind() == std::io::ErrorKind::ConnectionRefused {
                ProbeError::ConnectionRefused
            } else if crate::accept::is_resource_exhaustion(&err) {
                ProbeError::LocalResources(err)
            } else {
                ProbeError::Connect(err)
            }
        })?;
        match request {
            None => tcp_stays_open(stream).await,
            Some(request) => http_get(stream, request).await,
        }
    };
    tokio::time::timeout(spec.timeout, attempt)
        .await
        .map_err(|_| ProbeError::TimedOut(spec.timeout))?
}

/// How long an accepted TCP connection must stay open to count as healthy.
const TCP_SETTLE: Duration = Duration::from_millis(100);

/// A TCP check is more than a successful connect: a port published by Docker's
/// userland proxy accepts connections even when nothing listens in the container, and
/// then closes them at once. So the connection must stay open briefly (or the app may
/// greet us with data); an immediate EOF or reset means unhealthy.
async fn tcp_stays_open(stream: TcpStream) -> Result<(), ProbeError> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(TCP_SETTLE, stream.peek(&mut byte)).await {
        Err(_) => Ok(()),
        Ok(Ok(0)) | Ok(Err(_)) => Err(ProbeError::ClosedAtOnce),
        Ok(Ok(_)) => Ok(()),
    }
}

fn http_request(path: &str) -> Result<Request<Empty<Bytes>>, ProbeError> {
    let path = if path.is_empty() { "/" } else { path };
    let invalid = || ProbeError::InvalidPath(path.to_owned());
    if !path.starts_with('/') {
        return Err(invalid());
    }
    let uri = Uri::try_from(path).map_err(|_| invalid())?;
    Request::get(uri)
        .header(header::HOST, "localhost")
        .header(header::USER_AGENT, "ferry-health-check")
        .body(Empty::new())
        .map_err(|_| invalid())
}

async fn http_get(stream: TcpStream, request: Request<Empty<Bytes>>) -> Result<(), ProbeError> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ProbeError::Http)?;
    let mut connection = std::pin::pin!(connection);
    // Drive the connection in this task (nothing to spawn or leak) until the head arrives.
    let response = tokio::select! {
        response = sender.send_request(request) => response.map_err(ProbeError::Http)?,
        closed = connection.as_mut() => {
            return Err(match closed {
                Err(err) => ProbeError::Http(err),
                Ok(()) => ProbeError::ClosedWithoutResponse,
            });
        }
    };
    let status = response.status().as_u16();
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(ProbeError::Status(status))
    }
}

/// "2s", "500ms", "1.5s": durations as a person writes them.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn error_messages_are_short() {
        assert_eq!(
            ProbeError::ConnectionRefused.to_string(),
            "connection refused"
        );
        assert_eq!(
            ProbeError::TimedOut(Duration::from_secs(2)).to_string(),
            "timed out after 2s"
        );
        assert_eq!(ProbeError::Status(500).to_string(), "HTTP 500");
    }

    #[test]
    fn bad_paths_are_rejected() {
        assert!(matches!(
            http_request("health"),
            Err(ProbeError::InvalidPath(_))
        ));
        assert!(matches!(
            http_request("/a b"),
            Err(ProbeError::InvalidPath(_))
        ));
        assert!(http_request("").is_ok());
        assert!(http_request("/healthz?full=1").is_ok());
    }
}
