//! Manifests, tags and referrers: a manifest is checked, stored as content by digest,
//! linked into its repository, indexed under its subject, and only then pointed at
//! by its tag (an atomic swap); deletes by tag or digest; bounded listings.

use std::path::PathBuf;

use bytes::Bytes;

use super::fsutil;
use super::Page;
use crate::digest::{Algorithm, Digest};
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::{Reference, RepositoryName, Tag};
use crate::{Registry, RegistryEvent};

/// What a manifest push stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    pub digest: Digest,
    pub media_type: String,
    /// The subject it refers to (the response then carries `OCI-Subject`).
    pub subject: Option<Digest>,
}

/// A manifest as stored, byte for byte.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub digest: Digest,
    pub media_type: String,
    pub body: Bytes,
}

/// One page of a referrers list.
#[derive(Debug, Clone)]
pub struct ReferrersPage {
    pub descriptors: Vec<serde_json::Value>,
    /// The `last` value of the next page, when there is one.
    pub next: Option<String>,
}

/// A tag file holds a digest: far below this.
const MAX_POINTER_BYTES: usize = 1024;

impl Registry {
    /// Stores a manifest under `reference` (a tag, or the digest it must have).
    /// Refused when it is invalid, over the size limit, or names a blob or child
    /// manifest the repository lacks (a `subject` may be missing: referrers can be
    /// pushed before what they refer to).
    pub async fn put_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PushedManifest> {
        let max = self.inner.limits.max_manifest_bytes;
        if body.len() > max {
            return Err(RegistryError::TooLarge(format!(
                "manifests are limited to {max} bytes"
            )));
        }
        let parsed = manifest::parse(content_type, &body)?;
        let digest = match reference {
            Reference::Digest(expected) => {
                let actual = Digest::of(expected.algorithm(), &body);
                if &actual != expected {
                    return Err(RegistryError::DigestInvalid(format!(
                        "the manifest's digest is {actual}, not {expected}"
                    )));
                }
                actual
            }
            Reference::Tag(_) => Digest::of(Algorithm::Sha256, &body),
        };

        let _reachable = self.inner.gc_lock.read().await;
        for blob in &parsed.blobs {
            if self.blob_size(repository, blob).await?.is_none() {
                return Err(RegistryError::ManifestBlobUnknown(format!(
                    "blob {blob} is not in {repository}"
                )));
            }
        }
        for child in &parsed.manifests {
            if !self.has_revision(repository, child).await? {
                return Err(RegistryError::ManifestBlobUnknown(format!(
                    "manifest {child} is not in {repository}"
                )));
            }
        }

        let paths = &self.inner.paths;
        let io = |what: &'static str| move |e| RegistryError::io(what, e);
        let blob = paths.blob(&digest);
        if !fsutil::exists(&blob).await.map_err(io("check manifest"))? {
            fsutil::write_atomic(paths.tmp_dir(), blob, body.to_vec())
                .await
                .map_err(io("store manifest"))?;
        }
        fsutil::write_atomic(
            paths.tmp_dir(),
            paths.revision(repository, &digest),
            parsed.media_type.clone().into_bytes(),
        )
        .await
        .map_err(io("link manifest"))?;
        if let Some(subject) = &parsed.subject {
            let descriptor = manifest::referrer_descriptor(&parsed, &digest, body.len() as u64);
            fsutil::write_atomic(
                paths.tmp_dir(),
                paths
                    .referrers_dir(repository, subject)
                    .join(digest.file_name()),
                descriptor.to_string().into_bytes(),
            )
            .await
            .map_err(io("index referrer"))?;
        }
        let tag = match reference {
            Reference::Tag(tag) => {
                fsutil::write_atomic(
                    paths.tmp_dir(),
                    paths.tag(repository, tag),
                    digest.to_string().into_bytes(),
                )
                .await
                .map_err(io("write tag"))?;
                Some(tag.clone())
            }
            Reference::Digest(_) => None,
        };
        self.emit(RegistryEvent::ManifestPushed {
            repository: repository.clone(),
            tag,
            digest: digest.clone(),
            media_type: parsed.media_type.clone(),
        });
        Ok(PushedManifest {
            digest,
            media_type: parsed.media_type,
            subject: parsed.subject,
        })
    }

    /// The digest a tag points at.
    pub async fn resolve_tag(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>> {
        let path = self.inner.paths.tag(repository, tag);
        let Some(bytes) = fsutil::read_bounded(path, MAX_POINTER_BYTES)
            .await
            .map_err(|e| RegistryError::io("read tag", e))?
        else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        text.trim()
            .parse()
            .map(Some)
            .map_err(|e| RegistryError::io("read tag", std::io::Error::other(e)))
    }

    async fn has_revision(&self, repository: &RepositoryName, digest: &Digest) -> Result<bool> {
        fsutil::exists(&self.inner.paths.revision(repository, digest))
            .await
            .map_err(|e| RegistryError::io("check manifest link", e))
    }

    /// The media type of a manifest of `repository`, None when it has no such manifest.
    async fn revision_media_type(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<String>> {
        let path = self.inner.paths.revision(repository, digest);
        Ok(fsutil::read_bounded(path, MAX_POINTER_BYTES)
            .await
            .map_err(|e| RegistryError::io("read manifest link", e))?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string()))
    }

    /// The digest `reference` names in `repository`, or MANIFEST_UNKNOWN.
    async fn resolve(&self, repository: &RepositoryName, reference: &Reference) -> Result<Digest> {
        match reference {
            Reference::Digest(d) => Ok(d.clone()),
            Reference::Tag(tag) => self
                .resolve_tag(repository, tag)
                .await?
                .ok_or_else(|| RegistryError::ManifestUnknown(format!("{repository}:{tag}"))),
        }
    }

    /// A manifest by tag or digest, as it was pushed.
    pub async fn get_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<StoredManifest> {
        let unknown = || RegistryError::ManifestUnknown(format!("{repository}@{reference}"));
        let digest = self.resolve(repository, reference).await?;
        let media_type = self
            .revision_media_type(repository, &digest)
            .await?
            .ok_or_else(unknown)?;
        let body = fsutil::read_bounded(
            self.inner.paths.blob(&digest),
            self.inner.limits.max_manifest_bytes,
        )
        .await
        .map_err(|e| RegistryError::io("read manifest", e))?
        .ok_or_else(unknown)?;
        Ok(StoredManifest {
            digest,
            media_type,
            body: Bytes::from(body),
        })
    }

    /// Deletes a tag (the manifest stays), or a manifest by digest with every tag
    /// pointing at it and its entry in its subject's referrers list.
    pub async fn delete_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<()> {
        let paths = &self.inner.paths;
        let io = |what: &'static str| move |e| RegistryError::io(what, e);
        match reference {
            Reference::Tag(tag) => {
                let digest = self
                    .resolve_tag(repository, tag)
                    .await?
                    .ok_or_else(|| RegistryError::ManifestUnknown(format!("{repository}:{tag}")))?;
                fsutil::remove_file_if_exists(&paths.tag(repository, tag))
                    .await
                    .map_err(io("remove tag"))?;
                self.emit(RegistryEvent::TagDeleted {
                    repository: repository.clone(),
                    tag: tag.clone(),
                    digest,
                });
            }
            Reference::Digest(digest) => {
                let stored = self.get_manifest(repository, reference).await?;
                if let Ok(parsed) = manifest::parse(Some(&stored.media_type), &stored.body) {
                    if let Some(subject) = parsed.subject {
                        let entry = paths
                            .referrers_dir(repository, &subject)
                            .join(digest.file_name());
                        fsutil::remove_file_if_exists(&entry)
                            .await
                            .map_err(io("remove referrer"))?;
                    }
                }
                for tag in self.tags_pointing_at(repository, digest).await? {
                    fsutil::remove_file_if_exists(&paths.tag(repository, &tag))
                        .await
                        .map_err(io("remove tag"))?;
                }
                fsutil::remove_file_if_exists(&paths.revision(repository, digest))
                    .await
                    .map_err(io("remove manifest link"))?;
                self.emit(RegistryEvent::ManifestDeleted {
                    repository: repository.clone(),
                    digest: digest.clone(),
                });
            }
        }
        Ok(())
    }

    async fn tags_pointing_at(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<Tag>> {
        let dir = self.inner.paths.tags_dir(repository);
        let names: Vec<String> = fsutil::blocking(move || Ok(fsutil::dir_names(&dir)?.collect()))
            .await
            .map_err(|e| RegistryError::io("list tags", e))?;
        let mut pointing = Vec::new();
        for name in names {
            let Ok(tag) = name.parse::<Tag>() else {
                continue;
            };
            if self.resolve_tag(repository, &tag).await?.as_ref() == Some(digest) {
                pointing.push(tag);
            }
        }
        Ok(pointing)
    }

    fn page_size(&self, n: Option<usize>) -> usize {
        n.unwrap_or(usize::MAX).min(self.inner.limits.page_size)
    }

    /// The repository's tags in byte order, `n` at most (and at most the page size),
    /// after `last`.
    pub async fn list_tags(
        &self,
        repository: &RepositoryName,
        n: Option<usize>,
        last: Option<&str>,
    ) -> Result<Page> {
        if !self.repository_exists(repository).await? {
            return Err(RegistryError::NameUnknown(repository.to_string()));
        }
        if n == Some(0) {
            return Ok(Page {
                items: Vec::new(),
                more: false,
            });
        }
        let n = self.page_size(n);
        let dir = self.inner.paths.tags_dir(repository);
        let last = last.map(str::to_string);
        let (items, more) = fsutil::blocking(move || {
            Ok(fsutil::page_of(
                fsutil::dir_names(&dir)?,
                last.as_deref(),
                n,
            ))
        })
        .await
        .map_err(|e| RegistryError::io("list tags", e))?;
        Ok(Page { items, more })
    }

    /// The repositories (those with manifests) in byte order.
    pub async fn list_repositories(&self, n: Option<usize>, last: Option<&str>) -> Result<Page> {
        if n == Some(0) {
            return Ok(Page {
                items: Vec::new(),
                more: false,
            });
        }
        let n = self.page_size(n);
        let root = self.inner.paths.repositories_dir();
        let last = last.map(str::to_string);
        let (items, more) = fsutil::blocking(move || {
            Ok(fsutil::page_of(
                RepositoryWalk::new(root),
                last.as_deref(),
                n,
            ))
        })
        .await
        .map_err(|e| RegistryError::io("list repositories", e))?;
        Ok(Page { items, more })
    }

    /// The manifests of `repository` whose subject is `subject`, as descriptors,
    /// optionally only those of `artifact_type`; a page holds at most the page size
    /// and the referrers byte limit.
    pub async fn referrers(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
        last: Option<&str>,
    ) -> Result<ReferrersPage> {
        if !self.repository_exists(repository).await? {
            return Err(RegistryError::NameUnknown(repository.to_string()));
        }
        let dir = self.inner.paths.referrers_dir(repository, subject);
        let n = self.inner.limits.page_size;
        let last_owned = last.map(str::to_string);
        let list_dir = dir.clone();
        let (names, mut more) = fsutil::blocking(move || {
            Ok(fsutil::page_of(
                fsutil::dir_names(&list_dir)?,
                last_owned.as_deref(),
                n,
            ))
        })
        .await
        .map_err(|e| RegistryError::io("list referrers", e))?;
        let budget = self.inner.limits.referrers_page_bytes;
        let mut used = 0usize;
        let mut descriptors = Vec::new();
        let mut next = names.last().cloned();
        for (i, name) in names.iter().enumerate() {
            let Some(digest) = Digest::from_file_name(name) else {
                continue;
            };
            // An entry whose manifest is gone (a crash between the two deletes).
            if !self.has_revision(repository, &digest).await? {
                continue;
            }
            let path: PathBuf = dir.join(name);
            let Some(bytes) = fsutil::read_bounded(path, self.inner.limits.max_manifest_bytes)
                .await
                .map_err(|e| RegistryError::io("read referrer", e))?
            else {
                continue;
            };
            if used + bytes.len() > budget && !descriptors.is_empty() {
                more = true;
                next = i.checked_sub(1).and_then(|p| names.get(p).cloned());
                break;
            }
            used += bytes.len();
            let Ok(descriptor) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let wanted =
                artifact_type.is_none_or(|t| descriptor["artifactType"].as_str() == Some(t));
            if wanted {
                descriptors.push(descriptor);
            }
        }
        Ok(ReferrersPage {
            descriptors,
            next: if more { next } else { None },
        })
    }
}

/// The names of repositories under the root (directories with `_manifests`), found
/// depth first; components start with an alphanumeric, so `_` entries are the
/// store's own.
pub(crate) struct RepositoryWalk {
    stack: Vec<(PathBuf, String)>,
    pending: Vec<String>,
}

impl RepositoryWalk {
    pub(crate) fn new(root: PathBuf) -> RepositoryWalk {
        RepositoryWalk {
            stack: vec![(root, String::new())],
            pending: Vec::new(),
        }
    }
}

impl Iterator for RepositoryWalk {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            if let Some(name) = self.pending.pop() {
                return Some(name);
            }
            let (dir, prefix) = self.stack.pop()?;
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(component) = entry.file_name().into_string() else {
                    continue;
                };
                if component.starts_with('_') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = if prefix.is_empty() {
                    component
                } else {
                    format!("{prefix}/{component}")
                };
                if name.len() > crate::name::MAX_NAME_LEN {
                    continue;
                }
                let path = entry.path();
                if path.join("_manifests").is_dir() {
                    self.pending.push(name.clone());
                }
                self.stack.push((path, name));
            }
        }
    }
}
