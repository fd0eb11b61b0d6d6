//! The bounds of one capture: how long, how much and how many a server may send, and reading its
//! output within them (one line at a time, never more than a message's worth in memory; the tail
//! of standard error). It never interprets what it reads.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::time::Duration;

/// Limits on what one server may take and send during its capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// The whole capture of one server, container start to removal, every attempt included.
    pub timeout: Duration,
    /// How long a `server/discover` probe waits before the server is taken for a pre-2026 one
    /// that ignores unknown requests (a quarter of `timeout` at most).
    pub probe_window: Duration,
    /// Largest single JSON-RPC message (one line on stdout).
    pub max_message_bytes: usize,
    /// All of stdout over the session.
    pub max_output_bytes: u64,
    /// Lines on stdout over the session: messages, notifications and noise alike.
    pub max_messages: usize,
    /// Standard error kept (its tail); the rest is read and dropped.
    pub max_stderr_bytes: usize,
    /// Pages followed per list request.
    pub max_pages: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            timeout: Duration::from_secs(30),
            probe_window: Duration::from_secs(5),
            // The largest honest tools/list results seen are a few hundred kilobytes.
            max_message_bytes: 8 * 1024 * 1024,
            max_output_bytes: 32 * 1024 * 1024,
            max_messages: 10_000,
            max_stderr_bytes: 64 * 1024,
            max_pages: 100,
        }
    }
}

/// One read of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A line is in the buffer, without its `\n` (or `\r\n`).
    Line,
    /// The line passed the size bound; what was read of it is dropped.
    TooLong,
    /// End of the stream, nothing pending.
    End,
}

/// Read one line into `line`, holding at most `max` bytes of it. A last line without a newline
/// still counts as a line.
pub fn read_line(
    reader: &mut impl BufRead,
    max: usize,
    line: &mut Vec<u8>,
) -> io::Result<LineRead> {
    line.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if line.is_empty() {
                LineRead::End
            } else {
                LineRead::Line
            });
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        if line.len() + taken > max {
            return Ok(LineRead::TooLong);
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(if done { taken + 1 } else { taken });
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(LineRead::Line);
        }
    }
}

/// The last bytes of a stream, for error messages.
#[derive(Debug, Default)]
pub struct Tail {
    bytes: VecDeque<u8>,
    max: usize,
    dropped: bool,
}

impl Tail {
    pub fn new(max: usize) -> Self {
        Tail {
            bytes: VecDeque::new(),
            max,
            dropped: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        while self.bytes.len() > self.max {
            self.bytes.pop_front();
            self.dropped = true;
        }
    }

    /// The kept text, at most `lines` lines of it, lossily decoded.
    pub fn last_lines(&self, lines: usize) -> String {
        let bytes: Vec<u8> = self.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        // After a drop the first line is a fragment.
        let text = match (self.dropped, text.split_once('\n')) {
            (true, Some((_, rest))) => rest,
            _ => &text,
        };
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = all.len().saturating_sub(lines);
        let mut out = all[start..].join("\n");
        if (start > 0 || self.dropped) && !out.is_empty() {
            out.insert_str(0, "…\n");
        }
        out
    }
}

/// Drain `reader` into `tail` until it ends; what does not fit is dropped, never buffered.
pub fn drain_into(mut reader: impl Read, mut keep: impl FnMut(&[u8])) {
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => keep(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, LineRead>> {
        // A tiny buffer makes lines span several fills.
        let mut reader = BufReader::with_capacity(3, input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, max, &mut line).unwrap() {
                LineRead::Line => out.push(Ok(String::from_utf8(line.clone()).unwrap())),
                LineRead::TooLong => {
                    out.push(Err(LineRead::TooLong));
                    return out;
                }
                LineRead::End => return out,
            }
        }
    }

    #[test]
    fn reads_lines_across_buffer_fills() {
        assert_eq!(
            lines(b"{\"a\":1}\r\nsecond\nlast", 100),
            vec![
                Ok("{\"a\":1}".to_string()),
                Ok("second".to_string()),
                Ok("last".to_string())
            ]
        );
    }

    #[test]
    fn stops_at_a_line_past_the_bound() {
        assert_eq!(
            lines(b"short\nthis line is far too long\n", 10),
            vec![Ok("short".to_string()), Err(LineRead::TooLong)]
        );
        assert_eq!(
            lines(b"exactly10!\n", 10),
            vec![Ok("exactly10!".to_string())]
        );
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let mut tail = Tail::new(16);
        tail.push(b"first line\nsecond\n");
        tail.push(b"third\n");
        assert_eq!(tail.last_lines(5), "…\nsecond\nthird");
        assert_eq!(tail.last_lines(1), "…\nthird");
        let mut short = Tail::new(100);
        short.push(b"only\n\n");
        assert_eq!(short.last_lines(5), "only");
    }
}
