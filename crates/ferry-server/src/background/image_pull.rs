//! Which image references the engine must pull, and with which credentials: shared by
//! the build reconciler (before the gates) and the deploy executor (before each start,
//! so an image pruned from the engine since its build is pulled again, not failed).

use crate::registry::own::OwnRegistry;
use ferry_runtime::RegistryCredentials;
use ferry_store::{ServiceRow, Store};

/// Whether `image` is to be pulled (`Some`) and with which credentials: a registry
/// reference pinned by digest is; ferry's registry takes the admin token, another
/// the credentials stored with what the service follows (`None` inside: anonymous).
pub fn pull_credentials(
    store: &Store,
    own_registry: Option<&OwnRegistry>,
    row: &ServiceRow,
    image: &str,
) -> Result<Option<Option<RegistryCredentials>>, String> {
    let Ok(reference) = ferry_scan::image::Reference::parse(image) else {
        return Ok(None);
    };
    if reference.digest.is_none()
        || !ferry_scan::image::reference::looks_like_registry_reference(image)
    {
        return Ok(None);
    }
    if let Some(own) = own_registry.filter(|o| o.is_own(&reference)) {
        return Ok(Some(Some(own.pull_credentials())));
    }
    let follow = store
        .image_follow(&row.id)
        .map_err(|err| format!("cannot read registry credentials: {err}"))?;
    Ok(Some(follow.and_then(|f| match (f.username, f.password) {
        (Some(username), Some(password)) => Some(RegistryCredentials { username, password }),
        _ => None,
    })))
}
