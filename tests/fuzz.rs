//! Mutational fuzzing, on the stable toolchain, of every reader that takes input from outside the
//! process: config files of each syntax, `docker run` arguments, a server's JSON-RPC output, saved
//! captures and the lockfile. Seeds are the repository's fixtures; a panic, a broken round trip
//! or an input that takes too long fails the test and is saved under the target directory.
//!
//! `MCP_AUDIT_FUZZ_SECS` (default 10) is each target's time, `MCP_AUDIT_FUZZ_SEED` repeats a run,
//! and `MCP_AUDIT_FUZZ_REPLAY=FILE cargo test --test fuzz TARGET` runs one saved input alone.

use mcp_audit::capture::{Capture, capture_from_value};
use mcp_audit::config::docker_args::{Runtime, parse_run};
use mcp_audit::config::lint::lint_configs;
use mcp_audit::config::syntax::Syntax;
use mcp_audit::config::{ConfigFile, Launch, parse_config};
use mcp_audit::lockfile::compare::{Observed, compare_server};
use mcp_audit::lockfile::{LockedServer, Lockfile, LockfileError, canonical_hash};
use mcp_audit::rules::RuleSet;
use mcp_audit::rules::engine::Engine;
use mcp_audit::sandbox::{Bounds, LEGACY_VERSIONS, MODERN_VERSION, capture_transcript};
use serde_json::{Value, json};
use std::io::{Seek, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// One input taking longer than this is a hang, or a cost no input of its size should have; the
/// worst honest one takes about a second in a debug build on a busy machine.
const SLOW: Duration = Duration::from_secs(5);
/// Mutants grow by insertions; past this they are cut back.
const MAX_INPUT: usize = 64 * 1024;
/// Mutants kept because their target accepted them, to mutate further; small ones only, so
/// the pool does not grow into inputs too slow to run many of.
const MAX_POOL: usize = 512;
const MAX_POOL_INPUT: usize = 8 * 1024;

/// Tokens worth inserting into any input: the syntax of each format, numbers and strings the
/// parsers treat specially, and text that grows when normalised.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "{", "}", "[", "]", ":", ",", "\"", "'", "\\", "\n", "\r\n", "\t", " ", "#", "//", "/*",
    "*/", "=", "-", "- ", ": ", "---\n", "...\n", "[[", "]]", "\"\"\"", "'''", "0", "-0",
    "1e400", "-1e400", "18446744073709551616", "-9223372036854775809", "0x10", "1.5", "NaN",
    "inf", "true", "null", "~", "\\u0000", "\\ud800", "\\udc00", "\\ud800\\udc00", "\\uFFFF",
    "\u{0}", "\u{202e}", "\u{200b}", "\u{feff}", "\u{fdfa}", "\u{1f600}", "&a", "*a", "!!str ",
    "? ", "|\n", ">-\n", "<<: ", "\"a\":1,", "\"name\":", "\"tools\":", "\"inputSchema\":",
    "\"description\":", "\"command\":", "\"args\":", "\"env\":", "\"url\":", "\"$ref\":",
    "\"properties\":", "\"id\":", "\"result\":", "\"method\":", "\"jsonrpc\":\"2.0\",",
];

/// Tokens of `docker run` command lines.
#[rustfmt::skip]
const DOCKER_TOKENS: &[&str] = &[
    "run", "-i", "-t", "-it", "--rm", "-e", "-eA=b", "--env", "--env-file", "-v", "--volume",
    "--mount", "type=bind,src=/,dst=/host", "type=volume,source=x,target=/x,readonly", "/:/host",
    "/var/run/docker.sock:/var/run/docker.sock", "--privileged", "--network", "--network=host",
    "--net=container:x", "--pid=host", "--ipc=host", "--userns=host", "--cap-add=ALL",
    "--security-opt", "seccomp=unconfined", "--device", "--user", "-u", "0:0", "--entrypoint",
    "--", "-", "=", "--=", "-=", "--name", "--platform", "linux/amd64", "-p", "8080:80",
    "--read-only", "--tmpfs", "/tmp", "-w", "--workdir", "-h", "--help", "--debug", "-H",
    "--host", "unix:///x", "--context", "--log-level", "--remote", "--connection", "--url",
    "image", "ghcr.io/o/i:1@sha256:0", "image@sha256:", "-v=/:/h", "--volumes-from",
];

/// One thing the fuzzer runs: its name, its seeds, the tokens of its language, and what it
/// calls. `run` returns whether the input was accepted (accepted inputs are mutated further)
/// and panics on anything that is a bug whatever the input.
struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    tokens: Vec<&'static str>,
    run: fn(&[u8]) -> bool,
}

#[test]
fn config_jsonc() {
    fuzz(Target {
        name: "config_jsonc",
        seeds: config_seeds(&["json", "jsonc"]),
        tokens: TOKENS.to_vec(),
        run: |input| read_config(input, Syntax::Jsonc),
    });
}

#[test]
fn config_yaml() {
    // JSON is YAML too, and its configs are flow-style YAML seeds.
    fuzz(Target {
        name: "config_yaml",
        seeds: config_seeds(&["yaml", "yml", "json"]),
        tokens: TOKENS.to_vec(),
        run: |input| read_config(input, Syntax::Yaml),
    });
}

#[test]
fn config_toml() {
    let mut seeds = config_seeds(&["toml"]);
    seeds.push(CODEX_SEED.as_bytes().to_vec());
    fuzz(Target {
        name: "config_toml",
        seeds,
        tokens: TOKENS.to_vec(),
        run: |input| read_config(input, Syntax::Toml),
    });
}

#[test]
fn docker_args() {
    fuzz(Target {
        name: "docker_args",
        seeds: docker_seeds(),
        tokens: DOCKER_TOKENS.iter().chain(TOKENS).copied().collect(),
        run: docker_run,
    });
}

#[test]
fn jsonrpc() {
    fuzz(Target {
        name: "jsonrpc",
        seeds: capture_values().iter().flat_map(transcripts).collect(),
        tokens: TOKENS.to_vec(),
        run: |input| capture_transcript("fuzz", input, &Bounds::default()).is_ok(),
    });
}

#[test]
fn capture() {
    fuzz(Target {
        name: "capture",
        seeds: capture_values()
            .iter()
            .map(|v| serde_json::to_vec_pretty(v).unwrap_or_default())
            .collect(),
        tokens: TOKENS.to_vec(),
        run: read_capture,
    });
}

#[test]
fn lockfile() {
    fuzz(Target {
        name: "lockfile",
        seeds: lockfile_seeds(),
        tokens: TOKENS.to_vec(),
        run: read_lockfile,
    });
}

/// A Codex config with what the fixture lacks: inline and nested tables, an array of tables,
/// multi-line and literal strings.
const CODEX_SEED: &str = r#"
[mcp_servers.files]
command = "docker"
args = ["run", "-i", "--rm", "-v", "/srv:/srv:ro", '--env-file', """.env""", "mcp/files:1"]
env = { TOKEN = "x", "dotted.key" = 'y' }
startup_timeout_sec = 1e3

[mcp_servers."quoted name".env]
A = """
two lines"""

[[mcp_servers.list]]
url = "http://127.0.0.1:1/mcp"
"#;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(&[]).expect("the built-in rules load"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every file under `dir` whose name ends in one of `extensions`, in a stable order.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn config_seeds(extensions: &[&str]) -> Vec<Vec<u8>> {
    let mut paths = files(&fixtures().join("configs"), extensions);
    paths.extend(files(&fixtures().join("policy"), extensions));
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Every config fixture that reads, whatever its syntax.
fn fixture_configs() -> Vec<ConfigFile> {
    let mut paths = files(
        &fixtures().join("configs"),
        &["json", "jsonc", "yaml", "yml", "toml"],
    );
    paths.extend(files(&fixtures().join("policy"), &["json"]));
    paths
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            let syntax = match path.extension()?.to_str()? {
                "toml" => Syntax::Toml,
                "yaml" | "yml" => Syntax::Yaml,
                _ => Syntax::Jsonc,
            };
            parse_config("fixture", &text, Some(syntax)).ok()?
        })
        .collect()
}

/// The config's text read as the scanner reads a file, then every server of it linted, described
/// and locked: what a config reaches before any registry or container.
fn read_config(input: &[u8], syntax: Syntax) -> bool {
    let text = String::from_utf8_lossy(input);
    // A file name that says nothing leaves the syntax to the content: one input in four.
    let syntax = (!input.len().is_multiple_of(4)).then_some(syntax);
    let Ok(Some(file)) = parse_config("fuzz", &text, syntax) else {
        return false;
    };
    for server in &file.servers {
        server.launch.describe();
        LockedServer::of_config(server, &file.path);
    }
    lint_configs(&[file], rules());
    true
}

/// `docker run` arguments as seeds: each NUL-separated, the runtime's name first.
fn docker_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = fixture_configs()
        .iter()
        .flat_map(|file| &file.servers)
        .filter_map(|server| match &server.launch {
            Launch::Container { command, args, .. } | Launch::Host { command, args, .. } => {
                let words: Vec<&str> = std::iter::once(command.value.as_str())
                    .chain(args.iter().map(|a| a.value.as_str()))
                    .collect();
                Some(words.join("\0").into_bytes())
            }
            Launch::Remote { .. } => None,
        })
        .collect();
    seeds.push(
        b"podman\0--log-level=debug\0run\0-it\0--rm\0-eA=b\0--mount=type=bind,src=/,dst=/h\0i\0--x"
            .to_vec(),
    );
    seeds.push(b"sudo\0-E\0env\0A=1\0sh\0-c\0cd / && wsl -e nerdctl run -v //:/h i\0x".to_vec());
    seeds.push(b"cmd\0/c\0\"C:\\Program Files\\docker.exe\" run --net=container:a i".to_vec());
    seeds
}

/// The argument list parsed on its own, then as a config's server, linted.
fn docker_run(input: &[u8]) -> bool {
    let mut words = input
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned());
    let Some(command) = words.next() else {
        return false;
    };
    let args: Vec<String> = words.collect();
    for runtime in [Runtime::Docker, Runtime::Podman] {
        parse_run(runtime, &args);
    }
    let config = json!({"mcpServers": {"fuzz": {"command": command, "args": args}}});
    let Ok(Some(file)) = parse_config("fuzz.json", &config.to_string(), Some(Syntax::Jsonc)) else {
        panic!("a config written by serde_json does not read: {config}");
    };
    let contained = file
        .servers
        .iter()
        .any(|s| matches!(s.launch, Launch::Container { .. }));
    lint_configs(&[file], rules());
    contained
}

/// Saved captures, and the tools of the test server's scenarios, as JSON.
fn capture_values() -> Vec<Value> {
    let mut paths = files(&fixtures(), &["json"]);
    paths.retain(|p| {
        let shown = p.to_string_lossy();
        !shown.contains("/sigstore/") && !shown.contains("/configs/") && !shown.contains("-lock")
    });
    paths
        .iter()
        .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
        .filter(|v| capture_from_value(v.clone(), "seed", Path::new("seed.json")).is_ok())
        .filter(|v| v.to_string().len() < MAX_INPUT / 4)
        .collect()
}

/// A server's output for a capture of `value`'s tools: one legacy session that also lists
/// prompts and resources, one stateless, each with the noise, requests and notifications
/// servers mix in. Request ids follow the client's order.
fn transcripts(value: &Value) -> Vec<Vec<u8>> {
    let Ok(capture) = capture_from_value(value.clone(), "seed", Path::new("seed.json")) else {
        return Vec::new();
    };
    let tools = Value::Array(capture.tools);
    let lines = |messages: &[Value]| {
        let mut out = Vec::new();
        for message in messages {
            out.extend(message.to_string().into_bytes());
            out.push(b'\n');
        }
        out
    };
    let reply = |id: u64, result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
    let legacy = lines(&[
        json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}),
        json!("a log line"),
        reply(
            2,
            json!({"protocolVersion": LEGACY_VERSIONS[0], "serverInfo": {"name": "s", "version": "1"},
            "capabilities": {"tools": {}, "prompts": {}, "resources": {}}, "instructions": "Use."}),
        ),
        json!({"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage", "params": {}}),
        reply(3, json!({"tools": tools, "nextCursor": "p2"})),
        reply(4, json!({"tools": []})),
        reply(
            5,
            json!({"prompts": [{"name": "p", "arguments": [{"name": "a"}]}]}),
        ),
        reply(6, json!({"resources": [{"uri": "file:///r", "name": "r"}]})),
        json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32601, "message": "no"}}),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        reply(8, json!({"tools": tools})),
        reply(9, json!({"tools": []})),
    ]);
    let modern = lines(&[
        reply(
            1,
            json!({"supportedVersions": [MODERN_VERSION], "capabilities": {"tools": {}},
            "serverInfo": {"name": "s", "version": "2"}}),
        ),
        json!([reply(2, json!({"tools": tools}))]),
        reply(3, json!({"tools": tools})),
    ]);
    vec![legacy, modern]
}

/// A saved capture read, scanned by the rules, then locked: the lockfile it makes must read back.
fn read_capture(input: &[u8]) -> bool {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let Ok(value) = serde_json::from_slice::<Value>(input) else {
        return false;
    };
    let Ok(capture) = capture_from_value(value, "fuzz", Path::new("fuzz.json")) else {
        return false;
    };
    let engine = ENGINE.get_or_init(|| Engine::new(rules()).expect("the built-in rules compile"));
    engine.scan(std::slice::from_ref(&capture));
    round_trip(&Lockfile::new(vec![LockedServer::of_capture(&capture)]));
    true
}

/// Lockfiles of the capture fixtures and of the config fixtures' servers.
fn lockfile_seeds() -> Vec<Vec<u8>> {
    let captures: Vec<Capture> = capture_values()
        .into_iter()
        .filter_map(|v| capture_from_value(v, "seed", Path::new("seed.json")).ok())
        .collect();
    let mut seeds: Vec<Vec<u8>> = captures
        .iter()
        .map(|c| {
            Lockfile::new(vec![LockedServer::of_capture(c)])
                .to_text()
                .into_bytes()
        })
        .collect();
    for file in fixture_configs() {
        let servers = file
            .servers
            .iter()
            .map(|s| LockedServer::of_config(s, &file.path))
            .collect();
        seeds.push(Lockfile::new(servers).to_text().into_bytes());
    }
    seeds
}

/// A lockfile read as `scan` reads it. A mutant refused only for its hashes is read again with
/// them made right, so mutations reach past the hash check.
fn read_lockfile(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let lockfile = match Lockfile::parse(&text, "fuzz.lock") {
        Ok(lockfile) => lockfile,
        Err(LockfileError::Corrupt { problem, .. }) if problem.contains("hash") => {
            let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
                return false;
            };
            rehash(&mut value);
            match Lockfile::parse(&value.to_string(), "fuzz.lock") {
                Ok(lockfile) => lockfile,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    round_trip(&lockfile);
    for locked in &lockfile.servers {
        let now = Observed {
            entry: locked.clone(),
            location: None,
        };
        let changes = compare_server(locked, &now, rules());
        assert!(
            changes.is_empty(),
            "server `{}` compared with itself changed: {changes:?}",
            locked.name
        );
        if let Some(launch) = &locked.launch {
            launch.describe();
        }
    }
    true
}

/// Every `hash` beside a `definition` set to the definition's hash.
fn rehash(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(definition) = object.get("definition") {
                let hash = canonical_hash(definition);
                object.insert("hash".to_string(), Value::String(hash));
            }
            object.values_mut().for_each(rehash);
        }
        Value::Array(items) => items.iter_mut().for_each(rehash),
        _ => {}
    }
}

/// What `lock` writes, its own reader reads, and writes again byte for byte.
fn round_trip(lockfile: &Lockfile) {
    let text = lockfile.to_text();
    match Lockfile::parse(&text, "written.lock") {
        Ok(read) => assert!(
            read.to_text() == text,
            "a lockfile this build wrote reads back as another"
        ),
        Err(error) => panic!("a lockfile this build wrote does not read back: {error}"),
    }
}

/// A small, fast, seedable generator (SplitMix64); the fuzzer needs no better.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One to four mutations of `input`, drawn from what breaks parsers: bytes flipped, tokens of
/// the language inserted, ranges deleted, duplicated or cut off, two inputs spliced, deep
/// nesting, long runs, a line repeated (duplicate keys), a JSON value of another type.
fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>], tokens: &[&str]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(12) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = *rng.pick(b"\0\x7f\x80\xff\"{}[]:,\\\n#-=' ");
            }
            2 | 3 => {
                let token = rng.pick(tokens).as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                out.drain(at.min(end)..end);
            }
            5 => {
                let end = (at + 1 + rng.below(256)).min(out.len());
                let chunk = out[at.min(end)..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, chunk);
            }
            6 => out.truncate(at),
            7 => {
                let other = rng.pick(pool);
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            8 => {
                let depth = *rng.pick(&[16, 127, 129, 200, 1_000, 5_000]);
                let (open, close) =
                    rng.pick(&[("[", "]"), ("{\"a\":", "}"), ("- ", ""), ("a: ", "")]);
                let mut nested = open.repeat(depth);
                if rng.below(2) == 0 {
                    nested.push_str(&close.repeat(depth));
                }
                out.splice(at..at, nested.into_bytes());
            }
            9 => {
                let run = rng.pick(&["A", "\\\\", "\u{fdfa}", "ghp_", "%", " ", "\\u0041"]);
                let times = *rng.pick(&[64, 1_024, 8_192]);
                out.splice(at..at, run.repeat(times).into_bytes());
            }
            10 => retype_json(rng, &mut out, at),
            _ => {
                let line = line_at(&out, at);
                let copy: Vec<u8> = std::iter::once(b'\n')
                    .chain(out[line.clone()].iter().copied())
                    .collect();
                out.splice(line.end..line.end, copy);
            }
        }
    }
    out.truncate(MAX_INPUT);
    out
}

/// One value of the JSON document `out` is, or of its line at `at`, replaced by a value of
/// another type: what a reader that trusts a field's type trips on.
fn retype_json(rng: &mut Rng, out: &mut Vec<u8>, at: usize) {
    let (start, end) = match serde_json::from_slice::<Value>(out) {
        Ok(_) => (0, out.len()),
        Err(_) => {
            let line = line_at(out, at);
            (line.start, line.end)
        }
    };
    let Ok(mut document) = serde_json::from_slice::<Value>(&out[start..end]) else {
        return;
    };
    let mut nodes = 0;
    count_nodes(&document, &mut nodes);
    let mut target = rng.below(nodes);
    let replacement = match rng.below(10) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(u64::MAX),
        3 => json!(-1.5),
        4 => json!(""),
        5 => json!("\u{202e}\u{0}\u{fdfa}"),
        6 => json!([]),
        7 => json!({}),
        8 => json!([null, 1, "a", {}]),
        _ => json!({"a": {"b": ["c"]}}),
    };
    replace_node(&mut document, &mut target, replacement);
    let text = if start == 0 && end == out.len() {
        serde_json::to_vec_pretty(&document)
    } else {
        serde_json::to_vec(&document)
    };
    if let Ok(text) = text {
        out.splice(start..end, text);
    }
}

/// The line of `text` that holds byte `at`, without its newline.
fn line_at(text: &[u8], at: usize) -> std::ops::Range<usize> {
    let start = text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i);
    start..end
}

fn count_nodes(value: &Value, count: &mut usize) {
    *count += 1;
    match value {
        Value::Array(items) => items.iter().for_each(|v| count_nodes(v, count)),
        Value::Object(object) => object.values().for_each(|v| count_nodes(v, count)),
        _ => {}
    }
}

/// Replace the node `target` counts down to, in the order `count_nodes` counts them.
fn replace_node(value: &mut Value, target: &mut usize, replacement: Value) -> Option<Value> {
    if *target == 0 {
        *value = replacement;
        return None;
    }
    *target -= 1;
    let mut replacement = Some(replacement);
    let children: Vec<&mut Value> = match value {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(object) => object.values_mut().collect(),
        _ => Vec::new(),
    };
    for child in children {
        replacement = replace_node(child, target, replacement?);
    }
    replacement
}

/// What became of one input.
enum Outcome {
    Accepted,
    Refused,
    Panicked(String),
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={text} is not a whole number"),
    }
}

/// Run `target` on its seeds, then on mutants of them until its time is up; or, with
/// `MCP_AUDIT_FUZZ_REPLAY`, on that one file, in this thread so a panic shows its stack.
fn fuzz(target: Target) {
    if let Some(file) = std::env::var_os("MCP_AUDIT_FUZZ_REPLAY") {
        let input = std::fs::read(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", Path::new(&file).display()));
        let accepted = (target.run)(&input);
        println!("{}: replayed; accepted: {accepted}", target.name);
        return;
    }
    assert!(!target.seeds.is_empty(), "{}: no seeds", target.name);
    let seconds = env_number("MCP_AUDIT_FUZZ_SECS").unwrap_or(10);
    let seed = env_number("MCP_AUDIT_FUZZ_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&dir).expect("a directory for fuzz inputs");
    // The input being run is kept on disk, so one that kills the process (a stack overflow, an
    // abort) is not lost with it.
    let running_path = dir.join(format!("{}.running", target.name));
    let mut running = std::fs::File::create(&running_path).expect("the running input's file");
    println!(
        "{}: seed {seed} for {seconds} s (MCP_AUDIT_FUZZ_SEED={seed} repeats it)",
        target.name
    );

    let (inputs, work) = mpsc::channel::<Vec<u8>>();
    let (outcomes, done) = mpsc::channel::<Outcome>();
    let run = target.run;
    std::thread::spawn(move || {
        for input in work {
            let outcome = match catch_unwind(AssertUnwindSafe(|| run(&input))) {
                Ok(true) => Outcome::Accepted,
                Ok(false) => Outcome::Refused,
                Err(payload) => Outcome::Panicked(
                    payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default(),
                ),
            };
            if outcomes.send(outcome).is_err() {
                return;
            }
        }
    });

    let mut rng = Rng(seed);
    let mut pool = target.seeds.clone();
    let (mut runs, mut accepted) = (0u64, 0u64);
    let mut stop = Instant::now() + Duration::from_secs(seconds);
    let mut seeds = target.seeds.iter();
    loop {
        let input = match seeds.next() {
            Some(seed) => seed.clone(),
            None if Instant::now() >= stop => break,
            None => {
                let base = rng.pick(&pool).clone();
                mutate(&mut rng, &base, &pool, &target.tokens)
            }
        };
        running
            .set_len(0)
            .and_then(|()| running.rewind())
            .and_then(|()| running.write_all(&input))
            .expect("the running input is saved");
        inputs.send(input.clone()).expect("the fuzz worker runs");
        let started = Instant::now();
        // The first input also pays for what the target builds once (the compiled rules): it
        // has more time, and the target's time starts after it.
        let limit = if runs == 0 { SLOW * 20 } else { SLOW };
        let failure = match done.recv_timeout(limit) {
            Ok(Outcome::Accepted) => {
                accepted += 1;
                if input.len() <= MAX_POOL_INPUT && pool.len() < MAX_POOL {
                    pool.push(input.clone());
                } else if input.len() <= MAX_POOL_INPUT {
                    let i = rng.below(pool.len());
                    pool[i] = input.clone();
                }
                None
            }
            Ok(Outcome::Refused) => None,
            Ok(Outcome::Panicked(message)) => {
                let message: String = message.chars().take(2_000).collect();
                Some(format!("panicked: {message}"))
            }
            Err(_) => Some(format!(
                "took more than {} s on an input of {} bytes",
                limit.as_secs(),
                input.len()
            )),
        };
        runs += 1;
        if runs == 1 {
            stop = Instant::now() + Duration::from_secs(seconds);
        }
        if let Some(failure) = failure {
            let saved = dir.join(format!("{}-{seed}-{runs}.bin", target.name));
            std::fs::write(&saved, &input).expect("the failing input is saved");
            let shown: String = input
                .escape_ascii()
                .to_string()
                .chars()
                .take(4_000)
                .collect();
            panic!(
                "{name} {failure}\nafter {:?}, run {runs} of seed {seed}; the input is saved in {path}\n\
                 replay it: MCP_AUDIT_FUZZ_REPLAY={path} cargo test --locked --test fuzz {name}\n\
                 input ({} bytes): {shown}",
                started.elapsed(),
                input.len(),
                name = target.name,
                path = saved.display(),
            );
        }
    }
    let _ = std::fs::remove_file(&running_path);
    println!(
        "{}: {runs} inputs, {accepted} accepted, no failure",
        target.name
    );
}
