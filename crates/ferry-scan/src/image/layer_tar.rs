//! One layer's tar as the image view reads it: member headers turned into what the
//! merged view applies (nodes, hard links, whiteouts), and members' contents read back
//! by position, bounded.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};

use super::blob::Region;
use super::fs::NodeKind;
use super::path::{self, normalize_entry};

/// A tar member as read from one layer, before it is applied.
pub(super) struct Pending {
    pub(super) path: String,
    pub(super) what: PendingKind,
    pub(super) size: u64,
    pub(super) mode: u32,
    pub(super) uid: u64,
    pub(super) gid: u64,
    pub(super) header_pos: u64,
    pub(super) file_pos: u64,
    pub(super) sparse: bool,
}

pub(super) enum PendingKind {
    Node(NodeKind),
    HardLink(String),
    Whiteout,
    Opaque,
}

/// Reads one member of an uncompressed layer by position.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_seekable(
    region: &mut Region,
    header_pos: u64,
    file_pos: u64,
    sparse: bool,
    size: u64,
    limit: u64,
    asked: &str,
    f: &mut dyn FnMut(&str, &mut dyn Read),
) -> io::Result<()> {
    if sparse {
        region.seek(SeekFrom::Start(header_pos))?;
        let mut archive = tar::Archive::new(region);
        let mut entries = archive.entries()?;
        match entries.next() {
            Some(entry) => {
                let entry = entry?;
                f(asked, &mut entry.take(limit));
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "tar member vanished",
            )),
        }
    } else {
        region.seek(SeekFrom::Start(file_pos))?;
        f(asked, &mut region.take(size.min(limit)));
        Ok(())
    }
}

/// One pass over a compressed layer, handing each wanted member to `f`.
pub(super) fn stream_pass(
    stream: Box<dyn Read>,
    wanted: &mut HashMap<u64, Vec<&str>>,
    limit: u64,
    f: &mut dyn FnMut(&str, &mut dyn Read),
) -> io::Result<()> {
    let last = wanted.keys().copied().max().unwrap_or(0);
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries()? {
        let entry = entry?;
        let pos = entry.raw_header_position();
        if let Some(asked) = wanted.remove(&pos) {
            if asked.len() == 1 {
                f(asked[0], &mut entry.take(limit));
            } else {
                let mut buf = Vec::new();
                entry.take(limit).read_to_end(&mut buf)?;
                for a in asked {
                    f(a, &mut buf.as_slice());
                }
            }
        }
        if wanted.is_empty() || pos >= last {
            break;
        }
    }
    Ok(())
}

/// Reads headers of one layer; every problem becomes a message, never a panic.
pub(super) fn collect_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    pending: &mut Vec<Pending>,
    problems: &mut Vec<String>,
    max_entries: usize,
) {
    for (count, entry) in entries.enumerate() {
        if count >= max_entries {
            problems.push(format!(
                "more than {max_entries} tar members; the rest are not indexed"
            ));
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("tar error after {count} members: {e}"));
                return;
            }
        };
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = match normalize_entry(&raw_name) {
            Ok(p) => p,
            Err(why) => {
                problems.push(format!("member {raw_name:?} {why}; skipped"));
                continue;
            }
        };
        let header = entry.header();
        let entry_type = header.entry_type();
        let name = path::file_name(&path);
        let what = if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                PendingKind::Opaque
            } else if hidden.starts_with(".wh.") || hidden.is_empty() {
                // AUFS bookkeeping (`.wh..wh.plnk`…), not a whiteout of a real name.
                continue;
            } else {
                PendingKind::Whiteout
            }
        } else {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            match entry_type {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => PendingKind::Node(NodeKind::File),
                tar::EntryType::Directory => PendingKind::Node(NodeKind::Dir),
                tar::EntryType::Symlink => PendingKind::Node(NodeKind::Symlink(link)),
                tar::EntryType::Link => PendingKind::HardLink(link),
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
                _ => PendingKind::Node(NodeKind::Other),
            }
        };
        let target = match what {
            PendingKind::Opaque => path::parent(&path).to_string(),
            PendingKind::Whiteout => path::child(path::parent(&path), &name[4..]),
            _ => path,
        };
        pending.push(Pending {
            path: target,
            size: entry.size(),
            mode: header.mode().unwrap_or(0) & 0o7777,
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
            header_pos: entry.raw_header_position(),
            file_pos: entry.raw_file_position(),
            sparse: entry_type.is_gnu_sparse(),
            what,
        });
    }
}
