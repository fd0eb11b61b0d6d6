//! The YAML configs: Continue's `mcpServers` list, Goose's `extensions` map, and the Docker MCP
//! catalogue's `server.yaml` (docker/mcp-registry). A catalogue entry declares an image and its
//! run settings rather than a command line; it is read as the `docker run` the catalogue implies.

use super::entry::{COMMON_KEYS, Keys, Source};
use super::syntax::Node;
use super::{ConfigError, Launch, Located, Server, Setting, Transport};

pub(super) fn continue_servers(
    source: &Source<'_>,
    root: &Node,
) -> Result<Vec<Server>, ConfigError> {
    let mut servers = Vec::new();
    for (index, item) in source.items(root, "mcpServers")?.iter().enumerate() {
        // `uses: owner/block` pulls a server from the Continue hub; the config holds nothing of
        // it to audit.
        if item.get("uses").is_some() && item.get("command").is_none() && item.get("url").is_none()
        {
            continue;
        }
        let name = item
            .get("name")
            .and_then(Node::scalar_text)
            .ok_or_else(|| source.error(item.at, format!("`mcpServers[{index}]` has no `name`")))?;
        let mut server = source.server(&name, item.at, item, &COMMON_KEYS)?;
        if server.headers.is_empty()
            && let Some(options) = item.get("requestOptions")
        {
            server.headers = source.optional_settings(options, &["headers"], &name)?;
        }
        servers.push(server);
    }
    Ok(servers)
}

const GOOSE_KEYS: Keys = Keys {
    command: &["cmd", "command"],
    args: &["args"],
    env: &["envs", "env"],
    url: &["uri", "url"],
    headers: &["headers"],
};

/// Goose extensions that are part of Goose itself, not servers it starts.
const GOOSE_BUILT_IN: &[&str] = &["builtin", "platform", "frontend", "inline_python"];

pub(super) fn goose(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let mut servers = Vec::new();
    for member in source.members(root, "extensions")? {
        let kind = member
            .value
            .get("type")
            .and_then(Node::as_str)
            .unwrap_or("");
        if GOOSE_BUILT_IN.contains(&kind) {
            continue;
        }
        let mut server = source.server(&member.key, member.key_at, &member.value, &GOOSE_KEYS)?;
        // Goose names variables to take from its keyring, without values.
        if let Some(keys) = member.value.get("env_keys").and_then(Node::as_array) {
            for key in keys {
                if let Some(name) = key.scalar_text() {
                    server.env.push(Setting {
                        name,
                        value: None,
                        location: source.location(key.at),
                    });
                }
            }
        }
        servers.push(server);
    }
    Ok(servers)
}

/// A catalogue entry: `type: server` with an `image` and `run` settings, or `type: remote` with
/// `remote.url`. Secrets are named (`config.secrets`), never given.
pub(super) fn docker_catalog(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let name = root
        .get("name")
        .and_then(Node::scalar_text)
        .ok_or_else(|| source.error(root.at, "the catalogue entry has no `name`"))?;
    let mut env = Vec::new();
    if let Some(items) = root.path(&["config", "env"]).and_then(Node::as_array) {
        for item in items {
            env.push(source.named_setting(item, "config.env")?);
        }
    }
    if let Some(items) = root.path(&["config", "secrets"]).and_then(Node::as_array) {
        for item in items {
            if let Some(variable) = item.get("env").and_then(Node::scalar_text) {
                env.push(Setting {
                    name: variable,
                    value: None,
                    location: source.location(item.at),
                });
            }
        }
    }
    let mut headers = Vec::new();
    let launch = if let Some(remote) = root.get("remote") {
        let url = remote
            .get("url")
            .ok_or_else(|| source.error(remote.at, "`remote` has no `url`"))?;
        if let Some(map) = remote.get("headers") {
            headers = source.settings(map, "remote.headers")?;
        }
        Launch::Remote {
            url: source.text(url, "remote.url")?,
            transport: remote
                .get_any(&["transport_type", "type"])
                .and_then(Node::as_str)
                .map_or(Transport::Unspecified, Transport::from_name),
        }
    } else {
        let image = root.get("image").ok_or_else(|| {
            source.error(
                root.at,
                "the catalogue entry has neither `image` nor `remote`",
            )
        })?;
        let image = source.text(image, "image")?;
        catalog_run(source, root, image)?
    };
    Ok(vec![Server {
        name,
        location: source.location(root.at),
        launch,
        env,
        headers,
        raw: root.to_json(),
    }])
}

/// The `docker run` a catalogue entry stands for: `-i --rm`, its volumes, `--network none`
/// when it disables the network, its user, the image, then its command. Each argument points at
/// the line it comes from.
fn catalog_run(
    source: &Source<'_>,
    root: &Node,
    image: Located<String>,
) -> Result<Launch, ConfigError> {
    let at_image = |text: &str| Located {
        value: text.to_string(),
        location: image.location.clone(),
    };
    let mut args = vec![at_image("run"), at_image("-i"), at_image("--rm")];
    let run = root.get("run");
    if let Some(volumes) = run.and_then(|r| r.get("volumes")) {
        for volume in source.texts(volumes, "run.volumes")? {
            args.push(Located {
                value: "-v".to_string(),
                location: volume.location.clone(),
            });
            args.push(volume);
        }
    }
    if let Some(flag) = run.and_then(|r| r.get("disableNetwork"))
        && flag.as_bool() == Some(true)
    {
        for text in ["--network", "none"] {
            args.push(Located {
                value: text.to_string(),
                location: source.location(flag.at),
            });
        }
    }
    if let Some(user) = run.and_then(|r| r.get("user")) {
        let user = source.text(user, "run.user")?;
        args.push(Located {
            value: "--user".to_string(),
            location: user.location.clone(),
        });
        args.push(user);
    }
    args.push(image.clone());
    if let Some(command) = run.and_then(|r| r.get("command")) {
        args.extend(source.texts(command, "run.command")?);
    }
    Ok(Launch::from_command(at_image("docker"), args))
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;
    use crate::config::{ConfigFormat, Launch, Transport, read_fixture};

    #[test]
    fn continue_list_of_servers() {
        let file = fixture!("continue/.continue/config.yaml");
        assert_eq!(file.format, ConfigFormat::Continue);
        assert_eq!(
            names(&file),
            ["SQLite", "Browserbase"],
            "hub blocks are skipped"
        );
        assert_eq!(line_col(&server(&file, "SQLite").location), (10, 5));
        let browser = server(&file, "Browserbase");
        assert_eq!(remote(browser).1, Transport::StreamableHttp);
        assert_eq!(
            setting(&browser.headers, "Authorization"),
            (Some("Bearer ${{ secrets.BROWSERBASE_API_KEY }}"), (21, 24))
        );
    }

    #[test]
    fn goose_extensions() {
        let file = fixture!("goose/goose/config.yaml");
        assert_eq!(file.format, ConfigFormat::Goose);
        assert_eq!(names(&file), ["github", "tavily"]);
        let github = server(&file, "github");
        assert_eq!(line_col(&github.location), (11, 3));
        assert_eq!(host(github).0, "npx");
        assert_eq!(
            setting(&github.env, "GITHUB_PERSONAL_ACCESS_TOKEN"),
            (None, (17, 16))
        );
        assert_eq!(remote(server(&file, "tavily")).1, Transport::StreamableHttp);
    }

    #[test]
    fn docker_catalogue_entry_is_the_run_it_implies() {
        let file = fixture!("docker-catalog/servers/filesystem/server.yaml");
        assert_eq!(file.format, ConfigFormat::DockerCatalog);
        let filesystem = server(&file, "filesystem");
        assert_eq!(line_col(&filesystem.location), (1, 1));
        assert!(image(filesystem).0.starts_with("mcp/filesystem@sha256:"));
        assert_eq!(image(filesystem).1, (2, 8));
        let Launch::Container {
            args, docker_run, ..
        } = &filesystem.launch
        else {
            panic!("not a container")
        };
        let network = docker_run.last("network").unwrap();
        assert_eq!(network.value.as_deref(), Some("none"));
        assert_eq!(line_col(&args[network.index].location), (22, 19));
        let volume = docker_run.last("volume").unwrap();
        assert_eq!(line_col(&args[volume.index].location), (21, 7));
        assert_eq!(
            setting(&filesystem.env, "LOG_LEVEL").0,
            Some("{{filesystem.log_level}}")
        );
    }

    #[test]
    fn docker_catalogue_remote_entry() {
        let text = "name: linear\ntype: remote\nremote:\n  transport_type: sse\n  url: https://mcp.linear.app/sse\n  headers:\n    Authorization: Bearer ${LINEAR_TOKEN}\n";
        let file = read_fixture("server.yaml", text);
        let linear = server(&file, "linear");
        assert_eq!(
            remote(linear),
            ("https://mcp.linear.app/sse", Transport::Sse)
        );
        assert_eq!(line_col(&linear.headers[0].location), (7, 20));
    }
}
