//! Group commit: appends that arrive together share one transaction and one
//! fsync. The first appender to find no batch being written leads: it takes
//! every record queued so far, writes them all, and wakes the others. An
//! append returns only after the transaction holding its record committed,
//! so what was durable before is durable now; alone, a batch is one record.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

pub(super) struct Batches<T> {
    state: Mutex<State<T>>,
    written: Condvar,
}

struct State<T> {
    queued: Vec<T>,
    /// The batch queued records join; the next leader writes it.
    filling: u64,
    /// Appenders waiting on `filling`.
    waiting: usize,
    writing: bool,
    /// Written batches whose appenders have not all returned: the outcome
    /// and how many are still to read it.
    outcomes: HashMap<u64, (Result<(), String>, usize)>,
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
                filling: 0,
                waiting: 0,
                writing: false,
                outcomes: HashMap::new(),
            }),
            written: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` and returns once the batch holding it was written by
    /// `write` (here or by another appender), with that batch's outcome.
    pub(super) fn submit(
        &self,
        item: T,
        write: impl FnOnce(Vec<T>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let batch = state.filling;
        state.queued.push(item);
        state.waiting += 1;
        let mut write = Some(write);
        loop {
            if let Some((outcome, left)) = state.outcomes.get_mut(&batch) {
                let outcome = outcome.clone();
                *left -= 1;
                if *left == 0 {
                    state.outcomes.remove(&batch);
                }
                return outcome;
            }
            // Not written and nobody writing: the batch being filled is ours.
            if !state.writing {
                let write = write.take().expect("an appender leads at most once");
                state.writing = true;
                let items = std::mem::take(&mut state.queued);
                let waiters = std::mem::take(&mut state.waiting);
                state.filling += 1;
                drop(state);
                let mut finish = Finish {
                    batches: self,
                    batch,
                    waiters,
                    outcome: Err("the audit writer panicked".into()),
                };
                finish.outcome = write(items);
                drop(finish);
                state = self.lock();
                continue;
            }
            state = self.written.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Publishes a written batch's outcome, also when the writer panics, so
/// no appender waits forever.
struct Finish<'a, T> {
    batches: &'a Batches<T>,
    batch: u64,
    waiters: usize,
    outcome: Result<(), String>,
}

impl<T> Drop for Finish<'_, T> {
    fn drop(&mut self) {
        let mut state = self.batches.lock();
        state.writing = false;
        let outcome = std::mem::replace(&mut self.outcome, Ok(()));
        // A panicking leader never reads its own outcome.
        let readers = self.waiters - usize::from(std::thread::panicking());
        if readers > 0 {
            state.outcomes.insert(self.batch, (outcome, readers));
        }
        self.batches.written.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_item_is_written_once_and_every_appender_hears_its_outcome() {
        let batches = Arc::new(Batches::new());
        let written = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (batches, written) = (batches.clone(), written.clone());
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let item = t * 1000 + i;
                        let outcome = batches.submit(item, |items| {
                            let failed = items.contains(&3042);
                            written.lock().unwrap().extend(items);
                            if failed {
                                Err("batch failed".into())
                            } else {
                                Ok(())
                            }
                        });
                        // Only the batch that held 3042 failed, and 3042 heard it.
                        if item == 3042 {
                            assert!(outcome.is_err());
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut all = written.lock().unwrap().clone();
        all.sort();
        let expected: Vec<i32> = (0..8)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        assert_eq!(all, expected);
        assert!(batches.lock().outcomes.is_empty(), "every outcome was read");
    }

    #[test]
    fn a_panicking_writer_fails_its_batch_and_the_next_one_is_written() {
        let batches = Batches::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batches.submit(1, |_| panic!("disk on fire"))
        }));
        assert!(panicked.is_err());
        assert!(batches.lock().outcomes.is_empty());
        assert_eq!(
            batches.submit(2, |items| {
                assert_eq!(items, [2]);
                Ok(())
            }),
            Ok(())
        );
    }
}
