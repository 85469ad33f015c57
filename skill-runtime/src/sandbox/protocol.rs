//! What the host and a worker say over the worker's stdin and stdout: one
//! frame is a JSON header and an optional binary payload (a precompiled
//! component), each length-prefixed. Reads take a deadline, and lengths are
//! capped, so a hung or hostile worker cannot stall or flood the host.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::blocking::{self, Blocking};
use crate::capabilities::calls::{CapabilityCall, CapabilityReply, HostTrap};
use crate::engine::guest_call::Entry;
use crate::engine::log::LogLimits;
use crate::limits::tier::{Limits, TrustTier};
use crate::outcome::LogLine;
use crate::outcome::{Failure, Metrics};
use crate::sandbox::confine::{ConfineError, Confinement, ProcessLimits};
use crate::sandbox::probe::ProbeReport;

/// Largest header either side accepts (an output and a full log fit).
const MAX_HEADER: usize = 64 << 20;
/// Largest payload (a precompiled component).
const MAX_PAYLOAD: usize = 1 << 30;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ToWorker {
    /// First message: confine yourself under these limits; then, while the
    /// host sends the first component, build the engine of `tier` if given.
    Start {
        limits: ProcessLimits,
        log_limits: LogLimits,
        tier: Option<TrustTier>,
    },
    /// The payload is `Component::serialize` output of the host's engine.
    Load {
        sha256: String,
        tier: TrustTier,
    },
    Invoke {
        call: Box<WorkerCall>,
        /// Whether reads spin (see [`WORKER_SPIN`]) until the next call:
        /// not while the cores are all taken.
        spin: bool,
    },
    Reply(Result<CapabilityReply, HostTrap>),
    /// Try to escape, and say what happened.
    Probe,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerCall {
    pub sha256: String,
    pub tier: TrustTier,
    pub entry: Entry,
    pub input: String,
    pub limits: Limits,
    pub bot_name: String,
    pub bot_slug: String,
    pub skill_name: String,
    pub invocation_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FromWorker {
    Ready(Confinement),
    Refused(ConfineError),
    Loaded(Result<(), String>),
    Call(CapabilityCall),
    Done(Box<WorkerOutcome>),
    Probed(ProbeReport),
}

/// One invocation as the worker saw it; the host adds the capability calls
/// it answered and its own identity fields.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerOutcome {
    pub result: Result<String, Failure>,
    pub metrics: Metrics,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
}

pub(crate) fn write_frame(
    out: &mut impl Write,
    header: &impl Serialize,
    payload: &[u8],
) -> io::Result<()> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let mut head = Vec::with_capacity(8 + header.len());
    head.extend_from_slice(&(header.len() as u32).to_le_bytes());
    head.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    head.extend_from_slice(&header);
    out.write_all(&head)?;
    // Written where it is: a component is not copied into a frame first.
    if !payload.is_empty() {
        out.write_all(payload)?;
    }
    out.flush()
}

/// Reads one frame, failing with `TimedOut` past `deadline` (if any). On a
/// non-blocking `input`, it first spins for `spin` (see [`HOST_SPIN`]),
/// then sleeps through `sleep`.
pub(crate) fn read_frame<T: DeserializeOwned>(
    input: &mut (impl Read + AsRawFd),
    deadline: Option<Instant>,
    spin: Duration,
    sleep: Blocking,
) -> io::Result<(T, Vec<u8>)> {
    // Most frames arrive whole: one read gets the lengths and the header.
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < 8 {
        got += read_some(input, &mut head[got..], deadline, spin, sleep)?;
    }
    let header_len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let payload_len = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes")) as usize;
    if header_len > MAX_HEADER || payload_len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {header_len} + {payload_len} bytes is over the limit"),
        ));
    }
    let total = 8 + header_len + payload_len;
    head.truncate(got);
    if head.len() > total {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bytes after a frame: the peer is not answering in turn",
        ));
    }
    head.resize(total, 0);
    while got < total {
        got += read_some(input, &mut head[got..], deadline, spin, sleep)?;
    }
    let header = serde_json::from_slice(&head[8..8 + header_len])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((header, head.split_off(8 + header_len)))
}

/// How long the host spins for a worker's answer before it sleeps in
/// `poll`: answers come within tens of microseconds, and a sleeping reader
/// costs a wake-up (on a VM, an inter-processor interrupt to a halted CPU).
/// Only while cores are free: a spinning reader takes a core from the
/// workers it waits for (at 8 calls in flight on 2 cores, spinning halved
/// throughput), so the pool spins only with a core free for each side, and
/// not while a worker is being started.
pub(crate) const HOST_SPIN: Duration = Duration::from_micros(50);
/// How long an idle worker spins for the next request before it sleeps:
/// calls in a burst then skip the wake-up; an idle worker costs this much
/// CPU once, then nothing.
pub(crate) const WORKER_SPIN: Duration = Duration::from_micros(200);

/// Some bytes (at least one), or an error; `EOF` is `UnexpectedEof`.
fn read_some(
    input: &mut (impl Read + AsRawFd),
    buf: &mut [u8],
    deadline: Option<Instant>,
    spin: Duration,
    sleep: Blocking,
) -> io::Result<usize> {
    let spin_until = Instant::now() + spin;
    loop {
        match input.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() < spin_until {
                    std::hint::spin_loop();
                } else {
                    let (fd, until) = (input.as_raw_fd(), deadline.unwrap_or_else(far_future));
                    blocking::run(sleep, || wait_readable(fd, until))?;
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

/// Reads on `fd` return `WouldBlock` instead of waiting: readers spin,
/// then wait in `poll` (with the host's deadline).
pub(crate) fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on an fd this process owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn wait_readable(fd: i32, deadline: Instant) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut pollfd, 1, ms) } {
            0 => continue,
            n if n > 0 => return Ok(()),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
