//! apk: `/lib/apk/db/installed`, one `K:value` line per field, blank line between
//! packages. `o:` (origin) is the source package that Alpine's secdb names.

use super::{purl, Ctx};
use crate::package::PackageType;

#[derive(Default)]
struct Record {
    name: String,
    version: String,
    arch: String,
    license: String,
    origin: String,
}

pub fn parse(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut records = Vec::new();
    let mut current = Record::default();
    let mut started = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if started {
                records.push((i, std::mem::take(&mut current)));
                started = false;
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            ctx.warn(format!("{path}:{}: not a `K:value` line", i + 1));
            continue;
        };
        started = true;
        match key {
            "P" => current.name = value.to_string(),
            "V" => current.version = value.to_string(),
            "A" => current.arch = value.to_string(),
            "L" => current.license = value.to_string(),
            "o" => current.origin = value.to_string(),
            _ => {}
        }
    }
    if started {
        records.push((text.lines().count(), current));
    }
    let distro = ctx.distro();
    let namespace = ctx
        .os
        .as_ref()
        .map(|o| o.id.clone())
        .unwrap_or_else(|| "alpine".into());
    for (line, r) in records {
        if r.name.is_empty() || r.version.is_empty() {
            ctx.warn(format!(
                "{path}: record ending at line {line} has no P: or V:; skipped"
            ));
            continue;
        }
        let upstream = if !r.origin.is_empty() && r.origin != r.name {
            r.origin.as_str()
        } else {
            ""
        };
        let purl = purl::build(
            "apk",
            Some(&namespace),
            &r.name,
            &r.version,
            &[
                ("arch", &r.arch),
                ("upstream", upstream),
                ("distro", &distro),
            ],
        );
        let licenses = if r.license.is_empty() {
            Vec::new()
        } else {
            vec![r.license.clone()]
        };
        let origin = if r.origin.is_empty() {
            r.name.clone()
        } else {
            r.origin.clone()
        };
        ctx.add(
            PackageType::Apk,
            &r.name,
            &r.version,
            purl,
            path,
            licenses,
            Some((origin, Some(r.version.clone()))),
        );
    }
}
