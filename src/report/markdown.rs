//! The Markdown report, for a security review or a pull-request comment: summary tables, the
//! findings by server and tool, and the rules that fired. Text from servers is untrusted: it is
//! only ever written escaped or inside a code span, so it cannot inject markup, links or HTML.

use super::{SEVERITIES_DESCENDING, ScanReport};
use crate::finding::{Finding, make_visible};
use std::collections::BTreeSet;
use std::fmt::Write;

pub fn render(report: &ScanReport<'_>) -> String {
    let mut out = String::from("# mcp-audit report\n\n");
    let _ = writeln!(out, "{}.\n", report.summary_line());
    write_summary_tables(&mut out, report);
    write_capabilities(&mut out, report);
    write_images(&mut out, report);
    if report.findings.is_empty() {
        return out;
    }
    out.push_str("## Findings\n");
    for group in report.by_server_and_tool() {
        let _ = writeln!(out, "\n### Server {}\n", code(group.server));
        for tool in &group.tools {
            match tool.tool {
                Some(name) => {
                    let _ = writeln!(out, "#### Tool {}\n", code(name));
                }
                None => out.push_str("#### The server itself\n\n"),
            }
            for finding in &tool.findings {
                write_finding(&mut out, report, finding);
            }
            out.push('\n');
        }
    }
    write_rules(&mut out, report);
    out
}

fn write_summary_tables(out: &mut String, report: &ScanReport<'_>) {
    out.push_str("| Severity | Findings |\n| --- | ---: |\n");
    for severity in SEVERITIES_DESCENDING {
        let _ = writeln!(out, "| {severity} | {} |", report.count(severity));
    }
    out.push('\n');
    if report.servers.is_empty() {
        return;
    }
    out.push_str(
        "| Server | Source | Tools | Prompts | Resources | Templates | Instructions | Findings |\n\
         | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n",
    );
    for server in report.servers {
        let findings = report
            .findings
            .iter()
            .filter(|f| f.server == server.name)
            .count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {findings} |",
            escape(&server.name),
            escape(&server.source),
            server.tools.len(),
            server.prompts,
            server.resources,
            server.resource_templates,
            if server.has_instructions { "yes" } else { "no" },
        );
    }
    out.push('\n');
}

/// One line per server, then servers × capabilities: `✔ declared` when every tool showing the
/// capability declares annotations, `✔ inferred` when some declare nothing.
fn write_capabilities(out: &mut String, report: &ScanReport<'_>) {
    let servers: Vec<&super::ServerSummary> = report
        .servers
        .iter()
        .filter(|s| s.capabilities.is_some())
        .collect();
    if servers.is_empty() {
        return;
    }
    out.push_str("## Capabilities\n\n");
    for server in &servers {
        if let Some(line) = super::capability_line(server) {
            let _ = writeln!(out, "- {}: {}", code(&server.name), escape(&line));
        }
    }
    out.push('\n');
    let columns: Vec<&str> = crate::rules::capabilities::BUILTIN
        .entries()
        .map(|e| e.name.as_str())
        .filter(|c| {
            servers
                .iter()
                .any(|s| s.capabilities.iter().flatten().any(|x| x == c))
        })
        .collect();
    if columns.is_empty() {
        return;
    }
    let _ = writeln!(out, "| Server | {} |", columns.join(" | "));
    let _ = writeln!(out, "| --- |{}", " --- |".repeat(columns.len()));
    for server in &servers {
        let profiles = &server.tools;
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| {
                let showing: Vec<_> = profiles.iter().filter(|p| p.has(c)).collect();
                if showing.is_empty() {
                    ""
                } else if showing.iter().all(|p| p.annotations.is_some()) {
                    "✔ declared"
                } else {
                    "✔ inferred"
                }
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", escape(&server.name), cells.join(" | "));
    }
    out.push('\n');
}

/// The images the registry stage resolved, with their digests and signatures.
fn write_images(out: &mut String, report: &ScanReport<'_>) {
    let servers = super::image_servers(report);
    if servers.is_empty() {
        return;
    }
    out.push_str(
        "| Server | Image | Digest | Platform | Signature |\n| --- | --- | --- | --- | --- |\n",
    );
    for server in servers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&server.name),
            code(server.image.as_deref().unwrap_or_default()),
            server
                .digest
                .as_deref()
                .map_or_else(|| "not resolved".to_string(), code),
            escape(server.platform.as_deref().unwrap_or("")),
            escape(&super::describe_signature(server.signature.as_ref())),
        );
    }
    out.push('\n');
}

/// A list item: severity, rule and message, then where and what, as sub-items.
fn write_finding(out: &mut String, report: &ScanReport<'_>, finding: &Finding) {
    let name = report
        .rules
        .get(&finding.rule_id)
        .map(|rule| format!(" {}", code(&rule.name)))
        .unwrap_or_default();
    let (headline, detail) = super::split_message(&finding.message);
    let _ = writeln!(
        out,
        "- **{}** {}{name}: {}",
        finding.severity,
        escape(&finding.rule_id),
        escape(headline)
    );
    if let Some(location) = &finding.location {
        let _ = writeln!(out, "  - Location: {}", code(&location.to_string()));
    }
    if !finding.field.is_empty() {
        let _ = writeln!(out, "  - Field: {}", code(&finding.field));
    }
    if !finding.evidence.is_empty() {
        let _ = writeln!(out, "  - Evidence: {}", code(&finding.evidence));
    }
    if !detail.is_empty() {
        // Longer than any run of backticks inside, so the detail cannot close the block.
        let longest = detail
            .iter()
            .flat_map(|line| line.split(|c| c != '`'))
            .map(str::len)
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = writeln!(out, "\n  {fence}diff");
        for line in &detail {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "  {fence}");
    }
}

fn write_rules(out: &mut String, report: &ScanReport<'_>) {
    let fired: BTreeSet<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    out.push_str("## Rules\n\n");
    for id in fired {
        match report.rules.get(id) {
            Some(rule) => {
                let _ = writeln!(
                    out,
                    "- **{}** {} ({}, {}): {}",
                    escape(id),
                    code(&rule.name),
                    rule.category.as_str(),
                    rule.severity,
                    escape(&rule.summary)
                );
            }
            None => {
                let _ = writeln!(out, "- **{}**", escape(id));
            }
        }
    }
}

/// Characters that open inline markup, HTML, entities or a table column anywhere in a line.
/// Line-start markup (`#`, `-`, `>`…) needs no escape: escaped text never starts a line.
const INLINE_MARKUP: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&'];

/// Plain text with markup characters backslash-escaped: CommonMark then shows them literally,
/// and a GFM table cell treats `\|` as a pipe, not a column break.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in make_visible(text).chars() {
        if INLINE_MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span that shows `text` exactly, whatever backticks it holds: the fence is one
/// backtick longer than the longest run inside, padded with spaces that CommonMark strips.
fn code(text: &str) -> String {
    let text = make_visible(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let padded = text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']);
    let pad = if padded { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Category, Confidence, FindingSpec, Location, Severity};
    use crate::report::ServerSummary;
    use crate::rules::RuleSet;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(code("line\nbreak"), "`line break`");
    }

    #[test]
    fn escaped_text_cannot_open_markup() {
        assert_eq!(escape("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(
            escape("[a](b) | *c* &amp;"),
            "\\[a\\](b) \\| \\*c\\* \\&amp;"
        );
        assert_eq!(escape("\\|"), "\\\\\\|");
    }

    #[test]
    fn lists_findings_under_their_server_and_tool() {
        let finding = Finding::new(FindingSpec {
            rule_id: "MCP101",
            category: Category::Poisoning,
            severity: Severity::High,
            confidence: Confidence::High,
            server: "demo|x",
            message: "Hidden block".to_string(),
        })
        .tool(Some("add"))
        .field("description")
        .evidence("</IMPORTANT> `rm -rf` | x")
        .location(Some(Location::file("caps/demo.json")));
        let findings = [finding];
        let servers = [ServerSummary {
            name: "demo|x".to_string(),
            source: "caps/demo.json".to_string(),
            tools: crate::rules::capabilities::profile_tools(&[
                serde_json::json!({"name": "get_forecast"}),
            ]),
            prompts: 0,
            resources: 0,
            resource_templates: 0,
            has_instructions: false,
            ..ServerSummary::default()
        }];
        let rules = RuleSet::load(&[]).unwrap();
        let report = ScanReport {
            servers: &servers,
            findings: &findings,
            rules: &rules,
        };
        let text = render(&report);
        assert!(text.contains("| demo\\|x | caps/demo.json | 1 | 0 | 0 | 0 | no | 1 |"));
        assert!(text.contains("### Server `demo|x`\n\n#### Tool `add`\n\n- **high** MCP101"));
        assert!(text.contains("  - Evidence: ``</IMPORTANT> `rm -rf` | x``\n"));
        assert!(text.contains("## Rules\n\n- **MCP101** `hidden-instruction-block` (poisoning"));
    }
}
