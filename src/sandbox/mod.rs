//! The capture stage: each container server started briefly in a locked-down container and listed
//! over MCP, several at once, each image pulled once; each ends as a capture or as findings saying
//! why not, never stopping another. It judges nothing the servers offer: the rule engine does.

mod bounds;
mod client;
mod container;
mod env_file;
pub mod lockdown;
pub mod runtime;

pub use bounds::Bounds;
pub use client::{ClientIdentity, LEGACY_VERSIONS, MODERN_VERSION};
pub use container::remove_live_containers;
pub use runtime::{ContainerRuntime, RuntimeChoice, RuntimeError};

use crate::capture::Capture;
use crate::config::{Launch, Server};
use crate::finding::{Finding, FindingSpec};
use crate::rules::RuleSet;
use client::{Channel, Failure, FailureKind, Observation, Opening, run_session};
use container::{Container, Inbound};
use lockdown::{Accounts, ContainerSpec, User};
use runtime::Image;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

pub const IMAGE_UNAVAILABLE: &str = "MCP501";
pub const SERVER_DID_NOT_START: &str = "MCP502";
pub const SERVER_EXITED_EARLY: &str = "MCP503";
pub const CAPTURE_TIMEOUT: &str = "MCP504";
pub const OUTPUT_LIMIT_EXCEEDED: &str = "MCP505";
pub const RUNS_ONLY_AS_ROOT: &str = "MCP511";
pub const ENV_FILE_NOT_READ: &str = "MCP512";

/// Every rule this stage can raise; each must exist in the built-in rule set.
pub const RULE_IDS: &[&str] = &[
    IMAGE_UNAVAILABLE,
    SERVER_DID_NOT_START,
    SERVER_EXITED_EARLY,
    CAPTURE_TIMEOUT,
    OUTPUT_LIMIT_EXCEEDED,
    client::RULE_PROTOCOL,
    client::RULE_PAGINATION,
    client::RULE_CLIENT_DATA,
    client::RULE_VERSION,
    client::RULE_NOISE,
    RUNS_ONLY_AS_ROOT,
    ENV_FILE_NOT_READ,
    client::RULE_RUG_PULL,
];

/// Lines of a failed server's standard error quoted in its finding.
const STDERR_LINES: usize = 12;

/// How captures run.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub runtime: RuntimeChoice,
    pub bounds: Bounds,
    pub client: ClientIdentity,
    /// Servers captured at once; `None`: one per core.
    pub jobs: Option<usize>,
    /// The start of every container's name.
    pub name_prefix: String,
    /// Told of each server's start and end, for a progress display.
    pub progress: Option<ProgressSink>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            runtime: RuntimeChoice::Auto,
            bounds: Bounds::default(),
            client: ClientIdentity::default(),
            jobs: None,
            name_prefix: "mcp-audit".to_string(),
            progress: None,
        }
    }
}

/// One step of the capture stage, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    pub server: &'a str,
    /// Servers finished so far, and in all.
    pub done: usize,
    pub total: usize,
    /// `None` when the server starts; whether it was captured when it ends.
    pub captured: Option<bool>,
}

/// Where progress goes; the binary draws it on a terminal.
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Fn(&Progress<'_>) + Send + Sync>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// A server to capture, and the image reference to run it by: the digest the supply-chain stage
/// verified (`repo@sha256:…`), or `None` for the reference the config gives.
#[derive(Debug, Clone)]
pub struct CaptureTarget<'a> {
    pub server: &'a Server,
    pub resolved_image: Option<String>,
}

/// What became of one server.
#[derive(Debug, Clone)]
pub struct ServerCapture {
    pub server: String,
    /// The image reference run.
    pub image: String,
    pub capture: Option<Capture>,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The container servers among `servers`, each to be run by the reference its config gives.
pub fn container_targets<'a>(
    servers: impl IntoIterator<Item = &'a Server>,
) -> Vec<CaptureTarget<'a>> {
    servers
        .into_iter()
        .filter(|s| matches!(s.launch, Launch::Container { .. }))
        .map(|server| CaptureTarget {
            server,
            resolved_image: None,
        })
        .collect()
}

/// Fail now, saying what to install, when no container runtime answers: a scan that must
/// capture servers checks this before it asks any registry.
pub fn require_runtime(options: &CaptureOptions) -> Result<(), SandboxError> {
    ContainerRuntime::detect(options.runtime)?;
    Ok(())
}

/// Capture every target, `options.jobs` at a time, in the targets' order. Fails only when no
/// container runtime answers; each server's own failure is a finding in its `ServerCapture`.
pub fn capture_servers(
    targets: &[CaptureTarget<'_>],
    options: &CaptureOptions,
    rules: &RuleSet,
) -> Result<Vec<ServerCapture>, SandboxError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = ContainerRuntime::detect(options.runtime)?;
    runtime.sweep_leftovers();
    let images: HashMap<String, SharedImage> = targets
        .iter()
        .filter_map(image_of)
        .map(|image| (image, Default::default()))
        .collect();
    let jobs = options
        .jobs
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .min(targets.len());
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ServerCapture>>> = Mutex::new(vec![None; targets.len()]);
    let stage = Stage {
        runtime: &runtime,
        options,
        rules,
        images: &images,
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(index) else {
                        return;
                    };
                    let name = target.server.name.as_str();
                    stage.progress(name, done.load(Ordering::SeqCst), targets.len(), None);
                    let captured = stage.capture(target, index);
                    let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                    stage.progress(
                        name,
                        finished,
                        targets.len(),
                        Some(captured.capture.is_some()),
                    );
                    results.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(captured);
                }
            });
        }
    });
    Ok(results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect())
}

fn image_of(target: &CaptureTarget<'_>) -> Option<String> {
    if let Some(resolved) = &target.resolved_image {
        return Some(resolved.clone());
    }
    match &target.server.launch {
        Launch::Container { docker_run, .. } => docker_run.image.as_ref().map(|i| i.text.clone()),
        _ => None,
    }
}

/// What every capture of one run shares.
struct Stage<'a> {
    runtime: &'a ContainerRuntime,
    options: &'a CaptureOptions,
    rules: &'a RuleSet,
    images: &'a HashMap<String, SharedImage>,
}

/// An image's user and volumes, and its account files when a user name must be resolved:
/// pulled and read once however many servers run it.
#[derive(Default)]
struct SharedImage {
    facts: OnceLock<Result<Image, String>>,
    accounts: OnceLock<Option<Accounts>>,
}

/// The container's stdio as the MCP client's channel.
impl Channel for Container {
    fn send(&mut self, message: &serde_json::Value) -> bool {
        Container::send(self, message)
    }
    fn receive(&mut self, until: Instant) -> Inbound {
        Container::receive(self, until)
    }
}

/// Why one attempt failed, with what the container left to tell it.
struct AttemptFailure {
    failure: Failure,
    /// The tail of the server's standard error.
    stderr: String,
    /// The `run` client's exit status, when the server exited.
    exit_code: Option<i32>,
}

/// How one attempt at a server starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attempt {
    user: User,
    opening: Opening,
}

impl Stage<'_> {
    /// The labels of every container this stage creates, by which leftovers are swept.
    fn labels(&self) -> Vec<(&'static str, String)> {
        vec![
            (runtime::LABEL_CAPTURE, "1".to_string()),
            (runtime::LABEL_OWNER, runtime::owner_label()),
            (runtime::LABEL_STARTED, runtime::now_label()),
        ]
    }

    fn progress(&self, server: &str, done: usize, total: usize, captured: Option<bool>) {
        if let Some(sink) = &self.options.progress {
            (sink.0)(&Progress {
                server,
                done,
                total,
                captured,
            });
        }
    }

    fn capture(&self, target: &CaptureTarget<'_>, index: usize) -> ServerCapture {
        let started = Instant::now();
        let server = target.server;
        let image = image_of(target).unwrap_or_default();
        let mut outcome = ServerCapture {
            server: server.name.clone(),
            image: image.clone(),
            capture: None,
            findings: Vec::new(),
            elapsed: Duration::ZERO,
        };
        let Launch::Container { docker_run, .. } = &server.launch else {
            return outcome;
        };
        let no_image = Err(format!(
            "the `{} run` command names no image",
            self.runtime.kind.as_str()
        ));
        let (prepared, accounts) = match self.images.get(&image) {
            Some(shared) => (
                shared
                    .facts
                    .get_or_init(|| self.runtime.prepare_image(&image)),
                Some(&shared.accounts),
            ),
            None => (&no_image, None),
        };
        let image_facts = match prepared {
            Ok(facts) => facts,
            Err(problem) => {
                let message =
                    format!("the image `{image}` could not be pulled or inspected: {problem}");
                outcome.findings.push(self.finding(
                    IMAGE_UNAVAILABLE,
                    server,
                    None,
                    message,
                    problem,
                ));
                outcome.elapsed = started.elapsed();
                return outcome;
            }
        };
        let image_user = image_facts.user.as_str();
        let config_user = docker_run.last("user").and_then(|o| o.value.as_deref());
        let accounts = if config_user.is_some_and(lockdown::needs_accounts)
            || lockdown::needs_accounts(image_user)
        {
            accounts.and_then(|accounts| {
                accounts
                    .get_or_init(|| {
                        let name =
                            container_name(&self.options.name_prefix, &server.name, index, 0);
                        self.runtime.image_accounts(&image, &name, &self.labels())
                    })
                    .as_ref()
            })
        } else {
            None
        };
        let chosen = lockdown::choose_user(config_user, image_user, accounts);
        let may_fall_back_to_root = lockdown::is_root(image_user, accounts)
            && chosen == User::Given(lockdown::UNPRIVILEGED_USER.to_string());
        let env_file_names = self.env_file_names(server, docker_run, &mut outcome.findings);
        let deadline = started + self.options.bounds.timeout;
        let mut attempt = Attempt {
            user: chosen,
            opening: Opening::Probe,
        };
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            let name = container_name(&self.options.name_prefix, &server.name, index, attempts);
            let spec = ContainerSpec {
                name: &name,
                image: &image,
                labels: self.labels(),
                user: attempt.user.clone(),
                run: docker_run,
                env_file_names: env_file_names.clone(),
                volumes: &image_facts.volumes,
            };
            let result = self.attempt(&spec, attempt.opening, deadline);
            // A server that exits without a word may have exited on the probe (some SDKs do), or
            // may need the image's root user: each is tried once, within the same deadline.
            let retry = match &result {
                Err(AttemptFailure { failure, .. })
                    if failure.kind == FailureKind::Exited && failure.silent =>
                {
                    match (&attempt.opening, &attempt.user) {
                        (Opening::Probe, _) => Some(Attempt {
                            opening: Opening::Initialize,
                            ..attempt.clone()
                        }),
                        (Opening::Initialize, User::Given(_)) if may_fall_back_to_root => {
                            Some(Attempt {
                                user: User::ImageRoot,
                                opening: Opening::Probe,
                            })
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match retry {
                Some(next) if Instant::now() < deadline => attempt = next,
                _ => break result,
            }
        };
        match result {
            Ok(session) => {
                if attempt.user == User::ImageRoot {
                    let message = "the server did not start as uid 65534 and was captured as the image's root user".to_string();
                    outcome.findings.push(self.finding(
                        RUNS_ONLY_AS_ROOT,
                        server,
                        None,
                        message,
                        image_user,
                    ));
                }
                for observation in &session.observations {
                    outcome.findings.push(self.observed(server, observation));
                }
                let mut capture = capture_of(session, &server.name, &server.location.path);
                capture.location = Some(server.location.clone());
                outcome.capture = Some(capture);
            }
            Err(failed) => outcome.findings.push(self.failed(server, &failed)),
        }
        outcome.elapsed = started.elapsed();
        outcome
    }

    /// Start one container and run one session in it; the container is removed on return.
    fn attempt(
        &self,
        spec: &ContainerSpec<'_>,
        opening: Opening,
        deadline: Instant,
    ) -> Result<client::Session, AttemptFailure> {
        let args = lockdown::run_arguments(spec);
        let mut container =
            match Container::start(self.runtime, spec.name, &args, &self.options.bounds) {
                Ok(container) => container,
                Err(error) => {
                    let failure = Failure {
                        kind: FailureKind::Exited,
                        message: format!(
                            "{} could not be run: {error}",
                            self.runtime.program.display()
                        ),
                        evidence: String::new(),
                        silent: false,
                    };
                    return Err(AttemptFailure {
                        failure,
                        stderr: String::new(),
                        exit_code: Some(125),
                    });
                }
            };
        let result = run_session(
            &mut container,
            opening,
            &self.options.client,
            &self.options.bounds,
            deadline,
        );
        result.map_err(|failure| {
            let exit_code = match failure.kind {
                FailureKind::Exited => container.exit_code(),
                _ => None,
            };
            AttemptFailure {
                stderr: container.stderr_tail(STDERR_LINES),
                failure,
                exit_code,
            }
        })
    }

    fn failed(&self, server: &Server, failed: &AttemptFailure) -> Finding {
        let AttemptFailure {
            failure,
            stderr,
            exit_code,
        } = failed;
        let exit_code = *exit_code;
        let runtime_refused = failure.silent && matches!(exit_code, Some(125..=127));
        let rule = match failure.kind {
            _ if runtime_refused => SERVER_DID_NOT_START,
            FailureKind::Exited => SERVER_EXITED_EARLY,
            FailureKind::Timeout => CAPTURE_TIMEOUT,
            FailureKind::Limit => OUTPUT_LIMIT_EXCEEDED,
            FailureKind::Protocol => client::RULE_PROTOCOL,
        };
        let mut message = failure.message.clone();
        if let Some(code) = exit_code {
            message.push_str(&format!(" (exit status {code})"));
        }
        if rule == CAPTURE_TIMEOUT {
            message.push_str(&format!(
                " within {} s",
                self.options.bounds.timeout.as_secs()
            ));
        }
        if stderr.is_empty() {
            message.push_str("; it wrote nothing on standard error");
        } else {
            message.push_str(&format!("; the end of its standard error:\n{stderr}"));
        }
        let evidence = match stderr.lines().last() {
            Some(line) if failure.evidence.is_empty() => line.to_string(),
            _ => failure.evidence.clone(),
        };
        self.finding(rule, server, None, message, &evidence)
    }

    fn observed(&self, server: &Server, observation: &Observation) -> Finding {
        self.finding(
            observation.rule,
            server,
            observation.tool.as_deref(),
            observation.message.clone(),
            &observation.evidence,
        )
    }

    /// The names in the config's `--env-file` files; each file not read is a finding.
    fn env_file_names(
        &self,
        server: &Server,
        run: &crate::config::docker_args::DockerRun,
        findings: &mut Vec<Finding>,
    ) -> Vec<String> {
        let config = Path::new(&server.location.path);
        let repository = env_file::repository_of(config);
        let mut names = Vec::new();
        for file in run.all("env-file").filter_map(|o| o.value.as_deref()) {
            let Some(repository) = &repository else {
                break;
            };
            match env_file::read_names(config, repository, file) {
                Ok(read) => names.extend(read),
                // The runtime itself would refuse to start it: nothing was kept from the host.
                Err(env_file::EnvFileRefused::Missing) => {}
                Err(refused) => {
                    let message = format!(
                        "the `--env-file` `{file}` of server `{}` was not read: {refused}; its variables were not set in the sandbox",
                        server.name
                    );
                    findings.push(self.finding(ENV_FILE_NOT_READ, server, None, message, file));
                }
            }
        }
        names
    }

    /// A finding of rule `id`, with the severity and confidence its data gives it, located at
    /// the server's entry in its config.
    fn finding(
        &self,
        id: &str,
        server: &Server,
        tool: Option<&str>,
        message: String,
        evidence: &str,
    ) -> Finding {
        // The built-in rules define every id of RULE_IDS (a test holds them to it); a capture
        // failure is never dropped, so a missing one still reports, high enough to fail the gate.
        let finding = self.rules.finding(id, &server.name, message.clone());
        finding
            .unwrap_or_else(|| {
                Finding::new(FindingSpec {
                    rule_id: id,
                    category: crate::finding::Category::Capture,
                    severity: crate::finding::Severity::High,
                    confidence: crate::finding::Confidence::Medium,
                    server: &server.name,
                    message,
                })
            })
            .tool(tool)
            .field("capture")
            .evidence(evidence)
            .location(Some(server.location.clone()))
    }
}

/// What a session showed, as the capture of server `name` declared in `source`.
fn capture_of(session: client::Session, name: &str, source: &str) -> Capture {
    Capture {
        server: name.to_string(),
        source: PathBuf::from(source),
        tools: session.tools,
        prompts: session.prompts,
        resources: session.resources,
        resource_templates: session.resource_templates,
        instructions: session.instructions,
        protocol_version: Some(session.protocol_version),
        server_info: session.server_info,
        capabilities: session.capabilities,
        location: None,
    }
}

/// A server's recorded standard output, read within `bounds` and listed by the capture's client
/// as a live server is, each request answered by the lines that come next. It starts nothing;
/// it is how a transcript is replayed and how the fuzz tests reach the JSON-RPC reader.
pub fn capture_transcript(name: &str, stdout: &[u8], bounds: &Bounds) -> Result<Capture, String> {
    /// The recorded lines, in order; the server's input is never read.
    struct Transcript(std::sync::mpsc::Receiver<Inbound>);
    impl Channel for Transcript {
        fn send(&mut self, _message: &serde_json::Value) -> bool {
            true
        }
        fn receive(&mut self, _until: Instant) -> Inbound {
            self.0.try_recv().unwrap_or(Inbound::Closed)
        }
    }
    let (lines, received) = std::sync::mpsc::channel();
    container::read_messages(stdout, bounds, lines);
    let deadline = Instant::now() + bounds.timeout;
    let session = run_session(
        &mut Transcript(received),
        Opening::Probe,
        &ClientIdentity::default(),
        bounds,
        deadline,
    )
    .map_err(|failure| failure.message)?;
    Ok(capture_of(session, name, "transcript"))
}

/// A container name unique to this process, server and attempt: `PREFIX-SERVER-PID-N-A`.
fn container_name(prefix: &str, server: &str, index: usize, attempt: usize) -> String {
    let slug: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "server" } else { slug };
    format!("{prefix}-{slug}-{}-{index}-{attempt}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_this_stage_raises_is_built_in() {
        let rules = RuleSet::load(&[]).unwrap();
        for id in RULE_IDS {
            assert!(rules.get(id).is_some(), "{id} is not in rules/capture.yaml");
        }
    }

    #[test]
    fn a_transcript_is_listed_as_a_live_server_is() {
        let transcript = [
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#,
            "starting up",
            r#"{"jsonrpc":"2.0","id":2,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"a"}]}}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a"}]}}"#,
        ]
        .join("\n");
        let capture = capture_transcript("t", transcript.as_bytes(), &Bounds::default()).unwrap();
        assert_eq!(capture.tools, [serde_json::json!({"name": "a"})]);
        assert_eq!(capture.protocol_version.as_deref(), Some("2025-06-18"));
        let silent = capture_transcript("t", b"", &Bounds::default()).unwrap_err();
        assert!(silent.contains("exited"), "{silent}");
    }

    #[test]
    fn container_names_are_safe_and_unique() {
        let a = container_name("mcp-audit", "My Server/π", 0, 1);
        assert!(a.starts_with("mcp-audit-my-server-"), "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
        assert_ne!(a, container_name("mcp-audit", "My Server/π", 0, 2));
        assert_ne!(a, container_name("mcp-audit", "My Server/π", 1, 1));
    }
}
