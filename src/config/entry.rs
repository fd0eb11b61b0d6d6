//! Reading one server entry of the shape most clients share (`command`, `args`, `env`, `url`,
//! `headers`) into a `Server`, and the small readers every format uses for lists and maps of
//! settings. Positions become locations here; a misshapen entry becomes an error naming its line.

use super::syntax::{Member, Node, NodeValue, Position};
use super::{ConfigError, Launch, Located, Server, Setting, Transport};
use crate::finding::Location;

/// The file being read: turns positions into locations and problems into errors.
pub(super) struct Source<'a> {
    path: &'a str,
}

/// Which keys an entry spells each setting with; the first present wins.
pub(super) struct Keys {
    pub command: &'static [&'static str],
    pub args: &'static [&'static str],
    pub env: &'static [&'static str],
    pub url: &'static [&'static str],
    pub headers: &'static [&'static str],
}

/// `mcpServers` and its relatives (Claude, Cursor, Windsurf's `serverUrl`, Gemini's `httpUrl`,
/// VS Code, Kiro, Cline, Continue, Codex's `http_headers`).
pub(super) const COMMON_KEYS: Keys = Keys {
    command: &["command"],
    args: &["args"],
    env: &["env"],
    url: &["url", "serverUrl", "httpUrl"],
    headers: &["headers", "http_headers"],
};

impl<'a> Source<'a> {
    pub(super) fn new(path: &'a str) -> Self {
        Source { path }
    }

    pub(super) fn location(&self, at: Position) -> Location {
        Location::at(self.path, at.line, at.column)
    }

    pub(super) fn error(&self, at: Position, problem: impl Into<String>) -> ConfigError {
        ConfigError::Shape {
            path: self.path.to_string(),
            at,
            problem: problem.into(),
        }
    }

    /// The members of the object under `key`: none when it is absent, an error when it is not
    /// an object.
    pub(super) fn members<'n>(
        &self,
        parent: &'n Node,
        key: &str,
    ) -> Result<&'n [Member], ConfigError> {
        match parent.get(key) {
            None => Ok(&[]),
            Some(node) => node.as_object().ok_or_else(|| {
                self.error(
                    node.at,
                    format!("`{key}` is {}, not an object", node.kind()),
                )
            }),
        }
    }

    /// The items of the list under `key`: none when it is absent, an error when it is not a list.
    pub(super) fn items<'n>(&self, parent: &'n Node, key: &str) -> Result<&'n [Node], ConfigError> {
        match parent.get(key) {
            None => Ok(&[]),
            Some(node) => node.as_array().ok_or_else(|| {
                self.error(node.at, format!("`{key}` is {}, not a list", node.kind()))
            }),
        }
    }

    /// A scalar as text, with its location.
    pub(super) fn text(&self, node: &Node, what: &str) -> Result<Located<String>, ConfigError> {
        let value = node
            .scalar_text()
            .ok_or_else(|| self.error(node.at, format!("{what} is {}, not text", node.kind())))?;
        Ok(Located {
            value,
            location: self.location(node.at),
        })
    }

    /// A list of scalars, such as `args`.
    pub(super) fn texts(
        &self,
        node: &Node,
        what: &str,
    ) -> Result<Vec<Located<String>>, ConfigError> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        let items = node
            .as_array()
            .ok_or_else(|| self.error(node.at, format!("{what} is {}, not a list", node.kind())))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.text(item, &format!("{what}[{i}]")))
            .collect()
    }

    /// Env variables or headers: a map of names to values (`null` meaning "no value"), a list
    /// of `NAME=value` strings, or a list of `{name, value}` objects.
    pub(super) fn settings(&self, node: &Node, what: &str) -> Result<Vec<Setting>, ConfigError> {
        match &node.value {
            NodeValue::Null => Ok(Vec::new()),
            NodeValue::Object(members) => members
                .iter()
                .map(|member| {
                    let value = match &member.value.value {
                        NodeValue::Null => None,
                        NodeValue::Array(_) | NodeValue::Object(_) => {
                            return Err(self.error(
                                member.value.at,
                                format!(
                                    "{what}.{} is {}, not text",
                                    member.key,
                                    member.value.kind()
                                ),
                            ));
                        }
                        _ => member.value.scalar_text(),
                    };
                    Ok(Setting {
                        name: member.key.clone(),
                        value,
                        location: self.location(member.value.at),
                    })
                })
                .collect(),
            NodeValue::Array(items) => items
                .iter()
                .map(|item| match item.as_str() {
                    Some(pair) => {
                        let (name, value) = match pair.split_once('=') {
                            Some((name, value)) => (name, Some(value.to_string())),
                            None => (pair, None),
                        };
                        Ok(Setting {
                            name: name.to_string(),
                            value,
                            location: self.location(item.at),
                        })
                    }
                    None => self.named_setting(item, what),
                })
                .collect(),
            _ => Err(self.error(node.at, format!("{what} is {}, not a map", node.kind()))),
        }
    }

    /// `{name: X, value: Y}` (registry and catalogue style); `value` may be absent.
    pub(super) fn named_setting(&self, item: &Node, what: &str) -> Result<Setting, ConfigError> {
        let name = item
            .get("name")
            .and_then(Node::scalar_text)
            .ok_or_else(|| self.error(item.at, format!("an entry of {what} has no `name`")))?;
        let value_node = item.get_any(&["value", "default"]);
        Ok(Setting {
            name,
            value: value_node.and_then(Node::scalar_text),
            location: self.location(value_node.map_or(item.at, |v| v.at)),
        })
    }

    /// A server entry in the common shape. `name` and `at` are its key (or list item).
    pub(super) fn server(
        &self,
        name: &str,
        at: Position,
        entry: &Node,
        keys: &Keys,
    ) -> Result<Server, ConfigError> {
        if entry.as_object().is_none() {
            return Err(self.error(
                entry.at,
                format!("server `{name}` is {}, not an object", entry.kind()),
            ));
        }
        let launch = if let Some(command) = entry.get_any(keys.command) {
            let command = self.text(command, &format!("`{name}`.command"))?;
            let args = match entry.get_any(keys.args) {
                Some(args) => self.texts(args, &format!("`{name}`.args"))?,
                None => Vec::new(),
            };
            Launch::from_command(command, args)
        } else if let Some((url_key, url)) = first_present(entry, keys.url) {
            let url = self.text(url, &format!("`{name}`.{url_key}"))?;
            Launch::Remote {
                url,
                transport: self.transport(entry, url_key),
            }
        } else {
            return Err(self.error(
                at,
                format!("server `{name}` has neither a command nor a url"),
            ));
        };
        Ok(Server {
            name: name.to_string(),
            location: self.location(at),
            launch,
            env: self.optional_settings(entry, keys.env, name)?,
            headers: self.optional_settings(entry, keys.headers, name)?,
            raw: entry.to_json(),
        })
    }

    pub(super) fn optional_settings(
        &self,
        entry: &Node,
        keys: &[&'static str],
        name: &str,
    ) -> Result<Vec<Setting>, ConfigError> {
        match first_present(entry, keys) {
            Some((key, node)) => self.settings(node, &format!("`{name}`.{key}")),
            None => Ok(Vec::new()),
        }
    }

    /// Gemini's `httpUrl` is streamable HTTP and its `url` SSE; elsewhere `type` or
    /// `transport` says.
    fn transport(&self, entry: &Node, url_key: &str) -> Transport {
        if url_key == "httpUrl" {
            return Transport::StreamableHttp;
        }
        entry
            .get_any(&["type", "transport", "transportType"])
            .and_then(Node::as_str)
            .map_or(Transport::Unspecified, Transport::from_name)
    }
}

/// The first of `keys` an entry has, with its value.
fn first_present<'n>(entry: &'n Node, keys: &[&'static str]) -> Option<(&'static str, &'n Node)> {
    keys.iter()
        .find_map(|key| entry.get(key).map(|node| (*key, node)))
}
