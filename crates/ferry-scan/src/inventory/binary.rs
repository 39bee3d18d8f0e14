//! Compiled binaries (ELF, Mach-O, PE): Go build info (the `\xff Go buildinf:` blob:
//! Go version, main module and dependencies) and Rust cargo-auditable data (`.dep-v0`).
//! Also `go.mod` in source trees.

use std::io::Read;

use object::{Object as _, ObjectSection as _};

use super::rust::{decode_audit_section, AuditedCrate};
use super::{purl, Ctx};
use crate::package::PackageType;

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";

/// A Go module compiled into a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoModule {
    pub path: String,
    pub version: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct GoBuildInfo {
    /// `go1.22.1`.
    pub go_version: String,
    pub main: Option<GoModule>,
    pub deps: Vec<GoModule>,
}

/// What one executable contained.
#[derive(Debug)]
pub struct BinaryFinding {
    pub path: String,
    pub go: Option<GoBuildInfo>,
    pub crates: Vec<AuditedCrate>,
    pub warning: Option<String>,
}

/// Reads an executable if it is a native binary and extracts its package data.
pub fn inspect(path: &str, reader: &mut dyn Read) -> Option<BinaryFinding> {
    let mut head = [0u8; 4];
    reader.read_exact(&mut head).ok()?;
    let native = head == *b"\x7fELF"
        || matches!(
            u32::from_be_bytes(head),
            0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe
        )
        || head[..2] == *b"MZ";
    if !native {
        return None;
    }
    let mut data = head.to_vec();
    reader.read_to_end(&mut data).ok()?;
    let mut finding = BinaryFinding {
        path: path.to_string(),
        go: None,
        crates: Vec::new(),
        warning: None,
    };
    match parse_go_buildinfo(&data) {
        Ok(info) => finding.go = info,
        Err(e) => finding.warning = Some(format!("{path}: Go build info: {e}")),
    }
    if let Ok(file) = object::File::parse(&*data) {
        let section = file
            .section_by_name(".dep-v0")
            .or_else(|| file.section_by_name("__dep_v0"));
        if let Some(bytes) = section.and_then(|s| s.data().ok()) {
            match decode_audit_section(bytes) {
                Ok(c) => finding.crates = c,
                Err(e) => finding.warning = Some(format!("{path}: {e}")),
            }
        }
    }
    (finding.go.is_some() || !finding.crates.is_empty() || finding.warning.is_some())
        .then_some(finding)
}

/// Finds and decodes Go build info (Go 1.18+ inline format). `Ok(None)` when absent.
pub fn parse_go_buildinfo(data: &[u8]) -> Result<Option<GoBuildInfo>, String> {
    let mut from = 0;
    let at = loop {
        let Some(i) = find(&data[from..], GO_MAGIC) else {
            return Ok(None);
        };
        let at = from + i;
        // A real header carries the pointer size (4 or 8) after the magic; other hits
        // are the same bytes inside string data.
        if matches!(data.get(at + 14), Some(4 | 8)) {
            break at;
        }
        from = at + 1;
    };
    let header = data.get(at..at + 32).ok_or("truncated header")?;
    let flags = header[15];
    if flags & 2 == 0 {
        return Err("pre-Go 1.18 pointer format is not read".into());
    }
    let mut pos = at + 32;
    let version = read_varint_string(data, &mut pos)?;
    let mut modinfo = read_varint_string(data, &mut pos)?;
    // The module info is wrapped in 16-byte sentinels.
    if modinfo.len() >= 33 && modinfo.as_bytes()[modinfo.len() - 17] == b'\n' {
        modinfo = modinfo[16..modinfo.len() - 16].to_string();
    }
    Ok(Some(parse_modinfo(&version, &modinfo)))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let j = hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|b| *b == first)?;
        if &hay[i + j..i + j + needle.len()] == needle {
            return Some(i + j);
        }
        i += j + 1;
    }
    None
}

fn read_varint_string(data: &[u8], pos: &mut usize) -> Result<String, String> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *data.get(*pos).ok_or("truncated length")?;
        *pos += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 35 {
            return Err("length varint too long".into());
        }
    }
    let len = usize::try_from(len).map_err(|_| "length too large")?;
    let end = pos.checked_add(len).ok_or("length overflows")?;
    let bytes = data
        .get(*pos..end)
        .ok_or("string runs past the end of the file")?;
    *pos = end;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Parses `runtime/debug.BuildInfo` text (`path`, `mod`, `dep`, `=>`, `build` lines).
pub fn parse_modinfo(go_version: &str, text: &str) -> GoBuildInfo {
    let mut info = GoBuildInfo {
        go_version: go_version.to_string(),
        ..GoBuildInfo::default()
    };
    let mut last_is_main = false;
    for line in text.lines() {
        let mut parts = line.split('\t');
        let kind = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("").to_string();
        let version = parts.next().unwrap_or("").to_string();
        match kind {
            "mod" => {
                info.main = Some(GoModule { path, version });
                last_is_main = true;
            }
            "dep" => {
                info.deps.push(GoModule { path, version });
                last_is_main = false;
            }
            // A replacement stands for the module on the line before it.
            "=>" => {
                let replacement = GoModule { path, version };
                if last_is_main {
                    info.main = Some(replacement);
                } else if let Some(last) = info.deps.last_mut() {
                    *last = replacement;
                }
            }
            _ => {}
        }
    }
    info
}

pub fn add(ctx: &mut Ctx<'_>, finding: BinaryFinding) {
    if let Some(w) = finding.warning {
        ctx.warn(w);
    }
    let path = finding.path;
    if let Some(go) = finding.go {
        for m in go.main.iter().chain(go.deps.iter()) {
            if m.path.is_empty() {
                continue;
            }
            let purl = go_purl(&m.path, &m.version);
            ctx.add(
                PackageType::GoModule,
                &m.path,
                &m.version,
                purl,
                &path,
                Vec::new(),
                None,
            );
        }
        if !go.go_version.is_empty() {
            let version = go
                .go_version
                .trim_start_matches("go")
                .split(' ')
                .next()
                .unwrap_or("")
                .to_string();
            let purl = purl::build("golang", None, "stdlib", &format!("v{version}"), &[]);
            ctx.add(
                PackageType::GoModule,
                "stdlib",
                &format!("go{version}"),
                purl,
                &path,
                Vec::new(),
                None,
            );
        }
    }
    for c in finding.crates {
        let purl = purl::build("cargo", None, &c.name, &c.version, &[]);
        ctx.add(
            PackageType::RustCrate,
            &c.name,
            &c.version,
            purl,
            &path,
            Vec::new(),
            None,
        );
    }
}

/// `pkg:golang/github.com/pkg/errors@v0.9.1`.
pub fn go_purl(module: &str, version: &str) -> String {
    let version = if version == "(devel)" { "" } else { version };
    match module.rsplit_once('/') {
        Some((ns, name)) => purl::build("golang", Some(ns), name, version, &[]),
        None => purl::build("golang", None, module, version, &[]),
    }
}

/// `go.mod` `require` lines (single and block form).
pub fn parse_go_mod(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let spec = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if line == "require (" {
            in_block = true;
            continue;
        } else if let Some(rest) = line.strip_prefix("require ") {
            rest.trim()
        } else {
            continue;
        };
        let mut parts = spec.split_whitespace();
        if let (Some(module), Some(version)) = (parts.next(), parts.next()) {
            let purl = go_purl(module, version);
            ctx.add(
                PackageType::GoModule,
                module,
                version,
                purl,
                path,
                Vec::new(),
                None,
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::GO_MAGIC;

    /// Builds a fake binary holding a Go 1.18+ build-info blob.
    pub(crate) fn fake_go_binary(version: &str, modinfo: &str) -> Vec<u8> {
        let mut data = b"\x7fELF".to_vec();
        data.resize(64, 0);
        data.extend_from_slice(GO_MAGIC);
        data.push(8);
        data.push(2);
        data.resize(64 + 32, 0);
        let wrapped = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
        for s in [version, wrapped.as_str()] {
            let mut n = s.len();
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    data.push(b);
                    break;
                }
                data.push(b | 0x80);
            }
            data.extend_from_slice(s.as_bytes());
        }
        data.resize(data.len() + 2048, 0);
        data
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::fake_go_binary;
    use super::*;

    #[test]
    fn go_build_info() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:x=\ndep\tgolang.org/x/net\tv0.1.0\th1:y=\n=>\tgolang.org/x/net\tv0.17.0\th1:z=\nbuild\t-compiler=gc\n";
        let bin = fake_go_binary("go1.22.1", modinfo);
        let info = parse_go_buildinfo(&bin).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.22.1");
        assert_eq!(info.main.unwrap().path, "example.com/app");
        assert_eq!(
            info.deps,
            vec![
                GoModule {
                    path: "github.com/pkg/errors".into(),
                    version: "v0.9.1".into()
                },
                GoModule {
                    path: "golang.org/x/net".into(),
                    version: "v0.17.0".into()
                },
            ]
        );
        assert!(parse_go_buildinfo(b"\x7fELF nothing here")
            .unwrap()
            .is_none());
        // Truncated blobs are errors, not panics.
        let cut = &bin[..64 + 36];
        assert!(parse_go_buildinfo(cut).is_err());
        assert_eq!(
            go_purl("github.com/pkg/errors", "v0.9.1"),
            "pkg:golang/github.com/pkg/errors@v0.9.1"
        );
    }
}

#[cfg(test)]
mod audit_tests {
    use std::io::Write as _;

    /// A minimal ELF64 file with one `.dep-v0` section holding `payload`.
    fn elf_with_section(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut shstrtab = vec![0u8];
        let name_off = shstrtab.len() as u32;
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
        let shstr_name = shstrtab.len() as u32;
        shstrtab.extend_from_slice(b".shstrtab\0");
        let data_off = 64u64;
        let shstr_off = data_off + payload.len() as u64;
        let sh_off = (shstr_off + shstrtab.len() as u64 + 7) & !7;
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF");
        f.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little endian, version 1, SysV
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f.extend_from_slice(&62u16.to_le_bytes()); // x86-64
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes()); // entry
        f.extend_from_slice(&0u64.to_le_bytes()); // phoff
        f.extend_from_slice(&sh_off.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes()); // flags
        f.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        f.extend_from_slice(&56u16.to_le_bytes()); // phentsize
        f.extend_from_slice(&0u16.to_le_bytes()); // phnum
        f.extend_from_slice(&64u16.to_le_bytes()); // shentsize
        f.extend_from_slice(&3u16.to_le_bytes()); // shnum
        f.extend_from_slice(&2u16.to_le_bytes()); // shstrndx
        f.extend_from_slice(payload);
        f.extend_from_slice(&shstrtab);
        f.resize(sh_off as usize, 0);
        let section = |f: &mut Vec<u8>, name: u32, kind: u32, off: u64, size: u64| {
            f.extend_from_slice(&name.to_le_bytes());
            f.extend_from_slice(&kind.to_le_bytes());
            f.extend_from_slice(&0u64.to_le_bytes()); // flags
            f.extend_from_slice(&0u64.to_le_bytes()); // addr
            f.extend_from_slice(&off.to_le_bytes());
            f.extend_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes()); // link
            f.extend_from_slice(&0u32.to_le_bytes()); // info
            f.extend_from_slice(&1u64.to_le_bytes()); // align
            f.extend_from_slice(&0u64.to_le_bytes()); // entsize
        };
        section(&mut f, 0, 0, 0, 0);
        section(&mut f, name_off, 1, data_off, payload.len() as u64);
        section(&mut f, shstr_name, 3, shstr_off, shstrtab.len() as u64);
        f.resize(f.len() + 1024, 0);
        f
    }

    #[test]
    fn cargo_auditable_section_is_read() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},{"name":"serde","version":"1.0.193","source":"crates.io","dependencies":[]}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap();
        let elf = elf_with_section(".dep-v0", &z.finish().unwrap());
        let finding = super::inspect("/usr/bin/app", &mut elf.as_slice()).unwrap();
        let names: Vec<(&str, &str)> = finding
            .crates
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(names, vec![("app", "0.1.0"), ("serde", "1.0.193")]);
        // A corrupt section is a warning, not a panic.
        let bad = elf_with_section(".dep-v0", b"not zlib");
        let finding = super::inspect("/usr/bin/bad", &mut bad.as_slice()).unwrap();
        assert!(finding.warning.unwrap().contains("cargo-auditable"));
        // Scripts are not binaries.
        assert!(super::inspect("/bin/script", &mut &b"#!/bin/sh\necho"[..]).is_none());
    }
}
