//! The host's side of sandboxed invocations: worker processes (spawned,
//! fed components, asked to run them, killed), and the warm pool that
//! reuses them.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::blocking::{self, Blocking};
use crate::capabilities::calls::Capabilities;
use crate::engine::compile_cache::Serialized;
use crate::engine::loaded_skill::LoadedSkill;
use crate::engine::log::LogLimits;
use crate::limits::tier::TrustTier;
use crate::outcome::ErrorKind;
use crate::platform;
use crate::sandbox::config::{SKILLS_PER_WORKER, SandboxConfig, WorkerCommand};
use crate::sandbox::error::SandboxError;
use crate::sandbox::probe::ProbeReport;
use crate::sandbox::protocol::{
    FromWorker, HOST_SPIN, ToWorker, WorkerCall, WorkerOutcome, read_frame, set_nonblocking,
    write_frame,
};

/// How long a worker may take past the invocation's deadline to answer.
const GRACE: Duration = Duration::from_secs(1);
/// How long starting (exec, confining) or loading a component may take.
const SETUP: Duration = Duration::from_secs(30);
/// Inputs up to this size go down an empty pipe without waiting for the
/// worker to read them.
const SENT_AT_ONCE: usize = 32 * 1024;

pub(crate) struct Worker {
    child: Child,
    to: File,
    from: File,
    /// Skills loaded in it, with what it was sent: a successor loads them too.
    loaded: HashMap<[u8; 32], Arc<Serialized>>,
    uses: u32,
    /// Its successor is being started.
    successor_started: bool,
}

impl Worker {
    /// A confined worker; one for `tier` builds that tier's engine while
    /// its first component is sent.
    pub(crate) fn spawn(
        command: &WorkerCommand,
        config: &SandboxConfig,
        log_limits: LogLimits,
        tier: Option<TrustTier>,
    ) -> Result<Worker, SandboxError> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| SandboxError::Spawn {
                program: command.program.display().to_string(),
                error: e.to_string(),
            })?;
        let to = File::from(std::os::fd::OwnedFd::from(
            child.stdin.take().expect("piped"),
        ));
        let from = File::from(std::os::fd::OwnedFd::from(
            child.stdout.take().expect("piped"),
        ));
        set_nonblocking(&from).map_err(|e| SandboxError::Spawn {
            program: command.program.display().to_string(),
            error: e.to_string(),
        })?;
        let mut worker = Worker {
            child,
            to,
            from,
            loaded: HashMap::new(),
            uses: 0,
            successor_started: false,
        };
        let start = ToWorker::Start {
            limits: config.process_limits,
            log_limits,
            tier,
        };
        match worker.ask(&start, &[], Instant::now() + SETUP, "while starting")? {
            FromWorker::Ready(_) => Ok(worker),
            FromWorker::Refused(why) => Err(SandboxError::Refused(why)),
            other => Err(SandboxError::Protocol(format!(
                "{other:?} instead of ready"
            ))),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(
        &mut self,
        message: &ToWorker,
        payload: &[u8],
        when: &'static str,
    ) -> Result<(), SandboxError> {
        write_frame(&mut self.to, message, payload).map_err(|_| self.died(when))
    }

    /// The next message; reads spin for `spin` before they sleep through
    /// `sleep` (see [`HOST_SPIN`]).
    fn receive(
        &mut self,
        deadline: Instant,
        when: &'static str,
        spin: Duration,
        sleep: Blocking,
    ) -> Result<FromWorker, SandboxError> {
        match read_frame::<FromWorker>(&mut self.from, Some(deadline), spin, sleep) {
            Ok((message, _)) => Ok(message),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                self.kill();
                Err(SandboxError::Hung(when))
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                self.kill();
                Err(SandboxError::Protocol(e.to_string()))
            }
            Err(_) => Err(self.died(when)),
        }
    }

    fn ask(
        &mut self,
        message: &ToWorker,
        payload: &[u8],
        deadline: Instant,
        when: &'static str,
    ) -> Result<FromWorker, SandboxError> {
        self.send(message, payload, when)?;
        self.receive(deadline, when, HOST_SPIN, blocking::here)
    }

    /// Gone: reaps it and says how it ended.
    fn died(&mut self, when: &'static str) -> SandboxError {
        self.kill();
        let status = match self.child.wait() {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                match status.signal() {
                    Some(signal) => format!("killed by signal {signal}"),
                    None => status.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        SandboxError::Died { when, status }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    fn load(&mut self, skill: &LoadedSkill) -> Result<(), SandboxError> {
        if self.loaded.contains_key(skill.sha256()) {
            return Ok(());
        }
        let bytes = skill.serialized().map_err(SandboxError::Load)?;
        self.send_load(*skill.sha256(), skill.tier(), bytes)
    }

    fn send_load(
        &mut self,
        sha256: [u8; 32],
        tier: TrustTier,
        bytes: Arc<Serialized>,
    ) -> Result<(), SandboxError> {
        let load = ToWorker::Load {
            sha256: hex::encode(sha256),
            tier,
        };
        // The whole component queued at once (here ~1 ms less than 64 KiB
        // per wake-up of the worker); the buffer shrinks once it is read.
        let grown = platform::set_pipe_size(self.to.as_fd(), bytes.len() + 4096);
        let answer = self.ask(
            &load,
            &bytes,
            Instant::now() + SETUP,
            "while loading the component",
        );
        if grown {
            platform::set_pipe_size(self.to.as_fd(), platform::DEFAULT_PIPE_SIZE);
        }
        match answer? {
            FromWorker::Loaded(Ok(())) => {
                self.loaded.insert(sha256, bytes);
                Ok(())
            }
            FromWorker::Loaded(Err(e)) => Err(SandboxError::Load(e)),
            other => Err(SandboxError::Protocol(format!(
                "{other:?} instead of loaded"
            ))),
        }
    }

    /// Runs one call, answering the worker's capability calls with `caps`.
    /// Both sides' reads spin only when `spin` (see [`HOST_SPIN`]); every
    /// wait (a sleep, a capability, a large input) runs through `blocking`.
    fn call(
        &mut self,
        call: WorkerCall,
        caps: &mut dyn Capabilities,
        spin: bool,
        blocking: Blocking,
    ) -> Result<WorkerOutcome, SandboxError> {
        let deadline = Instant::now() + call.limits.timeout + GRACE;
        let when = "during the invocation";
        let large = call.input.len() > SENT_AT_ONCE;
        let invoke = ToWorker::Invoke {
            call: Box::new(call),
            spin,
        };
        if large {
            blocking::run(blocking, || self.send(&invoke, &[], when))?;
        } else {
            self.send(&invoke, &[], when)?;
        }
        let spin = if spin { HOST_SPIN } else { Duration::ZERO };
        loop {
            match self.receive(deadline, when, spin, blocking)? {
                FromWorker::Call(request) => blocking::run(blocking, || {
                    let reply = caps.call(request);
                    self.send(&ToWorker::Reply(reply), &[], when)
                })?,
                FromWorker::Done(outcome) => return Ok(*outcome),
                other => {
                    self.kill();
                    return Err(SandboxError::Protocol(format!("{other:?} during a call")));
                }
            }
        }
    }

    pub(crate) fn probe(&mut self) -> Result<ProbeReport, SandboxError> {
        match self.ask(
            &ToWorker::Probe,
            &[],
            Instant::now() + SETUP,
            "while probing",
        ) {
            Ok(FromWorker::Probed(report)) => Ok(report),
            Ok(other) => Err(SandboxError::Protocol(format!(
                "{other:?} instead of a probe report"
            ))),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        let _ = self.child.wait();
    }
}

/// Outcomes after which the worker is not reused: the guest trapped (its
/// process may be in any state) or hit a limit.
fn retires(outcome: &Result<WorkerOutcome, SandboxError>) -> bool {
    match outcome {
        Ok(outcome) => matches!(
            outcome.result.as_ref().err().map(|f| f.kind),
            Some(
                ErrorKind::Trap
                    | ErrorKind::FuelExhausted
                    | ErrorKind::Timeout
                    | ErrorKind::MemoryLimit
                    | ErrorKind::StackOverflow
                    | ErrorKind::SandboxFailure
            )
        ),
        Err(_) => true,
    }
}

#[derive(Default)]
struct PoolState {
    idle: [Vec<Worker>; 3],
    /// Workers alive per tier, idle or busy (or being spawned).
    live: [usize; 3],
    /// Process ids of the workers running a call now.
    busy: Vec<u32>,
    /// Workers out on a call whose successor is ready: they stop when back.
    retired: Vec<u32>,
    /// Workers being started in the background. Calls do not spin meanwhile:
    /// a start takes milliseconds of CPU, and spinning pairs holding both
    /// cores made it preempt calls (the sandboxed p99).
    starting: usize,
}

/// A worker of a tier being started in the background, counted live and
/// starting by its caller. Dropped before it is placed (its start failed or
/// panicked), it is forgotten: calls spin again and the tier may start
/// another.
struct Start<'a> {
    pool: &'a Pool,
    tier: usize,
    placed: bool,
}

impl<'a> Start<'a> {
    fn new(pool: &'a Pool, tier: usize) -> Start<'a> {
        Start {
            pool,
            tier,
            placed: false,
        }
    }

    fn placed(mut self, state: &mut PoolState) {
        state.starting -= 1;
        self.placed = true;
    }
}

impl Drop for Start<'_> {
    fn drop(&mut self) {
        if !self.placed {
            self.pool.lock().starting -= 1;
            self.pool.forget(self.tier);
        }
    }
}

/// Warm workers per tier; at most `pool_size` run at once, others wait.
pub(crate) struct Pool {
    command: WorkerCommand,
    config: SandboxConfig,
    log_limits: LogLimits,
    state: Mutex<PoolState>,
    freed: Condvar,
    blocking: Blocking,
    /// Calls in flight up to which readers spin: one core for the host's
    /// reader and one for the worker, each.
    spinning_calls: usize,
}

impl Pool {
    pub(crate) fn new(
        command: WorkerCommand,
        config: SandboxConfig,
        log_limits: LogLimits,
        blocking: Blocking,
    ) -> Arc<Pool> {
        Arc::new(Pool {
            command,
            config,
            log_limits,
            blocking,
            state: Mutex::default(),
            freed: Condvar::new(),
            spinning_calls: std::thread::available_parallelism().map_or(1, |n| n.get()) / 2,
        })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spawn(&self, tier: Option<TrustTier>) -> Result<Worker, SandboxError> {
        Worker::spawn(&self.command, &self.config, self.log_limits, tier)
    }

    /// Runs `call` of `skill` in a worker of its tier: one that holds it
    /// already if one is idle; a fresh one when the worker has no room for
    /// another skill, or could not load it beside the others. Only taking
    /// an idle worker that holds the skill, and a call it answers while
    /// the host spins, happen outside the pool's [`Blocking`].
    pub(crate) fn invoke(
        self: &Arc<Self>,
        skill: &LoadedSkill,
        call: WorkerCall,
        caps: &mut dyn Capabilities,
    ) -> Result<WorkerOutcome, SandboxError> {
        let tier = skill.tier();
        let (mut worker, loaded) = match self.idle_holding(tier, skill.sha256()) {
            Some(worker) => (worker, Ok(())),
            None => blocking::run(self.blocking, || self.readied(skill))?,
        };
        let pid = worker.pid();
        let spin = {
            let mut state = self.lock();
            state.busy.push(pid);
            state.busy.len() <= self.spinning_calls && state.starting == 0
        };
        let outcome = loaded.and_then(|()| worker.call(call, caps, spin, self.blocking));
        self.lock().busy.retain(|p| *p != pid);
        if retires(&outcome) {
            // Stopping a worker waits for the process to end.
            blocking::run(self.blocking, || self.release(tier, worker, false));
        } else {
            self.release(tier, worker, true);
        }
        outcome
    }

    fn idle_holding(&self, tier: TrustTier, sha256: &[u8; 32]) -> Option<Worker> {
        let mut state = self.lock();
        let idle = &mut state.idle[tier.index()];
        let at = idle.iter().position(|w| w.loaded.contains_key(sha256))?;
        Some(idle.swap_remove(at))
    }

    /// A worker with `skill` loaded (or the load's error), waiting for one
    /// to come free or start as needed.
    fn readied(
        &self,
        skill: &LoadedSkill,
    ) -> Result<(Worker, Result<(), SandboxError>), SandboxError> {
        let tier = skill.tier();
        let mut worker = self.acquire(tier, skill.sha256())?;
        let full = |w: &Worker| {
            !w.loaded.contains_key(skill.sha256()) && w.loaded.len() >= SKILLS_PER_WORKER
        };
        if full(&worker) {
            worker = self.replace(tier, worker)?;
        }
        let mut loaded = worker.load(skill);
        if matches!(loaded, Err(SandboxError::Load(_))) && !worker.loaded.is_empty() {
            worker = self.replace(tier, worker)?;
            loaded = worker.load(skill);
        }
        Ok((worker, loaded))
    }

    /// A fresh worker in place of `old` (which stops): the pool's count
    /// of live workers is unchanged.
    fn replace(&self, tier: TrustTier, old: Worker) -> Result<Worker, SandboxError> {
        drop(old);
        self.spawn(Some(tier))
            .inspect_err(|_| self.forget(tier.index()))
    }

    /// A new worker (not from the pool): for probes and measurements.
    pub(crate) fn fresh(&self) -> Result<Worker, SandboxError> {
        self.spawn(None)
    }

    /// An idle worker of `tier`, one holding `sha256` if any, else a new
    /// one within the pool size, else the first to come back.
    fn acquire(&self, tier: TrustTier, sha256: &[u8; 32]) -> Result<Worker, SandboxError> {
        let t = tier.index();
        let mut state = self.lock();
        loop {
            let idle = &mut state.idle[t];
            if let Some(at) = idle.iter().position(|w| w.loaded.contains_key(sha256)) {
                return Ok(idle.swap_remove(at));
            }
            if let Some(worker) = idle.pop() {
                return Ok(worker);
            }
            if state.live[t] < self.config.pool_size.max(1) {
                state.live[t] += 1;
                drop(state);
                return self.spawn(Some(tier)).inspect_err(|_| self.forget(t));
            }
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn forget(&self, t: usize) {
        self.lock().live[t] -= 1;
        self.freed.notify_one();
    }

    /// Takes back a worker after a call. One that served its `max_uses`
    /// serves on while a successor starts and loads its skills, so no call
    /// waits for a new worker; at twice that (no successor could start) it
    /// stops like an unhealthy one.
    fn release(self: &Arc<Self>, tier: TrustTier, mut worker: Worker, healthy: bool) {
        worker.uses += 1;
        let t = tier.index();
        let max_uses = self.config.max_uses.max(1);
        let mut state = self.lock();
        if let Some(at) = state.retired.iter().position(|p| *p == worker.pid()) {
            state.retired.swap_remove(at);
            state.live[t] -= 1;
            drop(state);
            self.freed.notify_one();
            // Its successor is ready; it stops, waiting for the process.
            blocking::run(self.blocking, || drop(worker));
            return;
        }
        if healthy && worker.uses < max_uses.saturating_mul(2) {
            if worker.uses >= max_uses && !worker.successor_started {
                worker.successor_started = true;
                state.live[t] += 1;
                state.starting += 1;
                self.start_successor(tier, worker.pid(), worker.loaded.clone());
            }
            state.idle[t].push(worker);
            drop(state);
            self.freed.notify_one();
            return;
        }
        drop(state);
        drop(worker);
        self.forget(t);
        self.prewarm(tier, 1);
    }

    /// In the background: a new worker of `tier` with `skills` loaded takes
    /// the place of worker `old` (counted live already), which stops now if
    /// idle, else when its call ends.
    fn start_successor(
        self: &Arc<Self>,
        tier: TrustTier,
        old: u32,
        skills: HashMap<[u8; 32], Arc<Serialized>>,
    ) {
        let pool = Arc::clone(self);
        let t = tier.index();
        std::thread::spawn(move || {
            let start = Start::new(&pool, t);
            let Ok(mut successor) = pool.spawn(Some(tier)) else {
                return;
            };
            for (sha256, bytes) in skills {
                // One that does not load is loaded again when called.
                let _ = successor.send_load(sha256, tier, bytes);
            }
            let mut state = pool.lock();
            start.placed(&mut state);
            state.idle[t].push(successor);
            // Not idle, not on a call: it stopped already, or is being
            // readied for a call and stops at twice its uses.
            let stopped = match state.idle[t].iter().position(|w| w.pid() == old) {
                Some(at) => {
                    state.live[t] -= 1;
                    Some(state.idle[t].swap_remove(at))
                }
                None if state.busy.contains(&old) => {
                    state.retired.push(old);
                    None
                }
                None => None,
            };
            drop(state);
            pool.freed.notify_one();
            drop(stopped);
        });
    }

    /// Starts up to `count` more workers of `tier` in the background, within
    /// the pool size, so the next calls find them ready.
    pub(crate) fn prewarm(self: &Arc<Self>, tier: TrustTier, count: usize) {
        let t = tier.index();
        for _ in 0..count {
            {
                let mut state = self.lock();
                if state.live[t] >= self.config.pool_size.max(1) {
                    return;
                }
                state.live[t] += 1;
                state.starting += 1;
            }
            let pool = Arc::clone(self);
            std::thread::spawn(move || {
                let start = Start::new(&pool, t);
                if let Ok(worker) = pool.spawn(Some(tier)) {
                    let mut state = pool.lock();
                    start.placed(&mut state);
                    state.idle[t].push(worker);
                    drop(state);
                    pool.freed.notify_one();
                }
            });
        }
    }

    /// Process ids of the workers: (idle, running a call).
    pub(crate) fn pids(&self) -> (Vec<u32>, Vec<u32>) {
        let state = self.lock();
        let idle = state.idle.iter().flatten().map(Worker::pid).collect();
        (idle, state.busy.clone())
    }
}
