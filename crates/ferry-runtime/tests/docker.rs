//! The docker driver against the local Docker Engine. Every test needs it: without
//! one it says it was not run, or fails under `FERRY_TEST_DOCKER=required` (CI).
#![allow(clippy::unwrap_used)] // tests may unwrap (helpers too, not only #[test] fns)

mod support;

use ferry_runtime::{DockerRuntime, RunStatus, Runtime, RuntimeError, Workload};
use ferry_testenv::Need;
use ferry_types::InstanceId;
use std::time::Duration;
use support::*;

const GRACE: Duration = Duration::from_secs(2);

/// A driver in namespace `ns`: tests (and other test runs on this engine) never see
/// each other's containers.
async fn connect_in(ns: &str) -> DockerRuntime {
    DockerRuntime::connect()
        .await
        .expect("these tests need a running Docker Engine")
        .with_namespace(ns)
}

async fn connect() -> DockerRuntime {
    connect_in(&format!("test-{}", InstanceId::generate())).await
}

fn container_spec(tmp: &tempfile::TempDir, command: Option<&str>) -> ferry_runtime::InstanceSpec {
    let port = ferry_runtime::allocate_port().unwrap();
    spec(
        Workload::Container {
            image: ensure_test_image().to_string(),
            command: command.map(str::to_string),
            container_port: 8080,
        },
        port,
        tmp.path().join("logs/instance.log"),
    )
}

async fn inspect_is_gone(rt: &DockerRuntime, container_id: &str) -> bool {
    match rt.client().inspect_container(container_id, None).await {
        Err(bollard::errors::Error::DockerResponseServerError { status_code, .. }) => {
            status_code == 404
        }
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_container_serves_logs_limits_lists_and_stops() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    let spec = container_spec(
        &tmp,
        Some("echo started $GREETING $FERRY_INSTANCE_ID; exec httpd -f -p 8080 -h /www"),
    );
    let started = rt.start(&spec).await.unwrap();
    assert_eq!(started.status, RunStatus::Running);
    assert_eq!(
        started.address.to_string(),
        format!("127.0.0.1:{}", spec.host_port)
    );

    let reply = eventually("the container to answer", || async {
        http_get(spec.host_port, "/")
    })
    .await;
    assert!(reply.contains(" 200 "), "{reply}");
    assert!(reply.ends_with(TEST_PAGE), "{reply}");

    let expected = format!("started bonjour {}", spec.instance_id);
    eventually("the log line", || async {
        read_log(&spec.log_path).contains(&expected).then_some(())
    })
    .await;

    let inspect = rt
        .client()
        .inspect_container(&started.runtime_ref, None)
        .await
        .unwrap();
    let name = inspect.name.unwrap();
    assert_eq!(name, format!("/ferry-rt-test-{}", spec.instance_id));
    let host = inspect.host_config.unwrap();
    assert_eq!(host.memory, Some(64 * 1024 * 1024));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.init, Some(true));
    let bindings = host.port_bindings.unwrap();
    let binding = &bindings["8080/tcp"].as_ref().unwrap()[0];
    assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(binding.host_port, Some(spec.host_port.to_string()));
    let labels = inspect.config.unwrap().labels.unwrap();
    assert_eq!(labels["ferry.managed"], "true");
    assert_eq!(labels["ferry.namespace"], rt.namespace());
    assert_eq!(labels["ferry.revision-id"], spec.revision_id.to_string());
    assert_eq!(labels["ferry.service"], "rt-test");

    let listed = rt.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let found = listed
        .iter()
        .find(|i| i.instance_id == spec.instance_id)
        .expect("list finds the container by its labels");
    assert_eq!(found.status, RunStatus::Running);
    assert_eq!(found.service_id, spec.service_id);
    assert_eq!(found.address, started.address);
    assert_eq!(
        rt.status(&spec.instance_id).await.unwrap(),
        RunStatus::Running
    );

    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(inspect_is_gone(&rt, &started.runtime_ref).await);
    assert!(!rt
        .list()
        .await
        .unwrap()
        .iter()
        .any(|i| i.instance_id == spec.instance_id));
    assert!(matches!(
        rt.status(&spec.instance_id).await,
        Err(RuntimeError::UnknownInstance(_))
    ));
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_image_cmd_runs_when_no_command_is_given() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    let spec = container_spec(&tmp, None);
    rt.start(&spec).await.unwrap();
    let reply = eventually("the image's CMD to answer", || async {
        http_get(spec.host_port, "/index.html")
    })
    .await;
    assert!(reply.ends_with(TEST_PAGE), "{reply}");
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_missing_image_is_image_not_found() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    let mut spec = container_spec(&tmp, None);
    spec.workload = Workload::Container {
        image: "ferry-test-missing:never".to_string(),
        command: None,
        container_port: 8080,
    };
    let err = rt.start(&spec).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ImageNotFound { .. }), "{err:?}");
    let err = rt
        .resolve_image("ferry-test-missing:never")
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::ImageNotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_exit_code_is_reported() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    let spec = container_spec(&tmp, Some("echo going away; exit 3"));
    rt.start(&spec).await.unwrap();
    let status = eventually("the container to exit", || async {
        match rt.status(&spec.instance_id).await.unwrap() {
            RunStatus::Running => None,
            exited => Some(exited),
        }
    })
    .await;
    assert_eq!(
        status,
        RunStatus::Exited {
            code: Some(3),
            reason: "exited with code 3".to_string()
        }
    );
    let listed = rt.list().await.unwrap();
    let found = listed
        .iter()
        .find(|i| i.instance_id == spec.instance_id)
        .unwrap();
    assert_eq!(found.status, status);
    eventually("the last log line", || async {
        read_log(&spec.log_path)
            .contains("going away")
            .then_some(())
    })
    .await;
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(matches!(
        rt.status(&spec.instance_id).await,
        Err(RuntimeError::UnknownInstance(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_out_of_memory_is_reported() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    // busybox tail keeps a newline-free input in memory: far more than 16 MiB.
    let mut spec = container_spec(&tmp, Some("head -c 400000000 /dev/zero | tail > /dev/null"));
    spec.memory_mib = 16;
    rt.start(&spec).await.unwrap();
    let status = eventually("the container to be killed", || async {
        match rt.status(&spec.instance_id).await.unwrap() {
            RunStatus::Running => None,
            exited => Some(exited),
        }
    })
    .await;
    assert!(
        matches!(&status, RunStatus::Exited { reason, .. } if reason == "out of memory (OOMKilled)"),
        "{status:?}"
    );
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_resolve_image_pins_id_and_port() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let rt = connect().await;
    let resolved = rt.resolve_image(ensure_test_image()).await.unwrap();
    assert!(resolved.id.starts_with("sha256:"), "{}", resolved.id);
    assert_eq!(resolved.exposed_port, Some(8080));
    // The id itself resolves to itself.
    assert_eq!(rt.resolve_image(&resolved.id).await.unwrap(), resolved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_a_new_runtime_adopts_and_follows_logs() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let namespace = format!("test-{}", InstanceId::generate());
    let old = connect_in(&namespace).await;
    let spec = container_spec(
        &tmp,
        Some("i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"),
    );
    old.start(&spec).await.unwrap();
    drop(old); // ferry "restarts"; the container keeps running

    let stranger = connect().await;
    assert!(stranger.list().await.unwrap().is_empty(), "namespaces leak");
    stranger.stop(&spec.instance_id, GRACE).await.unwrap();

    let new = connect_in(&namespace).await;
    assert!(new.can_adopt());
    let listed = new.list().await.unwrap();
    let found = listed
        .iter()
        .find(|i| i.instance_id == spec.instance_id)
        .expect("the new runtime lists the old container");
    assert_eq!(found.status, RunStatus::Running);
    let adopted_log = tmp.path().join("logs/adopted.log");
    new.adopt(found, &adopted_log).await.unwrap();
    eventually("ticks in the adopted log", || async {
        read_log(&adopted_log).contains("tick-").then_some(())
    })
    .await;
    new.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(inspect_is_gone(&new, &found.runtime_ref).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_unknown_instances_and_process_workloads() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    rt.stop(&InstanceId::generate(), GRACE).await.unwrap();
    let process = process_spec(tmp.path(), "true", tmp.path().join("log"));
    let err = rt.start(&process).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidSpec(_)), "{err:?}");
}

/// [`TEST_IMAGE`] with `VOLUME /data`: the engine gives each container an anonymous
/// volume for it.
fn volume_image() -> &'static str {
    const TAG: &str = "ferry-test-busybox-volume:1";
    let base = ensure_test_image();
    let exists = std::process::Command::new("docker")
        .args(["image", "inspect", TAG])
        .output()
        .unwrap();
    if exists.status.success() {
        return TAG;
    }
    let script = format!(
        "id=$(docker create {base}) && docker export \"$id\" | docker import \
         --change 'VOLUME /data' \
         --change 'CMD [\"/bin/httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]' \
         --change 'EXPOSE 8080' - {TAG}; status=$?; docker rm \"$id\" >/dev/null; exit $status"
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "building {TAG} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    TAG
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_docker_anonymous_volumes_are_removed_with_the_container() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let tmp = tempfile::tempdir().unwrap();
    let rt = connect().await;
    let mut spec = container_spec(&tmp, None);
    spec.workload = Workload::Container {
        image: volume_image().to_string(),
        command: None,
        container_port: 8080,
    };
    let started = rt.start(&spec).await.unwrap();
    let inspect = rt
        .client()
        .inspect_container(&started.runtime_ref, None)
        .await
        .unwrap();
    let volumes: Vec<String> = inspect
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.destination.as_deref() == Some("/data"))
        .filter_map(|m| m.name)
        .collect();
    assert_eq!(volumes.len(), 1, "the image's VOLUME got no volume");
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    for volume in volumes {
        let gone = matches!(
            rt.client().inspect_volume(&volume).await,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            })
        );
        assert!(gone, "volume {volume} outlived its container");
    }
}
