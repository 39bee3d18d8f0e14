//! dpkg: `/var/lib/dpkg/status` and distroless-style `/var/lib/dpkg/status.d/*`.
//! Only installed packages count; `Source: name (version)` gives the source package
//! that Debian advisories name. A package's layer is the layer of its
//! `/var/lib/dpkg/info/<name>.list` (where it was installed), else the database's.

use super::{field, parse_paragraphs, purl, Ctx};
use crate::package::PackageType;

pub fn parse(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut warnings = Vec::new();
    let paragraphs = parse_paragraphs(&text, path, &mut warnings);
    for w in warnings {
        ctx.warn(w);
    }
    let distro_owned = ctx.distro();
    let namespace = ctx
        .os
        .as_ref()
        .map(|o| o.id.clone())
        .unwrap_or_else(|| "debian".into());
    let distroless = path.starts_with("/var/lib/dpkg/status.d/");
    let first_new = ctx.packages.len();
    for (n, fields) in paragraphs.iter().enumerate() {
        let Some(name) = field(fields, "Package") else {
            ctx.warn(format!(
                "{path}: paragraph {} has no Package field; skipped",
                n + 1
            ));
            continue;
        };
        let Some(version) = field(fields, "Version") else {
            ctx.warn(format!(
                "{path}: package {name} has no Version field; skipped"
            ));
            continue;
        };
        // status.d files carry no Status; everything listed there is installed.
        let installed = match field(fields, "Status") {
            Some(status) => status.split_whitespace().last() == Some("installed"),
            None => distroless,
        };
        if !installed {
            continue;
        }
        let arch = field(fields, "Architecture").unwrap_or("");
        let (source_name, source_version) = match field(fields, "Source") {
            Some(src) => parse_source(src, version),
            None => (name.to_string(), version.to_string()),
        };
        let upstream = if source_name != name {
            source_name.as_str()
        } else {
            ""
        };
        let purl = purl::build(
            "deb",
            Some(&namespace),
            name,
            version,
            &[
                ("arch", arch),
                ("upstream", upstream),
                ("distro", &distro_owned),
            ],
        );
        let location = install_record(ctx, name, arch).unwrap_or_else(|| path.to_string());
        let layer = ctx.layer_of(&location);
        ctx.add(
            PackageType::Deb,
            name,
            version,
            purl,
            path,
            Vec::new(),
            Some((source_name, Some(source_version))),
        );
        if let Some(last) = ctx.packages.last_mut() {
            last.layer = layer;
        }
    }
    attach_licenses(ctx, first_new);
}

/// Licenses from each package's `/usr/share/doc/<name>/copyright` (DEP-5 `License:`
/// fields and `/usr/share/common-licenses/` references), read in one pass.
fn attach_licenses(ctx: &mut Ctx<'_>, first: usize) {
    let wanted: Vec<(usize, String)> = ctx.packages[first..]
        .iter()
        .enumerate()
        .map(|(i, p)| (first + i, format!("/usr/share/doc/{}/copyright", p.name)))
        .filter(|(_, path)| ctx.fs.stat(path).is_some())
        .collect();
    let paths: Vec<&str> = wanted.iter().map(|(_, p)| p.as_str()).collect();
    let mut found: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    let _ = ctx.fs.visit(&paths, 1024 * 1024, &mut |path, reader| {
        let mut bytes = Vec::new();
        if reader.read_to_end(&mut bytes).is_ok() {
            found.insert(
                path.to_string(),
                copyright_licenses(&String::from_utf8_lossy(&bytes)),
            );
        }
    });
    for (index, path) in wanted {
        if let Some(licenses) = found.remove(&path) {
            ctx.packages[index].licenses = licenses;
        }
    }
}

/// License names in a Debian copyright file, sorted and unique.
pub fn copyright_licenses(text: &str) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("License:") {
            let v = v.trim();
            if !v.is_empty() && v.len() <= 80 {
                out.insert(v.to_string());
            }
        }
        if let Some(i) = line.find("/usr/share/common-licenses/") {
            let name: String = line[i + 27..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '+')
                .collect();
            let name = name.trim_end_matches('.');
            if !name.is_empty() {
                out.insert(name.to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// `glibc (2.36-9)` → (`glibc`, `2.36-9`); a bare name takes the binary's version.
pub fn parse_source(src: &str, version: &str) -> (String, String) {
    match src.split_once('(') {
        Some((n, v)) => (
            n.trim().to_string(),
            v.trim_end_matches(')').trim().to_string(),
        ),
        None => (src.trim().to_string(), version.to_string()),
    }
}

/// The `.list` file dpkg wrote when the package was installed.
fn install_record(ctx: &Ctx<'_>, name: &str, arch: &str) -> Option<String> {
    [
        format!("/var/lib/dpkg/info/{name}:{arch}.list"),
        format!("/var/lib/dpkg/info/{name}.list"),
    ]
    .into_iter()
    .find(|p| ctx.fs.get(p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyright_license_names() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nLicense: GPL-2+\n On Debian systems, see /usr/share/common-licenses/GPL-2.\n";
        assert_eq!(
            copyright_licenses(text),
            vec!["GPL-2".to_string(), "GPL-2+".to_string()]
        );
    }

    #[test]
    fn source_with_and_without_version() {
        assert_eq!(
            parse_source("glibc (2.36-9+deb12u4)", "x"),
            ("glibc".into(), "2.36-9+deb12u4".into())
        );
        assert_eq!(
            parse_source("zlib", "1:1.2.13"),
            ("zlib".into(), "1:1.2.13".into())
        );
    }
}
