//! The `scan` pipeline: configs and saved captures in, servers and findings out. It wires the
//! stages in order (config lint; for container servers unless offline, the registry stage, then
//! capture in the sandbox by the verified digest; the rule engine on what each server offers;
//! the shadowing audit of all captures as one session; the policy's perimeter and scopes, offline
//! too; the lockfile comparison) and owns no stage's logic; reading flags and printing belong to
//! the binary.

use crate::capture::{Capture, CaptureError, read_capture};
use crate::config::{self, ConfigError, ConfigFile, Server};
use crate::finding::{Finding, Location, sort_findings};
use crate::lockfile::compare::{self, Observed, Scope};
use crate::lockfile::{self, LockedCapture, LockedServer, Lockfile, LockfileError};
use crate::policy::enforce::{self, Subjects};
use crate::policy::{self, PolicyDocument, PolicyError};
use crate::registry::{self, ImageAudit, SupplyError, SupplyInput};
use crate::report::ServerSummary;
use crate::rules::engine::Engine;
use crate::rules::matcher::MatcherError;
use crate::rules::shadowing;
use crate::rules::{RuleError, RuleSet};
use crate::rules::{capabilities, unnamed};
use crate::sandbox::{self, CaptureOptions, SandboxError};
use std::path::{Path, PathBuf};

/// What one `scan` examines.
#[derive(Debug, Clone, Default)]
pub struct ScanInput {
    /// Config files or directories to search for them.
    pub configs: Vec<PathBuf>,
    /// Saved captures (`--tools`), each one server.
    pub captures: Vec<PathBuf>,
    /// The server name of a single capture file, instead of its stem.
    pub capture_server: Option<String>,
    /// Directories of extra rule files.
    pub rule_dirs: Vec<PathBuf>,
    /// Touch no registry and no container: only what the files show.
    pub offline: bool,
    /// How images are resolved and which signatures are trusted; unused when offline.
    pub supply: SupplyInput,
    /// How container servers are captured when not offline.
    pub capture: CaptureOptions,
    /// The policy file (`--policy`), instead of an `mcp-audit.toml` found beside the configs
    /// or at the repository's root.
    pub policy: Option<PathBuf>,
    /// Which lockfile the servers are compared with.
    pub lockfile: LockfileChoice,
}

/// Where a scan's lockfile comes from.
#[derive(Debug, Clone, Default)]
pub enum LockfileChoice {
    /// `mcp-audit.lock` beside the first config (or in the first directory), when there is one.
    #[default]
    Discover,
    /// This file, which must exist.
    At(PathBuf),
    /// None: what `lock` itself runs, since it compares on its own terms.
    Ignore,
}

/// What a scan found, ready for a report.
pub struct ScanOutcome {
    pub rules: RuleSet,
    pub configs: Vec<ConfigFile>,
    pub servers: Vec<ServerSummary>,
    /// In report order.
    pub findings: Vec<Finding>,
    /// One per container server of the configs, matched to it by its config entry (two configs
    /// may each have a server of one name); empty when offline. The digest each holds is what a
    /// later stage must run (`ResolvedImage::pinned_reference`).
    pub images: Vec<ImageAudit>,
    /// The policy file read, if any.
    pub policy: Option<String>,
    /// The lockfile compared with, if any.
    pub lockfile: Option<PathBuf>,
    /// How many findings are differences from the lockfile: what `scan --locked` fails on.
    pub lock_changes: usize,
    /// Locked container servers this run could not capture (online), so could not compare:
    /// `scan --locked` cannot vouch for them either.
    pub lock_unverified: Vec<String>,
    /// The captures read from files (`--tools`), which `lock` pins as they are.
    pub saved_captures: Vec<Capture>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("compiling the rules: {0}")]
    Matcher(#[from] MatcherError),
    #[error("no rule reads server texts: refusing to report a scan that examined nothing")]
    NoTextRules,
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Supply(#[from] SupplyError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    #[error("the lockfile {0} does not exist; create it with `mcp-audit lock`")]
    NoLockfile(String),
    #[error(
        "no lockfile path: `lock` writes beside the first config, and none was given; pass --lockfile"
    )]
    NoLockfilePath,
    #[error(
        "`{name}` is two servers ({first} and {second}), and the lockfile keeps one entry per server name: rename one of them"
    )]
    DuplicateServer {
        name: String,
        first: String,
        second: String,
    },
    #[error("`--update` names {0}, which is not a server of the configs or captures read")]
    UnknownServer(String),
}

/// Run every stage. Call it inside a rayon pool to bound the engine's threads.
pub fn scan(input: &ScanInput) -> Result<ScanOutcome, ScanError> {
    let rules = RuleSet::load(&input.rule_dirs)?;
    let engine = Engine::new(&rules)?;
    if engine.rule_count() == 0 {
        return Err(ScanError::NoTextRules);
    }
    let configs = config::load_configs(&input.configs)?;
    let mut captures: Vec<Capture> = input
        .captures
        .iter()
        .map(|path| read_capture(path, input.capture_server.as_deref()))
        .collect::<Result<_, _>>()?;
    let saved = captures.len();
    let lock = read_lockfile(input)?;

    // One read of the policy serves every stage, offline too: the perimeter is about entries.
    let (document, ignored_policies) = read_policy(input, &configs)?;
    let mut findings = config::lint::lint_configs(&configs, &rules);
    let images = if input.offline {
        Vec::new()
    } else {
        if !sandbox::container_targets(configs.iter().flat_map(|f| &f.servers)).is_empty() {
            sandbox::require_runtime(&input.capture)?;
        }
        audit_images(input, &configs, document.as_ref(), &rules)?
    };
    for image in &images {
        findings.extend(image.findings.iter().cloned());
    }

    let mut servers: Vec<ServerSummary> = configs
        .iter()
        .flat_map(|file| file.servers.iter().map(move |s| config_summary(file, s)))
        .collect();
    for server in &mut servers {
        if let Some(image) = images
            .iter()
            .find(|i| server.location.as_ref() == Some(&i.entry))
        {
            add_image(server, image);
        }
    }
    if input.offline
        && let Some((path, lockfile)) = &lock
    {
        // Offline, the locked captures stand in for live ones: the rules read what was approved.
        for capture in locked_captures(path, lockfile, &configs) {
            if let Some(summary) = servers.iter_mut().find(|s| s.location == capture.location) {
                *summary = ServerSummary {
                    capture: Some(capture.clone()),
                    ..capture_summary(&capture).with_config(summary)
                };
            }
            captures.push(capture);
        }
    }
    if !input.offline {
        let targets = verified_targets(&configs, &images);
        let captured = sandbox::capture_servers(&targets, &input.capture, &rules)?;
        // Targets come in config order, as the summaries do: each fills in its server's entry.
        let mut summaries = servers.iter_mut();
        for (target, outcome) in targets.iter().zip(captured) {
            findings.extend(outcome.findings);
            let Some(capture) = outcome.capture else {
                continue;
            };
            let entry = summaries.find(|s| s.location.as_ref() == Some(&target.server.location));
            if let Some(summary) = entry {
                *summary = ServerSummary {
                    capture: Some(capture.clone()),
                    ..capture_summary(&capture).with_config(summary)
                };
            }
            captures.push(capture);
        }
    }
    findings.extend(engine.scan(&captures));
    findings.extend(unnamed::audit_names(&captures, &rules));
    // The servers of one run are one session: the agent would load them together.
    findings.extend(shadowing::audit_session(&captures, &rules));
    findings.extend(capabilities::audit_annotations(
        &captures,
        &rules,
        &capabilities::BUILTIN,
    ));
    findings.extend(capabilities::harden_containers(&configs, &captures, &rules));
    if let Some(document) = &document {
        let subjects = Subjects {
            configs: &configs,
            captures: &captures,
            images: &images,
        };
        findings.extend(enforce::enforce(document, &subjects, &rules));
        findings.extend(enforce::ignored_policies(
            document,
            &ignored_policies,
            &rules,
        ));
    }
    let mut lock_changes = 0;
    let mut lock_unverified = Vec::new();
    if let Some((path, lockfile)) = &lock {
        let observed = observe(path, &configs, &servers, &captures[..saved]);
        let scope = Scope::of(path, &configs, saved > 0);
        let changes = compare::compare(
            lockfile,
            &path.display().to_string(),
            &observed,
            &scope,
            &rules,
        );
        lock_changes = changes.len();
        if !input.offline {
            lock_unverified = observed
                .iter()
                .filter(|o| o.entry.capture.is_none())
                .filter(|o| {
                    lockfile
                        .get(o.entry.key())
                        .is_some_and(|locked| locked.capture.is_some())
                })
                .map(|o| o.entry.name.clone())
                .collect();
        }
        findings.extend(changes);
    }
    sort_findings(&mut findings);
    servers.extend(captures[..saved].iter().map(capture_summary));
    Ok(ScanOutcome {
        rules,
        configs,
        servers,
        findings,
        images,
        policy: document.map(|d| d.shown),
        lockfile: lock.map(|(path, _)| path),
        lock_changes,
        lock_unverified,
        saved_captures: captures[..saved].to_vec(),
    })
}

impl ScanOutcome {
    /// Every file this run read: what no file it writes may replace.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let configs = self.configs.iter().map(|f| PathBuf::from(&f.path));
        let captures = self.saved_captures.iter().map(|c| c.source.clone());
        configs
            .chain(captures)
            .chain(self.policy.iter().map(PathBuf::from))
            .chain(self.lockfile.iter().cloned())
            .collect()
    }
}

/// The lockfile the input asks for, read; `None` when it asks for none or none was found.
fn read_lockfile(input: &ScanInput) -> Result<Option<(PathBuf, Lockfile)>, ScanError> {
    let path = match &input.lockfile {
        LockfileChoice::Ignore => return Ok(None),
        LockfileChoice::At(path) => path.clone(),
        LockfileChoice::Discover => match input.configs.first() {
            Some(first) => lockfile::default_path(first),
            None => return Ok(None),
        },
    };
    match Lockfile::read(&path)? {
        Some(lockfile) => Ok(Some((path, lockfile))),
        None if matches!(input.lockfile, LockfileChoice::At(_)) => {
            Err(ScanError::NoLockfile(path.display().to_string()))
        }
        None => Ok(None),
    }
}

/// The locked capture of every config server that has one, located on its entry.
fn locked_captures(path: &Path, lockfile: &Lockfile, configs: &[ConfigFile]) -> Vec<Capture> {
    let mut captures = Vec::new();
    for file in configs {
        let key = lockfile::config_key(path, &file.path);
        for server in &file.servers {
            if let Some(locked) = lockfile
                .get((Some(&key), &server.name))
                .and_then(|e| e.capture.as_ref())
            {
                captures.push(Capture {
                    location: Some(server.location.clone()),
                    ..locked.to_capture(&server.name, path)
                });
            }
        }
    }
    captures
}

/// Every server of this run in the lockfile's terms: the config servers with what the registry
/// and the capture found, and the saved captures.
pub fn observe(
    lockfile: &Path,
    configs: &[ConfigFile],
    servers: &[ServerSummary],
    saved: &[Capture],
) -> Vec<Observed> {
    let mut observed = Vec::new();
    for file in configs {
        let key = lockfile::config_key(lockfile, &file.path);
        for server in &file.servers {
            let mut entry = LockedServer::of_config(server, &key);
            if let Some(summary) = servers
                .iter()
                .find(|s| s.location.as_ref() == Some(&server.location))
            {
                entry.digest = summary.digest.clone();
                entry.platform = summary.platform.clone();
                entry.signer = summary
                    .signature
                    .as_ref()
                    .filter(|s| s.verified)
                    .and_then(|s| s.signer_id.clone());
                entry.capture = summary.capture.as_ref().map(LockedCapture::of);
            }
            observed.push(Observed {
                entry,
                location: Some(server.location.clone()),
            });
        }
    }
    observed.extend(saved.iter().map(|capture| Observed {
        entry: LockedServer::of_capture(capture),
        location: Some(Location::file(capture.source.display().to_string())),
    }));
    observed
}

/// The policy (`policy::discover`: `--policy`, else the repository root's), read; and the other
/// `mcp-audit.toml` files beside the configs or in the directories scanned, which it overrides.
fn read_policy(
    input: &ScanInput,
    configs: &[ConfigFile],
) -> Result<(Option<PolicyDocument>, Vec<PathBuf>), ScanError> {
    let first = input.configs.first().map(|first| {
        if first.is_dir() {
            first.clone()
        } else {
            crate::output::parent_dir(first).to_path_buf()
        }
    });
    let mut dirs: Vec<PathBuf> = first.into_iter().collect();
    dirs.extend(
        configs
            .iter()
            .map(|f| crate::output::parent_dir(Path::new(&f.path)).to_path_buf()),
    );
    dirs.extend(input.configs.iter().filter(|p| p.is_dir()).cloned());
    let Some(path) = policy::discover(input.policy.as_deref(), &dirs) else {
        return Ok((None, Vec::new()));
    };
    let ignored = policy::ignored(&path, &dirs[1..]);
    Ok((Some(PolicyDocument::load(&path)?), ignored))
}

/// The registry stage over every container server, with the policy's signature requirements.
fn audit_images(
    input: &ScanInput,
    configs: &[ConfigFile],
    document: Option<&PolicyDocument>,
    rules: &RuleSet,
) -> Result<Vec<ImageAudit>, ScanError> {
    let servers: Vec<&Server> = configs.iter().flat_map(|f| &f.servers).collect();
    if !servers
        .iter()
        .any(|s| matches!(s.launch, config::Launch::Container { .. }))
    {
        return Ok(Vec::new());
    }
    let (options, policy) = registry::prepare(&input.supply, document)?;
    Ok(registry::audit_images(&servers, &options, &policy, rules))
}

fn add_image(server: &mut ServerSummary, image: &ImageAudit) {
    server.image = Some(image.image.clone());
    if let Some(resolved) = &image.resolved {
        server.digest = Some(resolved.digest.clone());
        server.platform = resolved.platform.clone();
    }
    server.signature = image.signature.clone();
}

impl ServerSummary {
    /// This summary with the launch and location of the config entry it was captured from.
    fn with_config(self, entry: &ServerSummary) -> ServerSummary {
        ServerSummary {
            source: entry.source.clone(),
            launch: entry.launch.clone(),
            location: entry.location.clone(),
            image: entry.image.clone(),
            digest: entry.digest.clone(),
            platform: entry.platform.clone(),
            signature: entry.signature.clone(),
            ..self
        }
    }
}

/// What `capture` did: each container server's capture or the findings saying why there is none.
pub struct CaptureOutcome {
    pub configs: Vec<ConfigFile>,
    pub rules: RuleSet,
    pub servers: Vec<sandbox::ServerCapture>,
}

/// Capture every container server of the input's configs, and nothing else: no lint, no rules.
/// Images are resolved and verified first, as in `scan`, and run by the verified digest.
pub fn capture(input: &ScanInput) -> Result<CaptureOutcome, ScanError> {
    let rules = RuleSet::load(&input.rule_dirs)?;
    let configs = config::load_configs(&input.configs)?;
    let (document, _) = read_policy(input, &configs)?;
    let images = audit_images(input, &configs, document.as_ref(), &rules)?;
    let targets = verified_targets(&configs, &images);
    let mut servers = sandbox::capture_servers(&targets, &input.capture, &rules)?;
    // The registry stage's findings go with their server, matched by config entry (captures
    // come in target order); one whose image did not verify was not run, and they say why.
    for image in images {
        let captured = targets
            .iter()
            .position(|t| t.server.location == image.entry)
            .and_then(|i| servers.get_mut(i));
        match captured {
            Some(captured) => captured.findings.extend(image.findings),
            None => servers.push(sandbox::ServerCapture {
                server: image.server,
                image: image.image,
                capture: None,
                findings: image.findings,
                elapsed: std::time::Duration::ZERO,
            }),
        }
    }
    Ok(CaptureOutcome {
        configs,
        rules,
        servers,
    })
}

/// The container servers to capture, each pinned to the digest the registry stage verified.
/// An image it could not resolve, or found tampered with (a lying registry, an invalid
/// signature), is not started at all, not even in the sandbox.
fn verified_targets<'a>(
    configs: &'a [ConfigFile],
    images: &[ImageAudit],
) -> Vec<sandbox::CaptureTarget<'a>> {
    let mut targets = sandbox::container_targets(configs.iter().flat_map(|f| &f.servers));
    targets.retain_mut(|target| {
        let Some(audit) = images.iter().find(|i| i.entry == target.server.location) else {
            return false;
        };
        let tampered = audit
            .findings
            .iter()
            .any(|f| f.severity == crate::finding::Severity::Critical);
        target.resolved_image = audit.resolved.as_ref().map(|r| r.pinned_reference());
        !tampered && target.resolved_image.is_some()
    });
    targets
}

fn capture_summary(capture: &Capture) -> ServerSummary {
    let profiles = capabilities::profile_tools(&capture.tools);
    ServerSummary {
        name: capture.server.clone(),
        source: capture.source.display().to_string(),
        capabilities: Some(capabilities::union(&profiles)),
        tools: profiles,
        prompts: capture.prompts.len(),
        resources: capture.resources.len(),
        resource_templates: capture.resource_templates.len(),
        has_instructions: capture.instructions.is_some(),
        prompt_capabilities: (!capture.prompts.is_empty())
            .then(|| capabilities::profile_prompts(&capture.prompts)),
        ..ServerSummary::default()
    }
}

/// A server read from a config: nothing captured yet, so no tools are counted.
fn config_summary(file: &ConfigFile, server: &Server) -> ServerSummary {
    ServerSummary {
        name: server.name.clone(),
        source: file.path.clone(),
        launch: Some(server.launch.describe()),
        location: Some(server.location.clone()),
        ..ServerSummary::default()
    }
}
