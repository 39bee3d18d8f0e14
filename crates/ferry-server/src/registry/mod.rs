//! Ferry's own registry on the API listener: opens the store under the data dir and
//! mounts the `/v2/` API with the server's access policy. [`own`] is how deploys see it.

pub mod own;

use std::sync::Arc;

use ferry_registry::auth::{Authorizer, StaticAuthorizer};
use ferry_registry::http::{HttpConfig, RouterError};
use ferry_registry::{Limits, Registry, RegistryError};

use crate::data_dir::DataDir;

/// Opens (creating) the registry under the data dir.
pub fn open(data: &DataDir, limits: Limits) -> Result<Registry, RegistryError> {
    Registry::open(data.registry(), limits)
}

/// The server's access policy for `/v2/`: the admin token may do everything.
pub fn authorizer(admin_token: &str) -> Arc<dyn Authorizer> {
    Arc::new(StaticAuthorizer::new(admin_token))
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
