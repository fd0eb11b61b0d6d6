//! A server's JSON read the way MCP clients read it, live from its standard output or from a
//! saved capture or lockfile: a number past the range of f64, a lone UTF-16 surrogate, bytes that
//! are not UTF-8 or deep nesting are taken, not refused, so a server cannot break only for the
//! auditor, nor write what the auditor cannot read back. It does not interpret JSON-RPC.

use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// Nesting read at most: far deeper than any server needs, and shallow enough for every later
/// stage that walks a definition recursively (a clone, a hash, a report) on a thread's stack.
pub const MAX_DEPTH: usize = 512;

/// Nesting serde_json reads on any thread's stack (its own default limit); a deeper line is
/// parsed on a thread of its own with a stack of `DEEP_STACK_BYTES`.
const SHALLOW_DEPTH: usize = 128;
const DEEP_STACK_BYTES: usize = 64 * 1024 * 1024;

/// A whole document: as serde_json reads it, with serde_json's error (and its line and column)
/// when not even `parse_line` takes it.
pub fn parse_document(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes).or_else(|error| parse_line(bytes).map_err(|_| error))
}

/// Why a line is not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Valid or not, it nests deeper than `MAX_DEPTH`.
    TooDeep,
    /// It is not JSON: a log line, garbage.
    NotJson,
}

/// Parse one line. What serde_json already accepts parses exactly as serde_json parses it; only
/// what it refuses and clients accept is rewritten first.
pub fn parse_line(line: &[u8]) -> Result<Value, LineError> {
    // Clients decode their input lossily; serde_json refuses invalid UTF-8 inside a string.
    let text = String::from_utf8_lossy(line);
    let (text, depth) = repair(&text)?;
    let parse = || {
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        // `repair` bounded the depth; serde_json's own limit is below what clients read.
        deserializer.disable_recursion_limit();
        let value = Value::deserialize(&mut deserializer).map_err(|_| LineError::NotJson)?;
        deserializer.end().map_err(|_| LineError::NotJson)?;
        Ok(value)
    };
    if depth <= SHALLOW_DEPTH {
        return parse();
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(scope, parse)
            .map_err(|_| LineError::TooDeep)?
            .join()
            .map_err(|_| LineError::TooDeep)?
    })
}

/// What JavaScript reads as `±Infinity` and Python as `±inf`: the finite number nearest to it.
const HUGE: &str = "1.7976931348623157e308";

/// The text with each lone surrogate escape replaced by U+FFFD's and each number past f64 by the
/// largest f64 of its sign, as the clients' parsers read them (borrowed when nothing changes),
/// and its deepest nesting.
fn repair(text: &str) -> Result<(Cow<'_, str>, usize), LineError> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // Bytes before `copied` are in `out` already.
    let mut copied = 0;
    let mut replace = |out: &mut Option<String>, from: usize, to: usize, with: &str| {
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..from]);
        out.push_str(with);
        copied = to;
    };
    let mut depth = 0usize;
    let mut deepest = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            match byte {
                b'"' => in_string = false,
                b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                    let Some(unit) = hex_unit(bytes, i + 2) else {
                        i += 2;
                        continue;
                    };
                    let paired = (0xD800..0xDC00).contains(&unit)
                        && bytes.get(i + 6) == Some(&b'\\')
                        && bytes.get(i + 7) == Some(&b'u')
                        && hex_unit(bytes, i + 8)
                            .is_some_and(|low| (0xDC00..0xE000).contains(&low));
                    if paired {
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&unit) {
                        replace(&mut out, i, i + 6, "\\ufffd");
                    }
                    i += 6;
                    continue;
                }
                // Any other escape is two bytes; the escaped byte may be a quote.
                b'\\' => {
                    i += 2;
                    continue;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(LineError::TooDeep);
                }
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(bytes.len(), |n| i + n);
                let number = &text[i..end];
                if number.parse::<f64>().is_ok_and(f64::is_infinite) {
                    let sign = if number.starts_with('-') { "-" } else { "" };
                    replace(&mut out, i, end, &format!("{sign}{HUGE}"));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let repaired = match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    };
    Ok((repaired, deepest))
}

/// The UTF-16 code unit of the four hex digits at `at`.
fn hex_unit(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_clients_read_and_serde_json_refuses() {
        let line = br#"{"a": 1e400, "b": -2E+999, "c": "x\ud800y", "d": "\udc00", "e": [1, 0.5]}"#;
        assert!(serde_json::from_slice::<Value>(line).is_err());
        let value = parse_line(line).unwrap();
        assert_eq!(value["a"], json!(f64::MAX));
        assert_eq!(value["b"], json!(f64::MIN));
        assert_eq!(value["c"], "x\u{fffd}y");
        assert_eq!(value["d"], "\u{fffd}");
        assert_eq!(value["e"], json!([1, 0.5]));
        let invalid_utf8 = b"{\"a\": \"x\xffy\"}";
        assert_eq!(parse_line(invalid_utf8).unwrap()["a"], "x\u{fffd}y");
    }

    #[test]
    fn leaves_what_serde_json_reads_as_serde_json_reads_it() {
        let line = r#"{"pair": "\ud83d\ude00", "esc": "\"[{\\u", "n": [1e308, -0, 18446744073709551616, 1.5e-400], "in": "1e400 ["}"#;
        assert!(matches!(repair(line), Ok((Cow::Borrowed(_), 2))));
        assert_eq!(
            parse_line(line.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(line).unwrap()
        );
    }

    #[test]
    fn reads_deep_nesting_up_to_the_bound() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let deepest = parse_line(nested(MAX_DEPTH).as_bytes()).unwrap();
        let mut depth = 0;
        let mut at = &deepest;
        while let Some(inner) = at.get(0) {
            at = inner;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH - 1);
        // What later stages do with a definition, on a test thread's ordinary stack.
        assert_eq!(deepest.clone(), deepest);
        assert_eq!(deepest.to_string(), nested(MAX_DEPTH));
        assert_eq!(
            parse_line(nested(MAX_DEPTH + 1).as_bytes()),
            Err(LineError::TooDeep)
        );
        assert_eq!(
            parse_line(b"<html>502 Bad Gateway</html>"),
            Err(LineError::NotJson)
        );
        assert_eq!(parse_line(b"{} trailing"), Err(LineError::NotJson));
    }
}
