//! The one controller every reconciler runs under, with kube-rs's rules: a queue per
//! key where wake-ups merge, never two reconciles of one key at once, requeue after a
//! delay the reconciler chooses, backoff chosen by the error, a restart (with backoff)
//! after a panic, cancellation passed down, and each key's last outcome kept as data
//! for `ferry status` and the API.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A reconciler: reads desired state for a key, compares it with what is, acts a
/// little, and says when to look again. It never acts on what woke it.
pub trait Reconciler: Send + Sync + 'static {
    type Key: Clone + Eq + Hash + Ord + Display + Send + Sync + 'static;
    type Error: ReconcileError;

    /// Shown in statuses and logs.
    fn name(&self) -> &'static str;

    /// The keys that need a reconcile now; read at start and on every resync, so a key
    /// the wake-up missed (or one left by a crash) is still found.
    fn keys(&self) -> Result<Vec<Self::Key>, Self::Error>;

    /// One short pass for `key`. Long work watches `ctx` and stops when cancelled.
    fn reconcile(
        &self,
        key: Self::Key,
        ctx: Context,
    ) -> impl Future<Output = Result<Requeue, Self::Error>> + Send;

    /// Called once after the last reconcile, on shutdown.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// When to reconcile a key again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// Look again after this long (sooner if woken).
    After(Duration),
    /// Nothing left to do for this key until it is woken or listed again.
    Done,
}

/// What the driver needs from a reconciler's error.
pub trait ReconcileError: std::error::Error + Send + 'static {
    /// How long to wait before the `failures`-th retry (1 for the first).
    fn retry_after(&self, failures: u32) -> Duration;
}

/// Doubling backoff from `base`, capped at `max`.
pub fn exponential(base: Duration, failures: u32, max: Duration) -> Duration {
    base.saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(max)
}

/// What a running reconcile can watch.
#[derive(Clone)]
pub struct Context {
    cancel: CancellationToken,
    woken: Arc<Notify>,
}

impl Context {
    /// Resolves when the server shuts down: stop and return.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the key was woken while this reconcile runs: desired state may
    /// have changed, so long work re-reads it (a newer deploy supersedes a build).
    pub async fn woken(&self) {
        self.woken.notified().await
    }
}

/// Driver settings.
#[derive(Clone, Debug)]
pub struct DriverSettings {
    /// How often `keys()` is read again.
    pub resync: Duration,
    /// Reconciles running at once, over all keys.
    pub max_concurrent: usize,
    /// How long running reconciles get to return after shutdown is signalled before
    /// they are aborted.
    pub shutdown_timeout: Duration,
    /// Backoff after a panic: doubling from here, capped at `max_backoff`.
    pub panic_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for DriverSettings {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(2),
            max_concurrent: 64,
            shutdown_timeout: Duration::from_secs(15),
            panic_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

pub use ferry_api::TaskStatus;

/// Wakes keys of one reconciler; cheap to clone and call from anywhere.
pub struct Trigger<K> {
    pending: Mutex<HashSet<K>>,
    notify: Notify,
    statuses: Mutex<BTreeMap<K, TaskStatus>>,
}

impl<K: Clone + Eq + Hash + Ord + Display> Trigger<K> {
    fn new() -> Self {
        Self {
            pending: Mutex::new(HashSet::new()),
            notify: Notify::new(),
            statuses: Mutex::new(BTreeMap::new()),
        }
    }

    /// Asks for a reconcile of `key` as soon as it is not running; wake-ups merge.
    pub fn wake(&self, key: &K) {
        lock(&self.pending).insert(key.clone());
        self.notify.notify_one();
    }

    pub fn status(&self, key: &K) -> Option<TaskStatus> {
        lock(&self.statuses).get(key).cloned()
    }

    pub fn statuses(&self) -> Vec<TaskStatus> {
        lock(&self.statuses).values().cloned().collect()
    }
}

/// Locks a mutex whose values are replaced whole (never left half-updated), so a
/// panic elsewhere cannot poison what they hold.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a finished pass hands back: its key and outcome.
type PassResult<R> = (
    <R as Reconciler>::Key,
    Result<Requeue, <R as Reconciler>::Error>,
);
/// A joined pass: its task id and result, or how the task ended (panic, abort).
type Joined<R> = Result<(tokio::task::Id, PassResult<R>), tokio::task::JoinError>;

struct KeyState {
    due: Option<Instant>,
    running: Option<Arc<Notify>>,
    rerun: bool,
    failures: u32,
}

/// Runs `reconciler` until `shutdown`, then lets running passes return (bounded by
/// `shutdown_timeout`) and calls its `shutdown`.
pub struct Driver<R: Reconciler> {
    reconciler: Arc<R>,
    trigger: Arc<Trigger<R::Key>>,
    settings: DriverSettings,
}

impl<R: Reconciler> Driver<R> {
    pub fn new(reconciler: Arc<R>, settings: DriverSettings) -> Self {
        Self {
            reconciler,
            trigger: Arc::new(Trigger::new()),
            settings,
        }
    }

    pub fn trigger(&self) -> Arc<Trigger<R::Key>> {
        Arc::clone(&self.trigger)
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let name = self.reconciler.name();
        let permits = Arc::new(Semaphore::new(self.settings.max_concurrent.max(1)));
        let mut keys: HashMap<R::Key, KeyState> = HashMap::new();
        let mut tasks: JoinSet<PassResult<R>> = JoinSet::new();
        let mut task_keys: HashMap<tokio::task::Id, R::Key> = HashMap::new();
        let mut next_resync = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_resync {
                match self.reconciler.keys() {
                    Ok(listed) => {
                        for key in listed {
                            let state = keys.entry(key).or_insert_with(|| KeyState {
                                due: None,
                                running: None,
                                rerun: false,
                                failures: 0,
                            });
                            if state.running.is_none() && state.due.is_none() {
                                state.due = Some(now);
                            }
                        }
                    }
                    Err(err) => tracing::warn!(task = name, error = %err, "cannot list keys"),
                }
                next_resync = now + self.settings.resync;
            }
            for key in std::mem::take(&mut *lock(&self.trigger.pending)) {
                let state = keys.entry(key).or_insert_with(|| KeyState {
                    due: None,
                    running: None,
                    rerun: false,
                    failures: 0,
                });
                match &state.running {
                    Some(woken) => {
                        state.rerun = true;
                        woken.notify_one();
                    }
                    None => state.due = Some(now),
                }
            }
            // Start every due key that is not running, as permits allow.
            let mut due: Vec<(Instant, R::Key)> = keys
                .iter()
                .filter(|(_, s)| s.running.is_none())
                .filter_map(|(k, s)| s.due.filter(|d| *d <= now).map(|d| (d, k.clone())))
                .collect();
            due.sort();
            for (_, key) in due {
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    break;
                };
                let Some(state) = keys.get_mut(&key) else {
                    continue;
                };
                let woken = Arc::new(Notify::new());
                state.running = Some(Arc::clone(&woken));
                state.due = None;
                state.rerun = false;
                self.set_status(&key, |s| s.running = true);
                let ctx = Context {
                    cancel: shutdown.child_token(),
                    woken,
                };
                let reconciler = Arc::clone(&self.reconciler);
                let task_key = key.clone();
                let handle = tasks.spawn(async move {
                    let _permit = permit;
                    let result = reconciler.reconcile(task_key.clone(), ctx).await;
                    (task_key, result)
                });
                task_keys.insert(handle.id(), key);
            }
            let next_due = keys
                .values()
                .filter(|s| s.running.is_none())
                .filter_map(|s| s.due)
                .min()
                .map_or(next_resync, |d| d.min(next_resync));
            tokio::select! {
                _ = self.trigger.notify.notified() => {}
                _ = tokio::time::sleep_until(next_due) => {}
                Some(done) = tasks.join_next_with_id() => {
                    self.finished(done, &mut keys, &mut task_keys);
                }
                _ = shutdown.cancelled() => break,
            }
        }
        // Running passes saw the cancellation through their context.
        let drained = tokio::time::timeout(self.settings.shutdown_timeout, async {
            while let Some(done) = tasks.join_next_with_id().await {
                self.finished(done, &mut keys, &mut task_keys);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                task = name,
                "reconciles did not stop in time; aborting them"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        self.reconciler.shutdown().await;
    }

    fn finished(
        &self,
        done: Joined<R>,
        keys: &mut HashMap<R::Key, KeyState>,
        task_keys: &mut HashMap<tokio::task::Id, R::Key>,
    ) {
        let name = self.reconciler.name();
        let now = Instant::now();
        let (key, outcome) = match done {
            Ok((id, (key, result))) => {
                task_keys.remove(&id);
                (key, Ok(result))
            }
            Err(join_error) => {
                let Some(key) = task_keys.remove(&join_error.id()) else {
                    return;
                };
                (key, Err(join_error))
            }
        };
        let Some(state) = keys.get_mut(&key) else {
            return;
        };
        state.running = None;
        let (outcome_text, delay) = match outcome {
            Ok(Ok(Requeue::After(delay))) => {
                state.failures = 0;
                ("ok".to_string(), Some(delay))
            }
            Ok(Ok(Requeue::Done)) => {
                state.failures = 0;
                ("ok".to_string(), None)
            }
            Ok(Err(err)) => {
                state.failures += 1;
                let delay = err.retry_after(state.failures);
                tracing::warn!(task = name, %key, error = %ErrorChain(&err), retry_in = ?delay, "reconcile failed");
                (format!("error: {}", ErrorChain(&err)), Some(delay))
            }
            Err(join_error) => {
                state.failures += 1;
                let delay = exponential(
                    self.settings.panic_backoff,
                    state.failures,
                    self.settings.max_backoff,
                );
                let message = if join_error.is_panic() {
                    panic_message(join_error.into_panic())
                } else {
                    "cancelled".to_string()
                };
                tracing::error!(task = name, %key, panic = %message, restart_in = ?delay, "reconcile panicked; it will run again");
                (format!("panicked: {message}"), Some(delay))
            }
        };
        // A wake-up during the pass means desired state changed: look again now,
        // unless the pass failed (its backoff stands, so a failing key cannot spin).
        state.due = match delay {
            _ if state.rerun && state.failures == 0 => Some(now),
            Some(delay) => Some(now + delay),
            None if state.rerun => Some(now),
            None => None,
        };
        state.rerun = false;
        let failures = state.failures;
        let next = state.due.map(|d| d.saturating_duration_since(now));
        if state.due.is_none() {
            keys.remove(&key);
        }
        self.set_status(&key, |s| {
            s.running = false;
            s.runs += 1;
            s.failures = failures;
            s.last_outcome = outcome_text;
            s.last_finished = Some(ferry_types::now());
            s.next_run_ms = next.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        });
    }

    fn set_status(&self, key: &R::Key, update: impl FnOnce(&mut TaskStatus)) {
        let mut statuses = lock(&self.trigger.statuses);
        let status = statuses.entry(key.clone()).or_insert_with(|| TaskStatus {
            task: self.reconciler.name().to_string(),
            key: key.to_string(),
            ..TaskStatus::default()
        });
        update(status);
    }
}

impl<K: Clone + Eq + Hash + Ord + Display> Trigger<K> {
    /// Drops a key's status (its object is gone).
    pub fn forget(&self, key: &K) {
        lock(&self.statuses).remove(key);
    }
}

/// An error with its sources, for one log line.
pub struct ErrorChain<'a>(pub &'a dyn std::error::Error);

impl Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-text panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug, thiserror::Error)]
    #[error("flaky")]
    struct Flaky;

    impl ReconcileError for Flaky {
        fn retry_after(&self, _failures: u32) -> Duration {
            Duration::from_millis(10)
        }
    }

    /// Records concurrency per key and lets tests script panics, errors and slowness.
    #[derive(Default)]
    struct Probe {
        runs: Mutex<HashMap<u32, u32>>,
        running: Mutex<HashSet<u32>>,
        overlaps: AtomicU32,
        panics_left: AtomicU32,
        errors_left: AtomicU32,
        slow: Mutex<HashSet<u32>>,
        woken_seen: AtomicU32,
        cancelled_seen: AtomicU32,
    }

    impl Reconciler for Probe {
        type Key = u32;
        type Error = Flaky;

        fn name(&self) -> &'static str {
            "probe"
        }

        fn keys(&self) -> Result<Vec<u32>, Flaky> {
            Ok(vec![1])
        }

        async fn reconcile(&self, key: u32, ctx: Context) -> Result<Requeue, Flaky> {
            if !lock(&self.running).insert(key) {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
            *lock(&self.runs).entry(key).or_default() += 1;
            let slow = lock(&self.slow).contains(&key);
            if slow {
                tokio::select! {
                    _ = ctx.woken() => { self.woken_seen.fetch_add(1, Ordering::SeqCst); }
                    _ = ctx.cancelled() => { self.cancelled_seen.fetch_add(1, Ordering::SeqCst); }
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
            } else {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            lock(&self.running).remove(&key);
            if self.panics_left.load(Ordering::SeqCst) > 0 {
                self.panics_left.fetch_sub(1, Ordering::SeqCst);
                panic!("scripted panic");
            }
            if self.errors_left.load(Ordering::SeqCst) > 0 {
                self.errors_left.fetch_sub(1, Ordering::SeqCst);
                return Err(Flaky);
            }
            Ok(Requeue::After(Duration::from_secs(3600)))
        }
    }

    fn settings() -> DriverSettings {
        DriverSettings {
            resync: Duration::from_secs(3600),
            panic_backoff: Duration::from_millis(10),
            shutdown_timeout: Duration::from_secs(5),
            ..DriverSettings::default()
        }
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(
                std::time::Instant::now() < deadline,
                "gave up waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn listed_keys_run_once_and_wake_ups_merge_without_overlap() {
        let probe = Arc::new(Probe::default());
        let driver = Driver::new(Arc::clone(&probe), settings());
        let trigger = driver.trigger();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(driver.run(shutdown.clone()));
        until("first run", || lock(&probe.runs).get(&1) == Some(&1)).await;
        for _ in 0..100 {
            trigger.wake(&1);
            trigger.wake(&2);
            tokio::task::yield_now().await;
        }
        until("key 2 ran", || lock(&probe.runs).contains_key(&2)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let runs = lock(&probe.runs).clone();
        assert!(runs[&1] < 60, "wake-ups did not merge: {runs:?}");
        assert_eq!(probe.overlaps.load(Ordering::SeqCst), 0);
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_panicking_pass_is_logged_and_the_key_runs_again() {
        let probe = Arc::new(Probe::default());
        probe.panics_left.store(2, Ordering::SeqCst);
        let driver = Driver::new(Arc::clone(&probe), settings());
        let trigger = driver.trigger();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(driver.run(shutdown.clone()));
        until("recovered after two panics", || {
            trigger.status(&1).is_some_and(|s| s.last_outcome == "ok")
        })
        .await;
        let status = trigger.status(&1).unwrap();
        assert_eq!(status.runs, 3);
        assert_eq!(status.failures, 0);
        assert_eq!(lock(&probe.runs)[&1], 3);
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn errors_back_off_and_are_kept_in_the_status() {
        let probe = Arc::new(Probe::default());
        probe.errors_left.store(1000, Ordering::SeqCst);
        let driver = Driver::new(Arc::clone(&probe), settings());
        let trigger = driver.trigger();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(driver.run(shutdown.clone()));
        until("three failures", || {
            trigger.status(&1).is_some_and(|s| s.failures >= 3)
        })
        .await;
        assert_eq!(trigger.status(&1).unwrap().last_outcome, "error: flaky");
        probe.errors_left.store(0, Ordering::SeqCst);
        until("recovered", || {
            trigger.status(&1).is_some_and(|s| s.failures == 0)
        })
        .await;
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_wake_reaches_the_running_pass_and_shutdown_cancels_it() {
        let probe = Arc::new(Probe::default());
        lock(&probe.slow).insert(1);
        let driver = Driver::new(Arc::clone(&probe), settings());
        let trigger = driver.trigger();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(driver.run(shutdown.clone()));
        until("running", || trigger.status(&1).is_some_and(|s| s.running)).await;
        trigger.wake(&1);
        until("woken", || probe.woken_seen.load(Ordering::SeqCst) == 1).await;
        // The wake-up asked for another pass: it runs (slow again) right after.
        until("second pass", || lock(&probe.runs)[&1] == 2).await;
        shutdown.cancel();
        task.await.unwrap();
        // The pass returned because it saw the cancellation, not by being aborted.
        assert_eq!(probe.cancelled_seen.load(Ordering::SeqCst), 1);
        assert_eq!(probe.overlaps.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn exponential_backoff_doubles_and_caps() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        let got: Vec<u64> = (1..=8)
            .map(|n| exponential(base, n, max).as_secs())
            .collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
