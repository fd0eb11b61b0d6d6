//! Hardening advice (MCP606): for a container server that was captured, the `docker run` flags
//! that none of its tools' capabilities need. Advice only, `info`, located on the server's entry
//! in its config; it never changes a config and says nothing about servers it did not capture.

use super::{ToolProfile, profile_tools};
use crate::capture::Capture;
use crate::config::{ConfigFile, Launch};
use crate::finding::{Finding, FindingSpec};
use crate::rules::RuleSet;

pub const CONTAINER_HARDENING: &str = "MCP606";

/// One piece of advice per flag worth adding, for every captured container server.
pub fn harden_containers(
    configs: &[ConfigFile],
    captures: &[Capture],
    rules: &RuleSet,
) -> Vec<Finding> {
    let Some(rule) = rules.get(CONTAINER_HARDENING) else {
        return Vec::new();
    };
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
            .last("--network")
            .is_some_and(|o| o.value.as_deref() == Some("none"));
        let cap_drop_all = docker_run.all("--cap-drop").any(|o| {
            o.value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("all"))
        });
        let mut advice = Vec::new();
        if !network_off
            && !any(
                &profiles,
                &["network", "browser", "send-message", "payment"],
            )
        {
            advice.push((
                "--network none",
                "no tool reaches the network: add `--network none`",
            ));
        }
        if !docker_run.is_on("--read-only") && !any(&profiles, &["file-write", "database-write"]) {
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
            findings.push(
                Finding::new(FindingSpec {
                    rule_id: CONTAINER_HARDENING,
                    category: rule.category,
                    severity: rule.severity,
                    confidence: rule.confidence,
                    server: &server.name,
                    message: message.to_string(),
                })
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
