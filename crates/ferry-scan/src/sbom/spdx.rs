//! SPDX 2.3 JSON: the document DESCRIBES the image package, which CONTAINS each
//! package (and the OS); purls are `PACKAGE-MANAGER` external refs. Licenses that are
//! not SPDX expressions become `LicenseRef-`s listed in `hasExtractedLicensingInfos`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::licenses::{license_ref, to_spdx_expression};
use super::{type_name, DocumentInfo, Subject};
use crate::inventory::Inventory;
use crate::package::PackageType;

const NOASSERTION: &str = "NOASSERTION";

pub fn spdx(subject: &Subject, inventory: &Inventory, info: &DocumentInfo) -> Value {
    let mut ids = HashSet::new();
    let root_id = unique_id(
        &mut ids,
        &format!(
            "SPDXRef-DocumentRoot-{}",
            if subject.is_directory {
                "Directory"
            } else {
                "Image"
            }
        ),
        &subject.name,
    );
    let mut root = json!({
        "SPDXID": root_id,
        "name": subject.name,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": false,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": if subject.is_directory { "SOURCE" } else { "CONTAINER" },
    });
    if let Some(v) = subject.version() {
        root["versionInfo"] = json!(v);
    }
    if let Some(digest) = subject.version().and_then(|d| d.strip_prefix("sha256:")) {
        root["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": digest }]);
    }

    let mut packages = vec![root];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    let mut extracted: BTreeMap<String, String> = BTreeMap::new();

    if let Some(os) = &inventory.os {
        let id = unique_id(&mut ids, "SPDXRef-OperatingSystem", &os.id);
        let mut p = json!({
            "SPDXID": id,
            "name": os.id,
            "versionInfo": os.version_id,
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": false,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
        });
        if let Some(pretty) = &os.pretty_name {
            p["description"] = json!(pretty);
        }
        packages.push(p);
        relationships.push(contains(&root_id, &id));
    }

    for pkg in &inventory.packages {
        let id = unique_id(
            &mut ids,
            &format!("SPDXRef-Package-{}", type_name(pkg.package_type)),
            &pkg.name,
        );
        let declared = declared_license(&pkg.licenses, &mut extracted);
        let mut source_info = format!(
            "acquired package info from {} at {}",
            cataloger_source(pkg.package_type),
            pkg.location
        );
        if let Some(layer) = &pkg.layer {
            source_info.push_str(&format!(" (layer {layer})"));
        }
        let mut p = json!({
            "SPDXID": id,
            "name": pkg.name,
            "versionInfo": pkg.version,
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": false,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": declared,
            "copyrightText": NOASSERTION,
            "sourceInfo": source_info,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": pkg.purl,
            }],
        });
        if let Some(src) = &pkg.source_name {
            if src != &pkg.name {
                p["comment"] = json!(format!(
                    "source package: {src}{}",
                    pkg.source_version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default()
                ));
            }
        }
        packages.push(p);
        relationships.push(contains(&root_id, &id));
    }

    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": format!(
            "https://github.com/ferry-paas/ferry/spdx/{}/{}-{}",
            if subject.is_directory { "dir" } else { "image" },
            namespace_safe(&subject.name),
            info.serial
        ),
        "creationInfo": {
            "created": info.timestamp_text(),
            "creators": [format!("Tool: ferry-{}", env!("CARGO_PKG_VERSION")), "Organization: ferry".to_string()],
        },
        "documentDescribes": [root_id],
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = json!(extracted
            .into_iter()
            .map(|(id, text)| json!({ "licenseId": id, "extractedText": text, "name": text }))
            .collect::<Vec<_>>());
    }
    doc
}

fn contains(parent: &str, child: &str) -> Value {
    json!({ "spdxElementId": parent, "relationshipType": "CONTAINS", "relatedSpdxElement": child })
}

/// One SPDX expression for a package's licenses (joined with AND).
fn declared_license(licenses: &[String], extracted: &mut BTreeMap<String, String>) -> String {
    let parts: Vec<String> = licenses
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match to_spdx_expression(l) {
            Some(e) => {
                if e.starts_with("LicenseRef-") && !e.contains(' ') {
                    extracted.entry(e.clone()).or_insert_with(|| l.clone());
                }
                e
            }
            None => {
                let r = license_ref(l);
                extracted.entry(r.clone()).or_insert_with(|| l.clone());
                r
            }
        })
        .collect();
    match parts.len() {
        0 => NOASSERTION.to_string(),
        1 => parts[0].clone(),
        _ => parts
            .iter()
            .map(|p| {
                if p.contains(' ') && !fully_parenthesized(p) {
                    format!("({p})")
                } else {
                    p.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" AND "),
    }
}

/// `(a OR b)` yes, `(a) OR (b)` no.
fn fully_parenthesized(expr: &str) -> bool {
    if !expr.starts_with('(') || !expr.ends_with(')') {
        return false;
    }
    let mut depth = 0;
    for (i, c) in expr.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i != expr.len() - 1 {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

fn cataloger_source(t: PackageType) -> &'static str {
    match t {
        PackageType::Deb => "the dpkg status database",
        PackageType::Apk => "the apk installed database",
        PackageType::Rpm => "the rpm database",
        PackageType::Python => "Python package metadata",
        PackageType::Npm => "Node package metadata",
        PackageType::GoModule => "Go module information",
        PackageType::RustCrate => "Rust crate information",
        PackageType::JavaArchive => "a Java archive",
    }
}

/// `SPDXRef-<prefix>-<name>` with only `[A-Za-z0-9.-]`, made unique with a counter.
fn unique_id(ids: &mut HashSet<String>, prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = format!("{prefix}-{}", clean.trim_matches('-'));
    let mut id = base.clone();
    let mut n = 1;
    while !ids.insert(id.clone()) {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

fn namespace_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
