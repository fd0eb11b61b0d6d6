//! `mcp-audit.lock`: what was approved for each server (how it is launched, the image digest and
//! signer, and everything its capture showed, each definition with a canonical hash and its full
//! text), read and written. Writing is atomic and serialised between concurrent runs; a file
//! that is corrupt or from a newer version is an error, never overwritten. Comparing an approved
//! entry with what a server shows now is `compare`'s job.

pub mod compare;

use crate::capture::Capture;
use crate::config::{Launch, Server, Transport, launcher, secrets};
use crate::finding::visible_whole;
use crate::output::{self, OutputError, parent_dir};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// The lockfile's name, looked for beside the first config.
pub const LOCKFILE_NAME: &str = "mcp-audit.lock";

/// The format version this build reads and writes.
pub const LOCKFILE_VERSION: u64 = 1;

/// The largest lockfile read: thirteen real servers lock in 0.2 MB, so this leaves room for
/// servers with thousands of tools while a planted file cannot take the machine's memory.
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// The path and what the file holds are shown with control characters made visible.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("cannot read the lockfile {}: {source}", visible_whole(path))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the lockfile {} is corrupt: {}; it was left as it is (restore it from version control, or delete it and run `mcp-audit lock`)",
        visible_whole(path),
        visible_whole(problem)
    )]
    Corrupt { path: String, problem: String },
    #[error(
        "the lockfile {} has format version {version}, newer than this mcp-audit reads ({LOCKFILE_VERSION}); upgrade mcp-audit rather than rewrite it",
        visible_whole(path)
    )]
    Newer { path: String, version: u64 },
    #[error("cannot write the lockfile {}: {source}", visible_whole(path))]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The whole file. Entries are kept sorted, so the file is stable byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    pub version: u64,
    pub servers: Vec<LockedServer>,
}

/// One approved server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedServer {
    pub name: String,
    /// The config that declares it, relative to the lockfile's directory with `/` separators;
    /// absent for a server locked from a saved capture (`--tools`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LockedLaunch>,
    /// The image reference as the config writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The digest of the single-platform manifest that ran, checked at the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Who signed that image: the key's fingerprint (`key sha256:HEX` of its DER encoding,
    /// whatever the key file is called), or a keyless signature's `identity (issuer)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// What the server offered; absent for servers that are not captured (host and remote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<LockedCapture>,
}

/// How the server is started or reached, secrets redacted (the lockfile is committed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LockedLaunch {
    Container { argv: Vec<String> },
    Host { argv: Vec<String> },
    Remote { url: String, transport: String },
}

impl LockedLaunch {
    pub fn of(launch: &Launch) -> LockedLaunch {
        let argv = |launchers, command, args| {
            let line = launcher::written(launchers, command, args);
            secrets::redact_args(line.iter().map(|word| word.value.as_str()))
        };
        match launch {
            Launch::Container {
                command,
                args,
                launchers,
                ..
            } => LockedLaunch::Container {
                argv: argv(launchers, command, args),
            },
            Launch::Host {
                command,
                args,
                launchers,
            } => LockedLaunch::Host {
                argv: argv(launchers, command, args),
            },
            Launch::Remote { url, transport } => LockedLaunch::Remote {
                url: secrets::redact_text(&url.value),
                transport: match transport {
                    Transport::StreamableHttp => "streamable-http",
                    Transport::Sse => "sse",
                    Transport::Unspecified => "unspecified",
                }
                .to_string(),
            },
        }
    }

    /// One line, as a shell would show it.
    pub fn describe(&self) -> String {
        match self {
            LockedLaunch::Container { argv } | LockedLaunch::Host { argv } => argv.join(" "),
            LockedLaunch::Remote { url, transport } => format!("{url} ({transport})"),
        }
    }
}

/// A capture as locked: each definition with its hash, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedCapture {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default)]
    pub tools: Vec<LockedItem>,
    #[serde(default)]
    pub prompts: Vec<LockedItem>,
    #[serde(default)]
    pub resources: Vec<LockedItem>,
    #[serde(default)]
    pub resource_templates: Vec<LockedItem>,
}

/// One tool, prompt, resource or template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedItem {
    /// What identifies it within its kind: a tool's or prompt's `name`, a resource's `uri`, a
    /// template's `uriTemplate`.
    pub id: String,
    /// `sha256:` and the hex SHA-256 of the RFC 8785 canonical JSON of `definition`.
    pub hash: String,
    /// The whole definition as the server sent it.
    pub definition: Value,
}

/// The four kinds of definition a capture holds, with the key that identifies each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Tool,
    Prompt,
    Resource,
    ResourceTemplate,
}

impl ItemKind {
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Tool,
        ItemKind::Prompt,
        ItemKind::Resource,
        ItemKind::ResourceTemplate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Tool => "tool",
            ItemKind::Prompt => "prompt",
            ItemKind::Resource => "resource",
            ItemKind::ResourceTemplate => "resource template",
        }
    }

    fn key(self) -> &'static str {
        match self {
            ItemKind::Tool | ItemKind::Prompt => "name",
            ItemKind::Resource => "uri",
            ItemKind::ResourceTemplate => "uriTemplate",
        }
    }

    pub fn items(self, capture: &LockedCapture) -> &[LockedItem] {
        match self {
            ItemKind::Tool => &capture.tools,
            ItemKind::Prompt => &capture.prompts,
            ItemKind::Resource => &capture.resources,
            ItemKind::ResourceTemplate => &capture.resource_templates,
        }
    }
}

impl LockedCapture {
    pub fn of(capture: &Capture) -> LockedCapture {
        let items = |kind: ItemKind, values: &[Value]| {
            let mut items: Vec<LockedItem> = values
                .iter()
                .map(|definition| LockedItem {
                    id: definition
                        .get(kind.key())
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    hash: canonical_hash(definition),
                    definition: sorted(definition),
                })
                .collect();
            items.sort_by(|a, b| (&a.id, &a.hash).cmp(&(&b.id, &b.hash)));
            items
        };
        LockedCapture {
            protocol_version: capture.protocol_version.clone(),
            server_info: capture.server_info.as_ref().map(sorted),
            capabilities: capture.capabilities.as_ref().map(sorted),
            instructions: capture.instructions.clone(),
            tools: items(ItemKind::Tool, &capture.tools),
            prompts: items(ItemKind::Prompt, &capture.prompts),
            resources: items(ItemKind::Resource, &capture.resources),
            resource_templates: items(ItemKind::ResourceTemplate, &capture.resource_templates),
        }
    }

    /// The capture again, for the rules to read when `scan --offline` runs on the lockfile.
    pub fn to_capture(&self, server: &str, source: &Path) -> Capture {
        let values = |items: &[LockedItem]| items.iter().map(|i| i.definition.clone()).collect();
        Capture {
            server: server.to_string(),
            source: source.to_path_buf(),
            tools: values(&self.tools),
            prompts: values(&self.prompts),
            resources: values(&self.resources),
            resource_templates: values(&self.resource_templates),
            instructions: self.instructions.clone(),
            protocol_version: self.protocol_version.clone(),
            server_info: self.server_info.clone(),
            capabilities: self.capabilities.clone(),
            location: None,
        }
    }
}

impl LockedServer {
    /// The entry for a server declared in a config, from what this run found out about it.
    pub fn of_config(server: &Server, config: &str) -> LockedServer {
        let image = match &server.launch {
            Launch::Container { docker_run, .. } => {
                docker_run.image.as_ref().map(|i| i.text.clone())
            }
            _ => None,
        };
        LockedServer {
            name: server.name.clone(),
            config: Some(config.to_string()),
            launch: Some(LockedLaunch::of(&server.launch)),
            image,
            digest: None,
            platform: None,
            signer: None,
            capture: None,
        }
    }

    /// The entry for a saved capture, which has no config.
    pub fn of_capture(capture: &Capture) -> LockedServer {
        LockedServer {
            name: capture.server.clone(),
            config: None,
            launch: None,
            image: None,
            digest: None,
            platform: None,
            signer: None,
            capture: Some(LockedCapture::of(capture)),
        }
    }

    /// What tells two entries apart: a server's name is unique within its config only.
    pub fn key(&self) -> (Option<&str>, &str) {
        (self.config.as_deref(), self.name.as_str())
    }
}

/// `sha256:HEX` of the RFC 8785 canonical form: the same definition hashes the same whatever
/// the key order or number spelling the server sent.
pub fn canonical_hash(definition: &Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(definition)
        .unwrap_or_else(|_| definition.to_string().into_bytes());
    format!("sha256:{:x}", Sha256::digest(canonical))
}

/// The value with every object's keys in sorted order, so the file reads and diffs the same
/// whatever order the server sent them in.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                out.insert(key.clone(), sorted(&map[key]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

impl Lockfile {
    pub fn new(mut servers: Vec<LockedServer>) -> Lockfile {
        servers.sort_by(|a, b| a.key().cmp(&b.key()));
        Lockfile {
            version: LOCKFILE_VERSION,
            servers,
        }
    }

    /// The file's text: pretty JSON, keys and entries sorted, one newline at the end.
    pub fn to_text(&self) -> String {
        let value = serde_json::to_value(Lockfile::new(self.servers.clone()))
            .map(|v| sorted(&v))
            .unwrap_or(Value::Null);
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parse a lockfile's text, checking its version first and every hash against its
    /// definition, so a hand-edited definition cannot pass for the approved one.
    pub fn parse(text: &str, path: &str) -> Result<Lockfile, LockfileError> {
        let corrupt = |problem: String| LockfileError::Corrupt {
            path: path.to_string(),
            problem,
        };
        let value =
            crate::json::parse_document(text.as_bytes()).map_err(|e| corrupt(e.to_string()))?;
        let version = value
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| corrupt("no numeric `version` field".to_string()))?;
        if version > LOCKFILE_VERSION {
            return Err(LockfileError::Newer {
                path: path.to_string(),
                version,
            });
        }
        let lockfile: Lockfile =
            serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for server in &lockfile.servers {
            if !seen.insert(server.key()) {
                return Err(corrupt(format!(
                    "the server `{}` is locked twice for one config",
                    server.name
                )));
            }
            let Some(capture) = &server.capture else {
                continue;
            };
            for kind in ItemKind::ALL {
                for item in kind.items(capture) {
                    if canonical_hash(&item.definition) != item.hash {
                        return Err(corrupt(format!(
                            "the hash of {} `{}` of server `{}` does not match its definition",
                            kind.as_str(),
                            item.id,
                            server.name
                        )));
                    }
                }
            }
        }
        Ok(lockfile)
    }

    /// Read a lockfile; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Lockfile>, LockfileError> {
        let shown = path.display().to_string();
        match crate::input::read_capped(path, MAX_LOCKFILE_BYTES) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| LockfileError::Read {
                    path: shown.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
                })?;
                Lockfile::parse(&text, &shown).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LockfileError::Read {
                path: shown,
                source,
            }),
        }
    }

    /// The entry for `key`.
    pub fn get(&self, key: (Option<&str>, &str)) -> Option<&LockedServer> {
        self.servers.iter().find(|s| s.key() == key)
    }
}

/// The lockfile's directory, held locked: while it lives no other run reads-and-writes the
/// lockfile, so two concurrent `lock` runs cannot interleave or lose each other's entries.
pub struct LockfileGuard {
    path: PathBuf,
    /// Held, not read: dropping it releases the lock.
    _directory: File,
}

impl LockfileGuard {
    /// Wait for and take the lock on the directory `path` is in.
    pub fn acquire(path: &Path) -> Result<LockfileGuard, LockfileError> {
        let write_error = |source| LockfileError::Write {
            path: path.display().to_string(),
            source,
        };
        let directory = File::open(parent_dir(path)).map_err(write_error)?;
        directory.lock().map_err(write_error)?;
        Ok(LockfileGuard {
            path: path.to_path_buf(),
            _directory: directory,
        })
    }

    pub fn read(&self) -> Result<Option<Lockfile>, LockfileError> {
        Lockfile::read(&self.path)
    }

    /// Replace the lockfile atomically (`output::replace_file`): a crash at any point leaves
    /// either the old file or the new one, never a mix. It never replaces one of `inputs`.
    pub fn write(&self, lockfile: &Lockfile, inputs: &[PathBuf]) -> Result<(), LockfileError> {
        remove_stale_temporaries(&self.path);
        output::replace_file(&self.path, lockfile.to_text().as_bytes(), inputs)?;
        Ok(())
    }
}

/// Remove the temporary files of runs killed while writing `path` (a crash, `SIGXFSZ`, power
/// loss), which would otherwise stay beside the lockfile for good. Only a run holding the
/// directory lock writes one, and this one holds it, so every one found is stale. Best effort:
/// a file that cannot be removed is no reason not to write the lockfile.
fn remove_stale_temporaries(path: &Path) {
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return;
    };
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix)
            && name.ends_with(output::TEMPORARY_SUFFIX)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The lockfile for configs: `mcp-audit.lock` in the first path when it is a directory, else
/// beside the first config file.
pub fn default_path(first: &Path) -> PathBuf {
    if first.is_dir() {
        first.join(LOCKFILE_NAME)
    } else {
        parent_dir(first).join(LOCKFILE_NAME)
    }
}

/// `config` as the lockfile names it: relative to the lockfile's directory, `/`-separated, so
/// the file means the same on every checkout.
pub fn config_key(lockfile: &Path, config: &str) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let base = normalise(&absolute(parent_dir(lockfile)));
    let target = normalise(&absolute(Path::new(config)));
    let common = base
        .components()
        .zip(target.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = base
        .components()
        .skip(common)
        .map(|_| "..".into())
        .collect();
    parts.extend(
        target
            .components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// `a/./b/../c` as `a/c`, without touching the file system (a config may be a symlink).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_key_order_and_number_spelling() {
        let a = json!({"name": "t", "inputSchema": {"type": "object", "maxItems": 10}});
        let b: Value =
            serde_json::from_str(r#"{"inputSchema":{"maxItems":1e1,"type":"object"},"name":"t"}"#)
                .unwrap();
        assert_eq!(canonical_hash(&a), canonical_hash(&b));
        assert_ne!(canonical_hash(&a), canonical_hash(&json!({"name": "u"})));
    }

    #[test]
    fn text_is_sorted_and_round_trips() {
        let capture = Capture {
            server: "s".into(),
            tools: vec![
                json!({"name": "zeta", "description": "z"}),
                json!({"name": "alpha", "description": "a", "inputSchema": {"type": "object"}}),
            ],
            ..Capture::default()
        };
        let lockfile = Lockfile::new(vec![LockedServer::of_capture(&capture)]);
        let text = lockfile.to_text();
        assert!(text.find("\"alpha\"").unwrap() < text.find("\"zeta\"").unwrap());
        assert!(text.find("\"definition\"").unwrap() < text.find("\"hash\"").unwrap());
        let again = Lockfile::parse(&text, "x").unwrap();
        assert_eq!(again.to_text(), text);
    }

    #[test]
    fn an_edited_definition_is_corrupt() {
        let capture = Capture {
            server: "s".into(),
            tools: vec![json!({"name": "t", "description": "honest"})],
            ..Capture::default()
        };
        let text = Lockfile::new(vec![LockedServer::of_capture(&capture)])
            .to_text()
            .replace("honest", "edited");
        let error = Lockfile::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(error.contains("hash of tool `t`"), "{error}");
    }

    #[test]
    fn newer_and_garbled_files_are_refused() {
        let newer = Lockfile::parse(r#"{"version": 7, "servers": []}"#, "x.lock");
        assert!(matches!(
            newer,
            Err(LockfileError::Newer { version: 7, .. })
        ));
        let garbled = Lockfile::parse(r#"{"version": 1, "servers": [{"nam"#, "x.lock");
        assert!(matches!(garbled, Err(LockfileError::Corrupt { .. })));
        let unknown = Lockfile::parse(r#"{"version": 1, "servers": [], "extra": 1}"#, "x.lock");
        assert!(matches!(unknown, Err(LockfileError::Corrupt { .. })));
    }

    #[test]
    fn errors_show_the_path_with_control_characters_made_visible() {
        let error = Lockfile::parse("garbage", "repo\u{1b}[2J\n/mcp-audit.lock")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("the lockfile repo<U+001B>[2J /mcp"),
            "{error}"
        );
        assert!(!error.chars().any(char::is_control), "{error:?}");
    }

    #[test]
    fn config_keys_are_relative_to_the_lockfile() {
        assert_eq!(
            config_key(Path::new("demo/mcp-audit.lock"), "demo/.mcp.json"),
            ".mcp.json"
        );
        assert_eq!(
            config_key(Path::new("mcp-audit.lock"), "./agents/a/mcp.json"),
            "agents/a/mcp.json"
        );
        assert_eq!(
            config_key(Path::new("a/mcp-audit.lock"), "b/mcp.json"),
            "../b/mcp.json"
        );
    }
}
