//! The README's examples run: every `$ mcp-audit …` line of its console blocks, and the quick
//! start, must be a command the binary accepts (exit 0 or 1, never 2) that prints a report.
//! Each example that names a config is offline: its images are public, and no test reaches off
//! this machine.

mod cli;

use cli::mcp_audit;

fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md exists");
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("$ mcp-audit "))
        .map(|args| args.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn every_readme_example_runs() {
    let commands = readme_commands();
    assert!(commands.len() >= 6, "the README lost its examples");
    let out_dir = std::env::temp_dir().join(format!("mcp-audit-readme-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    for mut args in commands {
        let names_config = args
            .iter()
            .any(|a| a.ends_with(".json") && !a.contains("tools"));
        assert!(
            !names_config || args.iter().any(|a| a == "--offline"),
            "`mcp-audit {}` would reach public registries: add --offline",
            args.join(" ")
        );
        // Reports the examples write go to a temporary directory, not the work tree.
        let mut written = None;
        if let Some(i) = args.iter().position(|a| a == "--output" || a == "-o") {
            let path = out_dir.join(&args[i + 1]);
            args[i + 1] = path.to_string_lossy().into_owned();
            written = Some(path);
        }
        // So are lockfiles, which the examples after the `lock` one read.
        if let Some(i) = args.iter().position(|a| a == "--lockfile") {
            args[i + 1] = out_dir.join(&args[i + 1]).to_string_lossy().into_owned();
        }
        let locks = args[0] == "lock";
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mcp_audit(&refs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "`mcp-audit {}` failed: {stderr}",
            args.join(" ")
        );
        match written {
            Some(path) => assert!(std::fs::metadata(&path).is_ok_and(|m| m.len() > 0)),
            // `lock` says what it wrote on standard error; its report is the diffs, if any.
            None if locks => assert!(stderr.contains("mcp-audit: "), "{stderr}"),
            None => assert!(
                !out.stdout.is_empty(),
                "`{}` printed nothing",
                args.join(" ")
            ),
        }
    }
}

#[test]
fn the_quick_start_finds_what_the_readme_says() {
    let out = mcp_audit(&[
        "scan",
        "--offline",
        "demo/.mcp.json",
        "--tools",
        "demo/tools/weather.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    for id in [
        "MCP320", "MCP321", "MCP310", "MCP301", "MCP312", "MCP350", "MCP101", "MCP103",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
}
