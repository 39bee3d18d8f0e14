//! Blobs as a repository sees them: present when the repository links the digest
//! and the content is in the store; reads, unlinks and cross-repository mounts.

use std::io::{self, Read};

use bytes::Bytes;

use super::fsutil;
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

/// A blob opened for reading.
#[derive(Debug)]
pub enum BlobContent {
    /// A small blob, read whole.
    Bytes(Bytes),
    /// A larger one, to be streamed.
    File(std::fs::File),
}

impl Registry {
    /// The size of `digest` when `repository` has it (one blocking task: the link
    /// check and the stat).
    pub async fn blob_size(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let link = self.inner.paths.layer_link(repository, digest);
        let blob = self.inner.paths.blob(digest);
        fsutil::blocking(move || {
            if !link.try_exists()? {
                return Ok(None);
            }
            match std::fs::metadata(&blob) {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| RegistryError::io("stat blob", e))
    }

    /// Opens `digest` for reading, with its size. The link check, the open and the
    /// stat are one blocking task, and a blob of at most [`fsutil::IO_BUFFER`] bytes
    /// is read whole in it too: most blobs of a pull (configs, small layers) then
    /// cost one thread hop, and the response goes out in one write. Larger ones are
    /// streamed from the file, so memory stays bounded whatever the size.
    pub async fn open_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<(BlobContent, u64)> {
        let link = self.inner.paths.layer_link(repository, digest);
        let blob = self.inner.paths.blob(digest);
        let opened = fsutil::blocking(move || {
            if !link.try_exists()? {
                return Ok(None);
            }
            let file = match std::fs::File::open(&blob) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let size = file.metadata()?.len();
            if size > fsutil::IO_BUFFER as u64 {
                return Ok(Some((BlobContent::File(file), size)));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            file.take(size).read_to_end(&mut bytes)?;
            if bytes.len() as u64 != size {
                return Err(io::Error::other(format!(
                    "{} changed size while read",
                    blob.display()
                )));
            }
            Ok(Some((BlobContent::Bytes(Bytes::from(bytes)), size)))
        })
        .await
        .map_err(|e| RegistryError::io("open blob", e))?;
        opened.ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))
    }

    /// Removes `digest` from `repository`. The content goes when gc finds nothing
    /// else needs it.
    pub async fn delete_blob(&self, repository: &RepositoryName, digest: &Digest) -> Result<()> {
        let link = self.inner.paths.layer_link(repository, digest);
        if fsutil::remove_file_if_exists(&link)
            .await
            .map_err(|e| RegistryError::io("remove blob link", e))?
        {
            Ok(())
        } else {
            Err(RegistryError::BlobUnknown(digest.to_string()))
        }
    }

    /// Links `digest` from `from` into `repository` without moving content. Returns
    /// its size, or None when `from` does not have it (the caller then starts an
    /// ordinary upload, as the spec says).
    pub async fn mount_blob(
        &self,
        repository: &RepositoryName,
        from: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let _reachable = self.inner.gc_lock.read().await;
        let Some(size) = self.blob_size(from, digest).await? else {
            return Ok(None);
        };
        let link = self.inner.paths.layer_link(repository, digest);
        fsutil::blocking(move || fsutil::touch_sync(&link))
            .await
            .map_err(|e| RegistryError::io("link blob", e))?;
        Ok(Some(size))
    }

    /// Whether the repository exists at all (anything was ever pushed to it).
    pub async fn repository_exists(&self, repository: &RepositoryName) -> Result<bool> {
        fsutil::exists(&self.inner.paths.repository(repository))
            .await
            .map_err(|e| RegistryError::io("check repository", e))
    }
}
