//! The process driver against real processes on this host.
#![allow(clippy::unwrap_used)] // tests may unwrap (helpers too, not only #[test] fns)

mod support;

use ferry_runtime::logs::{rotated_path, LogLimits};
use ferry_runtime::process::limits::Limits;
use ferry_runtime::{ProcessRuntime, RunStatus, Runtime, RuntimeError, Workload};
use ferry_types::InstanceId;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use support::*;

const GRACE: Duration = Duration::from_secs(5);

fn runtime(state: &tempfile::TempDir) -> ProcessRuntime {
    ProcessRuntime::new(state.path().join("instances")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_logs_lists_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    let log = tmp.path().join("logs/a/instance.log");
    let spec = process_spec(
        tmp.path(),
        "echo hello $GREETING $FERRY_INSTANCE_ID; echo oops >&2; exec sleep 30",
        log.clone(),
    );
    let started = rt.start(&spec).await.unwrap();
    assert_eq!(started.status, RunStatus::Running);
    assert_eq!(started.address.port(), spec.host_port);
    let pgid: i32 = started.runtime_ref.parse().unwrap();

    let expected = format!("hello bonjour {}", spec.instance_id);
    eventually("the log lines", || async {
        let text = read_log(&log);
        (text.contains(&expected) && text.contains("oops")).then_some(())
    })
    .await;

    let listed = rt.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].instance_id, spec.instance_id);
    assert_eq!(listed[0].status, RunStatus::Running);
    assert!(rt
        .state_dir()
        .join(format!("{}.json", spec.instance_id))
        .exists());

    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(!pid_alive(pgid), "group leader {pgid} survived stop");
    assert!(rt.list().await.unwrap().is_empty());
    assert!(matches!(
        rt.status(&spec.instance_id).await,
        Err(RuntimeError::UnknownInstance(_))
    ));
    // Stopping again, or something never started, is fine.
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    rt.stop(&InstanceId::generate(), GRACE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kills_grandchildren_that_ignore_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    // The grandchild ignores SIGTERM, so only the SIGKILL to the group ends it.
    let spec = process_spec(
        tmp.path(),
        "(trap '' TERM; exec sleep 300) & echo $! > grandchild.pid; exec sleep 300",
        tmp.path().join("log"),
    );
    rt.start(&spec).await.unwrap();
    let pid_file = tmp.path().join("grandchild.pid");
    let grandchild: i32 = eventually("the grandchild pid", || async {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .await;
    assert!(pid_alive(grandchild));

    rt.stop(&spec.instance_id, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        !pid_alive(grandchild),
        "grandchild {grandchild} survived stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_exits_reports_its_code() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    let spec = process_spec(tmp.path(), "echo bye; exit 3", tmp.path().join("log"));
    rt.start(&spec).await.unwrap();
    let status = eventually("the exit", || async {
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
    assert_eq!(rt.list().await.unwrap()[0].status, status);
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(rt.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signalled_instance_reports_the_signal() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    let spec = process_spec(tmp.path(), "kill -9 $$", tmp.path().join("log"));
    rt.start(&spec).await.unwrap();
    let status = eventually("the exit", || async {
        match rt.status(&spec.instance_id).await.unwrap() {
            RunStatus::Running => None,
            exited => Some(exited),
        }
    })
    .await;
    assert_eq!(
        status,
        RunStatus::Exited {
            code: None,
            reason: "killed by signal 9 (SIGKILL)".to_string()
        }
    );
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runtime_finds_and_stops_what_an_old_one_started() {
    let tmp = tempfile::tempdir().unwrap();
    let old = runtime(&tmp);
    let running = process_spec(tmp.path(), "exec sleep 300", tmp.path().join("a.log"));
    let gone = process_spec(tmp.path(), "exit 0", tmp.path().join("b.log"));
    let started = old.start(&running).await.unwrap();
    let pgid: i32 = started.runtime_ref.parse().unwrap();
    old.start(&gone).await.unwrap();
    eventually("the short one to exit", || async {
        (old.status(&gone.instance_id).await.unwrap() != RunStatus::Running).then_some(())
    })
    .await;
    drop(old); // ferry "restarts"

    let new = runtime(&tmp);
    assert!(!new.can_adopt());
    let listed = new.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    let find = |id: &InstanceId| listed.iter().find(|i| &i.instance_id == id).unwrap();
    let left = find(&running.instance_id);
    assert_eq!(left.status, RunStatus::Running);
    assert_eq!(left.runtime_ref, pgid.to_string());
    assert_eq!(left.revision_id, running.revision_id);
    assert_eq!(left.address.port(), running.host_port);
    assert_eq!(
        find(&gone.instance_id).status,
        RunStatus::Exited {
            code: None,
            reason: "not running (ferry restarted)".to_string()
        }
    );
    assert!(matches!(
        new.adopt(left, &tmp.path().join("c.log")).await,
        Err(RuntimeError::Unavailable(_))
    ));

    new.stop(&running.instance_id, GRACE).await.unwrap();
    new.stop(&gone.instance_id, GRACE).await.unwrap();
    assert!(!pid_alive(pgid), "leftover {pgid} survived stop");
    assert!(new.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_pid_is_neither_reported_nor_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    // A process that is not ours, in its own group, named by a forged record.
    let mut stranger = std::process::Command::new("sleep")
        .arg("300")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = stranger.id();
    let id = InstanceId::generate();
    let record = serde_json::json!({
        "instance_id": id, "service_id": "svc-x", "service_name": "x", "revision_id": "rev-x",
        "pid": pid, "pgid": pid, "host_port": 1, "cpu": 1.0, "memory_mib": 1,
        "dir": "/", "command": "sleep 300", "log_path": "/dev/null",
        "started_at": "2026-01-01T00:00:00Z"
    });
    std::fs::write(
        rt.state_dir().join(format!("{id}.json")),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    // A corrupt record is skipped, not fatal.
    std::fs::write(rt.state_dir().join("ins-broken.json"), b"{").unwrap();

    let listed = rt.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(matches!(listed[0].status, RunStatus::Exited { .. }));
    rt.stop(&id, Duration::from_millis(100)).await.unwrap();
    assert!(
        pid_alive(i32::try_from(pid).unwrap()),
        "a stranger was killed"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_server_answers_on_its_port_until_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("index.html"), "served by python\n").unwrap();
    let rt = runtime(&tmp);
    // A background child plus `wait`: the server is a grandchild of ferry.
    let spec = process_spec(
        tmp.path(),
        "python3 -m http.server \"$PORT\" --bind 127.0.0.1 & wait",
        tmp.path().join("logs/py.log"),
    );
    let port = spec.host_port;
    rt.start(&spec).await.unwrap();
    let reply = eventually("python to answer", || async {
        http_get(port, "/index.html")
    })
    .await;
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    assert!(reply.ends_with("served by python\n"), "{reply}");

    rt.stop(&spec.instance_id, GRACE).await.unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still answers after stop"
    );
}

#[tokio::test]
async fn images_need_docker_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    let container = spec(
        Workload::Container {
            image: "nginx:1".to_string(),
            command: None,
            container_port: 8080,
        },
        1,
        tmp.path().join("log"),
    );
    let err = rt.start(&container).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("install Docker"), "{err}");
    let err = rt.resolve_image("nginx:1").await.unwrap_err();
    assert!(err.to_string().contains("install Docker"), "{err}");
}

#[tokio::test]
async fn a_missing_directory_or_bad_id_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    let missing = tmp.path().join("nope");
    let err = rt
        .start(&process_spec(&missing, "true", tmp.path().join("log")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("source directory"), "{err}");
    // Said without the data dir's layout: the path is not the user's business.
    assert!(
        !format!("{err:?}").contains(tmp.path().to_str().unwrap()),
        "{err:?}"
    );

    let mut bad = process_spec(tmp.path(), "true", tmp.path().join("log"));
    bad.instance_id = InstanceId::from_string("../escape");
    let err = rt.start(&bad).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidSpec(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_enforced_and_unenforceable_cpu_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime(&tmp);
    eprintln!("limits: {}", rt.limits().describe());
    let log = tmp.path().join("mem.log");
    // `b'x' * n` writes every byte, so the memory is really used (not lazily mapped).
    let mut spec = process_spec(
        tmp.path(),
        "python3 -c \"x = b'x' * (64 << 20); print('small ok', flush=True); \
         y = b'y' * (1 << 30); print('allocated 1 GiB', flush=True)\"",
        log.clone(),
    );
    spec.memory_mib = 128;
    rt.start(&spec).await.unwrap();
    let status = eventually("the exit", || async {
        match rt.status(&spec.instance_id).await.unwrap() {
            RunStatus::Running => None,
            exited => Some(exited),
        }
    })
    .await;
    let text = read_log(&log);
    assert!(text.contains("small ok"), "{text}");
    assert!(!text.contains("allocated 1 GiB"), "{text}");
    // MemoryError (RLIMIT_DATA) or the OOM killer (cgroup): never a clean exit.
    assert!(
        !matches!(status, RunStatus::Exited { code: Some(0), .. }),
        "{status:?}"
    );
    rt.stop(&spec.instance_id, GRACE).await.unwrap();

    // Where CPU cannot be capped, a CPU other than the default is refused, saying why.
    let rlimit = ProcessRuntime::new(tmp.path().join("other"))
        .unwrap()
        .with_limits(Limits::Rlimit {
            reason: "no cgroup v2 here".to_string(),
        });
    let mut spec = process_spec(tmp.path(), "sleep 30", tmp.path().join("cpu.log"));
    spec.cpu = 2.0;
    let err = rlimit.start(&spec).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidSpec(_)), "{err:?}");
    assert!(err.to_string().contains("no cgroup v2 here"), "{err}");
    assert_eq!(
        rlimit.check_limits(2.0, 128),
        Err(err.to_string().replace("invalid instance spec: ", ""))
    );
    assert!(rlimit.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_cut_and_rotated_within_the_log_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = LogLimits {
        max_line_bytes: 1024,
        max_file_bytes: 64 * 1024,
        rotated_files: 1,
    };
    let rt = runtime(&tmp).with_log_limits(limits);
    let log = tmp.path().join("logs/flood.log");
    // A 5 MB line without a newline, then many short lines on both streams.
    let spec = process_spec(
        tmp.path(),
        "head -c 5000000 /dev/zero | tr '\\0' x; echo; \
         i=0; while [ $i -lt 20000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done; \
         echo done; exec sleep 30",
        log.clone(),
    );
    rt.start(&spec).await.unwrap();
    eventually("the last line", || async {
        read_log(&log).contains("done\n").then_some(())
    })
    .await;
    let current = std::fs::metadata(&log).unwrap().len();
    let rotated = std::fs::metadata(rotated_path(&log, 1)).unwrap().len();
    assert!(!rotated_path(&log, 2).exists());
    assert!(
        current + rotated <= limits.max_disk_bytes(),
        "{current} + {rotated} bytes on disk"
    );
    let text = read_log(&log);
    // stderr and stdout share the log, in the order written.
    assert!(
        text.ends_with("out 19999\nerr 19999\ndone\n"),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );
    rt.stop(&spec.instance_id, GRACE).await.unwrap();
}
