//! The official MCP Registry's `server.json`: each entry of `packages` and of `remotes` is one
//! way to run the server, and becomes one `Server`. An `oci` package is the `docker run` the
//! registry describes; npm, PyPI and NuGet packages run on the host. Both the current camelCase
//! schema and the earlier snake_case one are read.

use super::entry::Source;
use super::syntax::Node;
use super::{ConfigError, Launch, Located, Server, Transport};

pub(super) fn servers(source: &Source<'_>, root: &Node) -> Result<Vec<Server>, ConfigError> {
    let name = root
        .get("name")
        .and_then(Node::scalar_text)
        .ok_or_else(|| source.error(root.at, "server.json has no `name`"))?;
    let packages = list(root, "packages");
    let remotes = list(root, "remotes");
    let several = packages.len() + remotes.len() > 1;
    let mut servers = Vec::new();
    for package in packages {
        let kind = package
            .get_any(&["registryType", "registry_type", "registry_name"])
            .and_then(Node::as_str)
            .unwrap_or("unknown")
            .to_string();
        let shown = if several {
            format!("{name} ({kind})")
        } else {
            name.clone()
        };
        servers.push(package_server(source, package, &kind, shown)?);
    }
    for remote in remotes {
        let transport = remote
            .get_any(&["type", "transport_type"])
            .and_then(Node::as_str)
            .unwrap_or("remote");
        let shown = if several {
            format!("{name} ({transport})")
        } else {
            name.clone()
        };
        let url = remote
            .get("url")
            .ok_or_else(|| source.error(remote.at, "a remote has no `url`"))?;
        let headers = match remote.get("headers").and_then(Node::as_array) {
            Some(items) => items
                .iter()
                .map(|item| source.named_setting(item, "headers"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        servers.push(Server {
            name: shown,
            location: source.location(remote.at),
            launch: Launch::Remote {
                url: source.text(url, "remotes[].url")?,
                transport: Transport::from_name(transport),
            },
            env: Vec::new(),
            headers,
            raw: remote.to_json(),
        });
    }
    Ok(servers)
}

fn list<'n>(root: &'n Node, key: &str) -> &'n [Node] {
    root.get(key).and_then(Node::as_array).unwrap_or_default()
}

fn package_server(
    source: &Source<'_>,
    package: &Node,
    kind: &str,
    name: String,
) -> Result<Server, ConfigError> {
    let identifier = package
        .get_any(&["identifier", "name"])
        .ok_or_else(|| source.error(package.at, "a package has no `identifier`"))?;
    let identifier = source.text(identifier, "identifier")?;
    let version = package.get("version").and_then(Node::scalar_text);
    let runtime_args = arguments(source, package, &["runtimeArguments", "runtime_arguments"])?;
    let package_args = arguments(source, package, &["packageArguments", "package_arguments"])?;
    let here = |text: &str| Located {
        value: text.to_string(),
        location: identifier.location.clone(),
    };
    let launch = if kind == "oci" || kind == "docker" {
        let base = package
            .get_any(&["registryBaseUrl", "registry_base_url"])
            .and_then(Node::as_str);
        let image = here(&image_reference(
            &identifier.value,
            version.as_deref(),
            base,
        ));
        let mut args = vec![here("run"), here("-i"), here("--rm")];
        args.extend(runtime_args);
        args.push(image);
        args.extend(package_args);
        Launch::from_command(here("docker"), args)
    } else {
        let hint = package
            .get_any(&["runtimeHint", "runtime_hint"])
            .and_then(Node::as_str);
        let (default_command, spec) = match (kind, &version) {
            ("npm", Some(v)) => ("npx", format!("{}@{v}", identifier.value)),
            ("pypi", Some(v)) => ("uvx", format!("{}=={v}", identifier.value)),
            ("nuget", Some(v)) => ("dnx", format!("{}@{v}", identifier.value)),
            ("npm", None) => ("npx", identifier.value.clone()),
            ("pypi", None) => ("uvx", identifier.value.clone()),
            ("nuget", None) => ("dnx", identifier.value.clone()),
            _ => (kind, identifier.value.clone()),
        };
        let mut args = runtime_args;
        args.push(here(&spec));
        args.extend(package_args);
        Launch::from_command(here(hint.unwrap_or(default_command)), args)
    };
    let env = match package
        .get_any(&["environmentVariables", "environment_variables"])
        .and_then(Node::as_array)
    {
        Some(items) => items
            .iter()
            .map(|item| source.named_setting(item, "environmentVariables"))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Server {
        name,
        location: source.location(package.at),
        launch,
        env,
        headers: Vec::new(),
        raw: package.to_json(),
    })
}

/// Registry arguments as a command line: a `named` argument is its name then its value, a
/// `positional` one its value (or its `{valueHint}` when the user supplies it).
fn arguments(
    source: &Source<'_>,
    package: &Node,
    keys: &[&str],
) -> Result<Vec<Located<String>>, ConfigError> {
    let Some(items) = package.get_any(keys).and_then(Node::as_array) else {
        return Ok(Vec::new());
    };
    let mut args = Vec::new();
    for item in items {
        let value = item.get_any(&["value", "default"]);
        if let Some(flag) = item.get("name") {
            args.push(source.text(flag, "argument name")?);
        }
        match value {
            Some(value) => args.push(source.text(value, "argument value")?),
            None if item.get("name").is_none() => {
                let hint = item
                    .get_any(&["valueHint", "value_hint"])
                    .and_then(Node::scalar_text)
                    .unwrap_or_else(|| "value".to_string());
                args.push(Located {
                    value: format!("{{{hint}}}"),
                    location: source.location(item.at),
                });
            }
            None => {}
        }
    }
    Ok(args)
}

/// The image a package names: its identifier, tagged with `version` when the identifier has no
/// tag or digest, under `registryBaseUrl` when that is not Docker Hub and the identifier names
/// no registry.
fn image_reference(identifier: &str, version: Option<&str>, base: Option<&str>) -> String {
    let mut image = identifier.to_string();
    let last = image.rsplit('/').next().unwrap_or(&image);
    if let Some(version) = version
        && !last.contains(':')
        && !image.contains('@')
    {
        image = format!("{image}:{version}");
    }
    let host = base
        .map(|b| {
            b.trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
        })
        .filter(|h| {
            !matches!(
                *h,
                "docker.io" | "index.docker.io" | "registry-1.docker.io" | ""
            )
        });
    let first = identifier.split('/').next().unwrap_or("");
    let names_a_registry = identifier.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    match host {
        Some(host) if !names_a_registry => format!("{host}/{image}"),
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_from_identifier_version_and_base() {
        assert_eq!(
            image_reference("docker.io/acme/weather:1.0.2", None, None),
            "docker.io/acme/weather:1.0.2"
        );
        assert_eq!(
            image_reference("mcp/filesystem", Some("1.0.2"), Some("https://docker.io")),
            "mcp/filesystem:1.0.2"
        );
        assert_eq!(
            image_reference("acme/tool", Some("2"), Some("https://ghcr.io")),
            "ghcr.io/acme/tool:2"
        );
        assert_eq!(
            image_reference("ghcr.io/acme/tool", Some("2"), Some("https://ghcr.io")),
            "ghcr.io/acme/tool:2"
        );
        assert_eq!(
            image_reference("acme/tool@sha256:ab", Some("2"), None),
            "acme/tool@sha256:ab"
        );
    }
}

#[cfg(test)]
mod fixture_tests {
    use crate::config::testing::*;
    use crate::config::{ConfigFormat, Launch, Transport, read_fixture};

    #[test]
    fn every_package_and_remote_is_a_server() {
        let file = fixture!("mcp-registry/server.json");
        assert_eq!(file.format, ConfigFormat::McpRegistry);
        assert_eq!(
            names(&file),
            [
                "io.github.acme/weather (oci)",
                "io.github.acme/weather (npm)",
                "io.github.acme/weather (streamable-http)"
            ]
        );
        let oci = server(&file, "io.github.acme/weather (oci)");
        assert_eq!(image(oci), ("ghcr.io/acme/weather-mcp:1.4.0", (13, 21)));
        let Launch::Container { docker_run, .. } = &oci.launch else {
            panic!("not a container")
        };
        assert!(docker_run.is_on("read-only"));
        assert_eq!(
            docker_run.last("env").unwrap().value.as_deref(),
            Some("WEATHER_API_KEY")
        );
        assert_eq!(setting(&oci.env, "WEATHER_API_KEY").0, None);
        assert_eq!(
            host(server(&file, "io.github.acme/weather (npm)")),
            ("npx", vec!["@acme/weather-mcp@1.4.0", "--units", "metric"])
        );
        let hosted = server(&file, "io.github.acme/weather (streamable-http)");
        assert_eq!(remote(hosted).1, Transport::StreamableHttp);
        assert_eq!(setting(&hosted.headers, "Authorization").0, None);
    }

    #[test]
    fn the_older_snake_case_schema() {
        let text = r#"{"name": "io.github.acme/db", "packages": [{"registry_type": "pypi", "identifier": "acme-db-mcp", "version": "0.5.0", "runtime_hint": "uvx", "environment_variables": [{"name": "DB_URL", "default": "sqlite:///app.db"}]}]}"#;
        let file = read_fixture("server.json", text);
        let db = server(&file, "io.github.acme/db");
        assert_eq!(host(db), ("uvx", vec!["acme-db-mcp==0.5.0"]));
        assert_eq!(setting(&db.env, "DB_URL").0, Some("sqlite:///app.db"));
    }
}
