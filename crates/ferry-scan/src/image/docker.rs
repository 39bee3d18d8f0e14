//! Images in the local Docker Engine: exported through the Engine API (the same
//! docker-archive stream as `docker save`) into the scan's scratch directory.

use std::io::Write as _;
use std::sync::Arc;

use futures_util::StreamExt as _;

use super::{archive, Image, ImageError};

/// Exports `name` (a tag or image id) from the local engine and opens it.
pub async fn open(name: &str) -> Result<Image, ImageError> {
    let docker =
        bollard::Docker::connect_with_local_defaults().map_err(|e| ImageError::Docker {
            message: format!("cannot connect: {e}"),
        })?;
    let inspect = docker
        .inspect_image(name)
        .await
        .map_err(|e| ImageError::Docker {
            message: format!("image {name}: {e}"),
        })?;
    let scratch =
        Arc::new(tempfile::tempdir().map_err(|e| ImageError::io("scratch directory", e))?);
    let tar_path = scratch.path().join("image.tar");
    let mut file = std::fs::File::create(&tar_path).map_err(|e| ImageError::io(&tar_path, e))?;
    // Export by id so a tag moved meanwhile cannot change what is scanned.
    let export_name = inspect.id.clone().unwrap_or_else(|| name.to_string());
    let mut stream = docker.export_image(&export_name);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ImageError::Docker {
            message: format!("export {name}: {e}"),
        })?;
        file.write_all(&chunk)
            .map_err(|e| ImageError::io(&tar_path, e))?;
    }
    file.flush().map_err(|e| ImageError::io(&tar_path, e))?;
    drop(file);
    let opened = tokio::task::spawn_blocking(move || archive::open(&tar_path, Some(scratch)))
        .await
        .map_err(|e| ImageError::Unsupported(format!("open task failed: {e}")))?;
    let mut image = opened?;
    image.name = name.to_string();
    if let Some(id) = inspect.id {
        image.id = Some(id);
    }
    if let Some(tags) = inspect.repo_tags {
        if !tags.is_empty() {
            image.repo_tags = tags;
        }
    }
    Ok(image)
}
