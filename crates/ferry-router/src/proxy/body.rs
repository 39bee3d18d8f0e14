//! Body types the proxy streams: responses to clients (holding the instance's
//! in-flight guard until the body ends) and requests to instances (which can be
//! handed back for a retry as long as no byte of them was read).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

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
    },
    Full(Option<Bytes>),
}

impl ProxyBody {
    pub(crate) fn upstream(body: Incoming, guard: InFlightGuard) -> Self {
        Self {
            kind: ResponseKind::Upstream {
                body,
                guard: Some(guard),
            },
        }
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            kind: ResponseKind::Full(Some(bytes)),
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
            ResponseKind::Upstream { .. } => None,
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().kind {
            ResponseKind::Upstream { body, guard } => {
                let polled = Pin::new(body).poll_frame(cx);
                if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
                    guard.take();
                }
                polled
            }
            ResponseKind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            ResponseKind::Upstream { body, .. } => body.is_end_stream(),
            ResponseKind::Full(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            ResponseKind::Upstream { body, .. } => body.size_hint(),
            ResponseKind::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
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
