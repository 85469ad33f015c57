//! The bounded log of one invocation: `log` calls and the guest's stdout and
//! stderr land here. Past the caps, lines are counted and dropped, so a
//! chatty or hostile guest cannot grow host memory.

use std::sync::{Arc, Mutex};

use crate::outcome::LogLine;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Caps on what one invocation may log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
    /// Longer lines are cut to this many bytes (on a char boundary).
    pub max_line_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_lines: 1000,
            max_bytes: 256 * 1024,
            max_line_bytes: 8 * 1024,
        }
    }
}

#[derive(Debug)]
struct Inner {
    limits: LogLimits,
    lines: Vec<LogLine>,
    bytes: usize,
    dropped: u64,
    /// Partial lines written to stdout and stderr, kept until a newline.
    pending: [Vec<u8>; 2],
    /// Secret values handed to the guest, replaced in every later line.
    redactions: Vec<String>,
}

/// Shared by the host functions and the WASI output streams of one store.
#[derive(Debug, Clone)]
pub struct LogSink(Arc<Mutex<Inner>>);

const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

impl LogSink {
    pub fn new(limits: LogLimits) -> LogSink {
        LogSink(Arc::new(Mutex::new(Inner {
            limits,
            lines: Vec::new(),
            bytes: 0,
            dropped: 0,
            pending: [Vec::new(), Vec::new()],
            redactions: Vec::new(),
        })))
    }

    /// Records a `log` call. Unknown levels are kept as `info` so a typo in a
    /// guest never loses the message.
    pub fn log(&self, level: &str, message: &str) {
        let level = LEVELS
            .iter()
            .find(|l| l.eq_ignore_ascii_case(level))
            .copied()
            .unwrap_or("info");
        self.lock().push(level, message);
    }

    /// Keeps `secret` out of every line logged from now on.
    pub fn redact(&self, secret: &str) {
        if !secret.is_empty() {
            self.lock().redactions.push(secret.to_string());
        }
    }

    pub fn stdout(&self) -> CapturedStream {
        CapturedStream {
            sink: self.clone(),
            stream: Stream::Stdout,
        }
    }

    pub fn stderr(&self) -> CapturedStream {
        CapturedStream {
            sink: self.clone(),
            stream: Stream::Stderr,
        }
    }

    /// The lines kept so far.
    pub(crate) fn lines(&self) -> Vec<LogLine> {
        self.lock().lines.clone()
    }

    /// Ends the invocation's log: flushes partial output lines and hands back
    /// the lines kept and the number dropped.
    pub fn finish(&self) -> (Vec<LogLine>, u64) {
        let mut inner = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut inner.pending[stream as usize]);
            if !rest.is_empty() {
                inner.push(stream.level(), &String::from_utf8_lossy(&rest));
            }
        }
        (std::mem::take(&mut inner.lines), inner.dropped)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned log is still a log: a panic elsewhere must not hide it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn push(&mut self, level: &str, message: &str) {
        let mut redacted = std::borrow::Cow::Borrowed(message);
        for secret in &self.redactions {
            if redacted.contains(secret.as_str()) {
                redacted = redacted.replace(secret.as_str(), "[redacted]").into();
            }
        }
        let message = truncate(&redacted, self.limits.max_line_bytes);
        if self.lines.len() >= self.limits.max_lines
            || self.bytes + message.len() > self.limits.max_bytes
        {
            self.dropped += 1;
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine {
            level: level.to_string(),
            message: message.to_string(),
        });
    }

    fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let idx = stream as usize;
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.pending[idx]);
            line.extend_from_slice(&rest[..nl]);
            self.push(stream.level(), &String::from_utf8_lossy(&line));
            rest = &rest[nl + 1..];
        }
        // Keep a partial line only up to the line cap; the rest would be cut anyway.
        let room = self
            .limits
            .max_line_bytes
            .saturating_sub(self.pending[idx].len());
        self.pending[idx].extend_from_slice(&rest[..rest.len().min(room)]);
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn level(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A WASI stdout/stderr that writes into the invocation's [`LogSink`].
/// Writes always succeed, so guests that print never trap on a full log.
#[derive(Debug, Clone)]
pub struct CapturedStream {
    sink: LogSink,
    stream: Stream,
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

const WRITE_BUDGET: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.sink.lock().write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_BUDGET)
    }
}

impl tokio::io::AsyncWrite for CapturedStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.sink.lock().write(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_cap_are_counted_not_kept() {
        let sink = LogSink::new(LogLimits {
            max_lines: 3,
            max_bytes: 1 << 20,
            max_line_bytes: 64,
        });
        for i in 0..10 {
            sink.log("info", &format!("line {i}"));
        }
        let (lines, dropped) = sink.finish();
        assert_eq!(lines.len(), 3);
        assert_eq!(dropped, 7);
        assert_eq!(lines[2].message, "line 2");
    }

    #[test]
    fn byte_cap_and_line_truncation_hold() {
        let sink = LogSink::new(LogLimits {
            max_lines: 100,
            max_bytes: 10,
            max_line_bytes: 4,
        });
        sink.log("warn", "ééé"); // 6 bytes, cut on a char boundary to 4
        sink.log("WARN", "abcdefgh");
        sink.log("warn", "abcdefgh");
        let (lines, dropped) = sink.finish();
        assert_eq!(lines[0].message, "éé");
        assert_eq!(lines[1].message, "abcd");
        assert_eq!(lines[1].level, "warn");
        assert_eq!(dropped, 1);
    }

    #[test]
    fn secrets_are_redacted_from_later_lines() {
        let sink = LogSink::new(LogLimits::default());
        sink.log("info", "before hunter2");
        sink.redact("hunter2");
        sink.log("info", "after hunter2 and hunter2");
        let (lines, _) = sink.finish();
        assert_eq!(
            lines[0].message, "before hunter2",
            "only values already handed out are known"
        );
        assert_eq!(lines[1].message, "after [redacted] and [redacted]");
    }

    #[test]
    fn output_is_split_into_lines_and_flushed_at_the_end() {
        let sink = LogSink::new(LogLimits::default());
        let mut out = sink.stdout();
        out.write(bytes::Bytes::from_static(b"hello\nwor")).unwrap();
        out.write(bytes::Bytes::from_static(b"ld\ntail")).unwrap();
        sink.log("nonsense", "x");
        let (lines, _) = sink.finish();
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("stdout", "hello"),
                ("stdout", "world"),
                ("info", "x"),
                ("stdout", "tail")
            ]
        );
    }
}
