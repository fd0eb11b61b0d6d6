//! The container runtime, driven through its command line: finding Docker or Podman, pulling and
//! inspecting images, removing containers and sweeping those an earlier run left behind. It
//! decides nothing about how a container is locked down; `lockdown` does.

use super::lockdown::Accounts;
use crate::config::docker_args::Runtime;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which runtime to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeChoice {
    /// Docker when it answers, else Podman.
    #[default]
    Auto,
    Docker,
    Podman,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "no container runtime found: {wanted} is needed to capture container servers. Install Docker (Debian and Ubuntu: `apt-get install docker.io`; macOS and Windows: Docker Desktop) or Podman (`apt-get install podman`), or scan with --offline to check the configs without starting any server"
    )]
    NotFound { wanted: &'static str },
    #[error(
        "{program} is installed but does not answer: {detail}. Start it (Docker: `sudo systemctl start docker`, or open Docker Desktop; Podman: `podman machine start` where it runs in a VM), or scan with --offline"
    )]
    NotAnswering { program: String, detail: String },
}

/// The labels every capture container carries, so leftovers can be found and swept.
pub const LABEL_CAPTURE: &str = "mcp-audit.capture";
pub const LABEL_OWNER: &str = "mcp-audit.owner";
pub const LABEL_STARTED: &str = "mcp-audit.started";

/// A leftover whose owner cannot be checked (another host, no process table) is swept after this.
const LEFTOVER_AGE: Duration = Duration::from_secs(6 * 3600);
/// Short runtime commands (inspect, rm, ps); a pull has its own, longer bound.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a container the runtime is already removing is waited for.
const REMOVAL_WAIT: Duration = Duration::from_secs(10);
const PULL_TIMEOUT: Duration = Duration::from_secs(600);
/// The most of a runtime command's output kept: an image's config or an account file is far
/// smaller, and an image must not make this process hold one of any size.
const OUTPUT_LIMIT: u64 = 4 * 1024 * 1024;

/// A runtime found on this machine that answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRuntime {
    pub kind: Runtime,
    pub program: PathBuf,
}

/// What the sandbox must know of an image before it runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Image {
    /// `Config.User`: empty for the image's default, root.
    pub user: String,
    /// Where the image declares volumes, each of which gets a tmpfs.
    pub volumes: Vec<String>,
}

/// The part of an image's config the sandbox reads.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageConfig {
    user: Option<String>,
    volumes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// What a finished runtime command said.
#[derive(Debug)]
pub struct CommandOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl ContainerRuntime {
    /// Find the runtime to use: the one asked for, or Docker then Podman.
    pub fn detect(choice: RuntimeChoice) -> Result<ContainerRuntime, RuntimeError> {
        let candidates: &[Runtime] = match choice {
            RuntimeChoice::Auto => &[Runtime::Docker, Runtime::Podman],
            RuntimeChoice::Docker => &[Runtime::Docker],
            RuntimeChoice::Podman => &[Runtime::Podman],
        };
        let wanted = match choice {
            RuntimeChoice::Auto => "Docker or Podman",
            RuntimeChoice::Docker => "Docker",
            RuntimeChoice::Podman => "Podman",
        };
        let mut silent = None;
        for &kind in candidates {
            let Some(program) = find_program(kind.as_str()) else {
                continue;
            };
            let runtime = ContainerRuntime { kind, program };
            // Docker's `version` asks the engine, not only the client; Podman has no engine to
            // ask (unless remote), and `info` checks its storage and runtime instead.
            let check: &[&str] = match kind {
                Runtime::Docker | Runtime::Nerdctl => {
                    &["version", "--format", "{{.Server.Version}}"]
                }
                Runtime::Podman => &["info", "--format", "{{.Host.OS}}"],
            };
            match runtime.run(check, COMMAND_TIMEOUT) {
                Ok(out) if out.success => return Ok(runtime),
                Ok(out) => silent = silent.or(Some((runtime, out.stderr))),
                Err(detail) => silent = silent.or(Some((runtime, detail))),
            }
        }
        match silent {
            Some((runtime, detail)) => Err(RuntimeError::NotAnswering {
                program: runtime.kind.as_str().to_string(),
                detail: first_line(&detail),
            }),
            None => Err(RuntimeError::NotFound { wanted }),
        }
    }

    pub fn command(&self) -> Command {
        Command::new(&self.program)
    }

    /// Run a runtime command to its end, or kill it at `timeout`.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<CommandOutput, String> {
        let (success, stdout, stderr) = self.run_bytes(args, timeout)?;
        Ok(CommandOutput {
            success,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr,
        })
    }

    /// `run`, with standard output as bytes; each output is kept up to `OUTPUT_LIMIT`.
    fn run_bytes(
        &self,
        args: &[&str],
        timeout: Duration,
    ) -> Result<(bool, Vec<u8>, String), String> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let stdout = child.stdout.take().map(read_bounded);
        let stderr = child.stderr.take().map(read_bounded);
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{} {}` did not finish within {} s",
                        self.kind.as_str(),
                        args.first().copied().unwrap_or(""),
                        timeout.as_secs()
                    ));
                }
                Err(e) => return Err(format!("waiting for {}: {e}", self.kind.as_str())),
            }
        };
        let collect = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
            reader.and_then(|r| r.join().ok()).unwrap_or_default()
        };
        let stderr = String::from_utf8_lossy(&collect(stderr)).into_owned();
        Ok((status.success(), collect(stdout), stderr))
    }

    /// What the sandbox must know of an image, pulling it first when it is not on this
    /// machine. The error is the runtime's own words, or names what the sandbox cannot cover.
    pub fn prepare_image(&self, reference: &str) -> Result<Image, String> {
        if let Ok(image) = self.inspect_image(reference) {
            return image;
        }
        let pulled = self.run(&["pull", "--quiet", reference], PULL_TIMEOUT)?;
        if !pulled.success {
            return Err(first_line(&pulled.stderr));
        }
        self.inspect_image(reference)?
    }

    /// The image's user and volumes; the outer error when the image is not on this machine.
    fn inspect_image(&self, reference: &str) -> Result<Result<Image, String>, String> {
        let out = self.run(
            &[
                "image",
                "inspect",
                "--format",
                "{{json .Config}}",
                reference,
            ],
            COMMAND_TIMEOUT,
        )?;
        if !out.success {
            return Err(first_line(&out.stderr));
        }
        // Podman prints one line per image named; the first is the one asked for.
        let line = out.stdout.lines().next().unwrap_or("").trim();
        let config: ImageConfig = serde_json::from_str(line).unwrap_or_default();
        let volumes: Result<Vec<String>, String> = config
            .volumes
            .unwrap_or_default()
            .keys()
            .map(|declared| volume_path(declared))
            .collect();
        Ok(volumes.map(|volumes| Image {
            user: config.user.unwrap_or_default(),
            volumes,
        }))
    }

    /// The image's `/etc/passwd` and `/etc/group`, copied out of a container created from it
    /// and never started; `None` when the container cannot be created. `name` is the
    /// container's, labelled like a capture's so that a leftover is swept.
    pub fn image_accounts(
        &self,
        reference: &str,
        name: &str,
        labels: &[(&str, String)],
    ) -> Option<Accounts> {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["create", "--pull", "never", "--network", "none"];
        for label in &labels {
            args.extend(["--label", label.as_str()]);
        }
        // Never started: the entrypoint only has to be given, for an image that has none.
        args.extend(["--entrypoint", "/", "--name", name, reference]);
        let created = self.run(&args, COMMAND_TIMEOUT).ok()?;
        let accounts = created.success.then(|| {
            let copy = |path: &str| {
                let source = format!("{name}:{path}");
                match self.run_bytes(&["cp", &source, "-"], COMMAND_TIMEOUT) {
                    Ok((true, tar, _)) => first_tar_file(&tar).unwrap_or_default(),
                    _ => String::new(),
                }
            };
            Accounts {
                passwd: copy("/etc/passwd"),
                group: copy("/etc/group"),
            }
        });
        self.remove(name);
        accounts
    }

    /// Remove a container, running or not, and return once it is gone; a container already
    /// gone is no error.
    pub fn remove(&self, name: &str) {
        let removed = self.run(&["rm", "--force", name], COMMAND_TIMEOUT);
        if removed.is_ok_and(|output| output.success) {
            return;
        }
        // A `--rm` container whose server has exited is being removed by the runtime already:
        // `rm` then fails at once ("removal … is already in progress") while the container is
        // still listed, and a run would end with it left behind. Wait for it to go.
        let deadline = Instant::now() + REMOVAL_WAIT;
        while Instant::now() < deadline {
            let inspected = self.run(
                &["container", "inspect", "--format", "{{.Id}}", name],
                COMMAND_TIMEOUT,
            );
            if !inspected.is_ok_and(|output| output.success) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Remove capture containers of earlier runs whose process is gone (a crash, a kill -9).
    /// Containers of runs still going, on this machine or another sharing the engine, are kept.
    /// Returns the names removed.
    pub fn sweep_leftovers(&self) -> Vec<String> {
        let filter = format!("label={LABEL_CAPTURE}");
        let Ok(listed) = self.run(
            &["ps", "--all", "--quiet", "--filter", &filter],
            COMMAND_TIMEOUT,
        ) else {
            return Vec::new();
        };
        let ids: Vec<&str> = listed.stdout.split_whitespace().collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let format = format!(
            "{{{{.Name}}}}\t{{{{index .Config.Labels \"{LABEL_OWNER}\"}}}}\t{{{{index .Config.Labels \"{LABEL_STARTED}\"}}}}"
        );
        let mut args = vec!["inspect", "--format", format.as_str()];
        args.extend(&ids);
        let Ok(inspected) = self.run(&args, COMMAND_TIMEOUT) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for line in inspected.stdout.lines() {
            let mut fields = line.split('\t');
            let name = fields.next().unwrap_or("").trim_start_matches('/');
            let owner = fields.next().unwrap_or("");
            let started = fields.next().unwrap_or("").parse::<u64>().ok();
            if !name.is_empty() && is_leftover(owner, started) {
                self.remove(name);
                removed.push(name.to_string());
            }
        }
        removed
    }
}

/// `host:pid` of this process, the owner label of its containers.
pub fn owner_label() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

/// Seconds since the epoch, the started label of a container.
pub fn now_label() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

/// Whether a container with these labels belongs to no running mcp-audit.
fn is_leftover(owner: &str, started: Option<u64>) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let old = started.is_some_and(|s| now.saturating_sub(s) > LEFTOVER_AGE.as_secs());
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return old;
    };
    if host != host_name() {
        return old;
    }
    match pid.parse::<u32>() {
        Ok(pid) => match process_alive(pid) {
            Some(alive) => !alive,
            None => old,
        },
        Err(_) => old,
    }
}

/// Whether process `pid` runs on this machine; `None` where that cannot be told.
fn process_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return Some(proc.join(pid.to_string()).exists());
    }
    let status = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    Some(status.success())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A program on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        let exe = dir.join(format!("{name}.exe"));
        exe.is_file().then_some(exe)
    })
}

/// Read up to `OUTPUT_LIMIT` bytes, then drain the rest so the command can finish.
fn read_bounded(reader: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut bytes = Vec::new();
        let _ = (&mut reader).take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        bytes
    })
}

/// The content of the first regular file of a tar stream, as `cp … -` writes one file; `None`
/// when the stream holds none (a symlink, a directory) or is cut short.
fn first_tar_file(tar: &[u8]) -> Option<String> {
    let mut offset = 0usize;
    while let Some(header) = tar.get(offset..offset.checked_add(512)?) {
        let size = String::from_utf8_lossy(&header[124..136]);
        let size = usize::from_str_radix(size.trim_matches(['\0', ' ']), 8).ok()?;
        let content = offset + 512;
        match header[156] {
            b'0' | 0 if header[0] != 0 => {
                let bytes = tar.get(content..content.checked_add(size)?)?;
                return Some(String::from_utf8_lossy(bytes).into_owned());
            }
            // Extended headers carry a long name or large numbers for the entry that follows.
            b'x' | b'g' => offset = content.checked_add(size.div_ceil(512) * 512)?,
            _ => return None,
        }
    }
    None
}

/// A declared volume's path as the runtime cleans it, which a tmpfs must be given to cover it.
fn volume_path(declared: &str) -> Result<String, String> {
    let path = Path::new(declared);
    let covered = path.is_absolute()
        && !declared.contains(':')
        && !path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    if covered {
        Ok(path.components().collect::<PathBuf>().display().to_string())
    } else {
        Err(format!(
            "the image declares a volume at `{}`, which the sandbox cannot cover with a tmpfs",
            declared.escape_debug()
        ))
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_keeps_its_containers() {
        let me = owner_label();
        assert!(!is_leftover(&me, Some(0)), "this process is alive");
        let (host, _) = me.rsplit_once(':').unwrap();
        // Pid numbers stop well below this.
        assert!(is_leftover(&format!("{host}:4000000000"), None));
    }

    #[test]
    fn another_hosts_containers_are_swept_only_when_old() {
        let now: u64 = now_label().parse().unwrap();
        assert!(!is_leftover("elsewhere:1", Some(now)));
        assert!(is_leftover("elsewhere:1", Some(now - 7 * 3600)));
        assert!(!is_leftover("", None));
    }

    /// A tar entry header naming `name`, of `size` bytes and type `kind`.
    fn tar_header(name: &str, size: usize, kind: u8) -> Vec<u8> {
        let mut header = vec![0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{size:011o}\0");
        header[124..136].copy_from_slice(size.as_bytes());
        header[156] = kind;
        header
    }

    #[test]
    fn the_first_regular_file_of_a_tar_is_read() {
        let content = b"toor:x:0:0::/:/bin/sh\n";
        let pax = b"30 path=etc/passwd-long-name\n";
        let mut tar = tar_header("PaxHeaders/passwd", pax.len(), b'x');
        tar.extend(pax);
        tar.resize(1024, 0);
        tar.extend(tar_header("passwd", content.len(), b'0'));
        tar.extend(content);
        tar.resize(2048, 0);
        assert_eq!(
            first_tar_file(&tar).as_deref(),
            Some("toor:x:0:0::/:/bin/sh\n")
        );
        assert_eq!(first_tar_file(&tar[..1100]), None, "cut short");
        assert_eq!(
            first_tar_file(&tar_header("passwd", 0, b'2')),
            None,
            "a symlink"
        );
        assert_eq!(first_tar_file(&[]), None);
    }

    #[test]
    fn volumes_are_cleaned_or_refused() {
        assert_eq!(volume_path("/data/").unwrap(), "/data");
        assert_eq!(volume_path("//var//lib/./db").unwrap(), "/var/lib/db");
        for refused in ["relative", "/a:exec", "/a/../etc"] {
            assert!(volume_path(refused).is_err(), "{refused}");
        }
    }
}
