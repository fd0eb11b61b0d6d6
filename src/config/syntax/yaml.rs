//! YAML into the `Node` tree, built from saphyr-parser's events so every node keeps its line and
//! column. Anchors and aliases are expanded within a budget, and `<<` merge keys are applied, as
//! Continue and Goose users write them. Only the first document of a stream is read.

use super::{MAX_DEPTH, Member, Node, NodeValue, Position, SyntaxError, saturate};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use std::collections::HashMap;

/// Most nodes a document may expand to through aliases: a few aliased lists can otherwise
/// multiply into billions of values ("billion laughs").
const MAX_NODES: usize = 200_000;

pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError::new(position(e.marker()), e.info()))?;
        if builder.push(event, span)? {
            break;
        }
    }
    Ok(builder
        .root
        .unwrap_or_else(|| Node::new(Position::START, NodeValue::Null)))
}

fn position(marker: &Marker) -> Position {
    Position {
        line: saturate(marker.line().max(1)),
        column: saturate(marker.col() + 1),
    }
}

enum Frame {
    Sequence {
        at: Position,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        at: Position,
        anchor: usize,
        members: Vec<Member>,
        key: Option<(String, Position)>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    /// Take one event; true once the first document is complete.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<bool, SyntaxError> {
        let at = position(&span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node::new(at, scalar(&text, style, tag.as_deref()));
                self.count(1, at)?;
                self.complete(node, anchor)?;
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| SyntaxError::new(at, "alias to an unknown anchor"))?;
                self.count(size(&node), at)?;
                self.complete(Node { at, ..node }, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(at)?;
                self.stack.push(Frame::Sequence {
                    at,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                self.open(at)?;
                self.stack.push(Frame::Mapping {
                    at,
                    anchor,
                    members: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Sequence { at, anchor, items }) => {
                    self.complete(Node::new(at, NodeValue::Array(items)), anchor)?;
                }
                Some(Frame::Mapping {
                    at,
                    anchor,
                    members,
                    ..
                }) => {
                    let node = Node::new(at, NodeValue::Object(merge_keys(members)));
                    self.complete(node, anchor)?;
                }
                None => return Err(SyntaxError::new(at, "unbalanced end of a collection")),
            },
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::StreamEnd => return Ok(true),
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
        Ok(false)
    }

    fn open(&mut self, at: Position) -> Result<(), SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(SyntaxError::new(
                at,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.count(1, at)
    }

    fn count(&mut self, nodes: usize, at: Position) -> Result<(), SyntaxError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(SyntaxError::new(
                at,
                format!("more than {MAX_NODES} values once aliases are expanded"),
            ));
        }
        Ok(())
    }

    /// A finished node goes into its parent: as an item, a key, or a key's value.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { members, key, .. }) => match key.take() {
                None => {
                    let text = node.scalar_text().ok_or_else(|| {
                        SyntaxError::new(node.at, "a mapping key must be a plain value")
                    })?;
                    *key = Some((text, node.at));
                }
                Some((key, key_at)) => members.push(Member {
                    key,
                    key_at,
                    value: node,
                }),
            },
        }
        Ok(())
    }
}

/// Apply `<<: *base` (or a list of bases): keys written in the mapping win over merged ones.
fn merge_keys(members: Vec<Member>) -> Vec<Member> {
    if !members.iter().any(|m| m.key == "<<") {
        return members;
    }
    let (merges, mut own): (Vec<Member>, Vec<Member>) =
        members.into_iter().partition(|m| m.key == "<<");
    for merge in merges {
        let bases = match merge.value.value {
            NodeValue::Object(_) => vec![merge.value],
            NodeValue::Array(items) => items,
            _ => Vec::new(),
        };
        for base in bases {
            if let NodeValue::Object(base_members) = base.value {
                for member in base_members {
                    if !own.iter().any(|m| m.key == member.key) {
                        own.push(member);
                    }
                }
            }
        }
    }
    own
}

fn size(node: &Node) -> usize {
    match &node.value {
        NodeValue::Array(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeValue::Object(members) => 1 + members.iter().map(|m| 1 + size(&m.value)).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core schema: a plain scalar may be null, a boolean or a number; anything quoted,
/// block-styled or tagged `!!str` is a string.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeValue {
    let forced_string = tag.is_some_and(|t| t.suffix == "str");
    if style != ScalarStyle::Plain || forced_string {
        return NodeValue::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => NodeValue::Null,
        "true" | "True" | "TRUE" => NodeValue::Bool(true),
        "false" | "False" | "FALSE" => NodeValue::Bool(false),
        _ if is_number(text) => NodeValue::Number(text.to_string()),
        _ => NodeValue::String(text.to_string()),
    }
}

fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let decimal = !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.parse::<f64>().is_ok()
        && !digits.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E');
    decimal || text.starts_with("0x") || text.starts_with("0o")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn keeps_positions_of_list_items_and_keys() {
        let text =
            "name: cfg\nmcpServers:\n  - name: sqlite\n    command: npx\n    args: [\"-y\", pkg]\n";
        let root = parse(text).unwrap();
        let servers = root.get("mcpServers").unwrap().as_array().unwrap();
        assert_eq!(servers[0].at, at(3, 5));
        assert_eq!(servers[0].member("command").unwrap().key_at, at(4, 5));
        assert_eq!(servers[0].get("command").unwrap().at, at(4, 14));
        let args = servers[0].get("args").unwrap().as_array().unwrap();
        assert_eq!(args[1].at, at(5, 18));
    }

    #[test]
    fn types_plain_scalars_and_keeps_quoted_ones_as_text() {
        let root = parse("a: true\nb: 'true'\nc: 8080\nd: ~\ne: 1.0.2\nf: !!str 12\n").unwrap();
        assert_eq!(root.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(root.get("b").unwrap().as_str(), Some("true"));
        assert_eq!(root.get("c").unwrap().kind(), "a number");
        assert!(root.get("d").unwrap().is_null());
        assert_eq!(root.get("e").unwrap().as_str(), Some("1.0.2"));
        assert_eq!(root.get("f").unwrap().as_str(), Some("12"));
    }

    #[test]
    fn expands_aliases_and_merge_keys() {
        let text = "base: &base\n  cmd: npx\n  timeout: 300\ngithub:\n  <<: *base\n  timeout: 60\nlist: *base\n";
        let root = parse(text).unwrap();
        let github = root.get("github").unwrap();
        assert_eq!(github.get("cmd").unwrap().as_str(), Some("npx"));
        assert_eq!(
            github.get("timeout").unwrap().scalar_text().as_deref(),
            Some("60")
        );
        assert!(github.get("<<").is_none());
        assert_eq!(root.path(&["list", "cmd"]).unwrap().as_str(), Some("npx"));
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text).unwrap_err().message.contains("aliases"));
    }

    #[test]
    fn errors_carry_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.at.line >= 1, "{error}");
        assert!(parse("a: *nothing\n").is_err());
    }

    #[test]
    fn reads_only_the_first_document_and_an_empty_one_as_null() {
        assert_eq!(
            parse("a: 1\n---\nb: 2\n").unwrap().to_json(),
            serde_json::json!({"a": 1})
        );
        assert!(parse("").unwrap().is_null());
        assert!(parse("# only a comment\n").unwrap().is_null());
    }
}
