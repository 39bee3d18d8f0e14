//! Debian package versions (`deb-version(7)`): `[epoch:]upstream[-revision]`.
//!
//! The upstream part and the revision are compared with dpkg's algorithm: alternate
//! non-digit and digit runs; in non-digit runs `~` sorts before everything (even the end
//! of the string), then letters, then other characters; digit runs compare as numbers.

use std::cmp::Ordering;

use super::Number;

#[derive(Clone, Debug)]
pub struct DpkgVersion {
    epoch: Number,
    upstream: String,
    /// Empty when absent (dpkg treats that like `0`).
    revision: String,
}

impl DpkgVersion {
    pub fn parse(input: &str) -> Result<DpkgVersion, String> {
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
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => {
                if revision.is_empty() {
                    return Err("empty revision after '-'".into());
                }
                (upstream, revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err("empty upstream version".into());
        }
        if let Some(c) = upstream
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(*c)))
        {
            return Err(format!("invalid character {c:?} in upstream version"));
        }
        if let Some(c) = revision
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+~".contains(*c)))
        {
            return Err(format!("invalid character {c:?} in revision"));
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

/// Weight of one character in a non-digit run (dpkg's `order()`): `~` lowest, then the
/// end of the string and digits, then letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` on one part (upstream or revision).
pub fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let is_digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !is_digit(a, i)) || (j < b.len() && !is_digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            // Equal weights here mean both sides hold a non-digit character.
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(a, i) && is_digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if is_digit(a, i) {
            return Ordering::Greater;
        }
        if is_digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion {}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Dpkg.compare(a, b).unwrap()
    }

    #[test]
    fn vectors() {
        let cases = [
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0+b1", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0+", Less),  // letters sort before non-letters
            ("1.0a", "1.0.", Less),  // letters sort before non-letters
            ("1.0", "1.0-0", Equal), // absent revision is like 0
            ("1.00", "1.0", Equal),  // digit runs compare as numbers
            ("1.2.10", "1.2.9", Greater),
            ("1:1.0", "2.0", Greater), // epochs first
            ("0:2.0", "2.0", Equal),
            ("2:1.0", "10:0.1", Less),
            ("1.0-1", "1.0-2", Less),
            ("1.0-1.1", "1.0-1", Greater),
            ("1.0-1~bpo1", "1.0-1", Less),
            ("3.0.11-1~deb12u2", "3.0.11-1~deb12u1", Greater),
            ("3.0.11-1~deb12u2", "3.0.13-1~deb12u1", Less),
            ("1.2-3-4", "1.2-3-5", Less), // the last '-' splits the revision
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u4", Greater),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
            ("1.0.0~alpha", "1.0.0~beta", Less),
            ("a", "b", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn invalid() {
        for bad in ["a:1.0", ":1.0", "1.0-", "-1", "1.0 2", "1.0_1", "1.0-a_b"] {
            assert!(Scheme::Dpkg.parse(bad).is_err(), "{bad}");
        }
    }
}
