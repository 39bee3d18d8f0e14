//! Source uploads: archives stored by their sha256, written to a temporary file first so
//! an interrupted upload leaves nothing behind, then unpacked into a revision directory.

use super::{App, AppError};
use bytes::Bytes;
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

    /// Unpacks a stored archive into `dest` (which must not exist) via a temporary
    /// directory, so `dest` appears complete or not at all.
    pub async fn unpack_upload(&self, digest: &str, dest: &Path) -> Result<(), AppError> {
        let archive = archive_path(&self.data.uploads(), digest)?;
        if !archive.exists() {
            return Err(AppError::not_found(format!("upload {digest}")));
        }
        let dest = dest.to_path_buf();
        tokio::task::spawn_blocking(move || unpack(&archive, &dest))
            .await
            .map_err(|err| AppError::Internal(err.to_string()))?
    }

    /// Removes `.tmp-*` leftovers of interrupted uploads and unpacks (start-up cleanup).
    pub fn clean_partial_files(&self) {
        for dir in [self.data.uploads(), self.data.builds()] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

fn unpack(archive: &Path, dest: &Path) -> Result<(), AppError> {
    let parent = dest
        .parent()
        .ok_or_else(|| AppError::Internal("revision directory has no parent".into()))?;
    let tmp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        std::fs::create_dir_all(&tmp)
            .map_err(|err| AppError::Internal(format!("cannot create {}: {err}", tmp.display())))?;
        let file = std::fs::File::open(archive)
            .map_err(|err| AppError::Internal(format!("cannot open upload: {err}")))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        tar.set_preserve_permissions(true);
        tar.set_overwrite(false);
        let entries = tar
            .entries()
            .map_err(|err| AppError::BadRequest(format!("upload is not a .tar.gz: {err}")))?;
        for entry in entries {
            let mut entry = entry
                .map_err(|err| AppError::BadRequest(format!("upload is not a .tar.gz: {err}")))?;
            // unpack_in refuses paths that leave the directory (`..`, absolute paths,
            // writes through symlinks), returning false for them.
            let inside = entry
                .unpack_in(&tmp)
                .map_err(|err| AppError::BadRequest(format!("cannot unpack upload: {err}")))?;
            if !inside {
                return Err(AppError::BadRequest(format!(
                    "upload has an entry outside its root: {}",
                    entry
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )));
            }
        }
        std::fs::rename(&tmp, dest)
            .map_err(|err| AppError::Internal(format!("cannot place revision files: {err}")))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
