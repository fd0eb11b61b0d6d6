//! What the capture tests share: the images they run (built by `scripts/test-images.sh`, cached
//! by content), configs written to a scratch directory, the real binary run on them, and the
//! Docker engine asked what is left. Every image and container name starts with
//! `mcp-audit-capture-test`.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `scripts/test-images.sh WHAT` and return its standard output.
pub fn build_images(what: &str) -> String {
    let output = Command::new("bash")
        .arg(root().join("scripts/test-images.sh"))
        .arg(what)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "scripts/test-images.sh {what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The test MCP server's image, built once per test binary.
pub fn test_server() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| build_images("test-server").trim().to_string())
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-audit-capture-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A container server entry: `docker run -i --rm OPTIONS… IMAGE ARGS…`.
pub fn docker(options: &[&str], image: &str, args: &[&str]) -> Value {
    let mut all = vec!["run", "-i", "--rm"];
    all.extend(options);
    all.push(image);
    all.extend(args);
    serde_json::json!({"command": "docker", "args": all})
}

/// A test-server entry serving `scenario`, with extra `docker run` options.
pub fn scenario(name: &str, options: &[&str]) -> Value {
    let path = format!("/scenarios/{name}.json");
    docker(options, test_server(), &[&path])
}

/// Write `mcpServers` to `dir/mcp.json`.
pub fn write_config(dir: &Path, servers: &[(&str, Value)]) -> PathBuf {
    let map: serde_json::Map<String, Value> = servers
        .iter()
        .map(|(name, entry)| (name.to_string(), entry.clone()))
        .collect();
    let path = dir.join("mcp.json");
    let text = serde_json::to_string_pretty(&serde_json::json!({"mcpServers": map})).unwrap();
    std::fs::write(&path, text).expect("the config is written");
    path
}

pub struct Run {
    pub code: i32,
    pub report: Value,
    pub stderr: String,
}

/// `mcp-audit scan CONFIG --format json ARGS…` with containers named `PREFIX-…`.
pub fn scan(config: &Path, prefix: &str, args: &[&str]) -> Run {
    let output = mcp_audit("scan", prefix)
        .arg(config)
        .args(["--format", "json"])
        .args(args)
        .output()
        .expect("the binary runs");
    run_of(output)
}

/// `mcp-audit SUBCOMMAND` naming its containers `PREFIX-…`; callers add the rest.
pub fn mcp_audit(subcommand: &str, prefix: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("NO_COLOR")
        .args([subcommand, "--container-prefix", prefix]);
    command
}

pub fn run_of(output: Output) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout);
    Run {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The report's entry for server `name`.
pub fn server<'a>(run: &'a Run, name: &str) -> &'a Value {
    run.report["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no server {name} in the report; stderr:\n{}", run.stderr))
}

/// The names of a server's captured tools, in order.
pub fn tool_names(run: &Run, name: &str) -> Vec<String> {
    server(run, name)["capture"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The findings about server `name`.
pub fn findings<'a>(run: &'a Run, name: &str) -> Vec<&'a Value> {
    run.report["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["server"] == name).collect())
        .unwrap_or_default()
}

/// The one finding of `rule` about `name`.
pub fn finding<'a>(run: &'a Run, name: &str, rule: &str) -> &'a Value {
    let found: Vec<&Value> = findings(run, name)
        .into_iter()
        .filter(|f| f["rule_id"] == rule)
        .collect();
    assert!(
        !found.is_empty(),
        "no {rule} for {name}; its findings: {:#?}\nstderr:\n{}",
        findings(run, name),
        run.stderr
    );
    found[0]
}

/// `docker ARGS…`, which must succeed; its standard output.
pub fn docker_ok(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Names of containers, running or not, whose name starts with `prefix`.
pub fn containers(prefix: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "--all", "--format", "{{.Names}}"])
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// A packaged server: its name, its image, and its entry script on this machine.
pub struct NpmServer {
    pub name: String,
    pub image: String,
    pub entry: String,
}

/// The container arguments and env variable names each server needs to start; the values the
/// sandbox passes are placeholders, and so are the ones given to the direct run.
pub fn npm_launch(name: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    match name {
        "everything" => (vec!["stdio"], vec![]),
        "filesystem" => (vec!["/tmp"], vec![]),
        "postgres" => (vec!["postgresql://127.0.0.1:5432/db"], vec![]),
        "github" => (vec![], vec!["GITHUB_PERSONAL_ACCESS_TOKEN"]),
        "gitlab" => (vec![], vec!["GITLAB_PERSONAL_ACCESS_TOKEN"]),
        "slack" => (vec![], vec!["SLACK_BOT_TOKEN", "SLACK_TEAM_ID"]),
        "brave-search" => (vec![], vec!["BRAVE_API_KEY"]),
        "google-maps" => (vec![], vec!["GOOGLE_MAPS_API_KEY"]),
        "everart" => (vec![], vec!["EVERART_API_KEY"]),
        "aws-kb-retrieval" => (
            vec![],
            vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"],
        ),
        _ => (vec![], vec![]),
    }
}

/// The real npm servers, packaged and pushed by `scripts/test-images.sh npm-servers`.
pub fn npm_servers() -> Vec<NpmServer> {
    build_images("npm-servers")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some(NpmServer {
                name: fields.next()?.to_string(),
                image: fields.next()?.to_string(),
                entry: fields.next()?.to_string(),
            })
        })
        .collect()
}

/// The config entry that runs npm server `name` from `image`, with its arguments, and its env
/// variables set to a secret-looking value in the config, which the sandbox must not pass on.
pub fn npm_entry(name: &str, image: &str) -> Value {
    let (args, env) = npm_launch(name);
    let mut all: Vec<String> = ["run", "-i", "--rm"].map(str::to_string).to_vec();
    for name in env {
        all.extend([
            "-e".to_string(),
            format!("{name}=config-value-not-for-the-sandbox"),
        ]);
    }
    all.push(image.to_string());
    all.extend(args.iter().map(|a| a.to_string()));
    serde_json::json!({"command": "docker", "args": all})
}
