//! `Capture`: what one server offers an agent (tools, prompts, resources, templates, instructions,
//! identity, protocol), and its file: read and written. It holds the server's JSON as it came;
//! interpreting that JSON is the rules' job, not this module's.

use crate::config::secrets;
use crate::finding::visible_whole;
use crate::output::{OutputError, replace_file};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Everything a server showed, as JSON objects exactly as it sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capture {
    pub server: String,
    /// The file this capture was read from, or the config that declared the server.
    pub source: PathBuf,
    #[serde(default)]
    pub tools: Vec<Value>,
    #[serde(default)]
    pub prompts: Vec<Value>,
    #[serde(default)]
    pub resources: Vec<Value>,
    #[serde(default)]
    pub resource_templates: Vec<Value>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// The MCP revision the session spoke (`2025-11-25`, `2026-07-28`, …), when captured live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The server's `serverInfo` (name, version, title…) as it announced itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_info: Option<Value>,
    /// The capabilities the server declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
    /// Where findings about it point: a live capture's server entry in its config. `None`: the
    /// `source` file as a whole.
    #[serde(skip)]
    pub location: Option<crate::finding::Location>,
}

/// What reports show of a capture under `servers[].capture`: everything the server offered,
/// without the server's name and source, which the report already carries.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CaptureOffer<'a> {
    protocol_version: &'a Option<String>,
    server_info: &'a Option<Value>,
    capabilities: &'a Option<Value>,
    instructions: &'a Option<String>,
    tools: &'a [Value],
    prompts: &'a [Value],
    resources: &'a [Value],
    resource_templates: &'a [Value],
}

impl Capture {
    /// Serialise what the server offered, for a report's `servers[].capture`.
    pub fn serialize_offer<S: serde::Serializer>(
        capture: &Option<Capture>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        capture
            .as_ref()
            .map(|c| CaptureOffer {
                protocol_version: &c.protocol_version,
                server_info: &c.server_info,
                capabilities: &c.capabilities,
                instructions: &c.instructions,
                tools: &c.tools,
                prompts: &c.prompts,
                resources: &c.resources,
                resource_templates: &c.resource_templates,
            })
            .serialize(serializer)
    }
}

/// Paths and what a capture file holds are shown with control characters made visible, as
/// reports show them.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read {}: {source}", visible_path(path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not valid JSON: {source}", visible_path(path))]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {}", visible_path(path), visible_whole(problem))]
    Shape { path: PathBuf, problem: String },
    #[error("cannot write {}: {source}", visible_path(path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

fn visible_path(path: &Path) -> String {
    visible_whole(&path.to_string_lossy())
}

/// Write each capture to `dir` as `SERVER.json` (the name made safe and short enough for a
/// file name; a second server of the same name gets `SERVER-2.json`), creating `dir` when
/// missing. Secrets in any of its texts are redacted, as in every other file the tool writes (so
/// a tool that held one hashes differently from the live one). Each file is written whole or not at all, and on its own: in the captures' order,
/// the path written or why it could not be, so one failure loses no other capture. No file
/// replaces one of `inputs`.
pub fn write_captures(
    dir: &Path,
    captures: &[Capture],
    inputs: &[PathBuf],
) -> Result<Vec<Result<PathBuf, CaptureError>>, CaptureError> {
    std::fs::create_dir_all(dir).map_err(|source| CaptureError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut taken: Vec<PathBuf> = Vec::new();
    let mut written = Vec::new();
    for capture in captures {
        let stem = file_stem(&capture.server);
        let mut path = dir.join(format!("{stem}.json"));
        let mut n = 2;
        while taken.contains(&path) {
            path = dir.join(format!("{stem}-{n}.json"));
            n += 1;
        }
        taken.push(path.clone());
        written.push(write_capture(&path, capture, inputs).map(|()| path));
    }
    Ok(written)
}

fn write_capture(path: &Path, capture: &Capture, inputs: &[PathBuf]) -> Result<(), CaptureError> {
    let json_error = |source| CaptureError::Json {
        path: path.to_path_buf(),
        source,
    };
    let value = serde_json::to_value(capture).map_err(json_error)?;
    let mut text = serde_json::to_string_pretty(&redacted(value)).map_err(json_error)?;
    text.push('\n');
    Ok(replace_file(path, text.as_bytes(), inputs)?)
}

/// A JSON value with every secret in its strings and keys redacted.
fn redacted(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(secrets::redact_text(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(redacted).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (secrets::redact_text(&key), redacted(value)))
                .collect(),
        ),
        other => other,
    }
}

/// The longest stem kept of a server name, in bytes: with the hash, the suffix and the
/// temporary file's decoration, far below the 255 bytes a file name may have.
const MAX_STEM: usize = 64;

/// A server name as a file stem: letters, digits, `-`, `_` and `.` kept, the rest `-`; a long
/// one cut, with a short hash of the whole name so that two long names stay two files.
fn file_stem(server: &str) -> String {
    let stem: String = server
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        return "server".to_string();
    }
    if stem.len() <= MAX_STEM {
        return stem.to_string();
    }
    let mut end = MAX_STEM;
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    let hash = format!("{:x}", Sha256::digest(server.as_bytes()));
    format!("{}-{}", &stem[..end], &hash[..12])
}

/// Largest capture file read; a tools/list past this is hostile or broken.
const MAX_CAPTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Read a saved capture: a `tools/list` result (`{"tools": [...]}`), a whole JSON-RPC response
/// carrying one (`{"jsonrpc": "2.0", "result": {...}}`), a JSON-RPC batch of responses, a JSON
/// array of tools, or a capture written by mcp-audit. `server` names it; by default the file's stem.
pub fn read_capture(path: &Path, server: Option<&str>) -> Result<Capture, CaptureError> {
    let read_error = |source| CaptureError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_CAPTURE_BYTES {
        return Err(CaptureError::Shape {
            path: path.to_path_buf(),
            problem: format!("file is {size} bytes, more than the {MAX_CAPTURE_BYTES} read"),
        });
    }
    let bytes = crate::input::read_capped(path, MAX_CAPTURE_BYTES).map_err(read_error)?;
    let value = crate::json::parse_document(&bytes).map_err(|source| CaptureError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let name = match server {
        Some(name) => name.to_string(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "server".to_string()),
    };
    capture_from_value(value, &name, path).map_err(|problem| CaptureError::Shape {
        path: path.to_path_buf(),
        problem,
    })
}

/// Interpret a parsed JSON document as a capture; the error says what shape was expected.
pub fn capture_from_value(value: Value, server: &str, source: &Path) -> Result<Capture, String> {
    let mut capture = Capture {
        server: server.to_string(),
        source: source.to_path_buf(),
        ..Capture::default()
    };
    match value {
        // Tools carry no JSON-RPC keys; an array with them is a batch, not a list of tools.
        Value::Array(items) if items.iter().any(is_json_rpc) => read_batch(&mut capture, items)?,
        Value::Array(tools) => capture.tools = objects(tools, "tools")?,
        Value::Object(mut object) => {
            if let Some(error) = object.get("error") {
                return Err(format!("the JSON-RPC response is an error: {error}"));
            }
            let body = match object.remove("result") {
                Some(Value::Object(result)) => result,
                Some(_) => return Err("the JSON-RPC `result` is not an object".to_string()),
                None => object,
            };
            if !read_result(&mut capture, &body)? {
                return Err(
                    "no `tools`, `prompts`, `resources`, `resourceTemplates` or `instructions` found: not a tools/list result"
                        .to_string(),
                );
            }
        }
        _ => {
            return Err(
                "expected a tools/list result ({\"tools\": [...]}), a JSON-RPC response or batch, or an array of tools"
                    .to_string(),
            );
        }
    }
    Ok(capture)
}

fn is_json_rpc(item: &Value) -> bool {
    ["jsonrpc", "result", "error", "method"]
        .iter()
        .any(|key| item.get(key).is_some())
}

/// A JSON-RPC batch, as a session's log holds it: every response's result is read (pages of one
/// list add up); requests and notifications are passed over. An error response, or an entry that
/// is no JSON-RPC message, refuses the whole batch, since what it stands for was not seen.
fn read_batch(capture: &mut Capture, messages: Vec<Value>) -> Result<(), String> {
    let mut known = false;
    for (index, message) in messages.iter().enumerate() {
        if message.get("jsonrpc").is_none() {
            return Err(format!(
                "the JSON-RPC batch's entry [{index}] is no JSON-RPC message (it has no `jsonrpc`)"
            ));
        }
        if let Some(error) = message.get("error") {
            return Err(format!(
                "the JSON-RPC batch's entry [{index}] is an error: {error}"
            ));
        }
        match message.get("result") {
            None => {}
            Some(Value::Object(result)) => known |= read_result(capture, result)?,
            Some(_) => {
                return Err(format!(
                    "the JSON-RPC batch's entry [{index}] has a `result` that is not an object"
                ));
            }
        }
    }
    if known {
        Ok(())
    } else {
        Err("the JSON-RPC batch holds no tools/list result (nor prompts, resources or instructions)".to_string())
    }
}

/// Add one result to the capture; whether it held anything a capture is made of. The fields a
/// session states once (instructions, version, identity) may be given by one response only.
fn read_result(capture: &mut Capture, body: &Map<String, Value>) -> Result<bool, String> {
    let mut known = false;
    for (key, slot) in [
        ("tools", &mut capture.tools),
        ("prompts", &mut capture.prompts),
        ("resources", &mut capture.resources),
        ("resourceTemplates", &mut capture.resource_templates),
    ] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                known = true;
                slot.extend(objects(items.clone(), key)?);
            }
            Some(_) => return Err(format!("`{key}` is not an array")),
        }
    }
    let once = |key: &str, present: bool| {
        if present {
            Err(format!("more than one response gives `{key}`"))
        } else {
            Ok(())
        }
    };
    match body.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            once("instructions", capture.instructions.is_some())?;
            known = true;
            capture.instructions = Some(text.clone());
        }
        Some(_) => return Err("`instructions` is not a string".to_string()),
    }
    // A capture written by mcp-audit also says how the session went; these alone are no capture.
    match body.get("protocolVersion") {
        None | Some(Value::Null) => {}
        Some(Value::String(version)) => {
            once("protocolVersion", capture.protocol_version.is_some())?;
            capture.protocol_version = Some(version.clone());
        }
        Some(_) => return Err("`protocolVersion` is not a string".to_string()),
    }
    for (key, slot) in [
        ("serverInfo", &mut capture.server_info),
        ("capabilities", &mut capture.capabilities),
    ] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(value @ Value::Object(_)) => {
                once(key, slot.is_some())?;
                *slot = Some(value.clone());
            }
            Some(_) => return Err(format!("`{key}` is not an object")),
        }
    }
    Ok(known)
}

fn objects(items: Vec<Value>, key: &str) -> Result<Vec<Value>, String> {
    for (index, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(format!("`{key}[{index}]` is not an object"));
        }
    }
    Ok(items)
}

/// The display name of a tool, prompt, resource or template: its `name`, else its URI.
pub fn item_name(item: &Value) -> Option<&str> {
    item.get("name")
        .and_then(Value::as_str)
        .or_else(|| item.get("uri").and_then(Value::as_str))
        .or_else(|| item.get("uriTemplate").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Capture, String> {
        capture_from_value(value, "demo", Path::new("demo.json"))
    }

    #[test]
    fn reads_a_tools_list_result() {
        let capture = parse(json!({"tools": [{"name": "add"}]})).unwrap();
        assert_eq!(capture.tools.len(), 1);
        assert_eq!(capture.server, "demo");
    }

    #[test]
    fn reads_a_json_rpc_response_with_instructions() {
        let capture = parse(json!({"jsonrpc": "2.0", "id": 1,
            "result": {"tools": [{"name": "a"}, {"name": "b"}], "instructions": "be nice"}}))
        .unwrap();
        assert_eq!(capture.tools.len(), 2);
        assert_eq!(capture.instructions.as_deref(), Some("be nice"));
    }

    #[test]
    fn reads_back_a_capture_it_wrote() {
        let written = Capture {
            server: "demo".into(),
            source: "demo.json".into(),
            tools: vec![json!({"name": "a"})],
            instructions: Some("hi".into()),
            protocol_version: Some("2025-11-25".into()),
            server_info: Some(json!({"name": "demo-server", "version": "1.0"})),
            capabilities: Some(json!({"tools": {}})),
            ..Capture::default()
        };
        let value = serde_json::to_value(&written).unwrap();
        assert_eq!(value["protocolVersion"], "2025-11-25");
        assert_eq!(parse(value).unwrap(), written);
    }

    #[test]
    fn writes_one_file_per_server_that_reads_back() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let capture = |server: &str| Capture {
            server: server.into(),
            tools: vec![json!({"name": "a"})],
            ..Capture::default()
        };
        let written = write_captures(
            &dir,
            &[capture("github"), capture("../evil"), capture("github")],
            &[],
        )
        .unwrap();
        let written: Vec<PathBuf> = written.into_iter().map(Result::unwrap).collect();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["github.json", "-evil.json", "github-2.json"]);
        let read = read_capture(&written[0], None).unwrap();
        assert_eq!(read.server, "github");
        assert_eq!(read.tools.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_capture_read_live_reads_back_from_its_file() {
        // Deeper than serde_json's own limit, and a number past f64: both taken live.
        let deep = format!("{}1e400{}", "[".repeat(300), "]".repeat(300));
        let line =
            format!(r#"{{"tools": [{{"name": "deep", "inputSchema": {{"default": {deep}}}}}]}}"#);
        let live = crate::json::parse_line(line.as_bytes()).unwrap();
        let capture = parse(live).unwrap();
        let dir = std::env::temp_dir().join(format!("mcp-audit-deep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = write_captures(&dir, std::slice::from_ref(&capture), &[]).unwrap();
        let path = written.into_iter().next().unwrap().unwrap();
        assert_eq!(read_capture(&path, None).unwrap().tools, capture.tools);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_saved_capture_holds_no_secret_the_server_showed() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-secret-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let token = "ghp_0123456789abcdefABCDEF0123456789abcd";
        let capture = Capture {
            server: "echo".into(),
            tools: vec![
                json!({"name": "env", "description": format!("GITHUB_TOKEN={token}"),
                "inputSchema": {"properties": {"auth": {"default": format!("Bearer {token}")}}}}),
            ],
            instructions: Some(format!("use https://user:{token}@git.example/x")),
            ..Capture::default()
        };
        let written = write_captures(&dir, &[capture], &[]).unwrap();
        let path = written.into_iter().next().unwrap().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&token[8..]), "{text}");
        assert_eq!(read_capture(&path, None).unwrap().tools[0]["name"], "env");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_where_a_partial_file_was_written_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.with_extension("outside");
        let _ = std::fs::remove_file(&target);
        std::os::unix::fs::symlink(&target, dir.join(".github.json.partial")).unwrap();
        std::os::unix::fs::symlink(&target, dir.join("github.json")).unwrap();
        let capture = Capture {
            server: "github".into(),
            ..Capture::default()
        };
        let written = write_captures(&dir, &[capture], &[]).unwrap();
        let written: Vec<PathBuf> = written.into_iter().map(Result::unwrap).collect();
        assert!(!target.exists(), "the symlink's target was written");
        assert_eq!(read_capture(&written[0], None).unwrap().server, "github");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_over_long_server_name_is_bounded_and_loses_no_other_capture() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-long-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let capture = |server: String| Capture {
            server,
            ..Capture::default()
        };
        let long = "x".repeat(10_000);
        let longer = format!("{long}y");
        let written = write_captures(
            &dir,
            &[
                capture("github".into()),
                capture(long.clone()),
                capture(longer),
            ],
            &[],
        )
        .unwrap();
        let written: Vec<PathBuf> = written.into_iter().map(Result::unwrap).collect();
        assert_eq!(written.len(), 3);
        assert_ne!(written[1], written[2], "two long names share one file");
        for path in &written {
            assert!(path.file_name().unwrap().len() <= 120, "{}", path.display());
        }
        assert_eq!(read_capture(&written[0], None).unwrap().server, "github");
        let text = std::fs::read_to_string(&written[1]).unwrap();
        let saved: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(saved["server"], long.as_str());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_capture_that_cannot_be_written_is_reported_and_the_others_are_written() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-unwritable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("blocked.json/inside")).unwrap();
        let capture = |server: &str| Capture {
            server: server.into(),
            ..Capture::default()
        };
        let written = write_captures(&dir, &[capture("blocked"), capture("github")], &[]).unwrap();
        assert!(
            written[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("blocked.json")
        );
        let github = written[1].as_ref().unwrap();
        assert_eq!(read_capture(github, None).unwrap().server, "github");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_a_bare_array() {
        assert_eq!(parse(json!([{"name": "a"}])).unwrap().tools.len(), 1);
    }

    #[test]
    fn a_json_rpc_batch_is_read_as_the_responses_it_holds() {
        let batch = json!([
            {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25",
                "instructions": "Call `a` first.", "serverInfo": {"name": "s"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "a"}], "nextCursor": "2"}},
            {"jsonrpc": "2.0", "id": 3, "result": {"tools": [{"name": "b"}]}}
        ]);
        let capture = parse(batch).unwrap();
        let names: Vec<_> = capture.tools.iter().filter_map(item_name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(capture.instructions.as_deref(), Some("Call `a` first."));
        assert_eq!(capture.protocol_version.as_deref(), Some("2025-11-25"));
    }

    #[test]
    fn a_batch_without_tools_or_with_an_error_is_refused_not_taken_for_tools() {
        let refused = [
            (
                json!([{"jsonrpc": "2.0", "id": 1, "result": {}}]),
                "no tools/list result",
            ),
            (
                json!([{"jsonrpc": "2.0", "id": 1, "result": {"tools": []}},
                       {"jsonrpc": "2.0", "id": 2, "error": {"code": -32601}}]),
                "[1] is an error",
            ),
            (
                json!([{"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}, {"name": "a"}]),
                "[1] is no JSON-RPC message",
            ),
            (
                json!([{"id": 1, "result": {"tools": [{"name": "a"}]}}]),
                "[0] is no JSON-RPC message",
            ),
            (
                json!([{"jsonrpc": "2.0", "id": 1, "result": {"instructions": "a"}},
                       {"jsonrpc": "2.0", "id": 2, "result": {"instructions": "b"}}]),
                "more than one response gives `instructions`",
            ),
        ];
        for (value, problem) in refused {
            let error = parse(value.clone()).unwrap_err();
            assert!(error.contains(problem), "{value}: {error}");
        }
    }

    #[test]
    fn errors_show_paths_and_contents_with_control_characters_made_visible() {
        let error = CaptureError::Shape {
            path: PathBuf::from("tools\u{1b}[2J.json"),
            problem: parse(json!({"error": {"message": "\u{1b}[2J\nmcp-audit: ok"}})).unwrap_err(),
        }
        .to_string();
        assert!(error.starts_with("tools<U+001B>[2J.json: "), "{error}");
        assert!(!error.chars().any(char::is_control), "{error:?}");
    }

    #[test]
    fn rejects_what_is_not_a_capture() {
        assert!(
            parse(json!({"foo": 1}))
                .unwrap_err()
                .contains("not a tools/list")
        );
        assert!(
            parse(json!({"tools": {}}))
                .unwrap_err()
                .contains("not an array")
        );
        assert!(
            parse(json!({"tools": [1]}))
                .unwrap_err()
                .contains("tools[0]")
        );
        assert!(
            parse(json!({"error": {"code": -1}}))
                .unwrap_err()
                .contains("error")
        );
        assert!(parse(json!("x")).is_err());
    }
}
