//! Java archives (jar, war, ear, jpi, hpi): `META-INF/maven/**/pom.properties` first,
//! `META-INF/MANIFEST.MF` then the file name as fallbacks; archives nested one level
//! deep (Spring Boot `BOOT-INF/lib`, `WEB-INF/lib`) are read too. Every read from the
//! zip is bounded, so a zip bomb costs at most the caps below.

use std::io::{Cursor, Read};

use super::{purl, Ctx};
use crate::package::PackageType;

const MAX_ENTRY: u64 = 1024 * 1024;
const MAX_NESTED: u64 = 64 * 1024 * 1024;

/// A Java package found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaPackage {
    pub group: Option<String>,
    pub artifact: String,
    pub version: String,
    /// The archive path (`/app.jar` or `/app.jar:BOOT-INF/lib/x.jar`).
    pub location: String,
    /// The image file, for the layer.
    pub file: String,
    pub licenses: Vec<String>,
}

pub fn parse_archive(path: &str, bytes: &[u8]) -> Result<Vec<JavaPackage>, String> {
    let mut out = Vec::new();
    read_archive(path, path, bytes, true, &mut out)?;
    Ok(out)
}

fn read_archive(
    file: &str,
    location: &str,
    bytes: &[u8],
    nested: bool,
    out: &mut Vec<JavaPackage>,
) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("{location}: not a zip archive: {e}"))?;
    let mut poms = Vec::new();
    let mut manifest = None;
    // Nested archives are read one at a time (never all held at once) into their own
    // list, so their packages follow the outer archive's.
    let mut nested_out = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let Ok(name) = entry.name().map(|n| n.to_string()) else {
            continue;
        };
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            if let Some(text) = read_text(&mut entry, MAX_ENTRY) {
                poms.push(parse_properties(&text));
            }
        } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            manifest = read_text(&mut entry, MAX_ENTRY);
        } else if nested && is_archive_name(&name) && entry.size() <= MAX_NESTED {
            let mut buf = Vec::new();
            if (&mut entry).take(MAX_NESTED).read_to_end(&mut buf).is_ok() {
                drop(entry);
                let loc = format!("{location}:{name}");
                // A broken nested archive must not hide the outer one's packages.
                let _ = read_archive(file, &loc, &buf, false, &mut nested_out);
            }
        }
    }
    let file_name = location.rsplit(['/', ':']).next().unwrap_or(location);
    let before = out.len();
    for props in &poms {
        let get = |k: &str| {
            props
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if let (Some(artifact), Some(version)) = (get("artifactId"), get("version")) {
            let pkg = JavaPackage {
                group: get("groupId"),
                artifact,
                version,
                location: location.to_string(),
                file: file.to_string(),
                licenses: Vec::new(),
            };
            if !out[before..].contains(&pkg) {
                out.push(pkg);
            }
        }
    }
    // The archive is a package of its own unless one of its pom.properties describes
    // it (same artifact name as the file); then that pom entry is it.
    let (stem_name, stem_version) = split_file_name(file_name);
    let described_by_pom = out[before..]
        .iter()
        .any(|p| Some(&p.artifact) == stem_name.as_ref());
    if !described_by_pom {
        let fields = manifest.as_deref().map(parse_manifest).unwrap_or_default();
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let name = get("Implementation-Title")
            .or_else(|| {
                get("Bundle-SymbolicName")
                    .map(|s| s.split(';').next().unwrap_or("").trim().to_string())
            })
            .or_else(|| get("Specification-Title"))
            .filter(|n| !n.is_empty() && !n.contains(' '))
            .or(stem_name);
        // An unknown version stays empty (Syft writes `UNKNOWN`).
        let version = get("Implementation-Version")
            .or_else(|| get("Bundle-Version"))
            .or_else(|| get("Specification-Version"))
            .or(stem_version)
            .unwrap_or_default();
        if let Some(artifact) = name {
            let main = JavaPackage {
                group: get("Implementation-Vendor-Id").or_else(|| get("Automatic-Module-Name")),
                artifact,
                version,
                location: location.to_string(),
                file: file.to_string(),
                licenses: get("Bundle-License").into_iter().collect(),
            };
            out.insert(before, main);
        }
    }
    out.append(&mut nested_out);
    Ok(())
}

fn read_text(entry: &mut impl Read, cap: u64) -> Option<String> {
    let mut buf = Vec::new();
    entry.take(cap).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi"]
        .iter()
        .any(|e| lower.ends_with(e))
}

fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// MANIFEST.MF main section; continuation lines start with one space.
fn parse_manifest(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = out.last_mut() {
                v.push_str(cont);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// `commons-lang3-3.12.0.jar` → (`commons-lang3`, `3.12.0`).
fn split_file_name(file: &str) -> (Option<String>, Option<String>) {
    let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
    let bytes = stem.as_bytes();
    for (i, _) in stem.match_indices('-') {
        if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (Some(stem[..i].to_string()), Some(stem[i + 1..].to_string()));
        }
    }
    (Some(stem.to_string()).filter(|s| !s.is_empty()), None)
}

pub fn add(ctx: &mut Ctx<'_>, p: JavaPackage) {
    let group = p.group.clone().unwrap_or_else(|| p.artifact.clone());
    let purl = purl::build("maven", Some(&group), &p.artifact, &p.version, &[]);
    let layer = ctx.layer_of(&p.file);
    ctx.add(
        PackageType::JavaArchive,
        &p.artifact,
        &p.version,
        purl,
        &p.location,
        p.licenses,
        None,
    );
    if let Some(last) = ctx.packages.last_mut() {
        last.layer = layer;
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::io::{Cursor, Write};

    pub(crate) fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::jar;
    use super::*;

    #[test]
    fn pom_manifest_filename_and_nested() {
        let inner = jar(&[(
            "META-INF/maven/org.slf4j/slf4j-api/pom.properties",
            b"groupId=org.slf4j\nartifactId=slf4j-api\nversion=2.0.9\n",
        )]);
        let outer = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 1.4\n",
            ),
            ("BOOT-INF/lib/slf4j-api-2.0.9.jar", &inner),
            ("BOOT-INF/lib/broken.jar", b"not a zip"),
        ]);
        let found = parse_archive("/app/app.jar", &outer).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].artifact.as_str(), found[0].version.as_str()),
            ("app", "1.4")
        );
        assert_eq!(found[1].group.as_deref(), Some("org.slf4j"));
        assert_eq!(
            found[1].location,
            "/app/app.jar:BOOT-INF/lib/slf4j-api-2.0.9.jar"
        );
        // A shaded jar: its own package (no version known) plus the bundled poms.
        let shaded = jar(&[(
            "META-INF/maven/com.google.guava/guava/pom.properties",
            b"groupId=com.google.guava\nartifactId=guava\nversion=33.0-jre\n",
        )]);
        let found = parse_archive("/app/compiler.jar", &shaded).unwrap();
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.artifact.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, vec![("compiler", ""), ("guava", "33.0-jre")]);
        let bare = jar(&[("x.class", b"")]);
        let found = parse_archive("/lib/commons-lang3-3.12.0.jar", &bare).unwrap();
        assert_eq!(
            (found[0].artifact.as_str(), found[0].version.as_str()),
            ("commons-lang3", "3.12.0")
        );
        assert!(parse_archive("/x.jar", b"junk").is_err());
    }
}
