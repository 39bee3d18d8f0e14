//! The fake driver for unit tests of the deployer and server: records every call and
//! lets a test script failures, exits and leftovers. With [`FakeRuntime::serving_tcp`]
//! each running instance answers on `127.0.0.1:<host_port>` so health checks and the
//! router can be tested without a daemon.

use crate::{lock, InstanceSpec, ResolvedImage, RunStatus, Runtime, RuntimeError, RuntimeInstance};
use async_trait::async_trait;
use ferry_types::{InstanceId, RevisionId, RuntimeKind, ServiceId};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One call made to the fake, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum FakeCall {
    Start {
        instance_id: InstanceId,
        service_id: ServiceId,
        revision_id: RevisionId,
        host_port: u16,
    },
    Stop {
        instance_id: InstanceId,
        grace: Duration,
    },
    Adopt {
        instance_id: InstanceId,
        log_path: PathBuf,
    },
    ResolveImage {
        image: String,
    },
}

type ErrorFactory = Arc<dyn Fn() -> RuntimeError + Send + Sync>;

struct FakeInstance {
    instance: RuntimeInstance,
    /// The spec it was started with; `None` for instances put in with `insert`.
    spec: Option<InstanceSpec>,
    /// Accept loop on the host port while the instance "runs" (serving_tcp only).
    listener: Option<JoinHandle<()>>,
}

impl FakeInstance {
    fn close_port(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
    }
}

#[derive(Default)]
struct FakeState {
    calls: Vec<FakeCall>,
    instances: BTreeMap<InstanceId, FakeInstance>,
    start_failures: HashMap<RevisionId, ErrorFactory>,
    start_statuses: HashMap<RevisionId, RunStatus>,
    images: HashMap<String, ResolvedImage>,
    /// `start` panics this many more times (a bug in a driver, for supervisor tests).
    start_panics: u32,
    /// `stop` fails this many more times, leaving the instance running.
    stop_failures: u32,
}

/// A scriptable in-memory runtime.
pub struct FakeRuntime {
    kind: RuntimeKind,
    can_adopt: bool,
    serve_tcp: bool,
    state: Mutex<FakeState>,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    /// A fake that reports itself as the docker runtime, can adopt, and opens no ports.
    pub fn new() -> Self {
        Self {
            kind: RuntimeKind::Docker,
            can_adopt: true,
            serve_tcp: false,
            state: Mutex::new(FakeState::default()),
        }
    }

    /// Reports `kind` from [`Runtime::kind`].
    pub fn with_kind(mut self, kind: RuntimeKind) -> Self {
        self.kind = kind;
        self
    }

    /// Answers `can_adopt` with `can_adopt` (false mimics the process runtime).
    pub fn with_adopt(mut self, can_adopt: bool) -> Self {
        self.can_adopt = can_adopt;
        self
    }

    /// Makes every started instance listen on `127.0.0.1:<host_port>` until it is
    /// stopped or made to exit. Each connection gets one HTTP response,
    /// `200 OK` with the instance id and a newline as body, then is closed, so both
    /// TCP and HTTP health checks pass and a test can tell instances apart.
    pub fn serving_tcp(mut self) -> Self {
        self.serve_tcp = true;
        self
    }

    /// The next `times` calls of `start` panic (before recording anything).
    pub fn panic_on_start(&self, times: u32) {
        lock(&self.state).start_panics = times;
    }

    /// The next `times` calls of `stop` fail and leave the instance running.
    pub fn fail_stops(&self, times: u32) {
        lock(&self.state).stop_failures = times;
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<FakeCall> {
        lock(&self.state).calls.clone()
    }

    /// Forgets the recorded calls (scripted behaviour and instances stay).
    pub fn clear_calls(&self) {
        lock(&self.state).calls.clear();
    }

    /// Ids passed to `start`, in order (failed starts included).
    pub fn started(&self) -> Vec<InstanceId> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                FakeCall::Start { instance_id, .. } => Some(instance_id),
                _ => None,
            })
            .collect()
    }

    /// Ids passed to `stop`, in order.
    pub fn stopped(&self) -> Vec<InstanceId> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                FakeCall::Stop { instance_id, .. } => Some(instance_id),
                _ => None,
            })
            .collect()
    }

    /// Makes `start` fail for instances of `revision` with the error `make_error` builds.
    pub fn fail_start(
        &self,
        revision: &RevisionId,
        make_error: impl Fn() -> RuntimeError + Send + Sync + 'static,
    ) {
        lock(&self.state)
            .start_failures
            .insert(revision.clone(), Arc::new(make_error));
    }

    /// Makes `start` fail for instances of `revision` with an I/O error saying `message`.
    pub fn fail_start_with_message(&self, revision: &RevisionId, message: &str) {
        let message = message.to_string();
        self.fail_start(revision, move || RuntimeError::Io {
            context: message.clone(),
            source: io::Error::other("scripted failure"),
        });
    }

    /// Lets `start` succeed again for `revision`.
    pub fn clear_start_failure(&self, revision: &RevisionId) {
        lock(&self.state).start_failures.remove(revision);
    }

    /// Instances of `revision` start successfully but report `status` at once (for
    /// example an app that crashes on boot). They open no port unless `status` is
    /// `Running`.
    pub fn status_on_start(&self, revision: &RevisionId, status: RunStatus) {
        lock(&self.state)
            .start_statuses
            .insert(revision.clone(), status);
    }

    /// Makes a running instance exit: its status becomes `Exited` and its port closes.
    /// Returns false when the instance is unknown.
    pub fn set_exited(&self, id: &InstanceId, code: Option<i32>, reason: &str) -> bool {
        let mut state = lock(&self.state);
        let Some(entry) = state.instances.get_mut(id) else {
            return false;
        };
        entry.instance.status = RunStatus::Exited {
            code,
            reason: reason.to_string(),
        };
        entry.close_port();
        true
    }

    /// Puts an instance in as if an earlier ferry process had started it (to test
    /// adoption and replacement after a restart). Records no call and opens no port.
    pub fn insert(&self, instance: RuntimeInstance) {
        lock(&self.state).instances.insert(
            instance.instance_id.clone(),
            FakeInstance {
                instance,
                spec: None,
                listener: None,
            },
        );
    }

    /// Instances whose status is `Running`.
    pub fn running(&self) -> Vec<RuntimeInstance> {
        lock(&self.state)
            .instances
            .values()
            .filter(|entry| entry.instance.status == RunStatus::Running)
            .map(|entry| entry.instance.clone())
            .collect()
    }

    /// One instance as the fake sees it.
    pub fn instance(&self, id: &InstanceId) -> Option<RuntimeInstance> {
        lock(&self.state)
            .instances
            .get(id)
            .map(|entry| entry.instance.clone())
    }

    /// The spec an instance was started with.
    pub fn spec(&self, id: &InstanceId) -> Option<InstanceSpec> {
        lock(&self.state)
            .instances
            .get(id)
            .and_then(|entry| entry.spec.clone())
    }

    /// Makes `resolve_image(reference)` return `resolved` (unknown references give
    /// `ImageNotFound`).
    pub fn add_image(&self, reference: &str, resolved: ResolvedImage) {
        lock(&self.state)
            .images
            .insert(reference.to_string(), resolved);
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        for entry in lock(&self.state).instances.values_mut() {
            entry.close_port();
        }
    }
}

#[async_trait]
impl Runtime for FakeRuntime {
    fn kind(&self) -> RuntimeKind {
        self.kind
    }

    fn can_adopt(&self) -> bool {
        self.can_adopt
    }

    async fn start(&self, spec: &InstanceSpec) -> Result<RuntimeInstance, RuntimeError> {
        let status = {
            let mut state = lock(&self.state);
            if state.start_panics > 0 {
                state.start_panics -= 1;
                drop(state);
                panic!("fake runtime: scripted panic in start");
            }
            state.calls.push(FakeCall::Start {
                instance_id: spec.instance_id.clone(),
                service_id: spec.service_id.clone(),
                revision_id: spec.revision_id.clone(),
                host_port: spec.host_port,
            });
            if let Some(make_error) = state.start_failures.get(&spec.revision_id) {
                return Err(make_error());
            }
            if state.instances.contains_key(&spec.instance_id) {
                return Err(RuntimeError::InvalidSpec(format!(
                    "instance {} already exists",
                    spec.instance_id
                )));
            }
            state
                .start_statuses
                .get(&spec.revision_id)
                .cloned()
                .unwrap_or(RunStatus::Running)
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, spec.host_port));
        let listener = if self.serve_tcp && status == RunStatus::Running {
            let socket = TcpListener::bind(address)
                .await
                .map_err(|source| RuntimeError::Io {
                    context: format!("fake instance listening on {address}"),
                    source,
                })?;
            Some(tokio::spawn(serve(socket, spec.instance_id.to_string())))
        } else {
            None
        };
        let instance = RuntimeInstance {
            instance_id: spec.instance_id.clone(),
            service_id: spec.service_id.clone(),
            revision_id: spec.revision_id.clone(),
            runtime_ref: format!("fake-{}", spec.instance_id),
            address,
            status,
        };
        lock(&self.state).instances.insert(
            spec.instance_id.clone(),
            FakeInstance {
                instance: instance.clone(),
                spec: Some(spec.clone()),
                listener,
            },
        );
        Ok(instance)
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), RuntimeError> {
        let mut state = lock(&self.state);
        state.calls.push(FakeCall::Stop {
            instance_id: id.clone(),
            grace,
        });
        if state.stop_failures > 0 {
            state.stop_failures -= 1;
            return Err(RuntimeError::Io {
                context: format!("reading instance record for {id}"),
                // EMFILE: what a real driver hits when ferry is out of descriptors.
                source: io::Error::from_raw_os_error(24),
            });
        }
        if let Some(mut entry) = state.instances.remove(id) {
            entry.close_port();
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<RuntimeInstance>, RuntimeError> {
        Ok(lock(&self.state)
            .instances
            .values()
            .map(|entry| entry.instance.clone())
            .collect())
    }

    async fn adopt(&self, instance: &RuntimeInstance, log_path: &Path) -> Result<(), RuntimeError> {
        let mut state = lock(&self.state);
        state.calls.push(FakeCall::Adopt {
            instance_id: instance.instance_id.clone(),
            log_path: log_path.to_path_buf(),
        });
        if state.instances.contains_key(&instance.instance_id) {
            Ok(())
        } else {
            Err(RuntimeError::UnknownInstance(instance.instance_id.clone()))
        }
    }

    async fn status(&self, id: &InstanceId) -> Result<RunStatus, RuntimeError> {
        lock(&self.state)
            .instances
            .get(id)
            .map(|entry| entry.instance.status.clone())
            .ok_or_else(|| RuntimeError::UnknownInstance(id.clone()))
    }

    async fn resolve_image(&self, image: &str) -> Result<ResolvedImage, RuntimeError> {
        let mut state = lock(&self.state);
        state.calls.push(FakeCall::ResolveImage {
            image: image.to_string(),
        });
        state
            .images
            .get(image)
            .cloned()
            .ok_or_else(|| RuntimeError::ImageNotFound {
                image: image.to_string(),
            })
    }
}

/// Accept loop of a fake instance: one HTTP response per connection.
async fn serve(listener: TcpListener, body: String) {
    let response = Arc::new(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}\n",
        body.len() + 1
    ));
    while let Ok((socket, _)) = listener.accept().await {
        let response = Arc::clone(&response);
        // Per-connection work ends when the client hangs up or is answered.
        tokio::spawn(answer(socket, response));
    }
}

async fn answer(mut socket: TcpStream, response: Arc<String>) {
    // Read up to the end of the request head; a bare TCP probe just closes.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 16 * 1024 {
            break;
        }
    }
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workload;

    fn spec(revision: &RevisionId, port: u16) -> InstanceSpec {
        InstanceSpec {
            instance_id: InstanceId::generate(),
            service_id: ServiceId::from_string("svc-test"),
            service_name: "web".into(),
            revision_id: revision.clone(),
            workload: Workload::Container {
                image: "img".into(),
                command: None,
                container_port: 8080,
            },
            env: BTreeMap::new(),
            host_port: port,
            cpu: 1.0,
            memory_mib: 512,
            log_path: PathBuf::from("/nonexistent/log"),
        }
    }

    #[tokio::test]
    async fn records_calls_and_scripts_failures_and_exits() {
        let fake = FakeRuntime::new();
        let good = RevisionId::generate();
        let bad = RevisionId::generate();
        fake.fail_start_with_message(&bad, "no such thing");

        let a = spec(&good, 1);
        let started = fake.start(&a).await.unwrap();
        assert_eq!(started.status, RunStatus::Running);
        let err = fake.start(&spec(&bad, 2)).await.unwrap_err();
        assert!(err.to_string().contains("no such thing"));
        assert_eq!(fake.started().len(), 2);
        assert_eq!(fake.list().await.unwrap().len(), 1);

        assert!(fake.set_exited(&a.instance_id, Some(3), "exited with code 3"));
        assert_eq!(
            fake.status(&a.instance_id).await.unwrap(),
            RunStatus::Exited {
                code: Some(3),
                reason: "exited with code 3".into()
            }
        );
        assert!(fake.running().is_empty());

        fake.stop(&a.instance_id, Duration::from_secs(1))
            .await
            .unwrap();
        fake.stop(&a.instance_id, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(fake.stopped(), vec![a.instance_id.clone(), a.instance_id]);
        assert!(fake.list().await.unwrap().is_empty());
        assert!(matches!(
            fake.resolve_image("nope").await,
            Err(RuntimeError::ImageNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn serving_tcp_answers_until_stopped() {
        let fake = FakeRuntime::new().serving_tcp();
        let port = crate::allocate_port().unwrap();
        let s = spec(&RevisionId::generate(), port);
        fake.start(&s).await.unwrap();

        let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        socket
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        socket.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        assert!(reply.ends_with(&format!("{}\n", s.instance_id)), "{reply}");

        fake.stop(&s.instance_id, Duration::ZERO).await.unwrap();
        // The listener task is aborted; the port is bindable again once it is dropped.
        let mut rebound = None;
        for _ in 0..200 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
                rebound = Some(listener);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(rebound.is_some(), "port {port} still held after stop");
    }
}
