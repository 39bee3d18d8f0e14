//! Blobs as a repository sees them: present when the repository links the digest
//! and the content is in the store; reads, unlinks and cross-repository mounts.

use std::io;

use super::fsutil;
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

impl Registry {
    /// The size of `digest` when `repository` has it.
    pub async fn blob_size(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let link = self.inner.paths.layer_link(repository, digest);
        if !fsutil::exists(&link)
            .await
            .map_err(|e| RegistryError::io("check blob link", e))?
        {
            return Ok(None);
        }
        self.stored_size(digest).await
    }

    /// The size of `digest` in the store, whichever repository has it.
    pub(crate) async fn stored_size(&self, digest: &Digest) -> Result<Option<u64>> {
        match tokio::fs::metadata(self.inner.paths.blob(digest)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RegistryError::io("stat blob", e)),
        }
    }

    /// Opens `digest` for reading, with its size.
    pub async fn open_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<(tokio::fs::File, u64)> {
        let unknown = || RegistryError::BlobUnknown(digest.to_string());
        let link = self.inner.paths.layer_link(repository, digest);
        if !fsutil::exists(&link)
            .await
            .map_err(|e| RegistryError::io("check blob link", e))?
        {
            return Err(unknown());
        }
        let file = match tokio::fs::File::open(self.inner.paths.blob(digest)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(unknown()),
            Err(e) => return Err(RegistryError::io("open blob", e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(|e| RegistryError::io("stat blob", e))?
            .len();
        Ok((file, size))
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
