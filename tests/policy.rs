//! The policy end to end, with the real binary on the configs in `fixtures/policy`: every rule
//! kind raised on the server's entry and naming the policy line that decided it; `policy init`
//! on a held-out config, then a grown config scanned against what it wrote; `policy check`;
//! discovery beside a config and at a repository's root; the committed JSON Schema.

mod cli;

use cli::mcp_audit;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-audit-policy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

/// An offline scan, as JSON, from `dir`.
fn scan_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(BIN)
        .args(["scan", "--offline", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn scan(args: &[&str]) -> Run {
    scan_in(&root(), args)
}

fn policy_findings(run: &Run) -> Vec<&Value> {
    run.report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no report: {}", run.stderr))
        .iter()
        .filter(|f| f["category"] == "policy")
        .collect()
}

/// The 1-based line of the first line of `path` that contains `needle`.
fn line_of(path: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {path}"))
        + 1
}

/// The line of the `[[…]]` table header above the line holding `needle`.
fn table_of(path: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = line_of(path, needle) - 1;
    (0..=at)
        .rev()
        .find(|&i| lines[i].starts_with('['))
        .expect("a table header")
        + 1
}

/// The finding is located on its server's entry: the entry's file and line.
fn assert_on_entry(run: &Run, finding: &Value) {
    let server = finding["server"].as_str().unwrap();
    let entry = run.report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .unwrap_or_else(|| panic!("no server {server}"));
    assert_eq!(
        finding["location"]["path"], entry["location"]["path"],
        "{finding}"
    );
    assert_eq!(
        finding["location"]["line"], entry["location"]["line"],
        "{finding}"
    );
}

/// Exactly these policy findings: (server, tool, rule, severity, policy path and line).
fn assert_policy(run: &Run, expected: &[(&str, Option<&str>, &str, &str, String)]) {
    let found = policy_findings(run);
    for finding in &found {
        assert_on_entry(run, finding);
    }
    let mut got: Vec<(String, Option<String>, String, String)> = found
        .iter()
        .map(|f| {
            (
                f["server"].as_str().unwrap().to_string(),
                f["tool"].as_str().map(str::to_string),
                f["rule_id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, Option<String>, String, String)> = expected
        .iter()
        .map(|(server, tool, rule, severity, _)| {
            (
                server.to_string(),
                tool.map(str::to_string),
                rule.to_string(),
                severity.to_string(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "{}", run.report["findings"]);
    for (server, tool, rule, _, decided) in expected {
        let finding = found
            .iter()
            .find(|f| {
                f["server"] == *server && f["rule_id"] == *rule && f["tool"].as_str() == *tool
            })
            .unwrap();
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("decided by {decided}")),
            "{server} {rule}: `{message}` does not say `decided by {decided}`"
        );
    }
}

const RULES: &str = "fixtures/policy/rules/mcp-audit.toml";

#[test]
fn every_perimeter_and_scope_rule_names_its_policy_line_on_the_servers_entry() {
    let run = scan(&[
        "fixtures/policy/rules/perimeter/.mcp.json",
        "fixtures/policy/rules/support/.mcp.json",
        "--tools",
        "fixtures/policy/tools/shell.json",
        "--policy",
        RULES,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let at = |line: usize| format!("{RULES}:{line} ");
    let acme = table_of(RULES, "image = \"ghcr.io/acme/*\"");
    let hub = table_of(RULES, "image = \"docker.io/mcp/*\"");
    assert_policy(
        &run,
        &[
            ("acme-unpinned", None, "MCP705", "high", at(acme)),
            ("acme-other-digest", None, "MCP706", "high", at(acme)),
            (
                "leaky",
                None,
                "MCP702",
                "critical",
                at(table_of(RULES, "docker.io/mcp/leaky-*")),
            ),
            (
                "elsewhere",
                None,
                "MCP701",
                "high",
                format!("{RULES}:{acme}, {hub} "),
            ),
            (
                "npx-old",
                None,
                "MCP701",
                "high",
                at(table_of(RULES, "package = \"@acme/*\"")),
            ),
            (
                "remote-sse",
                None,
                "MCP701",
                "high",
                at(table_of(RULES, "url = \"https://mcp.acme.example/*\"")),
            ),
            (
                "mail",
                None,
                "MCP710",
                "medium",
                at(table_of(RULES, "configs = [\"support/**\"]")),
            ),
            (
                "mail",
                None,
                "MCP711",
                "medium",
                at(line_of(RULES, "max_servers = 3")),
            ),
            (
                "docs",
                None,
                "MCP711",
                "medium",
                at(line_of(RULES, "max_servers = 3")),
            ),
            (
                "shell",
                Some("drop_ticket"),
                "MCP712",
                "high",
                at(line_of(RULES, "deny_tools")),
            ),
            (
                "shell",
                Some("run_command"),
                "MCP712",
                "high",
                at(line_of(RULES, "deny_capabilities")),
            ),
        ],
    );
    let denied = policy_findings(&run)
        .into_iter()
        .find(|f| f["rule_id"] == "MCP702")
        .unwrap();
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("sends what it reads to a third party"),
        "the denial's reason is shown: {denied}"
    );
}

#[test]
fn host_and_remote_servers_are_refused_where_the_perimeter_forbids_them() {
    // No --policy: the `mcp-audit.toml` beside the config is the one used.
    let run = scan(&["fixtures/policy/host-forbidden/.mcp.json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let policy = "fixtures/policy/host-forbidden/mcp-audit.toml";
    assert!(
        run.stderr.contains(&format!("policy {policy}")),
        "{}",
        run.stderr
    );
    assert_policy(
        &run,
        &[
            (
                "filesystem",
                None,
                "MCP703",
                "high",
                format!("{policy}:{} ", line_of(policy, "allow_host = false")),
            ),
            (
                "weather",
                None,
                "MCP704",
                "high",
                format!("{policy}:{} ", line_of(policy, "allow_remote = false")),
            ),
        ],
    );
    // A URL's query, where keys are passed, is not repeated.
    assert!(!run.report["findings"].to_string().contains("key=abc"));
}

/// The issue's check: a policy written from a held-out config; a grown config that keeps its
/// servers and adds one from another registry, a host `npx` server and a remote URL.
#[test]
fn a_policy_initialised_on_one_config_catches_every_server_added_in_another() {
    let dir = temp_dir("init-grown");
    let policy = dir.join("mcp-audit.toml");
    let policy_arg = policy.to_str().unwrap();
    let out = mcp_audit(&[
        "policy",
        "init",
        "fixtures/policy/held-out/.mcp.json",
        "--output",
        policy_arg,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let held_out = scan(&["fixtures/policy/held-out/.mcp.json", "--policy", policy_arg]);
    assert!(
        policy_findings(&held_out).is_empty(),
        "the configs a policy was written from pass it: {}",
        held_out.report["findings"]
    );

    let run = scan(&["fixtures/policy/grown/.mcp.json", "--policy", policy_arg]);
    let found = policy_findings(&run);
    for added in ["tools", "filesystem", "weather"] {
        let on_it: Vec<&&Value> = found.iter().filter(|f| f["server"] == added).collect();
        assert!(
            on_it
                .iter()
                .any(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical"))),
            "{added} has no policy finding of medium or above: {}",
            run.report["findings"]
        );
        for finding in on_it {
            assert_on_entry(&run, finding);
            assert!(
                finding["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("decided by {policy_arg}:")),
                "{finding}"
            );
        }
    }
    for original in ["fetch", "github", "time"] {
        assert!(
            !found.iter().any(|f| f["server"] == original),
            "{original} is in the perimeter: {}",
            run.report["findings"]
        );
    }
}

#[test]
fn init_writes_beside_the_first_config_and_never_over_a_policy_without_force() {
    let dir = temp_dir("init-beside");
    std::fs::copy(
        root().join("fixtures/policy/held-out/.mcp.json"),
        dir.join(".mcp.json"),
    )
    .unwrap();
    let init = |args: &[&str]| {
        Command::new(BIN)
            .args(["policy", "init", ".mcp.json"])
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    assert_eq!(init(&[]).status.code(), Some(0));
    let written = std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap();
    assert!(written.contains("configs = [\".mcp.json\"]"), "{written}");

    std::fs::write(dir.join("mcp-audit.toml"), "# hand-written\n").unwrap();
    let refused = init(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap(),
        "# hand-written\n"
    );
    assert_eq!(init(&["--force"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap(),
        written
    );
}

#[test]
fn the_committed_schema_is_what_the_types_generate() {
    let out = mcp_audit(&["policy", "schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(root().join("schemas/mcp-audit.policy.schema.json")).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "schemas/mcp-audit.policy.schema.json is stale: regenerate it with \
         `mcp-audit policy schema > schemas/mcp-audit.policy.schema.json`"
    );
}

#[test]
fn what_init_writes_and_the_fixture_policies_validate_against_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/mcp-audit.policy.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let out = mcp_audit(&[
        "policy",
        "init",
        "fixtures/policy/grown/.mcp.json",
        "--output",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let generated = String::from_utf8(out.stdout).unwrap();
    for (name, text) in [
        ("init", generated),
        (
            "rules",
            std::fs::read_to_string(root().join(RULES)).unwrap(),
        ),
    ] {
        let document: Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{text}");
    }
    let broken: Value = toml::from_str(
        &std::fs::read_to_string(root().join("fixtures/policy/broken/mcp-audit.toml")).unwrap(),
    )
    .unwrap();
    assert!(
        !validator.is_valid(&broken),
        "editors must flag what policy check flags"
    );
}

#[test]
fn check_reports_every_problem_with_its_line_and_a_near_name() {
    let path = "fixtures/policy/broken/mcp-audit.toml";
    let out = mcp_audit(&["policy", "check", path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        ("require_signatures", "did you mean `require_signature`?"),
        ("allow_hosts", "did you mean `allow_host`?"),
        ("streamable_http", "did you mean `streamable-http`?"),
        ("\"exe\"", "did you mean `exec`?"),
    ];
    assert_eq!(lines.len(), expected.len() + 1, "{stdout}");
    for ((needle, hint), line) in expected.iter().zip(&lines) {
        let at = format!("{path}:{}:", line_of(path, needle));
        assert!(line.starts_with(&at), "`{line}` is not at {at}");
        assert!(line.contains(hint), "`{line}` lacks {hint}");
    }
    assert!(lines[4].ends_with("4 problems"), "{stdout}");

    let valid = mcp_audit(&["policy", "check", RULES]);
    assert_eq!(valid.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&valid.stdout).contains("valid"));

    // A scan refuses a broken policy, with the same lines, rather than enforce half of it.
    let run = scan(&[
        "fixtures/policy/held-out/.mcp.json",
        "--policy",
        "fixtures/policy/broken/mcp-audit.toml",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!("{path}:3:1")),
        "{}",
        run.stderr
    );
}

#[test]
fn the_policy_at_the_repository_root_applies_and_scopes_match_from_there() {
    let dir = temp_dir("repo-root");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::create_dir_all(dir.join("agents/support")).unwrap();
    std::fs::write(
        dir.join("mcp-audit.toml"),
        "[[scope]]\nconfigs = [\"agents/support/**\"]\nservers = [\"fetch\"]\n",
    )
    .unwrap();
    std::fs::copy(
        root().join("fixtures/policy/held-out/.mcp.json"),
        dir.join("agents/support/.mcp.json"),
    )
    .unwrap();
    // Run from a directory below the root: the config's path is `support/.mcp.json` here, and
    // `agents/support/.mcp.json` from the policy's directory, which the scope speaks of.
    let run = scan_in(&dir.join("agents"), &["support/.mcp.json"]);
    assert!(run.stderr.contains("mcp-audit.toml"), "{}", run.stderr);
    let beyond: Vec<&str> = policy_findings(&run)
        .iter()
        .filter(|f| f["rule_id"] == "MCP710")
        .filter_map(|f| f["server"].as_str())
        .collect();
    assert_eq!(beyond, ["github", "time"], "{}", run.report["findings"]);
}

fn readme_policy_section() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    readme
        .split("\n## Policy\n")
        .nth(1)
        .expect("a `## Policy` section")
        .split("\n## ")
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn the_readme_policy_example_checks_and_validates() {
    let section = readme_policy_section();
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml example");
    let dir = temp_dir("readme");
    let path = dir.join("mcp-audit.toml");
    std::fs::write(&path, example).unwrap();
    let out = mcp_audit(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/mcp-audit.policy.schema.json")).unwrap(),
    )
    .unwrap();
    let document: Value = toml::from_str(example).unwrap();
    assert!(jsonschema::is_valid(&schema, &document));
}

/// The README's table of policy rules says what `rules/policy.yaml` says.
#[test]
fn the_readme_lists_every_policy_rule_with_its_severity() {
    let section = readme_policy_section();
    let rows: Vec<(String, String)> = section
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<&str>>())
        .filter(|cells| cells.len() > 2 && cells[1].starts_with("MCP7"))
        .map(|cells| (cells[1].to_string(), cells[2].to_string()))
        .collect();
    let rules = mcp_audit::rules::RuleSet::load(&[]).unwrap();
    let documented: Vec<(String, String)> = mcp_audit::policy::enforce::RULE_IDS
        .iter()
        .map(|id| {
            let rule = rules.get(id).unwrap();
            (id.to_string(), rule.severity.as_str().to_string())
        })
        .collect();
    assert_eq!(rows, documented);
}

/// `policy init` beside a lockfile admits the digest and signer each image was locked with.
#[test]
fn init_takes_each_images_digest_and_signer_from_the_lockfile() {
    use mcp_audit::lockfile::{LockedServer, Lockfile};
    let dir = temp_dir("init-lock");
    std::fs::copy(
        root().join("fixtures/policy/held-out/.mcp.json"),
        dir.join(".mcp.json"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let signer = sigstore::crypto::SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap();
    let pem = signer
        .to_sigstore_keypair()
        .unwrap()
        .public_key_to_pem()
        .unwrap();
    std::fs::write(dir.join("keys/fetch.pub"), pem).unwrap();
    // A lockfile pins a key by its fingerprint; init finds the key file that has it.
    let fetch_key =
        mcp_audit::registry::TrustedKey::from_file(&dir.join("keys/fetch.pub")).unwrap();

    let config = mcp_audit::config::read_config(&dir.join(".mcp.json"), ".mcp.json").unwrap();
    let locked_github = format!("sha256:{}", "a".repeat(64));
    let locked_fetch = format!("sha256:{}", "b".repeat(64));
    let identity = "https://github.com/github/github-mcp-server/.github/workflows/release.yml@refs/tags/v0.13.0";
    let issuer = "https://token.actions.githubusercontent.com";
    let entries: Vec<LockedServer> = config
        .servers
        .iter()
        .map(|server| {
            let mut entry = LockedServer::of_config(server, ".mcp.json");
            match server.name.as_str() {
                "github" => {
                    entry.digest = Some(locked_github.clone());
                    entry.signer = Some(format!("{identity} ({issuer})"));
                }
                "fetch" => {
                    entry.digest = Some(locked_fetch.clone());
                    entry.signer = Some(fetch_key.id.clone());
                }
                _ => {}
            }
            entry
        })
        .collect();
    std::fs::write(dir.join("mcp-audit.lock"), Lockfile::new(entries).to_text()).unwrap();

    let out = Command::new(BIN)
        .args(["policy", "init", ".mcp.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap();
    let policy: Value = toml::from_str(&written).unwrap();
    let images = policy["perimeter"]["image"].as_array().unwrap();
    let image = |name: &str| {
        images
            .iter()
            .find(|i| i["image"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("{name} is not admitted: {written}"))
    };
    let github = image("ghcr.io/github/github-mcp-server");
    assert_eq!(
        github["digests"],
        serde_json::json!([locked_github]),
        "{written}"
    );
    assert_eq!(
        github["identities"],
        serde_json::json!([{ "identity": identity, "issuer": issuer }]),
        "{written}"
    );
    let fetch = image("mcp/fetch");
    let pinned = "sha256:8d1fb5fc8da2ab1b5e4d2ab6b7c3d7a4f23e5a1e2f4a0c9b8d7e6f5a4b3c2d1e";
    assert_eq!(
        fetch["digests"],
        serde_json::json!([pinned, locked_fetch]),
        "{written}"
    );
    assert_eq!(
        fetch["keys"],
        serde_json::json!(["keys/fetch.pub"]),
        "{written}"
    );

    // What init wrote checks, and the config it was written from passes it.
    let check = Command::new(BIN)
        .args(["policy", "check", "mcp-audit.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0));
    let run = scan_in(&dir, &[".mcp.json"]);
    assert!(
        policy_findings(&run).is_empty(),
        "{}",
        run.report["findings"]
    );

    // Without the key file, the fingerprint cannot be required: init says so and names none.
    std::fs::remove_file(dir.join("keys/fetch.pub")).unwrap();
    let out = Command::new(BIN)
        .args(["policy", "init", ".mcp.json", "--force"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(dir.join("mcp-audit.toml")).unwrap();
    assert!(!written.contains("keys = "), "{written}");
    assert!(
        written.contains(&format!("locked as signed by `{}`", fetch_key.id)),
        "{written}"
    );
}

/// What `policy init` writes, reviewed as a snapshot: a change to it is a diff in review.
#[test]
fn init_output_snapshot() {
    let out = mcp_audit(&[
        "policy",
        "init",
        "fixtures/policy/grown/.mcp.json",
        "--output",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(
        "policy_init_of_the_grown_config",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The issue's scenario: a pull request adds an empty `docs/.mcp.json` and a permissive
/// `docs/mcp-audit.toml`; the root policy still governs every config, and the nested one is
/// reported, not applied.
#[test]
fn a_nested_policy_never_overrides_the_repository_roots() {
    let dir = temp_dir("nested");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::copy(
        root().join("fixtures/policy/held-out/.mcp.json"),
        dir.join(".mcp.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("mcp-audit.toml"),
        "[[perimeter.deny]]\nserver = \"time\"\nreason = \"not reviewed\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("docs/.mcp.json"), "{\"mcpServers\": {}}\n").unwrap();
    std::fs::write(dir.join("docs/mcp-audit.toml"), "# everything goes\n").unwrap();
    for args in [&["."][..], &["docs/.mcp.json", ".mcp.json"]] {
        let run = scan_in(&dir, args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("policy mcp-audit.toml"),
            "{}",
            run.stderr
        );
        let findings = policy_findings(&run);
        let denied: Vec<&str> = findings
            .iter()
            .filter(|f| f["rule_id"] == "MCP702")
            .filter_map(|f| f["server"].as_str())
            .collect();
        assert_eq!(denied, ["time"], "{args:?}: {}", run.report["findings"]);
        let nested: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| f["rule_id"] == "MCP720")
            .filter_map(|f| f["location"]["path"].as_str().zip(f["server"].as_str()))
            .collect();
        let file = "docs/mcp-audit.toml";
        assert_eq!(nested, [(file, file)], "{args:?}: named by the file");
    }
}
