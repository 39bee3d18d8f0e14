//! The runtime drivers this server has: always the process driver, and the docker
//! driver when a Docker Engine answered at start-up.

use ferry_runtime::{Runtime, RuntimeError};
use ferry_types::{RuntimeKind, SourceKind};
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
