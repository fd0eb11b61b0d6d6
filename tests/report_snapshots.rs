//! Snapshots of every report format, produced by the real binary on small captures: a change
//! to what users see is reviewed as a diff of `tests/snapshots/`.

mod cli;

use cli::mcp_audit;

const POISONED: &str = "fixtures/report/poisoned-demo.json";
const CLEAN: &str = "fixtures/report/clean-server.json";

fn report(format: &str, captures: &[&str]) -> String {
    let mut args = vec!["scan", "--format", format];
    for capture in captures {
        args.extend(["--tools", capture]);
    }
    let output = mcp_audit(&args);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "mcp-audit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The version is masked so that a release does not change every snapshot.
    String::from_utf8_lossy(&output.stdout).replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn text_groups_findings_by_server_and_tool() {
    insta::assert_snapshot!(report("text", &[POISONED, CLEAN]));
}

#[test]
fn text_of_a_clean_server() {
    insta::assert_snapshot!(report("text", &[CLEAN]));
}

#[test]
fn json() {
    insta::assert_snapshot!(report("json", &[POISONED, CLEAN]));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(report("sarif", &[POISONED, CLEAN]));
}

#[test]
fn sarif_of_a_clean_server() {
    insta::assert_snapshot!(report("sarif", &[CLEAN]));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(report("markdown", &[POISONED, CLEAN]));
}

#[test]
fn markdown_of_a_clean_server() {
    insta::assert_snapshot!(report("markdown", &[CLEAN]));
}
