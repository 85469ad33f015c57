//! Where a call may wait. A call that runs at once (a sandboxed skill
//! whose worker answers while the host spins) needs no thread of its own;
//! one that waits (for a worker to sleep on, a capability, a guest run in
//! process, an audit commit, a worker to start or free up) may hold up
//! whatever else runs on the caller's thread. [`Blocking`] is how the
//! caller is told before each wait: an async server passes
//! `tokio::task::block_in_place`, so a quick call never leaves the thread
//! that read it and a slow one holds up nothing else.

/// Runs a stretch of work that may wait; it must call its argument once.
pub type Blocking = fn(&mut dyn FnMut());

/// Runs the work on this thread: for callers that own their thread.
pub fn here(work: &mut dyn FnMut()) {
    work()
}

/// `work` run through `hook`, with its result.
pub(crate) fn run<R>(hook: Blocking, work: impl FnOnce() -> R) -> R {
    let mut work = Some(work);
    let mut out = None;
    hook(&mut || out = work.take().map(|work| work()));
    out.expect("a blocking hook runs its work")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_through_the_hook_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static HOOKED: AtomicUsize = AtomicUsize::new(0);
        fn counting(work: &mut dyn FnMut()) {
            HOOKED.fetch_add(1, Ordering::SeqCst);
            work()
        }
        let mut ran = 0;
        let out = run(counting, || {
            ran += 1;
            42
        });
        assert_eq!((out, ran, HOOKED.load(Ordering::SeqCst)), (42, 1, 1));
    }

    #[test]
    #[should_panic(expected = "a blocking hook runs its work")]
    fn a_hook_that_skips_the_work_is_a_bug_caught_at_once() {
        fn skipping(_: &mut dyn FnMut()) {}
        run(skipping, || 1);
    }
}
