//! `rules list`, `rules show`, and user rule directories through the real binary: extra rules
//! run like built-in ones, and a bad rule directory fails the run (exit 2) naming what is wrong.

mod cli;

use cli::mcp_audit;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn rules_list_shows_every_built_in_rule() {
    let out = mcp_audit(&["rules", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = stdout(&out);
    for id in ["MCP101", "MCP120", "MCP301"] {
        assert!(listing.contains(id), "{id} missing from:\n{listing}");
    }
    assert!(listing.lines().count() >= 40, "{listing}");
}

#[test]
fn rules_show_prints_help_and_definition() {
    let out = mcp_audit(&["rules", "show", "MCP102"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with("MCP102 concealment-from-user (poisoning, high"),
        "{text}"
    );
    assert!(
        text.contains("**Fix:**") && text.contains("\"examples\""),
        "{text}"
    );

    let missing = mcp_audit(&["rules", "show", "NOPE999"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no rule has the id `NOPE999`"));
}

#[test]
fn user_rules_run_beside_the_built_in_ones() {
    let tools = "fixtures/rules/custom-tools.json";
    let without = mcp_audit(&["scan", "--tools", tools, "--format", "json"]);
    assert_eq!(without.status.code(), Some(0), "{}", stderr(&without));
    assert!(!stdout(&without).contains("ACME001"));

    let with = mcp_audit(&[
        "scan",
        "--tools",
        tools,
        "--format",
        "json",
        "--rules",
        "fixtures/rules/custom",
    ]);
    assert_eq!(with.status.code(), Some(1), "{}", stderr(&with));
    assert!(stdout(&with).contains("\"rule_id\": \"ACME001\""));

    let listed = mcp_audit(&["rules", "list", "--rules", "fixtures/rules/custom"]);
    assert!(stdout(&listed).contains("ACME001"));
}

#[test]
fn a_bad_rule_directory_fails_the_run_and_says_why() {
    let tools = "fixtures/rules/custom-tools.json";
    let cases = [
        (
            "fixtures/rules/broken",
            &["bad.yaml", "ACME002", "(unclosed"][..],
        ),
        (
            "fixtures/rules/duplicate",
            &["dup.yaml", "MCP101", "id already used"][..],
        ),
        ("fixtures/rules/empty", &["holds no .yaml"][..]),
        ("fixtures/rules/missing", &["cannot read rule file"][..]),
    ];
    for (dir, expected) in cases {
        let out = mcp_audit(&["scan", "--tools", tools, "--rules", dir]);
        assert_eq!(out.status.code(), Some(2), "{dir}: {}", stderr(&out));
        assert!(
            out.stdout.is_empty(),
            "{dir}: a failed run printed a report"
        );
        let message = stderr(&out);
        for part in expected {
            assert!(message.contains(part), "{dir}: `{part}` not in: {message}");
        }
    }
}
