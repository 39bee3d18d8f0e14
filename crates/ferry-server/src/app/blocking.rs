//! Blocking work done for a request that may go away mid-way (its client disconnects and
//! axum drops the request's future): the work sees a cancellation flag and stops early,
//! and whatever it produced is dropped, so undone by its own `Drop`, when no request is
//! left to take it. The work is either taken by the request or undone; never kept by no
//! one.

use super::AppError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

enum Slot<T> {
    Running,
    /// The request went away: the work undoes what it made.
    Abandoned,
    Done(T),
    Taken,
}

struct Shared<T> {
    cancel: AtomicBool,
    slot: Mutex<Slot<T>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The slot is replaced whole under the lock; a panic elsewhere cannot tear it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held by the request while the work runs; dropping it (the request went away) cancels.
struct Abandon<T: Send + 'static>(Arc<Shared<T>>);

impl<T: Send + 'static> Drop for Abandon<T> {
    fn drop(&mut self) {
        self.0.cancel.store(true, Ordering::Relaxed);
        let left = {
            let mut slot = lock(&self.0.slot);
            match std::mem::replace(&mut *slot, Slot::Abandoned) {
                Slot::Done(value) => Some(value),
                Slot::Taken => {
                    *slot = Slot::Taken;
                    None
                }
                Slot::Running | Slot::Abandoned => None,
            }
        };
        // Finished just as the request left: undo it here, off the async workers (its
        // `Drop` may remove a directory tree).
        if let Some(value) = left {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || drop(value));
                }
                Err(_) => drop(value),
            }
        }
    }
}

/// Runs `work` on the blocking pool. It gets a flag that is set when the caller's future
/// is dropped, and should stop soon after; what it returns then is dropped, on the
/// blocking pool.
pub async fn run_blocking<T, F>(work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> Result<T, AppError> + Send + 'static,
{
    let shared = Arc::new(Shared {
        cancel: AtomicBool::new(false),
        slot: Mutex::new(Slot::Running),
    });
    let guard = Abandon(Arc::clone(&shared));
    let worker = Arc::clone(&shared);
    let joined = tokio::task::spawn_blocking(move || {
        let result = work(&worker.cancel);
        let mut slot = lock(&worker.slot);
        if matches!(*slot, Slot::Running) {
            *slot = Slot::Done(result);
        } else {
            drop(slot);
            drop(result);
        }
    })
    .await;
    // No await from here on: the result is taken before the future could be dropped.
    let taken = std::mem::replace(&mut *lock(&shared.slot), Slot::Taken);
    drop(guard);
    match (taken, joined) {
        (Slot::Done(result), _) => result,
        (_, Err(err)) => Err(AppError::Internal(format!(
            "a background task failed: {err}"
        ))),
        (_, Ok(())) => Err(AppError::Internal(
            "a background task ended without a result".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Counts its drops, standing in for a directory that removes itself.
    struct Undo(Arc<AtomicUsize>);
    impl Drop for Undo {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn the_result_reaches_a_caller_that_waits() {
        let undone = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&undone);
        let value = run_blocking(move |_| Ok(Undo(counter))).await.unwrap();
        assert_eq!(undone.load(Ordering::SeqCst), 0);
        drop(value);
        assert_eq!(undone.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_caller_that_leaves_cancels_the_work_and_its_result_is_undone() {
        let undone = Arc::new(AtomicUsize::new(0));
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let (counter, saw) = (Arc::clone(&undone), Arc::clone(&saw_cancel));
        let call = run_blocking(move |cancel| {
            let made = Undo(counter);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !cancel.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            saw.store(cancel.load(Ordering::Relaxed), Ordering::SeqCst);
            Ok(made)
        });
        // The caller gives up (as a disconnected client's request does).
        assert!(tokio::time::timeout(Duration::from_millis(50), call)
            .await
            .is_err());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while undone.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "never undone");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(saw_cancel.load(Ordering::SeqCst));
        assert_eq!(undone.load(Ordering::SeqCst), 1);
    }
}
