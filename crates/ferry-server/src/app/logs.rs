//! Reading instance and build logs of a service: the last lines, and following new ones,
//! within fixed bounds per reader — lines are cut at the log line limit, each poll reads
//! a bounded amount, and a reader that falls far behind skips ahead (saying so) — and
//! pruning the logs of instances long gone.

use ferry_runtime::logs::{char_boundary, cut_marker, rotated_path};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How much of each file's end the tail reads: enough for the lines a failure message
/// or `ferry logs` shows.
const TAIL_WINDOW: u64 = 64 * 1024;

/// Files a reader looks at (the most recently written): a crash-looping service leaves
/// one log per instance, and reading all of them would cost without bound.
const MAX_FILES: usize = 64;

/// Logs of stopped instances kept per service (the newest); older ones are deleted when
/// a new instance starts, so a crash loop cannot fill the disk one bounded log at a time.
pub const KEPT_STOPPED_INSTANCE_LOGS: usize = 16;

/// Bounds of one reader.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    /// Lines longer than this are cut and marked (the same limit the writers apply).
    pub max_line_bytes: usize,
    /// Bytes read per poll, across all files.
    pub poll_budget: usize,
    /// A reader further behind than this in a file skips to its end.
    pub max_behind: u64,
}

impl ReadLimits {
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            poll_budget: 64 * 1024,
            max_behind: 1024 * 1024,
        }
    }
}

/// The last `count` lines of a file (empty when it does not exist), each cut at
/// `max_line_bytes`.
pub fn tail_lines(path: &Path, count: usize, max_line_bytes: usize) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_WINDOW);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.take(TAIL_WINDOW).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // probably cut in the middle
    }
    let skip = lines.len().saturating_sub(count);
    lines[skip..]
        .iter()
        .map(|line| cut_text(line, max_line_bytes))
        .collect()
}

fn cut_text(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_string();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &line[..end], cut_marker(max))
}

/// One line of a service's log, labelled with the file it came from
/// (`ins-…` for an instance, `build-3` for a build).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub source: String,
    pub line: String,
}

/// Where a reader is in one file.
#[derive(Debug, Default)]
struct Cursor {
    /// Identity of the file read (a rotation replaces it).
    inode: u64,
    offset: u64,
    /// The unfinished last line (at most the line limit).
    partial: Vec<u8>,
    /// The current line was cut: drop bytes until its newline.
    discarding: bool,
}

/// Follows every log file in a service's log directory, including files created later
/// and files replaced by rotation.
pub struct LogFollower {
    dir: PathBuf,
    limits: ReadLimits,
    cursors: HashMap<PathBuf, Cursor>,
}

fn source_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The directory's `.log` files (rotated `.log.N` are not), oldest change first, at
/// most the [`MAX_FILES`] most recent.
fn log_files(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, SystemTime)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| {
            let modified = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (p, modified)
        })
        .collect();
    files.sort_by_key(|(_, modified)| *modified);
    let skip = files.len().saturating_sub(MAX_FILES);
    files.split_off(skip)
}

impl LogFollower {
    /// Starts at the end of the existing files, after returning their last `tail` lines
    /// (each file's lines together, oldest file first).
    pub fn start(dir: PathBuf, tail: usize, limits: ReadLimits) -> (Self, Vec<LogLine>) {
        let mut cursors = HashMap::new();
        let mut lines = Vec::new();
        for (path, _) in log_files(&dir) {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let source = source_name(&path);
            lines.extend(
                tail_lines(&path, tail, limits.max_line_bytes)
                    .into_iter()
                    .map(|line| LogLine {
                        source: source.clone(),
                        line,
                    }),
            );
            cursors.insert(
                path,
                Cursor {
                    inode: meta.ino(),
                    offset: meta.len(),
                    ..Cursor::default()
                },
            );
        }
        let skip = lines.len().saturating_sub(tail);
        let lines = lines.split_off(skip);
        (
            Self {
                dir,
                limits,
                cursors,
            },
            lines,
        )
    }

    /// Complete lines appended since the last call, reading at most the poll budget;
    /// `true` when more is waiting (call again without pausing).
    pub fn poll(&mut self) -> (Vec<LogLine>, bool) {
        let mut out = Vec::new();
        let mut budget = self.limits.poll_budget;
        let mut more = false;
        let files = log_files(&self.dir);
        let present: HashSet<&PathBuf> = files.iter().map(|(p, _)| p).collect();
        self.cursors.retain(|path, _| present.contains(path));
        for (path, _) in &files {
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            let source = source_name(path);
            let limits = self.limits;
            let cursor = self.cursors.entry(path.clone()).or_insert_with(|| Cursor {
                inode: meta.ino(),
                ..Cursor::default()
            });
            if cursor.inode != meta.ino() || meta.len() < cursor.offset {
                // Rotated (or truncated): finish the old file where it went, then
                // start the new one from its beginning.
                let old = rotated_path(path, 1);
                if std::fs::metadata(&old).is_ok_and(|m| m.ino() == cursor.inode) {
                    more |= read_file(&old, cursor, &source, limits, &mut budget, &mut out);
                    if !cursor_done(&old, cursor) {
                        continue;
                    }
                }
                *cursor = Cursor {
                    inode: meta.ino(),
                    ..Cursor::default()
                };
            }
            more |= read_file(path, cursor, &source, limits, &mut budget, &mut out);
        }
        (out, more)
    }
}

/// Whether the cursor has read all of `path`.
fn cursor_done(path: &Path, cursor: &Cursor) -> bool {
    std::fs::metadata(path).map_or(true, |m| cursor.offset >= m.len())
}

/// Reads `path` from the cursor, within the budget, into lines; skips ahead (with a
/// marker line) when the cursor is too far behind. Returns whether more is waiting.
fn read_file(
    path: &Path,
    cursor: &mut Cursor,
    source: &str,
    limits: ReadLimits,
    budget: &mut usize,
    out: &mut Vec<LogLine>,
) -> bool {
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len <= cursor.offset {
        return false;
    }
    let behind = len - cursor.offset;
    if behind > limits.max_behind {
        // Far behind (a slow reader, or a flood): jump to the end, where the writer is,
        // rather than stream a backlog nobody will read.
        out.push(LogLine {
            source: source.to_string(),
            line: format!("[ferry: skipped {behind} bytes to catch up with the log]"),
        });
        cursor.offset = len;
        cursor.partial.clear();
        cursor.discarding = !ends_with_newline(&mut file, len);
        return false;
    }
    let want = usize::try_from(behind).unwrap_or(usize::MAX).min(*budget);
    if want == 0 {
        return true;
    }
    if file.seek(SeekFrom::Start(cursor.offset)).is_err() {
        return false;
    }
    let mut bytes = Vec::with_capacity(want);
    let Ok(read) = file
        .take(u64::try_from(want).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)
    else {
        return false;
    };
    *budget -= read;
    cursor.offset += u64::try_from(read).unwrap_or(0);
    split_lines(cursor, &bytes, source, limits.max_line_bytes, out);
    cursor.offset < len
}

fn ends_with_newline(file: &mut std::fs::File, len: u64) -> bool {
    let mut last = [0u8; 1];
    len > 0
        && file.seek(SeekFrom::Start(len - 1)).is_ok()
        && file.read_exact(&mut last).is_ok()
        && last[0] == b'\n'
}

/// Appends the complete lines of `bytes` (after the cursor's partial line) to `out`,
/// cutting lines at `max_line` the way the writers do.
fn split_lines(
    cursor: &mut Cursor,
    bytes: &[u8],
    source: &str,
    max_line: usize,
    out: &mut Vec<LogLine>,
) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let newline = rest.iter().position(|b| *b == b'\n');
        let (content, ends_line) = match newline {
            Some(at) => (&rest[..at], true),
            None => (rest, false),
        };
        rest = &rest[(content.len() + usize::from(ends_line)).min(rest.len())..];
        if cursor.discarding {
            cursor.discarding = !ends_line;
            continue;
        }
        let room = max_line.saturating_sub(cursor.partial.len());
        if content.len() > room {
            cursor.partial.extend_from_slice(&content[..room]);
            let end = char_boundary(&cursor.partial, max_line);
            out.push(LogLine {
                source: source.to_string(),
                line: format!(
                    "{}{}",
                    String::from_utf8_lossy(&cursor.partial[..end]),
                    cut_marker(max_line)
                ),
            });
            cursor.partial.clear();
            cursor.discarding = !ends_line;
            continue;
        }
        cursor.partial.extend_from_slice(content);
        if ends_line {
            out.push(LogLine {
                source: source.to_string(),
                line: String::from_utf8_lossy(&cursor.partial).into_owned(),
            });
            cursor.partial.clear();
        }
    }
}

/// Deletes the logs (with rotated files and cursors) of stopped instances beyond the
/// newest `keep`; `live` names the instances whose logs stay whatever their age.
pub fn prune_instance_logs(dir: &Path, keep: usize, live: &HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut stopped: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .filter(|p| {
            let stem = source_name(p);
            stem.starts_with("ins-") && !live.contains(&stem)
        })
        .map(|p| {
            let modified = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    stopped.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in stopped.into_iter().skip(keep) {
        let mut doomed = vec![path.clone()];
        let mut cursor = path.as_os_str().to_owned();
        cursor.push(".cursor");
        doomed.push(cursor.into());
        // Rotated files: as many as exist (the setting may have changed).
        let mut n = 1;
        loop {
            let rotated = rotated_path(&path, n);
            if !rotated.exists() {
                break;
            }
            doomed.push(rotated);
            n += 1;
        }
        for file in doomed {
            if let Err(e) = std::fs::remove_file(&file) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %file.display(), error = %e, "cannot remove an old instance log");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(follower: &mut LogFollower) -> Vec<String> {
        let mut all = Vec::new();
        loop {
            let (got, more) = follower.poll();
            all.extend(got.into_iter().map(|l| l.line));
            if !more {
                return all;
            }
        }
    }

    #[test]
    fn tails_and_follows_files_including_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("ins-a.log");
        std::fs::write(&a, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail_lines(&a, 2, 100), ["two", "three"]);
        assert!(tail_lines(&dir.path().join("missing.log"), 2, 100).is_empty());
        let (mut follower, lines) =
            LogFollower::start(dir.path().to_path_buf(), 1, ReadLimits::new(100));
        assert_eq!(
            lines,
            [LogLine {
                source: "ins-a".into(),
                line: "three".into()
            }]
        );
        let mut file = std::fs::OpenOptions::new().append(true).open(&a).unwrap();
        write!(file, "four\nhal").unwrap();
        std::fs::write(dir.path().join("ins-b.log"), "b1\n").unwrap();
        let got: Vec<String> = follower.poll().0.into_iter().map(|l| l.line).collect();
        assert!(got.contains(&"four".to_string()) && got.contains(&"b1".to_string()));
        assert!(!got.iter().any(|l| l.starts_with("hal")));
        writeln!(file, "f").unwrap();
        let got: Vec<String> = follower.poll().0.into_iter().map(|l| l.line).collect();
        assert_eq!(got, ["half"]);
    }

    #[test]
    fn long_lines_are_cut_and_a_poll_reads_a_bounded_amount() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("ins-a.log");
        std::fs::write(&a, "").unwrap();
        let limits = ReadLimits {
            max_line_bytes: 10,
            poll_budget: 1000,
            max_behind: 1 << 20,
        };
        let (mut follower, _) = LogFollower::start(dir.path().to_path_buf(), 0, limits);
        let mut file = std::fs::OpenOptions::new().append(true).open(&a).unwrap();
        // 50 KB without a newline is never held whole: it comes out cut, once.
        file.write_all(&[b'x'; 50_000]).unwrap();
        let (first, more) = follower.poll();
        assert!(more, "a poll stops at its budget");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].line, format!("xxxxxxxxxx{}", cut_marker(10)));
        assert!(follower.cursors.values().all(|c| c.partial.len() <= 10));
        file.write_all(b"xx\nshort\n").unwrap();
        assert_eq!(lines(&mut follower), ["short"]);
    }

    #[test]
    fn a_reader_far_behind_skips_ahead_and_rotation_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("ins-a.log");
        std::fs::write(&a, "").unwrap();
        let limits = ReadLimits {
            max_line_bytes: 100,
            poll_budget: 1 << 20,
            max_behind: 1000,
        };
        let (mut follower, _) = LogFollower::start(dir.path().to_path_buf(), 0, limits);
        let mut file = std::fs::OpenOptions::new().append(true).open(&a).unwrap();
        for n in 0..1000 {
            writeln!(file, "flood {n}").unwrap();
        }
        let got = lines(&mut follower);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("[ferry: skipped"), "{got:?}");
        writeln!(file, "after").unwrap();
        assert_eq!(lines(&mut follower), ["after"]);
        // Rotation: the rest of the old file, then the new file from its start.
        writeln!(file, "last of old").unwrap();
        drop(file);
        std::fs::rename(&a, rotated_path(&a, 1)).unwrap();
        std::fs::write(&a, "first of new\n").unwrap();
        assert_eq!(lines(&mut follower), ["last of old", "first of new"]);
    }

    #[test]
    fn old_logs_of_stopped_instances_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..5 {
            let path = dir.path().join(format!("ins-{n}.log"));
            std::fs::write(&path, "x\n").unwrap();
            std::fs::write(rotated_path(&path, 1), "x\n").unwrap();
            // Distinct ages, oldest first.
            let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + n);
            std::fs::File::options()
                .append(true)
                .open(&path)
                .unwrap()
                .set_modified(at)
                .unwrap();
        }
        std::fs::write(dir.path().join("build-1.log"), "b\n").unwrap();
        let live = HashSet::from(["ins-0".to_string()]);
        prune_instance_logs(dir.path(), 2, &live);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "build-1.log",
                "ins-0.log",
                "ins-0.log.1",
                "ins-3.log",
                "ins-3.log.1",
                "ins-4.log",
                "ins-4.log.1"
            ]
        );
    }
}
