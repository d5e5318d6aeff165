//! A strict JSON parser (RFC 8259, what `JSON.parse` accepts) that keeps the byte span of every
//! value and key, so edits can splice the text instead of re-serialising it.
//!
//! Invariants of a parsed [`Doc`]: spans are byte offsets into the text they came from, on
//! character boundaries; an object's `start` is its `{` and `end` is one past its `}`; a
//! member's value span starts at the value's first byte (after the colon and any whitespace).
//! A leading UTF-8 byte order mark is skipped (and left in the text).

use std::ops::Range;

/// Where a document failed to parse: 1-based line and column (in characters), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) span: Range<usize>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    Scalar,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The decoded key.
    pub(crate) key: String,
    /// The key's span, quotes included.
    pub(crate) key_span: Range<usize>,
    pub(crate) value: Node,
}

impl Node {
    pub(crate) fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The member named `key`: the last one, as `JSON.parse` keeps the last of duplicates.
    pub(crate) fn get(&self, key: &str) -> Option<(usize, &Member)> {
        self.members()?
            .iter()
            .enumerate()
            .rev()
            .find(|(_, m)| m.key == key)
    }
}

/// A parsed document: the root value, with the text's spans.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub(crate) root: Node,
}

impl Doc {
    /// The node at `path` (keys of nested objects), if every step exists and is an object.
    pub(crate) fn find(&self, path: &[&str]) -> Option<&Node> {
        let mut node = &self.root;
        for key in path {
            node = &node.get(key)?.1.value;
        }
        Some(node)
    }
}

/// Parses `text`, which must hold exactly one JSON value (whitespace around it allowed).
pub(crate) fn parse(text: &str) -> Result<Doc, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
        depth: 0,
    };
    p.ws();
    let root = p.value()?;
    p.ws();
    if p.pos < p.bytes.len() {
        return Err(p.error("unexpected content after the end of the document"));
    }
    Ok(Doc { root })
}

/// Nesting deeper than this is refused rather than risking the stack (Claude Code's files nest
/// a handful of levels).
const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        let (line, column) = line_column(self.text, self.pos);
        SyntaxError {
            line,
            column,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                self.string()?;
                Ok(Node {
                    span: start..self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Ok(Node {
                    span: start..self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of file, expected a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<Node, SyntaxError> {
        let start = self.pos;
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(Node {
                span: start..self.pos,
                kind: Kind::Scalar,
            })
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.error(if members.is_empty() {
                        "expected a string key or `}`"
                    } else {
                        "expected a string key (JSON allows no trailing comma)"
                    }));
                }
                let key_start = self.pos;
                let key = self.string()?;
                let key_span = key_start..self.pos;
                self.ws();
                self.expect(b':', "`:` after the key")?;
                self.ws();
                let value = self.value()?;
                members.push(Member {
                    key,
                    key_span,
                    value,
                });
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected `,` or `}`")),
                }
            }
        }
        self.depth -= 1;
        Ok(Node {
            span: start..self.pos,
            kind: Kind::Object(members),
        })
    }

    fn array(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek() == Some(b']') {
                    return Err(self.error("expected a value (JSON allows no trailing comma)"));
                }
                items.push(self.value()?);
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected `,` or `]`")),
                }
            }
        }
        self.depth -= 1;
        Ok(Node {
            span: start..self.pos,
            kind: Kind::Array(items),
        })
    }

    /// A string literal starting at `"`; returns it decoded.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut plain = true;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    plain = false;
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                                    return Err(self.error("invalid \\u escape"));
                                }
                                self.pos += 1;
                            }
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    }
                }
                Some(b) if b < 0x20 => {
                    return Err(self.error("control character in string (escape it)"));
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = &self.text[start..self.pos];
        if plain {
            return Ok(raw[1..raw.len() - 1].to_owned());
        }
        // Escapes (including surrogate pairs, and lone surrogates that `JSON.parse` accepts
        // but Rust strings cannot hold) are decoded by serde_json.
        serde_json::from_str::<String>(raw).map_err(|e| SyntaxError {
            line: line_column(self.text, start).0,
            column: line_column(self.text, start).1,
            message: format!("invalid string: {e}"),
        })
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error("invalid number: digits expected after `.`"));
            }
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error("invalid number: digits expected in the exponent"));
            }
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        Ok(())
    }
}

/// The 1-based line and column (in characters) of byte offset `pos`.
pub(crate) fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "{\n  \"a\": [1, {\"b\": null}],\n  \"c\" :\"x\"\n}";
        let doc = parse(text).expect("valid");
        let (_, c) = doc.root.get("c").expect("c");
        assert_eq!(&text[c.key_span.clone()], "\"c\"");
        assert_eq!(&text[c.value.span.clone()], "\"x\"");
        let a = doc.find(&["a"]).expect("a");
        assert_eq!(&text[a.span.clone()], "[1, {\"b\": null}]");
    }

    #[test]
    fn rejects_what_json_parse_rejects_with_a_location() {
        for (text, line, column) in [
            ("{\"a\": 1,}", 1, 9),
            ("{\n  // comment\n}", 2, 3),
            ("{\"a\": 01}", 1, 8),
            ("{\"a\": 'x'}", 1, 7),
            ("{\"a\": 1} x", 1, 10),
            ("{\"a\": \"\t\"}", 1, 8),
            ("", 1, 1),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(
                (e.line, e.column),
                (line, column),
                "{text:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn decodes_escaped_keys_and_keeps_the_last_duplicate() {
        let doc = parse(r#"{"a\u0062": 1, "ab": 2}"#).expect("valid");
        let (i, m) = doc.root.get("ab").expect("ab");
        assert_eq!(i, 1);
        assert_eq!(m.key, "ab");
    }

    #[test]
    fn skips_a_byte_order_mark() {
        let doc = parse("\u{feff}{\"a\":1}").expect("valid");
        assert_eq!(doc.root.span, 3..10);
    }
}
