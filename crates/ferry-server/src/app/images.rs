//! The images in ferry's registry as the API shows them: repositories with their tags,
//! digests and sizes; removing a tag or a manifest (never one a revision can still be
//! rolled back to, unless forced); and garbage collection on demand.

use super::{App, AppError};
use crate::background::registry_gc;
use ferry_api::{GcRequest, GcResult, ImageList, ImageRemoved, ImageRepository, ImageTag};
use ferry_registry::{Reference, RegistryError, RepositoryName};
use std::time::Duration;

/// Most repositories one listing shows.
const MAX_REPOSITORIES: usize = 1000;
/// Most tags shown per repository.
const MAX_TAGS: usize = 1000;

impl App {
    /// Every repository (or only `repository`) with its tags.
    pub async fn list_images(&self, repository: Option<&str>) -> Result<ImageList, AppError> {
        let registry = &self.registry.registry;
        let mut list = ImageList::default();
        let names: Vec<String> = match repository {
            Some(name) => {
                vec![parse_repository(name)?.to_string()]
            }
            None => {
                let mut names = Vec::new();
                let mut last: Option<String> = None;
                loop {
                    let page = registry
                        .list_repositories(None, last.as_deref())
                        .await
                        .map_err(registry_error)?;
                    names.extend(page.items);
                    if names.len() >= MAX_REPOSITORIES {
                        list.truncated = page.more || names.len() > MAX_REPOSITORIES;
                        names.truncate(MAX_REPOSITORIES);
                        break;
                    }
                    if !page.more {
                        break;
                    }
                    last = names.last().cloned();
                }
                names
            }
        };
        for name in names {
            let Ok(repository) = name.parse::<RepositoryName>() else {
                continue;
            };
            list.repositories
                .push(self.repository_tags(&repository).await?);
        }
        Ok(list)
    }

    async fn repository_tags(
        &self,
        repository: &RepositoryName,
    ) -> Result<ImageRepository, AppError> {
        let registry = &self.registry.registry;
        let mut names = Vec::new();
        let mut last: Option<String> = None;
        let mut truncated = false;
        loop {
            let page = registry
                .list_tags(repository, None, last.as_deref())
                .await
                .map_err(registry_error)?;
            names.extend(page.items);
            if names.len() >= MAX_TAGS {
                truncated = page.more || names.len() > MAX_TAGS;
                names.truncate(MAX_TAGS);
                break;
            }
            if !page.more {
                break;
            }
            last = names.last().cloned();
        }
        let mut tags = Vec::new();
        for name in names {
            let Ok(reference) = Reference::parse(&name) else {
                continue;
            };
            // A tag removed between the listing and here is simply not shown.
            let Ok(manifest) = registry.get_manifest(repository, &reference).await else {
                continue;
            };
            tags.push(ImageTag {
                tag: name,
                digest: manifest.digest.to_string(),
                size: manifest_size(&manifest.body),
                media_type: manifest.media_type,
            });
        }
        Ok(ImageRepository {
            name: repository.to_string(),
            tags,
            truncated,
        })
    }

    /// Removes `REPO:TAG` (the tag, and its manifest when no other tag and no revision
    /// uses it) or `REPO@DIGEST` (the manifest and every tag on it; refused while a
    /// revision can be rolled back to it, unless `force`). The blobs go at the next gc.
    pub async fn remove_image(
        &self,
        reference: &str,
        force: bool,
    ) -> Result<ImageRemoved, AppError> {
        let registry = &self.registry.registry;
        let (name, reference) = parse_image_reference(reference)?;
        let pins = registry_gc::pins(&self.store, &self.registry)
            .await
            .map_err(|err| AppError::Internal(err.to_string()))?;
        let digest = match &reference {
            Reference::Digest(digest) => digest.clone(),
            Reference::Tag(tag) => registry
                .resolve_tag(&name, tag)
                .await
                .map_err(registry_error)?
                .ok_or_else(|| AppError::not_found(format!("image {name}:{tag}")))?,
        };
        let tags_on = |list: &ImageRepository| -> Vec<String> {
            list.tags
                .iter()
                .filter(|t| t.digest == digest.to_string())
                .map(|t| t.tag.clone())
                .collect()
        };
        let before = self.repository_tags(&name).await?;
        let pinned = pins.digests.contains(&digest);
        match &reference {
            Reference::Tag(tag) => {
                registry
                    .delete_manifest(&name, &reference)
                    .await
                    .map_err(registry_error)?;
                let others = tags_on(&before).into_iter().any(|t| t != tag.as_str());
                let manifest = if others || pinned {
                    None
                } else {
                    match registry
                        .delete_manifest(&name, &Reference::Digest(digest.clone()))
                        .await
                    {
                        Ok(()) => Some(digest.to_string()),
                        // Removed meanwhile by someone else: nothing left to do.
                        Err(RegistryError::ManifestUnknown(_)) => None,
                        Err(err) => return Err(registry_error(err)),
                    }
                };
                Ok(ImageRemoved {
                    repository: name.to_string(),
                    tags: vec![tag.to_string()],
                    manifest,
                })
            }
            Reference::Digest(_) => {
                if pinned && !force {
                    return Err(AppError::Conflict(format!(
                        "{name}@{digest} is the image of a revision that can be rolled back to; \
                         delete that service first, or remove it anyway with --force"
                    )));
                }
                registry
                    .delete_manifest(&name, &reference)
                    .await
                    .map_err(registry_error)?;
                Ok(ImageRemoved {
                    repository: name.to_string(),
                    tags: tags_on(&before),
                    manifest: Some(digest.to_string()),
                })
            }
        }
    }

    /// Collects the registry's garbage now, pinning what revisions use.
    pub async fn registry_gc(&self, request: GcRequest) -> Result<GcResult, AppError> {
        registry_gc::collect(
            &self.store,
            &self.registry,
            request.grace_seconds.map(Duration::from_secs),
            request.dry_run,
        )
        .await
        .map_err(|err| {
            tracing::error!(error = ?err, "registry gc failed");
            AppError::Internal(err.to_string())
        })
    }
}

fn parse_repository(name: &str) -> Result<RepositoryName, AppError> {
    name.parse()
        .map_err(|err| AppError::BadRequest(format!("{name:?} is not a repository name: {err}")))
}

/// `REPO:TAG` or `REPO@DIGEST` (a tag is required: removing `latest` by accident is
/// not a default).
fn parse_image_reference(text: &str) -> Result<(RepositoryName, Reference), AppError> {
    let bad = || {
        AppError::BadRequest(format!(
            "{text:?} is not REPOSITORY:TAG or REPOSITORY@DIGEST"
        ))
    };
    let (name, reference) = match text.split_once('@') {
        Some((name, digest)) => (name, digest),
        None => {
            let (name, tag) = text.rsplit_once(':').ok_or_else(bad)?;
            if tag.contains('/') {
                return Err(bad());
            }
            (name, tag)
        }
    };
    let reference = Reference::parse(reference)
        .map_err(|err| AppError::BadRequest(format!("{text:?}: {err}")))?;
    if text.contains('@') && matches!(reference, Reference::Tag(_)) {
        return Err(bad());
    }
    Ok((parse_repository(name)?, reference))
}

/// Config plus layers as an image manifest states them; None for anything else.
fn manifest_size(body: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut total = value.get("config")?.get("size")?.as_u64()?;
    for layer in value.get("layers")?.as_array()? {
        total = total.checked_add(layer.get("size")?.as_u64()?)?;
    }
    Some(total)
}

fn registry_error(err: RegistryError) -> AppError {
    match err {
        RegistryError::NameUnknown(name) => AppError::not_found(format!("repository {name}")),
        RegistryError::ManifestUnknown(what) => AppError::not_found(format!("image {what}")),
        RegistryError::NameInvalid(what) | RegistryError::DigestInvalid(what) => {
            AppError::BadRequest(what)
        }
        other => {
            tracing::error!(error = ?other, "registry error");
            AppError::Internal(other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_need_a_tag_or_a_digest() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let (name, reference) = parse_image_reference("shop/web:1").unwrap();
        assert_eq!(
            (name.as_str(), reference.to_string().as_str()),
            ("shop/web", "1")
        );
        let (name, reference) = parse_image_reference(&format!("shop/web@{digest}")).unwrap();
        assert_eq!(name.as_str(), "shop/web");
        assert_eq!(reference.to_string(), digest);
        for bad in [
            "shop/web",
            "shop/web@latest",
            "Shop:1",
            "shop/web@sha256:12",
            "a:b/c",
            "",
        ] {
            assert!(
                matches!(parse_image_reference(bad), Err(AppError::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn sizes_add_up_config_and_layers() {
        let image = br#"{"config":{"size":10},"layers":[{"size":5},{"size":7}]}"#;
        assert_eq!(manifest_size(image), Some(22));
        assert_eq!(manifest_size(br#"{"manifests":[{"size":5}]}"#), None);
        assert_eq!(manifest_size(b"not json"), None);
    }
}
