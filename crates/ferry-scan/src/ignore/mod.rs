//! Ignore rules: Trivy's `.trivyignore` and ferry's `.ferryignore.toml`.
//!
//! `.trivyignore`: one vulnerability id per line, `#` comments, blank lines, and an
//! optional `exp:YYYY-MM-DD` field after the id after which the line no longer applies.
//!
//! `.ferryignore.toml`: each `[[ignore]]` table has `id`, a required `reason` (the point
//! of the file is that every exception says why), an optional `expires` date and an
//! optional `package` limiting the rule to one package (binary or source name):
//!
//! ```toml
//! [[ignore]]
//! id = "CVE-2023-4911"
//! reason = "glibc tunables: the service never runs setuid binaries"
//! expires = 2025-06-30
//! package = "glibc"
//! ```
//!
//! A rule matches a finding by the record id, its display id or any alias. An expired
//! rule matches nothing and is reported, so the exception is reviewed.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("cannot read ignore file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}:{line}: {reason}")]
    Invalid {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("{origin}: {reason}")]
    Toml { origin: String, reason: String },
}

/// One exception.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `file:line` (or `file`, `ignore[2]`) the rule came from.
    pub origin: String,
}

impl IgnoreRule {
    /// A rule applies while `today` is before its date; like Trivy's `exp:`, it stops
    /// applying on the date itself.
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|expires| today >= expires)
    }
}

/// A set of rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreRules {
    pub rules: Vec<IgnoreRule>,
}

fn parse_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format).map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FerryFile {
    #[serde(default)]
    ignore: Vec<FerryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FerryEntry {
    id: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<toml::Value>,
    #[serde(default)]
    package: Option<String>,
}

impl IgnoreRules {
    /// Parses `.trivyignore` text; `origin` names the file in errors.
    pub fn parse_trivyignore(text: &str, origin: &str) -> Result<IgnoreRules, IgnoreError> {
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let Some(id) = fields.next() else { continue };
            let mut expires = None;
            for field in fields {
                if field.starts_with('#') {
                    break; // trailing comment
                }
                if let Some(date) = field.strip_prefix("exp:") {
                    expires = Some(parse_date(date).map_err(|reason| IgnoreError::Invalid {
                        origin: origin.to_string(),
                        line: line_no,
                        reason,
                    })?);
                }
            }
            rules.push(IgnoreRule {
                id: id.to_string(),
                reason: None,
                expires,
                package: None,
                origin: format!("{origin}:{line_no}"),
            });
        }
        Ok(IgnoreRules { rules })
    }

    /// Parses `.ferryignore.toml` text; `origin` names the file in errors.
    pub fn parse_ferry_toml(text: &str, origin: &str) -> Result<IgnoreRules, IgnoreError> {
        let file: FerryFile = toml::from_str(text).map_err(|e| IgnoreError::Toml {
            origin: origin.to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        let mut rules = Vec::new();
        for (index, entry) in file.ignore.into_iter().enumerate() {
            let where_ = format!("{origin}: ignore[{index}] ({})", entry.id);
            let invalid = |reason: String| IgnoreError::Toml {
                origin: where_.clone(),
                reason,
            };
            if entry.id.trim().is_empty() {
                return Err(invalid("empty id".into()));
            }
            let reason = entry.reason.filter(|r| !r.trim().is_empty());
            if reason.is_none() {
                return Err(invalid("every ignore entry needs a `reason`".into()));
            }
            let expires = match entry.expires {
                None => None,
                Some(toml::Value::String(s)) => Some(parse_date(&s).map_err(invalid)?),
                Some(toml::Value::Datetime(dt)) => match dt.date {
                    Some(d) => Some(parse_date(&d.to_string()).map_err(invalid)?),
                    None => return Err(invalid("expires must be a date".into())),
                },
                Some(other) => return Err(invalid(format!("expires must be a date, not {other}"))),
            };
            rules.push(IgnoreRule {
                id: entry.id.trim().to_string(),
                reason,
                expires,
                package: entry.package.filter(|p| !p.trim().is_empty()),
                origin: format!("{origin}: ignore[{index}]"),
            });
        }
        Ok(IgnoreRules { rules })
    }

    /// Loads a file: TOML when the name ends in `.toml`, `.trivyignore` format otherwise.
    pub fn load(path: &Path) -> Result<IgnoreRules, IgnoreError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| IgnoreError::Read {
            path: origin.clone(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "toml") {
            Self::parse_ferry_toml(&text, &origin)
        } else {
            Self::parse_trivyignore(&text, &origin)
        }
    }

    pub fn extend(&mut self, other: IgnoreRules) {
        self.rules.extend(other.rules);
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first unexpired rule matching any of `ids` for a package with these names.
    pub fn find(&self, ids: &[&str], package_names: &[&str], today: Date) -> Option<&IgnoreRule> {
        self.rules.iter().find(|rule| {
            !rule.is_expired(today)
                && ids.iter().any(|id| id.eq_ignore_ascii_case(&rule.id))
                && rule
                    .package
                    .as_ref()
                    .is_none_or(|p| package_names.contains(&p.as_str()))
        })
    }

    /// Rules that have expired by `today`, for a warning.
    pub fn expired(&self, today: Date) -> impl Iterator<Item = &IgnoreRule> {
        self.rules.iter().filter(move |r| r.is_expired(today))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn trivyignore() {
        let text = "# accepted risks\n\nCVE-2023-1111\nCVE-2023-2222 exp:2024-06-01 # until the base image moves\n  GHSA-aaaa-bbbb-cccc\n";
        let rules = IgnoreRules::parse_trivyignore(text, ".trivyignore").unwrap();
        assert_eq!(rules.rules.len(), 3);
        assert_eq!(rules.rules[1].expires, Some(date!(2024 - 06 - 01)));
        assert_eq!(rules.rules[1].origin, ".trivyignore:4");
        let today = date!(2024 - 05 - 01);
        assert!(rules.find(&["CVE-2023-2222"], &["x"], today).is_some());
        assert!(rules
            .find(&["CVE-2023-2222"], &["x"], date!(2024 - 06 - 01))
            .is_none());
        assert!(rules.find(&["cve-2023-1111"], &["x"], today).is_some());
        assert!(rules.find(&["CVE-2023-3333"], &["x"], today).is_none());
        assert_eq!(rules.expired(date!(2025 - 01 - 01)).count(), 1);

        let err = IgnoreRules::parse_trivyignore("CVE-1\nCVE-2 exp:tomorrow\n", "f").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:2: \"tomorrow\" is not a date (YYYY-MM-DD)"
        );
    }

    #[test]
    fn ferry_toml() {
        let text = r#"
[[ignore]]
id = "CVE-2023-4911"
reason = "never runs setuid binaries"
expires = 2025-06-30
package = "glibc"

[[ignore]]
id = "GHSA-xxxx"
reason = "dev dependency only"
expires = "2025-01-31"
"#;
        let rules = IgnoreRules::parse_ferry_toml(text, ".ferryignore.toml").unwrap();
        assert_eq!(rules.rules[0].expires, Some(date!(2025 - 06 - 30)));
        assert_eq!(rules.rules[1].expires, Some(date!(2025 - 01 - 31)));
        let today = date!(2025 - 01 - 01);
        assert!(rules
            .find(&["CVE-2023-4911"], &["libc6", "glibc"], today)
            .is_some());
        assert!(rules
            .find(&["CVE-2023-4911"], &["openssl"], today)
            .is_none());
        assert_eq!(
            rules
                .find(&["GHSA-xxxx"], &["x"], today)
                .unwrap()
                .reason
                .as_deref(),
            Some("dev dependency only")
        );

        let no_reason = "[[ignore]]\nid = \"CVE-1\"\n";
        let err = IgnoreRules::parse_ferry_toml(no_reason, "f.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ignore[0] (CVE-1)") && err.contains("reason"),
            "{err}"
        );

        let typo = "[[ignore]]\nid = \"CVE-1\"\nreasn = \"x\"\n";
        let err = IgnoreRules::parse_ferry_toml(typo, "f.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("reasn") && err.contains("line 3"), "{err}");

        let bad_date = "[[ignore]]\nid = \"CVE-1\"\nreason = \"r\"\nexpires = \"soon\"\n";
        assert!(IgnoreRules::parse_ferry_toml(bad_date, "f.toml").is_err());
    }
}
