//! What the host and a worker say over the worker's stdin and stdout: one
//! frame is a JSON header and an optional binary payload (a precompiled
//! component), each length-prefixed. Reads take a deadline, and lengths are
//! capped, so a hung or hostile worker cannot stall or flood the host.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::capability_calls::{CapabilityCall, CapabilityReply, HostTrap};
use crate::log::{LogLimits, LogLine};
use crate::outcome::{Failure, Metrics};
use crate::sandbox::confine::{ConfineError, Confinement, ProcessLimits};
use crate::sandbox::probe::ProbeReport;
use crate::tier::{Limits, TrustTier};

/// Largest header either side accepts (an output and a full log fit).
const MAX_HEADER: usize = 64 << 20;
/// Largest payload (a precompiled component).
const MAX_PAYLOAD: usize = 1 << 30;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ToWorker {
    /// First message: confine yourself under these limits.
    Start {
        limits: ProcessLimits,
        log_limits: LogLimits,
    },
    /// The payload is `Component::serialize` output of the host's engine.
    Load {
        sha256: String,
        tier: TrustTier,
    },
    Invoke(Box<WorkerCall>),
    Reply(Result<CapabilityReply, HostTrap>),
    /// Try to escape, and say what happened.
    Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Entry {
    Execute,
    GetName,
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
    let mut frame = Vec::with_capacity(8 + header.len() + payload.len());
    frame.extend_from_slice(&(header.len() as u32).to_le_bytes());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(payload);
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame, failing with `TimedOut` past `deadline` (if any).
pub(crate) fn read_frame<T: DeserializeOwned>(
    input: &mut (impl Read + AsRawFd),
    deadline: Option<Instant>,
) -> io::Result<(T, Vec<u8>)> {
    let mut lengths = [0u8; 8];
    read_exact_by(input, &mut lengths, deadline)?;
    let header_len = u32::from_le_bytes(lengths[..4].try_into().expect("4 bytes")) as usize;
    let payload_len = u32::from_le_bytes(lengths[4..].try_into().expect("4 bytes")) as usize;
    if header_len > MAX_HEADER || payload_len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {header_len} + {payload_len} bytes is over the limit"),
        ));
    }
    let mut header = vec![0; header_len];
    read_exact_by(input, &mut header, deadline)?;
    let mut payload = vec![0; payload_len];
    read_exact_by(input, &mut payload, deadline)?;
    let header = serde_json::from_slice(&header)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((header, payload))
}

fn read_exact_by(
    input: &mut (impl Read + AsRawFd),
    mut buf: &mut [u8],
    deadline: Option<Instant>,
) -> io::Result<()> {
    while !buf.is_empty() {
        if let Some(deadline) = deadline {
            wait_readable(input.as_raw_fd(), deadline)?;
        }
        match input.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
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
