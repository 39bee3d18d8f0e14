//! Instance log files: what both drivers append an instance's output to, with every
//! line cut at a maximum length (marked) and the file rotated by size, so a chatty or
//! hostile app can neither grow one line without bound nor fill the disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bounds of an instance's log. On disk an instance holds at most
/// `(1 + rotated_files) × (max_file_bytes + max_line_bytes + marker)` bytes: a file is
/// rotated at the first line end after it reaches `max_file_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// Longest line kept; the rest of a longer line is dropped and the cut is marked.
    pub max_line_bytes: usize,
    /// Size at which `<instance>.log` is rotated to `<instance>.log.1`.
    pub max_file_bytes: u64,
    /// Rotated files kept (`.log.1` … `.log.N`); 0 truncates instead.
    pub rotated_files: u32,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            // Docker splits lines at 16 KiB too; no log line a person reads is longer.
            max_line_bytes: 16 * 1024,
            max_file_bytes: 10 * 1024 * 1024,
            rotated_files: 1,
        }
    }
}

/// Smallest accepted limits: below these a log says nothing useful.
const MIN_LINE_BYTES: usize = 256;

impl LogLimits {
    /// Why these limits cannot work, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_line_bytes < MIN_LINE_BYTES {
            return Err(format!(
                "the log line limit must be at least {MIN_LINE_BYTES} bytes, got {}",
                self.max_line_bytes
            ));
        }
        // A file must hold a few whole lines, or every line would rotate it.
        let line = u64::try_from(self.max_line_bytes).unwrap_or(u64::MAX);
        if self.max_file_bytes < line.saturating_mul(4) {
            return Err(format!(
                "the log file size limit ({} bytes) must be at least 4 times the line limit ({} bytes)",
                self.max_file_bytes, self.max_line_bytes
            ));
        }
        if self.rotated_files > 100 {
            return Err(format!(
                "at most 100 rotated log files, got {}",
                self.rotated_files
            ));
        }
        Ok(())
    }

    /// The most one instance's logs hold on disk (current file plus rotated ones).
    pub fn max_disk_bytes(&self) -> u64 {
        let per_file = self.max_file_bytes
            + u64::try_from(self.max_line_bytes + CUT_MARKER_ROOM).unwrap_or(u64::MAX);
        per_file.saturating_mul(u64::from(self.rotated_files) + 1)
    }
}

/// Room the cut marker takes (its text plus the limit's digits).
const CUT_MARKER_ROOM: usize = 64;

/// The text appended where a line was cut.
pub fn cut_marker(max_line_bytes: usize) -> String {
    format!(" [ferry: line cut at {max_line_bytes} bytes]")
}

/// `<log>.<n>`: the n-th rotated file of a log.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    name.into()
}

/// Appends an instance's output to its log file within [`LogLimits`]. Not buffered:
/// each call is written through, so a reader sees output as soon as it is written.
pub struct LogWriter {
    path: PathBuf,
    limits: LogLimits,
    file: File,
    /// Bytes in the current file.
    size: u64,
    /// Bytes of the current (unfinished) line already written.
    line_len: usize,
    /// The current line was cut: drop its bytes until its newline.
    discarding: bool,
}

impl LogWriter {
    /// Opens (creating it and its directory) the log for appending.
    pub fn open(path: &Path, limits: LogLimits) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            limits,
            file,
            size,
            line_len: 0,
            discarding: false,
        })
    }

    /// Appends `bytes`, cutting lines longer than the limit and rotating the file at a
    /// line end once it is full.
    pub fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (segment, ends_line) = match newline {
                Some(at) => (&bytes[..=at], true),
                None => (bytes, false),
            };
            bytes = &bytes[segment.len()..];
            let content = if ends_line {
                &segment[..segment.len() - 1]
            } else {
                segment
            };
            if self.discarding {
                if ends_line {
                    self.discarding = false;
                    self.end_line()?;
                }
                continue;
            }
            let room = self.limits.max_line_bytes.saturating_sub(self.line_len);
            if content.len() > room {
                let keep = char_boundary(content, room);
                let mut cut = content[..keep].to_vec();
                cut.extend_from_slice(cut_marker(self.limits.max_line_bytes).as_bytes());
                cut.push(b'\n');
                self.put(&cut)?;
                self.discarding = !ends_line;
                self.end_line()?;
                continue;
            }
            self.put(segment)?;
            if ends_line {
                self.end_line()?;
            } else {
                self.line_len += content.len();
            }
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.size += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        Ok(())
    }

    /// A line ended: the place to rotate a full file without splitting a line.
    fn end_line(&mut self) -> io::Result<()> {
        self.line_len = 0;
        if self.size >= self.limits.max_file_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// `.log` → `.log.1` → … → `.log.N` (the oldest is dropped), then a new `.log`.
    /// Readers holding the old file keep reading it; followers notice the new inode.
    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.limits.rotated_files;
        if keep == 0 {
            remove_if_exists(&self.path)?;
        } else {
            remove_if_exists(&rotated_path(&self.path, keep))?;
            for n in (1..keep).rev() {
                rename_if_exists(
                    &rotated_path(&self.path, n),
                    &rotated_path(&self.path, n + 1),
                )?;
            }
            rename_if_exists(&self.path, &rotated_path(&self.path, 1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Removes an instance's log and its rotated files.
    pub fn remove_all(path: &Path, limits: LogLimits) -> io::Result<()> {
        remove_if_exists(path)?;
        for n in 1..=limits.rotated_files {
            remove_if_exists(&rotated_path(path, n))?;
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The largest `n <= at` that does not split a UTF-8 sequence of `bytes` (so a cut line
/// stays valid text when it was).
pub fn char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut n = at.min(bytes.len());
    // At most 3 continuation bytes precede a character's end.
    for _ in 0..3 {
        if n == 0 || n == bytes.len() || (bytes[n] & 0b1100_0000) != 0b1000_0000 {
            break;
        }
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(line: usize, file: u64, rotated: u32) -> LogLimits {
        LogLimits {
            max_line_bytes: line,
            max_file_bytes: file,
            rotated_files: rotated,
        }
    }

    #[test]
    fn long_lines_are_cut_with_a_marker_and_the_rest_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/ins.log");
        let mut log = LogWriter::open(&path, limits(8, 1 << 20, 1)).unwrap();
        log.write(b"short\n0123456789abc").unwrap();
        // The rest of the long line, in pieces, never reaches the file.
        for _ in 0..1000 {
            log.write(b"zzzzzzzzzz").unwrap();
        }
        log.write(b"zz\nnext\npart").unwrap();
        log.write(b"ial\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("short\n01234567{}\nnext\npartial\n", cut_marker(8))
        );
        // A cut never splits a character.
        log.write("ééééé\n".as_bytes()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with(&format!("éééé{}\n", cut_marker(8))),
            "{text}"
        );
    }

    #[test]
    fn full_files_rotate_at_line_ends_and_the_oldest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ins.log");
        let bounds = limits(16, 64, 2);
        let mut log = LogWriter::open(&path, bounds).unwrap();
        for n in 0..100 {
            log.write(format!("line {n:04}\n").as_bytes()).unwrap();
        }
        // A line without its end keeps the file from rotating until it ends.
        log.write(&[b'x'; 1000]).unwrap();
        let sizes: Vec<u64> = [path.clone(), rotated_path(&path, 1), rotated_path(&path, 2)]
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .collect();
        assert!(!rotated_path(&path, 3).exists());
        for size in &sizes {
            assert!(*size <= 64 + 16 + 64, "{sizes:?}");
        }
        let total: u64 = sizes.iter().sum();
        assert!(total <= bounds.max_disk_bytes(), "{total}");
        let newest = std::fs::read_to_string(rotated_path(&path, 1)).unwrap();
        let current = std::fs::read_to_string(&path).unwrap();
        // 7 lines of 10 bytes fill a file. The cut line ended the 15th file (2 lines +
        // the cut one reach the limit), which rotated: the current file is new.
        let older = std::fs::read_to_string(rotated_path(&path, 2)).unwrap();
        assert!(older.ends_with("line 0097\n"), "{older}");
        assert_eq!(
            newest,
            format!(
                "line 0098\nline 0099\n{}{}\n",
                "x".repeat(16),
                cut_marker(16)
            )
        );
        assert_eq!(current, "");
        // No rotated files: the log starts over.
        let single = dir.path().join("single.log");
        let mut log = LogWriter::open(&single, limits(16, 64, 0)).unwrap();
        for n in 0..100 {
            log.write(format!("line {n:04}\n").as_bytes()).unwrap();
        }
        assert!(std::fs::metadata(&single).unwrap().len() <= 64 + 16);
        assert!(!rotated_path(&single, 1).exists());
        LogWriter::remove_all(&path, bounds).unwrap();
        assert!(!path.exists() && !rotated_path(&path, 1).exists());
    }

    #[test]
    fn limits_must_leave_room_for_lines() {
        assert!(LogLimits::default().validate().is_ok());
        assert!(limits(100, 1 << 20, 1).validate().is_err());
        assert!(limits(1024, 2048, 1).validate().is_err());
        assert!(limits(1024, 1 << 20, 1000).validate().is_err());
    }
}
