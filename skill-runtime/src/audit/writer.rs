//! Group commit with one writer thread per log. An appender finding nothing
//! being committed commits its own record at once (no hand-off: a lone
//! caller waits for its own commit only). Otherwise it queues the record and
//! waits; the thread, started the first time a record has to wait, takes
//! everything queued, commits it as one batch (one transaction, one sync)
//! and wakes that batch's appenders.
//!
//! Why a thread: measured on 2 cores, a pipeline run by the appenders
//! themselves (one writes the next batch while another syncs) waited on two
//! hand-offs per batch, each a wake-up behind busy call threads: audited
//! throughput was 0.18–0.22× of unaudited at 8 calls in flight and
//! 0.48–0.50× at 64; this design gives 0.36–0.44× and 0.55–0.58×
//! (`cargo bench -p skill-runtime --features baseline --bench throughput`).
//!
//! An append returns only after the commit holding its record, so what was
//! durable before is durable now. One commit runs at a time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

type Commit<T> = Arc<dyn Fn(Vec<T>) -> Result<(), String> + Send + Sync>;

pub(super) struct Writer<T> {
    name: String,
    shared: Arc<Shared<T>>,
    commit: Commit<T>,
    /// `None` if it could not start: appenders then commit one at a time.
    thread: OnceLock<Option<JoinHandle<()>>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The thread waits here for records.
    work: Condvar,
}

struct State<T> {
    queued: Vec<T>,
    /// The batch queued records join; the thread takes it with them.
    filling: Arc<Batch>,
    /// A commit runs: the thread's or an appender's own.
    committing: bool,
    stopping: bool,
}

/// One batch's outcome and its appenders waiting for it, under the state's
/// lock; waking only a batch's own appenders keeps a large pool from
/// stampeding.
#[derive(Default)]
struct Batch {
    outcome: OnceLock<Result<(), String>>,
    wake: Condvar,
}

const PANICKED: &str = "the audit writer panicked";

impl<T> std::fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, State<T>> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + 'static> Writer<T> {
    /// `commit` writes a batch and makes it durable; a panic in it fails
    /// that batch only. The thread starts when a record first has to wait
    /// (a lone caller never starts it).
    pub(super) fn new(
        name: &str,
        commit: impl Fn(Vec<T>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Writer<T> {
        Writer {
            name: name.into(),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queued: Vec::new(),
                    filling: Arc::default(),
                    committing: false,
                    stopping: false,
                }),
                work: Condvar::new(),
            }),
            commit: Arc::new(commit),
            thread: OnceLock::new(),
        }
    }

    /// The writer thread, or `None` if the system refuses one (out of
    /// threads or memory): appends go on, committed one at a time.
    fn spawn(&self) -> Option<JoinHandle<()>> {
        let (shared, commit) = (self.shared.clone(), self.commit.clone());
        std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || {
                while let Some((items, batch)) = next_batch(&shared) {
                    let outcome = guarded(&commit, items);
                    let mut state = lock(&shared);
                    state.committing = false;
                    let _ = batch.outcome.set(outcome);
                    batch.wake.notify_all();
                }
            })
            .ok()
    }

    /// Commits `item` at once if nothing else is being committed, else
    /// queues it for the thread (with no thread, commits it once that commit
    /// ends); returns once the batch holding it was committed, with that
    /// batch's outcome.
    pub(super) fn submit(&self, item: T) -> Result<(), String> {
        let mut state = lock(&self.shared);
        let busy = |state: &State<T>| state.committing || !state.queued.is_empty();
        if busy(&state) && self.thread.get().is_none() {
            drop(state);
            self.thread.get_or_init(|| self.spawn());
            state = lock(&self.shared);
        }
        let no_thread = matches!(self.thread.get(), Some(None));
        while no_thread && state.committing {
            state = self
                .shared
                .work
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        if !busy(&state) {
            state.committing = true;
            drop(state);
            let outcome = guarded(&self.commit, vec![item]);
            let mut state = lock(&self.shared);
            state.committing = false;
            // Wakes the thread for what queued, or with no thread the next
            // appender waiting for this commit to end.
            if !state.queued.is_empty() || matches!(self.thread.get(), Some(None)) {
                self.shared.work.notify_one();
            }
            return outcome;
        }
        state.queued.push(item);
        let batch = state.filling.clone();
        // The thread waits on an empty queue, or for a commit to end.
        if state.queued.len() == 1 && !state.committing {
            self.shared.work.notify_one();
        }
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return outcome.clone();
            }
            state = batch.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn guarded<T>(commit: &Commit<T>, items: Vec<T>) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| commit(items))).unwrap_or_else(|_| Err(PANICKED.into()))
}

/// Waits for records and no commit running, then takes the records with
/// their batch; `None` once stopping and nothing is left.
fn next_batch<T>(shared: &Shared<T>) -> Option<(Vec<T>, Arc<Batch>)> {
    let mut state = lock(shared);
    while state.queued.is_empty() || state.committing {
        if state.stopping && state.queued.is_empty() {
            return None;
        }
        state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    state.committing = true;
    let items = std::mem::take(&mut state.queued);
    Some((items, std::mem::take(&mut state.filling)))
}

impl<T> Writer<T> {
    /// Commits what is queued, then ends the thread, if it ever started.
    pub(super) fn stop(&mut self) {
        lock(&self.shared).stopping = true;
        self.shared.work.notify_one();
        if let Some(Some(thread)) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<T> Drop for Writer<T> {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn every_item_is_committed_once_and_every_appender_returns_after_its_commit() {
        // Items committed; those of the batch that held 3042, which fails.
        let committed = Arc::new(Mutex::new(Vec::new()));
        let failed_batch = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::new({
            let (committed, failed_batch) = (committed.clone(), failed_batch.clone());
            Writer::new("test-writer", move |items: Vec<i32>| {
                if items.contains(&3042) {
                    failed_batch.lock().unwrap().extend(items);
                    return Err("batch failed".into());
                }
                committed.lock().unwrap().extend(items);
                Ok(())
            })
        });
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (writer, committed) = (writer.clone(), committed.clone());
                let failed_batch = failed_batch.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let item = t * 1000 + i;
                        let outcome = writer.submit(item);
                        // Only the batch that held 3042 failed, and its appenders heard it.
                        if failed_batch.lock().unwrap().contains(&item) {
                            assert_eq!(outcome, Err("batch failed".into()));
                        } else {
                            assert_eq!(outcome, Ok(()));
                            assert!(
                                committed.lock().unwrap().contains(&item),
                                "{item} not committed"
                            );
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut all = committed.lock().unwrap().clone();
        all.extend(failed_batch.lock().unwrap().iter());
        all.sort();
        let expected: Vec<i32> = (0..8)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        assert_eq!(all, expected);
    }

    /// Records arriving while a batch commits wait, then go in one batch,
    /// which the thread commits; stopping ends the thread and its commit.
    #[test]
    fn records_arriving_during_a_commit_are_committed_together_by_the_thread() {
        let (committed, batches) = mpsc::channel::<Vec<u32>>();
        let (started, first_started) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        let writer = Arc::new(Writer::new("test-writer", move |items: Vec<u32>| {
            // The first commit lasts until released.
            if items == [1] {
                started.send(()).unwrap();
                released
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10))
                    .map_err(|_| "not released".to_string())?;
            }
            committed.send(items).unwrap();
            Ok(())
        }));
        let submit = |item: u32| {
            let writer = writer.clone();
            std::thread::spawn(move || writer.submit(item))
        };
        let mut threads = vec![submit(1)];
        first_started.recv().unwrap();
        assert!(
            writer.thread.get().is_none(),
            "a lone appender started the thread"
        );
        threads.extend([submit(2), submit(3)]);
        while lock(&writer.shared).queued.len() < 2 {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        assert_eq!(batches.recv().unwrap(), [1]);
        let mut second = batches.recv().unwrap();
        second.sort();
        assert_eq!(second, [2, 3]);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), Ok(()));
        }
        let writer = Arc::into_inner(writer).unwrap();
        assert!(matches!(writer.thread.get(), Some(Some(_))));
        drop(writer);
        // The thread is gone, and the commit it held with it.
        assert_eq!(
            batches.recv_timeout(Duration::from_secs(10)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn with_no_thread_appenders_commit_one_at_a_time_and_none_is_lost() {
        let committed = Arc::new(Mutex::new(Vec::new()));
        let in_commit = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = Arc::new({
            let (committed, in_commit) = (committed.clone(), in_commit.clone());
            Writer::new("test-writer", move |items: Vec<i32>| {
                use std::sync::atomic::Ordering::SeqCst;
                assert!(!in_commit.swap(true, SeqCst), "two commits at once");
                std::thread::sleep(Duration::from_micros(200));
                committed.lock().unwrap().push(items);
                in_commit.store(false, SeqCst);
                Ok(())
            })
        });
        // As when the system refuses the thread.
        writer.thread.set(None).unwrap();
        let appenders: Vec<_> = (0..8)
            .map(|a| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .map(|i| writer.submit(a * 100 + i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for appender in appenders {
            assert!(appender.join().unwrap().iter().all(Result::is_ok));
        }
        let committed = committed.lock().unwrap();
        assert!(committed.iter().all(|batch| batch.len() == 1));
        let mut items: Vec<i32> = committed.iter().flatten().copied().collect();
        items.sort();
        let expected: Vec<i32> = (0..8)
            .flat_map(|a| (0..25).map(move |i| a * 100 + i))
            .collect();
        assert_eq!(items, expected);
    }

    #[test]
    fn a_failed_or_panicking_commit_fails_its_batch_only() {
        let (started, hold_started) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        let writer = Arc::new(Writer::new(
            "test-writer",
            move |items: Vec<&str>| match items[0] {
                "hold" => {
                    started.send(()).unwrap();
                    released
                        .lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(10))
                        .map_err(|_| "not released".to_string())
                }
                "fail" => Err("EIO".into()),
                "panic" => panic!("disk on fire"),
                _ => Ok(()),
            },
        ));
        // Alone, an appender commits its own record; behind a running
        // commit, the thread commits it.
        for behind_another in [false, true] {
            for (item, expected) in [
                ("fail", Err("EIO".to_string())),
                ("ok", Ok(())),
                ("panic", Err(PANICKED.to_string())),
                ("ok", Ok(())),
            ] {
                let outcome = if behind_another {
                    let run = |item| {
                        let writer = writer.clone();
                        std::thread::spawn(move || writer.submit(item))
                    };
                    let holder = run("hold");
                    hold_started.recv().unwrap();
                    let queued = run(item);
                    while lock(&writer.shared).queued.is_empty() {
                        std::thread::yield_now();
                    }
                    release.send(()).unwrap();
                    assert_eq!(holder.join().unwrap(), Ok(()));
                    queued.join().unwrap()
                } else {
                    writer.submit(item)
                };
                assert_eq!(
                    outcome, expected,
                    "{item}, behind another commit: {behind_another}"
                );
            }
        }
    }
}
