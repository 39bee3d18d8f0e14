//! Pulls an image from an OCI-distribution registry (`/v2/`): manifest (choosing a
//! platform from an index), config and layer blobs, each verified against its digest,
//! into the scan's scratch directory, laid out as an OCI layout. Answers a 401 by
//! following the `Www-Authenticate` challenge: Bearer (token from the realm) or Basic.
//! Loopback registries are spoken to over plain HTTP, others over HTTPS.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::Digest as _;

use super::oci::{
    self, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use super::store::BlobStore;
use super::{split_digest, Image, ImageError, Reference};

const MAX_MANIFEST: usize = 8 * 1024 * 1024;

/// How to reach a registry.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    pub username: Option<String>,
    pub password: Option<String>,
    /// Force plain HTTP (default: only for loopback registries).
    pub plain_http: bool,
    /// Accept any TLS certificate (self-signed test registries).
    pub insecure_tls: bool,
    /// Docker's `config.json` to read credentials from (default `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    reference: Reference,
    credentials: Option<(String, String)>,
    authorization: Option<String>,
}

/// Pulls `reference` into a scratch OCI layout and opens it.
pub async fn pull(reference: &str, options: &RegistryOptions) -> Result<Image, ImageError> {
    let parsed = Reference::parse(reference).map_err(ImageError::Unsupported)?;
    let mut client = Client::new(parsed.clone(), options)?;
    let scratch =
        Arc::new(tempfile::tempdir().map_err(|e| ImageError::io("scratch directory", e))?);
    let dir = scratch.path().to_path_buf();

    let (mut bytes, mut media, mut digest) = client.manifest(parsed.manifest_ref()).await?;
    for _ in 0..3 {
        if media != MEDIA_OCI_INDEX && media != MEDIA_DOCKER_LIST {
            break;
        }
        let index: oci::Index = serde_json::from_slice(&bytes)
            .map_err(|e| client.error(format!("invalid index {digest}: {e}")))?;
        let chosen = oci::choose(&index.manifests, None, &digest)?;
        (bytes, media, digest) = client.manifest(&chosen.digest).await?;
    }
    if media != MEDIA_OCI_MANIFEST && media != MEDIA_DOCKER_MANIFEST {
        return Err(client.error(format!("unsupported manifest type {media}")));
    }
    let manifest: oci::Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| client.error(format!("invalid manifest {digest}: {e}")))?;
    client.blob(&manifest.config.digest, &dir).await?;
    for layer in &manifest.layers {
        client.blob(&layer.digest, &dir).await?;
    }
    let name = parsed.to_string();
    tokio::task::spawn_blocking(move || {
        oci::from_manifest(
            &BlobStore::oci_layout(dir),
            &digest,
            &bytes,
            name,
            Some(scratch),
        )
    })
    .await
    .map_err(|e| ImageError::Unsupported(format!("open task failed: {e}")))?
}

/// The digest a reference names now in its registry (a tag's current manifest or
/// index, hashed as served), without pulling anything else: what push-to-deploy polls.
pub async fn resolve_digest(
    reference: &str,
    options: &RegistryOptions,
) -> Result<String, ImageError> {
    let parsed = Reference::parse(reference).map_err(ImageError::Unsupported)?;
    let mut client = Client::new(parsed.clone(), options)?;
    let (_, _, digest) = client.manifest(parsed.manifest_ref()).await?;
    Ok(digest)
}

impl Client {
    fn new(reference: Reference, options: &RegistryOptions) -> Result<Client, ImageError> {
        // The ring provider is installed once per process; a second install is a no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("ferry-scan/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(15))
            .read_timeout(std::time::Duration::from_secs(120))
            .tls_danger_accept_invalid_certs(options.insecure_tls)
            .build()
            .map_err(|e| ImageError::Registry {
                registry: reference.registry.clone(),
                message: format!("http client: {e}"),
            })?;
        let scheme = if options.plain_http || reference.is_loopback() {
            "http"
        } else {
            "https"
        };
        let base = format!(
            "{scheme}://{}/v2/{}",
            reference.api_host(),
            reference.repository
        );
        let credentials = match (&options.username, &options.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ => docker_config_credentials(options.docker_config.as_deref(), &reference.registry),
        };
        Ok(Client {
            http,
            base,
            reference,
            credentials,
            authorization: None,
        })
    }

    fn error(&self, message: String) -> ImageError {
        ImageError::Registry {
            registry: self.reference.registry.clone(),
            message,
        }
    }

    /// GET with the current authorization, answering one 401 challenge.
    async fn get(&mut self, url: &str, accept: &str) -> Result<reqwest::Response, ImageError> {
        for attempt in 0..2 {
            let mut request = self.http.get(url).header(reqwest::header::ACCEPT, accept);
            if let Some(a) = &self.authorization {
                request = request.header(reqwest::header::AUTHORIZATION, a);
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.error(format!("GET {url}: {e}")))?;
            if response.status() != reqwest::StatusCode::UNAUTHORIZED || attempt == 1 {
                return Ok(response);
            }
            let challenge = response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            self.authorize(&challenge).await?;
        }
        Err(self.error(format!("GET {url}: unauthorized")))
    }

    async fn authorize(&mut self, challenge: &str) -> Result<(), ImageError> {
        let (scheme, params) = parse_challenge(challenge);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => {
                let (u, p) = self.credentials.clone().ok_or_else(|| {
                    self.error("requires credentials (Basic); none configured".into())
                })?;
                self.authorization = Some(basic(&u, &p));
                Ok(())
            }
            "bearer" => {
                let realm = params
                    .iter()
                    .find(|(k, _)| k == "realm")
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.error("Bearer challenge without a realm".into()))?;
                let mut query: Vec<(String, String)> = params
                    .iter()
                    .filter(|(k, _)| k == "service")
                    .cloned()
                    .collect();
                let scope = params
                    .iter()
                    .find(|(k, _)| k == "scope")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository));
                query.push(("scope".into(), scope));
                let mut url = reqwest::Url::parse(&realm)
                    .map_err(|e| self.error(format!("Bearer realm {realm:?}: {e}")))?;
                url.query_pairs_mut().extend_pairs(query.iter());
                let mut request = self.http.get(url);
                if let Some((u, p)) = &self.credentials {
                    request = request.header(reqwest::header::AUTHORIZATION, basic(u, p));
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| self.error(format!("token from {realm}: {e}")))?;
                if !response.status().is_success() {
                    return Err(
                        self.error(format!("token from {realm}: HTTP {}", response.status()))
                    );
                }
                let body: serde_json::Value = response
                    .json()
                    .await
                    .map_err(|e| self.error(format!("token from {realm}: {e}")))?;
                let token = body
                    .get("token")
                    .or_else(|| body.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| {
                        self.error(format!("token from {realm}: no token in the answer"))
                    })?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            _ => Err(self.error(format!("unauthorized; unsupported challenge {challenge:?}"))),
        }
    }

    /// Fetches a manifest or index; returns bytes, media type and digest.
    async fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, String, String), ImageError> {
        let url = format!("{}/manifests/{reference}", self.base);
        let accept = [
            MEDIA_OCI_MANIFEST,
            MEDIA_OCI_INDEX,
            MEDIA_DOCKER_MANIFEST,
            MEDIA_DOCKER_LIST,
        ]
        .join(", ");
        let response = self.get(&url, &accept).await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(self.error(format!(
                "manifest {reference}: HTTP {status}: {}",
                body.trim()
            )));
        }
        let header_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
        // Read in chunks and stopped at the bound: a registry's answer is not trusted
        // to be as small as it says.
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.error(format!("manifest {reference}: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_MANIFEST {
                return Err(self.error(format!("manifest {reference}: over {MAX_MANIFEST} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = super::sha256_digest(&bytes);
        if split_digest(reference).is_some() && reference != digest {
            return Err(ImageError::Digest {
                what: format!("manifest {reference}"),
                expected: reference.to_string(),
                actual: digest,
            });
        }
        let sniffed = oci::sniff_media_type(&bytes);
        let media = match header_type {
            Some(t) if t.contains("manifest") || t.contains("index") => t,
            _ => sniffed,
        };
        Ok((bytes, media, digest))
    }

    /// Streams a blob to `dir/blobs/<alg>/<hex>`, verifying its sha256 digest.
    async fn blob(&mut self, digest: &str, dir: &Path) -> Result<(), ImageError> {
        let path = BlobStore::oci_layout(dir).path(digest)?;
        if path.exists() {
            return Ok(());
        }
        let url = format!("{}/blobs/{digest}", self.base);
        let mut response = self.get(&url, "*/*").await?;
        if !response.status().is_success() {
            return Err(self.error(format!("blob {digest}: HTTP {}", response.status())));
        }
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| ImageError::io(parent, e))?;
        let partial = path.with_extension("partial");
        let mut file = std::fs::File::create(&partial).map_err(|e| ImageError::io(&partial, e))?;
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.error(format!("blob {digest}: {e}")))?
        {
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| ImageError::io(&partial, e))?;
        }
        file.flush().map_err(|e| ImageError::io(&partial, e))?;
        let actual = format!("sha256:{}", super::hex(&hasher.finalize()));
        if digest.starts_with("sha256:") && actual != digest {
            return Err(ImageError::Digest {
                what: format!("blob from {}", self.reference),
                expected: digest.to_string(),
                actual,
            });
        }
        std::fs::rename(&partial, &path).map_err(|e| ImageError::io(&path, e))?;
        Ok(())
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Splits `Bearer realm="…",service="…"` into the scheme and its parameters.
pub fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (true, c) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    (false, c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        params.push((key.to_ascii_lowercase(), value.trim().to_string()));
    }
    (scheme.to_string(), params)
}

/// `auths.<registry>.auth` (base64 `user:password`) from Docker's config.json
/// (`path`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
pub fn docker_config_credentials(path: Option<&Path>, registry: &str) -> Option<(String, String)> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".docker/config.json"),
        },
    };
    let bytes = std::fs::read(path).ok()?;
    let config: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let entry = auths.iter().find(|(k, _)| {
        let host = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        host.split('/').next() == Some(registry)
    })?;
    let encoded = entry.1.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params[0],
            ("realm".into(), "https://auth.example/token".into())
        );
        assert_eq!(params[1], ("service".into(), "registry.example".into()));
        assert_eq!(
            params[2],
            ("scope".into(), "repository:a/b:pull,push".into())
        );
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params.len(), 1);
    }
}
