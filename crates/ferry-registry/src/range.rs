//! Byte ranges: the `Content-Range` of an upload chunk and the `Range` of a blob read.

/// An upload chunk's inclusive byte range, `<start>-<end>` as the spec writes it
/// (`bytes <start>-<end>/<total>` is accepted too: some clients send RFC 9110's form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub start: u64,
    /// Inclusive.
    pub end: u64,
}

impl ChunkRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Parses a chunk's `Content-Range`; None when it is not one (the caller answers 416).
pub fn parse_content_range(value: &str) -> Option<ChunkRange> {
    let value = value.trim();
    let spec = match value.strip_prefix("bytes") {
        Some(rest) => {
            let rest = rest.trim_start_matches([' ', '=']);
            // Drop a `/<total>` or `/*` suffix.
            match rest.split_once('/') {
                Some((range, total)) if total == "*" || parse_u64(total).is_some() => range,
                Some(_) => return None,
                None => rest,
            }
        }
        None => value,
    };
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (parse_u64(start)?, parse_u64(end)?);
    (start <= end).then_some(ChunkRange { start, end })
}

/// What a blob read's `Range` header asks for, resolved against the blob's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRange {
    /// No (usable) range: send the whole blob with 200.
    Full,
    /// Send `[start, end]` (inclusive) with 206.
    Partial { start: u64, end: u64 },
    /// The range lies outside the blob: 416 with `Content-Range: bytes */<size>`.
    Unsatisfiable,
}

/// Resolves a `Range` header (RFC 9110 §14.1.2) for a blob of `size` bytes. Only a
/// single range is served; a header this function does not understand, or one with
/// several ranges, is ignored (the whole blob is sent), as the RFC allows.
pub fn resolve_range(value: &str, size: u64) -> ReadRange {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return ReadRange::Full;
    };
    if spec.contains(',') {
        return ReadRange::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ReadRange::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range: the last N bytes.
        let Some(n) = parse_u64(last) else {
            return ReadRange::Full;
        };
        if n == 0 || size == 0 {
            return ReadRange::Unsatisfiable;
        }
        let start = size.saturating_sub(n);
        return ReadRange::Partial {
            start,
            end: size - 1,
        };
    }
    let Some(start) = parse_u64(first) else {
        return ReadRange::Full;
    };
    let end = if last.is_empty() {
        None
    } else {
        match parse_u64(last) {
            Some(end) if end >= start => Some(end),
            _ => return ReadRange::Full,
        }
    };
    if start >= size {
        return ReadRange::Unsatisfiable;
    }
    let end = end.map_or(size - 1, |e| e.min(size - 1));
    ReadRange::Partial { start, end }
}

/// Digits only (no sign, no spaces), at most 19 so it cannot overflow.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges() {
        assert_eq!(
            parse_content_range("0-99"),
            Some(ChunkRange { start: 0, end: 99 })
        );
        assert_eq!(
            parse_content_range("bytes 100-199/*"),
            Some(ChunkRange {
                start: 100,
                end: 199
            })
        );
        assert_eq!(
            parse_content_range("bytes=5-5/10"),
            Some(ChunkRange { start: 5, end: 5 })
        );
        for bad in [
            "",
            "-",
            "5-",
            "-5",
            "9-3",
            "a-b",
            "+1-2",
            "1-2-3",
            "bytes 1-2/x",
            " 1 - 2",
            "99999999999999999999-1",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn read_ranges() {
        assert_eq!(
            resolve_range("bytes=0-9", 100),
            ReadRange::Partial { start: 0, end: 9 }
        );
        assert_eq!(
            resolve_range("bytes=90-", 100),
            ReadRange::Partial { start: 90, end: 99 }
        );
        assert_eq!(
            resolve_range("bytes=90-1000", 100),
            ReadRange::Partial { start: 90, end: 99 }
        );
        assert_eq!(
            resolve_range("bytes=-10", 100),
            ReadRange::Partial { start: 90, end: 99 }
        );
        assert_eq!(
            resolve_range("bytes=-1000", 100),
            ReadRange::Partial { start: 0, end: 99 }
        );
        assert_eq!(resolve_range("bytes=100-", 100), ReadRange::Unsatisfiable);
        assert_eq!(resolve_range("bytes=-0", 100), ReadRange::Unsatisfiable);
        assert_eq!(resolve_range("bytes=0-1,5-6", 100), ReadRange::Full);
        assert_eq!(resolve_range("items=0-1", 100), ReadRange::Full);
        assert_eq!(resolve_range("bytes=5-1", 100), ReadRange::Full);
        assert_eq!(resolve_range("bytes=0-0", 0), ReadRange::Unsatisfiable);
    }
}
