//! The `mcp-audit` binary: parse the command line, run the stages, write the report, and map
//! the outcome to the exit code (0 clean, 1 findings at or above `--fail-on`, 2 failure).

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, RulesCommand, ScanArgs};
use mcp_audit::capture::{Capture, read_capture};
use mcp_audit::config::{self, ConfigFile, Server};
use mcp_audit::finding::sort_findings;
use mcp_audit::report::{self, ScanReport, ServerSummary};
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
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
        Command::Scan(args) => scan(args),
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
    let rules = RuleSet::load(&args.rules)?;
    let engine = Engine::new(&rules).context("compiling the rules")?;
    if engine.rule_count() == 0 {
        bail!("no rule reads server texts: refusing to report a scan that examined nothing");
    }
    let configs = read_configs(&args)?;
    let captures: Vec<Capture> = args
        .tools
        .iter()
        .map(|path| read_capture(path, args.server.as_deref()))
        .collect::<Result<_, _>>()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the rule engine's threads")?;
    let mut findings = pool.install(|| engine.scan(&captures));
    findings.extend(config::lint::lint_configs(&configs, &rules));
    sort_findings(&mut findings);
    let mut servers: Vec<ServerSummary> = Vec::new();
    for file in &configs {
        for server in &file.servers {
            servers.push(config_summary(file, server));
        }
    }
    servers.extend(captures.iter().map(summary));
    let report = ScanReport {
        servers: &servers,
        findings: &findings,
        rules: &rules,
    };
    let to_terminal = args.output.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let rendered = report::render(args.output.format, &report, color);
    match &args.output.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => write_stdout(&rendered)?,
    }
    let failed = findings.iter().any(|f| f.severity >= args.fail_on);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The configs the command line names; with neither a PATH nor `--tools`, those under the
/// current directory. Says on standard error which files were read.
fn read_configs(args: &ScanArgs) -> Result<Vec<ConfigFile>> {
    let paths = if args.paths.is_empty() && args.tools.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let configs = config::load_configs(&paths)?;
    if !configs.is_empty() {
        let names: Vec<&str> = configs.iter().map(|file| file.path.as_str()).collect();
        let plural = if configs.len() == 1 { "" } else { "s" };
        eprintln!(
            "mcp-audit: read {} config file{plural}: {}",
            configs.len(),
            names.join(", ")
        );
    }
    Ok(configs)
}

fn summary(capture: &Capture) -> ServerSummary {
    ServerSummary {
        name: capture.server.clone(),
        source: capture.source.display().to_string(),
        tools: capture.tools.len(),
        prompts: capture.prompts.len(),
        resources: capture.resources.len(),
        resource_templates: capture.resource_templates.len(),
        has_instructions: capture.instructions.is_some(),
        launch: None,
        location: None,
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
