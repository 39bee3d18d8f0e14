//! The reconcilers against the fake runtime: no daemon, no processes but builds, a
//! real store, the real driver.

use crate::background::routes::RoutePublisher;
use crate::background::Background;
use crate::data_dir::DataDir;
use crate::runtimes::Runtimes;
use ferry_router::RouteState;
use ferry_runtime::FakeRuntime;
use ferry_store::{NewDeployment, NewService, ServiceRow, Store};
use ferry_types::{
    InstanceId, Operation, OperationKind, OperationStatus, RevisionId, RevisionSource,
    RevisionStatus, RuntimeKind, ServiceConfig, ServiceName, SourceKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::DeployerSettings;

struct Harness {
    store: Arc<Store>,
    fake: Arc<FakeRuntime>,
    process: Arc<FakeRuntime>,
    background: Arc<Background>,
    routes: Arc<RoutePublisher>,
    data: DataDir,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.ensure().unwrap();
        let store = Arc::new(Store::open_in_memory().unwrap());
        let fake = Arc::new(FakeRuntime::new().serving_tcp());
        let process = Arc::new(
            FakeRuntime::new()
                .serving_tcp()
                .with_kind(RuntimeKind::Process)
                .with_adopt(false),
        );
        let runtimes = Runtimes {
            process: process.clone(),
            docker: Some(fake.clone()),
        };
        let routes = Arc::new(RoutePublisher::new());
        let settings = DeployerSettings {
            idle_tick: Duration::from_millis(50),
            stop_grace: Duration::from_millis(100),
            ..DeployerSettings::default()
        };
        let background = Arc::new(Background::new(
            Arc::clone(&store),
            data.clone(),
            runtimes,
            Arc::clone(&routes),
            settings,
            None,
        ));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Arc::clone(&background).run(shutdown.clone()));
        Self {
            store,
            fake,
            process,
            background,
            routes,
            data,
            shutdown,
            task: Some(task),
            _dir: dir,
        }
    }

    fn record(
        &self,
        revision_id: RevisionId,
        source: RevisionSource,
        kind: SourceKind,
        config: ServiceConfig,
    ) -> Operation {
        if kind == SourceKind::Directory {
            std::fs::create_dir_all(self.data.revision_dir(&revision_id)).unwrap();
        }
        let (service, _, operation) = self
            .store
            .create_deployment(&NewDeployment {
                service: &NewService {
                    name: ServiceName::parse("web").unwrap(),
                    source_kind: kind,
                },
                source,
                config,
                revision_id,
                commit: None,
            })
            .unwrap();
        self.background.wake(&service.id);
        operation
    }

    /// Records an image deploy the way the app layer does; returns the operation.
    fn deploy(&self) -> Operation {
        self.deploy_with(|_| {})
    }

    fn deploy_with(&self, change: impl FnOnce(&mut ServiceConfig)) -> Operation {
        self.deploy_revision(RevisionId::generate(), change)
    }

    fn deploy_revision(
        &self,
        revision_id: RevisionId,
        change: impl FnOnce(&mut ServiceConfig),
    ) -> Operation {
        let mut config = ServiceConfig::default();
        config.health_check.timeout = 1;
        change(&mut config);
        self.record(
            revision_id,
            RevisionSource::Image {
                image: "web:1".into(),
                image_id: Some("sha256:feed".into()),
                from_tag: None,
            },
            SourceKind::Image,
            config,
        )
    }

    /// A source deploy whose build runs `build` (a real shell command).
    fn deploy_source(&self, build: &str) -> Operation {
        let mut config = ServiceConfig::default();
        config.build.commands = vec![build.to_string()];
        config.run.command = Some("serve".into());
        config.health_check.timeout = 1;
        self.record(
            RevisionId::generate(),
            RevisionSource::Directory {
                digest: "sha256:0".into(),
            },
            SourceKind::Directory,
            config,
        )
    }

    async fn outcome(&self, operation: &Operation) -> Operation {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let current = self.store.get_operation(&operation.id).unwrap().unwrap();
            if current.status.is_terminal() {
                return current;
            }
            assert!(
                Instant::now() < deadline,
                "operation never ended: {current:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn service(&self) -> ServiceRow {
        self.store.get_service_by_name("web").unwrap().unwrap()
    }

    fn route(&self) -> Option<RouteState> {
        let table = self.routes.subscribe().borrow().clone();
        table.hosts.get("web.localhost").map(|r| r.state.clone())
    }

    /// Instance ids the router sends `web.localhost` traffic to.
    fn routed(&self) -> Vec<String> {
        match self.route() {
            Some(RouteState::Serving(upstreams)) => {
                upstreams.iter().map(|u| u.instance_id.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    async fn until(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[tokio::test]
async fn a_new_revision_takes_all_traffic_and_the_old_instance_is_stopped() {
    let h = Harness::start();
    let first = h.deploy();
    assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
    let old = h.routed();
    assert_eq!(old.len(), 1);
    let second = h.deploy();
    let done = h.outcome(&second).await;
    assert_eq!(done.status, OperationStatus::Succeeded);
    let new = h.routed();
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    h.until("old instance stopped", || {
        h.fake.stopped().iter().any(|id| id.as_str() == old[0])
    })
    .await;
    let row = h.service();
    assert_eq!(row.active_revision, second.revision_id);
    let messages: Vec<String> = done.events.iter().map(|e| e.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("Traffic switched")),
        "{messages:?}"
    );
    let first_revision = h
        .store
        .get_revision(first.revision_id.as_ref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(first_revision.status, RevisionStatus::Inactive);
}

#[tokio::test]
async fn a_revision_that_cannot_start_fails_and_the_previous_one_keeps_serving() {
    let h = Harness::start();
    let good = h.deploy();
    assert_eq!(h.outcome(&good).await.status, OperationStatus::Succeeded);
    let serving = h.routed();
    let bad_revision = RevisionId::generate();
    h.fake
        .fail_start_with_message(&bad_revision, "no space left for this container");
    let bad = h.deploy_revision(bad_revision.clone(), |_| {});
    let done = h.outcome(&bad).await;
    assert_eq!(done.status, OperationStatus::Failed, "{done:?}");
    assert!(done.error.unwrap().contains("no space left"));
    let row = h.service();
    assert_eq!(row.active_revision, good.revision_id);
    assert_eq!(row.desired_revision, good.revision_id);
    let failed = h.store.get_revision(&bad_revision).unwrap().unwrap();
    assert_eq!(failed.status, RevisionStatus::Failed);
    assert_eq!(h.routed(), serving);
}

#[tokio::test]
async fn a_crashed_instance_is_replaced_and_counted() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let first = h.routed()[0].clone();
    assert!(h.fake.set_exited(
        &InstanceId::from_string(first.clone()),
        Some(1),
        "exited with code 1"
    ));
    let service = h.service().id;
    h.until("replaced", || {
        let snapshot = h.background.snapshot(&service).unwrap_or_default();
        let routed = h.routed();
        snapshot.restarts == 1 && routed.len() == 1 && routed[0] != first
    })
    .await;
    let snapshot = h.background.snapshot(&service).unwrap();
    assert!(snapshot.last_exit.unwrap().contains("exited with code 1"));
}

#[tokio::test]
async fn pause_stops_instances_and_resume_starts_them_again() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let row = h.service();
    let pause = h.store.pause_service(&row.id, "paused").unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&pause).await.status, OperationStatus::Succeeded);
    assert!(matches!(h.route(), Some(RouteState::Paused)));
    assert!(h.fake.running().is_empty());
    let resume = h.store.resume_service(&row.id).unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&resume).await.status, OperationStatus::Succeeded);
    assert_eq!(h.routed().len(), 1);
}

#[tokio::test]
async fn a_panicking_runtime_is_survived_and_the_service_is_reconciled_again() {
    let h = Harness::start();
    h.fake.panic_on_start(1);
    let op = h.deploy();
    // The first start panics inside the reconcile pass; the driver logs it, backs off
    // and runs the service again, and the deploy completes.
    let done = h.outcome(&op).await;
    assert_eq!(done.status, OperationStatus::Succeeded, "{done:?}");
    let tasks = h.background.tasks(&h.service().id);
    let deploy = tasks.iter().find(|t| t.task == "deploy").unwrap();
    assert!(deploy.runs >= 2, "{deploy:?}");
    assert_eq!(h.routed().len(), 1);
}

#[tokio::test]
async fn an_instance_whose_stop_fails_is_retried_never_forgotten() {
    let h = Harness::start();
    let first = h.deploy();
    assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
    let old = InstanceId::from_string(h.routed()[0].clone());
    h.fake.fail_stops(2);
    let second = h.deploy();
    assert_eq!(h.outcome(&second).await.status, OperationStatus::Succeeded);
    // Two failed stops, then a third that works: the old instance ends up stopped.
    h.until("old instance stopped after retries", || {
        h.fake.instance(&old).is_none()
    })
    .await;
    let stops = h
        .fake
        .calls()
        .iter()
        .filter(|c| matches!(c, ferry_runtime::FakeCall::Stop { instance_id, .. } if *instance_id == old))
        .count();
    assert!(stops >= 3, "{stops} stop calls");
}

#[tokio::test]
async fn delete_takes_the_route_away_before_any_instance_stops() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let row = h.service();
    let mut table = h.routes.subscribe();
    let delete = h.store.delete_service_intent(&row.id).unwrap();
    h.background.wake(&row.id);
    // The first table change after the intent must remove the host while the instance
    // still runs.
    table.changed().await.unwrap();
    assert!(!table.borrow().hosts.contains_key("web.localhost"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.store.get_operation(&delete.id).unwrap().unwrap().status != OperationStatus::Succeeded {
        assert!(Instant::now() < deadline, "delete never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(h.fake.running().is_empty());
    assert!(h.store.get_service(&row.id).unwrap().is_none());
}

#[tokio::test]
async fn a_newer_deploy_supersedes_a_slow_build_at_once() {
    let h = Harness::start();
    let slow = h.deploy_source("sleep 120");
    let revision = slow.revision_id.clone().unwrap();
    h.until("building", || {
        h.store.get_operation(&slow.id).unwrap().unwrap().status == OperationStatus::InProgress
    })
    .await;
    let started = Instant::now();
    let fast = h.deploy_source("true");
    let superseded = h.outcome(&slow).await;
    assert_eq!(superseded.status, OperationStatus::Failed);
    assert!(
        superseded
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("superseded"),
        "{superseded:?}"
    );
    assert_eq!(h.outcome(&fast).await.status, OperationStatus::Succeeded);
    eprintln!(
        "slow build superseded and the new revision served after {:?}",
        started.elapsed()
    );
    let old = h.store.get_revision(&revision).unwrap().unwrap();
    assert_eq!(old.status, RevisionStatus::Superseded);
    assert_eq!(
        h.store.revision_build(&revision).unwrap(),
        Some(ferry_store::BuildStatus::Cancelled)
    );
    assert_eq!(h.process.running().len(), 1);
}

#[tokio::test]
async fn pause_and_delete_act_during_a_slow_build() {
    let h = Harness::start();
    let first = h.deploy_source("true");
    assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
    let slow = h.deploy_source("sleep 120");
    h.until("building", || {
        h.store.get_operation(&slow.id).unwrap().unwrap().status == OperationStatus::InProgress
    })
    .await;
    let row = h.service();
    let pause = h.store.pause_service(&row.id, "cancelled: paused").unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&pause).await.status, OperationStatus::Succeeded);
    let slow = h.outcome(&slow).await;
    assert_eq!(slow.status, OperationStatus::Failed, "{slow:?}");
    let resume = h.store.resume_service(&row.id).unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&resume).await.status, OperationStatus::Succeeded);
    // Back on the first revision, which is what served before the pause.
    assert_eq!(h.service().active_revision, first.revision_id);

    let slow = h.deploy_source("sleep 120");
    h.until("building again", || {
        h.store.get_operation(&slow.id).unwrap().unwrap().status == OperationStatus::InProgress
    })
    .await;
    let delete = h.store.delete_service_intent(&row.id).unwrap();
    h.background.wake(&row.id);
    assert_eq!(h.outcome(&delete).await.status, OperationStatus::Succeeded);
    assert_eq!(h.outcome(&slow).await.status, OperationStatus::Failed);
    assert!(h.process.running().is_empty());
}

#[tokio::test]
async fn a_rollback_during_a_build_never_lets_the_building_revision_serve() {
    let h = Harness::start();
    let first = h.deploy_source("true");
    assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
    let serving = h.routed();
    let building = h.deploy_source("sleep 3");
    let building_revision = building.revision_id.clone().unwrap();
    h.until("building", || {
        h.store.get_operation(&building.id).unwrap().unwrap().status == OperationStatus::InProgress
    })
    .await;
    let row = h.service();
    let rollback = h
        .store
        .create_operation_with_desired(
            &row.id,
            "web",
            OperationKind::Rollback,
            first.revision_id.as_ref().unwrap(),
        )
        .unwrap();
    h.background.wake(&row.id);
    assert_eq!(
        h.outcome(&rollback).await.status,
        OperationStatus::Succeeded
    );
    // Wait past the build's natural end: its revision never started an instance.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(h
        .process
        .calls()
        .iter()
        .all(|c| !matches!(c, ferry_runtime::FakeCall::Start { revision_id, .. } if *revision_id == building_revision)));
    assert_eq!(h.routed(), serving);
    let building = h.store.get_operation(&building.id).unwrap().unwrap();
    assert_eq!(building.status, OperationStatus::Failed);
}

#[tokio::test]
async fn a_pause_right_after_a_rollback_settles_both() {
    let h = Harness::start();
    let first = h.deploy();
    assert_eq!(h.outcome(&first).await.status, OperationStatus::Succeeded);
    let second = h.deploy_with(|c| c.drain_timeout = 5);
    assert_eq!(h.outcome(&second).await.status, OperationStatus::Succeeded);
    let row = h.service();
    let rollback = h
        .store
        .create_operation_with_desired(
            &row.id,
            "web",
            OperationKind::Rollback,
            first.revision_id.as_ref().unwrap(),
        )
        .unwrap();
    h.background.wake(&row.id);
    // Pause as soon as the switch happened, while the old instance drains.
    h.until("rolled back", || {
        h.service().active_revision == first.revision_id
    })
    .await;
    let pause = h.store.pause_service(&row.id, "paused").unwrap();
    h.background.wake(&row.id);
    assert_eq!(
        h.outcome(&rollback).await.status,
        OperationStatus::Succeeded
    );
    assert_eq!(h.outcome(&pause).await.status, OperationStatus::Succeeded);
    assert!(h.store.unfinished_operations(&row.id).unwrap().is_empty());
}

#[tokio::test]
async fn shutdown_stops_host_processes_and_returns() {
    let mut h = Harness::start();
    let op = h.deploy_source("true");
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    assert_eq!(h.process.running().len(), 1);
    h.shutdown.cancel();
    let task = h.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("background work stopped")
        .unwrap();
    assert!(h.process.running().is_empty());
}

#[tokio::test]
async fn a_revision_replaced_before_it_ran_is_marked_superseded() {
    let h = Harness::start();
    let first_revision = RevisionId::generate();
    // No await in between: the reconciler sees only the second as desired.
    let first = h.deploy_revision(first_revision.clone(), |_| {});
    let second = h.deploy();
    assert_eq!(h.outcome(&second).await.status, OperationStatus::Succeeded);
    let first = h.outcome(&first).await;
    assert_eq!(first.status, OperationStatus::Failed);
    assert!(first.error.unwrap_or_default().contains("superseded"));
    let revision = h.store.get_revision(&first_revision).unwrap().unwrap();
    assert_eq!(revision.status, RevisionStatus::Superseded);
    // A revision that served keeps its status when a later one replaces it.
    let third = h.deploy();
    assert_eq!(h.outcome(&third).await.status, OperationStatus::Succeeded);
    let second = h
        .store
        .get_revision(&second.revision_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(second.status, RevisionStatus::Inactive);
}

/// Sets `ferry scale` knobs the way the app layer does.
fn scale(h: &Harness, knobs: &[(&str, u32)]) {
    let service = h.service();
    let mut overrides = h.store.scaling_overrides(&service.id).unwrap();
    for (key, value) in knobs {
        overrides.values.insert((*key).to_string(), *value);
    }
    h.store
        .set_scaling_overrides(&service.id, &overrides)
        .unwrap();
    h.background.scaling_changed(&service.id);
}

#[tokio::test]
async fn min_zero_scales_to_zero_after_the_grace_and_a_held_request_wakes_it() {
    let h = Harness::start();
    let op = h.deploy_with(|c| {
        c.scaling.min = 0;
        c.scaling.scale_to_zero_grace = 1;
        c.scaling.stable_window = 1;
        c.scaling.panic_window = 1;
    });
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    assert_eq!(
        h.routed().len(),
        1,
        "a rollout at min 0 still proves one instance"
    );
    let id = h.service().id;
    h.until("zero instances and a cold route", || {
        matches!(h.route(), Some(RouteState::Cold))
            && h.background
                .snapshot(&id)
                .is_some_and(|s| s.instances.is_empty())
    })
    .await;
    let status = h.background.autoscale(&id).unwrap();
    assert_eq!(status.desired, 0);
    assert!(
        status.decisions[0].reason.contains("scale_to_zero_grace"),
        "{status:?}"
    );
    assert_eq!(
        h.store.autoscale_desired(&id).unwrap(),
        Some(0),
        "kept for a restart"
    );

    // The router holds a request and signals demand: an instance starts at once.
    let admission = h.background.admission(&id).unwrap();
    admission.enqueue();
    admission.signal_demand();
    h.until("an instance serving again", || h.routed().len() == 1)
        .await;
    let status = h.background.autoscale(&id).unwrap();
    assert!(
        status
            .decisions
            .iter()
            .any(|d| d.reason.contains("cold start")),
        "{status:?}"
    );
    admission.dequeue();
}

#[tokio::test]
async fn ferry_scale_overrides_change_the_count_without_a_new_revision() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    let revision = h.service().active_revision;
    scale(&h, &[("min", 3), ("max", 3)]);
    h.until("three instances", || h.routed().len() == 3).await;
    let id = h.service().id;
    let admission = h.background.admission(&id).unwrap();
    scale(&h, &[("concurrency", 7), ("queue_size", 5)]);
    h.until("the router's limit follows", || {
        admission.settings().concurrency == 7
    })
    .await;
    assert_eq!(admission.settings().queue_capacity, 5);
    scale(&h, &[("min", 1), ("max", 1)]);
    h.until("back to one instance", || h.routed().len() == 1)
        .await;
    assert_eq!(h.service().active_revision, revision, "no new revision");
}

#[tokio::test]
async fn load_scales_out_to_max_and_back_to_min_when_it_stops() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    scale(
        &h,
        &[
            ("concurrency", 10),
            ("target_utilization", 100),
            ("max", 4),
            ("stable_window", 1),
            ("panic_window", 1),
        ],
    );
    let id = h.service().id;
    let admission = h.background.admission(&id).unwrap();
    for _ in 0..300 {
        admission.begin();
    }
    h.until("scaled out to max", || h.routed().len() == 4).await;
    let status = h.background.autoscale(&id).unwrap();
    assert!(status.panicking, "{status:?}");
    assert!(status
        .decisions
        .iter()
        .any(|d| d.reason.contains("bounded to [1, 4]")));
    for _ in 0..300 {
        admission.end();
    }
    h.until("back to min", || h.routed().len() == 1).await;
}

#[tokio::test]
async fn resume_restores_the_autoscalers_count_not_min() {
    let h = Harness::start();
    let op = h.deploy();
    assert_eq!(h.outcome(&op).await.status, OperationStatus::Succeeded);
    scale(
        &h,
        &[
            ("concurrency", 10),
            ("target_utilization", 100),
            ("max", 3),
            ("stable_window", 60),
            ("panic_window", 1),
        ],
    );
    let id = h.service().id;
    let admission = h.background.admission(&id).unwrap();
    for _ in 0..300 {
        admission.begin();
    }
    h.until("scaled out", || h.routed().len() == 3).await;
    for _ in 0..300 {
        admission.end();
    }
    let pause = h.store.pause_service(&id, "paused").unwrap();
    h.background.wake(&id);
    h.outcome(&pause).await;
    h.until("paused with no instance", || {
        matches!(h.route(), Some(RouteState::Paused))
            && h.background
                .snapshot(&id)
                .is_some_and(|s| s.instances.is_empty())
    })
    .await;
    let resume = h.store.resume_service(&id).unwrap();
    h.background.wake(&id);
    h.outcome(&resume).await;
    h.until("the three instances the autoscaler wanted", || {
        h.routed().len() == 3
    })
    .await;
    assert_eq!(h.background.autoscale(&id).unwrap().scaling.min, 1);
}

mod static_sites;
