//! Background work: reconcilers that read desired state from the store, compare it with
//! what runs, and act, each under the one [`driver`]. [`Background`] owns them and is
//! what the app layer talks to (wake a service, read its running side).

pub mod autoscale;
pub mod builds;
pub mod deploy;
pub mod driver;
pub mod gates;
pub mod git_triggers;
pub mod image_pull;
pub mod image_triggers;
pub mod operations;
pub mod registry_gc;
pub mod registry_scan;
pub mod retention;
pub mod routes;
pub mod uploads_gc;

use crate::data_dir::DataDir;
use crate::registry::own::OwnRegistry;
use crate::runtimes::Runtimes;
use autoscale::{AutoscaleReconciler, Autoscaler};
use builds::BuildReconciler;
use deploy::health::{NetworkProber, Prober};
use deploy::{DeployReconciler, DeployerSettings, ServiceSnapshot};
use driver::{lock, Driver, DriverSettings, TaskStatus, Trigger};
use ferry_router::ServiceStats;
use ferry_store::Store;
use ferry_types::ServiceId;
use git_triggers::GitTriggerReconciler;
use image_triggers::ImageTriggerReconciler;
use registry_scan::{RegistryScanReconciler, RegistryScans};
use retention::RetentionReconciler;
use routes::RoutePublisher;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The reconcilers and their drivers.
pub struct Background {
    deploy: Arc<DeployReconciler>,
    autoscaler: Arc<Autoscaler>,
    autoscale_trigger: Arc<Trigger<ServiceId>>,
    deploy_trigger: Arc<Trigger<ServiceId>>,
    build_trigger: Arc<Trigger<ServiceId>>,
    image_trigger: Arc<Trigger<ServiceId>>,
    git_trigger: Arc<Trigger<ServiceId>>,
    retention_trigger: Arc<Trigger<ServiceId>>,
    /// The app layer, for the git trigger (set by [`Background::attach_app`]).
    app: Arc<OnceLock<std::sync::Weak<crate::app::App>>>,
    /// Ferry's registry, whose pushes wake the image trigger.
    own_registry: Option<OwnRegistry>,
    /// Taken by [`Background::run`].
    drivers: Mutex<Option<Drivers>>,
    /// Ferry's registry and its scans, once [`Background::attach_registry`] gave them
    /// (shared with the build reconciler's gates).
    registry_scans: Arc<OnceLock<Arc<RegistryScans>>>,
    scan_driver: Mutex<Option<Driver<RegistryScanReconciler>>>,
    scan_trigger: OnceLock<Arc<Trigger<String>>>,
}

struct Drivers {
    deploy: Driver<DeployReconciler>,
    autoscale: Driver<AutoscaleReconciler>,
    builds: Driver<BuildReconciler>,
    images: Driver<ImageTriggerReconciler>,
    git: Driver<GitTriggerReconciler>,
    retention: Driver<RetentionReconciler>,
}

impl Background {
    pub fn new(
        store: Arc<Store>,
        data: DataDir,
        runtimes: Runtimes,
        routes: Arc<RoutePublisher>,
        settings: DeployerSettings,
        own_registry: Option<OwnRegistry>,
    ) -> Self {
        Self::with_prober(
            store,
            data,
            runtimes,
            routes,
            settings,
            own_registry,
            Arc::new(NetworkProber),
        )
    }

    /// As [`Background::new`], with health probes from `prober` (tests fake them).
    pub fn with_prober(
        store: Arc<Store>,
        data: DataDir,
        runtimes: Runtimes,
        routes: Arc<RoutePublisher>,
        settings: DeployerSettings,
        own_registry: Option<OwnRegistry>,
        prober: Arc<dyn Prober>,
    ) -> Self {
        // A pass is short; a hung one must not hold shutdown beyond a stop's grace.
        let shutdown_timeout = settings.stop_grace + Duration::from_secs(2);
        let deploy = Arc::new(
            DeployReconciler::new(
                Arc::clone(&store),
                data.clone(),
                runtimes.clone(),
                routes,
                settings.clone(),
                prober,
            )
            .with_own_registry(own_registry.clone()),
        );
        let deploy_driver = Driver::new(
            Arc::clone(&deploy),
            DriverSettings {
                shutdown_timeout,
                ..DriverSettings::default()
            },
        );
        let deploy_trigger = deploy_driver.trigger();
        let autoscaler = Arc::clone(&deploy.autoscaler);
        autoscaler.set_deploy_trigger(Arc::clone(&deploy_trigger));
        let autoscale_driver = Driver::new(
            Arc::new(AutoscaleReconciler {
                autoscaler: Arc::clone(&autoscaler),
                deploy: Arc::clone(&deploy),
            }),
            DriverSettings {
                shutdown_timeout,
                ..DriverSettings::default()
            },
        );
        let autoscale_trigger = autoscale_driver.trigger();
        let registry_scans = Arc::new(OnceLock::new());
        let builds = Arc::new(BuildReconciler {
            store: Arc::clone(&store),
            data: data.clone(),
            runtimes: runtimes.clone(),
            build_timeout: settings.build_timeout,
            image_analyses: gates::ImageAnalyses::default(),
            registry_scans: Arc::clone(&registry_scans),
            deploy: Arc::clone(&deploy_trigger),
            own_registry: own_registry.clone(),
        });
        let build_driver = Driver::new(
            builds,
            DriverSettings {
                max_concurrent: settings.max_concurrent_builds,
                shutdown_timeout,
                ..DriverSettings::default()
            },
        );
        let build_trigger = build_driver.trigger();
        let retention_driver = Driver::new(
            Arc::new(RetentionReconciler {
                store: Arc::clone(&store),
                data: data.clone(),
                runtimes: runtimes.clone(),
                own_registry: own_registry.clone(),
                keep: settings.keep_revisions,
            }),
            DriverSettings {
                shutdown_timeout,
                // Deploys wake it; the resync finds what a crash or a restart left.
                resync: Duration::from_secs(10),
                max_concurrent: 2,
                ..DriverSettings::default()
            },
        );
        let retention_trigger = retention_driver.trigger();
        let app = Arc::new(OnceLock::new());
        let git_driver = Driver::new(
            Arc::new(GitTriggerReconciler {
                store: Arc::clone(&store),
                app: Arc::clone(&app),
            }),
            DriverSettings {
                shutdown_timeout,
                // Fetches are slow and remote: a few at a time.
                max_concurrent: 4,
                ..DriverSettings::default()
            },
        );
        let git_trigger = git_driver.trigger();
        let image_driver = Driver::new(
            Arc::new(ImageTriggerReconciler {
                store,
                own: own_registry.clone(),
                build: Arc::clone(&build_trigger),
                deploy: Arc::clone(&deploy_trigger),
            }),
            DriverSettings {
                shutdown_timeout,
                ..DriverSettings::default()
            },
        );
        let image_trigger = image_driver.trigger();
        Self {
            deploy,
            autoscaler,
            autoscale_trigger,
            deploy_trigger,
            build_trigger,
            image_trigger,
            git_trigger,
            retention_trigger,
            app,
            own_registry,
            drivers: Mutex::new(Some(Drivers {
                deploy: deploy_driver,
                autoscale: autoscale_driver,
                builds: build_driver,
                images: image_driver,
                git: git_driver,
                retention: retention_driver,
            })),
            registry_scans,
            scan_driver: Mutex::new(None),
            scan_trigger: OnceLock::new(),
        }
    }

    /// Scans images pushed to ferry's registry (and lets the gates use those scans).
    /// Called once, before [`Background::run`].
    pub fn attach_registry(&self, scans: Arc<RegistryScans>) {
        if self.registry_scans.set(Arc::clone(&scans)).is_err() {
            tracing::error!("the registry was attached twice");
            return;
        }
        let driver = Driver::new(
            Arc::new(RegistryScanReconciler { scans }),
            DriverSettings {
                // Pushes wake their repository; the resync only catches what a lagging
                // subscriber missed (and runs at start-up).
                resync: Duration::from_secs(60),
                // Scans are heavy: one repository at a time (each scans one image at a time).
                max_concurrent: 1,
                ..DriverSettings::default()
            },
        );
        let _ = self.scan_trigger.set(driver.trigger());
        *lock(&self.scan_driver) = Some(driver);
    }

    /// Gives the git trigger the app layer it builds commits with. Called once, before
    /// [`Background::run`].
    pub fn attach_app(&self, app: std::sync::Weak<crate::app::App>) {
        if self.app.set(app).is_err() {
            tracing::error!("the app was attached twice");
        }
    }

    /// Asks the git trigger to read the service's followed branch now (a webhook).
    pub fn wake_git(&self, service: &ServiceId) {
        self.git_trigger.wake(service);
    }

    /// Asks every reconciler to look at the service now.
    pub fn wake(&self, service: &ServiceId) {
        self.build_trigger.wake(service);
        self.deploy_trigger.wake(service);
        self.image_trigger.wake(service);
        self.autoscale_trigger.wake(service);
        self.retention_trigger.wake(service);
    }

    /// `ferry scale` stored new overrides: the autoscaler and the router's admission
    /// take them now, and the deployer converges to the new bounds.
    pub fn scaling_changed(&self, service: &ServiceId) {
        self.autoscaler.overrides_changed(service);
        self.autoscale_trigger.wake(service);
        self.deploy_trigger.wake(service);
    }

    /// The autoscaler's view of a service (none before its first pass).
    pub fn autoscale(&self, service: &ServiceId) -> Option<ferry_api::AutoscaleStatus> {
        let shared = self.deploy.shared(service);
        let ready = shared.as_ref().map_or(0, |shared| {
            lock(&shared.snapshot)
                .instances
                .iter()
                .filter(|i| i.state == ferry_types::InstanceState::Ready)
                .count()
        });
        self.autoscaler.status(
            service,
            shared.as_ref().map(|s| s.admission.as_ref()),
            u32::try_from(ready).unwrap_or(u32::MAX),
        )
    }

    pub fn snapshot(&self, service: &ServiceId) -> Option<ServiceSnapshot> {
        self.deploy
            .shared(service)
            .map(|shared| lock(&shared.snapshot).clone())
    }

    pub fn stats(&self, service: &ServiceId) -> Option<Arc<ServiceStats>> {
        self.deploy
            .shared(service)
            .map(|shared| Arc::clone(&shared.stats))
    }

    /// The router's admission state (limit, queue, load) of a service.
    pub fn admission(&self, service: &ServiceId) -> Option<Arc<ferry_router::Admission>> {
        self.deploy
            .shared(service)
            .map(|shared| Arc::clone(&shared.admission))
    }

    /// The last outcome of each reconciler for one service.
    pub fn tasks(&self, service: &ServiceId) -> Vec<TaskStatus> {
        [
            &self.image_trigger,
            &self.git_trigger,
            &self.build_trigger,
            &self.deploy_trigger,
            &self.autoscale_trigger,
            &self.retention_trigger,
        ]
        .into_iter()
        .filter_map(|trigger| trigger.status(service))
        .collect()
    }

    /// Every reconciler's statuses, for the server's status.
    pub fn all_tasks(&self) -> Vec<TaskStatus> {
        let mut all = self.image_trigger.statuses();
        all.extend(self.git_trigger.statuses());
        all.extend(self.build_trigger.statuses());
        all.extend(self.deploy_trigger.statuses());
        all.extend(self.autoscale_trigger.statuses());
        all.extend(self.retention_trigger.statuses());
        if let Some(scans) = self.scan_trigger.get() {
            all.extend(scans.statuses());
        }
        all
    }

    /// Recovers what an earlier ferry left running, then runs every reconciler until
    /// `shutdown`; returns once they stopped (host processes are stopped on the way).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(Drivers {
            deploy,
            autoscale,
            builds,
            images,
            git,
            retention,
        }) = lock(&self.drivers).take()
        else {
            tracing::error!("the background reconcilers were started twice");
            return;
        };
        self.deploy.recover().await;
        let orphans = async {
            // Instances of deleted services whose stop failed at start-up: retried
            // until they are gone.
            while self.deploy.stop_orphans().await {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        };
        let scans = async {
            let driver = lock(&self.scan_driver).take();
            let (Some(driver), Some(scans), Some(trigger)) =
                (driver, self.registry_scans.get(), self.scan_trigger.get())
            else {
                return;
            };
            let wake_on_push = wake_on_push(scans.registry().subscribe(), trigger, &shutdown);
            tokio::join!(driver.run(shutdown.clone()), wake_on_push);
        };
        let pushes = async {
            if let Some(own) = self.own_registry.clone() {
                image_triggers::watch_pushes(
                    own,
                    Arc::clone(&self.deploy.store),
                    Arc::clone(&self.image_trigger),
                    shutdown.clone(),
                )
                .await;
            }
        };
        tokio::join!(
            deploy.run(shutdown.clone()),
            autoscale.run(shutdown.clone()),
            builds.run(shutdown.clone()),
            images.run(shutdown.clone()),
            git.run(shutdown.clone()),
            retention.run(shutdown.clone()),
            pushes,
            orphans,
            scans
        );
    }
}

/// Wakes a repository's scan when a manifest is pushed to it. The event only names
/// the key: the pass reads the repository's state (a lagging receiver loses events,
/// and the resync finds what they named).
async fn wake_on_push(
    mut events: tokio::sync::broadcast::Receiver<ferry_registry::RegistryEvent>,
    trigger: &Trigger<String>,
    shutdown: &CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(ferry_registry::RegistryEvent::ManifestPushed { repository, .. }) => {
                trigger.wake(&repository.to_string());
            }
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "registry events missed; the resync will find them");
            }
            Err(RecvError::Closed) => return,
        }
    }
}
