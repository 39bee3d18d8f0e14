//! Reading instance and build logs of a service: the last lines, and following new ones.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The last `count` lines of a file (empty when it does not exist).
pub fn tail_lines(path: &Path, count: usize) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    // Read at most the last 64 KiB: enough for the lines a failure message shows.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // probably cut in the middle
    }
    let skip = lines.len().saturating_sub(count);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// One line of a service's log, labelled with the file it came from
/// (`ins-…` for an instance, `build-3` for a build).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub source: String,
    pub line: String,
}

/// Follows every log file in a service's log directory, including files created later.
pub struct LogFollower {
    dir: PathBuf,
    offsets: HashMap<PathBuf, u64>,
    partial: HashMap<PathBuf, Vec<u8>>,
}

fn source_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn log_files(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, std::time::SystemTime)> = entries
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
    files
}

impl LogFollower {
    /// Starts at the end of the existing files, after returning their last `tail` lines
    /// (each file's lines together, oldest file first).
    pub fn start(dir: PathBuf, tail: usize) -> (Self, Vec<LogLine>) {
        let mut offsets = HashMap::new();
        let mut lines = Vec::new();
        for (path, _) in log_files(&dir) {
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let source = source_name(&path);
            lines.extend(tail_lines(&path, tail).into_iter().map(|line| LogLine {
                source: source.clone(),
                line,
            }));
            offsets.insert(path, len);
        }
        let skip = lines.len().saturating_sub(tail);
        let lines = lines.split_off(skip);
        (
            Self {
                dir,
                offsets,
                partial: HashMap::new(),
            },
            lines,
        )
    }

    /// Complete lines appended since the last call.
    pub fn poll(&mut self) -> Vec<LogLine> {
        let mut out = Vec::new();
        for (path, _) in log_files(&self.dir) {
            let offset = self.offsets.get(&path).copied().unwrap_or(0);
            let Ok(mut file) = std::fs::File::open(&path) else {
                continue;
            };
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            if len <= offset {
                continue;
            }
            if file.seek(SeekFrom::Start(offset)).is_err() {
                continue;
            }
            let mut bytes = Vec::new();
            if file.take(len - offset).read_to_end(&mut bytes).is_err() {
                continue;
            }
            self.offsets.insert(path.clone(), len);
            let buffer = self.partial.entry(path.clone()).or_default();
            buffer.extend_from_slice(&bytes);
            let source = source_name(&path);
            while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=newline).collect();
                out.push(LogLine {
                    source: source.clone(),
                    line: String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tails_and_follows_files_including_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("ins-a.log");
        std::fs::write(&a, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail_lines(&a, 2), ["two", "three"]);
        assert!(tail_lines(&dir.path().join("missing.log"), 2).is_empty());
        let (mut follower, lines) = LogFollower::start(dir.path().to_path_buf(), 1);
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
        let got: Vec<String> = follower.poll().into_iter().map(|l| l.line).collect();
        assert!(got.contains(&"four".to_string()) && got.contains(&"b1".to_string()));
        assert!(!got.iter().any(|l| l.starts_with("hal")));
        writeln!(file, "f").unwrap();
        let got: Vec<String> = follower.poll().into_iter().map(|l| l.line).collect();
        assert_eq!(got, ["half"]);
    }
}
