//! Times the shadowing audit on synthetic sessions of 10, 100 and 500 servers of 30 tools each,
//! printing the median of several runs. Tools are made from the evaluation corpus's texts (at
//! `../shared/corpus` or `MCP_AUDIT_CORPUS`), reworded per server so that sessions hold the
//! usual mix of unrelated, similar and clashing tools; without the corpus, from the fixtures.

use mcp_audit::capture::Capture;
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::shadowing::audit_session;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SESSIONS: &[usize] = &[10, 100, 500];
const TOOLS_PER_SERVER: usize = 30;
const RUNS: usize = 5;

/// A small deterministic generator, so every run times the same sessions.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// (name, description) of every tool the corpus or the fixtures hold.
fn source_tools() -> Vec<(String, String)> {
    let corpus = std::env::var_os("MCP_AUDIT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut tools = Vec::new();
    for file in ["benign.jsonl", "malicious.jsonl"] {
        let Ok(text) = std::fs::read_to_string(corpus.join(file)) else {
            continue;
        };
        for line in text.lines() {
            if let Ok(record) = serde_json::from_str::<Value>(line) {
                tools.push(tool_texts(&record["tool"]));
            }
        }
    }
    if tools.is_empty() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shadowing");
        for scenario in std::fs::read_dir(fixtures).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(scenario.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let Ok(text) = std::fs::read_to_string(file.path()) else {
                    continue;
                };
                let Ok(capture) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                for tool in capture["tools"].as_array().into_iter().flatten() {
                    tools.push(tool_texts(tool));
                }
            }
        }
    }
    tools
}

fn tool_texts(tool: &Value) -> (String, String) {
    let text = |key: &str| tool[key].as_str().unwrap_or("").to_string();
    (text("name"), text("description"))
}

/// A pronounceable word standing for a server's brand, as real tool names carry one.
fn brand(dice: &mut Dice) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zen", "qua", "bri", "sto", "ple", "dar", "fin",
    ];
    (0..3)
        .map(|_| SYLLABLES[dice.below(SYLLABLES.len())])
        .collect()
}

/// `servers` servers of `TOOLS_PER_SERVER` tools. Most names carry the server's brand; one in
/// ten is a corpus name as it stands, so names clash across servers as they do in real
/// sessions. Descriptions are corpus descriptions with a fifth of their words swapped for
/// words from elsewhere in the corpus and the brand mentioned.
fn session(servers: usize, sources: &[(String, String)], dice: &mut Dice) -> Vec<Capture> {
    let vocabulary: Vec<&str> = sources
        .iter()
        .flat_map(|(_, d)| d.split_whitespace())
        .collect();
    (0..servers)
        .map(|s| {
            let brand = brand(dice);
            let tools = (0..TOOLS_PER_SERVER)
                .map(|t| {
                    let (name, description) = &sources[dice.below(sources.len())];
                    let name = match dice.below(10) {
                        0 => name.clone(),
                        _ => format!("{brand}_{name}_{t}"),
                    };
                    let mut words: Vec<&str> = description.split_whitespace().collect();
                    for word in words.iter_mut() {
                        if dice.below(5) == 0 && !vocabulary.is_empty() {
                            *word = vocabulary[dice.below(vocabulary.len())];
                        }
                    }
                    let description = format!("{} (via {brand})", words.join(" "));
                    json!({"name": name, "description": description,
                           "inputSchema": {"type": "object", "properties": {}}})
                })
                .collect();
            Capture {
                server: format!("{brand}-{s}"),
                source: PathBuf::from(format!("{brand}-{s}.json")),
                tools,
                ..Capture::default()
            }
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let rules = match RuleSet::load(&[]) {
        Ok(rules) => rules,
        Err(error) => {
            eprintln!("cannot load the built-in rules: {error}");
            std::process::exit(2);
        }
    };
    let sources = source_tools();
    if sources.is_empty() {
        eprintln!("no corpus and no fixtures to make tools from");
        std::process::exit(2);
    }
    let mut dice = Dice(0x5eed_cafe_f00d_d00d);
    for &servers in SESSIONS {
        let captures = session(servers, &sources, &mut dice);
        let mut times = Vec::with_capacity(RUNS);
        let mut findings = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            findings = audit_session(&captures, &rules).len();
            times.push(started.elapsed());
        }
        println!(
            "shadowing: {servers:>3} servers x {TOOLS_PER_SERVER} tools: median {:>9.2?} over {RUNS} runs ({findings} findings)",
            median(times)
        );
    }
}
