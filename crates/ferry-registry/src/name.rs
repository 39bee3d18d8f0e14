//! Repository names, tags and manifest references as the distribution spec's grammar
//! allows them, and repository globs (`team/*`) for access rules.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// The spec's limit on a whole name, slashes included ("less than 256 characters").
pub const MAX_NAME_LEN: usize = 255;
/// A tag is at most 128 characters.
pub const MAX_TAG_LEN: usize = 128;

/// A repository name: `/`-separated components, each `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
/// Valid names are also safe relative paths (no empty, `.` or `..` component).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("repository name is empty")]
    Empty,
    #[error("repository name is longer than {MAX_NAME_LEN} characters")]
    TooLong,
    #[error("repository name {0:?} has an invalid component {1:?} (lowercase letters and digits, separated by '.', '_', '__' or dashes)")]
    BadComponent(String, String),
    #[error("tag {0:?} is invalid (1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')")]
    BadTag(String),
    #[error("reference {0:?} is neither a tag nor a digest")]
    BadReference(String),
}

impl RepositoryName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        for component in s.split('/') {
            if !valid_component(component) {
                return Err(NameError::BadComponent(short(s), short(component)));
            }
        }
        Ok(RepositoryName(s.to_string()))
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: alphanumeric runs joined by one separator
/// (`.`, `_`, `__` or any number of `-`), never at either end.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        // One alphanumeric run.
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // One separator, then another run must follow.
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (also a safe file name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= MAX_TAG_LEN
            && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
        if ok {
            Ok(Tag(s.to_string()))
        } else {
            Err(NameError::BadTag(short(s)))
        }
    }
}

/// What `/manifests/<reference>` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    /// A reference containing `:` is a digest (tags cannot contain it); anything else
    /// must be a tag.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.contains(':') {
            s.parse()
                .map(Reference::Digest)
                .map_err(ReferenceError::Digest)
        } else {
            s.parse().map(Reference::Tag).map_err(ReferenceError::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error(transparent)]
    Tag(NameError),
    #[error(transparent)]
    Digest(crate::digest::DigestError),
}

/// A repository glob for access rules: `*` matches any run of characters, `/`
/// included (`team/*` covers `team/a` and `team/a/b`); everything else matches
/// itself. `*` alone matches every repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPattern(String);

impl RepositoryPattern {
    pub fn new(pattern: &str) -> RepositoryPattern {
        RepositoryPattern(pattern.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }
}

/// Iterative `*` matching with one backtrack point: linear in practice, never
/// exponential whatever the pattern.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

fn short(s: &str) -> String {
    s.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_grammar() {
        for good in [
            "a",
            "library/ubuntu",
            "a.b/c_d/e__f/g-h/i---j",
            "x0/9y",
            "ferry/app.v2",
        ] {
            assert!(good.parse::<RepositoryName>().is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "../x",
            "a/../b",
            "./a",
            "A",
            "Library/ubuntu",
            "a//b",
            "/a",
            "a/",
            "a.",
            ".a",
            "a..b",
            "a___b",
            "a_-b",
            "-a",
            "a-",
            "a b",
            "a\0b",
            "é",
        ] {
            assert!(bad.parse::<RepositoryName>().is_err(), "{bad:?} accepted");
        }
        let long = "a".repeat(256);
        assert_eq!(long.parse::<RepositoryName>(), Err(NameError::TooLong));
        assert!("a".repeat(255).parse::<RepositoryName>().is_ok());
    }

    #[test]
    fn tags_follow_the_grammar() {
        for good in ["latest", "v1.2.3", "_x", "A-b_c.d", &"t".repeat(128)] {
            assert!(good.parse::<Tag>().is_ok(), "{good} refused");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "..", &"t".repeat(129)] {
            assert!(bad.parse::<Tag>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn references() {
        assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
        assert!(matches!(
            Reference::parse(
                "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
            ),
            Ok(Reference::Digest(_))
        ));
        assert!(Reference::parse("sha256:nothex").is_err());
        assert!(Reference::parse("a/b").is_err());
    }

    #[test]
    fn globs() {
        let p = RepositoryPattern::new("team/*");
        assert!(p.matches("team/a"));
        assert!(p.matches("team/a/b"));
        assert!(!p.matches("team"));
        assert!(!p.matches("other/a"));
        assert!(RepositoryPattern::new("*").matches("x/y"));
        assert!(RepositoryPattern::new("a*b*c").matches("aXXbYYc"));
        assert!(!RepositoryPattern::new("a*b*c").matches("aXXbYY"));
        assert!(RepositoryPattern::new("exact").matches("exact"));
        assert!(!RepositoryPattern::new("exact").matches("exactly"));
        // No exponential blow-up on adversarial patterns.
        let pattern = RepositoryPattern::new(&"*a".repeat(50));
        assert!(!pattern.matches(&"a".repeat(49)));
    }
}
