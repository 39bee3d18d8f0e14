//! Unpacking an uploaded `.tar.gz` into a fresh directory, for a hostile archive: every
//! entry lands inside the directory (never through a symlink or file it created), the
//! total size, the number of files and the depth and length of paths are capped, the
//! work is linear in the archive and stops when asked to, and setuid/setgid bits are
//! dropped.
//!
//! The `tar` crate reads headers (raw mode: one header at a time); long names, PAX
//! records and sparse maps are handled here, so each is read with a bound.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use tar::EntryType;

/// What one upload may unpack to. Every field is a server setting (see
/// docs/operations.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadLimits {
    /// Total size of the unpacked files (their full size: a sparse file counts whole).
    pub max_bytes: u64,
    /// Files, directories and links created (directories implied by paths count too).
    pub max_entries: u64,
    /// Components in one path (`a/b/c` is 3).
    pub max_depth: usize,
    /// Bytes in one path.
    pub max_path_bytes: usize,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024 * 1024,
            max_entries: 200_000,
            max_depth: 128,
            max_path_bytes: 2048,
        }
    }
}

/// Long names, link targets and PAX records are metadata: anything larger is not a
/// real archive's.
const MAX_METADATA_BYTES: u64 = 1024 * 1024;
/// Longest file name the kernel accepts in one component.
const MAX_NAME_BYTES: usize = 255;
const COPY_BUFFER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("the upload unpacks to more than {limit} bytes (the server's limit; its operator can raise it with --max-unpacked-bytes or FERRY_MAX_UNPACKED_BYTES)")]
    TooLarge { limit: u64 },
    #[error("the upload unpacks to more than {limit} files and directories (the server's limit; its operator can raise it with --max-unpacked-entries or FERRY_MAX_UNPACKED_ENTRIES)")]
    TooManyEntries { limit: u64 },
    #[error("upload entry {path}: deeper than {limit} directories (the server's limit: --max-path-depth or FERRY_MAX_PATH_DEPTH)")]
    TooDeep { path: String, limit: usize },
    #[error("upload entry {path}: path longer than {limit} bytes (the server's limit: --max-path-length or FERRY_MAX_PATH_LENGTH)")]
    PathTooLong { path: String, limit: usize },
    #[error("upload entry {path}: {reason}")]
    Refused { path: String, reason: String },
    #[error("the upload is not a valid .tar.gz: {0}")]
    Corrupt(String),
    #[error("cannot unpack the upload: {0}")]
    Io(String),
    #[error("the unpack was cancelled")]
    Cancelled,
}

/// Unpacks `archive` into `root` (which must be a new, empty directory only this call
/// writes to). Stops with [`UnpackError::Cancelled`] soon after `cancel` is set. On an
/// error `root` holds a partial tree: the caller removes it.
pub fn unpack(
    archive: impl Read,
    root: &Path,
    limits: &UploadLimits,
    cancel: &AtomicBool,
) -> Result<(), UnpackError> {
    let mut tree = Tree {
        root,
        limits,
        cancel,
        dirs: HashSet::new(),
        bytes: 0,
        entries: 0,
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = archive
        .entries()
        .map_err(|err| UnpackError::Corrupt(err.to_string()))?
        .raw(true);
    let mut pending = Pending::default();
    for entry in entries {
        tree.check_cancelled()?;
        let mut entry = entry.map_err(|err| UnpackError::Corrupt(err.to_string()))?;
        let header = entry.header();
        let kind = header.entry_type();
        let declared = header
            .entry_size()
            .map_err(|err| UnpackError::Corrupt(err.to_string()))?;
        // Metadata describes the next entry. Whatever an entry's kind, its data counts
        // against the size cap before a byte of it is read (or skipped: skipping costs
        // decompression too).
        tree.add_bytes(declared)?;
        let slot = match kind {
            EntryType::GNULongName => Some((&mut pending.long_name, "long name")),
            EntryType::GNULongLink => Some((&mut pending.long_link, "long link name")),
            EntryType::XHeader => Some((&mut pending.pax, "PAX header")),
            EntryType::XGlobalHeader => {
                // Applies to every entry (git archive writes the commit id in one);
                // nothing in it matters here. Counted so a stream of them is bounded.
                tree.add_entry()?;
                read_metadata(&mut entry, declared, "PAX global header")?;
                continue;
            }
            _ => None,
        };
        if let Some((slot, what)) = slot {
            if slot.is_some() {
                return Err(UnpackError::Corrupt(format!("two {what}s for one entry")));
            }
            *slot = Some(read_metadata(&mut entry, declared, what)?);
            continue;
        }
        tree.add_entry()?;
        let meta = std::mem::take(&mut pending).resolve(header)?;
        let shown = String::from_utf8_lossy(&meta.path).into_owned();
        if let Some(size) = meta.pax_size {
            // The tar reader steps over the header's size; a different PAX size would put
            // it out of step with the archive.
            if size != declared {
                return Err(refused(&shown, "its PAX size differs from its header's size (entries of 8 GiB and more are not supported)"));
            }
        }
        let path = tree.checked_path(&meta.path)?;
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                let Some(path) = path else {
                    return Err(refused(&shown, "a file cannot be the archive's root"));
                };
                let (mode, mtime) = (header_mode(&entry)?, mtime(&entry));
                tree.file(&path, &shown, &mut entry, declared, mode, mtime)?;
            }
            EntryType::GNUSparse => {
                let Some(path) = path else {
                    return Err(refused(&shown, "a file cannot be the archive's root"));
                };
                tree.sparse_file(&path, &shown, &mut entry, declared)?;
            }
            EntryType::Directory => {
                if let Some(path) = path {
                    tree.directory(&path, &shown, header_mode(&entry)?)?;
                }
            }
            EntryType::Symlink => {
                let Some(path) = path else {
                    return Err(refused(&shown, "a link cannot be the archive's root"));
                };
                let target = meta
                    .link
                    .filter(|t| !t.is_empty() && !t.contains(&0))
                    .ok_or_else(|| refused(&shown, "symlink without a target"))?;
                tree.symlink(&path, &shown, OsStr::from_bytes(&target))?;
            }
            EntryType::Link => {
                let Some(path) = path else {
                    return Err(refused(&shown, "a link cannot be the archive's root"));
                };
                let target = meta
                    .link
                    .ok_or_else(|| refused(&shown, "hard link without a target"))?;
                let target_shown = String::from_utf8_lossy(&target).into_owned();
                let target = tree
                    .checked_path(&target)?
                    .ok_or_else(|| refused(&shown, "hard link to the archive's root"))?;
                tree.hard_link(&path, &shown, &target, &target_shown)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(refused(&shown, "device files and FIFOs are not accepted"));
            }
            other => {
                return Err(refused(
                    &shown,
                    &format!("unsupported entry type {:?}", other.as_byte() as char),
                ));
            }
        }
    }
    if pending.is_some() {
        return Err(UnpackError::Corrupt(
            "the archive ends with metadata for an entry that is missing".into(),
        ));
    }
    Ok(())
}

fn refused(path: &str, reason: &str) -> UnpackError {
    UnpackError::Refused {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

fn io_err(path: &str, err: std::io::Error) -> UnpackError {
    UnpackError::Io(format!("{path}: {err}"))
}

fn header_mode<R: Read>(entry: &tar::Entry<'_, R>) -> Result<u32, UnpackError> {
    entry
        .header()
        .mode()
        .map_err(|err| UnpackError::Corrupt(err.to_string()))
}

fn mtime<R: Read>(entry: &tar::Entry<'_, R>) -> Option<SystemTime> {
    let seconds = entry.header().mtime().ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Reads a metadata entry's data, refusing more than [`MAX_METADATA_BYTES`].
fn read_metadata(entry: &mut impl Read, declared: u64, what: &str) -> Result<Vec<u8>, UnpackError> {
    if declared > MAX_METADATA_BYTES {
        return Err(UnpackError::Corrupt(format!(
            "a {what} of {declared} bytes (more than {MAX_METADATA_BYTES})"
        )));
    }
    let mut data = Vec::with_capacity(declared as usize);
    entry
        .take(declared)
        .read_to_end(&mut data)
        .map_err(|err| UnpackError::Corrupt(err.to_string()))?;
    Ok(data)
}

/// GNU long names and a PAX header waiting for the entry they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

/// What an entry is called and points to, after its metadata entries.
struct EntryMeta {
    path: Vec<u8>,
    link: Option<Vec<u8>>,
    pax_size: Option<u64>,
}

fn strip_nuls(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

impl Pending {
    fn is_some(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }

    /// PAX records win over GNU long names, which win over the header's fields.
    fn resolve(self, header: &tar::Header) -> Result<EntryMeta, UnpackError> {
        let mut meta = EntryMeta {
            path: self
                .long_name
                .map(strip_nuls)
                .unwrap_or_else(|| header.path_bytes().into_owned()),
            link: self
                .long_link
                .map(strip_nuls)
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
            pax_size: None,
        };
        if let Some(pax) = &self.pax {
            for record in tar::PaxExtensions::new(pax) {
                let record = record.map_err(|err| UnpackError::Corrupt(err.to_string()))?;
                match record.key_bytes() {
                    b"path" => meta.path = record.value_bytes().to_vec(),
                    b"linkpath" => meta.link = Some(record.value_bytes().to_vec()),
                    b"size" => {
                        let size = record
                            .value()
                            .ok()
                            .and_then(|v| v.parse().ok())
                            .ok_or_else(|| {
                                UnpackError::Corrupt("a PAX size that is not a number".into())
                            })?;
                        meta.pax_size = Some(size);
                    }
                    key if key.starts_with(b"GNU.sparse.") => {
                        return Err(refused(
                            &String::from_utf8_lossy(&meta.path),
                            "PAX sparse files are not supported: pack without --sparse",
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(meta)
    }
}

/// The directory being filled, and what is known about it.
struct Tree<'a> {
    root: &'a Path,
    limits: &'a UploadLimits,
    cancel: &'a AtomicBool,
    /// Every directory created so far (relative). Only this unpack writes under
    /// `root`, so a path in here is a real directory, and every path of a file or link
    /// is not: parents are checked against this set, never by walking the disk.
    dirs: HashSet<PathBuf>,
    bytes: u64,
    entries: u64,
}

impl Tree<'_> {
    fn check_cancelled(&self) -> Result<(), UnpackError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(UnpackError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn add_bytes(&mut self, size: u64) -> Result<(), UnpackError> {
        self.bytes = self.bytes.saturating_add(size);
        if self.bytes > self.limits.max_bytes {
            return Err(UnpackError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        Ok(())
    }

    fn add_entry(&mut self) -> Result<(), UnpackError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(UnpackError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// The entry's path relative to the root, or `None` for the root itself (`./`).
    /// Refuses absolute paths, `..`, and paths over the depth and length caps.
    fn checked_path(&self, raw: &[u8]) -> Result<Option<PathBuf>, UnpackError> {
        let shown = || String::from_utf8_lossy(raw).into_owned();
        if raw.len() > self.limits.max_path_bytes {
            return Err(UnpackError::PathTooLong {
                path: truncated(&shown()),
                limit: self.limits.max_path_bytes,
            });
        }
        if raw.contains(&0) {
            return Err(refused(&shown(), "a NUL byte in the path"));
        }
        let path = Path::new(OsStr::from_bytes(raw));
        let mut relative = PathBuf::new();
        let mut depth = 0;
        for component in path.components() {
            match component {
                Component::Normal(name) => {
                    if name.len() > MAX_NAME_BYTES {
                        return Err(refused(&shown(), "a file name longer than 255 bytes"));
                    }
                    depth += 1;
                    if depth > self.limits.max_depth {
                        return Err(UnpackError::TooDeep {
                            path: truncated(&shown()),
                            limit: self.limits.max_depth,
                        });
                    }
                    relative.push(name);
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refused(&shown(), "an absolute path"));
                }
                Component::ParentDir => {
                    return Err(refused(&shown(), "a path that leaves the archive's root"));
                }
            }
        }
        Ok((!relative.as_os_str().is_empty()).then_some(relative))
    }

    /// Makes sure every parent of `path` is a directory this unpack created, creating
    /// the missing ones. A parent that exists but is not in the set is a file or link.
    fn parents(&mut self, path: &Path, shown: &str) -> Result<(), UnpackError> {
        let mut missing = Vec::new();
        let mut parent = path.parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            if self.dirs.contains(dir) {
                break;
            }
            missing.push(dir);
            parent = dir.parent();
        }
        for dir in missing.into_iter().rev() {
            let dir = dir.to_path_buf();
            self.add_entry()?;
            self.create_dir(&dir, shown, 0o755)?;
        }
        Ok(())
    }

    fn create_dir(&mut self, dir: &Path, shown: &str, mode: u32) -> Result<(), UnpackError> {
        match std::fs::DirBuilder::new()
            .mode(0o700)
            .create(self.root.join(dir))
        {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(refused(
                    shown,
                    &format!(
                        "{} is a file or link in the archive, not a directory",
                        dir.display()
                    ),
                ));
            }
            Err(err) => return Err(io_err(shown, err)),
        }
        set_dir_mode(&self.root.join(dir), mode, shown)?;
        self.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn directory(&mut self, path: &Path, shown: &str, mode: u32) -> Result<(), UnpackError> {
        if self.dirs.contains(path) {
            // Listed after files inside it (or twice): only its mode is new.
            return set_dir_mode(&self.root.join(path), mode, shown);
        }
        self.parents(path, shown)?;
        self.create_dir(path, shown, mode)
    }

    /// Creates a new file (never follows or replaces anything already there).
    fn new_file(&mut self, path: &Path, shown: &str) -> Result<std::fs::File, UnpackError> {
        self.parents(path, shown)?;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.root.join(path))
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::AlreadyExists => refused(shown, "appears twice in the archive"),
                _ => io_err(shown, err),
            })
    }

    fn file(
        &mut self,
        path: &Path,
        shown: &str,
        data: &mut impl Read,
        size: u64,
        mode: u32,
        mtime: Option<SystemTime>,
    ) -> Result<(), UnpackError> {
        let mut file = self.new_file(path, shown)?;
        self.copy(data, &mut file, size, shown)?;
        finish_file(&file, mode, mtime, shown)
    }

    /// Copies exactly `size` bytes, checking for cancellation between chunks.
    fn copy(
        &self,
        data: &mut impl Read,
        file: &mut std::fs::File,
        size: u64,
        shown: &str,
    ) -> Result<(), UnpackError> {
        let mut buffer = vec![0; COPY_BUFFER];
        let mut left = size;
        while left > 0 {
            self.check_cancelled()?;
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let read = data
                .read(&mut buffer[..want])
                .map_err(|err| UnpackError::Corrupt(err.to_string()))?;
            if read == 0 {
                return Err(UnpackError::Corrupt(format!(
                    "{shown}: the archive ends inside it"
                )));
            }
            file.write_all(&buffer[..read])
                .map_err(|err| io_err(shown, err))?;
            left -= read as u64;
        }
        Ok(())
    }

    /// An old-style GNU sparse file: its data regions are in the archive, the holes
    /// between them are not. Its full size counts against the cap before anything is
    /// written.
    fn sparse_file(
        &mut self,
        path: &Path,
        shown: &str,
        entry: &mut tar::Entry<'_, impl Read>,
        stored: u64,
    ) -> Result<(), UnpackError> {
        let header = entry.header();
        let gnu = header.as_gnu().ok_or_else(|| {
            UnpackError::Corrupt(format!("{shown}: a sparse entry without a GNU header"))
        })?;
        let corrupt = |err: std::io::Error| UnpackError::Corrupt(format!("{shown}: {err}"));
        let real_size = gnu.real_size().map_err(corrupt)?;
        // Its stored data was counted with the header; the holes count too.
        self.add_bytes(real_size.saturating_sub(stored))?;
        if gnu.is_extended() {
            return Err(refused(
                shown,
                "sparse files with more than 4 data regions are not supported: pack without --sparse",
            ));
        }
        let mut regions = Vec::new();
        let mut end = 0u64;
        let mut total = 0u64;
        for region in gnu.sparse.iter().filter(|r| !r.is_empty()) {
            let offset = region.offset().map_err(corrupt)?;
            let length = region.length().map_err(corrupt)?;
            let region_end = offset.checked_add(length).filter(|e| *e <= real_size);
            match region_end {
                Some(region_end) if offset >= end => {
                    end = region_end;
                    total += length;
                    regions.push((offset, length));
                }
                _ => {
                    return Err(UnpackError::Corrupt(format!(
                        "{shown}: its sparse map is out of order or past its size"
                    )))
                }
            }
        }
        if total != stored {
            return Err(UnpackError::Corrupt(format!(
                "{shown}: its sparse map does not match its data"
            )));
        }
        let mode = header_mode(entry)?;
        let mtime = mtime(entry);
        let mut file = self.new_file(path, shown)?;
        for (offset, length) in regions {
            file.seek(SeekFrom::Start(offset))
                .map_err(|err| io_err(shown, err))?;
            self.copy(entry, &mut file, length, shown)?;
        }
        file.set_len(real_size).map_err(|err| io_err(shown, err))?;
        finish_file(&file, mode, mtime, shown)
    }

    fn symlink(&mut self, path: &Path, shown: &str, target: &OsStr) -> Result<(), UnpackError> {
        self.parents(path, shown)?;
        std::os::unix::fs::symlink(target, self.root.join(path)).map_err(|err| match err.kind() {
            std::io::ErrorKind::AlreadyExists => refused(shown, "appears twice in the archive"),
            _ => io_err(shown, err),
        })
    }

    /// A hard link to a regular file unpacked earlier (its parents are directories of
    /// this tree, and `link` does not follow a symlink at the target).
    fn hard_link(
        &mut self,
        path: &Path,
        shown: &str,
        target: &Path,
        target_shown: &str,
    ) -> Result<(), UnpackError> {
        let parent_ok = target
            .parent()
            .is_none_or(|p| p.as_os_str().is_empty() || self.dirs.contains(p));
        let is_file = parent_ok
            && std::fs::symlink_metadata(self.root.join(target)).is_ok_and(|m| m.is_file());
        if !is_file {
            return Err(refused(
                shown,
                &format!(
                    "a hard link to {target_shown}, which is not a file earlier in the archive"
                ),
            ));
        }
        self.parents(path, shown)?;
        std::fs::hard_link(self.root.join(target), self.root.join(path)).map_err(|err| {
            match err.kind() {
                std::io::ErrorKind::AlreadyExists => refused(shown, "appears twice in the archive"),
                _ => io_err(shown, err),
            }
        })
    }
}

/// Permission bits only: setuid, setgid and sticky bits are dropped.
fn finish_file(
    file: &std::fs::File,
    mode: u32,
    mtime: Option<SystemTime>,
    shown: &str,
) -> Result<(), UnpackError> {
    file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))
        .map_err(|err| io_err(shown, err))?;
    if let Some(mtime) = mtime {
        // Build tools compare times; a file with none keeps the time of the unpack.
        let _ = file.set_modified(mtime);
    }
    Ok(())
}

/// Permission bits only, and the owner keeps full access so the tree can be filled
/// and removed.
fn set_dir_mode(dir: &Path, mode: u32, shown: &str) -> Result<(), UnpackError> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode((mode & 0o777) | 0o700))
        .map_err(|err| io_err(shown, err))
}

/// Paths in messages are cut, so a 4,000-byte path does not fill the answer.
fn truncated(path: &str) -> String {
    const SHOWN: usize = 120;
    if path.len() <= SHOWN {
        return path.to_string();
    }
    let mut end = SHOWN;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

#[cfg(test)]
mod tests;
