//! Credentials written in a config never leave the process whole: not in any report format, not
//! in `policy init`'s policy, not in the lockfile's launch. The config in `fixtures/secrets` holds
//! a token in a git URL for `npx`, one for `uvx --from`, and a bearer token in a `--header`.

use mcp_audit::config::{Launch, Located};
use mcp_audit::lockfile::LockedLaunch;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

const TOKENS: &[&str] = &[
    "Zq4Xw8Er2Ty6Ui0Op3As7Df1",
    "Mk5Nb7Vc9Xz1Lq3Wp6Ej8Rt2",
    "Hy7Tu2Io9Pa4Sd6Fg1Jk3Lz8",
];

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/secrets")
}

/// The token's tail: redaction may keep a four-character prefix, never more.
fn assert_no_token(what: &str, text: &str) {
    for token in TOKENS {
        assert!(!text.contains(&token[4..]), "{what} shows {token}:\n{text}");
    }
}

#[test]
fn every_report_format_redacts_urls_credentials_and_bearer_headers() {
    for format in ["text", "json", "sarif", "markdown"] {
        let output = Command::new(BIN)
            .args(["scan", "--offline", "--format", format, ".mcp.json"])
            .current_dir(fixture())
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_no_token(format, &stdout);
        assert_no_token(format, &String::from_utf8_lossy(&output.stderr));
        if format == "json" {
            let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            let findings = report["findings"].as_array().unwrap();
            let on = |server: &str, rule: &str| {
                findings
                    .iter()
                    .any(|f| f["server"] == server && f["rule_id"] == rule)
            };
            assert!(on("gitlab-tools", "MCP312"), "{stdout}");
            assert!(on("private-tools", "MCP312"), "{stdout}");
            for server in ["gitlab-tools", "private-tools", "api-bridge"] {
                assert!(
                    on(server, "MCP301"),
                    "{server} has no plaintext secret: {stdout}"
                );
            }
        }
    }
}

#[test]
fn policy_init_writes_no_credential() {
    let dir = std::env::temp_dir().join(format!("mcp-audit-secrets-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture().join(".mcp.json"), dir.join(".mcp.json")).unwrap();
    let output = Command::new(BIN)
        .args(["policy", "init", ".mcp.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap();
    assert_no_token("the policy", &written);
    assert!(
        !written.contains("oauth2:") && !written.contains("x-access-token:"),
        "{written}"
    );
    assert_no_token(
        "policy init's output",
        &String::from_utf8_lossy(&output.stderr),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_lockfile_stores_a_bearer_header_redacted() {
    let located = |value: &str| Located {
        value: value.to_string(),
        location: mcp_audit::finding::Location::file(".mcp.json"),
    };
    let args = [
        "-y",
        "mcp-remote@0.1.0",
        "--header",
        "Authorization: Bearer Hy7Tu2Io9Pa4Sd6Fg1Jk3Lz8",
    ];
    let launch = Launch::from_command(located("npx"), args.iter().map(|a| located(a)).collect());
    let LockedLaunch::Host { argv } = LockedLaunch::of(&launch) else {
        panic!("a host launch");
    };
    assert_no_token("the lockfile", &argv.join(" "));
    assert_eq!(argv[4], "Authorization: Bearer Hy7T…[redacted, 24 chars]");
}
