//! The fuzz harness for ferry-registry: what each cargo-fuzz target feeds and the
//! properties it checks. Shared with the stable replay test
//! (`tests/fuzz_regressions.rs` includes this file by path), so a crash input replays
//! through exactly this code.
//!
//! A panic anywhere (the registry's own or a failed property here) is a finding;
//! errors are the expected answer to bad input.

use ferry_registry::auth::Credentials;
use ferry_registry::digest::Digest;
use ferry_registry::manifest::{self, MANIFEST_MEDIA_TYPES};
use ferry_registry::name::{Reference, RepositoryName, RepositoryPattern, Tag};
use ferry_registry::range::{parse_content_range, resolve_range, ReadRange};

/// The first line is the request's Content-Type (empty: none), the rest the manifest
/// body, as `PUT /v2/<name>/manifests/<ref>` receives them.
pub fn manifest(data: &[u8]) {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => (String::new(), data),
    };
    let content_type = (!content_type.is_empty()).then_some(content_type.as_str());
    let Ok(parsed) = manifest::parse(content_type, body) else {
        return;
    };
    assert!(
        MANIFEST_MEDIA_TYPES.contains(&parsed.media_type.as_str()),
        "stored an unknown media type {:?}",
        parsed.media_type
    );
    // What was accepted re-parses the same way under its own media type (gc and
    // deletes read stored manifests back like that).
    let again = manifest::parse(Some(&parsed.media_type), body).expect("re-parse");
    assert_eq!(again, parsed);
    let digest = Digest::of(ferry_registry::Algorithm::Sha256, body);
    let descriptor = manifest::referrer_descriptor(&parsed, &digest, body.len() as u64);
    assert_eq!(descriptor["digest"], digest.to_string());
    // Negotiation never panics on the header the client sent.
    let _ = manifest::accepts(&[content_type.unwrap_or_default()], &parsed.media_type);
}

/// The input as a chunk's `Content-Range`, and as a read's `Range` against sizes
/// taken from the input's length.
pub fn ranges(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(range) = parse_content_range(&text) {
        assert!(range.start <= range.end);
        assert_eq!(range.len(), range.end - range.start + 1);
        assert_eq!(
            parse_content_range(&format!("{}-{}", range.start, range.end)),
            Some(range)
        );
    }
    for size in [0u64, 1, data.len() as u64, u64::MAX / 2] {
        match resolve_range(&text, size) {
            ReadRange::Partial { start, end } => {
                assert!(start <= end, "{text:?} against {size}: {start}-{end}");
                assert!(end < size, "{text:?} against {size}: end {end}");
            }
            ReadRange::Full | ReadRange::Unsatisfiable => {}
        }
    }
}

/// Each line through the parsers of request parts: digests, references, repository
/// names, tags, credentials, and globs matched against the other lines.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').take(16).collect();
    for line in &lines {
        if let Ok(digest) = line.parse::<Digest>() {
            assert_eq!(digest.to_string(), *line);
            assert_eq!(
                Digest::from_file_name(&digest.file_name()),
                Some(digest.clone())
            );
            assert!(digest.hex().len() == 64 || digest.hex().len() == 128);
        }
        if let Ok(name) = line.parse::<RepositoryName>() {
            // A valid name is a safe relative path.
            assert!(name.as_str().len() <= 255);
            for component in name.as_str().split('/') {
                assert!(!component.is_empty() && component != "." && component != "..");
                assert!(component
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)));
            }
        }
        if let Ok(tag) = line.parse::<Tag>() {
            assert!(!tag.as_str().starts_with('.') && !tag.as_str().contains('/'));
        }
        if let Ok(reference) = Reference::parse(line) {
            assert_eq!(reference.to_string(), *line);
        }
        let _ = Credentials::parse(line);
        let pattern = RepositoryPattern::new(line);
        for other in &lines {
            let _ = pattern.matches(other);
        }
        if !line.contains('*') {
            assert!(pattern.matches(line));
        }
    }
}
