//! Python: installed distributions' `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`
//! (or a single-file `*.egg-info`), in the core-metadata header format.

use super::{purl, Ctx};
use crate::package::PackageType;

pub fn parse(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut name = None;
    let mut version = None;
    let mut license = None;
    let mut expression = None;
    let mut classifiers = Vec::new();
    // Headers end at the first blank line; the description body follows.
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.to_ascii_lowercase().as_str() {
            "name" => name = Some(v.to_string()),
            "version" => version = Some(v.to_string()),
            "license" => license = Some(v.to_string()),
            "license-expression" => expression = Some(v.to_string()),
            "classifier" => {
                if let Some(l) = v.strip_prefix("License :: ") {
                    if let Some(last) = l.rsplit(" :: ").next() {
                        classifiers.push(last.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let (Some(name), Some(version)) = (name, version) else {
        ctx.warn(format!(
            "{path}: no Name or Version header; not a Python distribution"
        ));
        return;
    };
    let licenses = if let Some(e) = expression {
        vec![e]
    } else if let Some(l) =
        license.filter(|l| !l.is_empty() && l != "UNKNOWN" && l.len() <= 100 && !l.contains('\n'))
    {
        vec![l]
    } else {
        classifiers
    };
    // Names are reported normalised (PEP 503), as Syft reports them and OSV's PyPI
    // ecosystem names them: `Flask_Cors` and `flask-cors` are one project.
    let name = normalize(&name);
    let purl = purl::build("pypi", None, &name, &version, &[]);
    ctx.add(
        PackageType::Python,
        &name,
        &version,
        purl,
        path,
        licenses,
        None,
    );
}

/// PEP 503 normalised name: lowercase, runs of `-_.` become `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn normalises_names() {
        assert_eq!(super::normalize("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(super::normalize("zope.interface"), "zope-interface");
    }
}
