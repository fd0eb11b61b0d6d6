//! The `mcp-audit` binary: parse the command line, run the stages, write the report, and map
//! the outcome to the exit code (0 clean, 1 findings at or above `--fail-on`, 2 failure).

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{
    CaptureArgs, CaptureCommandArgs, Cli, Command, LockArgs, PolicyCommand, RulesCommand, ScanArgs,
    SupplyArgs,
};
use mcp_audit::finding::{make_visible, visible_whole};
use mcp_audit::output::replace_file;
use mcp_audit::policy::{POLICY_FILE_NAME, PolicyDocument, PolicyError, init};
use mcp_audit::registry::SupplyInput;
use mcp_audit::report::{self, ScanReport};
use mcp_audit::rules::RuleSet;
use mcp_audit::sandbox::{self, Bounds, CaptureOptions, ClientIdentity, Progress, ProgressSink};
use mcp_audit::scan::{self, LockfileChoice, ScanInput};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A capture container outlives a killed `docker run` client: an interrupted run removes
    // its containers before it exits. Without a handler there is nothing to remove anyway.
    let _ = ctrlc::set_handler(|| {
        sandbox::remove_live_containers();
        eprintln!("\nmcp-audit: interrupted");
        std::process::exit(130);
    });
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // An error may quote a config value or a command line: it is redacted like a report.
            let message = mcp_audit::config::secrets::redact_text(&format!("{error:#}"));
            eprintln!("mcp-audit: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(*args),
        Command::Capture(args) => capture(*args),
        Command::Policy(PolicyCommand::Init {
            configs,
            output,
            force,
        }) => policy_init(&configs, output.as_deref(), force),
        Command::Policy(PolicyCommand::Check { file }) => policy_check(file.as_deref()),
        Command::Policy(PolicyCommand::Schema) => {
            write_stdout(&mcp_audit::policy::check::schema_text())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lock(args) => lock(*args),
        Command::Rules(RulesCommand::List { rules }) => {
            let set = RuleSet::load(&rules)?;
            let mut out = String::new();
            for rule in set.iter() {
                out.push_str(&format!(
                    "{:<8} {:<8} {:<13} {:<34} {}\n",
                    rule.id,
                    rule.severity.as_str(),
                    rule.category.as_str(),
                    rule.name,
                    rule.summary
                ));
            }
            write_stdout(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Show { id, rules }) => {
            let set = RuleSet::load(&rules)?;
            let Some(rule) = set.get(&id) else {
                bail!("no rule has the id `{id}`; `mcp-audit rules list` shows them all");
            };
            let source = set.source_of(&id).map(|p| p.display().to_string());
            let mut out = format!(
                "{} {} ({}, {}, confidence {})\nfrom {}\n\n{}\n\n{}\n",
                rule.id,
                rule.name,
                rule.category.as_str(),
                rule.severity.as_str(),
                rule.confidence.as_str(),
                source.unwrap_or_default(),
                rule.summary,
                rule.help.trim_end()
            );
            let detail = serde_json::json!({
                "fields": rule.fields,
                "match": rule.pattern,
                "check": rule.check,
                "examples": rule.examples,
            });
            out.push_str("\nDefinition:\n");
            out.push_str(&serde_json::to_string_pretty(&detail)?);
            out.push('\n');
            write_stdout(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    if args.server.is_some() && args.tools.len() > 1 {
        bail!(
            "--server names one server; it cannot name {} --tools files",
            args.tools.len()
        );
    }
    let input = ScanInput {
        configs: config_paths(&args.paths, &args.tools),
        captures: args.tools.clone(),
        capture_server: args.server.clone(),
        rule_dirs: args.rules.clone(),
        offline: args.offline,
        supply: supply_input(&args.supply),
        capture: capture_options(&args.capture, args.jobs),
        policy: args.policy.file.clone(),
        lockfile: match &args.lockfile {
            Some(path) => LockfileChoice::At(path.clone()),
            None => LockfileChoice::Discover,
        },
    };
    let outcome = engine_pool(args.jobs)?.install(|| scan::scan(&input))?;
    if !outcome.configs.is_empty() {
        let names: Vec<String> = outcome
            .configs
            .iter()
            .map(|f| visible_whole(&f.path))
            .collect();
        let plural = if names.len() == 1 { "" } else { "s" };
        eprintln!(
            "mcp-audit: read {} config file{plural}: {}",
            names.len(),
            names.join(", ")
        );
    }
    if let Some(policy) = &outcome.policy {
        eprintln!("mcp-audit: policy {}", visible_whole(policy));
    }
    match &outcome.lockfile {
        Some(path) => eprintln!(
            "mcp-audit: lockfile {}",
            visible_whole(&path.to_string_lossy())
        ),
        None if args.locked => bail!(
            "--locked: no lockfile beside the configs; create one with `mcp-audit lock` or name it with --lockfile"
        ),
        None => {}
    }
    let report = ScanReport {
        servers: &outcome.servers,
        findings: &outcome.findings,
        rules: &outcome.rules,
    };
    let to_terminal = args.output.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let rendered = report::render(args.output.format, &report, color);
    match &args.output.output {
        Some(path) => replace_file(path, rendered.as_bytes(), &outcome.inputs())
            .context("writing the report")?,
        None => write_stdout(&rendered)?,
    }
    if args.locked && !outcome.lock_unverified.is_empty() {
        let names: Vec<String> = outcome
            .lock_unverified
            .iter()
            .map(|n| make_visible(n))
            .collect();
        eprintln!(
            "mcp-audit: --locked: not captured, so not compared with the lockfile: {}",
            names.join(", ")
        );
    }
    if args.locked && (outcome.lock_changes > 0 || !outcome.lock_unverified.is_empty()) {
        eprintln!(
            "mcp-audit: --locked: {} difference{} from the lockfile",
            outcome.lock_changes,
            if outcome.lock_changes == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(1));
    }
    let failed = outcome.findings.iter().any(|f| f.severity >= args.fail_on);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The configs to read: the paths given, or with neither a path nor a `--tools` file, the
/// current directory, searched.
fn config_paths(paths: &[PathBuf], tools: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() && tools.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

/// The rule engine's threads: `--jobs`, or one per core.
fn engine_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .context("starting the rule engine's threads")
}

fn supply_input(args: &SupplyArgs) -> SupplyInput {
    SupplyInput {
        platform: Some(args.platform.clone()),
        insecure_registries: args.insecure_registries.clone(),
        signature_repository: args.signature_repository.clone(),
        keys: args.keys.clone(),
        certificate_identity: args.certificate_identity.clone(),
        certificate_identity_regexp: args.certificate_identity_regexp.clone(),
        certificate_oidc_issuer: args.certificate_oidc_issuer.clone(),
        trusted_root: args.trusted_root.clone(),
        concurrency: None,
        // A bar only for a person watching: not when piped, not in CI.
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    }
}

fn capture(args: CaptureCommandArgs) -> Result<ExitCode> {
    let input = ScanInput {
        configs: config_paths(&args.paths, &[]),
        capture: capture_options(&args.capture, args.jobs),
        supply: supply_input(&args.supply),
        policy: args.policy.file.clone(),
        ..ScanInput::default()
    };
    let outcome = scan::capture(&input)?;
    if outcome.servers.is_empty() {
        eprintln!("mcp-audit: no container server in the configs; nothing to capture");
        return Ok(ExitCode::SUCCESS);
    }
    let captures: Vec<_> = outcome
        .servers
        .iter()
        .filter_map(|s| s.capture.clone())
        .collect();
    let inputs: Vec<PathBuf> = outcome
        .configs
        .iter()
        .map(|f| PathBuf::from(&f.path))
        .collect();
    let written = mcp_audit::capture::write_captures(&args.out, &captures, &inputs)?;
    let mut unwritten = 0;
    for (capture, path) in captures.iter().zip(&written) {
        let server = make_visible(&capture.server);
        match path {
            Ok(path) => eprintln!(
                "mcp-audit: {server}: {} tools, {} prompts, {} resources, {} templates -> {}",
                capture.tools.len(),
                capture.prompts.len(),
                capture.resources.len(),
                capture.resource_templates.len(),
                path.display()
            ),
            Err(error) => {
                unwritten += 1;
                eprintln!("mcp-audit: error: {server}: {error}");
            }
        }
    }
    let mut findings: Vec<_> = outcome
        .servers
        .iter()
        .flat_map(|s| s.findings.iter().cloned())
        .collect();
    mcp_audit::finding::sort_findings(&mut findings);
    if !findings.is_empty() {
        let report = ScanReport {
            servers: &[],
            findings: &findings,
            rules: &outcome.rules,
        };
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprint!("{}", report::render(report::Format::Text, &report, color));
    }
    if unwritten > 0 {
        bail!(
            "{unwritten} of {} captures could not be written",
            captures.len()
        );
    }
    let failed = outcome
        .servers
        .iter()
        .filter(|s| s.capture.is_none())
        .count();
    if failed > 0 {
        eprintln!(
            "mcp-audit: {failed} of {} container servers could not be captured",
            outcome.servers.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `policy init`: the policy admitting what the configs use, beside the first config, at
/// `--output`, or on standard output; never over an existing file without `--force`.
fn policy_init(paths: &[PathBuf], output: Option<&Path>, force: bool) -> Result<ExitCode> {
    let paths = config_paths(paths, &[]);
    let configs = mcp_audit::config::load_configs(&paths)?;
    let Some(first) = configs.first() else {
        bail!("no config to write a policy for");
    };
    let first_dir = Path::new(&first.path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let target = match output {
        Some(path) if path == Path::new("-") => None,
        Some(path) => Some(path.to_path_buf()),
        None => Some(first_dir.join(POLICY_FILE_NAME)),
    };
    let policy_dir = target
        .as_deref()
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The lockfile beside the first config, when there is one, adds what was approved of
    // each image: the digest that ran and who signed it.
    let lock_path = mcp_audit::lockfile::default_path(&paths[0]);
    let locked = match mcp_audit::lockfile::Lockfile::read(&lock_path)? {
        Some(lockfile) => init::locked_images(&lock_path, &lockfile, &configs, policy_dir),
        None => Vec::new(),
    };
    let text = init::write_policy(&configs, policy_dir, &locked);
    // What init writes must pass `policy check`; anything else is a bug here, not the user's.
    PolicyDocument::parse(&text, "the generated policy", policy_dir)
        .context("the policy written by init does not check")?;
    let Some(target) = target else {
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    };
    // `symlink_metadata`: a symlink there, dangling or not, is an existing target too.
    if std::fs::symlink_metadata(&target).is_ok() && !force {
        bail!(
            "{} exists; pass --force to replace it, or --output to write elsewhere",
            target.display()
        );
    }
    let mut inputs: Vec<PathBuf> = configs.iter().map(|f| PathBuf::from(&f.path)).collect();
    inputs.push(lock_path);
    replace_file(&target, text.as_bytes(), &inputs).context("writing the policy")?;
    let servers: usize = configs.iter().map(|f| f.servers.len()).sum();
    eprintln!(
        "mcp-audit: wrote {} admitting the {servers} servers of {} config{}",
        target.display(),
        configs.len(),
        if configs.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `policy check`: every problem with its line on standard output, exit 1 when there is any.
fn policy_check(file: Option<&Path>) -> Result<ExitCode> {
    let Some(path) = mcp_audit::policy::discover(file, &[PathBuf::from(".")]) else {
        bail!("no {POLICY_FILE_NAME} here or at the repository's root; name the file to check");
    };
    match PolicyDocument::load(&path) {
        Ok(document) => {
            let file = &document.file;
            let perimeter = file.perimeter.as_ref().map(|p| p.get_ref());
            let count =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let summary = match perimeter {
                Some(p) => format!(
                    "a perimeter of {}, {}, {} and {}",
                    count(p.images.len(), "image rule"),
                    count(p.hosts.len(), "host rule"),
                    count(p.remotes.len(), "remote rule"),
                    count(p.deny.len(), "denial")
                ),
                None => "no perimeter".to_string(),
            };
            write_stdout(&format!(
                "{}: valid: {summary}; {}; {}\n",
                document.shown,
                count(file.scopes.len(), "scope"),
                count(file.images.rules.len(), "image signature rule")
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(PolicyError::Invalid { path, problems }) => {
            let mut out = String::new();
            for problem in &problems {
                out.push_str(&format!("{path}:{problem}\n"));
            }
            out.push_str(&format!(
                "{path}: {} problem{}\n",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ));
            write_stdout(&out)?;
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}

fn lock(args: LockArgs) -> Result<ExitCode> {
    let input = ScanInput {
        configs: config_paths(&args.paths, &args.tools),
        captures: args.tools.clone(),
        supply: supply_input(&args.supply),
        capture: capture_options(&args.capture, args.jobs),
        policy: args.policy.file.clone(),
        ..ScanInput::default()
    };
    let outcome = engine_pool(args.jobs)?.install(|| {
        mcp_audit::approve::lock(&input, args.lockfile.as_deref(), args.update.as_deref())
    })?;
    if !outcome.changes.is_empty() {
        let report = ScanReport {
            servers: &[],
            findings: &outcome.changes,
            rules: &outcome.rules,
        };
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        write_stdout(&report::render(report::Format::Text, &report, color))?;
    }
    let path = outcome.path.display();
    for (server, reasons) in &outcome.failed {
        let why: Vec<String> = reasons.iter().map(|f| f.message.clone()).collect();
        let why = if why.is_empty() {
            "it was not captured".to_string()
        } else {
            why.join("; ")
        };
        eprintln!(
            "mcp-audit: error: {} was not locked, its old entry (if any) stays: {why}",
            make_visible(server)
        );
    }
    let named = |what: &str, names: &[String]| {
        (!names.is_empty()).then(|| {
            let names: Vec<String> = names.iter().map(|n| make_visible(n)).collect();
            format!("{what} {}", names.join(", "))
        })
    };
    let summary: Vec<String> = [
        named("added", &outcome.added),
        named("re-approved", &outcome.updated),
        named("dropped", &outcome.removed),
    ]
    .into_iter()
    .flatten()
    .collect();
    let state = if outcome.written {
        "wrote"
    } else {
        "unchanged:"
    };
    match summary.is_empty() {
        true => eprintln!("mcp-audit: {state} {path}"),
        false => eprintln!("mcp-audit: {state} {path} ({})", summary.join("; ")),
    }
    let serious = outcome
        .findings
        .iter()
        .filter(|f| f.severity >= mcp_audit::finding::Severity::High)
        .count();
    if serious > 0 {
        eprintln!(
            "mcp-audit: warning: the scan found {serious} finding(s) of high severity or above; `mcp-audit scan` shows them; review before you trust this lock"
        );
    }
    if !outcome.refused.is_empty() {
        let names: Vec<String> = outcome.refused.iter().map(|n| make_visible(n)).collect();
        eprintln!(
            "mcp-audit: {} changed since locked and kept their old entries; review the diffs above and run `mcp-audit lock --update {}`",
            names.join(", "),
            names.join(" ")
        );
    }
    Ok(if outcome.refused.is_empty() && outcome.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn capture_options(args: &CaptureArgs, jobs: Option<usize>) -> CaptureOptions {
    CaptureOptions {
        runtime: args.runtime,
        bounds: Bounds {
            timeout: Duration::from_secs(args.timeout),
            ..Bounds::default()
        },
        client: ClientIdentity {
            name: args.client_name.clone(),
            version: args.client_version.clone(),
        },
        jobs,
        name_prefix: args.container_prefix.clone(),
        progress: std::io::stderr().is_terminal().then(terminal_progress),
    }
}

/// One line on the terminal, redrawn at each server's start and end, gone when all are done.
fn terminal_progress() -> ProgressSink {
    let running: Mutex<Vec<String>> = Mutex::new(Vec::new());
    ProgressSink(Arc::new(move |progress: &Progress<'_>| {
        let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
        let name = make_visible(progress.server);
        match progress.captured {
            None => running.push(name),
            Some(_) => running.retain(|n| *n != name),
        }
        let mut stderr = std::io::stderr().lock();
        if progress.done == progress.total {
            let _ = write!(stderr, "\r\x1b[2K");
        } else {
            let _ = write!(
                stderr,
                "\r\x1b[2Kmcp-audit: capturing {}/{}: {}",
                progress.done,
                progress.total,
                running.join(", ")
            );
        }
        let _ = stderr.flush();
    }))
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}
