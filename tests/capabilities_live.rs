//! Hardening advice end to end: the real binary captures the project's test server in Docker,
//! infers its tools' capabilities, and advises the `docker run` flags none of them needs, on the
//! server's entry in the config.

mod sandbox;

use sandbox::*;

#[test]
fn a_weather_server_is_advised_every_flag_it_lacks() {
    let prefix = "mcp-audit-capabilities-test-hardening";
    let dir = scratch("capabilities-hardening");
    let servers = [
        ("weather", scenario("modern", &[])),
        (
            "dropped",
            scenario("modern", &["--cap-drop", "ALL", "--read-only"]),
        ),
        // Given an API key: the weather comes from a remote service, so the network stays.
        ("keyed", scenario("modern", &["-e", "WEATHER_API_KEY"])),
    ];
    let config = write_config(&dir, &servers);
    let run = scan(&config, prefix, &["--timeout", "20"]);
    let advice = |name: &str| -> Vec<String> {
        findings(&run, name)
            .into_iter()
            .filter(|f| f["rule_id"] == "MCP606")
            .map(|f| {
                assert_eq!(f["severity"], "info");
                assert!(f["location"]["line"].is_number(), "{f}");
                f["evidence"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    assert_eq!(
        advice("weather"),
        ["--cap-drop ALL", "--network none", "--read-only"],
        "{}",
        run.stderr
    );
    assert_eq!(advice("dropped"), ["--network none"], "{}", run.stderr);
    assert_eq!(
        advice("keyed"),
        ["--cap-drop ALL", "--read-only"],
        "{}",
        run.stderr
    );
    let weather = server(&run, "weather");
    assert_eq!(weather["capabilities"], serde_json::json!([]));
    assert_eq!(weather["tools"][0]["name"], "forecast");
    assert_eq!(containers(prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap_or_default();
}
