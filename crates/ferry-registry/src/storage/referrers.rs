//! The referrers list of a subject: the descriptors indexed when manifests with
//! that `subject` were pushed, merged with the index a client may keep under the
//! spec's fallback tag (`<alg>-<hex>`), so the answer is complete whichever way a
//! client recorded its referrers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::fsutil;
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::{Reference, RepositoryName, Tag};
use crate::Registry;

/// One page of a referrers list.
#[derive(Debug, Clone)]
pub struct ReferrersPage {
    pub descriptors: Vec<serde_json::Value>,
    /// The `last` value of the next page, when there is one.
    pub next: Option<String>,
}

impl Registry {
    /// The manifests of `repository` whose subject is `subject`, as descriptors,
    /// optionally only those of `artifact_type`; a page holds at most the page size
    /// and the referrers byte limit. Entries of the fallback tag's index that the
    /// registry did not index itself are added, each digest once.
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
        // Keyed by the entry names of the indexed list (`<alg>-<hex>`), so both
        // sources page together in one order.
        let fallback: BTreeMap<String, serde_json::Value> = self
            .fallback_index(repository, subject)
            .await?
            .into_iter()
            .map(|(digest, descriptor)| (digest.file_name(), descriptor))
            .collect();
        let n = self.inner.limits.page_size;
        let last_owned = last.map(str::to_string);
        let list_dir = dir.clone();
        let extra: Vec<String> = fallback.keys().cloned().collect();
        let (names, mut more) = fsutil::blocking(move || {
            // A digest in both is listed once, from the registry's own entry.
            let extra: Vec<String> = extra
                .into_iter()
                .filter(|name| !list_dir.join(name).exists())
                .collect();
            Ok(fsutil::page_of(
                fsutil::dir_names(&list_dir)?.chain(extra),
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
            // An entry whose manifest is gone (a crash between the two deletes, or a
            // fallback index that still lists a deleted manifest).
            if !self.has_revision(repository, &digest).await? {
                continue;
            }
            let path: PathBuf = dir.join(name);
            let indexed = fsutil::read_bounded(path, self.inner.limits.max_manifest_bytes)
                .await
                .map_err(|e| RegistryError::io("read referrer", e))?;
            let bytes = match (indexed, fallback.get(name)) {
                (Some(bytes), _) => bytes,
                (None, Some(descriptor)) => descriptor.to_string().into_bytes(),
                (None, None) => continue,
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

    /// The descriptors of the index under `subject`'s fallback tag, if the
    /// repository has one that is an index; anything else there is not a referrers
    /// list and is ignored.
    async fn fallback_index(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
    ) -> Result<Vec<(Digest, serde_json::Value)>> {
        let Ok(tag) = manifest::referrers_fallback_tag(subject).parse::<Tag>() else {
            return Ok(Vec::new());
        };
        let stored = match self.get_manifest(repository, &Reference::Tag(tag)).await {
            Ok(stored) => stored,
            Err(RegistryError::ManifestUnknown(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if stored.media_type != manifest::OCI_INDEX {
            return Ok(Vec::new());
        }
        Ok(manifest::fallback_referrers(&stored.body))
    }
}
