//! Reading one file at an app's root (a config file, the Dockerfile, an ignore list) when
//! the app may be hostile: it must be a regular file inside the app directory (a
//! symlink may point elsewhere inside it, never out of it), and it is read with a size
//! cap, so a link to `/dev/zero` or `/etc/shadow` is refused, not read.

use std::io::Read;
use std::path::Path;

/// Cap for config files, Dockerfiles and ignore lists: far above any real one.
pub const MAX_APP_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AppFileError {
    #[error("{name} is a symlink to {target}, outside the app directory: it must be a file inside the app")]
    OutsideApp { name: String, target: String },
    #[error("{name} is a symlink to {target}, which does not exist in the app")]
    Dangling { name: String, target: String },
    #[error("{name} is not a regular file ({kind})")]
    NotRegular { name: String, kind: &'static str },
    #[error("{name} is larger than {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    #[error("{name}: cannot read")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

impl AppFileError {
    /// The file's name, as given.
    pub fn name(&self) -> &str {
        match self {
            Self::OutsideApp { name, .. }
            | Self::Dangling { name, .. }
            | Self::NotRegular { name, .. }
            | Self::TooLarge { name, .. }
            | Self::Io { name, .. } => name,
        }
    }
}

/// Reads `dir/name` (at most `limit` bytes); `Ok(None)` when there is no such entry.
/// `name` is a path relative to `dir` and is what errors show.
pub fn read_app_file(dir: &Path, name: &str, limit: u64) -> Result<Option<Vec<u8>>, AppFileError> {
    let path = dir.join(name);
    let io = |source| AppFileError::Io {
        name: name.to_string(),
        source,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io(err)),
    }
    let target = || {
        std::fs::read_link(&path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".to_string())
    };
    // Every link on the way resolved, then checked: the file must be inside the app.
    let root = std::fs::canonicalize(dir).map_err(io)?;
    let resolved = match std::fs::canonicalize(&path) {
        Ok(resolved) => resolved,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppFileError::Dangling {
                name: name.to_string(),
                target: target(),
            })
        }
        Err(err) => return Err(io(err)),
    };
    if !resolved.starts_with(&root) {
        return Err(AppFileError::OutsideApp {
            name: name.to_string(),
            target: target(),
        });
    }
    // Checked before opening: opening a FIFO would block.
    let kind = file_kind(&std::fs::metadata(&resolved).map_err(io)?);
    if kind != "file" {
        return Err(AppFileError::NotRegular {
            name: name.to_string(),
            kind,
        });
    }
    let file = std::fs::File::open(&resolved).map_err(io)?;
    // And after: what was opened is what is read.
    let kind = file_kind(&file.metadata().map_err(io)?);
    if kind != "file" {
        return Err(AppFileError::NotRegular {
            name: name.to_string(),
            kind,
        });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(AppFileError::TooLarge {
            name: name.to_string(),
            limit,
        });
    }
    Ok(Some(bytes))
}

/// Whether `dir/name` exists as an entry (a dangling symlink counts), without
/// following or reading it.
pub fn app_file_exists(dir: &Path, name: &str) -> bool {
    std::fs::symlink_metadata(dir.join(name)).is_ok()
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_file() {
        "file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn app() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn reads_regular_files_and_links_inside_the_app() {
        let dir = app();
        std::fs::write(dir.path().join("ferry.toml"), "[run]\n").unwrap();
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        std::fs::write(dir.path().join("conf/real.toml"), "x").unwrap();
        symlink("conf/real.toml", dir.path().join("linked.toml")).unwrap();
        let read = |name| read_app_file(dir.path(), name, 100).unwrap();
        assert_eq!(read("ferry.toml").as_deref(), Some(&b"[run]\n"[..]));
        assert_eq!(read("linked.toml").as_deref(), Some(&b"x"[..]));
        assert_eq!(read("missing.toml"), None);
    }

    #[test]
    fn refuses_links_out_devices_and_large_files() {
        let dir = app();
        symlink("/dev/zero", dir.path().join("zero")).unwrap();
        symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        symlink("../../outside", dir.path().join("up")).unwrap();
        symlink("nowhere", dir.path().join("dangling")).unwrap();
        std::fs::create_dir(dir.path().join("adir")).unwrap();
        std::fs::write(dir.path().join("big"), vec![b'a'; 101]).unwrap();
        let err = |name| read_app_file(dir.path(), name, 100).unwrap_err();
        assert!(matches!(err("zero"), AppFileError::OutsideApp { .. }));
        let passwd = err("passwd").to_string();
        assert!(
            passwd.contains("symlink to /etc/passwd, outside the app directory"),
            "{passwd}"
        );
        assert!(matches!(
            err("up"),
            AppFileError::OutsideApp { .. } | AppFileError::Dangling { .. }
        ));
        assert!(matches!(err("dangling"), AppFileError::Dangling { .. }));
        assert!(matches!(
            err("adir"),
            AppFileError::NotRegular {
                kind: "a directory",
                ..
            }
        ));
        assert!(matches!(
            err("big"),
            AppFileError::TooLarge { limit: 100, .. }
        ));
        // A link inside the app to a device is still a device.
        let dev = app();
        std::fs::create_dir(dev.path().join("d")).unwrap();
        symlink("d", dev.path().join("dir-link")).unwrap();
        assert!(matches!(
            read_app_file(dev.path(), "dir-link", 100).unwrap_err(),
            AppFileError::NotRegular { .. }
        ));
    }
}
