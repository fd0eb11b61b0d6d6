//! Reports: the findings of a run written as text, JSON, SARIF or Markdown. Writers only
//! format; they never filter, re-rank or invent findings.

pub(crate) mod json;
mod markdown;
mod sarif;
mod text;

use crate::finding::Finding;
use crate::rules::RuleSet;
use serde::Serialize;

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Markdown,
}

/// What one server was examined for, as reports list it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerSummary {
    pub name: String,
    /// The file the server came from: a capture file, or the config that declares it.
    pub source: String,
    pub tools: usize,
    pub prompts: usize,
    pub resources: usize,
    pub resource_templates: usize,
    pub has_instructions: bool,
    /// How a server read from a config is started or reached (`docker container mcp/github:1`,
    /// `host npx -y pkg@1.0.0`, `remote https://…`), secrets redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// Where a config declares the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::finding::Location>,
}

/// Everything a report needs: the servers, the findings in report order, and the rules
/// (for names, summaries and help).
pub struct ScanReport<'a> {
    pub servers: &'a [ServerSummary],
    pub findings: &'a [Finding],
    pub rules: &'a RuleSet,
}

/// Render a report. `color` asks for terminal colours where the format has them.
pub fn render(format: Format, report: &ScanReport<'_>, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Markdown => markdown::render(report),
    }
}
