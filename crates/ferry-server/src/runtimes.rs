//! The runtime drivers this server has: always the process driver, and the docker
//! driver when a Docker Engine answered at start-up. Images run on Docker, source
//! directories on the process driver unless they are built into an image (the
//! docker back end of builds).

use ferry_runtime::{Runtime, RuntimeError};
use ferry_types::{RevisionSource, RuntimeKind, SourceKind};
use std::sync::Arc;

/// How `ferry server --runtime` chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeChoice {
    /// Docker when the engine answers, else process only.
    Auto,
    /// Docker required: start-up fails without an engine.
    Docker,
    /// Never talk to Docker.
    Process,
}

#[derive(Clone)]
pub struct Runtimes {
    pub process: Arc<dyn Runtime>,
    pub docker: Option<Arc<dyn Runtime>>,
}

/// What to tell a user who deploys an image to a server without Docker.
pub const NO_DOCKER_MESSAGE: &str = "this server has no container runtime, so it cannot run images: install Docker (e.g. `apt-get install docker.io`), start dockerd, then restart `ferry server` (with --runtime auto or docker); source directories deploy with the process runtime meanwhile";

impl Runtimes {
    /// The driver that runs revisions of a service with this source.
    pub fn for_source(&self, kind: SourceKind) -> Result<&Arc<dyn Runtime>, RuntimeError> {
        match kind {
            SourceKind::Directory => Ok(&self.process),
            SourceKind::Image => self
                .docker
                .as_ref()
                .ok_or_else(|| RuntimeError::Unavailable(NO_DOCKER_MESSAGE.to_string())),
        }
    }

    /// The driver that runs `revision`: an image (pulled, or built from source by the
    /// docker back end) on Docker, a directory as host processes.
    pub fn for_revision(&self, source: &RevisionSource) -> Result<&Arc<dyn Runtime>, RuntimeError> {
        self.for_source(match source {
            RevisionSource::Image { .. } => SourceKind::Image,
            RevisionSource::Directory { .. } => SourceKind::Directory,
        })
    }

    /// The driver a new revision will run on: a source directory whose config says
    /// docker is built into an image and runs there.
    pub fn for_deploy(
        &self,
        kind: SourceKind,
        runtime: Option<RuntimeKind>,
    ) -> Result<&Arc<dyn Runtime>, RuntimeError> {
        match runtime {
            Some(RuntimeKind::Docker) => self.for_source(SourceKind::Image),
            _ => self.for_source(kind),
        }
    }

    pub fn by_kind(&self, kind: RuntimeKind) -> Option<&Arc<dyn Runtime>> {
        match kind {
            RuntimeKind::Process => Some(&self.process),
            RuntimeKind::Docker => self.docker.as_ref(),
        }
    }

    pub fn all(&self) -> Vec<&Arc<dyn Runtime>> {
        let mut all = vec![&self.process];
        all.extend(self.docker.as_ref());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_runtime::FakeRuntime;

    fn runtimes(docker: bool) -> Runtimes {
        Runtimes {
            process: Arc::new(FakeRuntime::new().with_kind(RuntimeKind::Process)),
            docker: docker.then(|| Arc::new(FakeRuntime::new()) as Arc<dyn Runtime>),
        }
    }

    #[test]
    fn a_revision_runs_where_its_source_says_and_docker_builds_need_docker() {
        let both = runtimes(true);
        let image = RevisionSource::Image {
            image: "127.0.0.1:7070/builds/web@sha256:00".into(),
            image_id: Some("sha256:11".into()),
            from_tag: None,
        };
        let dir = RevisionSource::Directory {
            digest: "sha256:22".into(),
        };
        let kind = |r: Result<&Arc<dyn Runtime>, RuntimeError>| r.map(|r| r.kind()).ok();
        assert_eq!(kind(both.for_revision(&image)), Some(RuntimeKind::Docker));
        assert_eq!(kind(both.for_revision(&dir)), Some(RuntimeKind::Process));
        let docker = Some(RuntimeKind::Docker);
        assert_eq!(
            kind(both.for_deploy(SourceKind::Directory, docker)),
            Some(RuntimeKind::Docker)
        );
        assert_eq!(
            kind(both.for_deploy(SourceKind::Directory, None)),
            Some(RuntimeKind::Process)
        );
        let process_only = runtimes(false);
        assert!(process_only
            .for_deploy(SourceKind::Directory, docker)
            .is_err());
        assert!(process_only.for_revision(&image).is_err());
    }
}
