//! SARIF 2.1.0 for code-scanning tools: one rule per vulnerability id (the `ruleId`, as
//! Trivy's), one result per affected package, the level from the severity (CRITICAL and
//! HIGH → error, MEDIUM → warning, LOW and UNKNOWN → note) and
//! `properties.security-severity` from the CVSS score (or the severity's band) so
//! GitHub-style tools rank them. Locations point at the package's file in the image.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Finding, ScanReport};
use crate::severity::Severity;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// `security-severity`: the CVSS score when there is one, else a score inside the band.
fn security_severity(f: &Finding) -> String {
    let score = f
        .cvss
        .as_ref()
        .map(|c| c.score)
        .unwrap_or(match f.severity {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 2.0,
            Severity::Unknown => 0.0,
        });
    format!("{score:.1}")
}

fn message(f: &Finding) -> String {
    format!(
        "Package: {}\nInstalled Version: {}\nVulnerability {}\nSeverity: {}\nFixed Version: {}\nLink: [{}]({})",
        f.package.name,
        f.installed_version,
        f.vulnerability_id,
        f.severity,
        f.fixed_version.as_deref().unwrap_or("none (no fix available)"),
        f.vulnerability_id,
        f.primary_url
    )
}

pub fn to_value(report: &ScanReport) -> Value {
    // Rules: one per vulnerability id, the most severe finding's data describing it.
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &report.findings {
        rules
            .entry(f.vulnerability_id.as_str())
            .and_modify(|existing| {
                if f.severity > existing.severity {
                    *existing = f;
                }
            })
            .or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rule_values: Vec<Value> = rules
        .values()
        .map(|f| {
            json!({
                "id": f.vulnerability_id,
                "name": if matches!(f.package.package_type,
                    crate::package::PackageType::Deb | crate::package::PackageType::Apk | crate::package::PackageType::Rpm)
                    { "OsPackageVulnerability" } else { "LanguageSpecificPackageVulnerability" },
                "shortDescription": { "text": if f.title.is_empty() { f.vulnerability_id.clone() } else { f.title.clone() } },
                "fullDescription": { "text": f.description.clone().unwrap_or_else(|| f.title.clone()) },
                "defaultConfiguration": { "level": level(f.severity) },
                "helpUri": f.primary_url,
                "help": {
                    "text": message(f),
                    "markdown": format!(
                        "**Vulnerability {}**\n| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n| {} | {} | {} | [{}]({}) |\n\n{}",
                        f.vulnerability_id, f.severity, f.package.name,
                        f.fixed_version.as_deref().unwrap_or(""), f.vulnerability_id, f.primary_url,
                        f.description.as_deref().unwrap_or("")
                    ),
                },
                "properties": {
                    "precision": "very-high",
                    "security-severity": security_severity(f),
                    "tags": ["vulnerability", "security", f.severity.as_str()],
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let uri = if f.package.location.is_empty() {
                report.artifact.clone()
            } else {
                f.package.location.trim_start_matches('/').to_string()
            };
            json!({
                "ruleId": f.vulnerability_id,
                "ruleIndex": index.get(f.vulnerability_id.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": message(f) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri, "uriBaseId": "ROOTPATH" },
                        "region": { "startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1 },
                    },
                    "message": { "text": format!("{}: {}@{}", report.artifact, f.package.name, f.installed_version) },
                }],
            })
        })
        .collect();
    let now = report.generated_at;
    json!({
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ferry",
                    "fullName": "ferry scan",
                    "informationUri": "https://github.com/ferry-paas/ferry",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rule_values,
                },
            },
            "results": results,
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": { "ROOTPATH": { "uri": "file:///" } },
            "properties": {
                "imageName": report.artifact,
                "vulnDbRecords": report.db.records,
                "vulnDbAgeHours": report.db.age(now).map(|a| a.whole_hours()),
                "vulnDbStale": report.db_stale,
            },
        }],
    })
}

pub fn render(report: &ScanReport) -> String {
    serde_json::to_string_pretty(&to_value(report)).unwrap_or_else(|_| to_value(report).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{finding, report};

    #[test]
    fn rules_results_levels() {
        let mut second = finding("CVE-2024-0001", Severity::Critical, None);
        second.package.name = "libssl3".into();
        let r = report(vec![
            finding("CVE-2024-0001", Severity::High, Some("3.0.13-1~deb12u1")),
            second,
            finding("CVE-2024-0003", Severity::Low, None),
        ]);
        let v = to_value(&r);
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["id"], "CVE-2024-0001");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
        assert_eq!(rules[0]["properties"]["security-severity"], "9.5");
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[2]["ruleId"], "CVE-2024-0003");
        assert_eq!(results[2]["ruleIndex"], 1);
        assert_eq!(results[2]["level"], "note");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "var/lib/dpkg/status"
        );
        assert_eq!(run["properties"]["vulnDbAgeHours"], 72);
    }
}
