//! Ferry's registry as deploys see it: which image references name it (its host is
//! the API's address), what a tag points at now, the port an image exposes, and the
//! credentials the engine pulls from it with.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ferry_registry::{Digest, Reference as RegistryRef, Registry, RegistryError, RepositoryName};
use ferry_runtime::RegistryCredentials;
use ferry_scan::image::Reference;
use tokio::io::AsyncReadExt as _;

/// The user name `docker login` uses with the admin token.
pub const ADMIN_USER: &str = "ferry";

/// Bytes of an image config read to find its exposed port.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Ferry's registry, reachable on the API listener.
#[derive(Clone)]
pub struct OwnRegistry {
    pub registry: Registry,
    api_addr: SocketAddr,
    token: Arc<str>,
}

impl OwnRegistry {
    pub fn new(registry: Registry, api_addr: SocketAddr, token: Arc<str>) -> Self {
        Self {
            registry,
            api_addr,
            token,
        }
    }

    /// Whether `reference` is in ferry's registry: its host is `localhost`, a loopback
    /// address or the API's address, with the API's port.
    pub fn is_own(&self, reference: &Reference) -> bool {
        names_api(&reference.registry, self.api_addr)
    }

    /// Where the docker back end pushes revision `number` of `service`: a repository
    /// of its own under `builds/`, named by the API's address (the engine treats a
    /// loopback registry as insecure, so plain HTTP works).
    pub fn build_image_name(&self, service: &str, number: u32) -> String {
        format!("{}/builds/{service}:r{number}", self.api_addr)
    }

    /// What the engine pulls from ferry's registry with: the admin token.
    pub fn pull_credentials(&self) -> RegistryCredentials {
        RegistryCredentials {
            username: ADMIN_USER.to_string(),
            password: self.token.to_string(),
        }
    }

    /// The digest `reference` names now: its tag's (`latest` when it has none), or
    /// its digest if the repository has that manifest. `None` when it names nothing.
    pub async fn resolve(&self, reference: &Reference) -> Result<Option<String>, String> {
        let repository: RepositoryName = reference
            .repository
            .parse()
            .map_err(|e| format!("{reference}: {e}"))?;
        let wanted = match &reference.digest {
            Some(digest) => RegistryRef::Digest(
                digest
                    .parse::<Digest>()
                    .map_err(|e| format!("{reference}: {e}"))?,
            ),
            None => RegistryRef::Tag(
                reference
                    .tag
                    .as_deref()
                    .unwrap_or("latest")
                    .parse()
                    .map_err(|e| format!("{reference}: {e}"))?,
            ),
        };
        match self.registry.get_manifest(&repository, &wanted).await {
            Ok(manifest) => Ok(Some(manifest.digest.to_string())),
            Err(RegistryError::ManifestUnknown(_)) | Err(RegistryError::NameUnknown(_)) => Ok(None),
            Err(e) => Err(format!("reading {reference} from ferry's registry: {e}")),
        }
    }

    /// The one TCP port the image's config exposes, if it exposes exactly one (for an
    /// index: its linux/amd64 image, else its first). Best effort: `None` on anything
    /// unexpected, and the service's default port applies.
    pub async fn exposed_port(&self, repository: &str, digest: &str) -> Option<u16> {
        let repository: RepositoryName = repository.parse().ok()?;
        let mut digest: Digest = digest.parse().ok()?;
        for _ in 0..2 {
            let manifest = self
                .registry
                .get_manifest(&repository, &RegistryRef::Digest(digest.clone()))
                .await
                .ok()?;
            let body: serde_json::Value = serde_json::from_slice(&manifest.body).ok()?;
            if let Some(children) = body.get("manifests").and_then(|m| m.as_array()) {
                let chosen = children
                    .iter()
                    .find(|m| {
                        m.pointer("/platform/os").and_then(|v| v.as_str()) == Some("linux")
                            && m.pointer("/platform/architecture").and_then(|v| v.as_str())
                                == Some("amd64")
                    })
                    .or_else(|| children.first())?;
                digest = chosen.get("digest")?.as_str()?.parse().ok()?;
                continue;
            }
            let config: Digest = body.pointer("/config/digest")?.as_str()?.parse().ok()?;
            let (content, size) = self.registry.open_blob(&repository, &config).await.ok()?;
            if size > MAX_CONFIG_BYTES {
                return None;
            }
            let bytes = match content {
                ferry_registry::BlobContent::Bytes(bytes) => bytes.to_vec(),
                ferry_registry::BlobContent::File(file) => {
                    let mut bytes = Vec::new();
                    tokio::fs::File::from_std(file)
                        .take(MAX_CONFIG_BYTES)
                        .read_to_end(&mut bytes)
                        .await
                        .ok()?;
                    bytes
                }
            };
            let config: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            let exposed = config.pointer("/config/ExposedPorts")?.as_object()?;
            let tcp: Vec<u16> = exposed
                .keys()
                .filter_map(|key| {
                    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
                    (proto == "tcp").then(|| port.parse().ok()).flatten()
                })
                .collect();
            return match tcp.as_slice() {
                [port] => Some(*port),
                _ => None,
            };
        }
        None
    }
}

/// Whether the registry host `host` (`name:port`, `[v6]:port`) is the API at `api`.
pub(crate) fn names_api(host: &str, api: SocketAddr) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once("]:") {
            Some((name, port)) => (name, port),
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, port),
            None => return false,
        },
    };
    if port.parse::<u16>().ok() != Some(api.port()) {
        return false;
    }
    let api_ip = api.ip();
    let loopback_api = api_ip.is_loopback() || api_ip.is_unspecified();
    if name.eq_ignore_ascii_case("localhost") {
        return loopback_api;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => ip == api_ip || (ip.is_loopback() && loopback_api),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_address_names_ferrys_registry() {
        let api: SocketAddr = "127.0.0.1:7070".parse().unwrap();
        assert!(names_api("localhost:7070", api));
        assert!(names_api("127.0.0.1:7070", api));
        assert!(names_api("[::1]:7070", api));
        assert!(!names_api("localhost:7071", api));
        assert!(!names_api("localhost", api));
        assert!(!names_api("registry.example:7070", api));
        assert!(!names_api("10.0.0.1:7070", api));
        let public: SocketAddr = "10.1.2.3:7070".parse().unwrap();
        assert!(names_api("10.1.2.3:7070", public));
        assert!(!names_api("localhost:7070", public));
    }

    fn sha256(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(bytes);
        format!(
            "sha256:{}",
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    async fn put_blob(registry: &Registry, repository: &RepositoryName, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let body = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            bytes::Bytes::copy_from_slice(bytes),
        )]);
        registry
            .put_blob(
                repository,
                &digest.parse().unwrap(),
                Some(bytes.len() as u64),
                body,
            )
            .await
            .unwrap();
        digest
    }

    #[tokio::test]
    async fn tags_resolve_to_digests_and_the_exposed_port_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path(), ferry_registry::Limits::default()).unwrap();
        let own = OwnRegistry::new(
            registry.clone(),
            "127.0.0.1:7070".parse().unwrap(),
            Arc::from("token"),
        );
        let repository: RepositoryName = "shop/web".parse().unwrap();
        let config = br#"{"architecture":"amd64","os":"linux","config":{"ExposedPorts":{"9000/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = put_blob(&registry, &repository, config).await;
        let layer_digest = put_blob(&registry, &repository, b"layer").await;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":5}}]}}"#,
            config.len()
        );
        let mut events = registry.subscribe();
        registry
            .put_manifest(
                &repository,
                &RegistryRef::Tag("latest".parse().unwrap()),
                Some("application/vnd.oci.image.manifest.v1+json"),
                bytes::Bytes::from(manifest.clone()),
            )
            .await
            .unwrap();
        assert!(matches!(
            events.recv().await.unwrap(),
            ferry_registry::RegistryEvent::ManifestPushed { tag: Some(_), .. }
        ));
        let digest = sha256(manifest.as_bytes());
        let latest = Reference::parse("localhost:7070/shop/web").unwrap();
        assert!(own.is_own(&latest));
        assert_eq!(own.resolve(&latest).await.unwrap(), Some(digest.clone()));
        let pinned = Reference::parse(&format!("localhost:7070/shop/web@{digest}")).unwrap();
        assert_eq!(own.resolve(&pinned).await.unwrap(), Some(digest.clone()));
        for missing in ["localhost:7070/shop/web:nope", "localhost:7070/shop/none:1"] {
            let missing = Reference::parse(missing).unwrap();
            assert_eq!(own.resolve(&missing).await.unwrap(), None);
        }
        assert_eq!(own.exposed_port("shop/web", &digest).await, Some(9000));
        assert_eq!(own.pull_credentials().username, ADMIN_USER);
    }
}
