//! The GitHub Action: its scan script run on the fixtures with the built binary, `action.yml`
//! checked against the script, and the README's workflow checked against both.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-audit-action-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run the action's script as the action does: inputs in INPUT_* variables, from the workspace.
fn run_script(dir: &Path, inputs: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(root().join("scripts/action-scan.sh"))
        .current_dir(root())
        .env("MCP_AUDIT", BIN)
        .env("GITHUB_OUTPUT", dir.join("github-output"))
        .env_remove("INPUT_PATHS")
        .env_remove("INPUT_FORMAT")
        .env_remove("INPUT_OUTPUT")
        .env_remove("INPUT_FAIL_ON")
        .env_remove("INPUT_OFFLINE")
        .env_remove("INPUT_POLICY");
    for (name, value) in inputs {
        command.env(name, value);
    }
    command.output().expect("bash runs")
}

#[test]
fn the_script_writes_the_report_for_a_clean_config() {
    let dir = temp_dir("clean");
    let report = dir.join("mcp-audit.sarif");
    let output = run_script(
        &dir,
        &[
            (
                "INPUT_PATHS",
                "fixtures/configs/lint/clean\n  fixtures/configs/vscode",
            ),
            ("INPUT_OUTPUT", report.to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("read 2 config files"), "{stderr}");
    let text = std::fs::read_to_string(&report).expect("the report is written");
    let parsed: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert!(parsed.is_object());
    assert!(text.contains("fixtures/configs/lint/clean/claude_desktop_config.json"));
    let outputs = std::fs::read_to_string(dir.join("github-output")).unwrap();
    assert!(
        outputs.contains(&format!("report={}", report.display())),
        "{outputs}"
    );
    assert!(outputs.contains("exit-code=0"), "{outputs}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn findings_fail_the_step_but_the_report_is_still_written() {
    let dir = temp_dir("findings");
    let report = dir.join("report.sarif");
    let output = run_script(
        &dir,
        &[
            ("INPUT_PATHS", "fixtures/configs/lint/containers"),
            ("INPUT_OUTPUT", report.to_str().unwrap()),
            ("INPUT_FAIL_ON", "high"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("::error::mcp-audit found problems at or above 'high'"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&report).expect("the report is written");
    assert!(
        text.contains("MCP320"),
        "the privileged container is reported"
    );
    let outputs = std::fs::read_to_string(dir.join("github-output")).unwrap();
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_policy_input_holds_the_configs_to_that_policy() {
    let dir = temp_dir("policy");
    let report = dir.join("report.json");
    let output = run_script(
        &dir,
        &[
            ("INPUT_PATHS", "fixtures/policy/grown/.mcp.json"),
            ("INPUT_OUTPUT", report.to_str().unwrap()),
            ("INPUT_FORMAT", "json"),
            (
                "INPUT_POLICY",
                "fixtures/policy/host-forbidden/mcp-audit.toml",
            ),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = std::fs::read_to_string(&report).expect("the report is written");
    for id in ["MCP701", "MCP703", "MCP704"] {
        assert!(text.contains(id), "{id} is not in {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's central-policy workflow checks the policy repository out and hands the action
/// the file inside that checkout.
#[test]
fn the_readme_central_policy_workflow_passes_the_checked_out_policy() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Policy\n")
        .nth(1)
        .expect("a `## Policy` section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a workflow");
    let workflow: yaml_serde::Value = yaml_serde::from_str(block).unwrap();
    let steps = workflow["jobs"]["mcp-audit"]["steps"]
        .as_sequence()
        .unwrap();
    let checkout = steps
        .iter()
        .find(|s| s["with"]["repository"].as_str().is_some())
        .expect("a checkout of the policy repository");
    let path = text_of(checkout, &["with", "path"]);
    let audit = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("/mcp-audit@"))
        })
        .expect("the action");
    let policy = text_of(audit, &["with", "policy"]);
    assert!(
        policy.starts_with(&format!("{path}/")),
        "{policy} is not in {path}"
    );
    let action = yaml(&root().join("action.yml"));
    for (input, _) in audit["with"].as_mapping().unwrap() {
        let input = input.as_str().unwrap();
        assert!(
            !action["inputs"][input].is_null(),
            "the action has no `{input}` input"
        );
    }
}

#[test]
fn a_bad_input_or_a_malformed_config_is_a_failed_run() {
    let dir = temp_dir("bad");
    let output = run_script(&dir, &[("INPUT_OFFLINE", "maybe")]);
    assert_eq!(output.status.code(), Some(2));
    let output = run_script(
        &dir,
        &[
            ("INPUT_PATHS", "fixtures/configs/lint/malformed"),
            ("INPUT_OUTPUT", dir.join("r.sarif").to_str().unwrap()),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("malformed/.vscode/mcp.json:5:7"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn yaml(path: &Path) -> yaml_serde::Value {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

fn text_of<'a>(value: &'a yaml_serde::Value, keys: &[&str]) -> &'a str {
    let mut node = value;
    for key in keys {
        node = &node[*key];
    }
    node.as_str()
        .unwrap_or_else(|| panic!("{keys:?} is not text"))
}

#[test]
fn action_yml_installs_the_crate_and_runs_the_script_with_every_input() {
    let action = yaml(&root().join("action.yml"));
    assert_eq!(text_of(&action, &["runs", "using"]), "composite");
    assert_eq!(text_of(&action, &["inputs", "format", "default"]), "sarif");
    assert_eq!(
        text_of(&action, &["inputs", "output", "default"]),
        "mcp-audit.sarif"
    );
    assert_eq!(text_of(&action, &["inputs", "fail-on", "default"]), "high");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    assert!(
        text_of(&steps[0], &["run"])
            .contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\"")
    );
    assert!(text_of(&steps[1], &["run"]).contains("scripts/action-scan.sh"));
    let script = std::fs::read_to_string(root().join("scripts/action-scan.sh")).unwrap();
    let inputs = action["inputs"].as_mapping().unwrap();
    for (name, _) in inputs {
        let name = name.as_str().unwrap();
        let variable = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        let passed = text_of(&steps[1], &["env", &variable]);
        assert_eq!(passed, format!("${{{{ inputs.{name} }}}}"));
        assert!(script.contains(&variable), "the script ignores {variable}");
    }
}

#[test]
fn the_readme_workflow_runs_the_action_on_every_config_name_and_uploads_its_sarif() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## GitHub Action")
        .nth(1)
        .expect("a `## GitHub Action` section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a yaml block");
    let workflow: yaml_serde::Value = yaml_serde::from_str(block).unwrap();
    let paths: Vec<&str> = workflow["on"]["pull_request"]["paths"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    let known = mcp_audit::config::discovery::known_names();
    for name in known.split(", ") {
        assert!(
            paths
                .iter()
                .any(|glob| glob.ends_with(name) || glob.ends_with(&name.replace("*", ""))),
            "the workflow does not run when {name} changes"
        );
    }
    let steps = workflow["jobs"]["mcp-audit"]["steps"]
        .as_sequence()
        .unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter().any(|u| u.ends_with("/mcp-audit@v0.1.0")),
        "{uses:?}"
    );
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str() == Some("github/codeql-action/upload-sarif@v3"))
        .expect("an upload-sarif step");
    let action = yaml(&root().join("action.yml"));
    assert_eq!(
        text_of(upload, &["with", "sarif_file"]),
        text_of(&action, &["inputs", "output", "default"])
    );
    assert_eq!(
        text_of(&workflow, &["permissions", "security-events"]),
        "write"
    );
}

/// The report's path is in the pull request's workspace: a symlink planted there is never
/// written through, and when the scan fails it is gone rather than left for the upload step.
#[cfg(unix)]
#[test]
fn a_symlink_planted_at_the_report_path_is_never_followed() {
    let dir = temp_dir("symlink");
    let report = dir.join("mcp-audit.sarif");
    let outside = dir.join("outside");
    for paths in ["fixtures/configs/lint/malformed", "fixtures/configs/vscode"] {
        std::os::unix::fs::symlink(&outside, &report).unwrap();
        let output = run_script(
            &dir,
            &[
                ("INPUT_PATHS", paths),
                ("INPUT_OUTPUT", report.to_str().unwrap()),
            ],
        );
        assert!(
            !outside.exists(),
            "{paths}: the symlink's target was written"
        );
        let left = std::fs::symlink_metadata(&report);
        assert!(
            left.as_ref().map_or(true, |m| !m.is_symlink()),
            "{paths}: {output:?}"
        );
        let _ = std::fs::remove_file(&report);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
