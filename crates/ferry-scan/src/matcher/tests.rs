//! Matching tests on the OSV fixtures in `tests/fixtures/osv` (records written from real
//! advisories' facts), one per range form, plus the pipeline's filters and the gate.

use std::path::PathBuf;

use super::*;
use crate::ignore::IgnoreRules;
use crate::osv::Vulnerability;
use crate::package::{OsInfo, Package, PackageType};
use crate::report::{FixStatus, ScanReport};
use crate::severity::Severity;
use crate::vulndb::VulnDb;

fn fixtures(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn db() -> VulnDb {
    let mut db = VulnDb::in_memory().unwrap();
    let summary = db.import_path(&fixtures("osv"), "fixtures").unwrap();
    assert_eq!(summary.malformed, 0, "{:?}", summary.warnings);
    db
}

fn pkg(package_type: PackageType, name: &str, version: &str, source: Option<&str>) -> Package {
    Package {
        name: name.into(),
        version: version.into(),
        package_type,
        source_name: source.map(str::to_string),
        source_version: None,
        purl: String::new(),
        layer: Some("sha256:aaaa".into()),
        location: "var/lib/dpkg/status".into(),
        licenses: vec![],
    }
}

fn os(id: &str, version_id: &str) -> OsInfo {
    OsInfo {
        id: id.into(),
        version_id: version_id.into(),
        pretty_name: None,
    }
}

fn scan(os: &OsInfo, packages: &[Package]) -> ScanReport {
    scan_packages(
        os,
        packages,
        &db(),
        &ScanOptions {
            artifact: "test".into(),
            ..Default::default()
        },
    )
    .unwrap()
}

/// (vulnerability id, package, fixed version) of each finding.
fn summary(report: &ScanReport) -> Vec<(String, String, Option<String>)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.vulnerability_id.clone(),
                f.package.name.clone(),
                f.fixed_version.clone(),
            )
        })
        .collect()
}

fn hit(id: &str, package: &str, fixed: Option<&str>) -> (String, String, Option<String>) {
    (id.into(), package.into(), fixed.map(str::to_string))
}

#[test]
fn introduced_zero_and_fixed_on_debian_by_source_package() {
    let packages = [
        pkg(PackageType::Deb, "libc6", "2.36-9+deb12u1", Some("glibc")),
        pkg(
            PackageType::Deb,
            "libc-bin",
            "2.36-9+deb12u3",
            Some("glibc"),
        ), // the fixed version
        pkg(
            PackageType::Deb,
            "glibc-source",
            "2.36-9+deb12u3~bpo1",
            Some("glibc"),
        ), // ~ sorts before
    ];
    let r = scan(&os("debian", "12.5"), &packages);
    assert_eq!(
        summary(&r),
        vec![
            hit("CVE-2023-4911", "glibc-source", Some("2.36-9+deb12u3")),
            hit("CVE-2023-4911", "libc6", Some("2.36-9+deb12u3")),
        ]
    );
    let f = &r.findings[1];
    assert_eq!(f.osv_id, "DEBIAN-CVE-2023-4911");
    assert_eq!(f.status, FixStatus::Fixed);
    assert_eq!(f.severity, Severity::High); // CVSS 7.8
    assert_eq!(f.severity_source, "cvss_v3");
    assert!(f.title.contains("Looney Tunables"));
    // Same package on Debian 11: the record's Debian:11 entry is unfixed.
    let r = scan(&os("debian", "11"), &packages[..1]);
    assert_eq!(r.findings[0].status, FixStatus::Affected);
    assert_eq!(r.findings[0].fixed_version, None);
}

#[test]
fn unfixed_vulnerability_with_epoch() {
    let r = scan(
        &os("debian", "12"),
        &[pkg(
            PackageType::Deb,
            "zlib1g",
            "1:1.2.13.dfsg-1",
            Some("zlib"),
        )],
    );
    assert_eq!(summary(&r), vec![hit("CVE-2023-45853", "zlib1g", None)]);
    assert_eq!(r.findings[0].status, FixStatus::Affected);
    assert_eq!(r.findings[0].severity, Severity::Critical);
}

#[test]
fn alpine_by_origin_and_release_branch() {
    let packages = [
        pkg(PackageType::Apk, "libcrypto3", "3.1.4-r2", Some("openssl")),
        pkg(PackageType::Apk, "libssl3", "3.1.4-r5", Some("openssl")),
    ];
    let r = scan(&os("alpine", "3.19.1"), &packages);
    assert_eq!(
        summary(&r),
        vec![hit("CVE-2024-0727", "libcrypto3", Some("3.1.4-r5"))]
    );
    assert_eq!(r.findings[0].severity, Severity::Medium); // CVSS 5.5
                                                          // No data for Alpine 3.20 in the fixtures: nothing matches.
    assert!(scan(&os("alpine", "3.20.0"), &packages).findings.is_empty());
}

#[test]
fn ubuntu_lts_suffix_and_priority_but_not_pro() {
    let r = scan(
        &os("ubuntu", "22.04"),
        &[pkg(
            PackageType::Deb,
            "libssl3",
            "3.0.2-0ubuntu1.6",
            Some("openssl"),
        )],
    );
    assert_eq!(
        summary(&r),
        vec![hit("CVE-2022-3602", "libssl3", Some("3.0.2-0ubuntu1.7"))]
    );
    assert_eq!(
        (
            r.findings[0].severity,
            r.findings[0].severity_source.as_str()
        ),
        (Severity::High, "ubuntu")
    );
    // Ubuntu Pro records are not applied to plain 18.04.
    let r = scan(
        &os("ubuntu", "18.04"),
        &[pkg(
            PackageType::Deb,
            "libssl1.1",
            "1.1.1-1ubuntu2.1~18.04.20",
            Some("openssl"),
        )],
    );
    assert!(r.findings.is_empty());
}

#[test]
fn red_hat_binary_names_epochs_and_label_severity() {
    let packages = [
        pkg(
            PackageType::Rpm,
            "openssl-libs",
            "1:3.0.7-24.el9",
            Some("openssl"),
        ),
        pkg(
            PackageType::Rpm,
            "openssl",
            "1:3.0.7-27.el9",
            Some("openssl"),
        ),
    ];
    let r = scan(&os("rhel", "9.3"), &packages);
    assert_eq!(
        summary(&r),
        vec![hit(
            "RHSA-2024:2447",
            "openssl-libs",
            Some("1:3.0.7-27.el9")
        )]
    );
    assert_eq!(r.findings[0].severity, Severity::Medium); // "Moderate"
    assert!(r.findings[0].aliases.contains(&"CVE-2024-0727".to_string()));
}

#[test]
fn multiple_range_objects_pick_the_branch_fix() {
    let jar = |v: &str| {
        let mut p = pkg(PackageType::JavaArchive, "log4j-core", v, None);
        p.purl = format!("pkg:maven/org.apache.logging.log4j/log4j-core@{v}");
        p.location = format!("app/lib/log4j-core-{v}.jar");
        p
    };
    let r = scan(
        &OsInfo::default(),
        &[
            jar("2.14.1"),
            jar("2.12.1"),
            jar("2.0-beta9"),
            jar("2.12.2"),
            jar("2.0-beta8"),
            jar("2.3.1"),
            jar("2.15.0"),
        ],
    );
    let mut got: Vec<(String, Option<String>)> = r
        .findings
        .iter()
        .map(|f| (f.installed_version.clone(), f.fixed_version.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("2.0-beta9".into(), Some("2.3.1".into())),
            ("2.12.1".into(), Some("2.12.2".into())),
            ("2.14.1".into(), Some("2.15.0".into())),
        ]
    );
    assert!(r
        .findings
        .iter()
        .all(|f| f.vulnerability_id == "CVE-2021-44228" && f.severity == Severity::Critical));
    assert!(r.findings[0]
        .aliases
        .contains(&"GHSA-jfh8-c2jp-5v3q".to_string()));
}

#[test]
fn introduced_and_last_affected_has_no_fix() {
    let guava = |v: &str| pkg(PackageType::JavaArchive, "com.google.guava:guava", v, None);
    let r = scan(
        &OsInfo::default(),
        &[guava("28.2-jre"), guava("29.0"), guava("30.0-jre")],
    );
    let got: Vec<&str> = r
        .findings
        .iter()
        .map(|f| f.installed_version.as_str())
        .collect();
    assert_eq!(got, vec!["28.2-jre", "29.0"]);
    assert!(r
        .findings
        .iter()
        .all(|f| f.status == FixStatus::Affected && f.fixed_version.is_none()));
    assert_eq!(r.findings[0].severity, Severity::Low);
}

#[test]
fn several_intervals_in_one_range_and_duplicate_records_merge() {
    let django = |v: &str| pkg(PackageType::Python, "Django", v, None);
    let r = scan(
        &OsInfo::default(),
        &[
            django("3.1.14"),
            django("3.2.19"),
            django("4.1.5"),
            django("4.2rc1"),
            django("4.2"),
            django("4.2.3"),
            django("5.0"),
        ],
    );
    let got: Vec<(String, Option<String>)> = r
        .findings
        .iter()
        .map(|f| (f.installed_version.clone(), f.fixed_version.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("3.2.19".into(), Some("3.2.20".into())),
            ("4.1.5".into(), Some("4.1.10".into())),
            ("4.2".into(), Some("4.2.3".into())),
        ]
    );
    // GHSA and PYSEC describe the same CVE: one finding, the other id kept as an alias.
    let f = &r.findings[0];
    assert_eq!(f.vulnerability_id, "CVE-2023-36053");
    assert!(f.aliases.contains(&"PYSEC-2023-100".to_string()) || f.osv_id == "PYSEC-2023-100");
    assert!(
        f.aliases.contains(&"GHSA-jrh5-vhr9-qhfh".to_string()) || f.osv_id == "GHSA-jrh5-vhr9-qhfh"
    );
    assert_eq!(f.severity, Severity::High); // the GHSA copy has the CVSS vector
                                            // The PYSEC record's GIT range is skipped with a note.
    assert!(r.notes.iter().any(|n| n.contains("GIT")), "{:?}", r.notes);
}

#[test]
fn semver_ranges_and_withdrawn_records() {
    let lodash = |v: &str| pkg(PackageType::Npm, "lodash", v, None);
    let r = scan(
        &OsInfo::default(),
        &[
            lodash("3.6.0"),
            lodash("4.17.15"),
            lodash("4.17.19"),
            lodash("4.17.19-beta.1"),
        ],
    );
    let got: Vec<&str> = r
        .findings
        .iter()
        .map(|f| f.installed_version.as_str())
        .collect();
    // The withdrawn record (introduced 0, no fix) would have matched all four.
    assert_eq!(got, vec!["4.17.15", "4.17.19-beta.1"]);
    assert!(r
        .findings
        .iter()
        .all(|f| f.vulnerability_id == "CVE-2020-8203"));
}

#[test]
fn versions_list_only() {
    let es = |v: &str| pkg(PackageType::Npm, "event-stream", v, None);
    let r = scan(&OsInfo::default(), &[es("3.3.5"), es("3.3.6"), es("4.0.0")]);
    assert_eq!(
        summary(&r),
        vec![hit("GHSA-mh6f-8j2x-4483", "event-stream", None)]
    );
    assert_eq!(r.findings[0].installed_version, "3.3.6");
    assert_eq!(r.findings[0].severity, Severity::Critical);
}

#[test]
fn crates_two_intervals() {
    let sv = |v: &str| pkg(PackageType::RustCrate, "smallvec", v, None);
    let r = scan(
        &OsInfo::default(),
        &[
            sv("0.6.2"),
            sv("0.6.13"),
            sv("0.6.14"),
            sv("1.4.0"),
            sv("1.6.1"),
        ],
    );
    let got: Vec<(String, Option<String>)> = r
        .findings
        .iter()
        .map(|f| (f.installed_version.clone(), f.fixed_version.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("0.6.13".into(), Some("0.6.14".into())),
            ("1.4.0".into(), Some("1.6.1".into()))
        ]
    );
}

#[test]
fn go_pseudo_versions_limit_and_stdlib() {
    let go = |name: &str, v: &str| {
        let mut p = pkg(PackageType::GoModule, name, v, None);
        p.location = "usr/local/bin/app".into();
        p
    };
    let r = scan(
        &OsInfo::default(),
        &[
            go("golang.org/x/crypto", "v0.0.0-20210921155107-089bfa567519"),
            go("golang.org/x/crypto", "v0.0.0-20220315160706-3147a52a75dd"),
            go("golang.org/x/net", "v0.6.0"),
            go("golang.org/x/net", "v0.7.0"),
            go("stdlib", "go1.20.0"),
            go("stdlib", "go1.20.1"),
            go("stdlib", "go1.19.5"),
        ],
    );
    let got: Vec<(String, String, Option<String>)> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.package.name.clone(),
                f.installed_version.clone(),
                f.fixed_version.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "golang.org/x/crypto".into(),
                "v0.0.0-20210921155107-089bfa567519".into(),
                Some("0.0.0-20220314234659-1baeb1ce4c0b".into())
            ),
            // A limit bounds the range but is not a fix.
            ("golang.org/x/net".into(), "v0.6.0".into(), None),
            ("stdlib".into(), "go1.19.5".into(), Some("1.19.6".into())),
            ("stdlib".into(), "go1.20.0".into(), Some("1.20.1".into())),
        ]
    );
}

#[test]
fn filters_ignores_and_gate() {
    let packages = [
        pkg(PackageType::Deb, "libc6", "2.36-9+deb12u1", Some("glibc")),
        pkg(PackageType::Deb, "zlib1g", "1:1.2.13.dfsg-1", Some("zlib")),
    ];
    let db = db();
    let debian = os("debian", "12");
    let base = ScanOptions {
        artifact: "img".into(),
        ..Default::default()
    };

    let unfixed = scan_packages(
        &debian,
        &packages,
        &db,
        &ScanOptions {
            ignore_unfixed: true,
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(
        summary(&unfixed),
        vec![hit("CVE-2023-4911", "libc6", Some("2.36-9+deb12u3"))]
    );

    let severe = scan_packages(
        &debian,
        &packages,
        &db,
        &ScanOptions {
            severities: vec![Severity::Critical],
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(
        summary(&severe),
        vec![hit("CVE-2023-45853", "zlib1g", None)]
    );

    let ignore = IgnoreRules::parse_ferry_toml(
        "[[ignore]]\nid = \"CVE-2023-45853\"\nreason = \"minizip is not built\"\npackage = \"zlib\"\n",
        ".ferryignore.toml",
    )
    .unwrap();
    let ignored = scan_packages(
        &debian,
        &packages,
        &db,
        &ScanOptions {
            ignore: ignore.clone(),
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(
        summary(&ignored),
        vec![hit("CVE-2023-4911", "libc6", Some("2.36-9+deb12u3"))]
    );
    assert_eq!(
        ignored.ignored[0].rule.reason.as_deref(),
        Some("minizip is not built")
    );

    // The gate: CRITICAL blocks, unless the finding is ignored.
    let policy = Policy {
        fail_on: Some(Severity::Critical),
        ..Default::default()
    };
    let outcome = gate_packages("img", &debian, &packages, &db, &policy).unwrap();
    assert!(outcome.blocked());
    assert!(outcome
        .decision
        .as_ref()
        .unwrap()
        .summary()
        .contains("CVE-2023-45853"));
    let policy = Policy {
        fail_on: Some(Severity::Critical),
        ignore,
        ..Default::default()
    };
    let outcome = gate_packages("img", &debian, &packages, &db, &policy).unwrap();
    assert!(!outcome.blocked());
    assert_eq!(outcome.report.findings.len(), 1);
    assert!(
        !gate_packages("img", &debian, &packages, &db, &Policy::default())
            .unwrap()
            .blocked()
    );
}

#[test]
fn stale_data_unsupported_distro_and_bad_versions_are_warnings() {
    let db = db();
    let far_future = time::macros::datetime!(2030-01-01 00:00 UTC);
    let r = scan_packages(
        &os("fedora", "39"),
        &[
            pkg(PackageType::Rpm, "bash", "5.2-1.fc39", None),
            pkg(PackageType::Npm, "lodash", "not-a-version", None),
        ],
        &db,
        &ScanOptions {
            now: far_future,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.db_stale);
    assert!(r.findings.is_empty());
    assert!(
        r.warnings.iter().any(|w| w.contains("\"fedora\"")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("lodash not-a-version")),
        "{:?}",
        r.warnings
    );

    let empty = VulnDb::in_memory().unwrap();
    let r = scan_packages(&os("debian", "12"), &[], &empty, &ScanOptions::default()).unwrap();
    assert!(r.db_stale);
    assert!(r.warnings[0].contains("empty"));
}

#[test]
fn malformed_records_warn_and_bad_record_versions_do_not_panic() {
    let mut db = VulnDb::in_memory().unwrap();
    let summary = db
        .import_path(&fixtures("osv-malformed"), "malformed")
        .unwrap();
    assert_eq!(summary.read, 4);
    assert_eq!(summary.malformed, 3, "{:?}", summary.warnings);
    assert_eq!(summary.stored, 1);
    let joined = summary.warnings.join("\n");
    assert!(
        joined.contains("two-keys.json (record BAD-1)")
            && joined.contains("both introduced and fixed"),
        "{joined}"
    );
    assert!(
        joined.contains("truncated.json") && joined.contains("invalid JSON"),
        "{joined}"
    );
    assert!(
        joined.contains("wrong-type.json") && joined.contains("at id"),
        "{joined}"
    );

    // BAD-2's fixed version cannot be parsed: the range is skipped with a warning.
    let r = scan_packages(
        &OsInfo::default(),
        &[pkg(PackageType::Npm, "left-pad", "1.0.0", None)],
        &db,
        &ScanOptions::default(),
    )
    .unwrap();
    assert!(r.findings.is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("BAD-2") && w.contains("not a version")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn evaluate_range_edge_cases() {
    let record = |events: &str| {
        let json = format!(
            r#"{{"id": "T", "modified": "2024-01-01T00:00:00Z", "affected": [{{"package": {{"ecosystem": "npm", "name": "x"}}, "ranges": [{{"type": "SEMVER", "events": {events}}}]}}]}}"#
        );
        Vulnerability::from_json(json.as_bytes(), "t").unwrap()
    };
    let check = |events: &str, version: &str| {
        let r = record(events);
        match_affected(
            "T",
            &r.affected[0],
            version,
            crate::version::Scheme::Semver,
            &mut MatchNotes::default(),
        )
        .unwrap()
    };
    let affected = |fixed: &[&str]| RangeMatch::Affected {
        fixed: fixed.iter().map(|s| s.to_string()).collect(),
    };
    // Unsorted events are sorted before walking.
    assert_eq!(
        check(r#"[{"fixed": "2.0.0"}, {"introduced": "1.0.0"}]"#, "1.5.0"),
        affected(&["2.0.0"])
    );
    // A limit below the version excludes it; "*" is unbounded; several limits widen.
    assert_eq!(
        check(r#"[{"introduced": "0"}, {"limit": "1.0.0"}]"#, "1.0.0"),
        RangeMatch::NotAffected
    );
    assert_eq!(
        check(r#"[{"introduced": "0"}, {"limit": "*"}]"#, "9.0.0"),
        affected(&[])
    );
    assert_eq!(
        check(
            r#"[{"introduced": "0"}, {"limit": "1.0.0"}, {"limit": "3.0.0"}]"#,
            "2.0.0"
        ),
        affected(&[])
    );
    // last_affected is inclusive.
    assert_eq!(
        check(
            r#"[{"introduced": "1.0.0"}, {"last_affected": "1.2.0"}]"#,
            "1.2.0"
        ),
        affected(&[])
    );
    assert_eq!(
        check(
            r#"[{"introduced": "1.0.0"}, {"last_affected": "1.2.0"}]"#,
            "1.2.1"
        ),
        RangeMatch::NotAffected
    );
    // introduced is inclusive, fixed exclusive.
    assert_eq!(
        check(r#"[{"introduced": "1.0.0"}, {"fixed": "1.2.0"}]"#, "1.0.0"),
        affected(&["1.2.0"])
    );
    assert_eq!(
        check(r#"[{"introduced": "1.0.0"}, {"fixed": "1.2.0"}]"#, "0.9.0"),
        RangeMatch::NotAffected
    );
    // The installed version not parsing is an error for the caller.
    let r = record(r#"[{"introduced": "0"}]"#);
    assert!(match_affected(
        "T",
        &r.affected[0],
        "garbage",
        crate::version::Scheme::Semver,
        &mut MatchNotes::default()
    )
    .is_err());
}

#[test]
fn bundle_advisories_covered_by_per_cve_records_are_dropped() {
    let record = |id: &str, upstream: &[&str]| {
        let json = serde_json::json!({
            "id": id, "modified": "2024-01-01T00:00:00Z", "upstream": upstream,
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}]}]
        });
        Vulnerability::from_value(json, "test").unwrap()
    };
    let mut db = VulnDb::in_memory().unwrap();
    db.import_records(
        [
            record(
                "DSA-5514-1",
                &["CVE-2023-4527", "CVE-2023-4806", "CVE-2023-4911"],
            ),
            record("DEBIAN-CVE-2023-4527", &["CVE-2023-4527"]),
            record("DEBIAN-CVE-2023-4806", &["CVE-2023-4806"]),
            record("DEBIAN-CVE-2023-4911", &["CVE-2023-4911"]),
            record("DSA-9999-1", &["CVE-2023-4911", "CVE-2099-0001"]),
        ],
        "test",
    )
    .unwrap();
    let packages = [pkg(
        PackageType::Deb,
        "libc6",
        "2.36-9+deb12u1",
        Some("glibc"),
    )];
    let r = scan_packages(&os("debian", "12"), &packages, &db, &ScanOptions::default()).unwrap();
    let ids: Vec<&str> = r
        .findings
        .iter()
        .map(|f| f.vulnerability_id.as_str())
        .collect();
    // DSA-9999-1 names a CVE no other record covers, so it stays.
    assert_eq!(
        ids,
        vec![
            "CVE-2023-4527",
            "CVE-2023-4806",
            "CVE-2023-4911",
            "DSA-9999-1"
        ]
    );
    assert!(
        r.findings[2].aliases.contains(&"DSA-5514-1".to_string()),
        "{:?}",
        r.findings[2].aliases
    );
}
