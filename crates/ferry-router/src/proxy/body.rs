//! Body types the proxy streams: responses to clients (holding the instance's
//! in-flight guard until the body ends, and cut at the service's request timeout, or a
//! static file read in chunks) and
//! requests to instances (which can be handed back for a retry as long as no byte of
//! them was read).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::table::InFlightGuard;

/// A response body sent to a client: an instance's streamed body or a router page.
#[derive(Debug)]
pub struct ProxyBody {
    kind: ResponseKind,
}

#[derive(Debug)]
enum ResponseKind {
    Upstream {
        body: Incoming,
        /// Released when the body ends, fails, or the client goes away (drop).
        guard: Option<InFlightGuard>,
        /// The request's deadline: the timeout covers the whole response, as App
        /// Runner's does, not only the wait for its head.
        deadline: Instant,
        timeout: Duration,
        /// Armed the first time the body has nothing ready, so responses that
        /// arrive whole never register a timer.
        timer: Option<Pin<Box<Sleep>>>,
    },
    Full(Option<Bytes>),
    /// A static site's file, past its first chunk.
    File(crate::files::FileBody),
}

/// Why a streamed response body ended early.
#[derive(Debug)]
pub enum ProxyBodyError {
    /// The instance failed mid-body.
    Upstream(hyper::Error),
    /// The response was still streaming at the service's request timeout.
    Timeout(Duration),
    /// A static file could not be read to its end.
    File(std::io::Error),
}

impl std::fmt::Display for ProxyBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Upstream(err) => write!(f, "the instance failed mid-response: {err}"),
            Self::Timeout(timeout) => write!(
                f,
                "the response was still streaming at the request timeout ({})",
                crate::health::format_duration(*timeout)
            ),
            Self::File(err) => write!(f, "the file could not be read: {err}"),
        }
    }
}

impl std::error::Error for ProxyBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Upstream(err) => Some(err),
            Self::Timeout(_) => None,
            Self::File(err) => Some(err),
        }
    }
}

impl ProxyBody {
    pub(crate) fn upstream(
        body: Incoming,
        guard: InFlightGuard,
        deadline: Instant,
        timeout: Duration,
    ) -> Self {
        Self {
            kind: ResponseKind::Upstream {
                body,
                guard: Some(guard),
                deadline,
                timeout,
                timer: None,
            },
        }
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            kind: ResponseKind::Full(Some(bytes)),
        }
    }

    pub(crate) fn file(body: crate::files::FileBody) -> Self {
        Self {
            kind: ResponseKind::File(body),
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            kind: ResponseKind::Full(None),
        }
    }

    /// The whole body of a router page (None for streamed bodies).
    #[cfg(test)]
    pub(crate) fn into_full(self) -> Option<Bytes> {
        match self.kind {
            ResponseKind::Full(bytes) => bytes,
            ResponseKind::Upstream { .. } | ResponseKind::File(_) => None,
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = ProxyBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ProxyBodyError>>> {
        match &mut self.get_mut().kind {
            ResponseKind::Upstream {
                body,
                guard,
                deadline,
                timeout,
                timer,
            } => {
                if guard.is_none() {
                    // Ended (or cut) already.
                    return Poll::Ready(None);
                }
                let polled = Pin::new(body).poll_frame(cx);
                let expired = match (&polled, timer.as_mut()) {
                    (Poll::Pending, None) => {
                        let armed = timer.insert(Box::pin(tokio::time::sleep_until(*deadline)));
                        armed.as_mut().poll(cx).is_ready()
                    }
                    (Poll::Pending, Some(armed)) => armed.as_mut().poll(cx).is_ready(),
                    (Poll::Ready(Some(Ok(_))), Some(armed)) => armed.is_elapsed(),
                    _ => false,
                };
                if expired {
                    guard.take();
                    return Poll::Ready(Some(Err(ProxyBodyError::Timeout(*timeout))));
                }
                match polled {
                    Poll::Ready(None) => {
                        guard.take();
                        Poll::Ready(None)
                    }
                    Poll::Ready(Some(Err(err))) => {
                        guard.take();
                        Poll::Ready(Some(Err(ProxyBodyError::Upstream(err))))
                    }
                    other => other.map_err(ProxyBodyError::Upstream),
                }
            }
            ResponseKind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseKind::File(file) => file
                .poll_chunk(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data).map_err(ProxyBodyError::File))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            ResponseKind::Upstream { body, .. } => body.is_end_stream(),
            ResponseKind::Full(bytes) => bytes.is_none(),
            ResponseKind::File(file) => file.len() == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            ResponseKind::Upstream { body, .. } => body.size_hint(),
            ResponseKind::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseKind::File(file) => SizeHint::with_exact(file.len()),
        }
    }
}

/// The client's request body, kept where a failed attempt can give it back.
pub(crate) struct RequestBodySource {
    source: Source,
}

enum Source {
    Empty,
    /// Only one attempt is possible: stream straight through.
    Once(Option<Incoming>),
    /// Several attempts possible: each attempt's body takes the client's body out of
    /// the slot on its first poll; while it is still in the slot, nothing was sent.
    Shared {
        slot: Arc<Mutex<Option<Incoming>>>,
        hint: SizeHint,
    },
}

impl RequestBodySource {
    pub(crate) fn new(body: Incoming, may_retry: bool) -> Self {
        let source = if body.is_end_stream() {
            Source::Empty
        } else if may_retry {
            Source::Shared {
                hint: body.size_hint(),
                slot: Arc::new(Mutex::new(Some(body))),
            }
        } else {
            Source::Once(Some(body))
        };
        Self { source }
    }

    /// The body for the next attempt.
    pub(crate) fn next_attempt(&mut self) -> UpstreamBody {
        match &mut self.source {
            Source::Empty => UpstreamBody::Empty,
            Source::Once(body) => match body.take() {
                Some(body) => UpstreamBody::Streaming(body),
                None => UpstreamBody::Empty,
            },
            Source::Shared { slot, hint } => UpstreamBody::Deferred {
                slot: Arc::clone(slot),
                hint: *hint,
                taken: None,
            },
        }
    }

    /// True when no byte of the body was consumed, so it can be sent again.
    pub(crate) fn is_unread(&self) -> bool {
        match &self.source {
            Source::Empty => true,
            Source::Once(body) => body.is_some(),
            Source::Shared { slot, .. } => lock(slot).is_some(),
        }
    }
}

/// A request body sent to an instance.
#[derive(Debug)]
pub enum UpstreamBody {
    Empty,
    Streaming(Incoming),
    Deferred {
        slot: Arc<Mutex<Option<Incoming>>>,
        hint: SizeHint,
        taken: Option<Incoming>,
    },
}

fn lock(slot: &Mutex<Option<Incoming>>) -> MutexGuard<'_, Option<Incoming>> {
    // Nothing panics while holding this lock, so poisoning cannot leave it half-updated.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            UpstreamBody::Empty => Poll::Ready(None),
            UpstreamBody::Streaming(body) => Pin::new(body).poll_frame(cx),
            UpstreamBody::Deferred { slot, taken, .. } => {
                if taken.is_none() {
                    *taken = lock(slot).take();
                }
                match taken {
                    Some(body) => Pin::new(body).poll_frame(cx),
                    None => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Empty => true,
            UpstreamBody::Streaming(body) => body.is_end_stream(),
            UpstreamBody::Deferred { taken, .. } => {
                taken.as_ref().is_some_and(|body| body.is_end_stream())
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Empty => SizeHint::with_exact(0),
            UpstreamBody::Streaming(body) => body.size_hint(),
            UpstreamBody::Deferred { taken, hint, .. } => match taken {
                Some(body) => body.size_hint(),
                None => *hint,
            },
        }
    }
}
