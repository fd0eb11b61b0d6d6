//! Real MCP servers from the npm registry, packaged FROM scratch with this machine's own `node`
//! and pushed to the loopback registry, captured end to end in the sandbox. Each capture's tool
//! names must equal what the official TypeScript SDK's client sees when it runs the same server
//! directly, and none of these honest servers may draw a poisoning finding at medium or above.

mod sandbox;

use sandbox::*;
use serde_json::Value;
use std::process::Command;
use std::time::Instant;

/// What the SDK client saw: tool names and milliseconds to answer `initialize`.
fn probe(server: &NpmServer) -> (Vec<String>, u64) {
    let (args, env) = npm_launch(&server.name);
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
        command.env(name, mcp_audit::sandbox::lockdown::placeholder(name));
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
    let servers = npm_servers();
    assert!(servers.len() >= 13, "{} servers packaged", servers.len());
    let prefix = "mcp-audit-capture-test-npm";
    let dir = scratch("npm");
    let entries: Vec<(&str, Value)> = servers
        .iter()
        .map(|server| (server.name.as_str(), npm_entry(&server.name, &server.image)))
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
