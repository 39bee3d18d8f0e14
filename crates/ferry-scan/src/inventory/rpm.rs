//! rpm: the sqlite rpmdb (`rpmdb.sqlite`, RHEL 9 / Fedora 33+), whose `Packages` table
//! holds one header blob per package. Header blobs are parsed here (index entries +
//! data store). Berkeley DB and NDB databases are not read (reported as warnings).

use super::{purl, Ctx};
use crate::package::PackageType;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// The fields ferry needs from one header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i32>,
    pub arch: String,
    pub license: String,
    pub source_rpm: String,
}

pub fn parse_sqlite(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    match read_sqlite(ctx, path, bytes) {
        Ok(headers) => {
            for h in headers {
                add(ctx, path, h);
            }
        }
        Err(e) => ctx.warn(format!("{path}: {e}")),
    }
}

fn read_sqlite(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) -> Result<Vec<RpmHeader>, String> {
    // rusqlite opens files, so the database (and its WAL, which may hold the latest
    // transactions) is copied into a private temp dir that is removed afterwards.
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let db = dir.path().join("rpmdb.sqlite");
    std::fs::write(&db, bytes).map_err(|e| format!("temp copy: {e}"))?;
    let wal = format!("{path}-wal");
    if ctx.fs.stat(&wal).is_some() {
        if let Ok(w) = ctx.fs.read(&wal) {
            std::fs::write(dir.path().join("rpmdb.sqlite-wal"), w)
                .map_err(|e| format!("temp copy: {e}"))?;
        }
    }
    let conn =
        rusqlite::Connection::open(&db).map_err(|e| format!("not an sqlite database: {e}"))?;
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages")
        .map_err(|e| format!("no Packages table: {e}"))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(|e| format!("reading Packages: {e}"))?;
    let mut out = Vec::new();
    for row in rows {
        let (hnum, blob) = row.map_err(|e| format!("reading Packages: {e}"))?;
        match parse_header(&blob) {
            Ok(h) => out.push(h),
            Err(e) => ctx.warn(format!("{path}: package {hnum}: {e}")),
        }
    }
    Ok(out)
}

fn add(ctx: &mut Ctx<'_>, path: &str, h: RpmHeader) {
    // gpg-pubkey entries are keys, not packages (Syft skips them too).
    if h.name.is_empty() || h.name == "gpg-pubkey" {
        return;
    }
    let vr = if h.release.is_empty() {
        h.version.clone()
    } else {
        format!("{}-{}", h.version, h.release)
    };
    let version = match h.epoch {
        Some(e) => format!("{e}:{vr}"),
        None => vr.clone(),
    };
    let distro = ctx.distro();
    let namespace = ctx
        .os
        .as_ref()
        .map(|o| o.id.clone())
        .unwrap_or_else(|| "redhat".into());
    let epoch = h.epoch.map(|e| e.to_string()).unwrap_or_default();
    let purl = purl::build(
        "rpm",
        Some(&namespace),
        &h.name,
        &vr,
        &[
            ("arch", &h.arch),
            ("epoch", &epoch),
            ("upstream", &h.source_rpm),
            ("distro", &distro),
        ],
    );
    let source = source_name_version(&h.source_rpm).map(|(n, v)| (n, Some(v)));
    let licenses = if h.license.is_empty() {
        Vec::new()
    } else {
        vec![h.license.clone()]
    };
    ctx.add(
        PackageType::Rpm,
        &h.name,
        &version,
        purl,
        path,
        licenses,
        source,
    );
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7-27.el9`).
pub fn source_name_version(source_rpm: &str) -> Option<(String, String)> {
    let base = source_rpm.strip_suffix(".rpm")?;
    let base = base.rsplit_once('.').map(|(b, _arch)| b).unwrap_or(base);
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}

/// Parses an rpm header blob as stored in the rpmdb (no lead, no magic):
/// `il` and `dl` (big-endian u32), `il` 16-byte index entries, then `dl` data bytes.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, String> {
    let be32 = |at: usize| -> Option<u32> {
        blob.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let il = be32(0).ok_or("header blob shorter than 8 bytes")? as usize;
    let dl = be32(4).ok_or("header blob shorter than 8 bytes")? as usize;
    let index_end = il
        .checked_mul(16)
        .and_then(|n| n.checked_add(8))
        .ok_or("index count overflows")?;
    let data_end = index_end.checked_add(dl).ok_or("data length overflows")?;
    if il > 100_000 || data_end > blob.len() {
        return Err(format!(
            "header claims {il} entries and {dl} data bytes; blob has {}",
            blob.len()
        ));
    }
    let data = &blob[index_end..data_end];
    let mut h = RpmHeader::default();
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(kind), Some(offset)) = (be32(at), be32(at + 4), be32(at + 8)) else {
            return Err(format!("index entry {i} truncated"));
        };
        let tag = tag as i32;
        let offset = offset as usize;
        let string = || -> Result<String, String> {
            if kind != TYPE_STRING && kind != TYPE_I18NSTRING {
                return Err(format!("tag {tag} is type {kind}, not a string"));
            }
            let tail = data
                .get(offset..)
                .ok_or_else(|| format!("tag {tag} offset {offset} outside data"))?;
            let end = tail
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| format!("tag {tag} string not terminated"))?;
            Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
        };
        match tag {
            TAG_NAME => h.name = string()?,
            TAG_VERSION => h.version = string()?,
            TAG_RELEASE => h.release = string()?,
            TAG_LICENSE => h.license = string()?,
            TAG_ARCH => h.arch = string()?,
            TAG_SOURCERPM => h.source_rpm = string()?,
            TAG_EPOCH if kind == TYPE_INT32 => {
                let b = data
                    .get(offset..offset + 4)
                    .ok_or_else(|| format!("epoch offset {offset} outside data"))?;
                h.epoch = Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            }
            _ => {}
        }
    }
    if h.name.is_empty() {
        return Err("header has no name".into());
    }
    Ok(h)
}

/// Builds a header blob (for tests and fixtures).
#[cfg(test)]
pub fn build_header(strings: &[(i32, &str)], epoch: Option<i32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (tag, s) in strings {
        index.push((*tag, TYPE_STRING, data.len() as u32, 1u32));
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    if let Some(e) = epoch {
        while data.len() % 4 != 0 {
            data.push(0);
        }
        index.push((TAG_EPOCH, TYPE_INT32, data.len() as u32, 1));
        data.extend_from_slice(&e.to_be_bytes());
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(index.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for (tag, kind, off, count) in index {
        blob.extend_from_slice(&tag.to_be_bytes());
        blob.extend_from_slice(&kind.to_be_bytes());
        blob.extend_from_slice(&off.to_be_bytes());
        blob.extend_from_slice(&count.to_be_bytes());
    }
    blob.extend_from_slice(&data);
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_bad_blobs() {
        let blob = build_header(
            &[
                (TAG_NAME, "openssl-libs"),
                (TAG_VERSION, "3.0.7"),
                (TAG_RELEASE, "27.el9"),
                (TAG_ARCH, "x86_64"),
                (TAG_LICENSE, "ASL 2.0"),
                (TAG_SOURCERPM, "openssl-3.0.7-27.el9.src.rpm"),
            ],
            Some(1),
        );
        let h = parse_header(&blob).unwrap();
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.epoch, Some(1));
        assert_eq!(
            source_name_version(&h.source_rpm),
            Some(("openssl".into(), "3.0.7-27.el9".into()))
        );
        assert!(parse_header(&blob[..10]).is_err());
        assert!(parse_header(&[0xff; 16]).is_err());
        let mut bad = blob.clone();
        bad[8 + 8..8 + 12].copy_from_slice(&9999u32.to_be_bytes());
        assert!(parse_header(&bad).is_err());
    }
}
