//! Codex's `config.toml`: one `[mcp_servers.NAME]` table per server, with `command`, `args` and
//! `env`, or `url` with `http_headers`. Headers taken from the environment (`env_http_headers`,
//! `bearer_token_env_var`) are kept as named settings without a value.

use super::entry::{COMMON_KEYS, Source};
use super::syntax::Node;
use super::{ConfigError, Server, Setting};

pub(super) fn codex(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let members = source.members(root, "mcp_servers")?;
    let mut servers = super::json_formats::server_map(source, members, &COMMON_KEYS)?;
    for (server, member) in servers.iter_mut().zip(members) {
        let entry = &member.value;
        if let Some(from_env) = entry.get("env_http_headers").and_then(Node::as_object) {
            for member in from_env {
                server.headers.push(Setting {
                    name: member.key.clone(),
                    value: None,
                    location: source.location(member.value.at),
                });
            }
        }
        if let Some(variable) = entry.get("bearer_token_env_var") {
            server.headers.push(Setting {
                name: "Authorization".to_string(),
                value: None,
                location: source.location(variable.at),
            });
        }
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;
    use crate::config::{ConfigFormat, Transport};

    #[test]
    fn codex() {
        let file = fixture!("codex/.codex/config.toml");
        assert_eq!(file.format, ConfigFormat::Codex);
        assert_eq!(names(&file), ["context7", "github", "figma"]);
        let github = server(&file, "github");
        assert_eq!(line_col(&github.location), (8, 14));
        assert_eq!(image(github).0, "ghcr.io/github/github-mcp-server:v0.13.0");
        assert_eq!(
            setting(&github.env, "GITHUB_PERSONAL_ACCESS_TOKEN"),
            (Some("YOUR_TOKEN_HERE"), (13, 32))
        );
        let figma = server(&file, "figma");
        assert_eq!(
            remote(figma),
            ("https://mcp.figma.com/mcp", Transport::Unspecified)
        );
        assert_eq!(
            setting(&figma.headers, "X-Figma-Region").0,
            Some("us-east-1")
        );
        assert_eq!(setting(&figma.headers, "Authorization"), (None, (17, 24)));
    }
}
