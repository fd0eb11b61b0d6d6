//! Techniques beyond the corpus: attacks phrased as other sources phrase them must be flagged
//! (medium or above), and honest descriptions that mention keys, commands, payments or other
//! tools must not be. Each file under `fixtures/techniques/` is one tools/list: `attacks*.json` hold
//! attacks, `honest*.json` honest tools, one file per family of techniques.

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

/// The fixture files whose names start with `prefix`, relative to the crate.
fn fixtures(prefix: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/techniques");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures/techniques exists")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.starts_with(prefix) && name.ends_with(".json"))
        .map(|name| format!("fixtures/techniques/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures/techniques/{prefix}*.json");
    files
}

#[test]
fn every_attack_is_flagged() {
    for file in fixtures("attacks") {
        let (names, found) = serious_findings(&file);
        let missed: Vec<&String> = names.iter().filter(|n| !found.contains_key(*n)).collect();
        assert!(
            missed.is_empty(),
            "attacks of {file} not flagged: {missed:?}"
        );
    }
}

#[test]
fn honest_tools_stay_quiet() {
    for file in fixtures("honest") {
        let (_, found) = serious_findings(&file);
        assert!(
            found.is_empty(),
            "honest tools of {file} flagged: {found:?}"
        );
    }
}
