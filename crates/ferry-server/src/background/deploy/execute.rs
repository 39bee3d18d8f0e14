//! Applies the planner's actions through the runtime, the route publisher and the
//! store, one short step each: starts return once the runtime has the instance,
//! drains only take instances out of rotation, stops run in the background.

use super::plan::Action;
use super::state::{Inst, Phase, PublishedRoute, ServedSite, ServiceWork, StopState};
use super::{DeployError, DeployReconciler};
use crate::background::operations::{self, DEPLOY_KINDS};
use ferry_router::{RouteState, ServiceRoute, SiteError, StaticSite, Upstream};
use ferry_runtime::{allocate_port, InstanceSpec, RuntimeError, Workload};
use ferry_store::{BuildStatus, ServiceRow};
use ferry_types::{
    EventLevel, InstanceId, OperationKind, Revision, RevisionId, RevisionSource, RevisionStatus,
    ServiceConfig,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Applies one action. Returns true once the service is deleted.
pub(super) async fn apply(
    rec: &DeployReconciler,
    row: &ServiceRow,
    revisions: &HashMap<RevisionId, Revision>,
    work: &mut ServiceWork,
    action: Action,
) -> Result<bool, DeployError> {
    match action {
        Action::Unroute => {
            if work.published != Some(PublishedRoute::Removed) {
                rec.routes.remove(&row.id);
                work.published = Some(PublishedRoute::Removed);
            }
        }
        Action::Start { revision, count } => {
            let Some(revision) = revisions.get(&revision) else {
                return Ok(false);
            };
            start(rec, row, revision, work, count).await?;
        }
        Action::Switch { revision } => {
            let Some(revision) = revisions.get(&revision) else {
                return Ok(false);
            };
            if revision.static_root().is_some() {
                // A static site's files must be servable before they take traffic.
                match open_site(rec, revision).await {
                    Ok(site) => {
                        work.site = Some(ServedSite {
                            revision: revision.id.clone(),
                            site,
                        });
                        work.site_error = None;
                    }
                    Err(reason) => {
                        fail_rollout(rec, row, revision, &reason)?;
                        return Ok(false);
                    }
                }
            }
            switch(rec, row, revisions, revision, work)?;
        }
        Action::FailRollout { revision, reason } => {
            let Some(revision) = revisions.get(&revision) else {
                return Ok(false);
            };
            let log = work
                .instances
                .iter()
                .find(|i| i.revision == revision.id && !i.health.is_ready())
                .map(|i| i.log_path.clone());
            let reason = match log {
                Some(log) => with_log_tail(reason, &log),
                None => reason,
            };
            fail_rollout(rec, row, revision, &reason)?;
        }
        Action::Admit(ids) => {
            for inst in work.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
                inst.in_rotation = true;
            }
        }
        Action::Drain(ids) => {
            let timeout = drain_timeout(row, revisions);
            let now = Instant::now();
            for inst in work.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
                inst.in_rotation = false;
                inst.drain.get_or_insert((now, now + timeout));
            }
            // Out of the route before anything else happens to them.
            publish_route(rec, row, work);
        }
        Action::Replace(failed) => {
            let ops =
                operations::begin(&rec.store, &row.id, &[OperationKind::ResumeService], None)?;
            for (id, reason) in &failed {
                tracing::warn!(service = %work.name, instance = %id, %reason, "instance failed; replacing it");
                work.restarts += 1;
                work.crash_streak += 1;
                work.last_exit = Some(format!("{id}: {reason}"));
                operations::event(
                    &rec.store,
                    &ops,
                    EventLevel::Warn,
                    &format!("Instance {id} {reason}; replacing it"),
                );
                if let Some(inst) = work.get_mut(id) {
                    inst.in_rotation = false;
                }
            }
            publish_route(rec, row, work);
            let ids: Vec<InstanceId> = failed.into_iter().map(|(id, _)| id).collect();
            stop(rec, work, &ids);
            let backoff = super::exponential(
                Duration::from_secs(1),
                work.crash_streak,
                rec.settings.max_backoff,
            );
            work.backoff_until = Some(Instant::now() + backoff);
        }
        Action::Stop(ids) => {
            if ids
                .iter()
                .any(|id| work.instances.iter().any(|i| &i.id == id && i.in_rotation))
            {
                for inst in work.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
                    inst.in_rotation = false;
                }
                publish_route(rec, row, work);
            }
            stop(rec, work, &ids);
        }
        Action::Delete => {
            delete(rec, row, work)?;
            return Ok(true);
        }
    }
    Ok(false)
}

async fn start(
    rec: &DeployReconciler,
    row: &ServiceRow,
    revision: &Revision,
    work: &mut ServiceWork,
    count: usize,
) -> Result<(), DeployError> {
    let rolling_out = row.active_revision.as_ref() != Some(&revision.id);
    let ops = if rolling_out {
        operations::begin(&rec.store, &row.id, &DEPLOY_KINDS, Some(&revision.id))?
    } else {
        operations::begin(&rec.store, &row.id, &[OperationKind::ResumeService], None)?
    };
    if rolling_out {
        operations::event(
            &rec.store,
            &ops,
            EventLevel::Info,
            &format!(
                "Starting {count} instance(s) of revision {}",
                revision.number
            ),
        );
    }
    let runtime = match rec.runtimes.for_revision(&revision.source) {
        Ok(runtime) => Arc::clone(runtime),
        Err(err) if rolling_out => {
            fail_rollout(rec, row, revision, &runtime_failure(&err))?;
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    for _ in 0..count {
        let live = work.instances.iter().map(|i| i.id.to_string()).collect();
        match start_instance(rec, &runtime, row, revision, &work.name, &live).await {
            Ok(inst) => work.instances.push(inst),
            Err(reason) if rolling_out => {
                let started: Vec<InstanceId> = work
                    .instances
                    .iter()
                    .filter(|i| i.revision == revision.id)
                    .map(|i| i.id.clone())
                    .collect();
                stop(rec, work, &started);
                fail_rollout(rec, row, revision, &reason)?;
                return Ok(());
            }
            Err(reason) => {
                work.restarts += 1;
                work.crash_streak += 1;
                work.last_exit = Some(reason);
                work.backoff_until = Some(Instant::now() + Duration::from_secs(5));
                break;
            }
        }
    }
    Ok(())
}

async fn start_instance(
    rec: &DeployReconciler,
    runtime: &Arc<dyn ferry_runtime::Runtime>,
    row: &ServiceRow,
    revision: &Revision,
    service_name: &str,
    live: &std::collections::HashSet<String>,
) -> Result<Inst, String> {
    let config = &revision.config;
    let host_port = allocate_port().map_err(|err| format!("cannot allocate a port: {err}"))?;
    let id = InstanceId::generate();
    let (workload, app_port) = match &revision.source {
        RevisionSource::Directory { .. } => {
            let command = config.run.command.clone().ok_or_else(|| {
                "the app has no start command: set [run] command in ferry.toml".to_string()
            })?;
            (
                Workload::Process {
                    dir: rec.data.revision_dir(&revision.id),
                    command,
                },
                host_port,
            )
        }
        RevisionSource::Image {
            image, image_id, ..
        } => {
            // Present since the build, unless the engine's images were pruned since:
            // then it is pulled again (one inspect when it is there).
            let credentials = crate::background::image_pull::pull_credentials(
                &rec.store,
                rec.own_registry.as_ref(),
                row,
                image,
            )?;
            if let Some(credentials) = credentials {
                runtime
                    .pull_image(image, credentials.as_ref())
                    .await
                    .map_err(|err| runtime_failure(&err))?;
            }
            (
                Workload::Container {
                    image: image_id.clone().unwrap_or_else(|| image.clone()),
                    command: config.run.command.clone(),
                    container_port: config.run.port,
                },
                config.run.port,
            )
        }
    };
    let mut env = config.run.env.clone();
    env.insert("PORT".to_string(), app_port.to_string());
    if matches!(workload, Workload::Process { .. }) {
        host_env(&mut env);
    }
    if let Some(name) = &config.run.port_env {
        env.insert(name.clone(), app_port.to_string());
    }
    let log_path = rec.log_path(service_name, &id);
    // Logs of stopped instances are kept for a while, not for ever: a crash loop must
    // not fill the disk one log at a time.
    if let Some(dir) = log_path.parent() {
        crate::app::logs::prune_instance_logs(
            dir,
            crate::app::logs::KEPT_STOPPED_INSTANCE_LOGS,
            live,
        );
    }
    let spec = InstanceSpec {
        instance_id: id.clone(),
        service_id: row.id.clone(),
        service_name: service_name.to_string(),
        revision_id: revision.id.clone(),
        workload,
        env,
        host_port,
        cpu: config.instance.cpu,
        memory_mib: config.instance.memory_mib,
        log_path: log_path.clone(),
    };
    let started = runtime
        .start(&spec)
        .await
        .map_err(|err| runtime_failure(&err))?;
    Ok(Inst::starting(
        id,
        revision.id.clone(),
        runtime.kind(),
        started.address,
        log_path,
    ))
}

/// The switch: one table swap moves all traffic to the revision's ready instances;
/// every other instance drains. The operations that asked for this revision succeed
/// here — after this point a pause or a failure of the drain cannot undo them.
fn switch(
    rec: &DeployReconciler,
    row: &ServiceRow,
    revisions: &HashMap<RevisionId, Revision>,
    revision: &Revision,
    work: &mut ServiceWork,
) -> Result<(), DeployError> {
    let timeout = drain_timeout(row, revisions);
    let now = Instant::now();
    let mut old = 0;
    for inst in &mut work.instances {
        if inst.revision == revision.id && inst.health.is_ready() {
            inst.in_rotation = true;
        } else if inst.stop.is_none() {
            inst.in_rotation = false;
            inst.drain.get_or_insert((now, now + timeout));
            old += 1;
        }
    }
    let mut switched = row.clone();
    switched.active_revision = Some(revision.id.clone());
    publish_route_with(rec, &switched, Some(&revision.config), work);

    let ops = operations::begin(&rec.store, &row.id, &DEPLOY_KINDS, Some(&revision.id))?;
    rec.store
        .set_revision_status(&revision.id, RevisionStatus::Active, None)?;
    if let Some(previous) = row.active_revision.as_ref().filter(|p| *p != &revision.id) {
        rec.store
            .set_revision_status(previous, RevisionStatus::Inactive, None)?;
    }
    rec.store.set_active_revision(&row.id, Some(&revision.id))?;
    operations::event(
        &rec.store,
        &ops,
        EventLevel::Info,
        &format!("Traffic switched to revision {}", revision.number),
    );
    if old > 0 {
        operations::event(
            &rec.store,
            &ops,
            EventLevel::Info,
            &format!(
                "Draining {old} old instance(s) (up to {}s)",
                timeout.as_secs()
            ),
        );
    }
    for op in &ops {
        operations::finish(&rec.store, op, Ok(()))?;
    }
    work.crash_streak = 0;
    work.backoff_until = None;
    tracing::info!(service = %work.name, revision = revision.number, "traffic switched");
    Ok(())
}

/// Opens a static site revision's files for the router (on the blocking pool), or says
/// in the user's words why they cannot be served.
pub(super) async fn open_site(
    rec: &DeployReconciler,
    revision: &Revision,
) -> Result<Arc<StaticSite>, String> {
    let root = revision
        .static_root()
        .ok_or_else(|| "the revision is not a static site".to_string())?
        .to_string();
    let dir = rec.data.revision_dir(&revision.id);
    let path = dir.join(&root);
    // Served from the app's own directory, the site keeps its config files to itself.
    let withheld: &[&str] = if root == "." || root == "./" {
        &["ferry.toml", "apprunner.yaml", "Procfile"]
    } else {
        &[]
    };
    let opened = tokio::task::spawn_blocking(move || {
        StaticSite::open(&path, &dir).map(|site| site.withholding(withheld))
    })
    .await
    .map_err(|err| format!("opening the site's files: {err}"))?;
    // The user's words: the app's directory, never where the data dir keeps it.
    opened.map(Arc::new).map_err(|err| match err {
        SiteError::NotADirectory { .. } => {
            format!("the static site's root {root}/ is not a directory")
        }
        SiteError::Outside { .. } => {
            format!("the static site's root {root}/ is a link to outside the app")
        }
        SiteError::Open { source, .. } => {
            format!("the static site's root {root}/ cannot be opened: {source}")
        }
    })
}

/// Marks the revision failed and moves desired back to the active revision (unless a
/// newer deploy moved it already).
fn fail_rollout(
    rec: &DeployReconciler,
    row: &ServiceRow,
    revision: &Revision,
    reason: &str,
) -> Result<(), DeployError> {
    tracing::warn!(service = %row.name, revision = revision.number, %reason, "rollout failed");
    let ops = operations::begin(&rec.store, &row.id, &DEPLOY_KINDS, Some(&revision.id))?;
    rec.store.fail_revision(
        &row.id,
        &revision.id,
        BuildStatus::Built,
        reason,
        row.active_revision.as_ref(),
    )?;
    if row.active_revision.is_some() {
        operations::event(
            &rec.store,
            &ops,
            EventLevel::Info,
            "The previous revision keeps serving",
        );
    }
    Ok(())
}

/// Starts stopping instances in the background; they stay tracked (out of rotation)
/// until the runtime confirms.
fn stop(rec: &DeployReconciler, work: &mut ServiceWork, ids: &[InstanceId]) {
    let grace = rec.settings.stop_grace;
    for inst in work.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
        if inst.stop == Some(StopState::Running) {
            continue;
        }
        inst.in_rotation = false;
        inst.stop = Some(StopState::Running);
        let Some(runtime) = rec.runtimes.by_kind(inst.runtime).cloned() else {
            // Its runtime is gone (docker went away): nothing ferry can still stop.
            let id = inst.id.clone();
            work.stops.spawn(async move { (id, Ok(())) });
            continue;
        };
        let id = inst.id.clone();
        work.stops.spawn(async move {
            let result = runtime
                .stop(&id, grace)
                .await
                .map_err(|e| runtime_failure(&e));
            (id, result)
        });
    }
}

/// Starts again the stops that failed, once their retry time has come.
pub(super) fn retry_stops(rec: &DeployReconciler, work: &mut ServiceWork) {
    let now = Instant::now();
    let due: Vec<InstanceId> = work
        .instances
        .iter()
        .filter(|i| matches!(i.stop, Some(StopState::Failed { retry_at }) if retry_at <= now))
        .map(|i| i.id.clone())
        .collect();
    stop(rec, work, &due);
}

/// Stops everything and waits (the service's row is gone).
pub(super) async fn stop_all_now(rec: &DeployReconciler, work: &mut ServiceWork) {
    let ids: Vec<InstanceId> = work.instances.iter().map(|i| i.id.clone()).collect();
    stop(rec, work, &ids);
    while work.stops.join_next().await.is_some() {}
    work.collect_stops(Duration::ZERO);
    work.instances.clear();
}

fn delete(
    rec: &DeployReconciler,
    row: &ServiceRow,
    work: &mut ServiceWork,
) -> Result<(), DeployError> {
    let ops = operations::begin(&rec.store, &row.id, &[OperationKind::DeleteService], None)?;
    operations::event(
        &rec.store,
        &ops,
        EventLevel::Info,
        "All instances stopped; removing files",
    );
    for revision in rec.store.list_revisions(&row.id)? {
        let dir = rec.data.revision_dir(&revision.id);
        if dir.exists() {
            if let Err(err) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %err, "cannot remove revision files");
            }
        }
    }
    let logs = rec.data.service_logs(&work.name);
    if logs.exists() {
        let _ = std::fs::remove_dir_all(&logs);
    }
    let repo = crate::git::repo_path(&rec.data.git(), &work.name);
    if repo.exists() {
        let _ = std::fs::remove_dir_all(&repo);
    }
    rec.store.delete_service(&row.id)?;
    for op in rec.store.unfinished_operations(&row.id)? {
        let outcome = if op.kind == OperationKind::DeleteService {
            Ok(())
        } else {
            Err("the service was deleted".to_string())
        };
        operations::finish(&rec.store, &op, outcome)?;
    }
    tracing::info!(service = %work.name, "service deleted");
    Ok(())
}

/// Publishes the service's route from what is in rotation, with the active revision's
/// hosts and timeout.
pub(super) fn publish_route(rec: &DeployReconciler, row: &ServiceRow, work: &mut ServiceWork) {
    if row.deleting {
        return;
    }
    let config = row
        .active_revision
        .as_ref()
        .and_then(|id| rec.store.get_revision(id).ok().flatten())
        .map(|r| r.config);
    publish_route_with(rec, row, config.as_ref(), work);
}

fn publish_route_with(
    rec: &DeployReconciler,
    row: &ServiceRow,
    config: Option<&ServiceConfig>,
    work: &mut ServiceWork,
) {
    let upstreams: Vec<Arc<Upstream>> = work
        .instances
        .iter()
        .filter(|i| i.in_rotation)
        .map(|i| Arc::clone(&i.upstream))
        .collect();
    let mut hosts = vec![format!("{}.localhost", row.name)];
    let defaults = ServiceConfig::default();
    let config = config.unwrap_or(&defaults);
    hosts.extend(config.domains.iter().cloned());
    let reason = work.phase.to_string();
    let site = work
        .site_for(row.active_revision.as_ref())
        .map(|served| (served.revision.clone(), Arc::clone(&served.site)));
    let published = PublishedRoute::Set {
        hosts: hosts.clone(),
        timeout: config.request_timeout,
        serving: upstreams.iter().map(|u| u.instance_id.clone()).collect(),
        paused: row.paused,
        reason: reason.clone(),
        files: site.as_ref().map(|(revision, _)| revision.clone()),
    };
    if let Some(shared) = rec.shared(&row.id) {
        // The autoscaler reads their live in-flight counts.
        *crate::background::driver::lock(&shared.upstreams) = upstreams.clone();
    }
    if work.published.as_ref() == Some(&published) {
        return;
    }
    let state = if row.paused {
        RouteState::Paused
    } else if let Some((_, site)) = site {
        // The active revision is a static site: the router serves its files.
        RouteState::Files(site)
    } else if !upstreams.is_empty() {
        RouteState::Serving(upstreams)
    } else if matches!(work.phase, Phase::ScaledToZero | Phase::StartingInstances) {
        // At zero on purpose, or an instance is coming up (a cold start): the router
        // holds requests and signals demand instead of failing them.
        RouteState::Cold
    } else {
        RouteState::Unavailable { reason }
    };
    let shared = rec.shared(&row.id);
    let stats = shared
        .as_ref()
        .map(|s| Arc::clone(&s.stats))
        .unwrap_or_default();
    let admission = shared
        .as_ref()
        .map(|s| Arc::clone(&s.admission))
        .unwrap_or_default();
    rec.routes.set(
        &row.id,
        hosts,
        ServiceRoute {
            service: row.name.to_string(),
            state,
            request_timeout: Duration::from_secs(config.request_timeout.into()),
            stats,
            admission,
        },
    );
    work.published = Some(published);
}

/// Host processes listen on loopback (`HOST`, unless the app sets it; plans write
/// `${HOST:-0.0.0.0}`, which inside a container is every interface, as it must be).
fn host_env(env: &mut std::collections::BTreeMap<String, String>) {
    env.entry("HOST".to_string())
        .or_insert_with(|| "127.0.0.1".to_string());
}

/// The drain timeout of what serves now (the active revision), else the desired one's.
fn drain_timeout(row: &ServiceRow, revisions: &HashMap<RevisionId, Revision>) -> Duration {
    let config = [&row.active_revision, &row.desired_revision]
        .into_iter()
        .flatten()
        .find_map(|id| revisions.get(id))
        .map(|r| r.config.drain_timeout)
        .unwrap_or_else(|| ServiceConfig::default().drain_timeout);
    Duration::from_secs(config.into())
}

pub(crate) fn runtime_failure(err: &RuntimeError) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Appends the last lines of a log file to a failure reason, so the user sees why.
pub(crate) fn with_log_tail(reason: String, log: &std::path::Path) -> String {
    // Stored with the revision: 20 lines of at most 1 KiB each.
    let tail = crate::app::logs::tail_lines(log, 20, 1024);
    if tail.is_empty() {
        reason
    } else {
        format!("{reason}\nlast log lines:\n{}", tail.join("\n"))
    }
}
