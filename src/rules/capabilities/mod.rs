//! Capabilities: what each tool can do (read or write files, delete, run commands, reach the
//! network, send messages…), inferred from its name, title, description and input schema with
//! the lexicon in `rules/capabilities.yaml`, each with the words that led to it. This module only
//! describes tools; holding them against their annotations is `annotations`, advice is `hardening`.

mod annotations;
mod hardening;

pub use annotations::{RULE_IDS, audit_annotations};
pub use hardening::harden_containers;

use crate::rules::normalize::{identifier_words, normalize};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// How many words back a negation still denies a phrase ("does not create, update or delete").
const NEGATION_REACH: usize = 8;

/// Words in a parameter's description that make it a path under a fixed base, not an address.
const RELATIVE_WORDS: &[&str] = &["relative to", "relative path"];

/// The built-in lexicon, embedded in the binary.
pub const LEXICON_FILE: (&str, &str) = (
    "rules/capabilities.yaml",
    include_str!("../../../rules/capabilities.yaml"),
);

/// The lexicon file: one entry per capability.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconFile {
    /// Words that, before a name word, make it an object rather than an action:
    /// `get_merge_request` reads a merge request, `get_status_page_post` reads a post.
    #[serde(default)]
    pub objects_after: Vec<String>,
    /// Words that, earlier in the same clause, deny a description phrase: "does not create,
    /// update or delete".
    #[serde(default)]
    pub negations: Vec<String>,
    pub capabilities: Vec<CapabilityEntry>,
}

/// How one capability shows in a tool, as written in the lexicon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityEntry {
    pub name: String,
    pub summary: String,
    /// Changes the world: incompatible with `readOnlyHint: true`.
    #[serde(default)]
    pub mutating: bool,
    /// Deletes or overwrites: incompatible with `destructiveHint: false`.
    #[serde(default)]
    pub destructive: bool,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub phrases: Vec<String>,
    #[serde(default)]
    pub parameters: Vec<String>,
    #[serde(default)]
    pub formats: Vec<String>,
    /// Evidence words that make another capability's use destructive (`overwrite`).
    #[serde(default)]
    pub destructive_words: Vec<String>,
    /// Parameters that let the caller pick any address: incompatible with `openWorldHint: false`.
    #[serde(default)]
    pub arbitrary_parameters: Vec<String>,
    #[serde(default)]
    pub examples: LexiconExamples,
}

/// Tools (or bare names) that must and must not show the capability; they run as tests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconExamples {
    #[serde(default, rename = "match")]
    pub must_match: Vec<Value>,
    #[serde(default, rename = "no_match")]
    pub must_not_match: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("capability lexicon: {0}")]
    Parse(#[from] yaml_serde::Error),
    #[error("capability lexicon, `{name}`: {problem}")]
    Invalid { name: String, problem: String },
}

/// Which part of a tool a word came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EvidenceSource {
    Name,
    Title,
    Description,
    Parameter,
    Format,
}

/// One reason to believe a tool has a capability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub source: EvidenceSource,
    pub words: String,
}

/// A capability inferred for one tool, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCapability {
    pub capability: String,
    pub evidence: Vec<Evidence>,
}

/// One tool as reports show it: its capabilities and what it declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolProfile {
    pub name: String,
    pub capabilities: Vec<ToolCapability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

impl ToolProfile {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c.capability == capability)
    }
}

/// A compiled lexicon entry.
struct Compiled {
    entry: CapabilityEntry,
    names: Vec<Vec<String>>,
    phrases: Option<Regex>,
}

/// The lexicon, parsed and compiled.
pub struct Lexicon {
    entries: Vec<Compiled>,
    objects_after: Vec<String>,
    negations: Vec<String>,
}

/// The built-in lexicon; the file is part of the binary and tested, so it always parses.
pub static BUILTIN: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::parse(LEXICON_FILE.1).unwrap_or_else(|_| Lexicon {
        entries: Vec::new(),
        objects_after: Vec::new(),
        negations: Vec::new(),
    })
});

impl Lexicon {
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let file: LexiconFile = yaml_serde::from_str(text)?;
        let mut entries = Vec::new();
        for entry in file.capabilities {
            let invalid = |problem: &str| LexiconError::Invalid {
                name: entry.name.clone(),
                problem: problem.to_string(),
            };
            if entry.names.is_empty() && entry.phrases.is_empty() && entry.parameters.is_empty() {
                return Err(invalid("needs names, phrases or parameters"));
            }
            if entry.examples.must_match.is_empty() {
                return Err(invalid("needs at least one `examples.match`"));
            }
            let phrases = if entry.phrases.is_empty() {
                None
            } else {
                let alternatives: Vec<String> = entry
                    .phrases
                    .iter()
                    .map(|p| regex::escape(&normalize(p)))
                    .collect();
                let pattern = format!(r"\b({})\b", alternatives.join("|"));
                Some(Regex::new(&pattern).map_err(|e| invalid(&e.to_string()))?)
            };
            let names = entry.names.iter().map(|n| words_of(n)).collect();
            entries.push(Compiled {
                entry,
                names,
                phrases,
            });
        }
        Ok(Lexicon {
            entries,
            objects_after: file.objects_after,
            negations: file.negations,
        })
    }

    /// The lexicon's entries, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &CapabilityEntry> {
        self.entries.iter().map(|c| &c.entry)
    }

    pub fn entry(&self, capability: &str) -> Option<&CapabilityEntry> {
        self.entries().find(|e| e.name == capability)
    }

    /// Every capability `tool` shows, in lexicon order, each with its evidence.
    pub fn infer(&self, tool: &Value) -> Vec<ToolCapability> {
        let text = |key: &str| tool.get(key).and_then(Value::as_str).unwrap_or_default();
        let name_words = words_of(text("name"));
        let title = match text("title") {
            "" => tool
                .pointer("/annotations/title")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            title => title,
        };
        let title_words = words_of(title);
        let description = normalize(text("description"));
        let properties = schema_properties(tool);
        let objects_after = &self.objects_after;
        self.entries
            .iter()
            .filter_map(|compiled| {
                let mut evidence = BTreeSet::new();
                let unless: &[String] = match compiled.entry.mutating {
                    true => objects_after,
                    false => &[],
                };
                for set in &compiled.names {
                    if !set.is_empty() && shows(&name_words, set, unless) {
                        evidence.insert(Evidence {
                            source: EvidenceSource::Name,
                            words: set.join(" "),
                        });
                    } else if !set.is_empty() && shows(&title_words, set, unless) {
                        evidence.insert(Evidence {
                            source: EvidenceSource::Title,
                            words: set.join(" "),
                        });
                    }
                }
                if let Some(phrases) = &compiled.phrases {
                    for found in phrases.find_iter(&description) {
                        if self.negated(&description[..found.start()]) {
                            continue;
                        }
                        evidence.insert(Evidence {
                            source: EvidenceSource::Description,
                            words: found.as_str().to_string(),
                        });
                    }
                }
                for (property, format, relative) in &properties {
                    let address = compiled.entry.arbitrary_parameters.contains(property);
                    if compiled.entry.parameters.iter().any(|p| p == property)
                        && !(address && *relative)
                    {
                        evidence.insert(Evidence {
                            source: EvidenceSource::Parameter,
                            words: property.clone(),
                        });
                    }
                    if let Some(format) = format
                        && compiled.entry.formats.iter().any(|f| f == format)
                    {
                        evidence.insert(Evidence {
                            source: EvidenceSource::Format,
                            words: format.clone(),
                        });
                    }
                }
                (!evidence.is_empty()).then(|| ToolCapability {
                    capability: compiled.entry.name.clone(),
                    evidence: evidence.into_iter().collect(),
                })
            })
            .collect()
    }

    /// Whether the clause that `before` ends in denies what follows: a negation among its
    /// last words, with no sentence or clause break after it.
    fn negated(&self, before: &str) -> bool {
        let clause = before
            .rsplit(['.', ';', ':', '!', '?', '(', ')'])
            .next()
            .unwrap_or("");
        clause
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .rev()
            .take(NEGATION_REACH)
            .any(|w| {
                self.negations
                    .iter()
                    .any(|n| w == n || (n.starts_with('\'') && w.ends_with(n.as_str())))
            })
    }

    /// A tool's profile: its name, capabilities and declared annotations.
    pub fn profile(&self, tool: &Value) -> ToolProfile {
        ToolProfile {
            name: crate::capture::item_name(tool)
                .unwrap_or_default()
                .to_string(),
            capabilities: self.infer(tool),
            annotations: tool.get("annotations").filter(|a| a.is_object()).cloned(),
        }
    }
}

/// Every tool of a capture as a profile, with the built-in lexicon.
pub fn profile_tools(tools: &[Value]) -> Vec<ToolProfile> {
    tools.iter().map(|t| BUILTIN.profile(t)).collect()
}

/// Every prompt of a capture as a profile: what it asks the agent to do, read from its name,
/// title, description and argument names. Prompts declare no annotations.
pub fn profile_prompts(prompts: &[Value]) -> Vec<ToolProfile> {
    prompts
        .iter()
        .map(|prompt| {
            let arguments: serde_json::Map<String, Value> = prompt
                .get("arguments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("name").and_then(Value::as_str))
                .map(|name| (name.to_string(), Value::Object(serde_json::Map::new())))
                .collect();
            let mut as_tool = serde_json::json!({"inputSchema": {"properties": arguments}});
            for key in ["name", "title", "description"] {
                if let Some(value) = prompt.get(key) {
                    as_tool[key] = value.clone();
                }
            }
            ToolProfile {
                annotations: None,
                ..BUILTIN.profile(&as_tool)
            }
        })
        .collect()
}

/// The union of the tools' capabilities, in lexicon order.
pub fn union(profiles: &[ToolProfile]) -> Vec<String> {
    BUILTIN
        .entries()
        .filter(|e| profiles.iter().any(|p| p.has(&e.name)))
        .map(|e| e.name.clone())
        .collect()
}

/// Whether every word of `set` is among `words`, none of them after a word of `unless`.
fn shows(words: &[String], set: &[String], unless: &[String]) -> bool {
    set.iter().all(|w| {
        words
            .iter()
            .position(|x| x == w)
            .is_some_and(|at| !words[..at].iter().any(|before| unless.contains(before)))
    })
}

/// An identifier or a phrase as lower-case words.
fn words_of(raw: &str) -> Vec<String> {
    let split = identifier_words(raw).unwrap_or_else(|| raw.to_string());
    split
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Input-schema property names (as words joined by a space) with their `format` and whether
/// their description calls them relative to a base, at any depth of `properties` and `items`,
/// bounded so a hostile schema cannot make this slow.
fn schema_properties(tool: &Value) -> Vec<(String, Option<String>, bool)> {
    let mut found = Vec::new();
    let mut pending: Vec<&Value> = tool.get("inputSchema").into_iter().collect();
    while let Some(schema) = pending.pop() {
        if found.len() > 500 {
            break;
        }
        if let Some(items) = schema.get("items") {
            pending.push(items);
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, property) in properties {
            let format = property
                .get("format")
                .and_then(Value::as_str)
                .map(str::to_lowercase);
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .map(normalize)
                .unwrap_or_default();
            let relative = RELATIVE_WORDS.iter().any(|w| description.contains(w));
            found.push((words_of(name).join(" "), format, relative));
            pending.push(property);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_names_and_keeps_evidence() {
        let caps = BUILTIN.infer(&json!({"name": "deleteFile", "description": "x"}));
        let delete = caps.iter().find(|c| c.capability == "delete");
        assert!(delete.is_some_and(|c| c.evidence[0].words == "delete"));
    }

    #[test]
    fn prompts_are_read_with_their_arguments() {
        let prompts = [json!({"name": "run_in_shell", "arguments": [{"name": "command"}]})];
        let profiles = profile_prompts(&prompts);
        assert!(profiles[0].has("exec"));
        assert_eq!(profiles[0].capabilities[0].evidence.len(), 2);
    }

    #[test]
    fn reads_schema_properties() {
        let tool = json!({"name": "x", "inputSchema": {"type": "object",
            "properties": {"target_url": {"type": "string", "format": "uri"}}}});
        let caps = BUILTIN.infer(&tool);
        assert!(caps.iter().any(|c| c.capability == "network"));
    }
}
