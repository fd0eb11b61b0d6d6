//! The `scan` pipeline: configs and saved captures in, servers and findings out. It wires the
//! stages in order (config lint, the registry stage for container images unless offline, the
//! rule engine on what each server offers, the shadowing audit of all captures as one session)
//! and owns no stage's logic; reading flags and printing belong to the binary.

use crate::capture::{Capture, CaptureError, read_capture};
use crate::config::{self, ConfigError, ConfigFile, Server};
use crate::finding::{Finding, sort_findings};
use crate::registry::{self, ImageAudit, SupplyError, SupplyInput};
use crate::report::ServerSummary;
use crate::rules::engine::Engine;
use crate::rules::matcher::MatcherError;
use crate::rules::shadowing;
use crate::rules::{RuleError, RuleSet};
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
    /// How images are resolved and which signatures are trusted; unused when offline.
    pub supply: SupplyInput,
}

/// What a scan found, ready for a report.
pub struct ScanOutcome {
    pub rules: RuleSet,
    pub configs: Vec<ConfigFile>,
    pub servers: Vec<ServerSummary>,
    /// In report order.
    pub findings: Vec<Finding>,
    /// One per container server of the configs, by server name; empty when offline. The digest
    /// each holds is what a later stage must run (`ResolvedImage::pinned_reference`).
    pub images: Vec<ImageAudit>,
    /// The policy file read, if any.
    pub policy: Option<String>,
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
}

/// Run every stage. Call it inside a rayon pool to bound the engine's threads.
pub fn scan(input: &ScanInput) -> Result<ScanOutcome, ScanError> {
    let rules = RuleSet::load(&input.rule_dirs)?;
    let engine = Engine::new(&rules)?;
    if engine.rule_count() == 0 {
        return Err(ScanError::NoTextRules);
    }
    let configs = config::load_configs(&input.configs)?;
    let captures: Vec<Capture> = input
        .captures
        .iter()
        .map(|path| read_capture(path, input.capture_server.as_deref()))
        .collect::<Result<_, _>>()?;

    let mut findings = engine.scan(&captures);
    // The `--tools` files of one run are one session: the agent would load them together.
    findings.extend(shadowing::audit_session(&captures, &rules));
    findings.extend(config::lint::lint_configs(&configs, &rules));

    let (images, policy) = if input.offline {
        (Vec::new(), None)
    } else {
        audit_images(input, &configs, &rules)?
    };
    for image in &images {
        findings.extend(image.findings.iter().cloned());
    }
    sort_findings(&mut findings);

    let mut servers: Vec<ServerSummary> = configs
        .iter()
        .flat_map(|file| file.servers.iter().map(move |s| config_summary(file, s)))
        .collect();
    for server in &mut servers {
        if let Some(image) = images.iter().find(|i| i.server == server.name) {
            add_image(server, image);
        }
    }
    servers.extend(captures.iter().map(capture_summary));
    Ok(ScanOutcome {
        rules,
        configs,
        servers,
        findings,
        images,
        policy,
    })
}

/// The registry stage over every container server; the policy is `--policy` or the first
/// `mcp-audit.toml` beside a config or in a directory scanned.
fn audit_images(
    input: &ScanInput,
    configs: &[ConfigFile],
    rules: &RuleSet,
) -> Result<(Vec<ImageAudit>, Option<String>), ScanError> {
    let servers: Vec<&Server> = configs.iter().flat_map(|f| &f.servers).collect();
    if !servers
        .iter()
        .any(|s| matches!(s.launch, config::Launch::Container { .. }))
    {
        return Ok((Vec::new(), None));
    }
    let mut dirs: Vec<PathBuf> = configs
        .iter()
        .filter_map(|f| std::path::Path::new(&f.path).parent().map(PathBuf::from))
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }
        })
        .collect();
    dirs.extend(input.configs.iter().filter(|p| p.is_dir()).cloned());
    let (options, policy) = registry::prepare(&input.supply, &dirs)?;
    let images = registry::audit_images(&servers, &options, &policy, rules);
    Ok((images, policy.source))
}

fn add_image(server: &mut ServerSummary, image: &ImageAudit) {
    server.image = Some(image.image.clone());
    if let Some(resolved) = &image.resolved {
        server.digest = Some(resolved.digest.clone());
        server.platform = resolved.platform.clone();
    }
    server.signature = image.signature.clone();
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
