//! Techniques beyond the corpus: attacks phrased as other sources phrase them must be flagged
//! (medium or above), and honest descriptions that mention keys, commands, payments or other
//! tools must not be. Each file under `fixtures/techniques/` is one tools/list.

mod cli;

use serde_json::Value;
use std::collections::BTreeMap;

const SERIOUS: &[&str] = &["medium", "high", "critical"];

/// Tool name → the rule ids of its findings at medium or above.
fn serious_findings(file: &str) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let tools: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists")).unwrap();
    let names = tools["tools"]
        .as_array()
        .expect("a tools array")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let out = cli::mcp_audit(&["scan", "--tools", file, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let mut found = BTreeMap::<String, Vec<String>>::new();
    for finding in report["findings"].as_array().expect("findings") {
        if SERIOUS.contains(&finding["severity"].as_str().unwrap_or_default()) {
            found
                .entry(finding["tool"].as_str().unwrap_or_default().to_string())
                .or_default()
                .push(finding["rule_id"].as_str().unwrap_or_default().to_string());
        }
    }
    (names, found)
}

#[test]
fn every_attack_is_flagged() {
    let (names, found) = serious_findings("fixtures/techniques/attacks.json");
    let missed: Vec<&String> = names.iter().filter(|n| !found.contains_key(*n)).collect();
    assert!(missed.is_empty(), "attacks not flagged: {missed:?}");
}

#[test]
fn honest_tools_stay_quiet() {
    let (_, found) = serious_findings("fixtures/techniques/honest.json");
    assert!(found.is_empty(), "honest tools flagged: {found:?}");
}
