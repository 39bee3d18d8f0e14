//! Proxy failures as data: which side failed, whether a retry is safe, and the
//! status and page the client gets (Pingora's shape: decisions read fields, never
//! messages).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;

/// Where a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSide {
    /// The client sent something the router cannot route.
    Downstream,
    /// The instance (or the lack of one) is at fault.
    Upstream,
    /// The router's own configuration or state (a paused service).
    Internal,
}

/// What went wrong; each kind maps to one status and one `x-ferry-error` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyErrorKind {
    /// No usable Host, or a method the router does not proxy (CONNECT). 400.
    BadRequest,
    /// No service is routed for the host. 404.
    UnknownHost,
    /// The service is paused by its owner. 503.
    Paused,
    /// The service has no ready instance. 503.
    Unavailable,
    /// Every instance is at its concurrency limit and the service's queue is full. 503.
    QueueFull,
    /// The request waited in the service's queue (for room, or a cold start) for
    /// the longest allowed. 503.
    QueueTimeout,
    /// No instance accepted the connection. 502.
    ConnectFailed,
    /// An instance failed after the request was sent (closed, reset, bad response). 502.
    UpstreamFailed,
    /// No response head within the service's request timeout. 504.
    UpstreamTimeout,
}

impl ProxyErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::UnknownHost => StatusCode::NOT_FOUND,
            Self::Paused | Self::Unavailable | Self::QueueFull | Self::QueueTimeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::ConnectFailed | Self::UpstreamFailed => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The `x-ferry-error` header value.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::UnknownHost => "unknown-host",
            Self::Paused => "paused",
            Self::Unavailable => "unavailable",
            Self::QueueFull => "queue-full",
            Self::QueueTimeout => "queue-timeout",
            Self::ConnectFailed => "connect-failed",
            Self::UpstreamFailed => "upstream-failed",
            Self::UpstreamTimeout => "upstream-timeout",
        }
    }

    pub fn side(self) -> ErrorSide {
        match self {
            Self::BadRequest | Self::UnknownHost => ErrorSide::Downstream,
            Self::Paused => ErrorSide::Internal,
            Self::Unavailable
            | Self::QueueFull
            | Self::QueueTimeout
            | Self::ConnectFailed
            | Self::UpstreamFailed
            | Self::UpstreamTimeout => ErrorSide::Upstream,
        }
    }
}

/// A failure to answer a request from an instance.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProxyError {
    pub kind: ProxyErrorKind,
    pub side: ErrorSide,
    /// True when the request never reached an instance, so another may be tried.
    pub retry: bool,
    /// One sentence for the client's page: no addresses or internal detail.
    pub message: String,
}

impl ProxyError {
    pub fn new(kind: ProxyErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            side: kind.side(),
            retry: false,
            message: message.into(),
        }
    }

    pub fn retryable(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The router's page for this error: status, service, reason, `x-ferry-error`.
    pub fn to_response(&self, service: Option<&str>) -> Response<ProxyBody> {
        let status = self.status();
        let title = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        );
        let service_line = match service {
            Some(name) => format!("<p>Service: <b>{}</b></p>\n", escape_html(name)),
            None => String::new(),
        };
        let page = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body>\n<h1>{title}</h1>\n{service_line}<p>{}</p>\n<hr><p>ferry router</p>\n</body></html>\n",
            escape_html(&self.message)
        );
        let mut response = Response::new(ProxyBody::full(Bytes::from(page)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            super::headers::X_FERRY_ERROR,
            HeaderValue::from_static(self.kind.code()),
        );
        let retry_after = match self.kind {
            // Instances usually become ready within seconds of a deploy, a restart
            // or a cold start.
            ProxyErrorKind::Unavailable | ProxyErrorKind::QueueTimeout => Some("5"),
            // Capacity is usually being added already (the queue signals demand).
            ProxyErrorKind::QueueFull => Some("1"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses_and_sides() {
        assert_eq!(ProxyErrorKind::UnknownHost.status(), 404);
        assert_eq!(ProxyErrorKind::Paused.status(), 503);
        assert_eq!(ProxyErrorKind::ConnectFailed.status(), 502);
        assert_eq!(ProxyErrorKind::UpstreamTimeout.status(), 504);
        assert_eq!(ProxyErrorKind::QueueFull.status(), 503);
        assert_eq!(ProxyErrorKind::QueueTimeout.status(), 503);
        assert_eq!(ProxyErrorKind::QueueFull.side(), ErrorSide::Upstream);
        assert_eq!(ProxyErrorKind::BadRequest.side(), ErrorSide::Downstream);
        assert_eq!(ProxyErrorKind::Paused.side(), ErrorSide::Internal);
        assert_eq!(ProxyErrorKind::UpstreamFailed.side(), ErrorSide::Upstream);
    }

    #[test]
    fn page_escapes_and_names_the_service() {
        let error = ProxyError::new(ProxyErrorKind::Unavailable, "build <failed> & stopped");
        let response = error.to_response(Some("web\"app"));
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["x-ferry-error"], "unavailable");
        assert_eq!(response.headers()["retry-after"], "5");
        let page = match response.into_body().into_full() {
            Some(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
            None => panic!("router pages have a full body"),
        };
        assert!(page.contains("503 Service Unavailable"), "{page}");
        assert!(page.contains("web&quot;app"), "{page}");
        assert!(
            page.contains("build &lt;failed&gt; &amp; stopped"),
            "{page}"
        );
    }
}
