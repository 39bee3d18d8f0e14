//! Image builds with the classic builder and pushes through the engine's API: the
//! build context is streamed from a tar file to `POST /build` (BuildKit builds are
//! `buildkit.rs`), and its progress goes to the caller as it comes; a push sends an
//! image to its registry with the given credentials.

use super::{docker_error, is_not_found, DockerRuntime};
use crate::{BuildOutput, ImageBuildSpec, RegistryCredentials, RuntimeError};
use bollard::auth::DockerCredentials;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::{BuildImageOptions, PushImageOptions};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt as _;

/// Bytes of the context read per request body chunk.
const CONTEXT_CHUNK: usize = 256 * 1024;

impl DockerRuntime {
    pub(super) async fn build(
        &self,
        spec: &ImageBuildSpec,
        output: BuildOutput<'_>,
    ) -> Result<String, RuntimeError> {
        let file = tokio::fs::File::open(&spec.context)
            .await
            .map_err(|source| RuntimeError::Io {
                context: "opening the build context".to_string(),
                source,
            })?;
        // The context is streamed: never all of it in memory.
        let body = futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut chunk = vec![0u8; CONTEXT_CHUNK];
            match file.read(&mut chunk).await {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok(bytes::Bytes::from(chunk)), Some(file)))
                }
                Err(err) => Some((Err(err), None)),
            }
        });
        let options = BuildImageOptions {
            dockerfile: spec.dockerfile.clone(),
            t: Some(spec.tag.clone()),
            labels: Some(spec.labels.clone()),
            // Intermediate containers go, failed or not.
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let mut progress =
            self.docker
                .build_image(options, None, Some(bollard::body_try_stream(body)));
        while let Some(item) = progress.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream.as_deref().or(info.status.as_deref()) {
                        output(text);
                    }
                }
                Err(DockerError::DockerStreamError { error }) => {
                    output(&format!("{error}\n"));
                    return Err(RuntimeError::BuildFailed(error));
                }
                Err(err) => return Err(docker_error(format!("building {}", spec.tag))(err)),
            }
        }
        self.built_image_id(&spec.tag).await
    }

    /// The id of the image a build just tagged `tag` (either builder).
    pub(super) async fn built_image_id(&self, tag: &str) -> Result<String, RuntimeError> {
        let inspect = self.docker.inspect_image(tag).await.map_err(|err| {
            if is_not_found(&err) {
                RuntimeError::BuildFailed(format!("the build produced no image {tag}"))
            } else {
                docker_error(format!("inspecting {tag}"))(err)
            }
        })?;
        inspect
            .id
            .ok_or_else(|| RuntimeError::BuildFailed(format!("{tag} has no id")))
    }

    pub(super) async fn push(
        &self,
        image: &str,
        credentials: Option<&RegistryCredentials>,
        output: BuildOutput<'_>,
    ) -> Result<(), RuntimeError> {
        let (name, tag) = split_tag(image);
        let registry = name.split('/').next().unwrap_or_default().to_string();
        let credentials = credentials.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(registry),
            ..Default::default()
        });
        let mut progress = self.docker.push_image(
            name,
            Some(PushImageOptions {
                tag: Some(tag.to_string()),
                ..Default::default()
            }),
            credentials,
        );
        while let Some(item) = progress.next().await {
            match item {
                Ok(info) => {
                    // Layer progress bars are noise in a log; statuses are kept.
                    if info.progress_detail.is_none() {
                        if let Some(status) = &info.status {
                            output(&format!("{status}\n"));
                        }
                    }
                }
                Err(DockerError::DockerStreamError { error }) => {
                    return Err(RuntimeError::BuildFailed(format!(
                        "pushing {image}: {error}"
                    )))
                }
                Err(err) => return Err(docker_error(format!("pushing {image}"))(err)),
            }
        }
        Ok(())
    }
}

/// `host:5000/repo:tag` → (`host:5000/repo`, `tag`); `latest` when there is none.
fn split_tag(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_after_the_registry_port() {
        assert_eq!(
            split_tag("127.0.0.1:5000/builds/web:r3"),
            ("127.0.0.1:5000/builds/web", "r3")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/builds/web"),
            ("127.0.0.1:5000/builds/web", "latest")
        );
        assert_eq!(split_tag("web"), ("web", "latest"));
    }
}
