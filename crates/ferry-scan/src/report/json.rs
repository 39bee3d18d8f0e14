//! The JSON format, laid out as Trivy's (`SchemaVersion` 2, `Results[].Vulnerabilities[]`
//! with Trivy's field names) so that tools reading Trivy reports read ferry's. Ferry
//! adds `Metadata.VulnDB` (the data's age), `OSVID`, `Aliases`, and top-level `Ignored`
//! and `Warnings`.

use serde_json::{json, Map, Value};

use super::{Finding, ScanReport};

fn vulnerability(f: &Finding) -> Value {
    let mut v = Map::new();
    v.insert("VulnerabilityID".into(), json!(f.vulnerability_id));
    v.insert("OSVID".into(), json!(f.osv_id));
    if !f.aliases.is_empty() {
        v.insert("Aliases".into(), json!(f.aliases));
    }
    v.insert(
        "PkgID".into(),
        json!(format!("{}@{}", f.package.name, f.package.version)),
    );
    v.insert("PkgName".into(), json!(f.package.name));
    if !f.package.location.is_empty() {
        v.insert("PkgPath".into(), json!(f.package.location));
    }
    if !f.package.purl.is_empty() {
        v.insert("PkgIdentifier".into(), json!({ "PURL": f.package.purl }));
    }
    v.insert("InstalledVersion".into(), json!(f.installed_version));
    if let Some(fixed) = &f.fixed_version {
        v.insert("FixedVersion".into(), json!(fixed));
    }
    v.insert("Status".into(), json!(f.status.as_str()));
    if let Some(layer) = &f.package.layer {
        v.insert("Layer".into(), json!({ "DiffID": layer }));
    }
    v.insert("SeveritySource".into(), json!(f.severity_source));
    v.insert("PrimaryURL".into(), json!(f.primary_url));
    v.insert("Title".into(), json!(f.title));
    if let Some(description) = &f.description {
        v.insert("Description".into(), json!(description));
    }
    v.insert("Severity".into(), json!(f.severity.as_str()));
    if let Some(cvss) = &f.cvss {
        let (vector_key, score_key) = match cvss.version {
            crate::severity::cvss::CvssVersion::V2 => ("V2Vector", "V2Score"),
            crate::severity::cvss::CvssVersion::V3_0 | crate::severity::cvss::CvssVersion::V3_1 => {
                ("V3Vector", "V3Score")
            }
            crate::severity::cvss::CvssVersion::V4_0 => ("V40Vector", "V40Score"),
        };
        v.insert(
            "CVSS".into(),
            json!({ "osv": { vector_key: cvss.vector, score_key: cvss.score } }),
        );
    }
    if let Some(published) = &f.published {
        v.insert("PublishedDate".into(), json!(published));
    }
    v.insert("LastModifiedDate".into(), json!(f.modified));
    Value::Object(v)
}

/// The report as a JSON value.
pub fn to_value(report: &ScanReport) -> Value {
    let now = report.generated_at;
    let results: Vec<Value> = report
        .groups()
        .into_iter()
        .map(|group| {
            let vulns: Vec<Value> = group.findings.iter().map(|f| vulnerability(f)).collect();
            let mut result = json!({
                "Target": group.target,
                "Class": group.class,
                "Type": group.kind,
            });
            if !vulns.is_empty() {
                result["Vulnerabilities"] = Value::Array(vulns);
            }
            result
        })
        .collect();
    let os = report
        .os
        .as_ref()
        .map(|os| json!({ "Family": os.id, "Name": os.version_id }));
    let ignored: Vec<Value> = report
        .ignored
        .iter()
        .map(|i| {
            json!({
                "VulnerabilityID": i.finding.vulnerability_id,
                "PkgName": i.finding.package.name,
                "InstalledVersion": i.finding.installed_version,
                "Severity": i.finding.severity.as_str(),
                "Reason": i.rule.reason,
                "Expires": i.rule.expires.map(|d| d.to_string()),
                "Rule": i.rule.origin,
            })
        })
        .collect();
    let rfc3339 = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    json!({
        "SchemaVersion": 2,
        "CreatedAt": rfc3339(Some(now)),
        "ArtifactName": report.artifact,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": os,
            "VulnDB": {
                "Location": report.db.location,
                "Records": report.db.records,
                "NewestRecord": rfc3339(report.db.newest_record),
                "LastImport": rfc3339(report.db.last_import),
                "AgeHours": report.db.age(now).map(|a| a.whole_hours()),
                "Stale": report.db_stale,
            },
        },
        "Results": results,
        "Ignored": ignored,
        "Warnings": report.warnings,
    })
}

pub fn render(report: &ScanReport) -> String {
    // Serialising a `Value` cannot fail; fall back to compact output just in case.
    serde_json::to_string_pretty(&to_value(report)).unwrap_or_else(|_| to_value(report).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{finding, report};
    use crate::severity::Severity;

    #[test]
    fn trivy_layout() {
        let r = report(vec![finding(
            "CVE-2024-0001",
            Severity::High,
            Some("3.0.13-1~deb12u1"),
        )]);
        let v = to_value(&r);
        assert_eq!(v["SchemaVersion"], 2);
        assert_eq!(v["Metadata"]["OS"]["Family"], "debian");
        assert_eq!(v["Metadata"]["VulnDB"]["AgeHours"], 72);
        let vuln = &v["Results"][0]["Vulnerabilities"][0];
        assert_eq!(v["Results"][0]["Class"], "os-pkgs");
        assert_eq!(vuln["VulnerabilityID"], "CVE-2024-0001");
        assert_eq!(vuln["PkgName"], "openssl");
        assert_eq!(vuln["InstalledVersion"], "3.0.11-1~deb12u2");
        assert_eq!(vuln["FixedVersion"], "3.0.13-1~deb12u1");
        assert_eq!(vuln["Status"], "fixed");
        assert_eq!(vuln["Severity"], "HIGH");
        assert!(render(&r).starts_with('{'));
    }
}
