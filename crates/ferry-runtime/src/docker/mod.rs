//! The docker driver: instances are containers in the local Docker Engine (bollard),
//! found again after a restart of ferry through their `ferry.*` labels, with ports
//! published on 127.0.0.1 only and output followed into the instance's log file.
//! Images are built from a context archive and pushed through the engine (`build.rs`).

mod build;
mod buildkit;
mod logs;

use crate::logs::LogLimits;
use crate::{
    check_instance_id, lock, InstanceSpec, RegistryCredentials, ResolvedImage, RunStatus, Runtime,
    RuntimeError, RuntimeInstance, Workload,
};
use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerState, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, HostConfig, HostConfigLogConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions,
    RemoveContainerOptions, RemoveImageOptionsBuilder, StopContainerOptions,
};
use bollard::Docker;
use ferry_types::{InstanceId, RevisionId, RuntimeKind, ServiceId};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// Label set on every container ferry creates; `list()` filters on it.
pub const LABEL_MANAGED: &str = "ferry.managed";
/// Which ferry server owns the container; see [`DockerRuntime::with_namespace`].
pub const LABEL_NAMESPACE: &str = "ferry.namespace";
/// Namespace of a driver that was not given one.
pub const DEFAULT_NAMESPACE: &str = "default";
pub const LABEL_INSTANCE_ID: &str = "ferry.instance-id";
pub const LABEL_SERVICE_ID: &str = "ferry.service-id";
pub const LABEL_SERVICE: &str = "ferry.service";
pub const LABEL_REVISION_ID: &str = "ferry.revision-id";
pub const LABEL_HOST_PORT: &str = "ferry.host-port";
pub const LABEL_CONTAINER_PORT: &str = "ferry.container-port";

/// How long stop() lets a log follower write the container's last lines.
const FOLLOWER_DRAIN: Duration = Duration::from_secs(2);

/// Runs instances as containers of the local Docker Engine.
pub struct DockerRuntime {
    docker: Docker,
    /// Run Docker's init (tini) as PID 1; see [`DockerRuntime::with_init`].
    init: bool,
    /// Value of the `ferry.namespace` label this driver sets and lists.
    namespace: String,
    /// One task per instance appending the container's output to its log file.
    followers: Mutex<HashMap<InstanceId, JoinHandle<()>>>,
    /// Bounds of the instance logs (and of the engine's own copy of them).
    log_limits: LogLimits,
}

impl DockerRuntime {
    /// Connects to the local engine (the unix socket, or `DOCKER_HOST` when set),
    /// negotiates the API version and pings it. Fails with
    /// [`RuntimeError::Unavailable`] when no engine answers.
    pub async fn connect() -> Result<Self, RuntimeError> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        let unavailable =
            |e: DockerError| RuntimeError::Unavailable(format!("Docker Engine at {host}: {e}"));
        let docker = Docker::connect_with_defaults().map_err(unavailable)?;
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        docker.ping().await.map_err(unavailable)?;
        Ok(Self::with_client(docker))
    }

    /// Wraps an already connected client (no ping).
    pub fn with_client(docker: Docker) -> Self {
        Self {
            docker,
            init: true,
            namespace: DEFAULT_NAMESPACE.to_string(),
            followers: Mutex::new(HashMap::new()),
            log_limits: LogLimits::default(),
        }
    }

    /// Bounds of the instance logs this driver writes; the engine's own log of each
    /// container (json-file) gets the same size and file count.
    pub fn with_log_limits(mut self, limits: LogLimits) -> Self {
        self.log_limits = limits;
        self
    }

    /// Whether containers run with the engine's init process (`docker run --init`,
    /// on by default). As PID 1 an app or `sh -c` ignores SIGTERM unless it installs a
    /// handler, so without init every stop waits the whole grace period and ends in
    /// SIGKILL; init forwards the signal and reaps zombies. Turn it off only for an
    /// engine without `docker-init`.
    pub fn with_init(mut self, init: bool) -> Self {
        self.init = init;
        self
    }

    /// Scopes the driver to containers labelled `ferry.namespace=<namespace>`: it
    /// labels what it starts and lists, stops and adopts nothing else. Two ferry servers
    /// (or test runs) sharing one engine must use different namespaces, or each would
    /// see the other's containers as its own leftovers; a server can use a short hash
    /// of its data directory.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_string();
        self
    }

    /// The namespace given to [`DockerRuntime::with_namespace`] (or `"default"`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Label filters selecting this driver's containers (all must match).
    fn owned_filters(&self, mut extra: Vec<String>) -> HashMap<String, Vec<String>> {
        extra.push(format!("{LABEL_MANAGED}=true"));
        extra.push(format!("{LABEL_NAMESPACE}={}", self.namespace));
        HashMap::from([("label".to_string(), extra)])
    }

    /// The engine client, for callers that need more than the [`Runtime`] trait
    /// (tests inspect containers with it).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The container name of an instance: `ferry-<service>-<instance-id>`.
    pub fn container_name(service_name: &str, id: &InstanceId) -> String {
        format!("ferry-{service_name}-{id}")
    }

    /// The managed container of instance `id`, if any (stopped ones included).
    async fn find(&self, id: &InstanceId) -> Result<Option<ContainerSummary>, RuntimeError> {
        let filters = self.owned_filters(vec![format!("{LABEL_INSTANCE_ID}={id}")]);
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(docker_error(format!("looking up the container of {id}")))?;
        Ok(containers.into_iter().next())
    }

    /// Status of a listed container: running ones from the listing, others from an
    /// inspect (the listing has no exit code or OOM flag).
    async fn summary_status(&self, summary: &ContainerSummary) -> Result<RunStatus, RuntimeError> {
        if summary.state == Some(ContainerSummaryStateEnum::RUNNING) {
            return Ok(RunStatus::Running);
        }
        let Some(container_id) = summary.id.as_deref() else {
            return Ok(RunStatus::Exited {
                code: None,
                reason: "container has no id".to_string(),
            });
        };
        match self
            .docker
            .inspect_container(container_id, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => Ok(inspect
                .state
                .as_ref()
                .map(status_from_state)
                .unwrap_or_else(|| RunStatus::Exited {
                    code: None,
                    reason: "container has no state".to_string(),
                })),
            // Removed between the listing and the inspect.
            Err(e) if is_not_found(&e) => Ok(RunStatus::Exited {
                code: None,
                reason: "container was removed".to_string(),
            }),
            Err(e) => Err(docker_error(format!("inspecting container {container_id}"))(e)),
        }
    }

    /// Starts (or restarts) the task appending the container's output to `log_path`.
    async fn follow_logs(
        &self,
        id: &InstanceId,
        container_id: &str,
        log_path: &Path,
        after: Option<OffsetDateTime>,
    ) -> Result<(), RuntimeError> {
        let task = logs::follow(
            &self.docker,
            id,
            container_id,
            log_path,
            after,
            self.log_limits,
        )
        .await?;
        if let Some(previous) = lock(&self.followers).insert(id.clone(), task) {
            previous.abort();
        }
        Ok(())
    }
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        // Followers belong to this driver; containers keep running and keep their logs
        // in the engine, and a new driver adopts them.
        for (_, follower) in lock(&self.followers).drain() {
            follower.abort();
        }
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    fn can_adopt(&self) -> bool {
        true
    }

    fn describe_limits(&self) -> String {
        "container limits set on the Docker Engine (memory, nano_cpus)".to_string()
    }

    async fn start(&self, spec: &InstanceSpec) -> Result<RuntimeInstance, RuntimeError> {
        let Workload::Container {
            image,
            command,
            container_port,
        } = &spec.workload
        else {
            return Err(RuntimeError::InvalidSpec(format!(
                "instance {} is a host process; the docker runtime runs container images only",
                spec.instance_id
            )));
        };
        let id = &spec.instance_id;
        check_instance_id(id)?;
        // Never pull: a revision pins an image that is already in the engine.
        match self.docker.inspect_image(image).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                return Err(RuntimeError::ImageNotFound {
                    image: image.clone(),
                })
            }
            Err(e) => return Err(docker_error(format!("inspecting image {image}"))(e)),
        }

        let name = Self::container_name(&spec.service_name, id);
        let port_key = format!("{container_port}/tcp");
        let labels = HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_NAMESPACE.to_string(), self.namespace.clone()),
            (LABEL_INSTANCE_ID.to_string(), id.to_string()),
            (LABEL_SERVICE_ID.to_string(), spec.service_id.to_string()),
            (LABEL_SERVICE.to_string(), spec.service_name.clone()),
            (LABEL_REVISION_ID.to_string(), spec.revision_id.to_string()),
            (LABEL_HOST_PORT.to_string(), spec.host_port.to_string()),
            (LABEL_CONTAINER_PORT.to_string(), container_port.to_string()),
        ]);
        let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("{}={id}", crate::process::INSTANCE_ENV));
        let host_config = HostConfig {
            // Loopback only: the router is the way in from outside.
            port_bindings: Some(HashMap::from([(
                port_key.clone(),
                Some(vec![PortBinding {
                    host_ip: Some(Ipv4Addr::LOCALHOST.to_string()),
                    host_port: Some(spec.host_port.to_string()),
                }]),
            )])),
            memory: (spec.memory_mib > 0).then(|| i64::from(spec.memory_mib) * 1024 * 1024),
            nano_cpus: (spec.cpu > 0.0).then(|| (spec.cpu * 1e9).round() as i64),
            init: Some(self.init),
            // The engine keeps its own copy of the output: bound it like ferry's.
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".to_string()),
                config: Some(HashMap::from([
                    (
                        "max-size".to_string(),
                        self.log_limits.max_file_bytes.to_string(),
                    ),
                    (
                        "max-file".to_string(),
                        (self.log_limits.rotated_files + 1).to_string(),
                    ),
                ])),
            }),
            // Ferry's deployer decides about restarts, not the engine.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: command
                .as_ref()
                .map(|c| vec!["sh".to_string(), "-c".to_string(), c.clone()]),
            env: Some(env),
            labels: Some(labels),
            exposed_ports: Some(vec![port_key]),
            host_config: Some(host_config),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    RuntimeError::ImageNotFound {
                        image: image.clone(),
                    }
                } else {
                    docker_error(format!("creating container {name}"))(e)
                }
            })?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            // Do not leave a created-but-dead container behind (e.g. port taken).
            let _ = self
                .docker
                .remove_container(
                    &created.id,
                    Some(RemoveContainerOptions {
                        force: true,
                        // With its anonymous volumes (an image's VOLUME): nothing else
                        // would ever remove them.
                        v: true,
                        ..Default::default()
                    }),
                )
                .await;
            return Err(docker_error(format!("starting container {name}"))(e));
        }
        if let Err(e) = self
            .follow_logs(id, &created.id, &spec.log_path, None)
            .await
        {
            tracing::warn!(instance = %id, error = %e, "container started without a log follower");
        }
        tracing::info!(instance = %id, container = %name, port = spec.host_port, "started container");
        Ok(RuntimeInstance {
            instance_id: id.clone(),
            service_id: spec.service_id.clone(),
            revision_id: spec.revision_id.clone(),
            runtime_ref: created.id,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, spec.host_port)),
            status: RunStatus::Running,
        })
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), RuntimeError> {
        let Some(container_id) = self.find(id).await?.and_then(|c| c.id) else {
            if let Some(follower) = lock(&self.followers).remove(id) {
                follower.abort();
            }
            return Ok(());
        };
        let grace_secs = i32::try_from(grace.as_secs_f64().ceil() as i64).unwrap_or(i32::MAX);
        match self
            .docker
            .stop_container(
                &container_id,
                Some(StopContainerOptions {
                    t: Some(grace_secs),
                    signal: None,
                }),
            )
            .await
        {
            // 304: already stopped; 404: already gone.
            Ok(()) => {}
            Err(e) if is_status(&e, 304) || is_not_found(&e) => {}
            Err(e) => {
                return Err(docker_error(format!("stopping container {container_id}"))(
                    e,
                ))
            }
        }
        let follower = lock(&self.followers).remove(id);
        if let Some(mut follower) = follower {
            // The stream ends with the container; let it write the last lines.
            if tokio::time::timeout(FOLLOWER_DRAIN, &mut follower)
                .await
                .is_err()
            {
                follower.abort();
            }
        }
        match self
            .docker
            .remove_container(
                &container_id,
                Some(RemoveContainerOptions {
                    force: true,
                    // With its anonymous volumes (an image's VOLUME): nothing else
                    // would ever remove them.
                    v: true,
                    ..Default::default()
                }),
            )
            .await
        {
            Ok(()) => {}
            // 409: a removal is already in progress.
            Err(e) if is_not_found(&e) || is_status(&e, 409) => {}
            Err(e) => {
                return Err(docker_error(format!("removing container {container_id}"))(
                    e,
                ))
            }
        }
        tracing::info!(instance = %id, container = %container_id, "stopped container");
        Ok(())
    }

    async fn list(&self) -> Result<Vec<RuntimeInstance>, RuntimeError> {
        let filters = self.owned_filters(Vec::new());
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(docker_error("listing ferry containers".to_string()))?;
        let mut instances = Vec::new();
        for summary in containers {
            let Some(identity) = identity_from_labels(&summary) else {
                tracing::warn!(container = ?summary.names, "ferry container without usable labels");
                continue;
            };
            let status = self.summary_status(&summary).await?;
            instances.push(RuntimeInstance {
                instance_id: identity.instance_id,
                service_id: identity.service_id,
                revision_id: identity.revision_id,
                runtime_ref: summary.id.clone().unwrap_or_default(),
                address: SocketAddr::from((Ipv4Addr::LOCALHOST, identity.host_port)),
                status,
            });
        }
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(instances)
    }

    async fn adopt(&self, instance: &RuntimeInstance, log_path: &Path) -> Result<(), RuntimeError> {
        // Lines written while no server was following are appended now.
        let after = logs::LogCursor::resume_after(log_path);
        self.follow_logs(
            &instance.instance_id,
            &instance.runtime_ref,
            log_path,
            after,
        )
        .await?;
        tracing::info!(instance = %instance.instance_id, "adopted container");
        Ok(())
    }

    async fn status(&self, id: &InstanceId) -> Result<RunStatus, RuntimeError> {
        match self.find(id).await? {
            Some(summary) => self.summary_status(&summary).await,
            None => Err(RuntimeError::UnknownInstance(id.clone())),
        }
    }

    async fn pull_image(
        &self,
        image: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => self.pull(image, credentials).await,
            Err(e) => Err(docker_error(format!("inspecting image {image}"))(e)),
        }
    }

    async fn build_image(
        &self,
        spec: &crate::ImageBuildSpec,
        output: crate::BuildOutput<'_>,
    ) -> Result<String, RuntimeError> {
        if spec.buildkit {
            self.build_with_buildkit(spec, output).await
        } else {
            self.build(spec, output).await
        }
    }

    async fn buildkit_available(&self) -> bool {
        buildkit::available().await
    }

    async fn push_image(
        &self,
        image: &str,
        credentials: Option<&RegistryCredentials>,
        output: crate::BuildOutput<'_>,
    ) -> Result<(), RuntimeError> {
        self.push(image, credentials, output).await
    }

    async fn remove_image(&self, image: &str) -> Result<bool, RuntimeError> {
        let options = RemoveImageOptionsBuilder::default()
            .force(false)
            .noprune(false)
            .build();
        match self.docker.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            // A container (running or stopped) still uses it: kept, not an error.
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(false),
            Err(e) => Err(docker_error(format!("removing image {image}"))(e)),
        }
    }

    async fn resolve_image(&self, image: &str) -> Result<ResolvedImage, RuntimeError> {
        let inspect = match self.docker.inspect_image(image).await {
            Ok(inspect) => inspect,
            Err(e) if is_not_found(&e) => {
                return Err(RuntimeError::ImageNotFound {
                    image: image.to_string(),
                })
            }
            // The engine refuses a malformed reference: the caller's mistake.
            Err(DockerError::DockerResponseServerError {
                status_code: 400,
                message,
            }) => {
                return Err(RuntimeError::InvalidSpec(format!(
                    "invalid image reference {image:?}: {message}"
                )))
            }
            Err(e) => return Err(docker_error(format!("inspecting image {image}"))(e)),
        };
        let id = inspect.id.ok_or_else(|| RuntimeError::ImageNotFound {
            image: image.to_string(),
        })?;
        let exposed = inspect
            .config
            .and_then(|c| c.exposed_ports)
            .unwrap_or_default();
        Ok(ResolvedImage {
            id,
            exposed_port: single_tcp_port(&exposed),
        })
    }
}

impl DockerRuntime {
    /// The pull behind [`Runtime::pull_image`]: by the reference as given (a digest
    /// for registry images), with the credentials for its registry host.
    async fn pull(
        &self,
        image: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), RuntimeError> {
        let registry = image.split('/').next().unwrap_or_default().to_string();
        let credentials = credentials.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(registry),
            ..Default::default()
        });
        let mut progress = self.docker.create_image(
            Some(CreateImageOptions {
                from_image: Some(image.to_string()),
                ..Default::default()
            }),
            None,
            credentials,
        );
        // The stream ends when the pull does; its items are progress lines, and an
        // error item fails the pull.
        while let Some(item) = progress.next().await {
            item.map_err(docker_error(format!("pulling image {image}")))?;
        }
        tracing::info!(%image, "pulled image");
        Ok(())
    }
}

/// Identity of a managed container, read back from its labels.
struct LabelIdentity {
    instance_id: InstanceId,
    service_id: ServiceId,
    revision_id: RevisionId,
    host_port: u16,
}

fn identity_from_labels(summary: &ContainerSummary) -> Option<LabelIdentity> {
    let labels = summary.labels.as_ref()?;
    Some(LabelIdentity {
        instance_id: InstanceId::from_string(labels.get(LABEL_INSTANCE_ID)?),
        service_id: ServiceId::from_string(labels.get(LABEL_SERVICE_ID)?),
        revision_id: RevisionId::from_string(labels.get(LABEL_REVISION_ID)?),
        host_port: labels.get(LABEL_HOST_PORT)?.parse().ok()?,
    })
}

/// The port of `EXPOSE` entries like `8080/tcp` when there is exactly one TCP port.
fn single_tcp_port(exposed: &[String]) -> Option<u16> {
    let tcp: Vec<u16> = exposed
        .iter()
        .filter_map(|entry| {
            let (port, proto) = entry.split_once('/').unwrap_or((entry.as_str(), "tcp"));
            (proto == "tcp").then(|| port.parse().ok()).flatten()
        })
        .collect();
    match tcp.as_slice() {
        [port] => Some(*port),
        _ => None,
    }
}

/// Words for a container's state, as the deployer shows them.
pub(crate) fn status_from_state(state: &ContainerState) -> RunStatus {
    use ContainerStateStatusEnum as S;
    match state.status {
        Some(S::RUNNING | S::RESTARTING) => return RunStatus::Running,
        Some(S::CREATED) => {
            return RunStatus::Exited {
                code: None,
                reason: "created but not started".to_string(),
            }
        }
        Some(S::PAUSED) => {
            return RunStatus::Exited {
                code: None,
                reason: "paused outside ferry".to_string(),
            }
        }
        _ => {}
    }
    if state.running == Some(true) {
        return RunStatus::Running;
    }
    let code = state.exit_code.and_then(|c| i32::try_from(c).ok());
    let reason = if state.oom_killed == Some(true) {
        "out of memory (OOMKilled)".to_string()
    } else if let Some(error) = state.error.as_deref().filter(|e| !e.is_empty()) {
        format!("failed: {error}")
    } else {
        match code {
            Some(code) => crate::describe_exit_code(code),
            None => "exited".to_string(),
        }
    };
    RunStatus::Exited { code, reason }
}

fn is_status(error: &DockerError, code: u16) -> bool {
    matches!(error, DockerError::DockerResponseServerError { status_code, .. } if *status_code == code)
}

fn is_not_found(error: &DockerError) -> bool {
    is_status(error, 404)
}

fn docker_error(context: String) -> impl FnOnce(DockerError) -> RuntimeError {
    move |source| RuntimeError::Docker { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i64, oom: bool) -> ContainerState {
        ContainerState {
            status: Some(ContainerStateStatusEnum::EXITED),
            running: Some(false),
            oom_killed: Some(oom),
            exit_code: Some(code),
            error: Some(String::new()),
            ..Default::default()
        }
    }

    #[test]
    fn container_states_become_run_statuses() {
        let running = ContainerState {
            status: Some(ContainerStateStatusEnum::RUNNING),
            running: Some(true),
            ..Default::default()
        };
        assert_eq!(status_from_state(&running), RunStatus::Running);
        assert_eq!(
            status_from_state(&exited(3, false)),
            RunStatus::Exited {
                code: Some(3),
                reason: "exited with code 3".into()
            }
        );
        assert_eq!(
            status_from_state(&exited(137, true)),
            RunStatus::Exited {
                code: Some(137),
                reason: "out of memory (OOMKilled)".into()
            }
        );
        assert_eq!(
            status_from_state(&exited(137, false)),
            RunStatus::Exited {
                code: Some(137),
                reason: "exited with code 137 (killed by signal 9 (SIGKILL))".into()
            }
        );
    }

    #[test]
    fn only_a_single_tcp_port_is_the_exposed_port() {
        assert_eq!(single_tcp_port(&["8080/tcp".into()]), Some(8080));
        assert_eq!(
            single_tcp_port(&["53/udp".into(), "80/tcp".into()]),
            Some(80)
        );
        assert_eq!(single_tcp_port(&["80/tcp".into(), "443/tcp".into()]), None);
        assert_eq!(single_tcp_port(&[]), None);
        assert_eq!(single_tcp_port(&["junk/tcp".into()]), None);
    }

    #[test]
    fn container_names_carry_service_and_instance() {
        let id = InstanceId::from_string("ins-0123456789ab");
        assert_eq!(
            DockerRuntime::container_name("web", &id),
            "ferry-web-ins-0123456789ab"
        );
    }
}
