//! SBOM shape tests: the required fields of the CycloneDX 1.5 and SPDX 2.3 JSON
//! schemas, unique ids, and relationships that point at existing elements.

use std::collections::HashSet;

use serde_json::Value;

use super::*;
use crate::package::{OsInfo, Package};

fn package(t: PackageType, name: &str, version: &str, purl: &str, licenses: &[&str]) -> Package {
    Package {
        name: name.into(),
        version: version.into(),
        package_type: t,
        source_name: None,
        source_version: None,
        purl: purl.into(),
        layer: Some(format!("sha256:{}", "a".repeat(64))),
        location: "/var/lib/dpkg/status".into(),
        licenses: licenses.iter().map(|s| s.to_string()).collect(),
    }
}

fn fixture() -> (Subject, Inventory, DocumentInfo) {
    let mut libc = package(
        PackageType::Deb,
        "libc6",
        "2.36-9",
        "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12",
        &[],
    );
    libc.source_name = Some("glibc".into());
    libc.source_version = Some("2.36-9".into());
    let inventory = Inventory {
        os: Some(OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        packages: vec![
            libc,
            package(
                PackageType::Python,
                "requests",
                "2.31.0",
                "pkg:pypi/requests@2.31.0",
                &["Apache 2.0"],
            ),
            package(
                PackageType::Npm,
                "a",
                "1.0.0",
                "pkg:npm/a@1.0.0",
                &["(MIT OR Apache-2.0)", "BSD License"],
            ),
            // The same package at two locations: bom-refs and SPDXIDs must stay unique.
            package(PackageType::Npm, "a", "1.0.0", "pkg:npm/a@1.0.0", &["MIT"]),
        ],
        warnings: vec![],
    };
    let subject = Subject {
        name: "shop/web:1.4".into(),
        image_id: Some(format!("sha256:{}", "b".repeat(64))),
        manifest_digest: None,
        repo_tags: vec!["shop/web:1.4".into()],
        is_directory: false,
    };
    let info = DocumentInfo {
        serial: uuid::Uuid::from_u128(0x1234),
        timestamp: time::macros::datetime!(2024-05-06 07:08:09 UTC),
    };
    (subject, inventory, info)
}

fn require(v: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(v.get(f).is_some(), "{what} lacks required field {f}: {v}");
    }
}

#[test]
fn cyclonedx_has_the_schema_required_fields() {
    let (subject, inventory, info) = fixture();
    let bom = cyclonedx(&subject, &inventory, &info);
    require(&bom, &["bomFormat", "specVersion"], "bom");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(
        bom["serialNumber"],
        "urn:uuid:00000000-0000-0000-0000-000000001234"
    );
    assert_eq!(bom["metadata"]["timestamp"], "2024-05-06T07:08:09Z");
    let root = &bom["metadata"]["component"];
    require(root, &["type", "name"], "metadata.component");
    assert_eq!(root["type"], "container");
    let components = bom["components"].as_array().unwrap();
    assert_eq!(components.len(), 5);
    let mut refs = HashSet::new();
    for c in components {
        require(c, &["type", "name", "bom-ref"], "component");
        assert!(
            refs.insert(c["bom-ref"].as_str().unwrap().to_string()),
            "duplicate bom-ref {c}"
        );
        for p in c["properties"].as_array().into_iter().flatten() {
            require(p, &["name", "value"], "property");
        }
        for l in c["licenses"].as_array().into_iter().flatten() {
            let license = &l["license"];
            assert!(
                l.get("expression").is_some()
                    || license.get("id").is_some()
                    || license.get("name").is_some(),
                "license choice needs id, name or expression: {l}"
            );
        }
    }
    assert_eq!(components[0]["type"], "operating-system");
    assert_eq!(
        components[1]["purl"],
        "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12"
    );
    assert!(components[1]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "ferry:source:name" && p["value"] == "glibc"));
    assert_eq!(components[2]["licenses"][0]["license"]["id"], "Apache-2.0");
    // Never an expression mixed with license objects (the schema's oneOf).
    assert_eq!(
        components[3]["licenses"][0]["license"]["name"],
        "(MIT OR Apache-2.0)"
    );
    assert_eq!(
        components[3]["licenses"][1]["license"]["name"],
        "BSD License"
    );
    let single = cyclonedx::license_choices(&["MIT OR Apache-2.0".to_string()]);
    assert_eq!(
        single,
        serde_json::json!([{ "expression": "MIT OR Apache-2.0" }])
    );
    let deps = bom["dependencies"][0]["dependsOn"].as_array().unwrap();
    assert_eq!(deps.len(), 5);
    assert!(deps.iter().all(|d| refs.contains(d.as_str().unwrap())));
}

#[test]
fn spdx_has_the_schema_required_fields_and_consistent_ids() {
    let (subject, inventory, info) = fixture();
    let doc = spdx(&subject, &inventory, &info);
    require(
        &doc,
        &[
            "spdxVersion",
            "dataLicense",
            "SPDXID",
            "name",
            "documentNamespace",
            "creationInfo",
        ],
        "document",
    );
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    require(
        &doc["creationInfo"],
        &["created", "creators"],
        "creationInfo",
    );
    assert!(doc["documentNamespace"]
        .as_str()
        .unwrap()
        .ends_with("00000000-0000-0000-0000-000000001234"));
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 6, "image, OS and four packages");
    let mut ids = HashSet::new();
    for p in packages {
        require(p, &["SPDXID", "name", "downloadLocation"], "package");
        let id = p["SPDXID"].as_str().unwrap();
        assert!(
            id.starts_with("SPDXRef-")
                && id[8..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "bad SPDXID {id}"
        );
        assert!(ids.insert(id.to_string()), "duplicate SPDXID {id}");
        for r in p["externalRefs"].as_array().into_iter().flatten() {
            require(
                r,
                &["referenceCategory", "referenceLocator", "referenceType"],
                "externalRef",
            );
            assert_eq!(r["referenceCategory"], "PACKAGE-MANAGER");
            assert_eq!(r["referenceType"], "purl");
        }
    }
    ids.insert("SPDXRef-DOCUMENT".into());
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(
        rels.iter()
            .filter(|r| r["relationshipType"] == "CONTAINS")
            .count(),
        5
    );
    for r in rels {
        require(
            r,
            &["spdxElementId", "relationshipType", "relatedSpdxElement"],
            "relationship",
        );
        assert!(ids.contains(r["spdxElementId"].as_str().unwrap()));
        assert!(ids.contains(r["relatedSpdxElement"].as_str().unwrap()));
    }
    // Declared licenses are SPDX expressions; free text went to LicenseRef-s.
    assert_eq!(packages[3]["licenseDeclared"], "Apache-2.0");
    assert_eq!(
        packages[4]["licenseDeclared"],
        "(MIT OR Apache-2.0) AND LicenseRef-BSD-License"
    );
    let extracted = doc["hasExtractedLicensingInfos"].as_array().unwrap();
    assert_eq!(extracted[0]["licenseId"], "LicenseRef-BSD-License");
    require(
        &extracted[0],
        &["extractedText", "licenseId"],
        "extracted license",
    );
}

#[test]
fn sbom_command_writes_a_file_from_a_docker_archive() {
    use crate::image::tests::{docker_archive, LayerBuilder};
    let layer = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n")
        .file("var/lib/dpkg/status", b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n")
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    let tar = docker_archive(tmp.path(), &[layer]);
    for (format, key) in [
        ("cyclonedx", "bomFormat"),
        ("spdx-json", "spdxVersion"),
        ("json", "packages"),
    ] {
        let out = tmp.path().join(format!("sbom-{format}.json"));
        let code = cli::run(vec![
            "--input".into(),
            tar.clone().into_os_string(),
            "-f".into(),
            format.into(),
            "-o".into(),
            out.clone().into_os_string(),
        ]);
        assert_eq!(code, 0);
        let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert!(doc.get(key).is_some(), "{format}: {doc}");
        assert!(
            doc.to_string()
                .contains("pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12"),
            "{doc}"
        );
    }
    assert_eq!(
        cli::run(vec!["-f".into(), "xml".into(), tar.into_os_string()]),
        2
    );
    assert_eq!(
        cli::run(vec![
            "--input".into(),
            tmp.path().join("missing.tar").into_os_string()
        ]),
        1
    );
}
