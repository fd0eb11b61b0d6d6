//! Detection on text the rules were not written from: attack sets written for this project by
//! authors who never saw the rules (one of them held out from the rule writers as well), and the
//! captures of real servers nobody read while writing rules. Prints recall per technique and the
//! false alarms; fails when a set falls under its floor.

use mcp_audit::capture::{Capture, capture_from_value};
use mcp_audit::finding::{Category, Severity};
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("evaluation set exists");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("evaluation lines are JSON"))
        .collect()
}

fn capture_of(record: &Value) -> Capture {
    let value = match record.get("capture") {
        Some(capture) => capture.clone(),
        None => serde_json::json!({"tools": [record["tool"].clone()]}),
    };
    capture_from_value(value, "record", Path::new("record.json")).expect("a capture")
}

/// Whether a single-server rule raises medium or above (shadowing needs other servers).
fn flagged(engine: &Engine, capture: Capture) -> bool {
    engine
        .scan(&[capture])
        .iter()
        .any(|f| f.severity >= Severity::Medium && f.category != Category::Shadowing)
}

/// (recall, false-positive rate) of one author's set, printed per technique.
fn score(engine: &Engine, set: &str) -> (f64, f64) {
    let dir = fixtures().join("evaluation").join(set);
    let attacks = lines(&dir.join("attacks.jsonl"));
    let honest = lines(&dir.join("honest.jsonl"));
    let mut by_technique = BTreeMap::<String, (usize, usize)>::new();
    let mut missed = Vec::new();
    for record in &attacks {
        let technique = record["technique"].as_str().unwrap_or("?").to_string();
        let caught = flagged(engine, capture_of(record));
        let entry = by_technique.entry(technique).or_default();
        entry.1 += 1;
        if caught {
            entry.0 += 1;
        } else {
            missed.push(record["id"].as_str().unwrap_or("?").to_string());
        }
    }
    let false_alarms: Vec<&str> = honest
        .iter()
        .filter(|r| flagged(engine, capture_of(r)))
        .map(|r| r["id"].as_str().unwrap_or("?"))
        .collect();
    let recall = 1.0 - missed.len() as f64 / attacks.len() as f64;
    let fp_rate = false_alarms.len() as f64 / honest.len() as f64;
    println!(
        "{set}: recall {}/{} = {recall:.3}; false positives {}/{} = {fp_rate:.3}",
        attacks.len() - missed.len(),
        attacks.len(),
        false_alarms.len(),
        honest.len()
    );
    for (technique, (caught, total)) in by_technique {
        println!("  {technique}: {caught}/{total}");
    }
    println!("  missed: {missed:?}\n  false positives: {false_alarms:?}");
    (recall, fp_rate)
}

fn engine() -> Engine {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    Engine::new(&rules).expect("built-in rules compile")
}

#[test]
fn attacks_written_by_others_are_caught_and_their_look_alikes_are_not() {
    let engine = engine();
    // Floors a little under today's figures: a change that loses detection fails here. The
    // held-out set's floor is lower because no rule was written from it.
    let floors = [
        ("authored-a", 0.88, 0.03),
        ("authored-b", 0.69, 0.045),
        ("authored-c", 0.70, 0.05),
        ("authored-d", 0.45, 0.03),
        ("authored-e", 0.66, 0.03),
    ];
    for (set, min_recall, max_fp) in floors {
        let (recall, fp_rate) = score(&engine, set);
        assert!(
            recall >= min_recall,
            "{set}: recall {recall:.3} under {min_recall}"
        );
        assert!(
            fp_rate <= max_fp,
            "{set}: false positives {fp_rate:.3} over {max_fp}"
        );
    }
}

#[test]
fn real_servers_nobody_read_stay_quiet() {
    let engine = engine();
    let dir = fixtures().join("honest-servers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/honest-servers exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 70, "only {} captures", files.len());
    let (mut tools, mut flagged_tools) = (0, 0);
    for file in &files {
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("capture reads"))
                .expect("capture is JSON");
        let server = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let capture = capture_from_value(value, server, file).expect("a capture");
        tools += capture.tools.len();
        let mut noisy: Vec<String> = engine
            .scan(&[capture])
            .into_iter()
            .filter(|f| f.severity >= Severity::Medium && f.category != Category::Shadowing)
            .map(|f| format!("{}/{} {}", server, f.tool.unwrap_or_default(), f.rule_id))
            .collect();
        noisy.sort();
        noisy.dedup();
        let distinct_tools: std::collections::BTreeSet<&str> = noisy
            .iter()
            .map(|n| n.split(' ').next().unwrap_or(""))
            .collect();
        flagged_tools += distinct_tools.len();
        for line in &noisy {
            println!("false alarm: {line}");
        }
    }
    let rate = flagged_tools as f64 / tools as f64;
    println!(
        "{} real servers, {tools} tools: {flagged_tools} flagged by text rules ({rate:.4})",
        files.len()
    );
    assert!(tools > 2000, "only {tools} tools read");
    assert!(rate <= 0.01, "{rate:.4} of honest tools flagged, over 0.01");
}
