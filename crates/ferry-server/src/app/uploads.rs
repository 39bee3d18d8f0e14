//! Source uploads: archives stored by their sha256, written to a temporary file first so
//! an interrupted upload leaves nothing behind, then unpacked (see `unpack.rs`) into a
//! directory that becomes a revision's or is removed, never left without an owner.

use super::blocking::run_blocking;
use super::deploys::source_config;
use super::services::ConfigOverrides;
use super::unpack::{unpack, UnpackError};
use super::{App, AppError};
use bytes::Bytes;
use ferry_types::{RevisionId, ServiceConfig};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Largest accepted source archive.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

fn archive_path(uploads: &Path, digest: &str) -> Result<PathBuf, AppError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest(format!(
            "invalid upload digest {digest:?}: expected sha256:<64 hex digits>"
        )));
    }
    Ok(uploads.join(format!("{}.tar.gz", hex.to_ascii_lowercase())))
}

impl App {
    /// Stores an uploaded `.tar.gz`; returns `sha256:<hex>`. When `expected` is given the
    /// content must match it.
    pub async fn store_upload<S, E>(
        &self,
        mut body: S,
        expected: Option<&str>,
    ) -> Result<String, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let uploads = self.data.uploads();
        let tmp = uploads.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|err| AppError::Internal(format!("cannot store upload: {err}")))?;
            let mut hasher = Sha256::new();
            let mut size: u64 = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk
                    .map_err(|err| AppError::BadRequest(format!("upload interrupted: {err}")))?;
                size += chunk.len() as u64;
                if size > MAX_UPLOAD_BYTES {
                    return Err(AppError::BadRequest(format!(
                        "upload larger than {} bytes",
                        MAX_UPLOAD_BYTES
                    )));
                }
                hasher.update(&chunk);
                file.write_all(&chunk)
                    .await
                    .map_err(|err| AppError::Internal(format!("cannot store upload: {err}")))?;
            }
            file.sync_all()
                .await
                .map_err(|err| AppError::Internal(format!("cannot store upload: {err}")))?;
            let digest = format!("sha256:{}", hex(&hasher.finalize()));
            if let Some(expected) = expected {
                if !expected.eq_ignore_ascii_case(&digest) {
                    return Err(AppError::BadRequest(format!(
                        "upload digest mismatch: expected {expected}, received {digest}"
                    )));
                }
            }
            let dest = archive_path(&uploads, &digest)?;
            tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(|err| AppError::Internal(format!("cannot store upload: {err}")))?;
            Ok(digest)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Unpacks a stored archive into a new directory under `builds/` and reads its
    /// config, off the async workers. Bounded by the server's
    /// [`UploadLimits`](super::unpack::UploadLimits); when the
    /// request goes away the unpack stops and the directory is removed.
    pub(crate) async fn prepare_upload(
        &self,
        digest: &str,
        overrides: ConfigOverrides,
    ) -> Result<PreparedUpload, AppError> {
        let archive = archive_path(&self.data.uploads(), digest)?;
        let digest = digest.to_string();
        let builds = self.data.builds();
        let limits = self.upload_limits.clone();
        run_blocking(move |cancel| {
            let file = match std::fs::File::open(&archive) {
                Ok(file) => file,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    return Err(AppError::not_found(format!("upload {digest}")));
                }
                Err(err) => {
                    return Err(AppError::Internal(format!("cannot open upload: {err}")));
                }
            };
            let tree = OwnedTree::create_in(&builds)?;
            unpack(std::io::BufReader::new(file), tree.path(), &limits, cancel).map_err(|err| {
                match err {
                    UnpackError::TooLarge { .. } | UnpackError::TooManyEntries { .. } => {
                        AppError::TooLarge(err.to_string())
                    }
                    UnpackError::Cancelled => {
                        tracing::info!(%digest, "the deploy request went away: unpack stopped, its files removed");
                        AppError::Internal(err.to_string())
                    }
                    UnpackError::Io(_) => AppError::Internal(err.to_string()),
                    _ => AppError::BadRequest(err.to_string()),
                }
            })?;
            let (config, warnings) = source_config(tree.path(), &overrides)?;
            Ok(PreparedUpload {
                tree,
                config,
                warnings,
            })
        })
        .await
    }

    /// Start-up cleanup: `.tmp-*` leftovers of interrupted uploads and unpacks, and
    /// revision directories (and build markers) whose revision row was never written
    /// (a crash between placing the files and the row) or is gone.
    pub fn clean_partial_files(&self) {
        for dir in [self.data.uploads(), self.data.builds()] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let orphan = if name.starts_with(".tmp-") {
                    true
                } else if dir == self.data.builds() && name.starts_with(RevisionId::PREFIX) {
                    let id = name.strip_suffix(".built").unwrap_or(&name);
                    // Kept when the store cannot say: only a known absence removes files.
                    matches!(
                        self.store.get_revision(&RevisionId::from_string(id)),
                        Ok(None)
                    )
                } else {
                    false
                };
                if !orphan {
                    continue;
                }
                let path = entry.path();
                tracing::info!(path = %path.display(), "removing files of an unfinished upload or deploy");
                let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                if let Err(err) = removed {
                    tracing::warn!(path = %path.display(), error = %err, "cannot remove leftover files");
                }
            }
        }
    }
}

/// An unpacked upload with its config read and validated, waiting for its revision row.
pub(crate) struct PreparedUpload {
    pub tree: OwnedTree,
    pub config: ServiceConfig,
    pub warnings: Vec<String>,
}

/// A directory this server made and has not handed over yet: removed when dropped,
/// unless [`OwnedTree::keep`] was called.
pub(crate) struct OwnedTree {
    path: PathBuf,
    kept: bool,
}

impl OwnedTree {
    /// A new `.tmp-*` directory in `parent` (start-up removes any left by a crash).
    fn create_in(parent: &Path) -> Result<Self, AppError> {
        let path = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&path).map_err(|err| {
            AppError::Internal(format!("cannot create {}: {err}", path.display()))
        })?;
        Ok(Self { path, kept: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the directory to `dest` (which must not exist); still owned.
    pub fn rename_to(&mut self, dest: &Path) -> Result<(), AppError> {
        std::fs::rename(&self.path, dest)
            .map_err(|err| AppError::Internal(format!("cannot place revision files: {err}")))?;
        self.path = dest.to_path_buf();
        Ok(())
    }

    /// Hands the directory over (its revision row now exists).
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for OwnedTree {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %err, "cannot remove unpacked files");
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
