//! LABEL rules: key syntax (always on) and the `label-schema` checks (required,
//! superfluous, empty, and format: url, email, semver, git hash, SPDX, RFC 3339).

use std::collections::BTreeSet;
use std::str::FromStr;

use super::{entry, simple, Entry, Out, Rule, RuleSettings, Step};
use crate::finding::Severity::{Info, Style, Warning};
use crate::syntax::Kind;

/// The format a `label-schema` entry requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelType {
    Text,
    Url,
    Email,
    Semver,
    Hash,
    Spdx,
    Rfc3339,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown label type `{0}` (expected text, url, email, semver, hash, spdx or rfc3339)")]
pub struct UnknownLabelType(pub String);

impl FromStr for LabelType {
    type Err = UnknownLabelType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "text" => LabelType::Text,
            "url" => LabelType::Url,
            "email" => LabelType::Email,
            "semver" => LabelType::Semver,
            "hash" => LabelType::Hash,
            "spdx" => LabelType::Spdx,
            "rfc3339" => LabelType::Rfc3339,
            other => return Err(UnknownLabelType(other.to_string())),
        })
    }
}

pub(super) fn register(settings: &RuleSettings, entries: &mut Vec<Entry>) {
    entries.push(entry(simple(
        "DL3048",
        Style,
        "Invalid label key.",
        |s| match s.kind {
            Kind::Label(pairs) => pairs.iter().all(|(k, _)| valid_label_key(k)),
            _ => true,
        },
    )));
    if settings.label_schema.is_empty() {
        return;
    }
    for (label, _) in &settings.label_schema {
        entries.push(entry(Box::new(Dl3049::new(label.clone()))));
    }
    entries.push(entry(Box::new(LabelCheck {
        schema: settings.label_schema.clone(),
        strict: settings.strict_labels,
    })));
}

/// Hadolint's label key grammar (checked against 2.15.1): lower-case ASCII
/// letters, digits and `.`, `-`, `_`, `/`; starts with a letter, ends with a
/// letter or digit; no `..` or `--` (`__` and `//` pass); none of Docker's
/// reserved namespaces.
fn valid_label_key(key: &str) -> bool {
    let first_ok = key.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let last_ok = key
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars_ok = key.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_' | '/')
    });
    let reserved = ["com.docker.", "io.docker.", "org.dockerproject."]
        .iter()
        .any(|p| key.starts_with(p));
    first_ok && last_ok && chars_ok && !reserved && !key.contains("..") && !key.contains("--")
}

/// DL3049: a required label missing from a stage (stages built on a labelled
/// stage, or copied from, are exempt).
struct Dl3049 {
    label: String,
    current: Option<Stage>,
    good: Vec<Stage>,
    bad: BTreeSet<Stage>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Stage {
    line: usize,
    image: String,
    alias: Option<String>,
}

impl Dl3049 {
    fn new(label: String) -> Dl3049 {
        Dl3049 {
            label,
            current: None,
            good: Vec::new(),
            bad: BTreeSet::new(),
        }
    }

    fn silence_alias(&mut self, name: &str) {
        self.bad.retain(|s| s.alias.as_deref() != Some(name));
    }
}

impl Rule for Dl3049 {
    fn step(&mut self, step: &Step<'_>, _out: &mut Out) {
        match step.kind {
            Kind::From(from) => {
                let stage = Stage {
                    line: step.line,
                    image: from.name.clone(),
                    alias: from.alias.clone(),
                };
                if self
                    .good
                    .iter()
                    .any(|g| g.alias.as_deref() == Some(from.name.as_str()))
                {
                    self.good.push(stage.clone());
                } else {
                    self.bad.insert(stage.clone());
                }
                self.current = Some(stage);
            }
            Kind::Copy(c) => {
                if let Some(src) = c.from() {
                    let src = src.to_string();
                    self.silence_alias(&src);
                }
            }
            Kind::Label(pairs) if pairs.iter().any(|(k, _)| *k == self.label) => {
                if let Some(stage) = self.current.clone() {
                    let name = stage.alias.clone().unwrap_or_else(|| stage.image.clone());
                    self.silence_alias(&name);
                    self.bad.remove(&stage);
                    self.good.push(stage);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Out) {
        for stage in &self.bad {
            out.push(
                "DL3049",
                Info,
                format!("Label `{}` is missing.", self.label),
                stage.line,
            );
        }
    }
}

/// DL3050–DL3056, DL3058: per-LABEL checks against the schema.
struct LabelCheck {
    schema: Vec<(String, LabelType)>,
    strict: bool,
}

impl Rule for LabelCheck {
    fn step(&mut self, step: &Step<'_>, out: &mut Out) {
        let Kind::Label(pairs) = step.kind else {
            return;
        };
        let line = step.line;
        if self.strict
            && pairs
                .iter()
                .any(|(k, _)| !self.schema.iter().any(|(s, _)| s == k))
        {
            out.push("DL3050", Info, "Superfluous label(s) present.", line);
        }
        for (label, kind) in &self.schema {
            let values: Vec<&str> = pairs
                .iter()
                .filter(|(k, _)| k == label)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                continue;
            }
            if values.iter().any(|v| v.is_empty()) {
                out.push(
                    "DL3051",
                    Warning,
                    format!("label `{label}` is empty."),
                    line,
                );
            }
            let (code, valid, message): (&'static str, fn(&str) -> bool, String) = match kind {
                LabelType::Text => continue,
                LabelType::Url => (
                    "DL3052",
                    valid_url,
                    format!("Label `{label}` is not a valid URL."),
                ),
                LabelType::Rfc3339 => (
                    "DL3053",
                    valid_rfc3339,
                    format!(
                        "Label `{label}` is not a valid time format - must be conform to RFC3339."
                    ),
                ),
                LabelType::Spdx => (
                    "DL3054",
                    valid_spdx,
                    format!("Label `{label}` is not a valid SPDX identifier."),
                ),
                LabelType::Hash => (
                    "DL3055",
                    valid_git_hash,
                    format!("Label `{label}` is not a valid git hash."),
                ),
                LabelType::Semver => (
                    "DL3056",
                    valid_semver,
                    format!("Label `{label}` does not conform to semantic versioning."),
                ),
                LabelType::Email => (
                    "DL3058",
                    valid_email,
                    format!(
                        "Label `{label}` is not a valid email format - must be conform to RFC5322."
                    ),
                ),
            };
            if values.iter().any(|v| !valid(v)) {
                out.push(code, Warning, message, line);
            }
        }
    }
}

/// An absolute URI: `scheme:rest` with a valid scheme and no blanks.
fn valid_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest_ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c));
    scheme_ok && rest_ok
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn valid_rfc3339(v: &str) -> bool {
    let b = v.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    // The shape alone lets `2024-13-01` through: check the calendar and clock too.
    let number =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0
        || day > days_in_month
        || number(11..13) > 23
        || number(14..16) > 59
        || number(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            b.len() == i + 6
                && digits(i + 1..i + 3)
                && b[i + 3] == b':'
                && digits(i + 4..i + 6)
                && number(i + 1..i + 3) <= 23
                && number(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}

/// Common SPDX license identifiers (the SPDX list's widely used entries).
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-3.0",
    "AGPL-1.0",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.0",
    "Apache-1.1",
    "Apache-2.0",
    "APSL-2.0",
    "Artistic-1.0",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "CECILL-2.1",
    "CPL-1.0",
    "ECL-2.0",
    "EFL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GFDL-1.3",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0",
    "GPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.0",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "LPPL-1.3c",
    "MIT",
    "MIT-0",
    "MPL-1.0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "MS-RL",
    "MulanPSL-2.0",
    "NCSA",
    "ODbL-1.0",
    "OFL-1.1",
    "OSL-3.0",
    "PHP-3.01",
    "PostgreSQL",
    "Python-2.0",
    "Ruby",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

fn valid_spdx(v: &str) -> bool {
    SPDX_IDS.contains(&v)
}

fn valid_git_hash(v: &str) -> bool {
    (v.len() == 40 || v.len() == 7)
        && v.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Semantic Versioning 2.0.0: `MAJOR.MINOR.PATCH[-pre][+build]`.
fn valid_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|id| ident(id) && (!id.chars().all(|c| c.is_ascii_digit()) || numeric(id)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// `local@domain` with RFC 5322 atom characters and a dotted domain.
fn valid_email(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_rule, codes_with, lines};
    use super::super::RuleSettings;
    use super::*;

    #[test]
    fn rfc3339_checks_the_calendar_and_the_clock() {
        for good in [
            "2024-02-29T23:59:59Z",
            "2023-12-31T00:00:00.5+05:30",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(valid_rfc3339(good), "{good}");
        }
        for bad in [
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:00+24:00",
        ] {
            assert!(!valid_rfc3339(bad), "{bad}");
        }
    }

    fn schema(strict: bool) -> RuleSettings {
        RuleSettings {
            label_schema: vec![
                ("maintainer".into(), LabelType::Text),
                ("url".into(), LabelType::Url),
                ("created".into(), LabelType::Rfc3339),
                ("license".into(), LabelType::Spdx),
                ("revision".into(), LabelType::Hash),
                ("version".into(), LabelType::Semver),
                ("email".into(), LabelType::Email),
            ],
            strict_labels: strict,
            ..RuleSettings::default()
        }
    }

    fn has(src: &str, code: &str, strict: bool) -> bool {
        codes_with(src, &schema(strict))
            .iter()
            .any(|(_, c)| *c == code)
    }

    const GOOD: &str = "FROM a:1\nLABEL maintainer=me url=https://x.org created=2024-01-02T03:04:05Z license=MIT revision=abcdef0 version=1.2.3-rc.1 email=a@b.org\n";

    #[test]
    fn dl3048_label_key() {
        assert_rule(
            "DL3048",
            "FROM a:1\nLABEL Foo=bar\n",
            "FROM a:1\nLABEL org.opencontainers.image.title=x\n",
        );
        // What Hadolint 2.15.1 says about each key.
        let valid = [
            "build_date",
            "a",
            "a1",
            "a__b",
            "a_1",
            "a.-b",
            "a-.b",
            "a._b",
            "a_.b",
            "a/b",
            "a//b",
            "a/.b",
            "ab/cd/ef",
            "x.y-z_w",
            "com.dockerx",
            "com.docker",
            "io.docker",
            "x.com.docker.y",
            "maintainer",
        ];
        let invalid = [
            "BUILD_DATE",
            "Build",
            "aB",
            "1",
            "1a",
            "_a",
            "a_",
            "a.",
            ".a",
            "a-",
            "-a",
            "/a",
            "a/",
            "a..b",
            "a--b",
            "a.._b",
            "a:b",
            "a@b",
            "a+b",
            "a b",
            "aé",
            "com.docker.x",
            "io.docker.x",
            "org.dockerproject.x",
            "com.docker.",
        ];
        for key in valid {
            assert!(valid_label_key(key), "{key} should be valid");
        }
        for key in invalid {
            assert!(!valid_label_key(key), "{key} should be invalid");
        }
        assert!(lines("FROM a:1\nLABEL build_date=\"2022-12-30\"\n", "DL3048").is_empty());
    }

    #[test]
    fn dl3049_missing_label() {
        assert!(has("FROM a:1\nLABEL url=https://x\n", "DL3049", false));
        assert!(!has(GOOD, "DL3049", false));
    }

    #[test]
    fn dl3050_superfluous() {
        assert!(has("FROM a:1\nLABEL other=x\n", "DL3050", true));
        assert!(!has(GOOD, "DL3050", true));
    }

    #[test]
    fn dl3051_empty() {
        assert!(has("FROM a:1\nLABEL maintainer=\"\"\n", "DL3051", false));
        assert!(!has(GOOD, "DL3051", false));
    }

    #[test]
    fn format_rules() {
        for (code, bad) in [
            ("DL3052", "url=\"not a url\""),
            ("DL3053", "created=yesterday"),
            ("DL3054", "license=Beerware-ish"),
            ("DL3055", "revision=xyz"),
            ("DL3056", "version=v1.2"),
            ("DL3058", "email=nobody"),
        ] {
            assert!(
                has(&format!("FROM a:1\nLABEL {bad}\n"), code, false),
                "{code}"
            );
            assert!(!has(GOOD, code, false), "{code} on good");
        }
    }
}
