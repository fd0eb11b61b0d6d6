//! `mcp-audit scan CONFIG…` end to end: the real binary on the fixtures in `fixtures/configs`,
//! checking rule ids, severities, and that every location falls inside its server's entry.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scan of what the files show: these tests are about the config stage, so no registry is
/// asked (the fixtures name Docker Hub images, which no test may reach).
fn scan_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(BIN)
        .arg("scan")
        .arg("--offline")
        .args(args)
        .args(["--format", "json"])
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    Run {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn scan(args: &[&str]) -> Run {
    scan_in(&root(), args)
}

fn findings(run: &Run) -> &Vec<Value> {
    run.report["findings"].as_array().expect("a findings list")
}

fn at_least_medium(run: &Run) -> Vec<(String, String, String)> {
    findings(run)
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        .map(|f| {
            (
                f["server"].as_str().unwrap_or("").to_string(),
                f["rule_id"].as_str().unwrap_or("").to_string(),
                f["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Exactly these (server, rule, severity) at medium or above, each inside its server's entry.
fn assert_problems(run: &Run, expected: &[(&str, &str, &str)]) {
    let found: BTreeSet<_> = at_least_medium(run).into_iter().collect();
    let expected: BTreeSet<_> = expected
        .iter()
        .map(|(server, rule, severity)| {
            (server.to_string(), rule.to_string(), severity.to_string())
        })
        .collect();
    assert_eq!(found, expected);
    assert_located_in_entries(run);
}

/// Every finding's location is in the scanned file, at or after its server's entry and before
/// the next server's.
fn assert_located_in_entries(run: &Run) {
    let servers = run.report["servers"].as_array().expect("a servers list");
    for finding in findings(run) {
        let name = finding["server"].as_str().unwrap_or("");
        let index = servers
            .iter()
            .position(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("finding for unknown server {name}"));
        let entry = &servers[index]["location"];
        let location = &finding["location"];
        assert_eq!(location["path"], entry["path"], "{finding}");
        let line = location["line"].as_u64().expect("a line");
        let start = entry["line"].as_u64().expect("an entry line");
        let end = servers[index + 1..]
            .iter()
            .find(|s| s["location"]["path"] == entry["path"])
            .and_then(|s| s["location"]["line"].as_u64())
            .unwrap_or(u64::MAX);
        assert!(
            (start..end).contains(&line),
            "{name}: finding at line {line} is outside its entry (lines {start}..{end}): {finding}"
        );
        assert!(
            location["column"].as_u64().is_some_and(|c| c >= 1),
            "{finding}"
        );
    }
}

#[test]
fn secrets_are_found_and_never_shown_whole() {
    let run = scan(&["fixtures/configs/lint/secrets"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_problems(
        &run,
        &[
            ("github", "MCP301", "high"),
            ("openai-tools", "MCP301", "high"),
            ("claude-bridge", "MCP301", "high"),
            ("slack", "MCP301", "high"),
            ("aws", "MCP301", "high"),
            ("aws-docs-example", "MCP301", "high"),
            ("stripe", "MCP301", "high"),
            ("gitlab", "MCP301", "high"),
            ("maps", "MCP301", "high"),
            ("internal-api", "MCP302", "high"),
            ("deploy", "MCP301", "high"),
        ],
    );
    let text = run.report.to_string();
    for secret in [
        "0123456789abcdefghij",
        "Q2x7Lm9Pz4Rt8Vw1",
        "Zq4Xw8Er2Ty6Ui0Op3",
        "Rk4Tq8Vm2Xp6Zs0Yb3Nc",
        "q8Vt3Lm0Zx7Rk2Pw9Ns4",
        "wJalrXUtnFEMI",
        "4eC39HqLyjWDarjtT1zdp7dc",
        "9Xk2Lm4Np6Qr8St0Uv1W",
        "D7x9Qk2Lm4Np6Rt8",
        "f3a9c07d2b8e4d15",
        "b3BlbnNzaC1rZXktdjEA",
    ] {
        assert!(!text.contains(secret), "the report repeats {secret}");
    }
}

#[test]
fn the_secret_finding_points_at_the_value() {
    let run = scan(&["fixtures/configs/lint/secrets/.mcp.json"]);
    let openai = findings(&run)
        .iter()
        .find(|f| f["server"] == "openai-tools" && f["rule_id"] == "MCP301")
        .expect("the OpenAI key is found");
    assert_eq!(openai["field"], "env.OPENAI_API_KEY");
    assert_eq!(openai["location"]["line"], 15);
    assert_eq!(openai["location"]["column"], 27);
}

#[test]
fn dangerous_container_options() {
    let run = scan(&["fixtures/configs/lint/containers"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_problems(
        &run,
        &[
            ("privileged", "MCP320", "critical"),
            ("docker-manager", "MCP321", "critical"),
            ("host-root", "MCP322", "critical"),
            ("home", "MCP323", "high"),
            ("ssh-keys", "MCP323", "high"),
            ("host-network", "MCP324", "medium"),
            ("host-pid", "MCP325", "high"),
            ("sys-admin", "MCP326", "high"),
            ("net-raw", "MCP327", "medium"),
            ("unconfined", "MCP328", "high"),
            ("device", "MCP329", "medium"),
            ("latest", "MCP310", "medium"),
            ("untagged", "MCP310", "medium"),
        ],
    );
}

#[test]
fn host_servers_and_unpinned_packages() {
    let run = scan(&["fixtures/configs/lint/host"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_problems(
        &run,
        &[
            ("filesystem", "MCP312", "medium"),
            ("fetch", "MCP312", "medium"),
            ("playwright", "MCP312", "medium"),
            ("git", "MCP312", "medium"),
            ("installer", "MCP341", "high"),
        ],
    );
    let host_servers: BTreeSet<&str> = findings(&run)
        .iter()
        .filter(|f| f["rule_id"] == "MCP340")
        .filter_map(|f| f["server"].as_str())
        .collect();
    assert_eq!(host_servers.len(), 7, "every server here runs on the host");
}

#[test]
fn remote_servers_over_plain_http() {
    let run = scan(&["fixtures/configs/lint/remote/mcp_config.json"]);
    assert_problems(
        &run,
        &[
            ("intranet", "MCP350", "medium"),
            ("lan", "MCP350", "medium"),
            ("token-in-url", "MCP302", "high"),
        ],
    );
}

#[test]
fn an_honest_config_passes_with_nothing_at_medium_or_above() {
    let run = scan(&["fixtures/configs/lint/clean"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(at_least_medium(&run), Vec::new());
    assert_eq!(run.report["servers"].as_array().map(Vec::len), Some(5));
    assert!(
        run.stderr
            .contains("read 1 config file: fixtures/configs/lint/clean/claude_desktop_config.json"),
        "{}",
        run.stderr
    );
    assert_located_in_entries(&run);
}

#[test]
fn every_format_fixture_is_read_and_is_clean() {
    let formats = [
        ("claude-desktop", 3),
        ("claude-code", 3),
        ("cursor", 3),
        ("windsurf", 2),
        ("vscode", 2),
        ("vscode-settings", 1),
        ("gemini", 2),
        ("codex", 3),
        ("zed", 2),
        ("continue", 2),
        ("goose", 2),
        ("opencode", 2),
        ("kiro", 1),
        ("cline", 2),
        ("docker-catalog", 1),
        ("mcp-registry", 3),
    ];
    for (format, servers) in formats {
        let run = scan(&[&format!("fixtures/configs/{format}")]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert_eq!(
            run.report["servers"].as_array().map(Vec::len),
            Some(servers),
            "{format}"
        );
        assert_eq!(at_least_medium(&run), Vec::new(), "{format}");
        assert!(
            run.stderr.contains("read 1 config file"),
            "{format}: {}",
            run.stderr
        );
        assert_located_in_entries(&run);
    }
}

#[test]
fn a_file_is_read_whatever_its_name() {
    let dir = temp_dir("any-name");
    let file = dir.join("team-servers.conf");
    std::fs::copy(
        root().join("fixtures/configs/lint/containers/.vscode/mcp.json"),
        &file,
    )
    .unwrap();
    let run = scan_in(&dir, &["team-servers.conf"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(findings(&run).iter().any(|f| f["rule_id"] == "MCP320"));
    assert_eq!(findings(&run)[0]["location"]["path"], "team-servers.conf");
    let toml = dir.join("codex-settings");
    std::fs::copy(
        root().join("fixtures/configs/codex/.codex/config.toml"),
        &toml,
    )
    .unwrap();
    let run = scan_in(&dir, &["codex-settings"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report["servers"].as_array().map(Vec::len), Some(3));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn with_no_path_the_current_directory_is_searched() {
    let dir = temp_dir("discover");
    for (from, to) in [
        (
            "fixtures/configs/vscode/.vscode/mcp.json",
            ".vscode/mcp.json",
        ),
        (
            "fixtures/configs/claude-code/.mcp.json",
            "services/api/.mcp.json",
        ),
        (
            "fixtures/configs/continue/.continue/config.yaml",
            ".continue/config.yaml",
        ),
    ] {
        let target = dir.join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(root().join(from), target).unwrap();
    }
    // Generic names that hold no MCP config are passed over, broken or not.
    std::fs::create_dir_all(dir.join("deploy/chart")).unwrap();
    std::fs::write(
        dir.join("deploy/chart/config.yaml"),
        "replicas: {{ .Values.replicas }\n",
    )
    .unwrap();
    std::fs::write(dir.join("settings.json"), "{\"editor.tabSize\": 2}").unwrap();
    let run = scan_in(&dir, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "read 3 config files: .continue/config.yaml, .vscode/mcp.json, services/api/.mcp.json"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.report["servers"].as_array().map(Vec::len), Some(7));
    let run = scan_in(&dir, &["services"]);
    assert!(
        run.stderr
            .contains("read 1 config file: services/api/.mcp.json"),
        "{}",
        run.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_config_fails_the_run_naming_file_and_line() {
    let run = scan(&["fixtures/configs/lint/malformed"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("fixtures/configs/lint/malformed/.vscode/mcp.json:5:7: not valid JSON"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_directory_without_configs_fails_the_run() {
    let dir = temp_dir("empty");
    std::fs::write(dir.join("README.md"), "nothing here").unwrap();
    let run = scan_in(&dir, &["."]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no MCP config found under ."),
        "{}",
        run.stderr
    );
    let run = scan_in(&dir, &["README.md"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("README.md is not an MCP config"),
        "{}",
        run.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tools_files_alone_search_no_directory() {
    let dir = temp_dir("tools-only");
    std::fs::write(
        dir.join("calc.json"),
        r#"{"tools": [{"name": "add", "description": "Adds."}]}"#,
    )
    .unwrap();
    let run = scan_in(&dir, &["--tools", "calc.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("config file"), "{}", run.stderr);
    let run = scan_in(
        &root(),
        &[
            "fixtures/configs/lint/clean",
            "--tools",
            &dir.join("calc.json").display().to_string(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report["servers"].as_array().map(Vec::len), Some(6));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cmd /c`, `sh -c`, `sudo`, `wsl`, `env` in front of a container run hide nothing: the options
/// inside are linted, located on the words that carry them.
#[test]
fn a_launcher_hides_no_container_option() {
    let run = scan(&["fixtures/configs/lint/launchers"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_problems(
        &run,
        &[
            ("windows-wrapped", "MCP320", "critical"),
            ("shell-wrapped", "MCP322", "critical"),
            ("as-root", "MCP342", "high"),
            ("as-root", "MCP325", "high"),
            ("through-wsl", "MCP332", "medium"),
            ("through-env", "MCP322", "critical"),
        ],
    );
    let servers = run.report["servers"].as_array().expect("servers");
    assert!(
        servers.iter().all(|s| s["launch"]
            .as_str()
            .is_some_and(|l| l.contains("container acme/files:1.4.2"))),
        "every server is a container: {servers:?}"
    );
}

#[test]
fn a_decoy_key_hides_no_server_and_is_reported_on_the_file() {
    let run = scan(&["fixtures/configs/decoy"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let path = "fixtures/configs/decoy/.vscode/mcp.json";
    let found: BTreeSet<_> = at_least_medium(&run).into_iter().collect();
    let expected: BTreeSet<_> = [("notes", "MCP320", "critical"), (path, "MCP360", "medium")]
        .iter()
        .map(|(s, r, v)| (s.to_string(), r.to_string(), v.to_string()))
        .collect();
    assert_eq!(found, expected);
    let decoy = findings(&run)
        .iter()
        .find(|f| f["rule_id"] == "MCP360")
        .unwrap();
    assert_eq!(decoy["location"]["path"], path);
    assert_eq!(decoy["location"]["line"], 4, "the second key: {decoy}");
    assert!(
        decoy["message"]
            .as_str()
            .is_some_and(|m| m.contains("`mcpServers` and `servers`")),
        "{decoy}"
    );
}

/// A directory or server name that carries a terminal escape or a line break reaches the error
/// message made visible, as reports show it: it cannot clear the screen or forge a line.
#[test]
fn an_error_shows_names_from_the_input_with_control_characters_made_visible() {
    let dir = temp_dir("escapes").join("repo\u{1b}[2J");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".mcp.json"),
        r#"{"mcpServers": {"evil\u001b[2J\nmcp-audit: no findings": {"args": []}}}"#,
    )
    .unwrap();
    let run = scan(&[dir.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    let error = run.stderr.trim_end();
    assert!(!error.contains('\n'), "one line: {error:?}");
    assert!(
        error.contains("repo<U+001B>[2J/.mcp.json:1:17: server `evil<U+001B>[2J mcp-audit: no findings` has neither"),
        "{error}"
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn fail_on_decides_the_exit_code_for_config_findings() {
    let run = scan(&["fixtures/configs/lint/clean", "--fail-on", "low"]);
    assert_eq!(run.code, 1);
    let run = scan(&["fixtures/configs/lint/remote", "--fail-on", "critical"]);
    assert_eq!(run.code, 0);
}

#[test]
fn the_config_rules_are_listed() {
    let output = Command::new(BIN).args(["rules", "list"]).output().unwrap();
    let listing = String::from_utf8_lossy(&output.stdout);
    for id in ["MCP301", "MCP310", "MCP320", "MCP340", "MCP350"] {
        assert!(listing.contains(id), "{listing}");
    }
}

/// The README's table of config rules says what `rules/config.yaml` says.
#[test]
fn the_readme_lists_every_config_rule_with_its_severity() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Config formats")
        .nth(1)
        .expect("a `## Config formats` section")
        .split("\n## ")
        .next()
        .unwrap_or("");
    let rows: BTreeSet<(String, String)> = section
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<&str>>())
        .filter(|cells| {
            cells.len() > 2
                && cells[1]
                    .strip_prefix("MCP")
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|cells| (cells[1].to_string(), cells[2].to_string()))
        .collect();
    let rules = mcp_audit::rules::RuleSet::load(&[]).unwrap();
    let documented: BTreeSet<(String, String)> = mcp_audit::config::lint::RULE_IDS
        .iter()
        .map(|id| {
            let rule = rules.get(id).unwrap();
            (id.to_string(), rule.severity.as_str().to_string())
        })
        .collect();
    assert_eq!(rows, documented);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The README's table of supply-chain rules says what `rules/supply-chain.yaml` says.
#[test]
fn the_readme_lists_every_supply_chain_rule_with_its_severity() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Supply chain")
        .nth(1)
        .expect("a `## Supply chain` section")
        .split("\n## ")
        .next()
        .unwrap_or("");
    let rows: BTreeSet<(String, String)> = section
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<&str>>())
        .filter(|cells| cells.len() > 2 && cells[1].starts_with("MCP4"))
        .map(|cells| (cells[1].to_string(), cells[2].to_string()))
        .collect();
    let rules = mcp_audit::rules::RuleSet::load(&[]).unwrap();
    let documented: BTreeSet<(String, String)> = mcp_audit::registry::RULE_IDS
        .iter()
        .map(|id| {
            let rule = rules
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not a built-in rule"));
            assert!(!rule.is_text_rule(), "{id} is raised by code");
            (id.to_string(), rule.severity.as_str().to_string())
        })
        .collect();
    assert_eq!(rows, documented);
}
