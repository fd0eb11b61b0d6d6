//! Reports: the findings of a run written as text, JSON, SARIF or Markdown. Writers only
//! format; they never filter, re-rank or invent findings.

pub(crate) mod json;
mod markdown;
mod sarif;
mod text;

use crate::finding::{Finding, Severity};
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
    /// Each tool: its name, its inferred capabilities with their evidence, and the
    /// annotations it declares; empty when nothing was captured.
    pub tools: Vec<crate::rules::capabilities::ToolProfile>,
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
    /// The container image as the config writes it, when the registry stage looked at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The digest of the manifest that runs, checked by hashing what the registry served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The platform picked from an index (`linux/amd64`); absent for a single-platform image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Whether a cosign signature checked out, its kind, its signer, and why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::registry::SignatureOutcome>,
    /// What a container server offered when it was captured: protocol version, serverInfo,
    /// capabilities, instructions, tools, prompts, resources and templates.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::capture::Capture::serialize_offer"
    )]
    pub capture: Option<crate::capture::Capture>,
    /// The union of its tools' inferred capabilities, in lexicon order, when its tools are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Each prompt's inferred capabilities, when the server offers prompts; not in the union,
    /// since a prompt does nothing by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_capabilities: Option<Vec<crate::rules::capabilities::ToolProfile>>,
}

/// Everything a report needs: the servers, the findings in report order, and the rules
/// (for names, summaries and help).
pub struct ScanReport<'a> {
    pub servers: &'a [ServerSummary],
    pub findings: &'a [Finding],
    pub rules: &'a RuleSet,
}

/// Lines of a message's detail shown in text and Markdown; JSON and SARIF carry them all.
const DETAIL_MAX_LINES: usize = 60;

/// A message's first line, and the rest (a diff, a definition) line by line, invisible
/// characters shown and long lines and long details cut.
fn split_message(message: &str) -> (&str, Vec<String>) {
    let (headline, rest) = message.split_once('\n').unwrap_or((message, ""));
    let headline = headline.strip_suffix(':').unwrap_or(headline);
    let lines: Vec<&str> = rest.lines().collect();
    let mut detail: Vec<String> = lines
        .iter()
        .take(DETAIL_MAX_LINES)
        .map(|line| crate::finding::make_visible(line))
        .collect();
    if lines.len() > DETAIL_MAX_LINES {
        detail.push(format!(
            "… {} more lines in the JSON report",
            lines.len() - DETAIL_MAX_LINES
        ));
    }
    (headline, detail)
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

/// Findings of one tool (`None`: of the server itself), in report order.
pub(crate) struct ToolGroup<'a> {
    pub tool: Option<&'a str>,
    pub findings: Vec<&'a Finding>,
}

/// Findings of one server, tool by tool.
pub(crate) struct ServerGroup<'a> {
    pub server: &'a str,
    pub tools: Vec<ToolGroup<'a>>,
}

impl<'a> ScanReport<'a> {
    /// The findings grouped by server, then by tool. Findings arrive in report order, so a
    /// group is a run of neighbours; the order is kept, not re-sorted.
    pub(crate) fn by_server_and_tool(&self) -> Vec<ServerGroup<'a>> {
        let mut servers: Vec<ServerGroup<'a>> = Vec::new();
        for finding in self.findings {
            let tool = finding.tool.as_deref();
            match servers.last_mut() {
                Some(group) if group.server == finding.server => match group.tools.last_mut() {
                    Some(last) if last.tool == tool => last.findings.push(finding),
                    _ => group.tools.push(ToolGroup {
                        tool,
                        findings: vec![finding],
                    }),
                },
                _ => servers.push(ServerGroup {
                    server: &finding.server,
                    tools: vec![ToolGroup {
                        tool,
                        findings: vec![finding],
                    }],
                }),
            }
        }
        servers
    }

    /// How many findings have `severity`.
    pub(crate) fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// One line for the end of a report: what was scanned and what was found, most severe
    /// first, e.g. `2 servers, 5 tools scanned: 0 critical, 1 high, 0 medium, 0 low, 0 info`.
    pub(crate) fn summary_line(&self) -> String {
        let servers = self.servers.len();
        let tools: usize = self.servers.iter().map(|s| s.tools.len()).sum();
        let scanned = format!(
            "{servers} server{}, {tools} tool{} scanned",
            plural(servers),
            plural(tools)
        );
        if self.findings.is_empty() {
            return format!("{scanned}: no findings");
        }
        let counts: Vec<String> = SEVERITIES_DESCENDING
            .iter()
            .map(|&severity| format!("{} {severity}", self.count(severity)))
            .collect();
        format!("{scanned}: {}", counts.join(", "))
    }
}

/// The servers whose image the registry stage looked at, in report order.
pub(crate) fn image_servers<'a>(report: &ScanReport<'a>) -> Vec<&'a ServerSummary> {
    report
        .servers
        .iter()
        .filter(|s| s.image.is_some())
        .collect()
}

/// A signature outcome in words: `verified (key: cosign.pub)`, `not verified: no signature
/// found`.
pub(crate) fn describe_signature(signature: Option<&crate::registry::SignatureOutcome>) -> String {
    let Some(signature) = signature else {
        return "not checked".to_string();
    };
    let kind = signature.kind.map(|k| match k {
        crate::registry::SignatureKind::Key => "key",
        crate::registry::SignatureKind::Keyless => "keyless",
    });
    let mut text = if signature.verified {
        "verified".to_string()
    } else {
        "not verified".to_string()
    };
    match (kind, &signature.signer) {
        (Some(kind), Some(signer)) => text.push_str(&format!(" ({kind}: {signer})")),
        (Some(kind), None) => text.push_str(&format!(" ({kind})")),
        _ => {}
    }
    if let Some(error) = &signature.error {
        text.push_str(&format!(": {error}"));
    }
    text
}

/// A server's capabilities in one line: `file-read, delete, exec (annotations on 3 of 5
/// tools)`; `None` when its tools are not known.
pub(crate) fn capability_line(server: &ServerSummary) -> Option<String> {
    let capabilities = server.capabilities.as_ref()?;
    let profiles = &server.tools;
    let declaring = profiles.iter().filter(|p| p.annotations.is_some()).count();
    let list = if capabilities.is_empty() {
        "no capability inferred".to_string()
    } else {
        capabilities.join(", ")
    };
    Some(format!(
        "{list} (annotations on {declaring} of {} tool{})",
        profiles.len(),
        plural(profiles.len())
    ))
}

/// Severities in the order reports list them: the worst first.
pub(crate) const SEVERITIES_DESCENDING: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
