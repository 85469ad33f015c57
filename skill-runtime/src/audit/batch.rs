//! Group commit, pipelined: appends that arrive together share one
//! transaction and one fsync, and the next batch is written while the one
//! before it syncs. The first appender to find no batch being written
//! leads: it takes every record queued so far, writes them all, lets the
//! next leader in, syncs, and wakes the others. An append returns only after
//! a sync that began after its record was written, so what was durable
//! before is durable now; alone, a batch is one record.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

pub(super) struct Batches<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queued: Vec<T>,
    /// The batch queued records join; the next leader writes it.
    filling: Arc<Batch>,
    /// A leader is writing (not yet syncing) its batch.
    writing: bool,
}

/// One batch's outcome, and the appenders waiting for it (or, while it
/// fills, for their turn to lead). Both are used under the state's lock;
/// waking only a batch's own appenders keeps a large pool from stampeding.
#[derive(Default)]
struct Batch {
    outcome: OnceLock<Result<(), String>>,
    wake: Condvar,
}

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
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` and returns once the batch holding it was written by
    /// `write` and then made durable by `sync` (here or by another
    /// appender), with that batch's outcome. Batches are written one at a
    /// time, in order; a batch's sync may overlap the next one's write.
    pub(super) fn submit(
        &self,
        item: T,
        write: impl FnOnce(Vec<T>) -> Result<(), String>,
        sync: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let batch = state.filling.clone();
        state.queued.push(item);
        let mut stages = Some((write, sync));
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return outcome.clone();
            }
            // Still being filled and nobody writing: it is ours to write.
            if Arc::ptr_eq(&batch, &state.filling) && !state.writing {
                let (write, sync) = stages.take().expect("an appender leads at most once");
                state.writing = true;
                let items = std::mem::take(&mut state.queued);
                state.filling = Arc::default();
                drop(state);
                let mut finish = Finish {
                    batches: self,
                    batch: &batch,
                    writing: true,
                    outcome: Err("the audit writer panicked".into()),
                };
                let written = write(items);
                finish.done_writing();
                finish.outcome = written.and_then(|()| sync());
                drop(finish);
                state = self.lock();
                continue;
            }
            state = batch.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Publishes a written batch's outcome, also when the writer panics, so
/// no appender waits forever.
struct Finish<'a, T> {
    batches: &'a Batches<T>,
    batch: &'a Batch,
    /// Whether this leader still holds the write stage.
    writing: bool,
    outcome: Result<(), String>,
}

impl<T> Finish<'_, T> {
    /// Lets the next batch be written while this one syncs: one of its
    /// appenders leads it.
    fn done_writing(&mut self) {
        let mut state = self.batches.lock();
        state.writing = false;
        self.writing = false;
        state.filling.wake.notify_one();
    }
}

impl<T> Drop for Finish<'_, T> {
    fn drop(&mut self) {
        let mut state = self.batches.lock();
        if self.writing {
            state.writing = false;
            state.filling.wake.notify_one();
        }
        let outcome = std::mem::replace(&mut self.outcome, Ok(()));
        let _ = self.batch.outcome.set(outcome);
        self.batch.wake.notify_all();
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
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (batches, disk) = (batches.clone(), disk.clone());
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let item = t * 1000 + i;
                        let outcome = batches.submit(
                            item,
                            |items| {
                                let failed = items.contains(&3042);
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
                        // Only the batch that held 3042 failed, and 3042 heard it.
                        if item == 3042 {
                            assert!(outcome.is_err());
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
            assert!(!batches.lock().writing);
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
