//! Shadowing detection on the evaluation corpus, measured on sessions built from it. Each
//! imitating record (name collision, function overlapping, cross-tool shadowing, preference
//! manipulation) is put in a session with the honest server it imitates or targets; it counts
//! as caught when a shadowing or poisoning finding of medium or above names it. Every pair of
//! real servers from different publishers makes an honest session, which counts as clean when
//! no shadowing finding of medium or above is raised other than an exact name clash (MCP201).
//! The corpus lives beside the repository (`../shared/corpus`) or where `MCP_AUDIT_CORPUS`
//! points.

mod evaluation;

use evaluation::records;
use mcp_audit::capture::Capture;
use mcp_audit::finding::{Category, Finding, Severity};
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
use mcp_audit::rules::shadowing::{TOOL_NAME_CLASH, audit_session};
use regex::Regex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Techniques whose records imitate or target another server's tools.
const IMITATING: &[&str] = &[
    "name-collision",
    "function-overlapping",
    "cross-tool-shadowing",
    "preference-manipulation",
];
const IMITATOR: &str = "imitator";

fn text<'a>(record: &'a Value, key: &str) -> &'a str {
    record[key].as_str().unwrap_or("")
}

/// A server name as words, without the generic ones: `mcp-server/google-maps` and
/// `google_maps` are both `google maps`.
fn server_words(name: &str) -> BTreeSet<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !["mcp", "server", "servers", "example"].contains(w))
        .map(str::to_string)
        .collect()
}

/// Who published a real server: the npm scope, else the package or catalogue entry.
fn publisher(source: &str) -> String {
    let package = source.split_whitespace().next().unwrap_or(source);
    if let Some(npm) = package.strip_prefix("npm:") {
        let name = npm.trim_start_matches('@');
        return match npm.starts_with('@') {
            true => name.split('/').next().unwrap_or(name).to_string(),
            false => name.split('@').next().unwrap_or(name).to_string(),
        };
    }
    if let Some(pypi) = package.strip_prefix("pypi:") {
        return pypi.split("==").next().unwrap_or(pypi).to_string();
    }
    package.split(':').nth(1).unwrap_or(package).to_string()
}

/// The benign tools of each real server, a tool listed twice kept once.
fn benign_servers(benign: &[Value]) -> BTreeMap<String, (String, Vec<Value>)> {
    let mut servers: BTreeMap<String, (String, Vec<Value>)> = BTreeMap::new();
    for record in benign {
        let entry = servers
            .entry(text(record, "server").to_string())
            .or_insert_with(|| (publisher(text(record, "source")), Vec::new()));
        let name = &record["tool"]["name"];
        if !entry.1.iter().any(|t| &t["name"] == name) {
            entry.1.push(record["tool"].clone());
        }
    }
    servers
}

/// Tool names the records of one benchmark server name as that server's tools: "the X tool",
/// "using X tool", "call x_y", "x_y tool", "X operation", "legitimate 'X'".
fn named_tools(texts: &[&str]) -> BTreeSet<String> {
    let patterns = [
        r"(?i)\b(?:the|using|legitimate)\s+'?([a-z][\w.-]*)'?\s+(?:tool|function)\b",
        r"\bcall\s+([a-z]+(?:_[a-z]+)+)\b",
        r"\b([a-z]+(?:_[a-z]+)+)\s+tool\b",
        r"\bexecute\s+([a-z]+)\s+operation\b",
    ];
    let mut names = BTreeSet::new();
    for pattern in patterns {
        let regex = Regex::new(pattern).expect("test patterns compile");
        for text in texts {
            for captures in regex.captures_iter(text) {
                names.insert(captures[1].to_string());
            }
        }
    }
    names
}

fn capture(server: &str, tools: Vec<Value>) -> Capture {
    Capture {
        server: server.to_string(),
        source: PathBuf::from(format!("{server}.json")),
        tools,
        ..Capture::default()
    }
}

/// The honest server a record imitates or targets: the real server of the same name when the
/// corpus has it, plus the tools the benchmark's records of that server name.
fn honest_counterpart(
    record: &Value,
    malicious: &[Value],
    benign: &BTreeMap<String, (String, Vec<Value>)>,
) -> Capture {
    let server = text(record, "server");
    let wanted = server_words(server);
    let real = benign.iter().find(|(name, _)| server_words(name) == wanted);
    let mut tools = real
        .map(|(_, (_, tools))| tools.clone())
        .unwrap_or_default();
    let texts: Vec<&str> = malicious
        .iter()
        .filter(|r| text(r, "server") == server)
        .flat_map(|r| {
            [
                r["tool"]["description"].as_str().unwrap_or(""),
                text(r, "notes"),
            ]
        })
        .collect();
    let own = record["tool"]["name"].as_str().unwrap_or("");
    for name in named_tools(&texts) {
        let known = tools.iter().any(|t| t["name"] == name.as_str());
        if !known && (name != own || text(record, "technique") == "name-collision") {
            tools.push(json!({"name": name, "inputSchema": {"type": "object"}}));
        }
    }
    let name = real.map_or(server, |(name, _)| name.as_str());
    capture(name, tools)
}

fn at_least_medium(finding: &Finding) -> bool {
    finding.severity >= Severity::Medium
}

#[test]
fn shadowing_catches_imitators_and_stays_quiet_on_honest_pairs() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let engine = Engine::new(&rules).expect("built-in rules compile");
    let malicious = records("malicious.jsonl");
    let benign = benign_servers(&records("benign.jsonl"));
    let imitators: Vec<&Value> = malicious
        .iter()
        .filter(|r| IMITATING.contains(&text(r, "technique")))
        .collect();
    assert!(
        imitators.len() >= 40 && benign.len() >= 30,
        "corpus looks truncated"
    );

    let mut missed = Vec::new();
    let mut by_shadowing = 0;
    for record in &imitators {
        let name = record["tool"]["name"].as_str().unwrap_or("");
        let suspect = capture(IMITATOR, vec![record["tool"].clone()]);
        let session = vec![honest_counterpart(record, &malicious, &benign), suspect];
        let mut findings = engine.scan(&session[1..]);
        findings.extend(audit_session(&session, &rules));
        let caught = findings.iter().any(|f| {
            at_least_medium(f)
                && f.server == IMITATOR
                && f.tool.as_deref() == Some(name)
                && matches!(f.category, Category::Shadowing | Category::Poisoning)
        });
        if !caught {
            missed.push(text(record, "id"));
        }
        by_shadowing += usize::from(findings.iter().any(|f| {
            at_least_medium(f) && f.server == IMITATOR && f.category == Category::Shadowing
        }));
    }

    let names: Vec<&String> = benign.keys().collect();
    let mut sessions = 0;
    let mut noisy = Vec::new();
    let mut same_publisher_noisy = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (publisher_a, tools_a) = &benign[*a];
            let (publisher_b, tools_b) = &benign[*b];
            let same_publisher = publisher_a == publisher_b;
            sessions += usize::from(!same_publisher);
            let session = vec![capture(a, tools_a.clone()), capture(b, tools_b.clone())];
            let raised: Vec<String> = audit_session(&session, &rules)
                .iter()
                .filter(|f| at_least_medium(f) && f.rule_id != TOOL_NAME_CLASH)
                .map(|f| {
                    format!(
                        "{} {}/{}: {}",
                        f.rule_id,
                        f.server,
                        f.tool.as_deref().unwrap_or("-"),
                        f.message
                    )
                })
                .collect();
            if !raised.is_empty() {
                let list = match same_publisher {
                    true => &mut same_publisher_noisy,
                    false => &mut noisy,
                };
                list.push(format!("{a} + {b}: {raised:?}"));
            }
        }
    }

    let caught = imitators.len() - missed.len();
    let recall = caught as f64 / imitators.len() as f64;
    let clean = sessions - noisy.len();
    let clean_rate = clean as f64 / sessions as f64;
    println!(
        "shadowing corpus: imitators flagged {caught}/{} = {recall:.3}; honest two-server sessions clean {clean}/{sessions} = {clean_rate:.3}",
        imitators.len()
    );
    println!(
        "imitators flagged by a shadowing rule alone: {by_shadowing}/{}",
        imitators.len()
    );
    println!("missed: {missed:?}");
    println!(
        "pairs of one publisher's servers (not counted) with a finding: {}",
        same_publisher_noisy.len()
    );
    for session in &same_publisher_noisy {
        println!("same publisher: {session}");
    }
    for session in &noisy {
        println!("noisy: {session}");
    }
    assert!(recall >= 0.90, "imitators flagged {recall:.3}, below 0.90");
    assert!(
        clean_rate >= 0.95,
        "honest sessions clean {clean_rate:.3}, below 0.95"
    );
}

#[test]
fn publishers_are_told_by_scope_package_or_catalogue_entry() {
    assert_eq!(
        publisher("npm:@modelcontextprotocol/server-github@2025.4.8 (tools/list)"),
        "modelcontextprotocol"
    );
    assert_eq!(
        publisher("npm:tavily-mcp@0.2.22 (tools/list)"),
        "tavily-mcp"
    );
    assert_eq!(
        publisher("pypi:mcp-server-git==2026.10.19 (tools/list)"),
        "mcp-server-git"
    );
    assert_eq!(
        publisher("docker/mcp-registry@818bf16:servers/neo4j/tools.json"),
        "servers/neo4j/tools.json"
    );
}
