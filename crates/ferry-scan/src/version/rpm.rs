//! RPM versions: `[epoch:]version[-release]`, each part compared with `rpmvercmp`.
//!
//! `rpmvercmp` splits both strings into alphabetic and numeric segments, skipping other
//! characters; numbers beat letters, numbers compare as numbers, letters as bytes. `~`
//! sorts before anything, even the end (`1.0~rc1 < 1.0`); `^` sorts after the end but
//! before anything else (`1.0 < 1.0^git1 < 1.0.1`).

use std::cmp::Ordering;

use super::{cmp_digits, Number};

#[derive(Clone, Debug)]
pub struct RpmVersion {
    epoch: Number,
    version: String,
    /// `None` when the input had no `-release`.
    release: Option<String>,
}

impl RpmVersion {
    pub fn parse(input: &str) -> Result<RpmVersion, String> {
        let s = input.trim();
        if s.chars().any(char::is_whitespace) {
            return Err("contains whitespace".into());
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((epoch, rest)) => {
                if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("epoch {epoch:?} is not a number"));
                }
                (Number::new(epoch), rest)
            }
            None => (Number::new("0"), s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release.to_string())),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err("empty version".into());
        }
        if release.as_deref() == Some("") {
            return Err("empty release after '-'".into());
        }
        if !version.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err("version has no letters or digits".into());
        }
        Ok(RpmVersion {
            epoch,
            version: version.to_string(),
            release,
        })
    }
}

/// rpm's `rpmvercmp`.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while a.get(i).is_some_and(|&c| separator(c)) {
            i += 1;
        }
        while b.get(j).is_some_and(|&c| separator(c)) {
            j += 1;
        }
        let (ac, bc) = (a.get(i).copied(), b.get(j).copied());
        if ac == Some(b'~') || bc == Some(b'~') {
            if ac != Some(b'~') {
                return Ordering::Greater;
            }
            if bc != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ac == Some(b'^') || bc == Some(b'^') {
            if ac.is_none() {
                return Ordering::Less;
            }
            if bc.is_none() {
                return Ordering::Greater;
            }
            if ac != Some(b'^') {
                return Ordering::Greater;
            }
            if bc != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first), Some(_)) = (ac, bc) else {
            break;
        };
        let numeric = first.is_ascii_digit();
        let same_class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let start_a = i;
        while a.get(i).is_some_and(same_class) {
            i += 1;
        }
        let start_b = j;
        while b.get(j).is_some_and(same_class) {
            j += 1;
        }
        if start_b == j {
            // Segments of different classes: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        // Both slices are ASCII (alphanumeric), so this cannot fail.
        let seg_a = std::str::from_utf8(&a[start_a..i]).unwrap_or_default();
        let seg_b = std::str::from_utf8(&b[start_b..j]).unwrap_or_default();
        let order = if numeric {
            cmp_digits(seg_a, seg_b)
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| {
                rpmvercmp(
                    self.release.as_deref().unwrap_or(""),
                    other.release.as_deref().unwrap_or(""),
                )
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

#[cfg(test)]
mod tests {
    use super::rpmvercmp;
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Rpm.compare(a, b).unwrap()
    }

    #[test]
    fn rpmvercmp_vectors() {
        // Vectors in the style of rpm's own test suite (rpmvercmp.at).
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("xyz.4", "2", Less),
            ("5.5p2", "5.6p1", Less),
            ("6.0", "6.0.rc1", Less),
            ("10a2", "10b2", Less),
            ("1.0aa", "1.0a", Greater),
            ("10.0001", "10.1", Equal),
            ("10.0001", "10.0039", Less),
            ("4.999.9", "5.0", Less),
            ("20101121", "20101122", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a", "a", Equal),
            ("a+", "a_", Equal),
            ("+", "_", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less), // 01 is 1
            ("1.0^git1", "1.1", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0^20160101^git1", "1.0^20160101", Greater),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0~rc1^git1", "1.0", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn evr_vectors() {
        let cases = [
            ("1:1.0-1", "2.0-1", Greater),
            ("0:1.0-1", "1.0-1", Equal),
            ("3.0.7-24.el9", "1:3.0.7-25.el9_3", Less),
            ("1:3.0.7-27.el9", "1:3.0.7-25.el9_3", Greater),
            ("2.28-225.el9", "2.28-225.el9_3.1", Less),
            ("1.0-1.el8", "1.0-1.el8_2", Less),
            ("1.0", "1.0-1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn invalid() {
        for bad in ["x:1.0", "1.0-", "-1", "...", "1 0"] {
            assert!(Scheme::Rpm.parse(bad).is_err(), "{bad}");
        }
    }
}
