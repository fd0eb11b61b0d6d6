//! The annotation rules (MCP601–MCP605): each tool's declared hints held against the
//! capabilities inferred for it. Severities and texts come from `rules/annotations.yaml`, looked
//! up by id; this module decides only whether a rule applies, and never reads configs.

use super::{EvidenceSource, Lexicon, ToolProfile};
use crate::capture::Capture;
use crate::finding::Finding;
use crate::rules::RuleSet;
use serde_json::Value;

pub const READ_ONLY_LIE: &str = "MCP601";
pub const NON_DESTRUCTIVE_LIE: &str = "MCP602";
pub const CLOSED_WORLD_LIE: &str = "MCP603";
pub const UNDECLARED_DESTRUCTIVE: &str = "MCP604";
pub const CONTRADICTING_HINTS: &str = "MCP605";

/// Every rule this audit and the hardening advice raise; each must exist in the rule set.
pub const RULE_IDS: &[&str] = &[
    READ_ONLY_LIE,
    NON_DESTRUCTIVE_LIE,
    CLOSED_WORLD_LIE,
    UNDECLARED_DESTRUCTIVE,
    CONTRADICTING_HINTS,
    super::hardening::CONTAINER_HARDENING,
];

/// Capabilities whose absence from a tool's annotations is worth a note (MCP604).
const NEEDS_DECLARING: &[&str] = &["delete", "exec"];

/// Audit every tool of every capture against its annotations, in capture order.
pub fn audit_annotations(captures: &[Capture], rules: &RuleSet, lexicon: &Lexicon) -> Vec<Finding> {
    let mut findings = Vec::new();
    for capture in captures {
        for tool in &capture.tools {
            let profile = lexicon.profile(tool);
            for (id, message, evidence) in judge(&profile, lexicon) {
                let Some(finding) = rules.finding(id, &capture.server, message) else {
                    continue;
                };
                let location = capture.location.clone().unwrap_or_else(|| {
                    crate::finding::Location::file(capture.source.display().to_string())
                });
                findings.push(
                    finding
                        .tool(Some(&profile.name))
                        .field("annotations")
                        .evidence(&evidence)
                        .location(Some(location)),
                );
            }
        }
    }
    findings
}

/// Which rules a tool breaks: `(rule id, message, evidence)`.
pub fn judge(profile: &ToolProfile, lexicon: &Lexicon) -> Vec<(&'static str, String, String)> {
    let mut broken = Vec::new();
    let hint = |key: &str| {
        profile
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .and_then(Value::as_bool)
    };
    let name = &profile.name;
    let stated = stated_capabilities(profile);
    let mutating: Vec<&super::ToolCapability> = stated
        .iter()
        .filter(|c| lexicon.entry(&c.capability).is_some_and(|e| e.mutating))
        .collect();
    if hint("readOnlyHint") == Some(true)
        && let Some(first) = mutating.first()
    {
        broken.push((
            READ_ONLY_LIE,
            format!(
                "`{name}` claims `readOnlyHint: true` but its {} says it can {}",
                source_word(first),
                capability_verb(&first.capability)
            ),
            evidence_text(&mutating),
        ));
    }
    let destroys: Vec<&super::ToolCapability> = stated
        .iter()
        .filter(|c| {
            let entry = lexicon.entry(&c.capability);
            entry.is_some_and(|e| e.destructive)
                || entry.is_some_and(|e| {
                    c.evidence
                        .iter()
                        .any(|ev| e.destructive_words.contains(&ev.words))
                })
        })
        .collect();
    if hint("destructiveHint") == Some(false) && !destroys.is_empty() {
        broken.push((
            NON_DESTRUCTIVE_LIE,
            format!("`{name}` claims `destructiveHint: false` but it deletes or overwrites"),
            evidence_text(&destroys),
        ));
    }
    let arbitrary: Vec<&super::ToolCapability> = profile
        .capabilities
        .iter()
        .filter(|c| {
            lexicon.entry(&c.capability).is_some_and(|e| {
                c.evidence.iter().any(|ev| {
                    (ev.source == EvidenceSource::Parameter
                        && e.arbitrary_parameters.contains(&ev.words))
                        || ev.source == EvidenceSource::Format
                })
            })
        })
        .collect();
    if hint("openWorldHint") == Some(false) && !arbitrary.is_empty() {
        broken.push((
            CLOSED_WORLD_LIE,
            format!(
                "`{name}` claims `openWorldHint: false` but takes an address to reach at call time"
            ),
            evidence_text(&arbitrary),
        ));
    }
    if profile.annotations.is_none() {
        let undeclared: Vec<&super::ToolCapability> = profile
            .capabilities
            .iter()
            .filter(|c| NEEDS_DECLARING.contains(&c.capability.as_str()))
            .collect();
        if !undeclared.is_empty() {
            broken.push((
                UNDECLARED_DESTRUCTIVE,
                format!(
                    "`{name}` can {} and declares no annotations",
                    capability_verb(&undeclared[0].capability)
                ),
                evidence_text(&undeclared),
            ));
        }
    }
    if hint("readOnlyHint") == Some(true) && hint("destructiveHint") == Some(true) {
        broken.push((
            CONTRADICTING_HINTS,
            format!("`{name}` claims both `readOnlyHint: true` and `destructiveHint: true`"),
            "readOnlyHint: true, destructiveHint: true".to_string(),
        ));
    }
    broken
}

/// The capabilities a tool's name or description states. Parameter names alone (`to`,
/// `amount`, `overwrite`) say too little to call a tool a liar, and a title alone names what
/// the tool makes as often as what it changes ("Create Buffer Zone" computes a polygon).
fn stated_capabilities(profile: &ToolProfile) -> Vec<super::ToolCapability> {
    profile
        .capabilities
        .iter()
        .map(|c| super::ToolCapability {
            capability: c.capability.clone(),
            evidence: c
                .evidence
                .iter()
                .filter(|e| matches!(e.source, EvidenceSource::Name | EvidenceSource::Description))
                .cloned()
                .collect(),
        })
        .filter(|c| !c.evidence.is_empty())
        .collect()
}

/// `delete: name "delete"; exec: parameter "command"`.
fn evidence_text(capabilities: &[&super::ToolCapability]) -> String {
    capabilities
        .iter()
        .map(|c| {
            let words: Vec<String> = c
                .evidence
                .iter()
                .map(|e| format!("{} \"{}\"", source_name(e.source), e.words))
                .collect();
            format!("{}: {}", c.capability, words.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn source_word(capability: &super::ToolCapability) -> &'static str {
    capability
        .evidence
        .first()
        .map_or("description", |e| source_name(e.source))
}

fn source_name(source: EvidenceSource) -> &'static str {
    match source {
        EvidenceSource::Name => "name",
        EvidenceSource::Title => "title",
        EvidenceSource::Description => "description",
        EvidenceSource::Parameter => "parameter",
        EvidenceSource::Format => "format",
    }
}

fn capability_verb(capability: &str) -> &'static str {
    match capability {
        "file-write" => "write files",
        "modify" => "create or change things",
        "delete" => "delete",
        "exec" => "execute commands",
        "send-message" => "send messages",
        "database-write" => "change a database",
        "payment" => "move money",
        _ => "change things",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::capabilities::BUILTIN;
    use serde_json::json;

    fn rules_broken(tool: serde_json::Value) -> Vec<&'static str> {
        judge(&BUILTIN.profile(&tool), &BUILTIN)
            .into_iter()
            .map(|(id, ..)| id)
            .collect()
    }

    #[test]
    fn honest_tools_break_nothing() {
        let read = json!({"name": "read_file", "annotations": {"readOnlyHint": true}});
        let delete = json!({"name": "delete_issue", "annotations": {"destructiveHint": true}});
        let silent = json!({"name": "get_weather", "description": "Weather for a city"});
        assert!(rules_broken(read).is_empty());
        assert!(rules_broken(delete).is_empty());
        assert!(rules_broken(silent).is_empty());
    }

    #[test]
    fn lies_are_caught() {
        let tool = json!({"name": "delete_file", "annotations": {"readOnlyHint": true}});
        assert_eq!(rules_broken(tool), vec![READ_ONLY_LIE]);
        let tool = json!({"name": "remove_branch", "annotations": {"destructiveHint": false}});
        assert_eq!(rules_broken(tool), vec![NON_DESTRUCTIVE_LIE]);
    }
}
