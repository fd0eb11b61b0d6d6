//! A JSON reader that keeps the position of every key and value and accepts what VS Code, Zed and
//! OpenCode accept: `//` and `/* */` comments and trailing commas. It builds a `Node` tree and
//! nothing else; strict JSON is a subset, so every `.json` config goes through it.

use super::{MAX_DEPTH, Member, Node, NodeValue, Position, SyntaxError};

/// Parse JSON with comments and trailing commas.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
    };
    if text.starts_with('\u{FEFF}') {
        // Windows editors write one; it is not part of the document and takes no column.
        reader.pos = '\u{FEFF}'.len_utf8();
    }
    reader.skip_trivia()?;
    if reader.peek().is_none() {
        return Err(reader.error("the file is empty"));
    }
    let node = reader.value(0)?;
    reader.skip_trivia()?;
    if reader.peek().is_some() {
        return Err(reader.error("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    column: u32,
}

impl Reader<'_> {
    fn at(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.at(), message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if (byte & 0xC0) != 0x80 {
            // Count a character once, at its first byte.
            self.column += 1;
        }
        Some(byte)
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, wanted: &str) -> SyntaxError {
        match self.peek() {
            None => self.error(format!("expected {wanted}, found the end of the file")),
            Some(byte) => {
                let found = self.rest_char(byte);
                self.error(format!("expected {wanted}, found `{found}`"))
            }
        }
    }

    fn rest_char(&self, byte: u8) -> String {
        std::str::from_utf8(&self.bytes[self.pos..])
            .ok()
            .and_then(|rest| rest.chars().next())
            .map(String::from)
            .unwrap_or_else(|| format!("\\x{byte:02x}"))
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => {
                    self.bump();
                }
                (Some(b'/'), Some(b'/')) => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.bump();
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.at();
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(), self.peek_at(1)) {
                            (None, _) => {
                                return Err(SyntaxError::new(start, "unterminated `/*` comment"));
                            }
                            (Some(b'*'), Some(b'/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let at = self.at();
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => NodeValue::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => NodeValue::Number(self.number()?),
            Some(b't') => self.word("true", NodeValue::Bool(true))?,
            Some(b'f') => self.word("false", NodeValue::Bool(false))?,
            Some(b'n') => self.word("null", NodeValue::Null)?,
            _ => return Err(self.unexpected("a value")),
        };
        Ok(Node::new(at, value))
    }

    fn object(&mut self, depth: usize) -> Result<NodeValue, SyntaxError> {
        self.bump();
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b'}') => {
                    self.bump();
                    return Ok(NodeValue::Object(members));
                }
                Some(b'"') => {}
                _ => return Err(self.unexpected("a quoted key or `}`")),
            }
            let key_at = self.at();
            let key = self.string()?;
            self.skip_trivia()?;
            self.expect(b':', "`:` after the key")?;
            self.skip_trivia()?;
            let value = self.value(depth + 1)?;
            members.push(Member { key, key_at, value });
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b'}') => {}
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeValue, SyntaxError> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(b']') {
                self.bump();
                return Ok(NodeValue::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b']') => {}
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    fn word(&mut self, word: &str, value: NodeValue) -> Result<NodeValue, SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(value)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.unexpected("a digit"));
        }
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
        ) {
            self.bump();
        }
        let text = String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned();
        if text.parse::<f64>().is_err() {
            return Err(SyntaxError::new(
                self.at(),
                format!("`{text}` is not a number"),
            ));
        }
        Ok(text)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.at();
        self.bump();
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                None => return Err(SyntaxError::new(start, "unterminated string")),
                Some(b'"') => {
                    self.bump();
                    break;
                }
                Some(b'\\') => {
                    self.bump();
                    let c = self.escape()?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(b'\n') => {
                    return Err(self.error("line break inside a string (write it as `\\n`)"));
                }
                Some(byte) => {
                    self.bump();
                    out.push(byte);
                }
            }
        }
        // The bytes between quotes come from a `&str` and escapes add whole characters.
        String::from_utf8(out).map_err(|_| SyntaxError::new(start, "string is not UTF-8"))
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let c = match self.bump() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4()?;
                if (0xD800..0xDC00).contains(&first)
                    && self.peek() == Some(b'\\')
                    && self.peek_at(1) == Some(b'u')
                {
                    self.bump();
                    self.bump();
                    let second = self.hex4()?;
                    if (0xDC00..0xE000).contains(&second) {
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    // A lone high surrogate followed by some other escape: keep the second.
                    return Ok(char::from_u32(second).unwrap_or('\u{FFFD}'));
                }
                char::from_u32(first).unwrap_or('\u{FFFD}')
            }
            _ => return Err(self.error("unknown escape in a string")),
        };
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("`\\u` needs four hex digits"))?;
            self.bump();
            code = code * 16 + digit;
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn keeps_the_position_of_keys_and_values() {
        let text = "{\n  \"servers\": {\n    \"fetch\": {\"command\": \"uvx\"}\n  }\n}";
        let root = parse(text).unwrap();
        let servers = root.member("servers").unwrap();
        assert_eq!(servers.key_at, at(2, 3));
        assert_eq!(servers.value.at, at(2, 14));
        let fetch = servers.value.member("fetch").unwrap();
        assert_eq!(fetch.key_at, at(3, 5));
        assert_eq!(fetch.value.get("command").unwrap().at, at(3, 26));
    }

    #[test]
    fn accepts_comments_and_trailing_commas() {
        let text = "// user settings\n{\n  /* block\n comment */ \"a\": [1, 2,], // trailing\n  \"b\": {\"c\": true,},\n}\n";
        let root = parse(text).unwrap();
        assert_eq!(root.get("a").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(root.path(&["b", "c"]).unwrap().as_bool(), Some(true));
        assert_eq!(root.member("a").unwrap().key_at, at(4, 13));
    }

    #[test]
    fn decodes_escapes_and_counts_columns_in_characters() {
        let root = parse(r#"{"é": "a\"b\\c\u00e9\ud83d\ude00", "x": 1}"#).unwrap();
        assert_eq!(root.get("é").unwrap().as_str(), Some("a\"b\\cé😀"));
        assert_eq!(root.member("x").unwrap().key_at, at(1, 36));
    }

    #[test]
    fn a_slash_inside_a_string_is_not_a_comment() {
        let root = parse(r#"{"url": "https://example.com/*x*/"}"#).unwrap();
        assert_eq!(
            root.get("url").unwrap().as_str(),
            Some("https://example.com/*x*/")
        );
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let error = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!(error.at, at(3, 3));
        assert!(error.message.contains("`,` or `}`"), "{error}");
        assert_eq!(parse("").unwrap_err().message, "the file is empty");
        assert!(
            parse("{\"a\": \"x")
                .unwrap_err()
                .message
                .contains("unterminated")
        );
        assert!(parse("{\"a\": 1} x").unwrap_err().message.contains("after"));
        assert!(parse("/* open").unwrap_err().message.contains("comment"));
        assert!(parse("[1,,]").is_err());
        assert!(parse("{a: 1}").is_err());
        assert!(parse("-").is_err());
    }

    #[test]
    fn refuses_hostile_nesting_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
    }

    #[test]
    fn skips_a_byte_order_mark() {
        assert!(parse("\u{FEFF}{}").is_ok());
    }
}
