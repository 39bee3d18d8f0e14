//! Severity of a vulnerability for one package: Trivy's five levels, worked out from what
//! the OSV record carries.
//!
//! Order of preference: the affected package's own `severity` entries, then the record's;
//! among them a CVSS v3 vector (scored exactly), then CVSS v4 (approximate score), then
//! CVSS v2, then the Ubuntu priority. With no score, a label in `database_specific` or
//! `ecosystem_specific` (GHSA's `severity`, Debian's `urgency`, Red Hat's `severity`…) is
//! mapped. Nothing usable gives `UNKNOWN`.

pub mod cvss;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::osv::{Affected, SeverityScore, Vulnerability};

/// Trivy's severity levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// CVSS v3/v4 qualitative rating of a base score (0.0 is "None", reported as LOW only
    /// if something else says so; here it is UNKNOWN).
    pub fn from_cvss(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }

    /// CVSS v2 rating (NVD's bands: no CRITICAL in v2).
    pub fn from_cvss_v2(score: f64) -> Severity {
        if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }

    /// Maps a vendor's word for severity or urgency: GHSA (`MODERATE`), Red Hat
    /// (`Important`), Debian urgencies (`unimportant`, `low*`), Ubuntu priorities
    /// (`negligible`), and plain levels. `None` when the word means "not assessed".
    pub fn from_label(label: &str) -> Option<Severity> {
        let word = label
            .trim()
            .trim_end_matches(['*', '!'])
            .to_ascii_lowercase();
        Some(match word.as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "unimportant" | "minor" => Severity::Low,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    /// Case-insensitive level name (`critical`, `HIGH`…).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown severity {s:?} (expected UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL)")
            })
    }
}

/// Parses a comma-separated list (`HIGH,CRITICAL`).
pub fn parse_list(text: &str) -> Result<Vec<Severity>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Where a severity came from, for reports (Trivy's `SeveritySource` in spirit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub severity: Severity,
    /// `cvss_v3`, `cvss_v4`, `cvss_v2`, `ubuntu`, `database_specific`, `ecosystem_specific`
    /// or `none`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<cvss::CvssScore>,
}

impl Assessment {
    fn none() -> Assessment {
        Assessment {
            severity: Severity::Unknown,
            source: "none".into(),
            cvss: None,
        }
    }
}

/// Assesses the severity of `record` for one of its affected entries.
pub fn assess(record: &Vulnerability, affected: Option<&Affected>) -> Assessment {
    let package_scores = affected.map(|a| a.severity.as_slice()).unwrap_or_default();
    if let Some(found) = from_scores(package_scores).or_else(|| from_scores(&record.severity)) {
        return found;
    }
    let labelled = [
        (
            affected.and_then(|a| a.ecosystem_specific.as_ref()),
            "ecosystem_specific",
        ),
        (
            affected.and_then(|a| a.database_specific.as_ref()),
            "database_specific",
        ),
        (record.database_specific.as_ref(), "database_specific"),
    ];
    for (value, source) in labelled {
        if let Some(severity) = value.and_then(label_in) {
            return Assessment {
                severity,
                source: source.into(),
                cvss: None,
            };
        }
    }
    Assessment::none()
}

fn from_scores(scores: &[SeverityScore]) -> Option<Assessment> {
    for kind in ["CVSS_V3", "CVSS_V4", "CVSS_V2"] {
        for entry in scores.iter().filter(|s| s.kind == kind) {
            // An unreadable vector is skipped in favour of the next source.
            let Ok(scored) = cvss::score(&entry.score) else {
                continue;
            };
            let severity = if kind == "CVSS_V2" {
                Severity::from_cvss_v2(scored.score)
            } else {
                Severity::from_cvss(scored.score)
            };
            return Some(Assessment {
                severity,
                source: kind.to_ascii_lowercase(),
                cvss: Some(scored),
            });
        }
    }
    scores
        .iter()
        .filter(|s| s.kind.eq_ignore_ascii_case("Ubuntu"))
        .find_map(|s| Severity::from_label(&s.score))
        .map(|severity| Assessment {
            severity,
            source: "ubuntu".into(),
            cvss: None,
        })
}

/// A severity label in a `*_specific` object: `severity`, `urgency` or `priority`, as a
/// string or as `{ "severity": … }`-style nesting one level down.
fn label_in(value: &serde_json::Value) -> Option<Severity> {
    for key in ["severity", "urgency", "priority"] {
        match value.get(key) {
            Some(serde_json::Value::String(label)) => {
                if let Some(severity) = Severity::from_label(label) {
                    return Some(severity);
                }
            }
            Some(nested @ serde_json::Value::Object(_)) => {
                if let Some(severity) = label_in(nested) {
                    return Some(severity);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Vulnerability {
        Vulnerability::from_json(json.as_bytes(), "test").unwrap()
    }

    #[test]
    fn labels_and_names() {
        assert_eq!("critical".parse::<Severity>().unwrap(), Severity::Critical);
        assert_eq!(
            parse_list("HIGH, critical").unwrap(),
            vec![Severity::High, Severity::Critical]
        );
        assert!(parse_list("HIGH,SEVERE").is_err());
        assert_eq!(Severity::from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_label("Important"), Some(Severity::High));
        assert_eq!(Severity::from_label("low*"), Some(Severity::Low));
        assert_eq!(Severity::from_label("unimportant"), Some(Severity::Low));
        assert_eq!(Severity::from_label("not yet assigned"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
    }

    #[test]
    fn preference_order() {
        let cvss3 = record(
            r#"{"id": "A", "modified": "2024-01-01T00:00:00Z",
                "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:N/A:N"},
                             {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "database_specific": {"severity": "LOW"}}"#,
        );
        let a = assess(&cvss3, None);
        assert_eq!(
            (a.severity, a.source.as_str()),
            (Severity::Critical, "cvss_v3")
        );

        let per_package = record(
            r#"{"id": "B", "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "npm", "name": "x"},
                              "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N"}]}]}"#,
        );
        let a = assess(&per_package, per_package.affected.first());
        assert_eq!(a.severity, Severity::Low);

        let ubuntu = record(
            r#"{"id": "UBUNTU-CVE-2024-1", "modified": "2024-01-01T00:00:00Z",
                "severity": [{"type": "Ubuntu", "score": "medium"}]}"#,
        );
        assert_eq!(assess(&ubuntu, None).severity, Severity::Medium);

        let ghsa = record(
            r#"{"id": "GHSA-x", "modified": "2024-01-01T00:00:00Z",
                "database_specific": {"severity": "MODERATE", "cwe_ids": []}}"#,
        );
        let a = assess(&ghsa, None);
        assert_eq!(
            (a.severity, a.source.as_str()),
            (Severity::Medium, "database_specific")
        );

        let debian = record(
            r#"{"id": "DSA-1", "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "x"},
                              "ecosystem_specific": {"urgency": "high"}}]}"#,
        );
        assert_eq!(
            assess(&debian, debian.affected.first()).severity,
            Severity::High
        );

        let broken = record(
            r#"{"id": "C", "modified": "2024-01-01T00:00:00Z",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/nonsense"}]}"#,
        );
        let a = assess(&broken, None);
        assert_eq!((a.severity, a.source.as_str()), (Severity::Unknown, "none"));
    }
}
