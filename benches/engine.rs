//! Times the rule engine on the evaluation corpus (every tool of `../shared/corpus`, or of
//! `MCP_AUDIT_CORPUS`, repeated to a few thousand tools): rule compilation, a scan on one core
//! and on all cores, and as a baseline from the same run, the same texts matched rule by rule
//! with one regex at a time. Prints medians; asserts nothing. Run: `cargo bench --bench engine`.

use mcp_audit::capture::Capture;
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
use mcp_audit::rules::matcher::compile_regex;
use mcp_audit::rules::normalize::normalize;
use mcp_audit::rules::text::capture_texts;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 7;
const TARGET_TOOLS: usize = 5000;

fn corpus_tools() -> Vec<Value> {
    let dir = std::env::var_os("MCP_AUDIT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut tools = Vec::new();
    for name in ["benign.jsonl", "malicious.jsonl", "rugpull.jsonl"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line).expect("corpus lines are JSON");
            for key in ["tool", "before", "after"] {
                if record[key].is_object() {
                    tools.push(record[key].clone());
                }
            }
        }
    }
    tools
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(mut work: impl FnMut()) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let distinct = corpus_tools();
    let copies = TARGET_TOOLS.div_ceil(distinct.len());
    let tools: Vec<Value> = std::iter::repeat_n(&distinct, copies)
        .flatten()
        .cloned()
        .collect();
    // One capture per 20 tools, like a session of real servers.
    let captures: Vec<Capture> = tools
        .chunks(20)
        .enumerate()
        .map(|(i, chunk)| Capture {
            server: format!("server-{i}"),
            source: PathBuf::from(format!("server-{i}.json")),
            tools: chunk.to_vec(),
            ..Capture::default()
        })
        .collect();
    let bytes: usize = captures
        .iter()
        .flat_map(capture_texts)
        .map(|t| t.value.len())
        .sum();
    let rules = RuleSet::load(&[]).expect("built-in rules load");

    let compile = time(|| {
        Engine::new(&rules).expect("rules compile");
    });
    let engine = Engine::new(&rules).expect("rules compile");
    let mut scans = Vec::new();
    for threads in [1, 0] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let elapsed = time(|| {
            pool.install(|| engine.scan(&captures));
        });
        scans.push((pool.current_num_threads(), elapsed));
    }

    // Baseline: every regex of every rule run on its own over every normalised text.
    let regexes: Vec<regex::bytes::Regex> = rules
        .iter()
        .filter_map(|r| r.pattern.as_ref())
        .flat_map(|spec| spec.all.iter().chain(&spec.unless))
        .flat_map(|group| &group.regex)
        .map(|p| compile_regex(p).expect("rule regexes compile"))
        .collect();
    let texts: Vec<String> = captures
        .iter()
        .flat_map(capture_texts)
        .map(|t| t.value)
        .collect();
    let baseline = time(|| {
        let mut hits = 0usize;
        for text in &texts {
            let normalized = normalize(text);
            hits += regexes
                .iter()
                .filter(|r| r.is_match(normalized.as_bytes()))
                .count();
        }
        std::hint::black_box(hits);
    });

    let mb = bytes as f64 / 1e6;
    println!(
        "corpus: {} tools ({} distinct x {copies}), {} servers, {:.2} MB of text, {} rules",
        tools.len(),
        distinct.len(),
        captures.len(),
        mb,
        engine.rule_count()
    );
    println!(
        "compile rules: median {:.1} ms",
        compile.as_secs_f64() * 1e3
    );
    for (threads, elapsed) in &scans {
        let secs = elapsed.as_secs_f64();
        println!(
            "scan on {threads} thread(s): median {:.1} ms, {:.0} tools/s, {:.1} MB/s",
            secs * 1e3,
            tools.len() as f64 / secs,
            mb / secs
        );
    }
    let one_core = scans[0].1.as_secs_f64();
    println!(
        "baseline (one regex at a time, one thread, no decoding): median {:.1} ms, {:.0} tools/s; engine on one thread is {:.1}x faster",
        baseline.as_secs_f64() * 1e3,
        tools.len() as f64 / baseline.as_secs_f64(),
        baseline.as_secs_f64() / one_core
    );
}
