//! Capabilities and annotations: the lexicon's examples, the annotation rules on lying and honest
//! fixtures (fixtures/annotations/), and the family's false positives on the real servers' tools
//! of the evaluation corpus (`../shared/corpus`, or where `MCP_AUDIT_CORPUS` points).

mod evaluation;

use mcp_audit::capture::Capture;
use mcp_audit::finding::{Category, Finding, Severity};
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::capabilities::{BUILTIN, LEXICON_FILE, Lexicon, RULE_IDS, audit_annotations};
use mcp_audit::scan::{ScanInput, scan};
use serde_json::{Value, json};
use std::path::PathBuf;

fn rules() -> RuleSet {
    RuleSet::load(&[]).expect("built-in rules load")
}

/// A lexicon example: a bare name, or a whole tool.
fn example_tool(example: &Value) -> Value {
    match example {
        Value::String(name) => json!({"name": name}),
        tool => tool.clone(),
    }
}

#[test]
fn lexicon_examples_hold() {
    let lexicon = Lexicon::parse(LEXICON_FILE.1).expect("the lexicon parses");
    let mut failures = Vec::new();
    for entry in lexicon.entries() {
        for example in &entry.examples.must_match {
            let found = lexicon.infer(&example_tool(example));
            if !found.iter().any(|c| c.capability == entry.name) {
                failures.push(format!("{}: should match {example}", entry.name));
            }
        }
        for example in &entry.examples.must_not_match {
            let found = lexicon.infer(&example_tool(example));
            if found.iter().any(|c| c.capability == entry.name) {
                failures.push(format!("{}: should not match {example}", entry.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(lexicon.entries().count() >= 11);
}

#[test]
fn every_rule_id_is_documented() {
    let rules = rules();
    for id in RULE_IDS {
        assert!(
            rules.get(id).is_some(),
            "{id} is not in rules/annotations.yaml"
        );
    }
}

fn scan_fixture(name: &str) -> Vec<Finding> {
    let input = ScanInput {
        captures: vec![PathBuf::from(format!("fixtures/annotations/{name}.json"))],
        offline: true,
        ..ScanInput::default()
    };
    let outcome = scan(&input).expect("the fixture scans");
    outcome
        .findings
        .into_iter()
        .filter(|f| f.category == Category::Annotations)
        .collect()
}

#[test]
fn every_lying_tool_gets_medium_or_above() {
    let findings = scan_fixture("lying");
    let text = std::fs::read_to_string("fixtures/annotations/lying.json").expect("fixture");
    let tools: Value = serde_json::from_str(&text).expect("fixture is JSON");
    for tool in tools["tools"].as_array().expect("tools") {
        let name = tool["name"].as_str().expect("name");
        assert!(
            findings
                .iter()
                .any(|f| f.tool.as_deref() == Some(name) && f.severity >= Severity::Medium),
            "{name} lies and got no finding of medium or above: {findings:#?}"
        );
    }
    let rules_fired: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.rule_id.as_str()).collect();
    for id in ["MCP601", "MCP602", "MCP603"] {
        assert!(rules_fired.contains(id), "{id} never fired: {findings:#?}");
    }
}

#[test]
fn honest_tools_stay_below_medium() {
    let findings = scan_fixture("honest");
    let loud: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    // A command runner that declares nothing is a best practice missed, and only that.
    assert!(
        findings
            .iter()
            .any(|f| f.rule_id == "MCP604" && f.tool.as_deref() == Some("execute_command"))
    );
}

#[test]
fn contradicting_hints_are_low() {
    let capture = Capture {
        server: "s".to_string(),
        source: PathBuf::from("s.json"),
        tools: vec![json!({"name": "get_status",
            "annotations": {"readOnlyHint": true, "destructiveHint": true}})],
        ..Capture::default()
    };
    let findings = audit_annotations(&[capture], &rules(), &BUILTIN);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].rule_id, "MCP605");
    assert_eq!(findings[0].severity, Severity::Low);
}

#[test]
fn reports_carry_capabilities_and_annotations() {
    let input = ScanInput {
        captures: vec![PathBuf::from("fixtures/annotations/honest.json")],
        offline: true,
        ..ScanInput::default()
    };
    let outcome = scan(&input).expect("the fixture scans");
    let server = &outcome.servers[0];
    let union = server.capabilities.as_ref().expect("a union");
    for capability in ["file-read", "delete", "exec", "network"] {
        assert!(union.iter().any(|c| c == capability), "{union:?}");
    }
    let json = serde_json::to_value(server).expect("serialises");
    let read = &json["tools"][0];
    assert_eq!(read["name"], "read_file");
    assert_eq!(read["capabilities"][0]["capability"], "file-read");
    assert_eq!(read["capabilities"][0]["evidence"][0]["source"], "name");
    assert_eq!(read["annotations"]["readOnlyHint"], true);
}

/// The family's false positives on real servers' tools: a benign record counts when a finding
/// of medium or above from this family names it. Every one printed is judged in the README.
#[test]
fn corpus_false_positives() {
    let rules = rules();
    let benign = evaluation::records("benign.jsonl");
    assert!(benign.len() > 300, "corpus looks truncated");
    let mut annotated = 0;
    let mut loud = Vec::new();
    let mut by_rule = std::collections::BTreeMap::<String, usize>::new();
    for record in &benign {
        if record["tool"].get("annotations").is_some() {
            annotated += 1;
        }
        let capture = Capture {
            server: "record".to_string(),
            source: PathBuf::from("record.json"),
            tools: vec![record["tool"].clone()],
            ..Capture::default()
        };
        for finding in audit_annotations(&[capture], &rules, &BUILTIN) {
            *by_rule.entry(finding.rule_id.clone()).or_default() += 1;
            if finding.severity >= Severity::Medium {
                loud.push(format!(
                    "{} {} {}: {}",
                    record["id"].as_str().unwrap_or("?"),
                    finding.rule_id,
                    finding.message,
                    finding.evidence
                ));
            }
        }
    }
    println!(
        "annotations: {} of {} benign tools ({annotated} annotated) flagged medium or above",
        loud.len(),
        benign.len()
    );
    println!("findings of any severity, by rule: {by_rule:?}");
    for line in &loud {
        println!("  {line}");
    }
    assert!(loud.is_empty(), "false positives: {loud:#?}");
}

/// The capability table of the thirteen real npm servers the capture tests run
/// (fixtures/npm-servers/servers.tsv), from their tools as the corpus recorded them.
#[test]
fn capability_table_of_the_real_servers() {
    use mcp_audit::report::{Format, ScanReport, ServerSummary, render};
    use mcp_audit::rules::capabilities::{profile_tools, union};
    let list = std::fs::read_to_string("fixtures/npm-servers/servers.tsv").expect("server list");
    let benign = evaluation::records("benign.jsonl");
    let mut servers = Vec::new();
    for name in list
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
    {
        let package = format!("npm:@modelcontextprotocol/server-{name}@");
        let tools: Vec<Value> = benign
            .iter()
            .filter(|r| {
                r["source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&package))
            })
            .map(|r| r["tool"].clone())
            .collect();
        assert!(!tools.is_empty(), "no tools of {name} in the corpus");
        let profiles = profile_tools(&tools);
        servers.push(ServerSummary {
            name: name.to_string(),
            capabilities: Some(union(&profiles)),
            tools: profiles,
            ..ServerSummary::default()
        });
    }
    assert_eq!(servers.len(), 13);
    let rules = rules();
    let report = ScanReport {
        servers: &servers,
        findings: &[],
        rules: &rules,
    };
    let markdown = render(Format::Markdown, &report, false);
    let table = markdown
        .split("## Capabilities\n")
        .nth(1)
        .expect("a capabilities section");
    insta::assert_snapshot!(table);
}
