//! Detection quality on the evaluation corpus: recall on the malicious records a single tool can
//! show, and the false-positive rate on real servers' tools. A record counts as flagged when a
//! finding of severity medium or above names it, as the project is scored. The corpus lives
//! beside the repository (`../shared/corpus`) or where `MCP_AUDIT_CORPUS` points.

mod evaluation;

use evaluation::records;
use mcp_audit::capture::Capture;
use mcp_audit::finding::Severity;
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Techniques that need a second server to see; the shadowing rules' job, not counted here.
const CROSS_SERVER: &[&str] = &["name-collision", "function-overlapping"];

fn flagged(engine: &Engine, record: &Value) -> bool {
    let capture = Capture {
        server: "record".to_string(),
        source: PathBuf::from("record.json"),
        tools: vec![record["tool"].clone()],
        ..Capture::default()
    };
    engine
        .scan(&[capture])
        .iter()
        .any(|f| f.severity >= Severity::Medium)
}

/// Caught and total records per value of `key` (`technique`, or `source` by repository).
fn recall_by(records: &[Value], missed: &[&str], key: &str) -> BTreeMap<String, (usize, usize)> {
    let mut counts = BTreeMap::<String, (usize, usize)>::new();
    for record in records {
        let value = record[key].as_str().unwrap_or("?");
        let name = value.split('@').next().unwrap_or(value).to_string();
        let entry = counts.entry(name).or_default();
        entry.1 += 1;
        if !missed.contains(&record["id"].as_str().unwrap_or("?")) {
            entry.0 += 1;
        }
    }
    counts
}

#[test]
fn corpus_recall_and_false_positive_rate() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let engine = Engine::new(&rules).expect("built-in rules compile");
    let malicious: Vec<Value> = records("malicious.jsonl")
        .into_iter()
        .filter(|r| !CROSS_SERVER.contains(&r["technique"].as_str().unwrap_or("")))
        .collect();
    let benign = records("benign.jsonl");
    assert!(
        malicious.len() > 50 && benign.len() > 300,
        "corpus looks truncated"
    );

    let missed: Vec<&str> = malicious
        .iter()
        .filter(|r| !flagged(&engine, r))
        .map(|r| r["id"].as_str().unwrap_or("?"))
        .collect();
    let false_positives: Vec<&str> = benign
        .iter()
        .filter(|r| flagged(&engine, r))
        .map(|r| r["id"].as_str().unwrap_or("?"))
        .collect();
    let recall = 1.0 - missed.len() as f64 / malicious.len() as f64;
    let fp_rate = false_positives.len() as f64 / benign.len() as f64;
    println!(
        "corpus: recall {}/{} = {recall:.3}; false positives {}/{} = {fp_rate:.3}",
        malicious.len() - missed.len(),
        malicious.len(),
        false_positives.len(),
        benign.len()
    );
    println!("missed: {missed:?}\nfalse positives: {false_positives:?}");
    // The rules' weights and thresholds are written by hand, not fitted, so the figure for a
    // source left out equals its figure here: these lines show how each source and technique
    // fares on its own.
    for key in ["source", "technique"] {
        for (name, (caught, total)) in recall_by(&malicious, &missed, key) {
            println!("  {key} {name}: {caught}/{total}");
        }
    }
    assert!(recall >= 0.85, "recall {recall:.3} is below 0.85");
    assert!(
        fp_rate <= 0.01,
        "false-positive rate {fp_rate:.3} is above 0.01"
    );
}
