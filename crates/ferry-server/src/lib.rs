//! The ferry server: one process holding the API (`/api/v1` on the API listener), the
//! router (its own listener), the store, the runtime drivers and the background
//! reconcilers. [`run`] starts it all and stops it cleanly when told to.

mod api_server;
pub mod app;
pub mod background;
pub mod data_dir;
pub mod git;
pub mod http;
pub mod limits;
pub mod registry;
mod router_threads;
pub mod runtimes;

use crate::app::App;
use crate::background::deploy::DeployerSettings;
use crate::background::routes::RoutePublisher;
use crate::background::Background;
use crate::data_dir::{DataDir, ServerInfo};
use crate::runtimes::{RuntimeChoice, Runtimes};
use ferry_runtime::docker::DockerRuntime;
use ferry_runtime::process::ProcessRuntime;
pub use ferry_runtime::LogLimits;
use ferry_runtime::Runtime;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub data_dir: PathBuf,
    /// API (and later registry and console) listener; port 0 picks a free port.
    pub api_addr: SocketAddr,
    /// Router listener for `<service>.localhost`.
    pub router_addr: SocketAddr,
    pub runtime: RuntimeChoice,
    pub deployer: DeployerSettings,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Router threads, each with its own listener and runtime (default: one per CPU).
    pub router_threads: usize,
    /// What one source upload may unpack to.
    pub upload_limits: app::unpack::UploadLimits,
    /// Open API connections allowed; `None` derives it from the open-files limit.
    pub api_max_connections: Option<usize>,
    /// Open router connections allowed (all threads together); `None` derives it from
    /// the open-files limit.
    pub router_max_connections: Option<usize>,
    /// On both listeners: a request's headers must arrive within this long, and an
    /// idle keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Bounds of instance logs: line length, rotation size, rotated files kept.
    pub logs: ferry_runtime::LogLimits,
    /// Log streams (`logs?follow=true`) open at once, server-wide.
    pub log_followers: usize,
    /// Bounds of ferry's own registry (`/v2/`): manifest and blob sizes, uploads.
    pub registry: ferry_registry::Limits,
    /// Repository globs anyone may pull from without credentials (`public/*`).
    pub registry_anonymous_pull: Vec<String>,
    /// How often the registry's garbage is collected in the background (zero: never).
    pub registry_gc_interval: Duration,
    /// How long a push to ferry's git remote waits for its build and rollout before
    /// it is rejected (and the deployment given up).
    pub git_push_timeout: Duration,
}

impl ServerOptions {
    /// Embedded defaults: the data dir from the environment, 127.0.0.1:7070 and :8080.
    pub fn defaults() -> Self {
        Self {
            data_dir: DataDir::default_root(),
            api_addr: SocketAddr::from(([127, 0, 0, 1], 7070)),
            router_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            runtime: RuntimeChoice::Auto,
            deployer: DeployerSettings::default(),
            shutdown_grace: Duration::from_secs(30),
            router_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            upload_limits: app::unpack::UploadLimits::default(),
            api_max_connections: None,
            router_max_connections: None,
            header_read_timeout: Duration::from_secs(30),
            logs: ferry_runtime::LogLimits::default(),
            log_followers: 64,
            registry: ferry_registry::Limits::default(),
            registry_anonymous_pull: Vec::new(),
            registry_gc_interval: Duration::from_secs(24 * 3600),
            git_push_timeout: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot prepare the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] data_dir::LockError),
    #[error("cannot open the store")]
    Store(#[from] ferry_store::StoreError),
    #[error("cannot listen on {addr} (is another ferry server or program using it? pick another with --{flag})")]
    Bind {
        addr: SocketAddr,
        flag: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime unavailable")]
    Runtime(#[from] ferry_runtime::RuntimeError),
    #[error("API server failed")]
    Serve(#[source] std::io::Error),
    #[error("cannot open the registry")]
    Registry(#[from] ferry_registry::RegistryError),
    #[error("cannot set up the registry API")]
    RegistryApi(#[from] ferry_registry::http::RouterError),
    #[error("invalid log limits: {0}")]
    LogLimits(String),
    #[error("invalid --registry-anonymous-pull: {0}")]
    AnonymousPull(String),
}

/// Runs until `shutdown` is cancelled. `on_ready` is called once both listeners are
/// bound and the server info file is written.
pub async fn run(
    options: ServerOptions,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(&ServerInfo),
) -> Result<(), ServerError> {
    let data = DataDir::new(&options.data_dir);
    let data_err = |source| ServerError::DataDir {
        path: options.data_dir.display().to_string(),
        source,
    };
    options.logs.validate().map_err(ServerError::LogLimits)?;
    for glob in &options.registry_anonymous_pull {
        registry::check_glob(glob).map_err(ServerError::AnonymousPull)?;
    }
    data.ensure().map_err(data_err)?;
    // Before anything else touches the data dir: a second server must not get further.
    let _lock = data.lock()?;
    let caps = connection_caps(&options);
    let token: Arc<str> = data.load_or_create_token().map_err(data_err)?.into();
    let store = Arc::new(ferry_store::Store::open(&data.database())?);
    let registry = registry::open(&data, options.registry.clone())?;
    let runtimes = select_runtimes(options.runtime, &data, options.logs).await?;
    for runtime in runtimes.all() {
        tracing::info!(runtime = %runtime.kind(), limits = %runtime.describe_limits(), "instance limits");
    }

    let api_listener = bind(options.api_addr, "api").await?;
    let router_listeners = router_threads::bind(options.router_addr, options.router_threads)
        .map_err(|source| ServerError::Bind {
            addr: options.router_addr,
            flag: "router",
            source,
        })?;
    let api_addr = api_listener.local_addr().map_err(ServerError::Serve)?;
    let router_addr = router_listeners[0]
        .local_addr()
        .map_err(ServerError::Serve)?;
    for (addr, what) in [(api_addr, "API"), (router_addr, "router")] {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the {what} listens on a non-loopback address: it is reachable from other machines");
        }
    }

    let local_registry = Arc::new(
        registry::LocalRegistry::new(
            registry.clone(),
            Arc::new(registry::access::TokenCache::new(Arc::clone(&store))),
            registry::LocalHosts::new(api_addr),
        )
        .with_scans_dir(data.scans()),
    );

    let own_registry =
        registry::own::OwnRegistry::new(registry.clone(), api_addr, Arc::clone(&token));
    let routes = Arc::new(RoutePublisher::new());
    let background = Arc::new(Background::new(
        Arc::clone(&store),
        data.clone(),
        runtimes.clone(),
        Arc::clone(&routes),
        options.deployer.clone(),
        Some(own_registry.clone()),
    ));
    background.attach_registry(Arc::new(background::registry_scan::RegistryScans::new(
        registry.clone(),
        data.scans(),
        data.vulndb(),
        registry::LocalHosts::new(api_addr),
    )));
    let app = Arc::new(App {
        store: Arc::clone(&store),
        data: data.clone(),
        runtimes,
        background: Arc::clone(&background),
        router_port: router_addr.port(),
        upload_limits: options.upload_limits.clone(),
        log_limits: options.logs,
        registry: Arc::clone(&local_registry),
        own_registry: Some(own_registry),
        git_credentials: Arc::new(git::credentials::CredentialStore::new(
            data.git_credentials(),
        )),
        pushes: Default::default(),
    });
    app.clean_partial_files();
    app.abandon_orphaned_pushes()?;
    background.attach_app(Arc::downgrade(&app));

    // Front ends stop first (and drain); reconcilers stop after, so instances keep
    // serving the requests being drained.
    let front = shutdown.child_token();
    let back = CancellationToken::new();
    let mut background_task = tokio::spawn(Arc::clone(&background).run(back.clone()));
    let router_task = tokio::spawn(router_threads::run(
        router_listeners,
        routes.subscribe(),
        ferry_router::RouterConfig {
            shutdown_grace: options.shutdown_grace,
            header_read_timeout: Some(options.header_read_timeout),
            connections: ferry_router::ConnectionLimit::new("router", caps.router),
            ..Default::default()
        },
        front.clone(),
    ));
    let uploads_gc_task = tokio::spawn(background::uploads_gc::run(
        Arc::clone(&store),
        data.uploads(),
        back.clone(),
    ));
    let registry_gc_task = tokio::spawn(background::registry_gc::run(
        store,
        Arc::clone(&local_registry),
        options.registry_gc_interval,
        back.clone(),
    ));
    let registry_api = registry::routes(
        local_registry.registry.clone(),
        registry::authorizer(
            Arc::clone(&token),
            Arc::clone(&local_registry.tokens),
            &options.registry_anonymous_pull,
        ),
    )?;
    let api = http::router(http::ApiState {
        app,
        token,
        api_addr,
        shutdown: front.clone(),
        followers: http::logs::Followers::new(options.log_followers),
        git_push_timeout: options.git_push_timeout,
    })
    .merge(registry_api);
    let api_task = tokio::spawn(api_server::serve(
        api_listener,
        api,
        api_server::ApiListenerConfig {
            connections: ferry_router::ConnectionLimit::new("api", caps.api),
            header_read_timeout: options.header_read_timeout,
            shutdown_grace: options.shutdown_grace,
        },
        front.clone(),
    ));

    let info = ServerInfo {
        api: api_addr.to_string(),
        router: router_addr.to_string(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    data.write_server_info(&info).map_err(data_err)?;
    tracing::info!(api = %api_addr, router = %router_addr, data_dir = %data.root().display(), "ferry server ready");
    on_ready(&info);

    tokio::select! {
        _ = front.cancelled() => {}
        result = &mut background_task => {
            tracing::error!(?result, "the background reconcilers stopped unexpectedly");
            front.cancel();
        }
    }
    tracing::info!("shutting down: draining requests");
    let grace = options.shutdown_grace + Duration::from_secs(1);
    if tokio::time::timeout(grace, api_task).await.is_err() {
        tracing::warn!("API requests did not finish in time");
    }
    match tokio::time::timeout(grace, router_task).await {
        Ok(Ok(Err(err))) => tracing::warn!(error = %err, "router ended with an error"),
        Err(_) => tracing::warn!("router requests did not finish in time"),
        _ => {}
    }
    back.cancel();
    // Reconcile passes are short and builds are cancelled; what remains is stopping
    // host processes, bounded by their grace period.
    let bound = options.deployer.stop_grace + Duration::from_secs(5);
    if !background_task.is_finished() && tokio::time::timeout(bound, background_task).await.is_err()
    {
        tracing::warn!("background work did not stop in time");
    }
    // A collection in progress finishes its blocking sweep on its own; only the
    // schedule is waited for.
    if tokio::time::timeout(Duration::from_secs(5), registry_gc_task)
        .await
        .is_err()
    {
        tracing::warn!("the registry gc did not stop in time");
    }
    if tokio::time::timeout(Duration::from_secs(5), uploads_gc_task)
        .await
        .is_err()
    {
        tracing::warn!("the uploads sweep did not stop in time");
    }
    let _ = std::fs::remove_file(data.server_info_file());
    tracing::info!("ferry server stopped");
    Ok(())
}

/// The listeners' connection caps: as configured, else derived from the open-files
/// limit (raised to its hard limit first).
fn connection_caps(options: &ServerOptions) -> limits::ConnectionCaps {
    let open_files = limits::raise_open_files_limit();
    let derived = limits::ConnectionCaps::for_open_files(
        open_files,
        ferry_router::proxy::DEFAULT_MAX_CONNECTIONS,
    );
    let caps = limits::ConnectionCaps {
        api: options.api_max_connections.unwrap_or(derived.api),
        router: options.router_max_connections.unwrap_or(derived.router),
    };
    if caps.descriptors_needed() > open_files {
        tracing::warn!(
            open_files,
            api = caps.api,
            router = caps.router,
            "the connection caps exceed what the open-files limit allows: a flood of connections \
             can leave ferry without descriptors for health checks and instances \
             (raise `ulimit -n` or lower --api-max-connections / --router-max-connections)"
        );
    }
    tracing::info!(
        open_files,
        api = caps.api,
        router = caps.router,
        "connection caps"
    );
    caps
}

async fn bind(
    addr: SocketAddr,
    flag: &'static str,
) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, flag, source })
}

async fn select_runtimes(
    choice: RuntimeChoice,
    data: &DataDir,
    logs: ferry_runtime::LogLimits,
) -> Result<Runtimes, ServerError> {
    let process: Arc<dyn Runtime> =
        Arc::new(ProcessRuntime::new(data.process_state())?.with_log_limits(logs));
    let docker_for = |docker: DockerRuntime| {
        Arc::new(
            docker
                .with_namespace(&docker_namespace(data))
                .with_log_limits(logs),
        )
    };
    let docker: Option<Arc<dyn Runtime>> = match choice {
        RuntimeChoice::Process => None,
        RuntimeChoice::Docker => Some(docker_for(DockerRuntime::connect().await?)),
        RuntimeChoice::Auto => match DockerRuntime::connect().await {
            Ok(docker) => Some(docker_for(docker)),
            Err(err) => {
                tracing::info!(reason = %err, "no Docker Engine: source deploys use the process runtime, image deploys are unavailable");
                None
            }
        },
    };
    Ok(Runtimes { process, docker })
}

/// Containers are labelled with this so two ferry servers (or test runs) sharing one
/// engine never adopt or stop each other's instances: a short hash of the data dir.
pub fn docker_namespace(data: &DataDir) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data.root().as_os_str().as_encoded_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}
