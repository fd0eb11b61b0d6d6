//! Reads the evaluation corpus for the tests that measure detection quality. It lives beside
//! the repository (`../shared/corpus`) or where `MCP_AUDIT_CORPUS` points.

use serde_json::Value;
use std::path::PathBuf;

pub fn corpus_dir() -> PathBuf {
    std::env::var_os("MCP_AUDIT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

/// Every record of one corpus file, one JSON object a line.
pub fn records(name: &str) -> Vec<Value> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the corpus file {} ({e}); set MCP_AUDIT_CORPUS to the corpus directory",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus lines are JSON"))
        .collect()
}
