//! Hardening advice (MCP606): for a container server that was captured, the `docker run` flags
//! that none of its tools' capabilities need. Advice only, `info`, located on the server's entry
//! in its config; it never changes a config and says nothing about servers it did not capture.

use super::{ToolProfile, profile_tools};
use crate::capture::Capture;
use crate::config::{ConfigFile, Launch};
use crate::finding::Finding;
use crate::rules::RuleSet;

pub const CONTAINER_HARDENING: &str = "MCP606";

/// One piece of advice per flag worth adding, for every captured container server.
pub fn harden_containers(
    configs: &[ConfigFile],
    captures: &[Capture],
    rules: &RuleSet,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for server in configs.iter().flat_map(|f| &f.servers) {
        let Launch::Container { docker_run, .. } = &server.launch else {
            continue;
        };
        let Some(capture) = captures
            .iter()
            .find(|c| c.location.as_ref() == Some(&server.location))
        else {
            continue;
        };
        let profiles = profile_tools(&capture.tools);
        let network_off = docker_run
            .last("network")
            .is_some_and(|o| o.value.as_deref() == Some("none"));
        let cap_drop_all = docker_run.all("cap-drop").any(|o| {
            o.value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("all"))
        });
        // An env variable is most often the key to a remote API, and a database most often
        // sits on another host: both need the network whatever the tools' words say.
        let given_env = !server.env.is_empty()
            || docker_run.all("env").next().is_some()
            || docker_run.all("env-file").next().is_some();
        let mut advice = Vec::new();
        if !network_off
            && !given_env
            && !any(
                &profiles,
                &[
                    "network",
                    "browser",
                    "send-message",
                    "payment",
                    "database-read",
                    "database-write",
                ],
            )
        {
            advice.push((
                "--network none",
                "no tool reaches the network: add `--network none`",
            ));
        }
        if !docker_run.is_on("read-only") && !any(&profiles, &["file-write", "database-write"]) {
            advice.push((
                "--read-only",
                "no tool writes files: add `--read-only` (and `--tmpfs /tmp` if it needs scratch space)",
            ));
        }
        if !cap_drop_all && !any(&profiles, &["exec"]) {
            advice.push((
                "--cap-drop ALL",
                "no tool executes commands: `--cap-drop ALL` costs nothing",
            ));
        }
        for (flag, message) in advice {
            let Some(finding) =
                rules.finding(CONTAINER_HARDENING, &server.name, message.to_string())
            else {
                continue;
            };
            findings.push(
                finding
                    .field("launch")
                    .evidence(flag)
                    .location(Some(server.location.clone())),
            );
        }
    }
    findings
}

fn any(profiles: &[ToolProfile], capabilities: &[&str]) -> bool {
    profiles
        .iter()
        .any(|p| capabilities.iter().any(|c| p.has(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn advice(run: &str, tools: Vec<serde_json::Value>) -> Vec<String> {
        let args: Vec<String> = run.split(' ').map(|a| format!("\"{a}\"")).collect();
        let text = format!(
            r#"{{"mcpServers": {{"srv": {{"command": "docker", "args": [{}]}}}}}}"#,
            args.join(", ")
        );
        let config = crate::config::parse_config("mcp.json", &text, None)
            .ok()
            .flatten()
            .into_iter()
            .collect::<Vec<_>>();
        let location = config[0].servers[0].location.clone();
        let capture = Capture {
            server: "srv".to_string(),
            tools,
            location: Some(location),
            ..Capture::default()
        };
        let rules = RuleSet::load(&[]).unwrap_or_default();
        harden_containers(&config, &[capture], &rules)
            .into_iter()
            .map(|f| f.evidence)
            .collect()
    }

    #[test]
    fn a_calculator_can_drop_everything() {
        let tools = vec![json!({"name": "add", "description": "Add two numbers"})];
        let found = advice("run -i --rm mcp/calc@sha256:00", tools);
        assert_eq!(found, ["--network none", "--read-only", "--cap-drop ALL"]);
    }

    #[test]
    fn needed_and_present_flags_are_not_advised() {
        let tools = vec![
            json!({"name": "fetch", "inputSchema": {"properties": {"url": {"type": "string"}}}}),
            json!({"name": "write_file"}),
        ];
        let found = advice("run -i --rm --cap-drop ALL mcp/fetch@sha256:00", tools);
        assert!(found.is_empty(), "{found:?}");
    }
}
