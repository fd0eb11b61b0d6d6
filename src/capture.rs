//! `Capture`: what one server offers an agent (tools, prompts, resources, templates,
//! instructions), and reading one from a saved file. It holds the server's JSON as it came;
//! interpreting that JSON is the rules' job, not this module's.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Everything a server showed, as JSON objects exactly as it sent them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {problem}")]
    Shape { path: PathBuf, problem: String },
}

/// Largest capture file read; a tools/list past this is hostile or broken.
const MAX_CAPTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Read a saved capture: a `tools/list` result (`{"tools": [...]}`), a whole JSON-RPC response
/// carrying one (`{"jsonrpc": "2.0", "result": {...}}`), a JSON array of tools, or a capture
/// written by mcp-audit. `server` names it; by default the file's stem.
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
    let bytes = std::fs::read(path).map_err(read_error)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|source| CaptureError::Json {
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
    let body = match value {
        Value::Array(tools) => {
            capture.tools = objects(tools, "tools")?;
            return Ok(capture);
        }
        Value::Object(mut object) => {
            if let Some(error) = object.get("error") {
                return Err(format!("the JSON-RPC response is an error: {error}"));
            }
            match object.remove("result") {
                Some(Value::Object(result)) => result,
                Some(_) => return Err("the JSON-RPC `result` is not an object".to_string()),
                None => object,
            }
        }
        _ => {
            return Err(
                "expected a tools/list result ({\"tools\": [...]}), a JSON-RPC response, or an array of tools"
                    .to_string(),
            );
        }
    };
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
                *slot = objects(items.clone(), key)?;
            }
            Some(_) => return Err(format!("`{key}` is not an array")),
        }
    }
    match body.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            known = true;
            capture.instructions = Some(text.clone());
        }
        Some(_) => return Err("`instructions` is not a string".to_string()),
    }
    if !known {
        return Err(
            "no `tools`, `prompts`, `resources`, `resourceTemplates` or `instructions` found: not a tools/list result"
                .to_string(),
        );
    }
    Ok(capture)
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
    fn reads_a_bare_array() {
        assert_eq!(parse(json!([{"name": "a"}])).unwrap().tools.len(), 1);
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
