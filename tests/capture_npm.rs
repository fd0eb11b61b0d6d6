//! Real MCP servers from the npm registry, packaged FROM scratch with this machine's own `node`
//! and pushed to the loopback registry, captured end to end in the sandbox. Each capture's tool
//! names must equal what the official TypeScript SDK's client sees when it runs the same server
//! directly, and none of these honest servers may draw a poisoning finding at medium or above.

mod sandbox;

use sandbox::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Instant;

/// A packaged server: its name, its image, and its entry script on this machine.
struct NpmServer {
    name: String,
    image: String,
    entry: String,
}

/// The container arguments and env variable names each server needs to start; the values the
/// sandbox passes are placeholders, and so are the ones given to the direct run.
fn launch(name: &str) -> (Vec<&'static str>, Vec<&'static str>) {
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

/// What the SDK client saw: tool names and milliseconds to answer `initialize`.
fn probe(server: &NpmServer) -> (Vec<String>, u64) {
    let (args, env) = launch(&server.name);
    let dir = std::path::Path::new(&server.entry)
        .ancestors()
        .find(|p| p.join("probe.mjs").is_file())
        .expect("the install directory holds probe.mjs")
        .to_path_buf();
    let mut command = Command::new("node");
    command
        .arg(dir.join("probe.mjs"))
        .arg("node")
        .arg(&server.entry)
        .args(&args);
    for name in env {
        command.env(name, "mcp-audit-placeholder");
    }
    let output = command.output().expect("node runs");
    assert!(
        output.status.success(),
        "the probe of {} failed: {}",
        server.name,
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the probe prints JSON");
    let tools = seen["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (tools, seen["startupMs"].as_u64().unwrap_or(0))
}

#[test]
fn real_npm_servers_are_captured_as_the_sdk_client_sees_them() {
    let servers: Vec<NpmServer> = build_images("npm-servers")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some(NpmServer {
                name: fields.next()?.to_string(),
                image: fields.next()?.to_string(),
                entry: fields.next()?.to_string(),
            })
        })
        .collect();
    assert!(servers.len() >= 13, "{} servers packaged", servers.len());
    let prefix = "mcp-audit-capture-test-npm";
    let dir = scratch("npm");
    let entries: Vec<(&str, Value)> = servers
        .iter()
        .map(|server| {
            let (args, env) = launch(&server.name);
            let mut options: Vec<String> = Vec::new();
            for name in env {
                // A secret-looking value in the config, which the sandbox must not pass on.
                options.extend([
                    "-e".to_string(),
                    format!("{name}=config-value-not-for-the-sandbox"),
                ]);
            }
            let mut all: Vec<String> = ["run", "-i", "--rm"].map(str::to_string).to_vec();
            all.extend(options);
            all.push(server.image.clone());
            all.extend(args.iter().map(|a| a.to_string()));
            (
                server.name.as_str(),
                json!({"command": "docker", "args": all}),
            )
        })
        .collect();
    let config = write_config(&dir, &entries);

    let started = Instant::now();
    let run = scan(&config, prefix, &["--timeout", "60"]);
    let wall = started.elapsed();

    let mut startup_ms = 0;
    for server in &servers {
        let (expected, startup) = probe(server);
        startup_ms += startup;
        let captured = tool_names(&run, &server.name);
        assert!(!expected.is_empty(), "{} lists no tool", server.name);
        assert_eq!(captured, expected, "{}: {}", server.name, run.stderr);
        let info = &server_entry(&run, &server.name)["capture"];
        assert!(
            info["protocolVersion"].as_str().is_some(),
            "{}",
            server.name
        );
        assert!(
            info["serverInfo"]["name"].as_str().is_some(),
            "{}",
            server.name
        );
    }
    let poisoning: Vec<&Value> = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "poisoning")
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        .collect();
    assert_eq!(
        poisoning,
        Vec::<&Value>::new(),
        "honest servers are not poisoned"
    );
    eprintln!(
        "captured {} npm servers in {} ms; their own start-ups, run one after another, took {} ms",
        servers.len(),
        wall.as_millis(),
        startup_ms
    );
    assert_eq!(containers(prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn server_entry<'a>(run: &'a Run, name: &str) -> &'a Value {
    server(run, name)
}
