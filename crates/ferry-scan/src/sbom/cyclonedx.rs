//! CycloneDX 1.5 JSON: the image as `metadata.component` (type `container`, or
//! `application` for a directory), the OS as an `operating-system` component and each
//! package as a `library` with its purl, licenses and ferry properties (type, layer,
//! location, source package).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::licenses::to_spdx_expression;
use super::{type_name, DocumentInfo, Subject};
use crate::inventory::Inventory;

pub fn cyclonedx(subject: &Subject, inventory: &Inventory, info: &DocumentInfo) -> Value {
    let root_ref = "ferry-subject";
    let mut root = json!({
        "bom-ref": root_ref,
        "type": if subject.is_directory { "application" } else { "container" },
        "name": subject.name,
    });
    if let Some(v) = subject.version() {
        root["version"] = json!(v);
    }
    let mut root_props = Vec::new();
    if let Some(id) = &subject.image_id {
        root_props.push(prop("ferry:image:id", id));
    }
    for tag in &subject.repo_tags {
        root_props.push(prop("ferry:image:tag", tag));
    }
    if !root_props.is_empty() {
        root["properties"] = json!(root_props);
    }

    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some(os) = &inventory.os {
        let mut c = json!({
            "bom-ref": format!("os:{}@{}", os.id, os.version_id),
            "type": "operating-system",
            "name": os.id,
            "version": os.version_id,
        });
        if let Some(p) = &os.pretty_name {
            c["description"] = json!(p);
        }
        refs.push(c["bom-ref"].clone());
        components.push(c);
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for p in &inventory.packages {
        let n = seen.entry(p.purl.as_str()).or_insert(0);
        *n += 1;
        // The same package can sit at several locations; bom-refs must stay unique.
        let bom_ref = if *n == 1 {
            p.purl.clone()
        } else {
            format!("{}#{}", p.purl, n)
        };
        let mut props = vec![
            prop("ferry:package:type", type_name(p.package_type)),
            prop("ferry:location", &p.location),
        ];
        if let Some(layer) = &p.layer {
            props.push(prop("ferry:layer", layer));
        }
        if let Some(src) = &p.source_name {
            props.push(prop("ferry:source:name", src));
        }
        if let Some(v) = &p.source_version {
            props.push(prop("ferry:source:version", v));
        }
        let mut c = json!({
            "bom-ref": bom_ref,
            "type": "library",
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": props,
        });
        if !p.licenses.is_empty() {
            c["licenses"] = license_choices(&p.licenses);
        }
        refs.push(c["bom-ref"].clone());
        components.push(c);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", info.serial),
        "version": 1,
        "metadata": {
            "timestamp": info.timestamp_text(),
            "tools": {
                "components": [{
                    "type": "application",
                    "author": "ferry",
                    "name": "ferry",
                    "version": env!("CARGO_PKG_VERSION"),
                }]
            },
            "component": root,
        },
        "components": components,
        "dependencies": [{ "ref": root_ref, "dependsOn": refs }],
    })
}

fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

/// The schema allows either one `expression` or a list of `license` objects, not a
/// mix: a single compound expression stays an expression; otherwise recognised SPDX
/// ids go in `license.id` and everything else in `license.name`.
pub(crate) fn license_choices(declared: &[String]) -> Value {
    if let [only] = declared {
        if let Some(e) = to_spdx_expression(only).filter(|e| e.contains(' ')) {
            return json!([{ "expression": e }]);
        }
    }
    json!(declared
        .iter()
        .map(|l| match to_spdx_expression(l) {
            Some(e) if !e.contains(' ') && !e.starts_with("LicenseRef-") && !e.ends_with('+') => {
                json!({ "license": { "id": e } })
            }
            _ => json!({ "license": { "name": l } }),
        })
        .collect::<Vec<_>>())
}
