//! Config files: finding the MCP client configs in a tree, reading each format into `Server`s
//! that remember the file, line and column they were declared at, and linting them. Nothing here
//! touches a registry, a container or the network; it reads files and nothing else.

/// A fixture config read as the scanner reads it, for the format readers' tests; the path is
/// relative to `fixtures/configs`.
#[cfg(test)]
macro_rules! fixture {
    ($path:literal) => {
        crate::config::read_fixture(
            $path,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/configs/",
                $path
            )),
        )
    };
}

pub mod discovery;
pub mod docker_args;
mod entry;
mod json_formats;
pub mod launcher;
pub mod lint;
mod registry_json;
pub mod secrets;
pub mod syntax;
mod toml_formats;
mod yaml_formats;

use crate::finding::{Location, visible_whole};
use docker_args::{DockerRun, Runtime};
use launcher::Launcher;
use serde::Serialize;
use std::path::{Path, PathBuf};
use syntax::{Node, Position, Syntax};

pub use discovery::{DiscoveryError, discover};

/// A value read from a config, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    pub value: T,
    pub location: Location,
}

/// An env variable or an HTTP header. `value` is `None` when the config names it without giving
/// a value (`-e NAME`, an `inputs` prompt, a registry `environmentVariables` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: String,
    pub value: Option<String>,
    pub location: Location,
}

/// How a remote server is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    StreamableHttp,
    Sse,
    /// The config does not say; clients try streamable HTTP, then SSE.
    Unspecified,
}

impl Transport {
    /// The transport a config's `type` (or `transport`) value names.
    pub fn from_name(name: &str) -> Transport {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "sse" => Transport::Sse,
            "http" | "streamablehttp" | "streamable" => Transport::StreamableHttp,
            _ => Transport::Unspecified,
        }
    }
}

/// How a server is started or reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `docker run …`, `podman run …` or `nerdctl run …`: `args` are everything after the
    /// runtime's name, and `docker_run` indexes into them.
    Container {
        runtime: Runtime,
        command: Located<String>,
        args: Vec<Located<String>>,
        docker_run: DockerRun,
        /// The launchers the config starts it through (`cmd /c`, `sudo`), outermost first.
        launchers: Vec<Launcher>,
    },
    /// A program run on the host: `npx`, `uvx`, `node`, a binary.
    Host {
        command: Located<String>,
        args: Vec<Located<String>>,
        launchers: Vec<Launcher>,
    },
    /// A server reached over HTTP.
    Remote {
        url: Located<String>,
        transport: Transport,
    },
}

impl Launch {
    /// A command line, launchers taken off: in a container when it is a runtime's `run`, else
    /// on the host.
    pub fn from_command(command: Located<String>, args: Vec<Located<String>>) -> Launch {
        let launcher::Unwrapped {
            launchers,
            command,
            args,
        } = launcher::unwrap(command, args);
        if let Some(runtime) = Runtime::from_command(&command.value) {
            let texts: Vec<String> = args.iter().map(|a| a.value.clone()).collect();
            if let Some(docker_run) = docker_args::parse_run(runtime, &texts) {
                return Launch::Container {
                    runtime,
                    command,
                    args,
                    docker_run,
                    launchers,
                };
            }
        }
        Launch::Host {
            command,
            args,
            launchers,
        }
    }

    /// One line for reports: `container mcp/github:1.2`, `host npx -y pkg`, `remote https://…`.
    /// Secrets in it are redacted.
    pub fn describe(&self) -> String {
        let text = match self {
            Launch::Container {
                runtime,
                docker_run,
                ..
            } => match &docker_run.image {
                Some(image) => format!("{} container {}", runtime.as_str(), image.text),
                None => format!("{} container (no image)", runtime.as_str()),
            },
            Launch::Host { command, args, .. } => {
                let shown = secrets::redact_args(args.iter().take(6).map(|a| a.value.as_str()));
                let mut line = format!("host {}", command.value);
                for arg in shown {
                    line.push(' ');
                    line.push_str(&arg);
                }
                if args.len() > 6 {
                    line.push_str(" …");
                }
                line
            }
            Launch::Remote { url, .. } => format!("remote {}", url.value),
        };
        secrets::redact_text(&text)
    }
}

/// One MCP server declared in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub name: String,
    /// Where the server's entry starts: its key, or its list item.
    pub location: Location,
    pub launch: Launch,
    pub env: Vec<Setting>,
    pub headers: Vec<Setting>,
    /// The entry as written, every key kept, including those this reader does not know.
    pub raw: serde_json::Value,
}

/// The config formats read. Several clients share one format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// `mcpServers`: Claude Desktop, Claude Code, Cursor, Windsurf, Gemini CLI, Kiro, Cline.
    McpServers,
    /// `servers` or `mcp.servers` with `inputs`: VS Code.
    VsCode,
    /// `context_servers`: Zed.
    Zed,
    /// `mcp`, commands as argv lists: OpenCode.
    OpenCode,
    /// `[mcp_servers.NAME]`: Codex.
    Codex,
    /// `mcpServers` as a list: Continue.
    Continue,
    /// `extensions`: Goose.
    Goose,
    /// A Docker MCP catalogue `server.yaml`.
    DockerCatalog,
    /// An official MCP Registry `server.json`.
    McpRegistry,
}

impl ConfigFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFormat::McpServers => "mcpServers",
            ConfigFormat::VsCode => "VS Code",
            ConfigFormat::Zed => "Zed",
            ConfigFormat::OpenCode => "OpenCode",
            ConfigFormat::Codex => "Codex",
            ConfigFormat::Continue => "Continue",
            ConfigFormat::Goose => "Goose",
            ConfigFormat::DockerCatalog => "Docker MCP catalogue",
            ConfigFormat::McpRegistry => "MCP Registry server.json",
        }
    }
}

/// A key a client reads servers from. A file may hold several, and clients differ in which they
/// read (VS Code reads `servers` of `.vscode/mcp.json`, Claude its `mcpServers`), so every one
/// present is read: a decoy key must not hide the servers under another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Section {
    format: ConfigFormat,
    /// The key's path from the root; empty when the document itself is the entry.
    path: &'static [&'static str],
}

impl Section {
    const fn new(format: ConfigFormat, path: &'static [&'static str]) -> Section {
        Section { format, path }
    }

    /// The key as a reader names it, and where it is written.
    fn key(self, source: &entry::Source<'_>, root: &Node) -> Located<String> {
        let Some((last, parents)) = self.path.split_last() else {
            return Located {
                value: self.format.as_str().to_string(),
                location: source.location(root.at),
            };
        };
        let at = root
            .path(parents)
            .and_then(|parent| parent.member(last))
            .map_or(root.at, |m| m.key_at);
        Located {
            value: self.path.join("."),
            location: source.location(at),
        }
    }

    /// Every key of a parsed document that holds servers, in the order of precedence that gives
    /// the file its format; none when it is no MCP config.
    fn all(root: &Node, syntax: Syntax) -> Vec<Section> {
        use ConfigFormat::*;
        let is_object = |node: Option<&Node>| node.is_some_and(|n| n.as_object().is_some());
        let is_list = |node: Option<&Node>| node.is_some_and(|n| n.as_array().is_some());
        if root.as_object().is_none() {
            return Vec::new();
        }
        // Claude Code's own file may keep servers under its projects alone.
        let mcp_servers: &[&str] = if root.get("mcpServers").is_some() {
            &["mcpServers"]
        } else {
            &["projects"]
        };
        let candidates = match syntax {
            Syntax::Toml => vec![(
                Section::new(Codex, &["mcp_servers"]),
                is_object(root.get("mcp_servers")),
            )],
            Syntax::Yaml => vec![
                (
                    Section::new(Continue, &["mcpServers"]),
                    is_list(root.get("mcpServers")),
                ),
                (
                    Section::new(McpServers, &["mcpServers"]),
                    is_object(root.get("mcpServers")),
                ),
                (
                    Section::new(Goose, &["extensions"]),
                    is_object(root.get("extensions")),
                ),
                (Section::new(DockerCatalog, &[]), catalogue_entry(root)),
            ],
            Syntax::Jsonc => {
                let schema = root.get("$schema").and_then(Node::as_str).unwrap_or("");
                vec![
                    (
                        Section::new(McpRegistry, &[]),
                        schema.contains("modelcontextprotocol.io/schemas")
                            || (root.get("name").is_some() && registry_entries(root)),
                    ),
                    (
                        Section::new(McpServers, mcp_servers),
                        is_object(root.get("mcpServers"))
                            || json_formats::has_project_servers(root),
                    ),
                    (
                        Section::new(VsCode, &["servers"]),
                        is_object(root.get("servers")),
                    ),
                    (
                        Section::new(VsCode, &["mcp", "servers"]),
                        json_formats::vscode_settings(root).is_some(),
                    ),
                    (
                        Section::new(Zed, &["context_servers"]),
                        is_object(root.get("context_servers")),
                    ),
                    (
                        Section::new(OpenCode, &["mcp"]),
                        json_formats::opencode_entries(root).next().is_some()
                            || root.get("mcp").and_then(Node::as_object) == Some(&[]),
                    ),
                ]
            }
        };
        candidates
            .into_iter()
            .filter_map(|(section, present)| present.then_some(section))
            .collect()
    }

    fn servers(self, source: &entry::Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
        match self.format {
            ConfigFormat::McpServers => json_formats::mcp_servers(source, root),
            // `servers` of the root, or of the `mcp` setting.
            ConfigFormat::VsCode => match self
                .path
                .split_last()
                .and_then(|(_, parents)| root.path(parents))
            {
                Some(parent) => json_formats::vscode(source, parent),
                None => Ok(Vec::new()),
            },
            ConfigFormat::Zed => json_formats::zed(source, root),
            ConfigFormat::OpenCode => json_formats::opencode(source, root),
            ConfigFormat::Codex => toml_formats::codex(source, root),
            ConfigFormat::Continue => yaml_formats::continue_servers(source, root),
            ConfigFormat::Goose => yaml_formats::goose(source, root),
            ConfigFormat::DockerCatalog => yaml_formats::docker_catalog(source, root),
            ConfigFormat::McpRegistry => registry_json::servers(source, root),
        }
    }
}

/// Whether a YAML document is a Docker MCP catalogue `server.yaml` rather than some other
/// program's.
fn catalogue_entry(root: &Node) -> bool {
    root.get("name").is_some()
        && (root.get("image").is_some()
            || root.get("remote").is_some_and(|r| r.as_object().is_some()))
        && matches!(
            root.get("type").and_then(Node::as_str),
            Some("server" | "remote" | "poci")
        )
}

/// Whether a `server.json` without the registry's `$schema` still describes registry packages or
/// remotes, rather than being some other program's `server.json`.
fn registry_entries(root: &Node) -> bool {
    let listed = |key: &str, marks: &[&str]| {
        root.get(key)
            .and_then(Node::as_array)
            .is_some_and(|items| items.iter().any(|item| item.get_any(marks).is_some()))
    };
    listed(
        "packages",
        &["registryType", "registry_type", "registry_name"],
    ) || listed("remotes", &["url"])
}

/// One config file that was read, and its servers in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    /// The path as reports show it: relative to the current directory when the file is under
    /// it (as GitHub code scanning needs), else as given.
    pub path: String,
    pub format: ConfigFormat,
    pub servers: Vec<Server>,
    /// Each key servers were read from, where it is written. More than one is a file that
    /// clients read differently.
    pub keys: Vec<Located<String>>,
}

/// Paths, keys and server names come from the input; each is shown as reports show it, with
/// control characters made visible, so a config cannot write escape sequences to a terminal.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", visible_whole(path))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{} is {size} bytes; a config larger than {MAX_CONFIG_BYTES} bytes is not read",
        visible_whole(path)
    )]
    TooLarge { path: String, size: u64 },
    #[error(
        "{}:{at}: not valid {syntax}: {}",
        visible_whole(path),
        visible_whole(message)
    )]
    Syntax {
        path: String,
        at: Position,
        syntax: &'static str,
        message: String,
    },
    #[error("{}:{at}: {}", visible_whole(path), visible_whole(problem))]
    Shape {
        path: String,
        at: Position,
        problem: String,
    },
    #[error(
        "{} is not an MCP config: it has no `mcpServers`, `servers`, `mcp.servers`, `context_servers`, `mcp`, `mcp_servers` or `extensions`, and is no catalogue `server.yaml` or registry `server.json`",
        visible_whole(path)
    )]
    NotAConfig { path: String },
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// Largest config read; client configs are kilobytes.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Read every config the paths name: a file is read whatever its name; a directory is searched
/// for the known config file names. Fails on the first unreadable or malformed config, and on a
/// directory that holds none.
pub fn load_configs(paths: &[PathBuf]) -> Result<Vec<ConfigFile>, ConfigError> {
    let cwd = std::env::current_dir().ok();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = discover(path)?;
            let mut read = 0;
            for candidate in found {
                let shown = display_path(&candidate.path, cwd.as_deref());
                if let Some(file) = read_candidate(&candidate.path, &shown, candidate.claim)? {
                    files.push(file);
                    read += 1;
                }
            }
            if read == 0 {
                return Err(DiscoveryError::NothingFound {
                    dir: display_path(path, cwd.as_deref()),
                    names: discovery::known_names(),
                }
                .into());
            }
        } else {
            let shown = display_path(path, cwd.as_deref());
            files.push(read_config(path, &shown)?);
        }
    }
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Read one file named on the command line: whatever its name, its content says the format.
pub fn read_config(path: &Path, shown: &str) -> Result<ConfigFile, ConfigError> {
    let claim = discovery::claim(path).unwrap_or(discovery::Claim::Named);
    let claim = match claim {
        discovery::Claim::Maybe | discovery::Claim::ClientFile => discovery::Claim::Named,
        other => other,
    };
    read_candidate(path, shown, claim)?.ok_or_else(|| ConfigError::NotAConfig {
        path: shown.to_string(),
    })
}

fn read_candidate(
    path: &Path,
    shown: &str,
    claim: discovery::Claim,
) -> Result<Option<ConfigFile>, ConfigError> {
    let text = match read_bounded(path, shown) {
        Ok(text) => text,
        // A generic name far from any client directory may be anyone's file; only a config's
        // problems are ours.
        Err(_) if claim == discovery::Claim::Maybe => return Ok(None),
        Err(error) => return Err(error),
    };
    match parse_config(shown, &text, syntax_of(path)) {
        Ok(Some(file)) => Ok(Some(file)),
        Ok(None) if claim == discovery::Claim::Dedicated => Ok(Some(ConfigFile {
            path: shown.to_string(),
            format: discovery::format_by_name(path).unwrap_or(ConfigFormat::McpServers),
            servers: Vec::new(),
            keys: Vec::new(),
        })),
        Ok(None) => Ok(None),
        Err(ConfigError::Syntax { .. }) if claim == discovery::Claim::Maybe => Ok(None),
        Err(error) => Err(error),
    }
}

/// A file's text, refusing one larger than any config.
fn read_bounded(path: &Path, shown: &str) -> Result<String, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: shown.to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: shown.to_string(),
            size,
        });
    }
    let bytes = crate::input::read_capped(path, MAX_CONFIG_BYTES).map_err(read_error)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The syntax a file name implies; `None` when it says nothing and the content must.
fn syntax_of(path: &Path) -> Option<Syntax> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json" | "jsonc") => Some(Syntax::Jsonc),
        Some("yaml" | "yml") => Some(Syntax::Yaml),
        Some("toml") => Some(Syntax::Toml),
        _ => None,
    }
}

/// Parse a config's text. `syntax` is what the file name implies; without it the content decides
/// (JSON when it opens with `{`, else TOML, else YAML). `Ok(None)`: well formed, but no MCP config.
pub fn parse_config(
    shown: &str,
    text: &str,
    syntax: Option<Syntax>,
) -> Result<Option<ConfigFile>, ConfigError> {
    let (root, syntax) = match syntax {
        Some(syntax) => (parse_syntax(shown, text, syntax)?, syntax),
        None => guess_syntax(shown, text)?,
    };
    let sections = Section::all(&root, syntax);
    let Some(first) = sections.first() else {
        return Ok(None);
    };
    let source = entry::Source::new(shown);
    let mut servers = Vec::new();
    let mut keys = Vec::new();
    for section in &sections {
        servers.extend(section.servers(&source, &root)?);
        keys.push(section.key(&source, &root));
    }
    Ok(Some(ConfigFile {
        path: shown.to_string(),
        format: first.format,
        servers,
        keys,
    }))
}

fn parse_syntax(shown: &str, text: &str, syntax: Syntax) -> Result<Node, ConfigError> {
    syntax::parse(text, syntax).map_err(|error| ConfigError::Syntax {
        path: shown.to_string(),
        at: error.at,
        syntax: syntax.as_str(),
        message: error.message,
    })
}

fn guess_syntax(shown: &str, text: &str) -> Result<(Node, Syntax), ConfigError> {
    let opening = text
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .chars()
        .next();
    if matches!(opening, Some('{') | Some('/')) {
        return Ok((parse_syntax(shown, text, Syntax::Jsonc)?, Syntax::Jsonc));
    }
    if let Ok(root) = syntax::parse(text, Syntax::Toml)
        && root.as_object().is_some_and(|m| !m.is_empty())
    {
        return Ok((root, Syntax::Toml));
    }
    Ok((parse_syntax(shown, text, Syntax::Yaml)?, Syntax::Yaml))
}

/// How a path is shown in reports and locations: relative to `cwd` when under it, with `/`
/// separators and no `./`, so SARIF can point GitHub at it.
pub fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let relative = if path.is_absolute() {
        cwd.and_then(|cwd| path.strip_prefix(cwd).ok())
    } else {
        Some(path)
    };
    match relative {
        Some(relative) => {
            let parts: Vec<String> = relative
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.is_empty() {
                ".".to_string()
            } else {
                parts.join("/")
            }
        }
        None => path.to_string_lossy().into_owned(),
    }
}

/// A fixture file read as the scanner reads it, for the format readers' tests.
#[cfg(test)]
pub(crate) fn read_fixture(path: &str, text: &str) -> ConfigFile {
    match parse_config(path, text, syntax_of(Path::new(path))) {
        Ok(Some(file)) => file,
        other => panic!("{path}: {other:?}"),
    }
}

/// Test shorthands: a server by name, and where a location points.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn server<'a>(file: &'a ConfigFile, name: &str) -> &'a Server {
        file.servers
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no server {name} in {}", file.path))
    }

    pub fn names(file: &ConfigFile) -> Vec<&str> {
        file.servers.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn line_col(location: &Location) -> (u32, u32) {
        (location.line.unwrap_or(0), location.column.unwrap_or(0))
    }

    pub fn image(server: &Server) -> (&str, (u32, u32)) {
        match &server.launch {
            Launch::Container {
                args, docker_run, ..
            } => {
                let image = docker_run.image.as_ref().expect("an image");
                (image.text.as_str(), line_col(&args[image.index].location))
            }
            other => panic!("{} is not a container: {other:?}", server.name),
        }
    }

    pub fn host(server: &Server) -> (&str, Vec<&str>) {
        match &server.launch {
            Launch::Host { command, args, .. } => (
                command.value.as_str(),
                args.iter().map(|a| a.value.as_str()).collect(),
            ),
            other => panic!("{} is not a host command: {other:?}", server.name),
        }
    }

    pub fn remote(server: &Server) -> (&str, Transport) {
        match &server.launch {
            Launch::Remote { url, transport } => (url.value.as_str(), *transport),
            other => panic!("{} is not remote: {other:?}", server.name),
        }
    }

    pub fn setting<'a>(settings: &'a [Setting], name: &str) -> (Option<&'a str>, (u32, u32)) {
        let setting = settings
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no setting {name}"));
        (setting.value.as_deref(), line_col(&setting.location))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str) -> Located<String> {
        Located {
            value: text.to_string(),
            location: Location::at("mcp.json", 1, 1),
        }
    }

    #[test]
    fn display_paths_are_relative_with_forward_slashes() {
        let cwd = Path::new("/repo");
        assert_eq!(
            display_path(Path::new("./.vscode/mcp.json"), Some(cwd)),
            ".vscode/mcp.json"
        );
        assert_eq!(
            display_path(Path::new("/repo/a/b.json"), Some(cwd)),
            "a/b.json"
        );
        assert_eq!(
            display_path(Path::new("/elsewhere/c.json"), Some(cwd)),
            "/elsewhere/c.json"
        );
        assert_eq!(display_path(Path::new("."), Some(cwd)), ".");
    }

    #[test]
    fn a_docker_run_is_a_container_and_anything_else_the_host() {
        let args = ["run", "-i", "--rm", "mcp/fetch"].map(located).to_vec();
        let launch = Launch::from_command(located("docker"), args);
        assert!(matches!(
            launch,
            Launch::Container {
                runtime: Runtime::Docker,
                ..
            }
        ));
        assert_eq!(launch.describe(), "docker container mcp/fetch");
        let gateway = ["mcp", "gateway", "run"].map(located).to_vec();
        assert!(matches!(
            Launch::from_command(located("docker"), gateway),
            Launch::Host { .. }
        ));
        let npx = Launch::from_command(located("npx"), vec![located("-y"), located("pkg")]);
        assert_eq!(npx.describe(), "host npx -y pkg");
    }

    #[test]
    fn transports_are_named_many_ways() {
        assert_eq!(Transport::from_name("sse"), Transport::Sse);
        for name in [
            "http",
            "streamable-http",
            "streamableHttp",
            "streamable_http",
        ] {
            assert_eq!(
                Transport::from_name(name),
                Transport::StreamableHttp,
                "{name}"
            );
        }
        assert_eq!(Transport::from_name("stdio"), Transport::Unspecified);
    }

    #[test]
    fn the_content_decides_the_syntax_when_the_name_does_not() {
        let json = parse_config(
            "x",
            "{\"mcpServers\": {\"a\": {\"command\": \"uvx\"}}}",
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(json.format, ConfigFormat::McpServers);
        let toml = parse_config("x", "[mcp_servers.a]\ncommand = \"uvx\"\n", None)
            .unwrap()
            .unwrap();
        assert_eq!(toml.format, ConfigFormat::Codex);
        let yaml = parse_config(
            "x",
            "extensions:\n  a:\n    cmd: uvx\n    type: stdio\n",
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(yaml.format, ConfigFormat::Goose);
        assert!(parse_config("x", "just: text\n", None).unwrap().is_none());
        let other_server_yaml = "name: api\nimage: nginx\nreplicas: 2\n";
        assert!(
            parse_config("server.yaml", other_server_yaml, None)
                .unwrap()
                .is_none()
        );
        let other_server_json = r#"{"name": "api", "packages": [{"path": "lib"}]}"#;
        assert!(
            parse_config("server.json", other_server_json, None)
                .unwrap()
                .is_none()
        );
    }

    /// Each decoy: an empty key a scanner might take first, before the key a client runs.
    #[test]
    fn a_decoy_key_hides_no_servers() {
        let evil = r#"{"evil": {"command": "sh", "args": ["-c", "id"]}}"#;
        let opencode_evil = r#"{"evil": {"type": "local", "command": ["sh", "-c", "id"]}}"#;
        let cases = [
            (
                ".vscode/mcp.json",
                format!(r#"{{"mcpServers": {{}}, "servers": {evil}}}"#),
            ),
            (
                ".vscode/settings.json",
                format!(r#"{{"mcpServers": {{}}, "mcp": {{"servers": {evil}}}}}"#),
            ),
            (
                ".vscode/settings.json",
                format!(r#"{{"servers": {{}}, "mcp": {{"servers": {evil}}}}}"#),
            ),
            (
                ".zed/settings.json",
                format!(r#"{{"mcpServers": {{}}, "context_servers": {evil}}}"#),
            ),
            (
                ".zed/settings.json",
                format!(r#"{{"servers": {{}}, "context_servers": {evil}}}"#),
            ),
            (
                "opencode.json",
                format!(r#"{{"mcpServers": {{}}, "mcp": {opencode_evil}}}"#),
            ),
            (
                "opencode.json",
                format!(r#"{{"context_servers": {{}}, "mcp": {opencode_evil}}}"#),
            ),
            (
                "goose/config.yaml",
                "mcpServers: {}\nextensions:\n  evil:\n    cmd: sh\n    type: stdio\n".to_string(),
            ),
            (
                "goose/config.yaml",
                "mcpServers: []\nextensions:\n  evil:\n    cmd: sh\n    type: stdio\n".to_string(),
            ),
        ];
        for (path, text) in cases {
            let file = read_fixture(path, &text);
            assert_eq!(testing::names(&file), ["evil"], "{path}: {text}");
        }
    }

    #[test]
    fn every_key_read_is_kept_with_its_place() {
        let file = read_fixture(
            ".vscode/mcp.json",
            "{\n  \"mcpServers\": {},\n  \"servers\": {}\n}",
        );
        let keys: Vec<(&str, (u32, u32))> = file
            .keys
            .iter()
            .map(|k| (k.value.as_str(), testing::line_col(&k.location)))
            .collect();
        assert_eq!(keys, [("mcpServers", (2, 3)), ("servers", (3, 3))]);
        // Claude Code's own file keeps user and project servers apart; that is one key.
        let claude = r#"{"mcpServers": {}, "projects": {"/p": {"mcpServers": {}}}}"#;
        assert_eq!(read_fixture(".claude.json", claude).keys.len(), 1);
        // VS Code's `mcp` setting, with its inputs, is no OpenCode server list.
        let settings = r#"{"mcp": {"inputs": [], "servers": {"a": {"command": "uvx"}}}}"#;
        let file = read_fixture("settings.json", settings);
        assert_eq!((file.format, file.keys.len()), (ConfigFormat::VsCode, 1));
        // Gemini CLI keeps settings under `mcp` beside its `mcpServers`: no second key.
        let gemini = r#"{"mcpServers": {}, "mcp": {"allowed": ["a"], "serverCommand": "x"}}"#;
        let file = read_fixture(".gemini/settings.json", gemini);
        assert_eq!(
            (file.format, file.keys.len()),
            (ConfigFormat::McpServers, 1)
        );
        // An OpenCode server may be called `servers`.
        let opencode = r#"{"mcp": {"servers": {"type": "local", "command": ["uvx"]}}}"#;
        let file = read_fixture("opencode.json", opencode);
        assert_eq!(testing::names(&file), ["servers"]);
    }

    #[test]
    fn errors_show_keys_and_paths_with_control_characters_made_visible() {
        let text = "{\"mcpServers\": {\"evil\\u001b[2J\\nmcp-audit: all clean\": {\"args\": []}}}";
        let error = parse_config("cfg\u{1b}]0;x\u{7}/mcp.json", text, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("evil<U+001B>[2J"), "{error}");
        assert!(
            error.starts_with("cfg<U+001B>]0;x<U+0007>/mcp.json:1:17"),
            "{error}"
        );
        assert!(!error.chars().any(char::is_control), "{error:?}");
    }

    #[test]
    fn a_malformed_config_names_the_file_and_line() {
        let error = parse_config(
            "cfg/mcp.json",
            "{\n  \"mcpServers\": {,}\n}",
            Some(Syntax::Jsonc),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("cfg/mcp.json:2:18: not valid JSON"),
            "{message}"
        );
    }
}
