//! The `mcp-audit` binary: parse the command line, run the stages, write the report, and map
//! the outcome to the exit code (0 clean, 1 findings at or above `--fail-on`, 2 failure).

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, RulesCommand, ScanArgs, SupplyArgs};
use mcp_audit::registry::SupplyInput;
use mcp_audit::report::{self, ScanReport};
use mcp_audit::rules::RuleSet;
use mcp_audit::scan::{self, ScanInput};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mcp-audit: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(*args),
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
    // With neither a PATH nor `--tools`, look for configs under the current directory.
    let configs = if args.paths.is_empty() && args.tools.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let input = ScanInput {
        configs,
        captures: args.tools.clone(),
        capture_server: args.server.clone(),
        rule_dirs: args.rules.clone(),
        offline: args.offline,
        supply: supply_input(&args.supply),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the rule engine's threads")?;
    let outcome = pool.install(|| scan::scan(&input))?;
    if !outcome.configs.is_empty() {
        let names: Vec<&str> = outcome.configs.iter().map(|f| f.path.as_str()).collect();
        let plural = if names.len() == 1 { "" } else { "s" };
        eprintln!(
            "mcp-audit: read {} config file{plural}: {}",
            names.len(),
            names.join(", ")
        );
    }
    if let Some(policy) = &outcome.policy {
        eprintln!("mcp-audit: policy {policy}");
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
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => write_stdout(&rendered)?,
    }
    let failed = outcome.findings.iter().any(|f| f.severity >= args.fail_on);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
        policy: args.policy.clone(),
        concurrency: None,
        // A bar only for a person watching: not when piped, not in CI.
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    }
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
