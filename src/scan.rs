//! The `scan` pipeline: configs and saved captures in, servers and findings out. It wires the
//! stages in order (config lint, capture of container servers, then the rule engine on what each
//! server offers) and owns no stage's logic; reading flags and printing belong to the binary.

use crate::capture::{Capture, CaptureError, read_capture};
use crate::config::{self, ConfigError, ConfigFile, Server};
use crate::finding::{Finding, sort_findings};
use crate::report::ServerSummary;
use crate::rules::engine::Engine;
use crate::rules::matcher::MatcherError;
use crate::rules::{RuleError, RuleSet};
use crate::sandbox::{self, CaptureOptions, SandboxError};
use std::path::PathBuf;

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
    /// How container servers are captured when not offline.
    pub capture: CaptureOptions,
}

/// What a scan found, ready for a report.
pub struct ScanOutcome {
    pub rules: RuleSet,
    pub configs: Vec<ConfigFile>,
    pub servers: Vec<ServerSummary>,
    /// In report order.
    pub findings: Vec<Finding>,
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
    Sandbox(#[from] SandboxError),
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

    let mut findings = config::lint::lint_configs(&configs, &rules);
    let mut servers: Vec<ServerSummary> = configs
        .iter()
        .flat_map(|file| file.servers.iter().map(move |s| config_summary(file, s)))
        .collect();
    if !input.offline {
        let targets = sandbox::container_targets(configs.iter().flat_map(|f| &f.servers));
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
    sort_findings(&mut findings);
    servers.extend(captures[..saved].iter().map(capture_summary));
    Ok(ScanOutcome {
        rules,
        configs,
        servers,
        findings,
    })
}

impl ServerSummary {
    /// This summary with the launch and location of the config entry it was captured from.
    fn with_config(self, entry: &ServerSummary) -> ServerSummary {
        ServerSummary {
            source: entry.source.clone(),
            launch: entry.launch.clone(),
            location: entry.location.clone(),
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
pub fn capture(input: &ScanInput) -> Result<CaptureOutcome, ScanError> {
    let rules = RuleSet::load(&input.rule_dirs)?;
    let configs = config::load_configs(&input.configs)?;
    let targets = sandbox::container_targets(configs.iter().flat_map(|f| &f.servers));
    let servers = sandbox::capture_servers(&targets, &input.capture, &rules)?;
    Ok(CaptureOutcome {
        configs,
        rules,
        servers,
    })
}

fn capture_summary(capture: &Capture) -> ServerSummary {
    ServerSummary {
        name: capture.server.clone(),
        source: capture.source.display().to_string(),
        tools: capture.tools.len(),
        prompts: capture.prompts.len(),
        resources: capture.resources.len(),
        resource_templates: capture.resource_templates.len(),
        has_instructions: capture.instructions.is_some(),
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
