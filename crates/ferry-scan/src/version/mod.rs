//! Version ordering per ecosystem: dpkg, apk, rpm, PEP 440, SemVer, Go modules and Maven.
//!
//! Each scheme parses a version string into a value with a total order. Parsing never
//! panics: anything a scheme cannot read is a [`VersionError`] naming the scheme, the
//! input and the reason, so a bad advisory or package version is a warning, not a crash.

pub mod apk;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod semver;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// Versions longer than this are refused: no real ecosystem needs more, and it bounds the
/// work one comparison can cost on hostile input.
pub const MAX_VERSION_LEN: usize = 512;

/// A version ordering scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Debian and Ubuntu (`deb-version(7)`).
    Dpkg,
    /// Alpine, Wolfi, Chainguard (apk-tools).
    Apk,
    /// Red Hat, Rocky, AlmaLinux, SUSE… (`rpmvercmp` on epoch:version-release).
    Rpm,
    /// PyPI (PEP 440).
    Pep440,
    /// SemVer 2.0.0 (npm, crates.io, OSV `SEMVER` ranges).
    Semver,
    /// Go modules: SemVer with a `v` prefix, pseudo-versions and `+incompatible`.
    Go,
    /// Maven's `ComparableVersion`.
    Maven,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "PEP 440",
            Scheme::Semver => "SemVer",
            Scheme::Go => "Go",
            Scheme::Maven => "Maven",
        }
    }

    /// Parses `input` under this scheme.
    pub fn parse(self, input: &str) -> Result<Version, VersionError> {
        let error = |reason: String| VersionError {
            scheme: self,
            version: input.chars().take(80).collect(),
            reason,
        };
        if input.len() > MAX_VERSION_LEN {
            return Err(error(format!("longer than {MAX_VERSION_LEN} bytes")));
        }
        if input.trim().is_empty() {
            return Err(error("empty version".into()));
        }
        if let Some(c) = input.chars().find(|c| c.is_control()) {
            return Err(error(format!("control character {c:?}")));
        }
        let parsed = match self {
            Scheme::Dpkg => dpkg::DpkgVersion::parse(input).map(Version::Dpkg),
            Scheme::Apk => apk::ApkVersion::parse(input).map(Version::Apk),
            Scheme::Rpm => rpm::RpmVersion::parse(input).map(Version::Rpm),
            Scheme::Pep440 => pep440::Pep440Version::parse(input).map(Version::Pep440),
            Scheme::Semver => semver::SemVersion::parse(input).map(Version::Semver),
            Scheme::Go => go::parse(input).map(Version::Go),
            Scheme::Maven => maven::MavenVersion::parse(input).map(Version::Maven),
        };
        parsed.map_err(error)
    }

    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version string that could not be parsed under a scheme.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct VersionError {
    pub scheme: Scheme,
    /// The input (its first 80 characters).
    pub version: String,
    pub reason: String,
}

/// A parsed version. Values of the same scheme compare by that scheme's rules; values of
/// different schemes never meet in practice (one comparison uses one scheme) and order by
/// scheme so that `Ord` stays total.
#[derive(Clone, Debug)]
pub enum Version {
    Dpkg(dpkg::DpkgVersion),
    Apk(apk::ApkVersion),
    Rpm(rpm::RpmVersion),
    Pep440(pep440::Pep440Version),
    Semver(semver::SemVersion),
    Go(semver::SemVersion),
    Maven(maven::MavenVersion),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Dpkg(_) => Scheme::Dpkg,
            Version::Apk(_) => Scheme::Apk,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Pep440(_) => Scheme::Pep440,
            Version::Semver(_) => Scheme::Semver,
            Version::Go(_) => Scheme::Go,
            Version::Maven(_) => Scheme::Maven,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Dpkg(a), Version::Dpkg(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Semver(a), Version::Semver(b)) | (Version::Go(a), Version::Go(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Compares two runs of ASCII digits as numbers, whatever their length (no overflow).
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A run of ASCII digits kept as text, compared as a number of any size.
#[derive(Clone, Debug, Default)]
pub struct Number(String);

impl Number {
    /// `digits` must be ASCII digits (callers check); leading zeros are dropped.
    pub(crate) fn new(digits: &str) -> Number {
        let trimmed = digits.trim_start_matches('0');
        Number(if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        })
    }

    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.0, &other.0)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random generator (xorshift) so the garbage test needs no crate
    /// and fails reproducibly.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    const ALL: [Scheme; 7] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
    ];

    #[test]
    fn parsers_never_panic_on_random_input() {
        // Alphabet weighted towards the characters the grammars care about.
        let alphabet: Vec<char> = "0123456789.-_~^+:!abcdefghijklmnoprstuvwxyzABRCV vé\u{0}\t*/"
            .chars()
            .collect();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut inputs = Vec::new();
        for _ in 0..20_000 {
            let len = (rng.next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            inputs.push(s);
        }
        inputs.push("9".repeat(400));
        inputs.push("1.".repeat(250));
        inputs.push("x".repeat(10_000));
        for scheme in ALL {
            let mut parsed = Vec::new();
            for input in &inputs {
                if let Ok(v) = scheme.parse(input) {
                    parsed.push(v);
                }
            }
            // Ordering must be usable for sorting (no panic, total order).
            parsed.sort();
            for pair in parsed.windows(2) {
                assert_ne!(pair[0].cmp(&pair[1]), Ordering::Greater, "{scheme}");
            }
        }
    }

    #[test]
    fn empty_and_control_input_is_an_error() {
        for scheme in ALL {
            assert!(scheme.parse("").is_err());
            assert!(scheme.parse("  ").is_err());
            assert!(scheme.parse("1.0\n2").is_err());
            let err = scheme.parse("").unwrap_err().to_string();
            assert!(err.contains(scheme.name()), "{err}");
        }
    }

    #[test]
    fn digits_compare_as_numbers_of_any_size() {
        assert_eq!(cmp_digits("10", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("007", "7"), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
    }
}
