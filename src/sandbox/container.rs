//! One running capture container: its `run` client, the threads that move its stdio lines within
//! the bounds, and its removal on every exit path (drop, panic, `remove_live_containers` for
//! Ctrl-C). It speaks no MCP.

use super::bounds::{Bounds, LineRead, Tail, drain_into, read_line};
use super::runtime::ContainerRuntime;
use crate::json::{LineError, parse_line};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which bound a server's output passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    MessageSize,
    OutputBytes,
    Messages,
    Depth,
}

/// What came from the server's stdout, or what became of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A line that parsed as JSON.
    Message(Value),
    /// A line that did not: a log line, garbage.
    Noise(String),
    /// Stdout ended: the process exited or closed it.
    Closed,
    /// Output passed a bound; nothing more is read.
    Limit(Limit),
    /// The deadline passed with nothing to read.
    Timeout,
}

/// Containers started and not yet removed, by name, with the runtime that runs each: what an
/// interrupted run must remove before it exits.
static LIVE: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// Remove every capture container this process still has. For a Ctrl-C or termination
/// handler, which then exits; the containers' own guards never run in that case.
pub fn remove_live_containers() {
    let live: Vec<(String, PathBuf)> = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(name, program)| (name.clone(), program.clone()))
        .collect();
    for (name, program) in live {
        let _ = std::process::Command::new(program)
            .args(["rm", "--force", &name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A started container. Dropping it removes the container and reaps its `run` client.
pub struct Container {
    runtime: ContainerRuntime,
    name: String,
    child: Child,
    outgoing: Option<Sender<Vec<u8>>>,
    incoming: Receiver<Inbound>,
    stderr: Arc<Mutex<Tail>>,
    threads: Vec<JoinHandle<()>>,
    closed: bool,
}

impl Container {
    /// Start `runtime` with `args` (a `run` command line naming the container `name`).
    pub fn start(
        runtime: &ContainerRuntime,
        name: &str,
        args: &[String],
        bounds: &Bounds,
    ) -> std::io::Result<Container> {
        // Registered before it exists, so an interrupt in between still removes it.
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), runtime.program.clone());
        let spawned = runtime
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                forget(name);
                return Err(error);
            }
        };
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(stdin), Some(stdout), Some(stderr)) => (stdin, stdout, stderr),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    forget(name);
                    return Err(std::io::Error::other("the runtime's pipes were not opened"));
                }
            };
        let (to_server, outgoing) = mpsc::channel::<Vec<u8>>();
        let (incoming_tx, incoming) = mpsc::channel();
        let tail = Arc::new(Mutex::new(Tail::new(bounds.max_stderr_bytes)));
        let kept = Arc::clone(&tail);
        let limits = bounds.clone();
        let threads = vec![
            std::thread::spawn(move || write_lines(stdin, outgoing)),
            std::thread::spawn(move || read_messages(stdout, &limits, incoming_tx)),
            std::thread::spawn(move || {
                drain_into(stderr, |chunk| {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(chunk)
                })
            }),
        ];
        Ok(Container {
            runtime: runtime.clone(),
            name: name.to_string(),
            child,
            outgoing: Some(to_server),
            incoming,
            stderr: tail,
            threads,
            closed: false,
        })
    }

    /// Send one message as one line. False when the server's input is closed.
    pub fn send(&self, message: &Value) -> bool {
        let Ok(mut line) = serde_json::to_vec(message) else {
            return false;
        };
        line.push(b'\n');
        self.outgoing
            .as_ref()
            .is_some_and(|sender| sender.send(line).is_ok())
    }

    /// The next thing from stdout, waiting until `until` at most.
    pub fn receive(&mut self, until: Instant) -> Inbound {
        if self.closed {
            return Inbound::Closed;
        }
        let wait = until.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(wait) {
            Ok(Inbound::Closed) | Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Inbound::Closed
            }
            Ok(inbound) => inbound,
            Err(RecvTimeoutError::Timeout) => Inbound::Timeout,
        }
    }

    /// The last lines of the server's standard error.
    pub fn stderr_tail(&self, lines: usize) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_lines(lines)
    }

    /// The exit code of the `run` client (the server's own, or the runtime's 125–127), waiting
    /// briefly for it after stdout closed.
    pub fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => return None,
            }
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Closing stdin first lets a well-behaved server exit on its own.
        self.outgoing = None;
        self.runtime.remove(&self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
        forget(&self.name);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn forget(name: &str) {
    LIVE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(name);
}

fn write_lines(mut stdin: ChildStdin, lines: Receiver<Vec<u8>>) {
    for line in lines {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

/// Read stdout line by line within the bounds; stop at the first bound passed.
pub fn read_messages(stdout: impl std::io::Read, bounds: &Bounds, out: Sender<Inbound>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    let mut bytes: u64 = 0;
    let mut lines: usize = 0;
    loop {
        let inbound = match read_line(&mut reader, bounds.max_message_bytes, &mut line) {
            Ok(LineRead::Line) => {
                bytes += line.len() as u64 + 1;
                lines += 1;
                if bytes > bounds.max_output_bytes {
                    Inbound::Limit(Limit::OutputBytes)
                } else if lines > bounds.max_messages {
                    Inbound::Limit(Limit::Messages)
                } else if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                } else {
                    match parse_line(&line) {
                        Ok(value) => Inbound::Message(value),
                        Err(LineError::TooDeep) => Inbound::Limit(Limit::Depth),
                        Err(LineError::NotJson) => {
                            Inbound::Noise(String::from_utf8_lossy(&line).into_owned())
                        }
                    }
                }
            }
            Ok(LineRead::TooLong) => Inbound::Limit(Limit::MessageSize),
            Ok(LineRead::End) | Err(_) => Inbound::Closed,
        };
        let last = matches!(inbound, Inbound::Limit(_) | Inbound::Closed);
        if out.send(inbound).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::runtime::RuntimeChoice;
    use std::process::Command;

    /// The test server's image, built by the script the integration tests use.
    fn test_server_image() -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-images.sh");
        let output = Command::new("bash")
            .args([script, "test-server"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn exists(name: &str) -> bool {
        let output = Command::new("docker")
            .args([
                "ps",
                "--all",
                "--quiet",
                "--filter",
                &format!("name=^{name}$"),
            ])
            .output()
            .unwrap();
        !String::from_utf8_lossy(&output.stdout).trim().is_empty()
    }

    /// The container's state (`running`, `exited`, `removing`), or `None` once it is gone.
    fn state(name: &str) -> Option<String> {
        let output = Command::new("docker")
            .args([
                "ps",
                "--all",
                "--filter",
                &format!("name=^{name}$"),
                "--format",
                "{{.State}}",
            ])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (!state.is_empty()).then_some(state)
    }

    #[test]
    fn a_container_whose_server_exited_is_gone_when_dropped() {
        // `--rm` starts removing it as its server exits; `rm --force` then fails at once while
        // the container is still listed, and the drop must wait for it to go.
        let runtime = ContainerRuntime::detect(RuntimeChoice::Docker).unwrap();
        for round in 0..3 {
            let name = format!(
                "mcp-audit-capture-test-exited-{}-{round}",
                std::process::id()
            );
            let args: Vec<String> = [
                "run",
                "--interactive",
                "--rm",
                "--name",
                &name,
                &test_server_image(),
                "/scenarios/exit-early.json",
            ]
            .map(str::to_string)
            .to_vec();
            let container = Container::start(&runtime, &name, &args, &Bounds::default()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut seen = false;
            loop {
                match state(&name) {
                    Some(s) if s == "created" || s == "running" => seen = true,
                    Some(_) => break,
                    None if seen => break,
                    None => {}
                }
                assert!(Instant::now() < deadline, "{name} never exited");
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(container);
            assert_eq!(state(&name), None, "{name} outlived its drop");
        }
    }

    #[test]
    fn a_panic_removes_the_container() {
        let runtime = ContainerRuntime::detect(RuntimeChoice::Docker).unwrap();
        let name = format!("mcp-audit-capture-test-panic-{}", std::process::id());
        let args: Vec<String> = [
            "run",
            "--interactive",
            "--rm",
            "--name",
            &name,
            &test_server_image(),
            "/scenarios/hang.json",
        ]
        .map(str::to_string)
        .to_vec();
        let unwound = std::panic::catch_unwind(|| {
            let _container = Container::start(&runtime, &name, &args, &Bounds::default()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !exists(&name) {
                assert!(Instant::now() < deadline, "{name} never started");
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(LIVE.lock().unwrap().contains_key(&name));
            panic!("a bug while the container runs");
        });
        assert!(unwound.is_err());
        assert!(!exists(&name), "{name} outlived the panic");
        assert!(!LIVE.lock().unwrap().contains_key(&name));
    }
}
