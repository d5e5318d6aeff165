//! The searchable text of a request: what the client's last user turn said (text parts and tool
//! results), cut to [`MAX_PROMPT_TEXT`] bytes. Stored uncompressed beside the audit data when
//! audit is on, so the `search` filter can find a request by what was asked. System prompts and
//! tool definitions are left out: they repeat in every request of a session.
//!
//! Both client dialects are read the same way: Anthropic Messages and OpenAI chat requests keep
//! the conversation in `messages`, each with a `role` and a `content` that is a string or an array
//! of parts carrying `text` (and, for Anthropic's `tool_result`, a nested `content`).

use serde::Deserialize;
use serde_json::value::RawValue;

/// Longest stored prompt text, in bytes.
pub const MAX_PROMPT_TEXT: usize = 16 * 1024;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    content: Option<serde_json::Value>,
}

/// The text of the last user message of a JSON request body; `None` when there is none (not
/// JSON, no messages, no text).
#[must_use]
pub fn last_user_text(body: &[u8]) -> Option<String> {
    let req: Request<'_> = serde_json::from_slice(body).ok()?;
    let content = req.messages.iter().rev().find_map(|raw| {
        let m: Message<'_> = serde_json::from_str(raw.get()).ok()?;
        (m.role.as_deref() == Some("user")).then_some(m.content)?
    })?;
    let mut out = String::new();
    collect(&content, &mut out);
    let text = out.trim();
    (!text.is_empty()).then(|| truncate(text, MAX_PROMPT_TEXT).to_owned())
}

/// Appends the text in `content` (a string, a part, or an array of parts) to `out`.
fn collect(content: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    if out.len() >= MAX_PROMPT_TEXT {
        return;
    }
    match content {
        Value::String(s) => push(out, s),
        Value::Array(parts) => parts.iter().for_each(|p| collect(p, out)),
        Value::Object(part) => {
            if let Some(Value::String(s)) = part.get("text") {
                push(out, s);
            }
            if let Some(inner) = part.get("content") {
                collect(inner, out);
            }
        }
        _ => {}
    }
}

fn push(out: &mut String, s: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(truncate(s, MAX_PROMPT_TEXT.saturating_sub(out.len())));
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_text_and_tool_results_of_the_last_user_turn() {
        let body = br#"{"model":"m","system":"You are Claude Code","messages":[
            {"role":"user","content":"first question"},
            {"role":"assistant","content":[{"type":"text","text":"answer"}]},
            {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ls output: Cargo.toml"}]},
                {"type":"text","text":"Why is the build failing?","cache_control":{"type":"ephemeral"}}
            ]}]}"#;
        assert_eq!(
            last_user_text(body).as_deref(),
            Some("ls output: Cargo.toml\nWhy is the build failing?")
        );
    }

    #[test]
    fn openai_string_and_part_contents() {
        let s = br#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}"#;
        assert_eq!(last_user_text(s).as_deref(), Some("hello there"));
        let parts = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#;
        assert_eq!(last_user_text(parts).as_deref(), Some("describe"));
    }

    #[test]
    fn nothing_to_index() {
        assert_eq!(last_user_text(b"not json"), None);
        assert_eq!(last_user_text(br#"{"messages":[]}"#), None);
        assert_eq!(
            last_user_text(br#"{"messages":[{"role":"assistant","content":"x"}]}"#),
            None
        );
        assert_eq!(
            last_user_text(br#"{"messages":[{"role":"user","content":"   "}]}"#),
            None
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_PROMPT_TEXT);
        let body = serde_json::json!({"messages": [{"role": "user", "content": long}]});
        let text = last_user_text(body.to_string().as_bytes()).expect("text");
        assert!(text.len() <= MAX_PROMPT_TEXT);
        assert!(text.len() > MAX_PROMPT_TEXT - 2);
        assert!(text.chars().all(|c| c == 'é'));
    }
}
