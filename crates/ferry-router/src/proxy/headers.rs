//! Header rewriting between client and instance: hop-by-hop headers are dropped,
//! `X-Forwarded-*` are set, and an upgrade is carried through when one was asked for.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(crate) const X_FERRY_ERROR: HeaderName = HeaderName::from_static("x-ferry-error");

const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1, plus
/// the non-standard `Keep-Alive` and `Proxy-Connection`). A `static`, not a `const`:
/// a const array would be built and dropped at every use on the hot path.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// End-to-end headers a `Connection` header may name but never remove: routing and
/// message framing depend on them, and ferry sets the `X-Forwarded-*` ones itself
/// (RFC 9110 §7.6.1: a connection option must not name a header meant for all
/// recipients; such a name is ignored, not obeyed).
static NEVER_CONNECTION_SPECIFIC: [HeaderName; 5] = [
    header::HOST,
    header::CONTENT_LENGTH,
    X_FORWARDED_FOR,
    X_FORWARDED_PROTO,
    X_FORWARDED_HOST,
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
/// Returns the `Upgrade` value when `Connection` asked for an upgrade.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    // Most requests carry none of these: one pass of cheap comparisons (standard
    // names compare as enum tags) instead of nine hash lookups.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return None;
    }
    let mut upgrade_requested = false;
    // Allocates only when Connection names a non-standard header (rare).
    let mut named: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(header::CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("upgrade") {
                upgrade_requested = true;
            } else if token.eq_ignore_ascii_case("keep-alive")
                || token.eq_ignore_ascii_case("close")
            {
                // The usual tokens: not header names to remove (Keep-Alive is in the list).
            } else if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                if !HOP_BY_HOP.contains(&name) && !NEVER_CONNECTION_SPECIFIC.contains(&name) {
                    named.push(name);
                }
            }
        }
    }
    let upgrade = if upgrade_requested {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    };
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    for name in &named {
        headers.remove(name);
    }
    upgrade
}

/// Puts back the two headers an upgrade needs on the next hop.
pub(crate) fn set_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(header::UPGRADE, upgrade);
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Sets `X-Forwarded-For` (appending the client to any chain it sent),
/// `X-Forwarded-Proto` and `X-Forwarded-Host`.
pub(crate) fn set_forwarded(
    headers: &mut HeaderMap,
    client_ip: &HeaderValue,
    original_host: Option<HeaderValue>,
) {
    match headers.entry(X_FORWARDED_FOR) {
        header::Entry::Vacant(entry) => {
            entry.insert(client_ip.clone());
        }
        header::Entry::Occupied(mut entry) => {
            let mut chain: Vec<u8> = Vec::with_capacity(64);
            for value in entry.iter() {
                if !chain.is_empty() {
                    chain.extend_from_slice(b", ");
                }
                chain.extend_from_slice(value.as_bytes());
            }
            chain.extend_from_slice(b", ");
            chain.extend_from_slice(client_ip.as_bytes());
            // Made only of bytes that were valid header values, joined by ", ".
            if let Ok(value) = HeaderValue::from_bytes(&chain) {
                entry.insert(value);
            }
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    match original_host {
        Some(host) => {
            headers.insert(X_FORWARDED_HOST, host);
        }
        None => {
            headers.remove(X_FORWARDED_HOST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_dropped() {
        let mut headers = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic x"),
            ("upgrade", "websocket"),
            ("accept", "*/*"),
        ]);
        assert_eq!(strip_hop_by_hop(&mut headers), None);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers["accept"], "*/*");
    }

    #[test]
    fn connection_cannot_remove_host_or_framing_headers() {
        let mut headers = map(&[
            (
                "connection",
                "close, Host, content-length, X-Forwarded-Host, x-other",
            ),
            ("host", "a.localhost"),
            ("content-length", "3"),
            ("x-forwarded-host", "a.localhost"),
            ("x-other", "1"),
        ]);
        assert_eq!(strip_hop_by_hop(&mut headers), None);
        assert_eq!(headers["host"], "a.localhost");
        assert_eq!(headers["content-length"], "3");
        assert_eq!(headers["x-forwarded-host"], "a.localhost");
        assert!(headers.get("x-other").is_none());
        assert!(headers.get("connection").is_none());
    }

    #[test]
    fn upgrade_is_reported_when_connection_asks_for_it() {
        let mut headers = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        let upgrade = strip_hop_by_hop(&mut headers);
        assert_eq!(upgrade, Some(HeaderValue::from_static("websocket")));
        assert!(headers.is_empty());
        set_upgrade(&mut headers, HeaderValue::from_static("websocket"));
        assert_eq!(headers["connection"], "upgrade");
        assert_eq!(headers["upgrade"], "websocket");
    }

    #[test]
    fn forwarded_for_appends_to_the_chain() {
        let ip = HeaderValue::from_static("127.0.0.1");
        let mut headers = map(&[
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-for", "10.0.0.2"),
            ("x-forwarded-proto", "https"),
        ]);
        set_forwarded(
            &mut headers,
            &ip,
            Some(HeaderValue::from_static("app.localhost:8080")),
        );
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 10.0.0.2, 127.0.0.1");
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-host"], "app.localhost:8080");

        let mut fresh = HeaderMap::new();
        set_forwarded(&mut fresh, &ip, None);
        assert_eq!(fresh["x-forwarded-for"], "127.0.0.1");
        assert!(fresh.get("x-forwarded-host").is_none());
    }
}
