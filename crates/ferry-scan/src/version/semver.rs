//! SemVer 2.0.0 (`MAJOR.MINOR.PATCH[-pre][+build]`) with precedence per section 11:
//! numbers compare numerically, a pre-release sorts before its release, pre-release
//! identifiers compare numeric < alphanumeric and a longer list wins a tie; build
//! metadata is ignored. A leading `v` is accepted and a missing minor or patch counts as 0,
//! because package metadata in the wild has both.

use std::cmp::Ordering;

use super::Number;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    // Declared first: numeric identifiers sort before alphanumeric ones.
    Numeric(Number),
    Alpha(String),
}

#[derive(Clone, Debug)]
pub struct SemVersion {
    major: Number,
    minor: Number,
    patch: Number,
    pre: Vec<Identifier>,
}

impl SemVersion {
    pub fn parse(input: &str) -> Result<SemVersion, String> {
        let s = input.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        // Build metadata does not take part in precedence.
        let (s, build) = match s.split_once('+') {
            Some((s, build)) => (s, Some(build)),
            None => (s, None),
        };
        if let Some(build) = build {
            check_identifiers(build, "build metadata")?;
        }
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (s, None),
        };
        let mut numbers = Vec::new();
        for part in core.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{part:?} is not a version number"));
            }
            numbers.push(Number::new(part));
        }
        if numbers.len() > 3 {
            return Err("more than three version numbers".into());
        }
        numbers.resize(3, Number::new("0"));
        let mut identifiers = Vec::new();
        if let Some(pre) = pre {
            check_identifiers(pre, "pre-release")?;
            for id in pre.split('.') {
                identifiers.push(if id.bytes().all(|b| b.is_ascii_digit()) {
                    Identifier::Numeric(Number::new(id))
                } else {
                    Identifier::Alpha(id.to_string())
                });
            }
        }
        let mut numbers = numbers.into_iter();
        let mut next = || numbers.next().unwrap_or_default();
        Ok(SemVersion {
            major: next(),
            minor: next(),
            patch: next(),
            pre: identifiers,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

fn check_identifiers(text: &str, what: &str) -> Result<(), String> {
    for id in text.split('.') {
        if id.is_empty() {
            return Err(format!("empty {what} identifier"));
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {c:?} in {what}"));
        }
    }
    Ok(())
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Vec ordering: pairwise, then the longer list is greater.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVersion {}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Semver.compare(a, b).unwrap()
    }

    #[test]
    fn spec_precedence_chain() {
        // The example chain from SemVer 2.0.0 section 11, plus a few more.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "1.10.0",
            "2.0.0-0",
            "2.0.0",
        ];
        for (i, a) in chain.iter().enumerate() {
            for b in &chain[i + 1..] {
                assert_eq!(cmp(a, b), Less, "{a} < {b}");
                assert_eq!(cmp(b, a), Greater, "{b} > {a}");
            }
        }
    }

    #[test]
    fn vectors() {
        let cases = [
            ("1.0.0+build.1", "1.0.0+build.2", Equal),
            ("v1.2.3", "1.2.3", Equal),
            ("1.2", "1.2.0", Equal),
            ("1.0.0-alpha-1", "1.0.0-alpha", Greater),
            ("1.0.0-1", "1.0.0-a", Less),
            ("99999999999999999999.0.0", "1.0.0", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn invalid() {
        for bad in [
            "1.0.0.0",
            "a.b.c",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+",
            "1.0.0-a_b",
            "1..0",
            "-1.0",
        ] {
            assert!(Scheme::Semver.parse(bad).is_err(), "{bad}");
        }
    }
}
