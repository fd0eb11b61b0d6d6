//! The JSON client configs: `mcpServers` (Claude Desktop, Claude Code, Cursor, Windsurf, Gemini
//! CLI, Kiro, Cline), VS Code's `servers` and `mcp.servers`, Zed's `context_servers` and
//! OpenCode's `mcp`. Each maps its own spelling onto `Server`; none interprets what it reads.

use super::entry::{COMMON_KEYS, Keys, Source};
use super::syntax::{Member, Node};
use super::{ConfigError, Launch, Server, Transport};

/// Claude Code's `~/.claude.json` keeps servers per project, under `projects.<dir>.mcpServers`.
pub(super) fn has_project_servers(root: &Node) -> bool {
    project_server_maps(root).next().is_some()
}

fn project_server_maps(root: &Node) -> impl Iterator<Item = &Node> {
    root.get("projects")
        .and_then(Node::as_object)
        .unwrap_or_default()
        .iter()
        .filter_map(|project| project.value.get("mcpServers"))
        .filter(|servers| servers.as_object().is_some())
}

pub(super) fn mcp_servers(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let mut servers = server_map(source, source.members(root, "mcpServers")?, &COMMON_KEYS)?;
    for project in root
        .get("projects")
        .and_then(Node::as_object)
        .unwrap_or_default()
    {
        let map = source.members(&project.value, "mcpServers")?;
        servers.extend(server_map(source, map, &COMMON_KEYS)?);
    }
    Ok(servers)
}

/// VS Code's `servers`, of `.vscode/mcp.json` (`parent` the root) or of the `mcp` setting.
pub(super) fn vscode(source: &Source<'_>, parent: &Node) -> Result<Vec<Server>, ConfigError> {
    server_map(source, source.members(parent, "servers")?, &COMMON_KEYS)
}

/// VS Code's `mcp` setting: an `mcp` whose `servers` is a map of entries. OpenCode's `mcp` may
/// hold a server named `servers`, but that is one entry, with text such as `type` in it.
pub(super) fn vscode_settings(root: &Node) -> Option<&Node> {
    let settings = root.get("mcp")?;
    let entries = settings.get("servers")?.as_object()?;
    entries
        .iter()
        .all(|m| m.value.as_object().is_some())
        .then_some(settings)
}

/// OpenCode's servers: the objects under `mcp`, less VS Code's `servers` map. Other programs keep
/// settings there too (Gemini CLI's `mcp.allowed`, VS Code's `mcp.inputs`), never objects.
pub(super) fn opencode_entries(root: &Node) -> impl Iterator<Item = &Member> {
    let settings = vscode_settings(root).is_some();
    root.get("mcp")
        .and_then(Node::as_object)
        .unwrap_or_default()
        .iter()
        .filter(move |m| m.value.as_object().is_some() && !(settings && m.key == "servers"))
}

/// Each member of an object is one server, named by its key.
pub(super) fn server_map(
    source: &Source<'_>,
    members: &[Member],
    keys: &Keys,
) -> Result<Vec<Server>, ConfigError> {
    members
        .iter()
        .map(|m| source.server(&m.key, m.key_at, &m.value, keys))
        .collect()
}

/// Zed: `command` is a string with `args` and `env` beside it, or (older settings) an object
/// `{path, args, env}`. A server an extension provides has neither and is configured by the
/// extension; there is nothing here to audit.
pub(super) fn zed(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let mut servers = Vec::new();
    for member in source.members(root, "context_servers")? {
        let entry = &member.value;
        let name = &member.key;
        match entry.get("command") {
            Some(command) if command.as_object().is_some() => {
                let path = command.get("path").ok_or_else(|| {
                    source.error(command.at, format!("`{name}`.command has no `path`"))
                })?;
                let args = match command.get("args") {
                    Some(args) => source.texts(args, &format!("`{name}`.command.args"))?,
                    None => Vec::new(),
                };
                servers.push(Server {
                    name: name.clone(),
                    location: source.location(member.key_at),
                    launch: Launch::from_command(source.text(path, "command.path")?, args),
                    env: source.optional_settings(command, &["env"], name)?,
                    headers: Vec::new(),
                    raw: entry.to_json(),
                });
            }
            None if entry.get("url").is_none() => {}
            _ => servers.push(source.server(name, member.key_at, entry, &COMMON_KEYS)?),
        }
    }
    Ok(servers)
}

/// OpenCode: `type` is `local` (with `command` as an argv list and `environment`) or `remote`
/// (with `url` and `headers`).
pub(super) fn opencode(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let mut servers = Vec::new();
    for member in opencode_entries(root) {
        let entry = &member.value;
        let name = &member.key;
        let launch = if let Some(command) = entry.get("command") {
            let mut argv = source
                .texts(command, &format!("`{name}`.command"))?
                .into_iter();
            let program = argv
                .next()
                .ok_or_else(|| source.error(command.at, format!("`{name}`.command is empty")))?;
            Launch::from_command(program, argv.collect())
        } else if let Some(url) = entry.get("url") {
            Launch::Remote {
                url: source.text(url, &format!("`{name}`.url"))?,
                transport: Transport::Unspecified,
            }
        } else {
            return Err(source.error(
                member.key_at,
                format!("server `{name}` has neither a command nor a url"),
            ));
        };
        servers.push(Server {
            name: name.clone(),
            location: source.location(member.key_at),
            launch,
            env: source.optional_settings(entry, &["environment", "env"], name)?,
            headers: source.optional_settings(entry, &["headers"], name)?,
            raw: entry.to_json(),
        });
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;
    use crate::config::{ConfigFormat, Transport, read_fixture};

    #[test]
    fn claude_desktop() {
        let file = fixture!("claude-desktop/claude_desktop_config.json");
        assert_eq!(file.format, ConfigFormat::McpServers);
        assert_eq!(names(&file), ["filesystem", "github", "fetch"]);
        let filesystem = server(&file, "filesystem");
        assert_eq!(line_col(&filesystem.location), (3, 5));
        let (command, args) = host(filesystem);
        assert_eq!(command, "npx");
        assert_eq!(args[1], "@modelcontextprotocol/server-filesystem@2025.8.21");
        let github = server(&file, "github");
        assert_eq!(line_col(&github.location), (11, 5));
        assert_eq!(
            image(github),
            ("ghcr.io/github/github-mcp-server:v0.13.0", (19, 9))
        );
        assert_eq!(
            setting(&github.env, "GITHUB_PERSONAL_ACCESS_TOKEN"),
            (Some("<YOUR_TOKEN>"), (22, 41))
        );
        assert_eq!(
            host(server(&file, "fetch")),
            ("uvx", vec!["mcp-server-fetch==2025.4.7"])
        );
    }

    #[test]
    fn claude_code_with_typed_transports() {
        let file = fixture!("claude-code/.mcp.json");
        assert_eq!(names(&file), ["sentry", "postgres", "linear"]);
        assert_eq!(
            remote(server(&file, "sentry")),
            ("https://mcp.sentry.dev/mcp", Transport::StreamableHttp)
        );
        let linear = server(&file, "linear");
        assert_eq!(remote(linear).1, Transport::Sse);
        assert_eq!(
            setting(&linear.headers, "Authorization"),
            (Some("Bearer ${LINEAR_API_KEY}"), (21, 26))
        );
    }

    #[test]
    fn cursor() {
        let file = fixture!("cursor/.cursor/mcp.json");
        assert_eq!(names(&file), ["playwright", "context7", "memory"]);
        assert_eq!(remote(server(&file, "context7")).1, Transport::Unspecified);
        assert!(image(server(&file, "memory")).0.contains("@sha256:"));
    }

    #[test]
    fn windsurf_server_url_and_unknown_keys() {
        let file = fixture!("windsurf/mcp_config.json");
        assert_eq!(
            remote(server(&file, "figma")).0,
            "https://mcp.figma.com/mcp"
        );
        let git = server(&file, "git");
        assert_eq!(git.raw["disabled"], serde_json::json!(false));
    }

    #[test]
    fn vscode_with_comments_trailing_commas_and_inputs() {
        let file = fixture!("vscode/.vscode/mcp.json");
        assert_eq!(file.format, ConfigFormat::VsCode);
        assert_eq!(names(&file), ["github", "github-remote"]);
        let github = server(&file, "github");
        assert_eq!(line_col(&github.location), (13, 5));
        assert_eq!(image(github).1, (19, 9));
        assert_eq!(
            setting(&github.env, "GITHUB_PERSONAL_ACCESS_TOKEN"),
            (Some("${input:github_token}"), (22, 41))
        );
        let remote_github = server(&file, "github-remote");
        assert_eq!(line_col(&remote_github.location), (26, 5));
        assert_eq!(remote(remote_github).1, Transport::StreamableHttp);
    }

    #[test]
    fn vscode_settings_mcp_servers() {
        let file = fixture!("vscode-settings/.vscode/settings.json");
        assert_eq!(file.format, ConfigFormat::VsCode);
        assert_eq!(host(server(&file, "time")).0, "uvx");
    }

    #[test]
    fn gemini_http_url_is_streamable_http() {
        let file = fixture!("gemini/.gemini/settings.json");
        assert_eq!(file.format, ConfigFormat::McpServers);
        assert_eq!(remote(server(&file, "github")).1, Transport::StreamableHttp);
        let tools = server(&file, "pythonTools");
        assert_eq!(tools.raw["cwd"], serde_json::json!("./mcp-servers/python"));
    }

    #[test]
    fn zed_both_command_shapes_and_extension_servers_skipped() {
        let file = fixture!("zed/.zed/settings.json");
        assert_eq!(file.format, ConfigFormat::Zed);
        assert_eq!(names(&file), ["filesystem", "sqlite"]);
        let sqlite = server(&file, "sqlite");
        assert_eq!(line_col(&sqlite.location), (16, 5));
        let (command, args) = host(sqlite);
        assert_eq!((command, args[0]), ("uvx", "mcp-server-sqlite==0.6.2"));
        match &sqlite.launch {
            crate::config::Launch::Host { command, .. } => {
                assert_eq!(line_col(&command.location), (18, 17))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn opencode_argv_commands() {
        let file = fixture!("opencode/opencode.json");
        assert_eq!(file.format, ConfigFormat::OpenCode);
        assert_eq!(
            remote(server(&file, "sentry")).0,
            "https://mcp.sentry.dev/mcp"
        );
        let everything = server(&file, "everything");
        assert_eq!(
            host(everything),
            (
                "npx",
                vec!["-y", "@modelcontextprotocol/server-everything@2025.9.25"]
            )
        );
        assert_eq!(setting(&everything.env, "LOG_LEVEL").0, Some("info"));
    }

    #[test]
    fn kiro_and_cline() {
        let kiro = fixture!("kiro/.kiro/settings/mcp.json");
        assert_eq!(host(server(&kiro, "aws-docs")).0, "uvx");
        let cline = fixture!("cline/cline_mcp_settings.json");
        assert_eq!(names(&cline), ["brave-search", "cloudflare-docs"]);
        assert_eq!(
            remote(server(&cline, "cloudflare-docs")).1,
            Transport::StreamableHttp
        );
        assert!(
            server(&cline, "brave-search")
                .raw
                .get("autoApprove")
                .is_some()
        );
    }

    #[test]
    fn claude_code_user_file_keeps_project_servers() {
        let text = r#"{"numStartups": 3, "projects": {"/home/alex/app": {"mcpServers": {"db": {"command": "uvx", "args": ["mcp-server-sqlite==0.6.2"]}}}}}"#;
        let file = read_fixture(".claude.json", text);
        assert_eq!(names(&file), ["db"]);
    }

    #[test]
    fn misshapen_entries_are_errors_with_a_line() {
        let text = "{\n  \"mcpServers\": {\n    \"a\": {\"args\": []}\n  }\n}";
        let error = crate::config::parse_config("x.json", text, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.json:3:5: server `a` has neither a command nor a url"
        );
        let text = "{\"mcpServers\": {\"a\": {\"command\": \"npx\", \"args\": \"-y pkg\"}}}";
        let error = crate::config::parse_config("x.json", text, None).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`a`.args is a string, not a list"),
            "{error}"
        );
    }
}
