//! Request paths to names inside a site: percent-decoding, and the refusals that keep a
//! request inside the site's root (`..`, encoded slashes, NUL, hidden files) before the
//! file system is touched. Symlinks are the resolver's business (`resolve.rs`).

/// Longest request path looked at, in bytes (Linux's PATH_MAX).
const MAX_PATH_BYTES: usize = 4096;
/// Most segments a request path may have.
const MAX_SEGMENTS: usize = 64;

/// A request path that names something inside the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SitePath {
    /// Decoded segments, none empty, `.` or `..`.
    pub segments: Vec<String>,
    /// The path ended with `/`: a directory (its `index.html`) is asked for.
    pub dir: bool,
}

/// The segments of a request path (`/a/b%20c/` → `["a", "b c"]`, dir), or `None` when
/// the path could step outside the site or names something never served: `.` or `..`
/// segments (also percent-encoded), an encoded `/` or `\`, NUL, invalid escapes or
/// UTF-8, and hidden names (starting with `.`, except `.well-known`, so a site's `.env`
/// or `.htpasswd` is not published by accident).
pub(crate) fn parse(path: &str) -> Option<SitePath> {
    if !path.starts_with('/') || path.len() > MAX_PATH_BYTES {
        return None;
    }
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let segment = decode(raw)?;
        if segment == "." || segment == ".." {
            return None;
        }
        if segment.starts_with('.') && segment != ".well-known" {
            return None;
        }
        if segment.contains(['/', '\\', '\0']) {
            return None;
        }
        segments.push(segment);
        if segments.len() > MAX_SEGMENTS {
            return None;
        }
    }
    Some(SitePath {
        dir: path.ends_with('/'),
        segments,
    })
}

/// Percent-decodes one segment; `None` for a broken escape or bytes that are not UTF-8.
fn decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let high = (hex[0] as char).to_digit(16)?;
            let low = (hex[1] as char).to_digit(16)?;
            // Two hex digits are at most 0xff.
            out.push(u8::try_from(high * 16 + low).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Option<Vec<String>> {
        parse(path).map(|p| p.segments)
    }

    #[test]
    fn plain_paths_and_directories() {
        assert_eq!(
            parse("/"),
            Some(SitePath {
                segments: vec![],
                dir: true
            })
        );
        let p = parse("/docs/guide.html").unwrap();
        assert_eq!(p.segments, ["docs", "guide.html"]);
        assert!(!p.dir);
        assert!(parse("/docs/").unwrap().dir);
        // Empty segments collapse, as a file system would.
        assert_eq!(segments("//a///b").unwrap(), ["a", "b"]);
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(segments("/a%20b/%C3%A9.txt").unwrap(), ["a b", "é.txt"]);
        assert_eq!(segments("/100%25").unwrap(), ["100%"]);
    }

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        for path in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/etc/passwd",
            "/a/%2e%2e%2f%2e%2e%2fetc/passwd",
            "/a%2f..%2f..%2fetc",
            "/..%5c..%5cetc",
            "/a/./b",
            "/a%00.html",
            "etc/passwd",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }

    #[test]
    fn broken_escapes_and_hidden_names_are_refused() {
        for path in [
            "/%",
            "/%zz",
            "/%e9",
            "/.env",
            "/a/.git/config",
            "/.htpasswd",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
        assert_eq!(
            segments("/.well-known/security.txt").unwrap(),
            [".well-known", "security.txt"]
        );
    }

    #[test]
    fn bounds() {
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(parse(&long), None);
        let deep = "/a".repeat(MAX_SEGMENTS + 1);
        assert_eq!(parse(&deep), None);
        assert!(parse(&"/a".repeat(MAX_SEGMENTS)).is_some());
    }
}
