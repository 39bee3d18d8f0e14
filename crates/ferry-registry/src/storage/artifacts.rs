//! What in-process consumers (the server's scanner) need beside the HTTP API: where a
//! blob lies (read-only), the manifests of each repository, and artifacts attached to
//! a manifest as OCI referrers, pushed through the same storage calls as the API.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;

use bytes::Bytes;

use super::fsutil;
use crate::digest::{Algorithm, Digest};
use crate::error::{RegistryError, Result};
use crate::manifest::OCI_MANIFEST;
use crate::name::{Reference, RepositoryName};
use crate::Registry;

/// The OCI empty descriptor's media type and content (`{}`), the config of artifacts.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONTENT: &[u8] = b"{}";
/// The layer annotation naming an artifact's file (oras pulls it under this name).
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// The manifest an artifact refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// Content to attach to a manifest: an SBOM, a scan report, a signature.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The manifest's `artifactType`, also the layer's media type.
    pub artifact_type: String,
    pub content: Bytes,
    /// The layer's file name (`org.opencontainers.image.title`).
    pub title: Option<String>,
    /// The manifest's annotations (shown in referrers lists).
    pub annotations: BTreeMap<String, String>,
}

/// The OCI image manifest (spec v1.1 artifact guidance) attaching a blob of
/// `content_digest` and `content_size` to `subject`: `artifactType` set, the empty
/// config (embedded as `data`), one layer, and `subject`.
pub fn artifact_manifest(
    subject: &Subject,
    artifact: &Artifact,
    content_digest: &Digest,
    content_size: u64,
) -> Vec<u8> {
    let empty = Digest::of(Algorithm::Sha256, EMPTY_CONTENT);
    let mut layer = serde_json::json!({
        "mediaType": artifact.artifact_type,
        "digest": content_digest.to_string(),
        "size": content_size,
    });
    if let Some(title) = &artifact.title {
        layer["annotations"] = serde_json::json!({ TITLE_ANNOTATION: title });
    }
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact.artifact_type,
        "config": {
            "mediaType": EMPTY_MEDIA_TYPE,
            "digest": empty.to_string(),
            "size": EMPTY_CONTENT.len(),
            "data": "e30=",
        },
        "layers": [layer],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest.to_string(),
            "size": subject.size,
        },
    });
    if !artifact.annotations.is_empty() {
        manifest["annotations"] = serde_json::json!(artifact.annotations);
    }
    // A JSON value always serialises.
    serde_json::to_vec(&manifest).unwrap_or_default()
}

impl Registry {
    /// Where `digest`'s content is (or would be) stored. For readers in the same
    /// process; nothing may write there but the registry.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.inner.paths.blob(digest)
    }

    /// Every repository's name, from a synchronous walk of the store (cheap: one
    /// directory per path component). For callers that may block briefly.
    pub fn repository_names_blocking(&self) -> Vec<String> {
        super::manifests::RepositoryWalk::new(self.inner.paths.repositories_dir()).collect()
    }

    /// The manifests of `repository` (digest and media type), in digest order, at
    /// most `limit`.
    pub async fn list_manifests(
        &self,
        repository: &RepositoryName,
        limit: usize,
    ) -> Result<Vec<(Digest, String)>> {
        let dir = self.inner.paths.revisions_dir(repository);
        fsutil::blocking(move || {
            // Names first, bounded to the page (at most `limit + 1` held), then the
            // media types of the page only.
            let mut names = Vec::new();
            for algorithm in fsutil::dir_names(&dir)? {
                let hexes = fsutil::dir_names(&dir.join(&algorithm))?;
                names.push(fsutil::page_of(
                    hexes.map(|hex| format!("{algorithm}:{hex}")),
                    None,
                    limit,
                ));
            }
            let (page, _) = fsutil::page_of(names.into_iter().flat_map(|(n, _)| n), None, limit);
            let mut found = Vec::new();
            for name in page {
                let Ok(digest) = name.parse::<Digest>() else {
                    continue;
                };
                let path = dir.join(digest.algorithm().as_str()).join(digest.hex());
                // A media type is a short line; anything longer is not ours.
                match std::fs::read(&path) {
                    Ok(bytes) if bytes.len() <= 256 => {
                        found.push((digest, String::from_utf8_lossy(&bytes).trim().to_string()));
                    }
                    _ => continue,
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| RegistryError::io("list manifests", e))
    }

    /// Attaches `artifact` to `subject` in `repository` as an OCI referrer: the empty
    /// config and the content as blobs, then the manifest by digest (no tag). Returns
    /// the manifest's digest. Like any push, it emits `ManifestPushed`.
    pub async fn attach_artifact(
        &self,
        repository: &RepositoryName,
        subject: &Subject,
        artifact: &Artifact,
    ) -> Result<Digest> {
        let empty = Digest::of(Algorithm::Sha256, EMPTY_CONTENT);
        self.put_bytes(repository, &empty, Bytes::from_static(EMPTY_CONTENT))
            .await?;
        let content_digest = Digest::of(Algorithm::Sha256, &artifact.content);
        let size = artifact.content.len() as u64;
        self.put_bytes(repository, &content_digest, artifact.content.clone())
            .await?;
        let body = artifact_manifest(subject, artifact, &content_digest, size);
        let digest = Digest::of(Algorithm::Sha256, &body);
        let pushed = self
            .put_manifest(
                repository,
                &Reference::Digest(digest),
                Some(OCI_MANIFEST),
                Bytes::from(body),
            )
            .await?;
        Ok(pushed.digest)
    }

    /// Stores a small blob unless the repository has it already.
    async fn put_bytes(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<()> {
        if self.blob_size(repository, digest).await?.is_some() {
            return Ok(());
        }
        let length = bytes.len() as u64;
        let body = futures_util::stream::iter([Ok::<Bytes, Infallible>(bytes)]);
        self.put_blob(repository, digest, Some(length), body)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_manifests_follow_the_image_spec() {
        let subject = Subject {
            media_type: "application/vnd.docker.distribution.manifest.v2+json".into(),
            digest: Digest::of(Algorithm::Sha256, b"image"),
            size: 527,
        };
        let artifact = Artifact {
            artifact_type: "application/vnd.cyclonedx+json".into(),
            content: Bytes::from_static(b"{\"bomFormat\":\"CycloneDX\"}"),
            title: Some("sbom.cdx.json".into()),
            annotations: BTreeMap::from([(
                "org.opencontainers.image.created".to_string(),
                "2026-01-02T03:04:05Z".to_string(),
            )]),
        };
        let content = Digest::of(Algorithm::Sha256, &artifact.content);
        let body = artifact_manifest(&subject, &artifact, &content, 25);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["schemaVersion"], 2);
        assert_eq!(value["mediaType"], OCI_MANIFEST);
        assert_eq!(value["artifactType"], "application/vnd.cyclonedx+json");
        assert_eq!(value["config"]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(
            value["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(value["config"]["size"], 2);
        assert_eq!(value["config"]["data"], "e30=");
        assert_eq!(
            value["layers"][0]["mediaType"],
            "application/vnd.cyclonedx+json"
        );
        assert_eq!(value["layers"][0]["digest"], content.to_string());
        assert_eq!(value["layers"][0]["size"], 25);
        assert_eq!(
            value["layers"][0]["annotations"][TITLE_ANNOTATION],
            "sbom.cdx.json"
        );
        assert_eq!(value["subject"]["digest"], subject.digest.to_string());
        assert_eq!(value["subject"]["mediaType"], subject.media_type);
        assert_eq!(value["subject"]["size"], 527);
        assert_eq!(
            value["annotations"]["org.opencontainers.image.created"],
            "2026-01-02T03:04:05Z"
        );
        // The registry's own parser (oci-spec) reads it as an image manifest whose
        // referrers-list descriptor carries the artifact type.
        let parsed = crate::manifest::parse(Some(OCI_MANIFEST), &body).unwrap();
        assert_eq!(parsed.subject, Some(subject.digest.clone()));
        assert_eq!(
            parsed.artifact_type.as_deref(),
            Some("application/vnd.cyclonedx+json")
        );
        assert_eq!(
            parsed.blobs,
            vec![Digest::of(Algorithm::Sha256, EMPTY_CONTENT), content]
        );
    }
}
