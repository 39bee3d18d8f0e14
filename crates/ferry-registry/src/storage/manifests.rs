//! Manifests and tags: a manifest is checked, stored as content by digest,
//! linked into its repository, indexed under its subject, and only then pointed at
//! by its tag (an atomic swap); deletes by tag or digest; bounded listings.

use std::io;
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

/// A tag file holds a digest: far below this.
const MAX_POINTER_BYTES: usize = 1024;

/// The digest a tag file holds.
fn parse_pointer(bytes: &[u8]) -> Result<Digest> {
    String::from_utf8_lossy(bytes)
        .trim()
        .parse()
        .map_err(|e| RegistryError::io("read tag", std::io::Error::other(e)))
}

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
        let paths = &self.inner.paths;
        // Everything a push checks and writes is done in one blocking task: a
        // manifest put is a handful of small file operations, and a thread hop for
        // each cost more than the operations.
        let blob_checks: Vec<(Digest, PathBuf, PathBuf)> = parsed
            .blobs
            .iter()
            .map(|b| (b.clone(), paths.layer_link(repository, b), paths.blob(b)))
            .collect();
        let child_checks: Vec<(Digest, PathBuf)> = parsed
            .manifests
            .iter()
            .map(|c| (c.clone(), paths.revision(repository, c)))
            .collect();
        let content = paths.blob(&digest);
        let mut writes: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(4);
        writes.push((
            paths.revision(repository, &digest),
            parsed.media_type.clone().into_bytes(),
        ));
        if let Some(subject) = &parsed.subject {
            let descriptor = manifest::referrer_descriptor(&parsed, &digest, body.len() as u64);
            writes.push((
                paths
                    .referrers_dir(repository, subject)
                    .join(digest.file_name()),
                descriptor.to_string().into_bytes(),
            ));
        }
        let tag = match reference {
            Reference::Tag(tag) => {
                writes.push((paths.tag(repository, tag), digest.to_string().into_bytes()));
                Some(tag.clone())
            }
            Reference::Digest(_) => None,
        };
        let tmp_dir = paths.tmp_dir();
        let repo_name = repository.to_string();
        let manifest_body = body.clone();
        fsutil::blocking(
            move || -> io::Result<std::result::Result<(), RegistryError>> {
                for (blob, link, content) in &blob_checks {
                    if !(link.try_exists()? && content.try_exists()?) {
                        return Ok(Err(RegistryError::ManifestBlobUnknown(format!(
                            "blob {blob} is not in {repo_name}"
                        ))));
                    }
                }
                for (child, revision) in &child_checks {
                    if !revision.try_exists()? {
                        return Ok(Err(RegistryError::ManifestBlobUnknown(format!(
                            "manifest {child} is not in {repo_name}"
                        ))));
                    }
                }
                // Content first, then the links that name it, the tag last.
                let mut files: Vec<(PathBuf, &[u8])> = Vec::with_capacity(writes.len() + 1);
                if !content.try_exists()? {
                    files.push((content, &manifest_body[..]));
                }
                files.extend(writes.iter().map(|(p, b)| (p.clone(), &b[..])));
                fsutil::write_all_atomic_sync(&tmp_dir, &files)?;
                Ok(Ok(()))
            },
        )
        .await
        .map_err(|e| RegistryError::io("store manifest", e))??;
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
        parse_pointer(&bytes).map(Some)
    }

    pub(crate) async fn has_revision(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool> {
        fsutil::exists(&self.inner.paths.revision(repository, digest))
            .await
            .map_err(|e| RegistryError::io("check manifest link", e))
    }

    /// A manifest by tag or digest, as it was pushed. The tag, the repository's link
    /// and the content are read in one blocking task.
    pub async fn get_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<StoredManifest> {
        let paths = self.inner.paths.clone();
        let repo = repository.clone();
        let reference_owned = reference.clone();
        let max = self.inner.limits.max_manifest_bytes;
        let found = fsutil::blocking(move || -> io::Result<Result<Option<StoredManifest>>> {
            let digest = match reference_owned {
                Reference::Digest(d) => d,
                Reference::Tag(tag) => {
                    let path = paths.tag(&repo, &tag);
                    let Some(bytes) = fsutil::read_bounded_sync(&path, MAX_POINTER_BYTES)? else {
                        return Ok(Ok(None));
                    };
                    match parse_pointer(&bytes) {
                        Ok(d) => d,
                        Err(e) => return Ok(Err(e)),
                    }
                }
            };
            let revision = paths.revision(&repo, &digest);
            let Some(media_type) = fsutil::read_bounded_sync(&revision, MAX_POINTER_BYTES)? else {
                return Ok(Ok(None));
            };
            let Some(body) = fsutil::read_bounded_sync(&paths.blob(&digest), max)? else {
                return Ok(Ok(None));
            };
            Ok(Ok(Some(StoredManifest {
                digest,
                media_type: String::from_utf8_lossy(&media_type).trim().to_string(),
                body: Bytes::from(body),
            })))
        })
        .await
        .map_err(|e| RegistryError::io("read manifest", e))??;
        found.ok_or_else(|| RegistryError::ManifestUnknown(format!("{repository}@{reference}")))
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
