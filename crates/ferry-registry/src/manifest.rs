//! Manifest parsing (OCI image manifest and index, Docker schema 2 manifest and
//! manifest list, through `oci-spec`), what a manifest references, and `Accept`
//! negotiation.

use std::collections::HashMap;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::RegistryError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/// Layers a registry is not expected to hold (Windows base layers): a manifest may
/// name them with `urls` without pushing them.
const FOREIGN_LAYERS: [&str; 4] = [
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

/// The manifest media types the registry stores.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An image manifest (config + layers).
    Image,
    /// An index or manifest list (child manifests).
    Index,
}

/// What the registry needs to know about a pushed manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedManifest {
    pub media_type: String,
    pub kind: Kind,
    /// Config and layers that must be blobs of the repository.
    pub blobs: Vec<Digest>,
    /// Child manifests that must be manifests of the repository.
    pub manifests: Vec<Digest>,
    pub subject: Option<Digest>,
    /// The `artifactType` of its referrers-list descriptor: the manifest's own, else
    /// (image manifests only) its config's media type.
    pub artifact_type: Option<String>,
    pub annotations: Option<HashMap<String, String>>,
}

/// The fields read before choosing which structure to parse.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<serde_json::Value>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
}

/// The media type of a header value, without parameters.
pub fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

/// Parses and checks a pushed manifest. `content_type` is the request's
/// `Content-Type` (parameters ignored).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let invalid = |msg: String| RegistryError::ManifestInvalid(msg);
    let probe: Probe =
        serde_json::from_slice(body).map_err(|e| invalid(format!("not a JSON manifest: {e}")))?;
    let declared = content_type.map(essence).filter(|ct| !ct.is_empty());
    if let Some(ct) = declared {
        if DOCKER_SCHEMA1.contains(&ct) {
            return Err(invalid(
                "Docker schema 1 manifests are not supported".into(),
            ));
        }
    }
    let header_type = declared.filter(|ct| MANIFEST_MEDIA_TYPES.contains(ct));
    let media_type = match (&probe.media_type, header_type) {
        (Some(body_type), Some(header)) if body_type != header => {
            return Err(invalid(format!(
                "mediaType {body_type:?} differs from Content-Type {header:?}"
            )));
        }
        (Some(body_type), _) => body_type.clone(),
        (None, Some(header)) => header.to_string(),
        // Neither says: infer as Distribution does.
        (None, None) if probe.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) if probe.config.is_some() => OCI_MANIFEST.to_string(),
        (None, None) => {
            return Err(invalid(
                "no mediaType, and neither config nor manifests to infer it from".into(),
            ))
        }
    };
    match probe.schema_version.as_ref().and_then(|v| v.as_u64()) {
        Some(2) => {}
        Some(1) => {
            return Err(invalid(
                "Docker schema 1 manifests are not supported".into(),
            ))
        }
        _ => return Err(invalid("schemaVersion must be 2".into())),
    }
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => parse_image(media_type, body),
        OCI_INDEX | DOCKER_MANIFEST_LIST => parse_index(media_type, body),
        other => Err(invalid(format!(
            "media type {other:?} is not a manifest type this registry stores ({})",
            MANIFEST_MEDIA_TYPES.join(", ")
        ))),
    }
}

fn parse_image(media_type: String, body: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let manifest = ImageManifest::from_reader(body)
        .map_err(|e| RegistryError::ManifestInvalid(format!("image manifest: {e}")))?;
    let mut blobs = vec![descriptor_digest(manifest.config())?];
    for layer in manifest.layers() {
        let foreign = FOREIGN_LAYERS.contains(&layer.media_type().as_ref())
            && layer.urls().as_ref().is_some_and(|u| !u.is_empty());
        if !foreign {
            blobs.push(descriptor_digest(layer)?);
        }
    }
    let artifact_type = manifest
        .artifact_type()
        .as_ref()
        .map(|t| t.to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| Some(manifest.config().media_type().to_string()));
    Ok(ParsedManifest {
        media_type,
        kind: Kind::Image,
        blobs,
        manifests: Vec::new(),
        subject: manifest
            .subject()
            .as_ref()
            .map(descriptor_digest)
            .transpose()?,
        artifact_type,
        annotations: manifest.annotations().clone(),
    })
}

fn parse_index(media_type: String, body: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let index = ImageIndex::from_reader(body)
        .map_err(|e| RegistryError::ManifestInvalid(format!("image index: {e}")))?;
    let manifests = index
        .manifests()
        .iter()
        .map(descriptor_digest)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedManifest {
        media_type,
        kind: Kind::Index,
        blobs: Vec::new(),
        manifests,
        subject: index
            .subject()
            .as_ref()
            .map(descriptor_digest)
            .transpose()?,
        artifact_type: index
            .artifact_type()
            .as_ref()
            .map(|t| t.to_string())
            .filter(|t| !t.is_empty()),
        annotations: index.annotations().clone(),
    })
}

fn descriptor_digest(descriptor: &Descriptor) -> Result<Digest, RegistryError> {
    let text = descriptor.digest().to_string();
    text.parse()
        .map_err(|e| RegistryError::ManifestBlobUnknown(format!("descriptor digest {text:?}: {e}")))
}

/// The descriptor a referrers list holds for a manifest with a subject.
pub fn referrer_descriptor(
    parsed: &ParsedManifest,
    digest: &Digest,
    size: u64,
) -> serde_json::Value {
    let mut descriptor = serde_json::json!({
        "mediaType": parsed.media_type,
        "digest": digest.to_string(),
        "size": size,
    });
    if let Some(artifact_type) = &parsed.artifact_type {
        descriptor["artifactType"] = artifact_type.clone().into();
    }
    if let Some(annotations) = &parsed.annotations {
        descriptor["annotations"] = serde_json::json!(annotations);
    }
    descriptor
}

/// The tag under which clients of registries without the referrers API keep an
/// index of `subject`'s referrers (the spec's tag schema): `<alg>-<hex>`, the hex
/// cut to 64 characters.
pub fn referrers_fallback_tag(subject: &Digest) -> String {
    let hex = subject.hex();
    format!(
        "{}-{}",
        subject.algorithm().as_str(),
        &hex[..hex.len().min(64)]
    )
}

/// The descriptors of a referrers fallback index, each with its digest; entries
/// that are not well-formed manifest descriptors (a digest, a media type, a size)
/// are skipped, keeping only the descriptor fields a referrers list carries.
pub fn fallback_referrers(index: &[u8]) -> Vec<(Digest, serde_json::Value)> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(index) else {
        return Vec::new();
    };
    let Some(entries) = value["manifests"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let digest: Digest = entry["digest"].as_str()?.parse().ok()?;
            let media_type = entry["mediaType"].as_str()?;
            let size = entry["size"].as_u64()?;
            let mut descriptor = serde_json::json!({
                "mediaType": media_type,
                "digest": digest.to_string(),
                "size": size,
            });
            if let Some(artifact_type) = entry["artifactType"].as_str() {
                descriptor["artifactType"] = artifact_type.into();
            }
            if entry["annotations"].is_object() {
                descriptor["annotations"] = entry["annotations"].clone();
            }
            Some((digest, descriptor))
        })
        .collect()
}

/// Whether an `Accept` header (all its values, joined) admits `media_type`. No header,
/// or an empty one, admits everything; so do `*/*` and `type/*`; `q=0` excludes.
pub fn accepts(accept: &[&str], media_type: &str) -> bool {
    let mut any = false;
    let (main_type, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    for value in accept {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or_default().trim();
            if range.is_empty() {
                continue;
            }
            any = true;
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            let matches = range == "*/*"
                || range.eq_ignore_ascii_case(media_type)
                || range
                    .strip_suffix("/*")
                    .is_some_and(|t| t.eq_ignore_ascii_case(main_type));
            if matches {
                return true;
            }
        }
    }
    !any
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    const D2: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

    fn image(media_type: Option<&str>) -> String {
        let mt = media_type
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":32}}]}}"#
        )
    }

    #[test]
    fn parses_an_image_manifest() {
        let parsed = parse(Some(OCI_MANIFEST), image(Some(OCI_MANIFEST)).as_bytes()).unwrap();
        assert_eq!(parsed.kind, Kind::Image);
        assert_eq!(parsed.media_type, OCI_MANIFEST);
        assert_eq!(parsed.blobs, vec![D1.parse().unwrap(), D2.parse().unwrap()]);
        assert_eq!(
            parsed.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        // Inferred without any media type; parameters on Content-Type are ignored.
        let inferred = parse(None, image(None).as_bytes()).unwrap();
        assert_eq!(inferred.media_type, OCI_MANIFEST);
        let with_params = parse(
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            image(None).as_bytes(),
        )
        .unwrap();
        assert_eq!(with_params.media_type, OCI_MANIFEST);
    }

    #[test]
    fn refuses_mismatch_and_garbage() {
        assert!(matches!(
            parse(Some(DOCKER_MANIFEST), image(Some(OCI_MANIFEST)).as_bytes()),
            Err(RegistryError::ManifestInvalid(_))
        ));
        for bad in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"schemaVersion":1,"config":{}}"#,
            r#"{"schemaVersion":2,"mediaType":"text/plain"}"#,
            r#"{"schemaVersion":2,"config":{"digest":"sha256:zz"}}"#,
        ] {
            assert!(parse(None, bad.as_bytes()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parses_an_index_with_subject() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","artifactType":"application/x.sig","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":7}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":9}},"annotations":{{"a":"b"}}}}"#
        );
        let parsed = parse(Some(OCI_INDEX), body.as_bytes()).unwrap();
        assert_eq!(parsed.kind, Kind::Index);
        assert_eq!(parsed.manifests, vec![D1.parse().unwrap()]);
        assert_eq!(parsed.subject, Some(D2.parse().unwrap()));
        let d: Digest = D1.parse().unwrap();
        let desc = referrer_descriptor(&parsed, &d, 10);
        assert_eq!(desc["artifactType"], "application/x.sig");
        assert_eq!(desc["annotations"]["a"], "b");
    }

    #[test]
    fn accept_negotiation() {
        assert!(accepts(&[], OCI_MANIFEST));
        assert!(accepts(&[""], OCI_MANIFEST));
        assert!(accepts(&["*/*"], OCI_MANIFEST));
        assert!(accepts(&["application/*"], OCI_MANIFEST));
        assert!(accepts(
            &[
                DOCKER_MANIFEST,
                "application/vnd.oci.image.manifest.v1+json; q=0.5"
            ],
            OCI_MANIFEST
        ));
        assert!(!accepts(&[DOCKER_MANIFEST], OCI_MANIFEST));
        assert!(!accepts(
            &["application/vnd.oci.image.manifest.v1+json;q=0"],
            OCI_MANIFEST
        ));
    }
}
