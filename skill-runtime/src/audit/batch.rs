//! Group commit, pipelined: appends that arrive together share one
//! transaction and one fsync, and a batch is written while the one before
//! it syncs. Two stages, each held by one appender at a time:
//! - write: the first appender to find no batch being written, and none
//!   written waiting for a sync, takes every record queued so far and
//!   writes them in one transaction;
//! - sync: an appender of a written batch, finding no sync running, makes
//!   every batch written so far durable at once and wakes their appenders.
//!
//! Records arriving while a sync runs and a batch waits for the next one
//! are held back and written together: each commit rewrites whole pages,
//! so small commits would cost the disk more than the wait costs them.
//!
//! An append returns only after a sync that began after its record was
//! written, so what was durable before is durable now; alone, a batch is
//! one record and one sync.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

pub(super) struct Batches<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queued: Vec<T>,
    /// The batch queued records join; the next writer takes it.
    filling: Arc<Batch>,
    writing: bool,
    syncing: bool,
    /// Written batches waiting for a sync, oldest first.
    unsynced: Vec<Arc<Batch>>,
}

/// One batch's outcome, and its appenders waiting for it or for their turn
/// at a stage. Both are used under the state's lock; waking only a batch's
/// own appenders keeps a large pool from stampeding.
#[derive(Default)]
struct Batch {
    outcome: OnceLock<Result<(), String>>,
    wake: Condvar,
}

impl Batch {
    fn finish(&self, outcome: Result<(), String>) {
        let _ = self.outcome.set(outcome);
        self.wake.notify_all();
    }
}

const PANICKED: &str = "the audit writer panicked";

impl<T> std::fmt::Debug for Batches<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").finish_non_exhaustive()
    }
}

impl<T> Batches<T> {
    pub(super) fn new() -> Batches<T> {
        Batches {
            state: Mutex::new(State {
                queued: Vec::new(),
                filling: Arc::default(),
                writing: false,
                syncing: false,
                unsynced: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` and returns once the batch holding it was written by
    /// `write` and then made durable by a `sync` (here or by another
    /// appender), with that batch's outcome. Batches are written one at a
    /// time, in order; one sync runs at a time, over every batch written
    /// before it began.
    pub(super) fn submit(
        &self,
        item: T,
        write: impl FnOnce(Vec<T>) -> Result<(), String>,
        sync: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let batch = state.filling.clone();
        state.queued.push(item);
        let (mut write, mut sync) = (Some(write), Some(sync));
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return outcome.clone();
            }
            // One written batch at most waits for a sync: records arriving
            // meanwhile join the next, which is then written in one go.
            if Arc::ptr_eq(&batch, &state.filling) && !state.writing && state.unsynced.is_empty() {
                let write = write.take().expect("an appender writes at most once");
                state.writing = true;
                let items = std::mem::take(&mut state.queued);
                state.filling = Arc::default();
                drop(state);
                let mut stage = WriteStage {
                    batches: self,
                    batch: &batch,
                    outcome: Err(PANICKED.into()),
                };
                stage.outcome = write(items);
                drop(stage);
                state = self.lock();
                continue;
            }
            if !state.syncing && state.unsynced.iter().any(|b| Arc::ptr_eq(b, &batch)) {
                let sync = sync.take().expect("an appender syncs at most once");
                state.syncing = true;
                let covered = std::mem::take(&mut state.unsynced);
                state.filling.wake.notify_one();
                drop(state);
                let mut stage = SyncStage {
                    batches: self,
                    covered,
                    outcome: Err(PANICKED.into()),
                };
                stage.outcome = sync();
                drop(stage);
                state = self.lock();
                continue;
            }
            state = batch.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Ends a write, also when the writer panics: a written batch waits for a
/// sync, a failed one hears why; one appender of the next batch may write.
struct WriteStage<'a, T> {
    batches: &'a Batches<T>,
    batch: &'a Arc<Batch>,
    outcome: Result<(), String>,
}

impl<T> Drop for WriteStage<'_, T> {
    fn drop(&mut self) {
        let mut state = self.batches.lock();
        state.writing = false;
        match std::mem::replace(&mut self.outcome, Ok(())) {
            Ok(()) => state.unsynced.push(self.batch.clone()),
            Err(e) => {
                self.batch.finish(Err(e));
                state.filling.wake.notify_one();
            }
        }
    }
}

/// Ends a sync, also when it panics: every batch it covered hears its
/// outcome, and an appender of a batch written meanwhile syncs next.
struct SyncStage<'a, T> {
    batches: &'a Batches<T>,
    covered: Vec<Arc<Batch>>,
    outcome: Result<(), String>,
}

impl<T> Drop for SyncStage<'_, T> {
    fn drop(&mut self) {
        let mut state = self.batches.lock();
        state.syncing = false;
        for batch in &self.covered {
            batch.finish(self.outcome.clone());
        }
        if let Some(next) = state.unsynced.first() {
            next.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_item_is_written_once_and_every_appender_returns_after_its_sync() {
        let batches = Arc::new(Batches::new());
        // Written and not yet synced; written and synced.
        let disk = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let failed_batch = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (batches, disk) = (batches.clone(), disk.clone());
                let failed_batch = failed_batch.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let item = t * 1000 + i;
                        let outcome = batches.submit(
                            item,
                            |items| {
                                let failed = items.contains(&3042);
                                if failed {
                                    failed_batch.lock().unwrap().extend(items.iter().copied());
                                }
                                disk.lock().unwrap().0.extend(items);
                                if failed {
                                    Err("batch failed".into())
                                } else {
                                    Ok(())
                                }
                            },
                            || {
                                let mut disk = disk.lock().unwrap();
                                let written = std::mem::take(&mut disk.0);
                                disk.1.extend(written);
                                Ok(())
                            },
                        );
                        // Only the batch that held 3042 failed, and its appenders heard it.
                        if failed_batch.lock().unwrap().contains(&item) {
                            assert_eq!(outcome, Err("batch failed".into()));
                        } else {
                            assert_eq!(outcome, Ok(()));
                            assert!(disk.lock().unwrap().1.contains(&item), "{item} not synced");
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (unsynced, mut all) = disk.lock().unwrap().clone();
        all.extend(unsynced);
        all.sort();
        let expected: Vec<i32> = (0..8)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn the_next_batch_is_written_while_one_syncs() {
        let batches = Arc::new(Batches::<u32>::new());
        let (second_written, wait_for_second) = std::sync::mpsc::channel();
        let (first_led, wait_for_first) = std::sync::mpsc::channel();
        let first = {
            let batches = batches.clone();
            std::thread::spawn(move || {
                batches.submit(
                    1,
                    |_| {
                        first_led.send(()).unwrap();
                        Ok(())
                    },
                    // The first sync lasts until the second batch was written.
                    move || {
                        wait_for_second
                            .recv_timeout(std::time::Duration::from_secs(10))
                            .map_err(|_| "the second batch waited for this sync".to_string())
                    },
                )
            })
        };
        wait_for_first.recv().unwrap();
        let second = batches.submit(
            2,
            |items| {
                assert_eq!(items, [2]);
                second_written.send(()).unwrap();
                Ok(())
            },
            || Ok(()),
        );
        assert_eq!(second, Ok(()));
        assert_eq!(first.join().unwrap(), Ok(()));
    }

    /// While a sync runs, one batch may be written; records arriving after
    /// it wait and are then written together.
    #[test]
    fn records_arriving_during_a_sync_are_written_together() {
        let batches = Arc::new(Batches::<u32>::new());
        let (written, wait) = std::sync::mpsc::channel::<Vec<u32>>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let submit = |item: u32| {
            let (batches, written, released) = (batches.clone(), written.clone(), released.clone());
            std::thread::spawn(move || {
                batches.submit(
                    item,
                    |items| {
                        written.send(items).unwrap();
                        Ok(())
                    },
                    move || {
                        // The first sync lasts until released.
                        if item == 1 {
                            let released = released.lock().unwrap();
                            released
                                .recv_timeout(std::time::Duration::from_secs(10))
                                .map_err(|_| "not released".to_string())?;
                        }
                        Ok(())
                    },
                )
            })
        };
        let mut threads = vec![submit(1)];
        assert_eq!(wait.recv().unwrap(), [1]);
        while !batches.lock().syncing {
            std::thread::yield_now();
        }
        threads.push(submit(2));
        assert_eq!(wait.recv().unwrap(), [2]);
        threads.extend([submit(3), submit(4)]);
        while batches.lock().queued.len() < 2 {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        let mut last = wait.recv().unwrap();
        last.sort();
        assert_eq!(last, [3, 4]);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), Ok(()));
        }
    }

    #[test]
    fn a_failed_sync_fails_its_batch_only() {
        let batches = Batches::new();
        assert!(batches.submit(1, |_| Ok(()), || Err("EIO".into())).is_err());
        assert_eq!(batches.submit(2, |_| Ok(()), || Ok(())), Ok(()));
    }

    #[test]
    fn a_panicking_writer_fails_its_batch_and_the_next_one_is_written() {
        let batches = Batches::new();
        for panicking_sync in [false, true] {
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                batches.submit(
                    1,
                    |_| {
                        if panicking_sync {
                            Ok(())
                        } else {
                            panic!("disk on fire")
                        }
                    },
                    || panic!("disk on fire"),
                )
            }));
            assert!(panicked.is_err());
            assert!(!batches.lock().writing && !batches.lock().syncing);
            assert_eq!(
                batches.submit(
                    2,
                    |items| {
                        assert_eq!(items, [2]);
                        Ok(())
                    },
                    || Ok(())
                ),
                Ok(())
            );
        }
    }
}
