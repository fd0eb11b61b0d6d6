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
    assert!(recall >= 0.85, "recall {recall:.3} is below 0.85");
    assert!(
        fp_rate <= 0.01,
        "false-positive rate {fp_rate:.3} is above 0.01"
    );
}
