//! The scan pipeline over a package list: look each package up, evaluate the records,
//! build findings, merge duplicates, apply ignore rules and filters, and attach the
//! data's age. Also the one-call gate the deployer uses.

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;

use super::{match_affected, MatchNotes, RangeMatch};
use crate::ignore::IgnoreRules;
use crate::osv::{ecosystem, Vulnerability};
use crate::package::{OsInfo, Package};
use crate::report::{Finding, FixStatus, GateDecision, IgnoredFinding, ScanReport};
use crate::severity::{self, Severity};
use crate::vulndb::{VulnDb, VulnDbError};

/// Most distinct problems listed in a report's warnings; the rest are counted.
const MAX_PROBLEMS: usize = 30;

/// How to scan and what to show.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Name of what is scanned, for the report.
    pub artifact: String,
    /// Show only these severities (Trivy's `--severity`); empty shows all.
    pub severities: Vec<Severity>,
    /// Drop findings without a fixed version (`--ignore-unfixed`).
    pub ignore_unfixed: bool,
    pub ignore: IgnoreRules,
    /// "Now" for expiry dates and the data's age.
    pub now: OffsetDateTime,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            artifact: String::new(),
            severities: Vec::new(),
            ignore_unfixed: false,
            ignore: IgnoreRules::default(),
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// The service's `[security]` policy as the gate needs it.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Block when a finding is at or above this severity; `None` never blocks (report only).
    pub fail_on: Option<Severity>,
    pub ignore_unfixed: bool,
    pub ignore: IgnoreRules,
}

/// What the gate returns: the full report (to store with the revision) and the decision.
#[derive(Clone, Debug)]
pub struct GateOutcome {
    pub report: ScanReport,
    /// `None` when the policy has no `fail_on`.
    pub decision: Option<GateDecision>,
}

impl GateOutcome {
    pub fn blocked(&self) -> bool {
        self.decision.as_ref().is_some_and(|d| d.blocked)
    }
}

/// Scans `packages` against `db` under `policy` and decides whether the deploy blocks.
pub fn gate_packages(
    artifact: &str,
    os: &OsInfo,
    packages: &[Package],
    db: &VulnDb,
    policy: &Policy,
) -> Result<GateOutcome, VulnDbError> {
    let options = ScanOptions {
        artifact: artifact.to_string(),
        ignore_unfixed: policy.ignore_unfixed,
        ignore: policy.ignore.clone(),
        ..ScanOptions::default()
    };
    let report = scan_packages(os, packages, db, &options)?;
    let decision = policy.fail_on.map(|fail_on| report.gate(fail_on));
    Ok(GateOutcome { report, decision })
}

/// The id users know a record by: a CVE when the record is one, or names exactly one
/// (as alias, or as upstream for distro records such as `DEBIAN-CVE-…`); else its id.
fn display_id(record: &Vulnerability) -> String {
    if record.id.starts_with("CVE-") {
        return record.id.clone();
    }
    let cves = |ids: &[String]| -> Vec<String> {
        let set: BTreeSet<&String> = ids.iter().filter(|a| a.starts_with("CVE-")).collect();
        set.into_iter().cloned().collect()
    };
    let aliases = cves(&record.aliases);
    if aliases.len() == 1 {
        return aliases[0].clone();
    }
    if aliases.is_empty() {
        let upstream = cves(&record.upstream);
        // Per-CVE distro records (DEBIAN-CVE-…, UBUNTU-CVE-…, ALPINE-CVE-…) name one.
        if upstream.len() == 1 && record.id.contains(&upstream[0]) {
            return upstream[0].clone();
        }
    }
    record.id.clone()
}

/// Scans a package list (from an image's inventory, or made by hand) against the
/// database. `os` says which distribution the OS packages come from.
pub fn scan_packages(
    os: &OsInfo,
    packages: &[Package],
    db: &VulnDb,
    options: &ScanOptions,
) -> Result<ScanReport, VulnDbError> {
    let info = db.info()?;
    let mut warnings = Vec::new();
    let mut notes = MatchNotes::default();
    let mut unsupported_distros = BTreeSet::new();
    let mut bad_installed = Vec::new();
    let mut records: HashMap<String, Option<Vulnerability>> = HashMap::new();
    let mut findings: Vec<Finding> = Vec::new();

    for package in packages {
        let lookup = match ecosystem::lookup_for(os, package) {
            Ok(lookup) => lookup,
            Err(ecosystem::Unsupported::Distro(distro)) => {
                unsupported_distros.insert(distro);
                continue;
            }
        };
        let mut ids = BTreeSet::new();
        for key in &lookup.keys {
            for name in &lookup.names {
                ids.extend(db.ids_for(key, name)?);
            }
        }
        for id in ids {
            if !records.contains_key(&id) {
                let record = db.record(&id)?;
                records.insert(id.clone(), record);
            }
            let Some(Some(record)) = records.get(&id) else {
                continue;
            };
            if record.is_withdrawn() {
                continue;
            }
            for affected in &record.affected {
                let Some(affected_package) = &affected.package else {
                    continue;
                };
                let key = ecosystem::lookup_key(&affected_package.ecosystem);
                let name =
                    ecosystem::normalize_name(&affected_package.ecosystem, &affected_package.name);
                if !lookup.keys.contains(&key) || !lookup.names.contains(&name) {
                    continue;
                }
                let outcome = match match_affected(
                    &record.id,
                    affected,
                    &lookup.version,
                    lookup.scheme,
                    &mut notes,
                ) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        bad_installed.push(format!("{} {}: {e}", package.name, lookup.version));
                        break;
                    }
                };
                let RangeMatch::Affected { fixed } = outcome else {
                    continue;
                };
                let assessment = severity::assess(record, Some(affected));
                let mut aliases: Vec<String> = record
                    .aliases
                    .iter()
                    .chain(&record.upstream)
                    .cloned()
                    .collect();
                aliases.sort();
                aliases.dedup();
                let vulnerability_id = display_id(record);
                aliases.retain(|a| *a != vulnerability_id);
                if vulnerability_id != record.id && !aliases.contains(&record.id) {
                    aliases.push(record.id.clone());
                }
                let fixed_version = (!fixed.is_empty()).then(|| fixed.join(", "));
                findings.push(Finding {
                    vulnerability_id,
                    osv_id: record.id.clone(),
                    aliases,
                    package: package.clone(),
                    ecosystem: affected_package.ecosystem.clone(),
                    installed_version: package.version.clone(),
                    status: if fixed_version.is_some() {
                        FixStatus::Fixed
                    } else {
                        FixStatus::Affected
                    },
                    fixed_version,
                    severity: assessment.severity,
                    severity_source: assessment.source,
                    cvss: assessment.cvss,
                    title: record.title(),
                    description: record.details.clone().filter(|d| !d.trim().is_empty()),
                    primary_url: record
                        .primary_url()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", record.id)),
                    published: record.published.clone(),
                    modified: record.modified.clone(),
                });
                // One finding per record and package, from the first entry that matches.
                break;
            }
        }
    }

    let findings = drop_covered_bundles(merge_duplicates(findings));
    let today = options.now.date();
    let mut kept = Vec::new();
    let mut ignored = Vec::new();
    for finding in findings {
        let names: Vec<&str> = std::iter::once(finding.package.name.as_str())
            .chain(finding.package.source_name.as_deref())
            .collect();
        if let Some(rule) = options.ignore.find(&finding.ids(), &names, today) {
            ignored.push(IgnoredFinding {
                rule: rule.clone(),
                finding,
            });
            continue;
        }
        if options.ignore_unfixed && finding.status == FixStatus::Affected {
            continue;
        }
        if !options.severities.is_empty() && !options.severities.contains(&finding.severity) {
            continue;
        }
        kept.push(finding);
    }
    kept.sort_by(|a, b| {
        a.package
            .name
            .cmp(&b.package.name)
            .then_with(|| a.installed_version.cmp(&b.installed_version))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.vulnerability_id.cmp(&b.vulnerability_id))
    });

    let db_stale = info.is_stale(options.now);
    if info.records == 0 {
        warnings.push(format!(
            "the vulnerability database at {} is empty: nothing can be matched; run `ferry vulndb update` or `ferry vulndb import`",
            info.location
        ));
    }
    for distro in unsupported_distros {
        warnings.push(format!(
            "OS packages were not checked: ferry has no OSV data source for distribution {distro:?}"
        ));
    }
    for rule in options.ignore.expired(today) {
        warnings.push(format!(
            "ignore rule for {} ({}) expired on {}; it no longer applies",
            rule.id,
            rule.origin,
            rule.expires.map(|d| d.to_string()).unwrap_or_default()
        ));
    }
    bad_installed.sort();
    bad_installed.dedup();
    let mut problems: Vec<String> = bad_installed
        .into_iter()
        .map(|p| format!("cannot compare installed version of {p}"))
        .collect();
    let mut record_problems = notes.problems;
    record_problems.sort();
    record_problems.dedup();
    problems.extend(record_problems);
    let total = problems.len();
    warnings.extend(problems.into_iter().take(MAX_PROBLEMS));
    if total > MAX_PROBLEMS {
        warnings.push(format!(
            "… and {} more version problems",
            total - MAX_PROBLEMS
        ));
    }
    let mut report_notes = Vec::new();
    if notes.git_ranges_skipped > 0 {
        report_notes.push(format!(
            "{} GIT commit ranges skipped (they need the upstream repository; ecosystem ranges and version lists were used)",
            notes.git_ranges_skipped
        ));
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }

    Ok(ScanReport {
        artifact: options.artifact.clone(),
        os: Some(os.clone()).filter(|os| !os.id.is_empty()),
        generated_at: options.now,
        db: info,
        db_stale,
        packages_scanned: packages.len(),
        findings: kept,
        ignored,
        warnings,
        notes: report_notes,
    })
}

/// Keeps one finding per (package, vulnerability id): several databases (GHSA, PYSEC…)
/// often describe the same CVE. The most severe one wins, then the one with a fix; the
/// other record ids become aliases.
fn merge_duplicates(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, String, String, String), usize> = HashMap::new();
    for finding in findings {
        let key = (
            finding.package.name.clone(),
            finding.package.version.clone(),
            finding.package.location.clone(),
            finding.vulnerability_id.clone(),
        );
        match index.get(&key) {
            None => {
                index.insert(key, merged.len());
                merged.push(finding);
            }
            Some(&i) => {
                let existing = &mut merged[i];
                let better = (finding.severity, finding.fixed_version.is_some())
                    > (existing.severity, existing.fixed_version.is_some());
                let (mut keep, other) = if better {
                    (finding, existing.clone())
                } else {
                    (existing.clone(), finding)
                };
                for id in std::iter::once(other.osv_id).chain(other.aliases) {
                    if id != keep.vulnerability_id
                        && id != keep.osv_id
                        && !keep.aliases.contains(&id)
                    {
                        keep.aliases.push(id);
                    }
                }
                keep.aliases.sort();
                *existing = keep;
            }
        }
    }
    merged
}

/// Drops a bundle advisory (a `DSA-…` naming several CVEs) from a package when every CVE
/// it names is already a finding of that package on its own (from per-CVE records), so
/// each vulnerability is listed once, under its CVE; the bundle's id becomes an alias.
fn drop_covered_bundles(findings: Vec<Finding>) -> Vec<Finding> {
    let package_key = |f: &Finding| {
        (
            f.package.name.clone(),
            f.package.version.clone(),
            f.package.location.clone(),
        )
    };
    let mut by_package: HashMap<(String, String, String), BTreeSet<String>> = HashMap::new();
    for f in &findings {
        by_package
            .entry(package_key(f))
            .or_default()
            .insert(f.vulnerability_id.clone());
    }
    let mut covered: Vec<(usize, String)> = Vec::new();
    let mut keep = vec![true; findings.len()];
    for (i, f) in findings.iter().enumerate() {
        if f.vulnerability_id.starts_with("CVE-") {
            continue;
        }
        let cves: Vec<&String> = f.aliases.iter().filter(|a| a.starts_with("CVE-")).collect();
        let Some(ids) = by_package.get(&package_key(f)) else {
            continue;
        };
        if !cves.is_empty() && cves.iter().all(|c| ids.contains(*c)) {
            keep[i] = false;
            covered.push((i, f.osv_id.clone()));
        }
    }
    let mut findings = findings;
    for (i, bundle_id) in covered {
        let cves: Vec<String> = findings[i]
            .aliases
            .iter()
            .filter(|a| a.starts_with("CVE-"))
            .cloned()
            .collect();
        let key = package_key(&findings[i]);
        for (j, other) in findings.iter_mut().enumerate() {
            if keep[j]
                && package_key(other) == key
                && cves.contains(&other.vulnerability_id)
                && !other.aliases.contains(&bundle_id)
            {
                other.aliases.push(bundle_id.clone());
                other.aliases.sort();
            }
        }
    }
    findings
        .into_iter()
        .zip(keep)
        .filter_map(|(f, keep)| keep.then_some(f))
        .collect()
}
