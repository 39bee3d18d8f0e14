//! Background work: reconcilers that read desired state from the store, compare it with
//! what runs, and act, each under the one [`driver`]. [`Background`] owns them and is
//! what the app layer talks to (wake a service, read its running side).

pub mod builds;
pub mod deploy;
pub mod driver;
pub mod gates;
pub mod image_triggers;
pub mod operations;
pub mod routes;

use crate::data_dir::DataDir;
use crate::registry::own::OwnRegistry;
use crate::runtimes::Runtimes;
use builds::BuildReconciler;
use deploy::health::{NetworkProber, Prober};
use deploy::{DeployReconciler, DeployerSettings, ServiceSnapshot};
use driver::{lock, Driver, DriverSettings, TaskStatus, Trigger};
use ferry_router::ServiceStats;
use ferry_store::Store;
use ferry_types::ServiceId;
use image_triggers::ImageTriggerReconciler;
use routes::RoutePublisher;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The reconcilers and their drivers.
pub struct Background {
    deploy: Arc<DeployReconciler>,
    deploy_trigger: Arc<Trigger<ServiceId>>,
    build_trigger: Arc<Trigger<ServiceId>>,
    image_trigger: Arc<Trigger<ServiceId>>,
    /// Ferry's registry, whose pushes wake the image trigger.
    own_registry: Option<OwnRegistry>,
    /// Taken by [`Background::run`].
    drivers: Mutex<Option<Drivers>>,
}

struct Drivers {
    deploy: Driver<DeployReconciler>,
    builds: Driver<BuildReconciler>,
    images: Driver<ImageTriggerReconciler>,
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
        let deploy = Arc::new(DeployReconciler::new(
            Arc::clone(&store),
            data.clone(),
            runtimes.clone(),
            routes,
            settings.clone(),
            prober,
        ));
        let deploy_driver = Driver::new(
            Arc::clone(&deploy),
            DriverSettings {
                shutdown_timeout,
                ..DriverSettings::default()
            },
        );
        let deploy_trigger = deploy_driver.trigger();
        let builds = Arc::new(BuildReconciler {
            store: Arc::clone(&store),
            data,
            runtimes,
            build_timeout: settings.build_timeout,
            image_analyses: gates::ImageAnalyses::default(),
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
            deploy_trigger,
            build_trigger,
            image_trigger,
            own_registry,
            drivers: Mutex::new(Some(Drivers {
                deploy: deploy_driver,
                builds: build_driver,
                images: image_driver,
            })),
        }
    }

    /// Asks every reconciler to look at the service now.
    pub fn wake(&self, service: &ServiceId) {
        self.build_trigger.wake(service);
        self.deploy_trigger.wake(service);
        self.image_trigger.wake(service);
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

    /// The last outcome of each reconciler for one service.
    pub fn tasks(&self, service: &ServiceId) -> Vec<TaskStatus> {
        [
            &self.image_trigger,
            &self.build_trigger,
            &self.deploy_trigger,
        ]
        .into_iter()
        .filter_map(|trigger| trigger.status(service))
        .collect()
    }

    /// Every reconciler's statuses, for the server's status.
    pub fn all_tasks(&self) -> Vec<TaskStatus> {
        let mut all = self.image_trigger.statuses();
        all.extend(self.build_trigger.statuses());
        all.extend(self.deploy_trigger.statuses());
        all
    }

    /// Recovers what an earlier ferry left running, then runs every reconciler until
    /// `shutdown`; returns once they stopped (host processes are stopped on the way).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(Drivers {
            deploy,
            builds,
            images,
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
            builds.run(shutdown.clone()),
            images.run(shutdown.clone()),
            pushes,
            orphans
        );
    }
}
