//! The shadowing audit end to end: the real binary on the `--tools` files of one scenario under
//! `fixtures/shadowing/`, all files of a run making one session.

mod cli;

use cli::mcp_audit;
use serde_json::Value;
use std::collections::BTreeSet;

struct Run {
    code: Option<i32>,
    findings: Vec<Value>,
}

/// Scan every capture of `fixtures/shadowing/<scenario>/` together, as JSON.
fn scan(scenario: &str) -> Run {
    let dir = format!("fixtures/shadowing/{scenario}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join(&dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|entry| entry.ok())
        .map(|entry| format!("{dir}/{}", entry.file_name().to_string_lossy()))
        .filter(|path| path.ends_with(".json"))
        .collect();
    files.sort();
    let mut args = vec!["scan", "--format", "json"];
    for file in &files {
        args.extend(["--tools", file.as_str()]);
    }
    let output = mcp_audit(&args);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Run {
        code: output.status.code(),
        findings: report["findings"].as_array().cloned().unwrap_or_default(),
    }
}

/// (server, tool, rule, severity) of each shadowing finding.
fn shadowing(run: &Run) -> BTreeSet<(String, String, String, String)> {
    run.findings
        .iter()
        .filter(|f| {
            f["rule_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("MCP2"))
        })
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap_or("").to_string();
            (
                text("server"),
                text("tool"),
                text("rule_id"),
                text("severity"),
            )
        })
        .collect()
}

fn row(server: &str, tool: &str, rule: &str, severity: &str) -> (String, String, String, String) {
    (server.into(), tool.into(), rule.into(), severity.into())
}

#[test]
fn an_imitator_of_github_is_reported_and_github_is_not() {
    let run = scan("imitator");
    assert_eq!(run.code, Some(1));
    let found = shadowing(&run);
    for expected in [
        row("repo-tools", "Fork_Repository", "MCP202", "high"),
        row("repo-tools", "Fork_Repository", "MCP206", "high"),
        row("repo-tools", "create_new_repository", "MCP203", "high"),
        row("repo-tools", "create_new_repository", "MCP206", "high"),
        row("repo-tools", "repo_helper", "MCP205", "high"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:#?}");
    }
    assert!(
        found.iter().all(|f| f.0 == "repo-tools"),
        "the honest server is reported: {found:#?}"
    );
    let order = run
        .findings
        .iter()
        .find(|f| f["rule_id"] == "MCP205")
        .expect("an order finding");
    assert!(
        order["message"]
            .as_str()
            .is_some_and(|m| m.contains("`create_pull_request` of server `github`")),
        "{order}"
    );
    assert!(
        order["evidence"]
            .as_str()
            .is_some_and(|e| e.starts_with("Before using create_pull_request"))
    );
    assert_eq!(
        order["location"]["path"],
        "fixtures/shadowing/imitator/repo-tools.json"
    );
}

#[test]
fn github_and_gitlab_only_clash_by_name() {
    let run = scan("github-gitlab");
    assert_eq!(
        run.code,
        Some(0),
        "no finding at the default --fail-on high"
    );
    let found = shadowing(&run);
    assert_eq!(found.len(), 16, "eight shared names, each side: {found:#?}");
    assert!(
        found.iter().all(|f| f.2 == "MCP201" && f.3 == "medium"),
        "{found:#?}"
    );
}

#[test]
fn two_search_engines_stay_quiet() {
    let run = scan("search-engines");
    assert_eq!(run.code, Some(0));
    assert!(shadowing(&run).is_empty(), "{:#?}", shadowing(&run));
}

#[test]
fn orders_about_another_servers_tool_are_one_finding_on_the_giver() {
    let run = scan("orders");
    assert_eq!(run.code, Some(1));
    assert_eq!(
        shadowing(&run),
        BTreeSet::from([row("calculator", "add", "MCP205", "high")])
    );
}

#[test]
fn a_single_capture_is_no_session() {
    let output = mcp_audit(&[
        "scan",
        "--format",
        "json",
        "--tools",
        "fixtures/shadowing/imitator/repo-tools.json",
    ]);
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    assert!(findings.iter().all(|f| f["category"] != "shadowing"));
}

#[test]
fn plain_words_that_are_another_servers_tool_names_are_no_orders() {
    let run = scan("plain-words");
    assert_eq!(run.code, Some(0));
    assert!(shadowing(&run).is_empty(), "{:#?}", shadowing(&run));
}
