//! Node: installed packages' `package.json` (images), and `package-lock.json` /
//! `npm-shrinkwrap.json` (v1–v3) and `yarn.lock` (classic and berry) in source trees.

use serde_json::Value;

use super::{purl, Ctx};
use crate::package::PackageType;

/// `pkg:npm/%40scope/name@version`.
pub fn npm_purl(name: &str, version: &str) -> String {
    match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
        Some((scope, rest)) => purl::build("npm", Some(&format!("@{scope}")), rest, version, &[]),
        None => purl::build("npm", None, name, version, &[]),
    }
}

fn licenses_of(v: &Value) -> Vec<String> {
    match v.get("license") {
        Some(Value::String(s)) if !s.is_empty() => return vec![s.clone()],
        Some(Value::Object(o)) => {
            if let Some(Value::String(t)) = o.get("type") {
                return vec![t.clone()];
            }
        }
        _ => {}
    }
    match v.get("licenses") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|l| match l {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn parse_package_json(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let v: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            // Test fixtures inside packages are often deliberately broken; only note it.
            if path.contains("/node_modules/") {
                tracing::debug!(%path, error = %e, "unparsable package.json");
            } else {
                ctx.warn(format!("{path}: invalid JSON: {e}"));
            }
            return;
        }
    };
    let (Some(name), Some(version)) = (
        v.get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty()),
        v.get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty()),
    ) else {
        return;
    };
    let purl = npm_purl(name, version);
    ctx.add(
        PackageType::Npm,
        name,
        version,
        purl,
        path,
        licenses_of(&v),
        None,
    );
}

pub fn parse_package_lock(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let v: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            ctx.warn(format!("{path}: invalid JSON: {e}"));
            return;
        }
    };
    if let Some(Value::Object(packages)) = v.get("packages") {
        // lockfileVersion 2 and 3: keys are install paths.
        for (key, entry) in packages {
            if key.is_empty() || entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    key.rsplit("node_modules/")
                        .next()
                        .unwrap_or(key)
                        .to_string()
                });
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            let purl = npm_purl(&name, version);
            ctx.add(
                PackageType::Npm,
                &name,
                version,
                purl,
                path,
                licenses_of(entry),
                None,
            );
        }
        return;
    }
    if let Some(Value::Object(deps)) = v.get("dependencies") {
        let mut stack: Vec<&serde_json::Map<String, Value>> = vec![deps];
        while let Some(map) = stack.pop() {
            for (name, entry) in map {
                if let Some(version) = entry.get("version").and_then(Value::as_str) {
                    if !version.starts_with("file:") {
                        let purl = npm_purl(name, version);
                        ctx.add(
                            PackageType::Npm,
                            name,
                            version,
                            purl,
                            path,
                            Vec::new(),
                            None,
                        );
                    }
                }
                if let Some(Value::Object(nested)) = entry.get("dependencies") {
                    stack.push(nested);
                }
            }
        }
    }
}

pub fn parse_yarn_lock(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            // `"@babel/core@^7.0.0", "@babel/core@^7.1.0":` or `lodash@^4.17.21:`
            current = line
                .trim_end_matches(':')
                .split(',')
                .next()
                .map(|spec| spec.trim().trim_matches('"'))
                .and_then(spec_name)
                .filter(|n| n != "__metadata");
            continue;
        }
        let trimmed = line.trim();
        let version = trimmed
            .strip_prefix("version ")
            .or_else(|| trimmed.strip_prefix("version: "))
            .map(|v| v.trim().trim_matches('"'));
        if let (Some(name), Some(version)) = (current.as_deref(), version) {
            if !line.starts_with("    ") {
                let purl = npm_purl(name, version);
                ctx.add(
                    PackageType::Npm,
                    name,
                    version,
                    purl,
                    path,
                    Vec::new(),
                    None,
                );
                current = None;
            }
        }
    }
}

/// `@scope/name@^1.0` → `@scope/name`; `name@npm:^1` → `name`.
fn spec_name(spec: &str) -> Option<String> {
    let at = spec[1.min(spec.len())..].find('@').map(|i| i + 1)?;
    Some(spec[..at].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_and_specs() {
        assert_eq!(
            npm_purl("@babel/core", "7.1.0"),
            "pkg:npm/%40babel/core@7.1.0"
        );
        assert_eq!(npm_purl("lodash", "4.17.21"), "pkg:npm/lodash@4.17.21");
        assert_eq!(
            spec_name("@babel/core@^7.0.0").as_deref(),
            Some("@babel/core")
        );
        assert_eq!(spec_name("lodash@npm:^4").as_deref(), Some("lodash"));
        assert_eq!(spec_name("nope"), None);
    }
}
