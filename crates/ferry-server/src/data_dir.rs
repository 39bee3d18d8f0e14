//! The data directory: where the database, uploads, revision snapshots, logs, runtime
//! records and the admin token live, and the file that tells clients where we listen.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Paths under `$FERRY_DATA_DIR` (default: `$XDG_DATA_HOME/ferry`, else
/// `~/.local/share/ferry`).
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

/// Written once both listeners are bound, so clients (and tests using port 0) find the
/// server; removed on a clean exit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerInfo {
    pub api: String,
    pub router: String,
    pub pid: u32,
    pub version: String,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The default location, from the environment.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("FERRY_DATA_DIR").filter(|v| !v.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(dir).join("ferry");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        PathBuf::from(home).join(".local/share/ferry")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("ferry.db")
    }
    pub fn token_file(&self) -> PathBuf {
        self.root.join("token")
    }
    pub fn server_info_file(&self) -> PathBuf {
        self.root.join("server.json")
    }
    /// Locked (flock) by the server using this data dir; holds its pid.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("server.lock")
    }
    /// Uploaded source archives, named by their sha256.
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }
    /// One directory per source revision: the snapshot its instances run.
    pub fn builds(&self) -> PathBuf {
        self.root.join("builds")
    }
    pub fn revision_dir(&self, revision: &ferry_types::RevisionId) -> PathBuf {
        self.builds().join(revision.as_str())
    }
    /// The process back end's dependency cache (see `ferry_build::deps`).
    pub fn dep_cache(&self) -> PathBuf {
        self.root.join("cache").join("deps")
    }
    /// Ferry's own registry (`/v2/`): blobs, manifests, tags, upload sessions.
    pub fn registry(&self) -> PathBuf {
        self.root.join("registry")
    }
    /// Scans of images pushed to the registry, one file per manifest digest.
    pub fn scans(&self) -> PathBuf {
        self.root.join("scans")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// Git sources: one bare repository per service, `<service>.git` (ferry's remote
    /// and the cache fetches land in).
    pub fn git(&self) -> PathBuf {
        self.root.join("git")
    }
    /// Credentials for private git remotes (see `git/credentials.rs`).
    pub fn git_credentials(&self) -> PathBuf {
        self.git().join("credentials.json")
    }
    pub fn service_logs(&self, service_name: &str) -> PathBuf {
        self.logs().join(service_name)
    }
    /// The vulnerability database the deploy gate reads (`ferry vulndb` writes the
    /// same file when `FERRY_DATA_DIR` points here).
    pub fn vulndb(&self) -> PathBuf {
        self.root.join("vulndb/osv.db")
    }

    /// Records of the process runtime's instances.
    pub fn process_state(&self) -> PathBuf {
        self.root.join("run/process")
    }

    /// Creates the directory tree (owner-only: it holds the token and user code).
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))?;
        for dir in [
            self.uploads(),
            self.builds(),
            self.logs(),
            self.process_state(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }

    /// Reads the admin token, creating it (mode 0600) on first start.
    pub fn load_or_create_token(&self) -> std::io::Result<String> {
        let path = self.token_file();
        match std::fs::read_to_string(&path) {
            Ok(token) if !token.trim().is_empty() => {
                // Tighten permissions someone loosened; the token is the only secret.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                return Ok(token.trim().to_string());
            }
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let token = format!(
            "ferry_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        writeln!(file, "{token}")?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(token)
    }

    pub fn write_server_info(&self, info: &ServerInfo) -> std::io::Result<()> {
        let tmp = self.server_info_file().with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, self.server_info_file())
    }

    /// Takes the data dir for this process: an exclusive `flock` on `server.lock`,
    /// held until the returned guard is dropped (or the process dies, so a crash never
    /// leaves a stale lock). A second server on the same data dir would stop the first
    /// one's instances and start duplicates, so it must fail here, before it touches
    /// anything else.
    pub fn lock(&self) -> Result<DataDirLock, LockError> {
        let path = self.lock_file();
        let io_err = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        // Opened without truncating: the pid in it is the holder's until we hold it.
        // Like every std file, it is close-on-exec: instances never inherit the lock.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, Errno::EWOULDBLOCK)) => {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse::<u32>().ok());
                return Err(LockError::Held {
                    dir: self.root.display().to_string(),
                    holder: pid
                        .map_or_else(|| "another process".to_string(), |pid| format!("pid {pid}")),
                });
            }
            Err((_, errno)) => return Err(io_err(std::io::Error::from(errno))),
        };
        locked.set_len(0).map_err(io_err)?;
        writeln!(&*locked, "{}", std::process::id()).map_err(io_err)?;
        Ok(DataDirLock { _file: locked })
    }

    pub fn read_server_info(&self) -> Option<ServerInfo> {
        let bytes = std::fs::read(self.server_info_file()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// This process's hold on a data dir (see [`DataDir::lock`]). The lock file stays
/// when released: removing it would let two servers lock two different files.
#[derive(Debug)]
pub struct DataDirLock {
    _file: Flock<std::fs::File>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another ferry server ({holder}) is already using the data directory {dir}; stop it first, or give this one its own --data-dir (FERRY_DATA_DIR)")]
    Held { dir: String, holder: String },
    #[error("cannot lock {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        data.ensure().unwrap();
        let token = data.load_or_create_token().unwrap();
        assert!(token.starts_with("ferry_") && token.len() > 60);
        let mode = std::fs::metadata(data.token_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(data.load_or_create_token().unwrap(), token);
    }

    #[test]
    fn a_locked_data_dir_refuses_a_second_holder_and_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.ensure().unwrap();
        let held = data.lock().unwrap();
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(data.lock_file()).unwrap().trim(),
            pid.to_string()
        );
        // flock belongs to the open file, so a second open in this process conflicts
        // just as another process would.
        let err = data.lock().unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("pid {pid}")), "{err}");
        // The refused attempt left the holder's pid in place.
        assert_eq!(
            std::fs::read_to_string(data.lock_file()).unwrap().trim(),
            pid.to_string()
        );
        drop(held);
        let _again = data.lock().unwrap();
    }
}
