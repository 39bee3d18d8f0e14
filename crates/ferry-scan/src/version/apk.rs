//! Alpine package versions (apk-tools): `digits{.digits}[letter]{_suffix[N]}[~hash][-rN]`.
//!
//! Compared as a stream of tokens, as apk does: numbers, a letter, suffixes, suffix
//! numbers, the package revision. Pre-release suffixes (`_alpha` < `_beta` < `_pre` <
//! `_rc`) sort before the bare version; post-release ones (`_cvs` < `_svn` < `_git` < `_hg`
//! < `_p`) after it. When one version runs out of tokens first, the other is newer unless
//! what it has next is a pre-release suffix; when the kinds differ, more version numbers
//! beat a letter, which beats a suffix, which beats a revision, which beats the end:
//! `1.2_alpha < 1.2 < 1.2-r1 < 1.2_p1 < 1.2a < 1.2.1`.

use std::cmp::Ordering;

use super::Number;

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// Token kinds in apk's order; a lower kind next means a newer version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
    End,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    /// A version component starting with zeros: apk compares the count of leading zeros
    /// first (more zeros = older, like a decimal fraction), then the rest as a number.
    LeadingZeros(std::cmp::Reverse<usize>),
    Number(Number),
    Letter(u8),
    /// Negative for pre-release suffixes, positive for post-release ones.
    Suffix(i8),
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Token {
    kind: Kind,
    value: Value,
}

#[derive(Clone, Debug)]
pub struct ApkVersion {
    tokens: Vec<Token>,
}

impl ApkVersion {
    pub fn parse(input: &str) -> Result<ApkVersion, String> {
        let s = input.trim().as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        let digits = |i: &mut usize| {
            let start = *i;
            while s.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            std::str::from_utf8(&s[start..*i])
                .unwrap_or_default()
                .to_string()
        };
        // Version numbers.
        let mut first = true;
        loop {
            let run = digits(&mut i);
            if run.is_empty() {
                return Err(if first {
                    "must start with a digit".into()
                } else {
                    "expected a number after '.'".into()
                });
            }
            if !first && run.len() > 1 && run.starts_with('0') {
                let zeros = run.len() - run.trim_start_matches('0').len();
                tokens.push(Token {
                    kind: Kind::Digit,
                    value: Value::LeadingZeros(std::cmp::Reverse(zeros)),
                });
                let rest = &run[zeros..];
                if !rest.is_empty() {
                    tokens.push(Token {
                        kind: Kind::Digit,
                        value: Value::Number(Number::new(rest)),
                    });
                }
            } else {
                tokens.push(Token {
                    kind: Kind::Digit,
                    value: Value::Number(Number::new(&run)),
                });
            }
            first = false;
            if s.get(i) == Some(&b'.') {
                i += 1;
            } else {
                break;
            }
        }
        // One optional letter.
        if let Some(&c) = s.get(i) {
            if c.is_ascii_lowercase() {
                tokens.push(Token {
                    kind: Kind::Letter,
                    value: Value::Letter(c),
                });
                i += 1;
            }
        }
        // Suffixes.
        while s.get(i) == Some(&b'_') {
            i += 1;
            let start = i;
            while s.get(i).is_some_and(u8::is_ascii_lowercase) {
                i += 1;
            }
            let name = std::str::from_utf8(&s[start..i]).unwrap_or_default();
            let value = if let Some(pos) = PRE_SUFFIXES.iter().position(|p| *p == name) {
                pos as i8 - PRE_SUFFIXES.len() as i8
            } else if let Some(pos) = POST_SUFFIXES.iter().position(|p| *p == name) {
                pos as i8 + 1
            } else {
                return Err(format!("unknown suffix _{name}"));
            };
            tokens.push(Token {
                kind: Kind::Suffix,
                value: Value::Suffix(value),
            });
            let run = digits(&mut i);
            if !run.is_empty() {
                tokens.push(Token {
                    kind: Kind::SuffixNumber,
                    value: Value::Number(Number::new(&run)),
                });
            }
        }
        // apk v3 commit hash (`~abcdef`): not ordered, skipped.
        if s.get(i) == Some(&b'~') {
            i += 1;
            while s.get(i).is_some_and(u8::is_ascii_hexdigit) {
                i += 1;
            }
        }
        // Package revision.
        if s.get(i) == Some(&b'-') {
            if s.get(i + 1) != Some(&b'r') {
                return Err("expected -r<number> after '-'".into());
            }
            i += 2;
            let run = digits(&mut i);
            if run.is_empty() {
                return Err("expected a number after -r".into());
            }
            tokens.push(Token {
                kind: Kind::Revision,
                value: Value::Number(Number::new(&run)),
            });
        }
        if i != s.len() {
            let rest = String::from_utf8_lossy(&s[i..]);
            return Err(format!("unexpected {rest:?}"));
        }
        Ok(ApkVersion { tokens })
    }
}

fn is_pre_release(token: &Token) -> bool {
    matches!(token.value, Value::Suffix(v) if v < 0)
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let end = Token {
            kind: Kind::End,
            value: Value::None,
        };
        let mut idx = 0;
        loop {
            let a = self.tokens.get(idx).unwrap_or(&end);
            let b = other.tokens.get(idx).unwrap_or(&end);
            if a.kind == b.kind {
                if a.kind == Kind::End {
                    return Ordering::Equal;
                }
                match a.value.cmp(&b.value) {
                    Ordering::Equal => {
                        idx += 1;
                        continue;
                    }
                    unequal => return unequal,
                }
            }
            if is_pre_release(a) {
                return Ordering::Less;
            }
            if is_pre_release(b) {
                return Ordering::Greater;
            }
            return b.kind.cmp(&a.kind);
        }
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Apk.compare(a, b).unwrap()
    }

    #[test]
    fn chain() {
        // Each is older than the next.
        let chain = [
            "1.2_alpha",
            "1.2_alpha1",
            "1.2_alpha2",
            "1.2_beta",
            "1.2_pre1",
            "1.2_rc1",
            "1.2",
            "1.2-r1",
            "1.2-r10",
            "1.2_cvs",
            "1.2_svn",
            "1.2_git20240101",
            "1.2_hg",
            "1.2_p1",
            "1.2_p1-r1",
            "1.2_p2",
            "1.2a",
            "1.2b",
            "1.2.1",
            "1.10",
        ];
        for (i, a) in chain.iter().enumerate() {
            for b in &chain[i + 1..] {
                assert_eq!(cmp(a, b), Less, "{a} < {b}");
                assert_eq!(cmp(b, a), Greater, "{b} > {a}");
            }
            assert_eq!(cmp(a, a), Equal);
        }
    }

    #[test]
    fn vectors() {
        let cases = [
            ("3.1.4-r5", "3.1.4-r6", Less),
            ("1.36.1-r15", "1.36.1-r2", Greater),
            ("3.0.12-r4", "3.1.0-r0", Less),
            ("1.0_rc1-r0", "1.0-r0", Less),
            ("2.2.0_p20230101-r0", "2.2.0-r0", Greater),
            ("1.0.2k-r0", "1.0.2j-r5", Greater),
            ("1.01", "1.1", Less),
            ("1.0~abcdef-r1", "1.0-r1", Equal),
            ("20240226-r0", "20230506-r0", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn invalid() {
        for bad in [
            "", "a1", "1.", "1.2_foo", "1.2-", "1.2-x1", "1.2-r", "1.2 3", "1..2", "1.2AB",
        ] {
            assert!(Scheme::Apk.parse(bad).is_err(), "{bad}");
        }
    }
}
