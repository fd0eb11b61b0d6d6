//! One tree for every config syntax: JSON with comments, YAML and TOML are each read into `Node`s
//! that remember the line and column where every key and value starts. This module knows nothing
//! of MCP; the format readers give the tree its meaning.

pub mod jsonc;
mod toml;
mod yaml;

use std::fmt;

/// A place in the text. Both are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: Position,
    pub value: NodeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    /// The number as written; configs never need its arithmetic.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in the order written. A repeated key is kept; lookups take the last, as
    /// JavaScript and the clients do.
    Object(Vec<Member>),
}

/// One key of an object, where the key starts, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_at: Position,
    pub value: Node,
}

/// The syntaxes configs are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON, with the comments and trailing commas VS Code and Zed accept.
    Jsonc,
    Yaml,
    Toml,
}

impl Syntax {
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Jsonc => "JSON",
            Syntax::Yaml => "YAML",
            Syntax::Toml => "TOML",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct SyntaxError {
    pub at: Position,
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(at: Position, message: impl Into<String>) -> Self {
        SyntaxError {
            at,
            message: message.into(),
        }
    }
}

/// Deepest nesting read. Configs are shallow; a deeper file is hostile and would exhaust the
/// stack of a recursive reader.
pub const MAX_DEPTH: usize = 128;

/// Parse `text` in `syntax` into a tree.
pub fn parse(text: &str, syntax: Syntax) -> Result<Node, SyntaxError> {
    match syntax {
        Syntax::Jsonc => jsonc::parse(text),
        Syntax::Yaml => yaml::parse(text),
        Syntax::Toml => toml::parse(text),
    }
}

impl Node {
    pub fn new(at: Position, value: NodeValue) -> Self {
        Node { at, value }
    }

    /// The member `key` of an object (the last one when repeated).
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.as_object()?.iter().rev().find(|m| m.key == key)
    }

    /// The value of member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.value)
    }

    /// The first of `keys` that is present; formats spell one setting several ways.
    pub fn get_any(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().find_map(|key| self.get(key))
    }

    /// Follow a path of object keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.value {
            NodeValue::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            NodeValue::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// A scalar as the text a process would see it as: env values are often written as numbers
    /// or booleans.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(text) | NodeValue::Number(text) => Some(text.clone()),
            NodeValue::Bool(value) => Some(value.to_string()),
            NodeValue::Null | NodeValue::Array(_) | NodeValue::Object(_) => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Array(_) => "a list",
            NodeValue::Object(_) => "an object",
        }
    }

    /// The tree as plain JSON, positions dropped: how unknown keys are kept.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(value) => Value::Bool(*value),
            NodeValue::Number(text) => text
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(text.clone())),
            NodeValue::String(text) => Value::String(text.clone()),
            NodeValue::Array(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|m| (m.key.clone(), m.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Turns byte offsets into positions, for parsers that report spans as byte ranges.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        let before = self.text.as_bytes()[start..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        Position {
            line: saturate(line),
            column: saturate(before + 1),
        }
    }
}

pub(crate) fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_characters_from_one() {
        let text = "ab\nçd\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(3), Position { line: 2, column: 1 });
        // `ç` is two bytes but one column.
        assert_eq!(index.position(5), Position { line: 2, column: 2 });
        assert_eq!(index.position(7), Position { line: 3, column: 1 });
        assert_eq!(index.position(8), Position { line: 4, column: 1 });
        assert_eq!(index.position(99), Position { line: 4, column: 2 });
    }

    #[test]
    fn the_three_syntaxes_give_the_same_tree_shape() {
        let json = parse(r#"{"a": {"b": [1, "x"]}}"#, Syntax::Jsonc).unwrap();
        let yaml = parse("a:\n  b: [1, x]\n", Syntax::Yaml).unwrap();
        let toml = parse("[a]\nb = [1, \"x\"]\n", Syntax::Toml).unwrap();
        assert_eq!(json.to_json(), yaml.to_json());
        assert_eq!(json.to_json(), toml.to_json());
        assert_eq!(json.path(&["a", "b"]).unwrap().kind(), "a list");
    }

    #[test]
    fn lookups_take_the_last_repeated_key() {
        let node = parse(r#"{"a": 1, "a": 2}"#, Syntax::Jsonc).unwrap();
        assert_eq!(node.get("a").unwrap().scalar_text().as_deref(), Some("2"));
    }
}
