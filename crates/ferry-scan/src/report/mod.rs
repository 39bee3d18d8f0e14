//! The vulnerability scan report (plain data, stored with a revision and rendered by
//! `ferry scan`) and the gate decision a policy takes from it.
//!
//! Renderers: [`table`] (Trivy-style tables per target), [`json`] (Trivy's JSON layout,
//! `SchemaVersion` 2, so tools reading Trivy output read ferry's) and [`sarif`] (SARIF
//! 2.1.0 with one rule per vulnerability id, as Trivy writes it).

pub mod json;
pub mod sarif;
pub mod table;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ignore::IgnoreRule;
use crate::package::{OsInfo, Package, PackageType};
use crate::severity::cvss::CvssScore;
use crate::severity::Severity;
use crate::vulndb::DbInfo;

/// Whether a fixed version exists (Trivy's `Status` values `fixed` and `affected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// A fixed version is known: upgrade to it.
    Fixed,
    /// No fix is available (yet).
    Affected,
}

impl FixStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::Fixed => "fixed",
            FixStatus::Affected => "affected",
        }
    }
}

/// One vulnerability in one installed package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The id shown to users: the CVE when the record is a CVE or aliases exactly one,
    /// else the OSV record id (`GHSA-…`, `DSA-…`).
    pub vulnerability_id: String,
    /// The OSV record the match came from.
    pub osv_id: String,
    /// Other ids of the same vulnerability (record aliases and upstream ids).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub package: Package,
    /// OSV ecosystem of the matching `affected` entry (`Debian:12`, `PyPI`…).
    pub ecosystem: String,
    pub installed_version: String,
    /// Versions that fix it, when known (several when the record has several branches).
    #[serde(default)]
    pub fixed_version: Option<String>,
    pub status: FixStatus,
    pub severity: Severity,
    /// `cvss_v3`, `cvss_v4`, `cvss_v2`, `ubuntu`, `database_specific`… or `none`.
    pub severity_source: String,
    #[serde(default)]
    pub cvss: Option<CvssScore>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub primary_url: String,
    #[serde(default)]
    pub published: Option<String>,
    pub modified: String,
}

impl Finding {
    /// Every id this finding answers to (for ignore rules and policies).
    pub fn ids(&self) -> Vec<&str> {
        let mut ids = vec![self.vulnerability_id.as_str(), self.osv_id.as_str()];
        ids.extend(self.aliases.iter().map(String::as_str));
        ids.dedup();
        ids
    }
}

/// A finding an ignore rule silenced, with the rule (and so the reason).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IgnoredFinding {
    pub finding: Finding,
    pub rule: IgnoreRule,
}

/// The result of matching an image's (or any) package list against the database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// What was scanned: an image reference, an archive path, a directory.
    pub artifact: String,
    #[serde(default)]
    pub os: Option<OsInfo>,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The vulnerability data used, and how old it was.
    pub db: DbInfo,
    /// The data was older than the stale threshold (or empty) at scan time.
    pub db_stale: bool,
    pub packages_scanned: usize,
    /// After ignore rules and the severity / unfixed filters, sorted by package.
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub ignored: Vec<IgnoredFinding>,
    /// Things the user should act on (stale data, unsupported distro, bad versions).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Informational notes (e.g. GIT ranges skipped).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// What a policy decided about a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// The lowest severity that blocks.
    pub fail_on: Severity,
    pub blocked: bool,
    /// The findings at or above `fail_on`, most severe first.
    pub blocking: Vec<Finding>,
}

impl GateDecision {
    /// One line for an operation's failure message: "blocked by 2 vulnerabilities at or
    /// above CRITICAL: CVE-… in openssl 3.0.11-1 (fixed in 3.0.13-1), …".
    pub fn summary(&self) -> String {
        if !self.blocked {
            return format!("no vulnerabilities at or above {}", self.fail_on);
        }
        let listed: Vec<String> = self
            .blocking
            .iter()
            .take(5)
            .map(|f| {
                let fix = match &f.fixed_version {
                    Some(v) => format!("fixed in {v}"),
                    None => "no fix available".to_string(),
                };
                format!(
                    "{} ({}) in {} {} ({fix})",
                    f.vulnerability_id, f.severity, f.package.name, f.installed_version
                )
            })
            .collect();
        let more = self.blocking.len().saturating_sub(listed.len());
        format!(
            "blocked by {} vulnerabilit{} at or above {}: {}{}",
            self.blocking.len(),
            if self.blocking.len() == 1 { "y" } else { "ies" },
            self.fail_on,
            listed.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )
    }
}

/// One group of findings as Trivy shows them: OS packages, or one language/file.
#[derive(Clone, Debug)]
pub struct ResultGroup<'a> {
    pub target: String,
    /// `os-pkgs` or `lang-pkgs`.
    pub class: &'static str,
    /// Trivy's type: the OS family for OS packages, else `python-pkg`, `node-pkg`,
    /// `jar`, `gobinary`, `cargo`.
    pub kind: String,
    pub findings: Vec<&'a Finding>,
}

impl ScanReport {
    /// Findings per severity (every level present, zero included).
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        count(self.findings.iter())
    }

    /// The gate: blocked when any finding is at or above `fail_on`.
    pub fn gate(&self, fail_on: Severity) -> GateDecision {
        let mut blocking: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity >= fail_on)
            .cloned()
            .collect();
        blocking.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.vulnerability_id.cmp(&b.vulnerability_id))
        });
        GateDecision {
            fail_on,
            blocked: !blocking.is_empty(),
            blocking,
        }
    }

    /// Trivy's `--exit-code`: `code` when any finding remains after the filters, else 0.
    pub fn exit_code(&self, code: i32) -> i32 {
        if self.findings.is_empty() {
            0
        } else {
            code
        }
    }

    /// The OS target's name: `<artifact> (debian 12)`.
    pub fn os_target(&self) -> String {
        match &self.os {
            Some(os) if !os.id.is_empty() => {
                format!("{} ({} {})", self.artifact, os.id, os.version_id)
            }
            _ => self.artifact.clone(),
        }
    }

    /// Findings grouped the way Trivy groups results; the OS group comes first and is
    /// present (possibly empty) whenever the OS is known.
    pub fn groups(&self) -> Vec<ResultGroup<'_>> {
        let mut groups: Vec<ResultGroup<'_>> = Vec::new();
        if let Some(os) = self.os.as_ref().filter(|os| !os.id.is_empty()) {
            groups.push(ResultGroup {
                target: self.os_target(),
                class: "os-pkgs",
                kind: os.id.clone(),
                findings: Vec::new(),
            });
        }
        for finding in &self.findings {
            let (target, class, kind) = match finding.package.package_type {
                PackageType::Deb | PackageType::Apk | PackageType::Rpm => (
                    self.os_target(),
                    "os-pkgs",
                    self.os.as_ref().map(|o| o.id.clone()).unwrap_or_default(),
                ),
                PackageType::Python => {
                    ("Python".to_string(), "lang-pkgs", "python-pkg".to_string())
                }
                PackageType::Npm => ("Node.js".to_string(), "lang-pkgs", "node-pkg".to_string()),
                PackageType::JavaArchive => ("Java".to_string(), "lang-pkgs", "jar".to_string()),
                PackageType::GoModule => (
                    finding.package.location.clone(),
                    "lang-pkgs",
                    "gobinary".to_string(),
                ),
                PackageType::RustCrate => (
                    finding.package.location.clone(),
                    "lang-pkgs",
                    "cargo".to_string(),
                ),
            };
            match groups
                .iter_mut()
                .find(|g| g.target == target && g.class == class)
            {
                Some(group) => group.findings.push(finding),
                None => groups.push(ResultGroup {
                    target,
                    class,
                    kind,
                    findings: vec![finding],
                }),
            }
        }
        groups
    }
}

/// Counts per severity over any findings (every level present).
pub fn count<'a>(findings: impl Iterator<Item = &'a Finding>) -> BTreeMap<Severity, usize> {
    let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in findings {
        *counts.entry(f.severity).or_default() += 1;
    }
    counts
}

/// `Total: 3 (UNKNOWN: 0, LOW: 1, MEDIUM: 1, HIGH: 1, CRITICAL: 0)`.
pub fn total_line(counts: &BTreeMap<Severity, usize>) -> String {
    let total: usize = counts.values().sum();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| format!("{s}: {}", counts.get(s).copied().unwrap_or(0)))
        .collect();
    format!("Total: {total} ({})", parts.join(", "))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn package(name: &str, version: &str, package_type: PackageType) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            package_type,
            source_name: None,
            source_version: None,
            purl: format!("pkg:generic/{name}@{version}"),
            layer: Some("sha256:1111".into()),
            location: "var/lib/dpkg/status".into(),
            licenses: vec![],
        }
    }

    pub(crate) fn finding(id: &str, severity: Severity, fixed: Option<&str>) -> Finding {
        Finding {
            vulnerability_id: id.into(),
            osv_id: format!("DEBIAN-{id}"),
            aliases: vec![],
            package: package("openssl", "3.0.11-1~deb12u2", PackageType::Deb),
            ecosystem: "Debian:12".into(),
            installed_version: "3.0.11-1~deb12u2".into(),
            fixed_version: fixed.map(str::to_string),
            status: if fixed.is_some() {
                FixStatus::Fixed
            } else {
                FixStatus::Affected
            },
            severity,
            severity_source: "cvss_v3".into(),
            cvss: None,
            title: format!("title of {id}"),
            description: Some("details".into()),
            primary_url: format!("https://osv.dev/vulnerability/{id}"),
            published: None,
            modified: "2024-01-01T00:00:00Z".into(),
        }
    }

    pub(crate) fn report(findings: Vec<Finding>) -> ScanReport {
        let now = time::macros::datetime!(2024-01-05 00:00 UTC);
        ScanReport {
            artifact: "web.tar".into(),
            os: Some(OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                pretty_name: None,
            }),
            generated_at: now,
            db: DbInfo {
                location: "/tmp/osv.db".into(),
                records: 10,
                newest_record: Some(time::macros::datetime!(2024-01-02 00:00 UTC)),
                last_import: Some(now),
            },
            db_stale: false,
            packages_scanned: 3,
            findings,
            ignored: vec![],
            warnings: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn gate_and_exit_code() {
        let r = report(vec![
            finding("CVE-2024-0001", Severity::High, Some("3.0.13-1~deb12u1")),
            finding("CVE-2024-0002", Severity::Critical, None),
        ]);
        let d = r.gate(Severity::Critical);
        assert!(d.blocked);
        assert_eq!(d.blocking.len(), 1);
        assert!(
            d.summary().contains("CVE-2024-0002 (CRITICAL) in openssl"),
            "{}",
            d.summary()
        );
        assert!(d.summary().contains("no fix available"));
        assert_eq!(
            r.gate(Severity::High).blocking[0].vulnerability_id,
            "CVE-2024-0002"
        );
        assert!(!report(vec![]).gate(Severity::Low).blocked);
        assert_eq!(r.exit_code(3), 3);
        assert_eq!(report(vec![]).exit_code(3), 0);
        assert_eq!(
            total_line(&r.counts()),
            "Total: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1)"
        );
        // The report is plain data: it round-trips through JSON (stored with a revision).
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ScanReport>(&text).unwrap(), r);
    }

    #[test]
    fn groups_follow_trivy() {
        let mut py = finding("GHSA-1", Severity::Low, None);
        py.package = package("django", "4.0", PackageType::Python);
        let r = report(vec![finding("CVE-1", Severity::Low, None), py]);
        let groups = r.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].target, "web.tar (debian 12)");
        assert_eq!(groups[0].findings.len(), 1);
        assert_eq!(
            (groups[1].target.as_str(), groups[1].kind.as_str()),
            ("Python", "python-pkg")
        );
    }
}
