//! Validators and the request headers that use them (RFC 9110 §8.8, §13, §14): the
//! ETag and Last-Modified of a file, the preconditions in their specified order, and a
//! single byte range (a multi-range request gets the whole file, as the RFC allows).

use http::{header, HeaderMap, HeaderValue};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A file's validators. Files of a revision never change in place, and a new revision
/// unpacks new files (new inodes), so inode, length and mtime name the content.
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    /// A strong ETag, quoted.
    pub etag: String,
    /// The mtime at the one-second resolution of HTTP dates.
    pub modified: Option<SystemTime>,
}

impl Validators {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        let nanos = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        let etag = format!("\"{:x}-{:x}-{:x}\"", meta.ino(), meta.len(), nanos);
        let modified = u64::try_from(meta.mtime())
            .ok()
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        Self { etag, modified }
    }

    pub fn last_modified(&self) -> Option<HeaderValue> {
        let text = httpdate::fmt_http_date(self.modified?);
        HeaderValue::from_str(&text).ok()
    }

    pub fn etag_header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.etag).ok()
    }
}

/// The headers of a request that decide between 200, 206, 304, 412 and 416; taken out
/// of the request so the file work can run on another thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    if_match: Option<HeaderValue>,
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
    if_unmodified_since: Option<HeaderValue>,
    range: Option<HeaderValue>,
    if_range: Option<HeaderValue>,
}

impl Conditions {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: header::HeaderName| headers.get(name).cloned();
        Self {
            if_match: get(header::IF_MATCH),
            if_none_match: get(header::IF_NONE_MATCH),
            if_modified_since: get(header::IF_MODIFIED_SINCE),
            if_unmodified_since: get(header::IF_UNMODIFIED_SINCE),
            range: get(header::RANGE),
            if_range: get(header::IF_RANGE),
        }
    }
}

/// What the preconditions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    Proceed,
    /// 304 (only for GET and HEAD, which is all the file server answers).
    NotModified,
    /// 412.
    Failed,
}

/// RFC 9110 §13.2.2's order: If-Match, else If-Unmodified-Since; then If-None-Match,
/// else If-Modified-Since.
pub(crate) fn precondition(conditions: &Conditions, file: &Validators) -> Precondition {
    if let Some(value) = &conditions.if_match {
        if !etag_list_matches(value, &file.etag, true) {
            return Precondition::Failed;
        }
    } else if let (Some(date), Some(modified)) = (
        conditions.if_unmodified_since.as_ref().and_then(http_date),
        file.modified,
    ) {
        if modified > date {
            return Precondition::Failed;
        }
    }
    if let Some(value) = &conditions.if_none_match {
        if etag_list_matches(value, &file.etag, false) {
            return Precondition::NotModified;
        }
    } else if let (Some(date), Some(modified)) = (
        conditions.if_modified_since.as_ref().and_then(http_date),
        file.modified,
    ) {
        if modified <= date {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// The part of the file to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Whole,
    /// Bytes `start..=end` (206).
    Range {
        start: u64,
        end: u64,
    },
    /// 416, with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The part a GET asks for, given the file's length and validators.
pub(crate) fn part(conditions: &Conditions, file: &Validators, len: u64) -> Part {
    let Some(range) = conditions.range.as_ref().and_then(|v| v.to_str().ok()) else {
        return Part::Whole;
    };
    if let Some(if_range) = &conditions.if_range {
        if !if_range_matches(if_range, file) {
            return Part::Whole;
        }
    }
    parse_range(range, len)
}

/// One `bytes=` range against a length. Syntax the server does not understand (other
/// units, several ranges, garbage) means the whole file, as RFC 9110 §14.2 allows.
pub(crate) fn parse_range(value: &str, len: u64) -> Part {
    let Some((unit, spec)) = value.split_once('=') else {
        return Part::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Part::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => Part::Unsatisfiable,
            Some(n) if len > 0 => Part::Range {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Some(_) => Part::Unsatisfiable,
            None => Part::Whole,
        },
        // `a-`: from a to the end.
        (false, true) => match number(first) {
            Some(start) if start < len => Part::Range {
                start,
                end: len - 1,
            },
            Some(_) => Part::Unsatisfiable,
            None => Part::Whole,
        },
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    Part::Unsatisfiable
                } else {
                    Part::Range {
                        start,
                        end: end.min(len - 1),
                    }
                }
            }
            _ => Part::Whole,
        },
        (true, true) => Part::Whole,
    }
}

/// If-Range holds an ETag (strong comparison) or a date (equal to Last-Modified).
fn if_range_matches(value: &HeaderValue, file: &Validators) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    let text = text.trim();
    if text.starts_with('"') {
        return text == file.etag;
    }
    if text.starts_with("W/") {
        return false;
    }
    match (http_date(value), file.modified) {
        (Some(date), Some(modified)) => date == modified,
        _ => false,
    }
}

/// Whether a list of entity tags (or `*`) holds `etag`. Strong comparison (If-Match)
/// never matches a weak tag; weak comparison (If-None-Match) ignores `W/`.
fn etag_list_matches(value: &HeaderValue, etag: &str, strong: bool) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    if text.trim() == "*" {
        return true;
    }
    text.split(',')
        .map(str::trim)
        .any(|tag| match tag.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => tag == etag,
        })
}

fn http_date(value: &HeaderValue) -> Option<SystemTime> {
    httpdate::parse_http_date(value.to_str().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Validators {
        Validators {
            etag: "\"1-2-3\"".to_string(),
            modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        }
    }

    fn conditions(pairs: &[(header::HeaderName, &str)]) -> Conditions {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        Conditions::from_headers(&headers)
    }

    const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT"; // 1_700_000_000
    const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

    #[test]
    fn last_modified_is_an_http_date() {
        assert_eq!(file().last_modified().unwrap(), DATE);
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        use header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
        let f = file();
        let cases: &[(&[(header::HeaderName, &str)], Precondition)] = &[
            (&[], Precondition::Proceed),
            (&[(IF_NONE_MATCH, "\"1-2-3\"")], Precondition::NotModified),
            (&[(IF_NONE_MATCH, "W/\"1-2-3\"")], Precondition::NotModified),
            (
                &[(IF_NONE_MATCH, "\"x\", \"1-2-3\"")],
                Precondition::NotModified,
            ),
            (&[(IF_NONE_MATCH, "*")], Precondition::NotModified),
            (&[(IF_NONE_MATCH, "\"other\"")], Precondition::Proceed),
            (&[(IF_MODIFIED_SINCE, DATE)], Precondition::NotModified),
            (&[(IF_MODIFIED_SINCE, EARLIER)], Precondition::Proceed),
            (&[(IF_MODIFIED_SINCE, "not a date")], Precondition::Proceed),
            // A changed ETag means changed, whatever the date says.
            (
                &[(IF_NONE_MATCH, "\"other\""), (IF_MODIFIED_SINCE, DATE)],
                Precondition::Proceed,
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(precondition(&conditions(given), &f), *expected, "{given:?}");
        }
    }

    #[test]
    fn if_match_and_if_unmodified_since_fail_with_412() {
        use header::{IF_MATCH, IF_UNMODIFIED_SINCE};
        let f = file();
        let run = |pairs: &[(header::HeaderName, &str)]| precondition(&conditions(pairs), &f);
        assert_eq!(run(&[(IF_MATCH, "\"1-2-3\"")]), Precondition::Proceed);
        assert_eq!(run(&[(IF_MATCH, "*")]), Precondition::Proceed);
        assert_eq!(run(&[(IF_MATCH, "W/\"1-2-3\"")]), Precondition::Failed);
        assert_eq!(run(&[(IF_MATCH, "\"nope\"")]), Precondition::Failed);
        assert_eq!(run(&[(IF_UNMODIFIED_SINCE, DATE)]), Precondition::Proceed);
        assert_eq!(run(&[(IF_UNMODIFIED_SINCE, EARLIER)]), Precondition::Failed);
    }

    #[test]
    fn ranges() {
        let len = 1000;
        let range = |start, end| Part::Range { start, end };
        assert_eq!(parse_range("bytes=0-99", len), range(0, 99));
        assert_eq!(parse_range("bytes=900-", len), range(900, 999));
        assert_eq!(parse_range("bytes=-100", len), range(900, 999));
        assert_eq!(parse_range("bytes=-5000", len), range(0, 999));
        assert_eq!(parse_range("bytes=990-5000", len), range(990, 999));
        assert_eq!(parse_range("BYTES = 5-5", len), range(5, 5));
        assert_eq!(parse_range("bytes=1000-", len), Part::Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-1001", len), Part::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", len), Part::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Part::Unsatisfiable);
        // Not understood: the whole file.
        for value in [
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "0-1",
        ] {
            assert_eq!(parse_range(value, len), Part::Whole, "{value}");
        }
    }

    #[test]
    fn if_range_keeps_the_range_only_for_the_same_file() {
        use header::{IF_RANGE, RANGE};
        let f = file();
        let run = |pairs: &[(header::HeaderName, &str)]| part(&conditions(pairs), &f, 100);
        let partial = Part::Range { start: 0, end: 9 };
        assert_eq!(run(&[(RANGE, "bytes=0-9")]), partial);
        assert_eq!(
            run(&[(RANGE, "bytes=0-9"), (IF_RANGE, "\"1-2-3\"")]),
            partial
        );
        assert_eq!(run(&[(RANGE, "bytes=0-9"), (IF_RANGE, DATE)]), partial);
        assert_eq!(
            run(&[(RANGE, "bytes=0-9"), (IF_RANGE, "\"old\"")]),
            Part::Whole
        );
        assert_eq!(
            run(&[(RANGE, "bytes=0-9"), (IF_RANGE, "W/\"1-2-3\"")]),
            Part::Whole
        );
        assert_eq!(
            run(&[(RANGE, "bytes=0-9"), (IF_RANGE, EARLIER)]),
            Part::Whole
        );
    }
}
