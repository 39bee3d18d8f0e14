//! Python versions (PEP 440): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, read with
//! PEP 440's normalisation rules (case, `alpha`/`beta`/`c`/`pre`/`preview` spellings,
//! `-`/`_`/`.` separators, implicit numbers, `1.0-1` as a post-release, a leading `v`).
//!
//! Order: epoch, release (trailing zeros ignored), then pre-release (a dev release of a
//! final sorts before its pre-releases), post-release, dev-release, and the local label
//! last (a version with one sorts after the same version without).

use std::cmp::Ordering;

use super::Number;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Rc,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    // Declared first: PEP 440 sorts alphanumeric local segments before numeric ones.
    Alpha(String),
    Numeric(Number),
}

#[derive(Clone, Debug)]
pub struct Pep440Version {
    epoch: Number,
    release: Vec<Number>,
    pre: Option<(PreKind, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    local: Vec<LocalSegment>,
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn digits(&mut self) -> Option<Number> {
        let run = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if run == 0 {
            return None;
        }
        let n = Number::new(&self.rest()[..run]);
        self.pos += run;
        Some(n)
    }

    fn separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the first of `words` the input starts with (longest spellings first).
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = self.rest();
        let found = words.iter().position(|w| rest.starts_with(w))?;
        self.pos += words[found].len();
        Some(found)
    }

    /// Runs `f` and rewinds if it returns `None`.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let saved = self.pos;
        let result = f(self);
        if result.is_none() {
            self.pos = saved;
        }
        result
    }
}

impl Pep440Version {
    pub fn parse(input: &str) -> Result<Pep440Version, String> {
        let lowered = input.trim().to_ascii_lowercase();
        let s = lowered.strip_prefix('v').unwrap_or(&lowered);
        if !s.is_ascii() {
            return Err("non-ASCII characters".into());
        }
        let mut c = Cursor { s, pos: 0 };

        let first = c.digits().ok_or("must start with a number")?;
        let (epoch, mut release) = if c.peek() == Some(b'!') {
            c.pos += 1;
            let n = c
                .digits()
                .ok_or("expected a release number after the epoch")?;
            (first, vec![n])
        } else {
            (Number::new("0"), vec![first])
        };
        while c.peek() == Some(b'.') {
            match c.attempt(|c| {
                c.pos += 1;
                c.digits()
            }) {
                Some(n) => release.push(n),
                None => break,
            }
        }

        let pre = c.attempt(|c| {
            c.separator();
            let kind = match c.word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"])? {
                0 | 5 => PreKind::Alpha,
                1 | 6 => PreKind::Beta,
                _ => PreKind::Rc,
            };
            let n = c.attempt(|c| {
                c.separator();
                c.digits()
            });
            Some((kind, n.unwrap_or_default()))
        });

        let post = c
            .attempt(|c| {
                if c.peek() != Some(b'-') {
                    return None;
                }
                c.pos += 1;
                c.digits()
            })
            .or_else(|| {
                c.attempt(|c| {
                    c.separator();
                    c.word(&["post", "rev", "r"])?;
                    let n = c.attempt(|c| {
                        c.separator();
                        c.digits()
                    });
                    Some(n.unwrap_or_default())
                })
            });

        let dev = c.attempt(|c| {
            c.separator();
            c.word(&["dev"])?;
            let n = c.attempt(|c| {
                c.separator();
                c.digits()
            });
            Some(n.unwrap_or_default())
        });

        let mut local = Vec::new();
        if c.peek() == Some(b'+') {
            c.pos += 1;
            let label = c.rest();
            for part in label.split(['.', '-', '_']) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!("invalid local version label {label:?}"));
                }
                local.push(if part.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSegment::Numeric(Number::new(part))
                } else {
                    LocalSegment::Alpha(part.to_string())
                });
            }
            c.pos = c.s.len();
        }
        if !c.rest().is_empty() {
            return Err(format!("unexpected {:?}", c.rest()));
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn release_without_trailing_zeros(&self) -> &[Number] {
        let keep = self
            .release
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |i| i + 1);
        &self.release[..keep]
    }
}

/// `None` ≙ −∞ or +∞ depending on the field; modelled with an explicit rank.
fn rank<T: Ord>(value: &Option<T>, missing_is_high: bool) -> (u8, Option<&T>) {
    match value {
        Some(v) => (1, Some(v)),
        None if missing_is_high => (2, None),
        None => (0, None),
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let pre_key = |v: &Pep440Version| -> (u8, Option<(PreKind, Number)>) {
            match &v.pre {
                Some(pre) => (1, Some(pre.clone())),
                // `1.0.dev0` sorts before `1.0a1`.
                None if v.post.is_none() && v.dev.is_some() => (0, None),
                None => (2, None),
            }
        };
        let local_key = |v: &Pep440Version| (!v.local.is_empty(), v.local.clone());
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| {
                self.release_without_trailing_zeros()
                    .cmp(other.release_without_trailing_zeros())
            })
            .then_with(|| pre_key(self).cmp(&pre_key(other)))
            .then_with(|| rank(&self.post, false).cmp(&rank(&other.post, false)))
            .then_with(|| rank(&self.dev, true).cmp(&rank(&other.dev, true)))
            .then_with(|| local_key(self).cmp(&local_key(other)))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Pep440.compare(a, b).unwrap()
    }

    #[test]
    fn pep440_example_chain() {
        // The ordering example from PEP 440's "Summary of permitted suffixes", extended.
        let chain = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "1!0.1",
        ];
        for (i, a) in chain.iter().enumerate() {
            for b in &chain[i + 1..] {
                assert_eq!(cmp(a, b), Less, "{a} < {b}");
                assert_eq!(cmp(b, a), Greater, "{b} > {a}");
            }
        }
    }

    #[test]
    fn normalisation() {
        let equal = [
            ("1.0", "1.0.0"),
            ("1.0", "v1.0"),
            ("1.0", "0!1.0"),
            ("1.0a1", "1.0.alpha.1"),
            ("1.0a1", "1.0-A1"),
            ("1.0b0", "1.0beta"),
            ("1.0rc1", "1.0c1"),
            ("1.0rc1", "1.0-pre1"),
            ("1.0rc1", "1.0preview_1"),
            ("1.0.post1", "1.0-1"),
            ("1.0.post1", "1.0-r1"),
            ("1.0.post1", "1.0rev1"),
            ("1.0.post0", "1.0.post"),
            ("1.0.dev0", "1.0-dev"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0+01", "1.0+1"),
        ];
        for (a, b) in equal {
            assert_eq!(cmp(a, b), Equal, "{a} == {b}");
        }
    }

    #[test]
    fn vectors() {
        let cases = [
            ("2.31.0", "2.32.0", Less),
            ("1.26.18", "1.26.5", Greater),
            ("23.0", "22.0.post1", Greater),
            ("1.0+abc", "1.0+1", Less), // alphanumeric local segments sort first
            ("1.0+1.1", "1.0+1", Greater),
            ("1.0.dev1", "1.0.dev2", Less),
            ("1.0a1.dev1", "1.0a1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn invalid() {
        for bad in ["a1", "1.0+", "1.0+a..b", "1.0foo", "1!", "1.0 2", "é"] {
            assert!(Scheme::Pep440.parse(bad).is_err(), "{bad}");
        }
    }
}
