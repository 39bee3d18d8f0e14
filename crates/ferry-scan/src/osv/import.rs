//! Reading OSV records from where they are published: osv.dev's per-ecosystem zip dumps
//! (`all.zip`, one JSON record per entry), directories of `*.json` files (the advisory
//! repositories' layout; zips found inside are read too), and single JSON files holding
//! one record or an array of them.
//!
//! Records are handed to a callback one at a time so a large dump is never held in memory
//! whole. A record that does not parse is passed on as an [`OsvError`] (the caller warns
//! and carries on); only a source that cannot be read at all is an [`ImportError`].

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{OsvError, Vulnerability};

/// One JSON record larger than this is refused: real records are a few hundred KiB at
/// most, and the cap keeps a hostile zip entry from exhausting memory.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;
/// A single JSON file (which may hold an array of records) larger than this is refused.
pub const MAX_JSON_FILE_BYTES: u64 = 2 << 30;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable zip archive")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
}

/// What the callback says after each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Reads every record under `path` (a zip, a directory or a JSON file) and hands each to
/// `sink`, in a stable order.
pub fn read_records<F>(path: &Path, sink: &mut F) -> Result<Flow, ImportError>
where
    F: FnMut(Result<Vulnerability, OsvError>) -> Flow,
{
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return read_dir(path, sink);
    }
    if is_zip(path).map_err(io)? {
        return read_zip(path, sink);
    }
    read_json_file(path, sink)
}

fn is_zip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path)?;
    let n = file.read(&mut magic)?;
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

fn read_dir<F>(dir: &Path, sink: &mut F) -> Result<Flow, ImportError>
where
    F: FnMut(Result<Vulnerability, OsvError>) -> Flow,
{
    let io = |source| ImportError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue; // .git and friends
        }
        // Symlinks are not followed: a dump directory has no reason to hold any.
        let meta = std::fs::symlink_metadata(&entry).map_err(|source| ImportError::Io {
            path: entry.clone(),
            source,
        })?;
        let flow = if meta.is_dir() {
            read_dir(&entry, sink)?
        } else if meta.is_file() && name.ends_with(".json") {
            read_json_file(&entry, sink)?
        } else if meta.is_file() && name.ends_with(".zip") {
            read_zip(&entry, sink)?
        } else {
            Flow::Continue
        };
        if flow == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::Continue)
}

fn read_zip<F>(path: &Path, sink: &mut F) -> Result<Flow, ImportError>
where
    F: FnMut(Result<Vulnerability, OsvError>) -> Flow,
{
    let file = File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|source| ImportError::Zip {
            path: path.to_path_buf(),
            source,
        })?;
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                let err = OsvError {
                    origin: format!("{}[entry {index}]", path.display()),
                    id: None,
                    reason: format!("unreadable zip entry: {e}"),
                };
                if sink(Err(err)) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                continue;
            }
        };
        // A name that is not valid text cannot be a `*.json` record.
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if !entry.is_file() || !name.ends_with(".json") {
            continue;
        }
        let origin = format!("{}:{name}", path.display());
        let mut buf = Vec::new();
        let read = (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buf);
        let result = match read {
            Err(e) => Err(OsvError {
                origin,
                id: None,
                reason: format!("cannot read entry: {e}"),
            }),
            Ok(_) if buf.len() as u64 > MAX_RECORD_BYTES => Err(OsvError {
                origin,
                id: None,
                reason: format!("entry larger than {MAX_RECORD_BYTES} bytes"),
            }),
            Ok(_) => Vulnerability::from_json(&buf, &origin),
        };
        if sink(result) == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::Continue)
}

fn read_json_file<F>(path: &Path, sink: &mut F) -> Result<Flow, ImportError>
where
    F: FnMut(Result<Vulnerability, OsvError>) -> Flow,
{
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_JSON_FILE_BYTES {
        return Err(ImportError::Unsupported {
            path: path.to_path_buf(),
            reason: format!("JSON file larger than {MAX_JSON_FILE_BYTES} bytes"),
        });
    }
    let text = std::fs::read(path).map_err(io)?;
    let origin = path.display().to_string();
    let value: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(value) => value,
        Err(e) => {
            let err = OsvError {
                origin,
                id: None,
                reason: format!("invalid JSON: {e}"),
            };
            return Ok(sink(Err(err)));
        }
    };
    match value {
        serde_json::Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let result = Vulnerability::from_value(item, &format!("{origin}[{i}]"));
                if sink(result) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::Continue)
        }
        other => Ok(sink(Vulnerability::from_value(other, &origin))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn record(id: &str) -> String {
        format!(r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z"}}"#)
    }

    fn collect(path: &Path) -> (Vec<String>, Vec<String>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_records(path, &mut |r| {
            match r {
                Ok(v) => ok.push(v.id),
                Err(e) => bad.push(e.to_string()),
            }
            Flow::Continue
        })
        .unwrap();
        (ok, bad)
    }

    #[test]
    fn reads_zip_dir_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("all.zip");
        {
            let mut zip = zip::ZipWriter::new(File::create(&zip_path).unwrap());
            let options = zip::write::SimpleFileOptions::default();
            for (name, body) in [
                ("A-1.json", record("A-1")),
                ("broken.json", "{not json".to_string()),
                ("README.txt", "ignored".to_string()),
                ("A-2.json", record("A-2")),
            ] {
                zip.start_file(name, options).unwrap();
                zip.write_all(body.as_bytes()).unwrap();
            }
            zip.finish().unwrap();
        }
        let (ok, bad) = collect(&zip_path);
        assert_eq!(ok, vec!["A-1", "A-2"]);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("all.zip:broken.json"), "{}", bad[0]);

        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::create_dir_all(tree.join(".git")).unwrap();
        std::fs::write(tree.join("sub/B-1.json"), record("B-1")).unwrap();
        std::fs::write(tree.join(".git/C-1.json"), record("C-1")).unwrap();
        std::fs::write(
            tree.join("list.json"),
            format!("[{}, {}, 5]", record("D-1"), record("D-2")),
        )
        .unwrap();
        let (ok, bad) = collect(&tree);
        assert_eq!(ok, vec!["D-1", "D-2", "B-1"]);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("list.json[2]"), "{}", bad[0]);

        assert!(read_records(&dir.path().join("missing.zip"), &mut |_| Flow::Continue).is_err());
    }
}
