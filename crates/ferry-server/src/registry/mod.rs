//! Ferry's own registry on the API listener: opens the store under the data dir,
//! mounts the `/v2/` API with the server's access policy ([`access`]), and knows which
//! image references point into it ([`LocalHosts`]). [`own`] is how deploys see it.

pub mod own;

pub mod access;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use access::{StoreAuthorizer, TokenCache};
use ferry_api::TaskStatus;
use ferry_registry::auth::Authorizer;
use ferry_registry::http::{HttpConfig, RouterError};
use ferry_registry::{Limits, Reference, Registry, RegistryError, RepositoryName};

use crate::data_dir::DataDir;

/// Opens (creating) the registry under the data dir.
pub fn open(data: &DataDir, limits: Limits) -> Result<Registry, RegistryError> {
    Registry::open(data.registry(), limits)
}

/// The registry and what the rest of the server needs around it: the token cache the
/// app layer drops on every change, the hosts that name it, the gc task's status.
pub struct LocalRegistry {
    pub registry: Registry,
    pub tokens: Arc<TokenCache>,
    pub hosts: LocalHosts,
    /// The scheduled gc's last outcome (`ferry status` shows it when it fails).
    pub gc_status: Mutex<TaskStatus>,
    /// Where the registry scans keep their records: gc removes those of manifests
    /// it removed.
    pub scans_dir: Option<std::path::PathBuf>,
}

impl LocalRegistry {
    pub fn new(registry: Registry, tokens: Arc<TokenCache>, hosts: LocalHosts) -> LocalRegistry {
        LocalRegistry {
            registry,
            tokens,
            hosts,
            gc_status: Mutex::new(TaskStatus {
                task: "registry-gc".into(),
                key: "registry".into(),
                ..TaskStatus::default()
            }),
            scans_dir: None,
        }
    }

    /// Lets gc remove the scan records (`<data>/scans/`) of manifests it removed.
    pub fn with_scans_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.scans_dir = Some(dir);
        self
    }
}

impl LocalRegistry {
    /// The scheduled gc's last outcome.
    pub fn gc_status(&self) -> TaskStatus {
        self.gc_status
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

/// The server's access policy for `/v2/`: the admin token, scoped tokens from the
/// store, anonymous pull for `anonymous_pull`.
pub fn authorizer(
    admin_token: Arc<str>,
    tokens: Arc<TokenCache>,
    anonymous_pull: &[String],
) -> Arc<dyn Authorizer> {
    let globs = anonymous_pull
        .iter()
        .map(|g| ferry_registry::RepositoryPattern::new(g))
        .collect();
    Arc::new(StoreAuthorizer::new(admin_token, tokens, globs))
}

/// The `/v2/` routes, to be merged beside the API (outside its token check and body
/// limits: the registry checks credentials itself and streams bodies).
pub fn routes(
    registry: Registry,
    authorizer: Arc<dyn Authorizer>,
) -> Result<axum::Router, RouterError> {
    ferry_registry::http::router(
        registry,
        authorizer,
        HttpConfig {
            service: "ferry".to_string(),
            ..HttpConfig::default()
        },
    )
}

/// Checks a repository glob (for tokens and anonymous pull): the characters of
/// repository names plus `*`, at most 255 bytes.
pub fn check_glob(glob: &str) -> Result<(), String> {
    if glob.is_empty() || glob.len() > 255 {
        return Err(format!(
            "repository pattern {glob:?} must be 1 to 255 characters"
        ));
    }
    if let Some(bad) = glob
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '/' | '*'))
    {
        return Err(format!(
            "repository pattern {glob:?} has {bad:?}: use lowercase letters, digits, '.', '_', '-', '/' and '*'"
        ));
    }
    Ok(())
}

/// The `host:port` forms an image reference uses to name ferry's registry: the API's
/// address, and, when the API listens on loopback (or everywhere), `localhost`, and
/// any loopback address, each with the API's port (one rule: [`own::names_api`]).
#[derive(Debug, Clone)]
pub struct LocalHosts {
    api: SocketAddr,
    primary: String,
}

impl LocalHosts {
    pub fn new(api: SocketAddr) -> LocalHosts {
        let primary = if api.ip().is_loopback() || api.ip().is_unspecified() {
            format!("localhost:{}", api.port())
        } else {
            api.to_string()
        };
        LocalHosts { api, primary }
    }

    /// The name images are shown with: `localhost:<port>` on loopback.
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// Whether `host` (`name:port`) names ferry's registry.
    pub fn names(&self, host: &str) -> bool {
        own::names_api(host, self.api)
    }

    /// The repository and tag or digest of `image` when it names ferry's registry
    /// (`localhost:7070/shop/web:1`, `127.0.0.1:7070/shop/web@sha256:…`; no tag means
    /// `latest`; with both, the digest wins), else None.
    pub fn parse(&self, image: &str) -> Option<(RepositoryName, Reference)> {
        let (host, rest) = image.split_once('/')?;
        if !self.names(host) {
            return None;
        }
        let (name, reference) = match rest.split_once('@') {
            Some((name, digest)) => {
                // A tag beside the digest says nothing more.
                let name = name
                    .rsplit_once(':')
                    .filter(|(_, tag)| !tag.contains('/'))
                    .map_or(name, |(name, _)| name);
                (name, Reference::Digest(digest.parse().ok()?))
            }
            None => match rest.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, Reference::parse(tag).ok()?),
                _ => (rest, Reference::parse("latest").ok()?),
            },
        };
        Some((name.parse().ok()?, reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_image_references_are_recognised() {
        let hosts = LocalHosts::new("127.0.0.1:7070".parse().unwrap());
        let digest = format!("sha256:{}", "a".repeat(64));
        let parse = |image: &str| {
            hosts
                .parse(image)
                .map(|(name, reference)| format!("{name} {reference}"))
        };
        assert_eq!(
            parse("localhost:7070/shop/web:1").as_deref(),
            Some("shop/web 1")
        );
        assert_eq!(
            parse("LOCALHOST:7070/shop/web").as_deref(),
            Some("shop/web latest")
        );
        assert_eq!(
            parse(&format!("127.0.0.1:7070/shop/web@{digest}")),
            Some(format!("shop/web {digest}"))
        );
        assert_eq!(
            parse(&format!("[::1]:7070/a:v2@{digest}")),
            Some(format!("a {digest}"))
        );
        for other in [
            "localhost:7071/shop/web:1",
            "registry.example/shop/web:1",
            "busybox:1",
            "shop/web",
            "localhost:7070/Shop:1",
            "localhost:7070/shop@sha256:short",
            "localhost:7070/",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
        let any = LocalHosts::new("0.0.0.0:7000".parse().unwrap());
        assert!(any.parse("0.0.0.0:7000/x:1").is_some());
        assert!(any.parse("localhost:7000/x:1").is_some());
    }

    #[test]
    fn globs_are_checked() {
        for good in ["shop/*", "*", "shop/web", "a.b_c-d/*/e"] {
            assert_eq!(check_glob(good), Ok(()), "{good}");
        }
        for bad in ["", "Shop/*", "shop web", "shop/?", &"a".repeat(256)] {
            assert!(check_glob(bad).is_err(), "{bad}");
        }
    }
}
