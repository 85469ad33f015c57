//! The worker process: confine itself, then serve the host over stdin and
//! stdout. It holds no policy, no secrets and no files; its host functions
//! for capabilities only ask the host ([`BrokerHost`]).

use std::fs::File;
use std::os::fd::FromRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::blocking;
use crate::capabilities::calls::{Capabilities, CapabilityCall, CapabilityReply, HostTrap};
use crate::engine::bindings::SkillContext;
use crate::engine::guest_call::run_entry;
use crate::engine::loader::Loader;
use crate::outcome::HostCall;
use crate::sandbox::config::SKILLS_PER_WORKER;
use crate::sandbox::confine;
use crate::sandbox::probe;
use crate::sandbox::protocol::{
    FromWorker, ToWorker, WORKER_SPIN, WorkerOutcome, read_frame, set_nonblocking, write_frame,
};

/// Exit codes a host can tell apart.
const EXIT_PROTOCOL: i32 = 2;
const EXIT_REFUSED: i32 = 3;

struct Channel {
    from_host: File,
    to_host: File,
    /// Set by each call (see [`WORKER_SPIN`]).
    spin: Duration,
}

impl Channel {
    fn send(&mut self, message: &FromWorker) {
        if write_frame(&mut self.to_host, message, &[]).is_err() {
            // The host is gone: nobody is left to serve.
            std::process::exit(0);
        }
    }

    fn receive(&mut self) -> (ToWorker, Vec<u8>) {
        match read_frame(&mut self.from_host, None, self.spin, blocking::here) {
            Ok(frame) => frame,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => std::process::exit(0),
            Err(_) => std::process::exit(EXIT_PROTOCOL),
        }
    }
}

/// Capability calls go to the host, which decides and does the work.
struct BrokerHost(Arc<Mutex<Channel>>);

impl Capabilities for BrokerHost {
    fn call(&mut self, call: CapabilityCall) -> Result<CapabilityReply, HostTrap> {
        let mut channel = self.0.lock().unwrap_or_else(|e| e.into_inner());
        channel.send(&FromWorker::Call(call));
        match channel.receive() {
            (ToWorker::Reply(reply), _) => reply,
            _ => std::process::exit(EXIT_PROTOCOL),
        }
    }

    fn take_calls(&mut self) -> Vec<HostCall> {
        // The host records the calls it answered.
        Vec::new()
    }
}

/// The worker's `main`: call it from a binary's `main` (the `skill-worker`
/// binary, or a hidden verb of a program that embeds the runtime) and exit
/// with what it returns.
pub fn main() -> i32 {
    // SAFETY: fds 0 and 1 are the pipes the host gave this process, owned
    // from here on by these files alone.
    let channel = unsafe {
        Channel {
            from_host: File::from_raw_fd(0),
            to_host: File::from_raw_fd(1),
            spin: WORKER_SPIN,
        }
    };
    if set_nonblocking(&channel.from_host).is_err() {
        return EXIT_PROTOCOL;
    }
    let channel = Arc::new(Mutex::new(channel));
    let lock = || channel.lock().unwrap_or_else(|e| e.into_inner());
    let (
        ToWorker::Start {
            limits,
            log_limits,
            tier,
        },
        _,
    ) = lock().receive()
    else {
        return EXIT_PROTOCOL;
    };
    let confinement = match confine::confine(&limits) {
        Ok(confinement) => confinement,
        Err(refused) => {
            lock().send(&FromWorker::Refused(refused));
            return EXIT_REFUSED;
        }
    };
    lock().send(&FromWorker::Ready(confinement.clone()));
    // One call at a time, no disk cache, no audit: the host keeps those.
    // The host sends no more skills than this, so none is ever forgotten
    // here while the host counts it loaded.
    let loader = Loader::new(1, None, SKILLS_PER_WORKER + 1);
    if let Some(tier) = tier {
        // A failure shows when the component loads.
        let _ = loader.warm(tier);
    }
    loop {
        let (message, payload) = lock().receive();
        let reply = match message {
            ToWorker::Load { sha256, tier } => {
                let loaded = decode_sha(&sha256).and_then(|sha| {
                    loader
                        .load_precompiled(tier, sha, &payload)
                        .map_err(|e| e.to_string())
                });
                FromWorker::Loaded(loaded.map(drop))
            }
            ToWorker::Invoke { call, spin } => {
                lock().spin = if spin { WORKER_SPIN } else { Duration::ZERO };
                let skill = decode_sha(&call.sha256)
                    .ok()
                    .and_then(|sha| loader.loaded(call.tier, &sha));
                let Some(skill) = skill else {
                    return EXIT_PROTOCOL;
                };
                let context = SkillContext {
                    bot_name: call.bot_name,
                    bot_slug: call.bot_slug,
                    skill_name: call.skill_name,
                    invocation_id: call.invocation_id,
                };
                let broker = Box::new(BrokerHost(Arc::clone(&channel)));
                let _ticking = loader.ticking();
                let ran = run_entry(
                    &skill,
                    call.entry,
                    &call.input,
                    &call.limits,
                    log_limits,
                    context,
                    broker,
                );
                FromWorker::Done(Box::new(WorkerOutcome {
                    result: ran.result,
                    metrics: ran.metrics,
                    logs: ran.logs,
                    logs_dropped: ran.logs_dropped,
                }))
            }
            ToWorker::Probe => FromWorker::Probed(probe::run(&confinement.layers)),
            ToWorker::Start { .. } | ToWorker::Reply(_) => return EXIT_PROTOCOL,
        };
        lock().send(&reply);
    }
}

fn decode_sha(text: &str) -> Result<[u8; 32], String> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("`{text}` is not a sha256"))
}
