//! Rust: `Cargo.lock` in source trees (`[[package]]` tables), and the cargo-auditable
//! dependency list (`.dep-v0` section, zlib-compressed JSON) in binaries.

use std::io::Read;

use super::{purl, Ctx};
use crate::package::PackageType;

/// A crate found in a binary's audit data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedCrate {
    pub name: String,
    pub version: String,
}

pub fn parse_cargo_lock(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut name: Option<String> = None;
    let mut version: Option<String> = None;
    let mut in_package = false;
    let flush = |ctx: &mut Ctx<'_>, name: &mut Option<String>, version: &mut Option<String>| {
        if let (Some(n), Some(v)) = (name.take(), version.take()) {
            let purl = purl::build("cargo", None, &n, &v, &[]);
            ctx.add(PackageType::RustCrate, &n, &v, purl, path, Vec::new(), None);
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(ctx, &mut name, &mut version);
            in_package = line == "[[package]]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "name" => name = Some(v),
            "version" => version = Some(v),
            _ => {}
        }
    }
    flush(ctx, &mut name, &mut version);
}

/// Decodes a `.dep-v0` section: zlib-compressed `{"packages":[{name,version,…}]}`.
pub fn decode_audit_section(data: &[u8]) -> Result<Vec<AuditedCrate>, String> {
    const MAX_JSON: u64 = 8 * 1024 * 1024;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable data: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err("cargo-auditable data over 8 MiB".into());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| format!("cargo-auditable JSON: {e}"))?;
    let list = v
        .get("packages")
        .and_then(|p| p.as_array())
        .ok_or("cargo-auditable JSON has no packages")?;
    Ok(list
        .iter()
        .filter_map(|p| {
            Some(AuditedCrate {
                name: p.get("name")?.as_str()?.to_string(),
                version: p.get("version")?.as_str()?.to_string(),
            })
        })
        .collect())
}
