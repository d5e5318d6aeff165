//! The layout of a JSON text as found (line ending, indent unit, `:` spacing, one line or many),
//! and new values rendered in it. A file Claude Code wrote (`JSON.stringify(x, null, 2)`) gets
//! new values exactly as `JSON.stringify` would have written them.

use super::parse::{Doc, Kind, Member, Node, parse};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Style {
    /// `"\n"` or `"\r\n"`, as the text's first line break.
    pub(crate) newline: &'static str,
    /// One level of indentation (two spaces unless the text shows otherwise).
    pub(crate) unit: String,
    /// What goes between a key and its value: the first member's, else `": "`.
    pub(crate) colon: String,
    /// The whole text is on one line (a minified file): new objects stay on one line too.
    pub(crate) inline: bool,
}

impl Style {
    pub(crate) fn detect(text: &str, doc: &Doc) -> Style {
        let newline = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let first = doc.root.members().and_then(<[Member]>::first);
        let colon = first.map_or_else(
            || ": ".to_owned(),
            |m| text[m.key_span.end..m.value.span.start].to_owned(),
        );
        let unit = first
            .and_then(|m| {
                let indent = line_prefix(text, m.key_span.start)?;
                (!indent.is_empty()).then(|| indent.to_owned())
            })
            .unwrap_or_else(|| "  ".to_owned());
        let inline = !text.trim_end().contains('\n') && first.is_some();
        Style {
            newline,
            unit,
            colon,
            inline,
        }
    }

    /// The indentation of `member`'s line, when the member starts its line; else the line's own.
    pub(crate) fn member_indent(&self, text: &str, member: &Member) -> String {
        self.line_indent(text, member.key_span.start)
    }

    /// The leading whitespace of the line holding byte `pos`.
    pub(crate) fn line_indent(&self, text: &str, pos: usize) -> String {
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..];
        let end = line
            .find(|c: char| c != ' ' && c != '\t')
            .unwrap_or(line.len());
        line[..end].to_owned()
    }
}

/// The whitespace before `pos` on its line, if only whitespace precedes it there.
fn line_prefix(text: &str, pos: usize) -> Option<&str> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..pos];
    prefix
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(prefix)
}

/// The JSON text `json` laid out in `style`, for a place whose line is indented by `indent`.
/// Members keep their order; scalars are copied as written. `json` must be valid JSON (callers
/// pass serde_json output or text that was parsed already); invalid text is returned as it is.
pub(crate) fn render(json: &str, style: &Style, indent: &str) -> String {
    let Ok(doc) = parse(json) else {
        return json.to_owned();
    };
    let mut out = String::new();
    write_node(&mut out, json, &doc.root, style, indent);
    out
}

fn write_node(out: &mut String, text: &str, node: &Node, style: &Style, indent: &str) {
    let inner = format!("{indent}{}", style.unit);
    let (open, close, len) = match &node.kind {
        Kind::Object(m) if !m.is_empty() => ('{', '}', m.len()),
        Kind::Array(items) if !items.is_empty() => ('[', ']', items.len()),
        Kind::Object(_) => {
            out.push_str("{}");
            return;
        }
        Kind::Array(_) => {
            out.push_str("[]");
            return;
        }
        Kind::Scalar => {
            out.push_str(&text[node.span.clone()]);
            return;
        }
    };
    out.push(open);
    for i in 0..len {
        if i > 0 {
            out.push(',');
        }
        if style.inline {
            if i > 0 && style.colon.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push_str(style.newline);
            out.push_str(&inner);
        }
        match &node.kind {
            Kind::Object(members) => {
                let m = &members[i];
                out.push_str(&text[m.key_span.clone()]);
                out.push_str(&style.colon);
                write_node(out, text, &m.value, style, &inner);
            }
            Kind::Array(items) => write_node(out, text, &items[i], style, &inner),
            Kind::Scalar => {}
        }
    }
    if !style.inline {
        out.push_str(style.newline);
        out.push_str(indent);
    }
    out.push(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style_of(text: &str) -> Style {
        Style::detect(text, &parse(text).expect("valid"))
    }

    #[test]
    fn detects_claude_codes_own_layout() {
        let s = style_of("{\n  \"a\": 1\n}");
        assert_eq!(
            s,
            Style {
                newline: "\n",
                unit: "  ".to_owned(),
                colon: ": ".to_owned(),
                inline: false
            }
        );
        let s = style_of("{\r\n\t\"a\":1\r\n}\r\n");
        assert_eq!(
            (s.newline, s.unit.as_str(), s.colon.as_str()),
            ("\r\n", "\t", ":")
        );
        assert!(style_of("{\"a\": 1}\n").inline);
    }

    #[test]
    fn renders_like_json_stringify() {
        let s = style_of("{\n  \"a\": 1\n}");
        let v = r#"{"command":"npx","args":["-y","x"],"env":{ },"n":[],"t":1.50}"#;
        assert_eq!(
            render(v, &s, "  "),
            "{\n    \"command\": \"npx\",\n    \"args\": [\n      \"-y\",\n      \"x\"\n    ],\n    \"env\": {},\n    \"n\": [],\n    \"t\": 1.50\n  }"
        );
        let s = style_of("{\"a\": 1}");
        assert_eq!(
            render(v, &s, ""),
            "{\"command\": \"npx\", \"args\": [\"-y\", \"x\"], \"env\": {}, \"n\": [], \"t\": 1.50}"
        );
    }
}
