//! The exit-code contract: 0 nothing at or above `--fail-on`, 1 findings at or above it,
//! 2 the run itself failed, with a message that names what failed.

mod cli;

use cli::mcp_audit;

const POISONED: &str = "fixtures/report/poisoned-demo.json";

#[test]
fn findings_at_the_default_threshold_exit_1() {
    let output = mcp_audit(&["scan", "--tools", POISONED]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn findings_below_the_threshold_exit_0() {
    let output = mcp_audit(&["scan", "--tools", POISONED, "--fail-on", "critical"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_clean_server_exits_0() {
    let output = mcp_audit(&["scan", "--tools", "fixtures/report/clean-server.json"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_malformed_file_exits_2_and_names_the_file() {
    let output = mcp_audit(&["scan", "--tools", "fixtures/report/malformed.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fixtures/report/malformed.json"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
