//! The session inventory: every tool of every server of one session, each with the server it
//! came from and the folded forms the shadowing rules compare names by. It reads captures and
//! judges nothing.

use crate::capture::{Capture, item_name};
use crate::rules::FieldKind;
use crate::rules::normalize::identifier_words;
use crate::rules::text::item_texts;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::HashSet;
use unicode_security::skeleton;

/// One server of the session.
#[derive(Debug)]
pub struct SessionServer<'a> {
    pub capture: &'a Capture,
    /// Its tool and parameter names and enum values as `fold_text` leaves them: a description
    /// naming one of these speaks of its own server.
    pub own_names: HashSet<String>,
}

/// One tool of the session and the forms its name is compared in.
#[derive(Debug)]
pub struct SessionTool<'a> {
    /// Index of its server in `Inventory::servers`.
    pub server: usize,
    pub name: &'a str,
    pub description: &'a str,
    /// The name as a reader sees it: UTS #39 skeleton, case folded, separators dropped.
    pub key: String,
    /// The name's words, each folded like `key`.
    pub words: Vec<String>,
}

/// Every tool of every server of one session.
#[derive(Debug)]
pub struct Inventory<'a> {
    pub servers: Vec<SessionServer<'a>>,
    pub tools: Vec<SessionTool<'a>>,
}

impl<'a> Inventory<'a> {
    /// One entry per named tool of each capture; a server listing a name twice counts it once.
    pub fn new(captures: &'a [Capture]) -> Self {
        let mut servers = Vec::with_capacity(captures.len());
        let mut tools = Vec::new();
        for (index, capture) in captures.iter().enumerate() {
            let mut own_names = HashSet::new();
            for definition in &capture.tools {
                let Some(name) = item_name(definition) else {
                    continue;
                };
                if !own_names.insert(fold_text(name)) {
                    continue;
                }
                tools.push(SessionTool {
                    server: index,
                    name,
                    description: definition
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    key: String::new(),
                    words: Vec::new(),
                });
            }
            for definition in &capture.tools {
                let mut texts = Vec::new();
                item_texts(definition, "", &mut texts);
                own_names.extend(
                    texts
                        .iter()
                        .filter(|t| t.kind == FieldKind::Parameter || t.field.contains(".enum["))
                        .map(|t| fold_text(&t.value)),
                );
            }
            servers.push(SessionServer { capture, own_names });
        }
        // Skeletons take most of the time; each name's is its own.
        tools.par_iter_mut().for_each(|tool| {
            tool.key = fold_name(tool.name);
            tool.words = name_words(tool.name);
        });
        Inventory { servers, tools }
    }

    pub fn server_name(&self, server: usize) -> &str {
        &self.servers[server].capture.server
    }

    /// The tool's server name.
    pub fn server_of(&self, tool: &SessionTool<'_>) -> &str {
        self.server_name(tool.server)
    }
}

/// A name as a reader compares it: the UTS #39 confusable skeleton, lower-cased, with every
/// character that is not a letter or digit dropped. Done twice because lower-casing can make a
/// new confusable (`I` becomes `i`, which is not `l`).
pub fn fold_name(raw: &str) -> String {
    let once = fold_pass(raw);
    fold_pass(&once)
}

fn fold_pass(raw: &str) -> String {
    skeleton(raw)
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The words of an identifier (`Playwright_Navigate_Advanced`, `searchV2`), each folded.
pub fn name_words(raw: &str) -> Vec<String> {
    let spaced = identifier_words(raw).unwrap_or_else(|| raw.to_string());
    spaced
        .split(|c: char| !c.is_alphanumeric())
        .map(fold_name)
        .filter(|w| !w.is_empty())
        .collect()
}

/// A name as it is looked for in prose: lower-cased, nothing else changed.
pub fn fold_text(raw: &str) -> String {
    crate::rules::normalize::normalize(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folds_case_separators_and_look_alike_letters() {
        assert_eq!(fold_name("Fork_Repository"), fold_name("fork_repository"));
        assert_eq!(fold_name("compute_"), fold_name("compute"));
        assert_eq!(fold_name("r\u{0435}ad-file"), fold_name("read_file"));
        assert_eq!(fold_name("get_fiIe"), fold_name("get_file"));
        assert_ne!(fold_name("read_file"), fold_name("write_file"));
    }

    #[test]
    fn splits_names_into_folded_words() {
        assert_eq!(
            name_words("Playwright_Navigate_Advanced"),
            ["playwright", "navigate", "advanced"]
        );
        assert_eq!(name_words("searchV2"), ["search", "v2"]);
    }

    #[test]
    fn keeps_each_tool_with_its_server_once() {
        let captures = vec![
            Capture {
                server: "a".into(),
                tools: vec![
                    json!({"name": "go", "description": "Go."}),
                    json!({"name": "go"}),
                    json!({"description": "no name"}),
                ],
                ..Capture::default()
            },
            Capture {
                server: "b".into(),
                tools: vec![json!({"name": "go"})],
                ..Capture::default()
            },
        ];
        let inventory = Inventory::new(&captures);
        assert_eq!(inventory.tools.len(), 2);
        assert_eq!(inventory.server_of(&inventory.tools[1]), "b");
        assert_eq!(inventory.tools[0].description, "Go.");
        assert!(inventory.servers[0].own_names.contains("go"));
    }
}
