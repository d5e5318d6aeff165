//! A local estimate of a Messages request's input tokens, for `count_tokens` when no endpoint
//! can count. It is a character heuristic, not a tokenizer: Claude Code uses `count_tokens` only
//! to size large tool results and falls back to its own estimate on a 404, so a cheap figure of
//! the right magnitude is what helps. Accuracy against recorded real counts is documented in
//! `docs/providers.md` and checked by `tests/count_tokens.rs`.

use serde_json::Value;

use crate::TranslateError;

/// Characters per token for prose and code (Anthropic's tokenizer averages 3–4).
const CHARS_PER_TOKEN: f64 = 3.0;
/// Per-message framing.
const PER_MESSAGE: f64 = 5.0;
/// The tool-use system prompt Anthropic adds when any tool is present.
const TOOLS_PREAMBLE: f64 = 400.0;
/// Thinking configuration adds a short instruction.
const THINKING: f64 = 25.0;
const BASE: f64 = 10.0;

/// Estimates `input_tokens` for an Anthropic Messages (or `count_tokens`) body.
///
/// # Errors
/// The body is not a JSON object.
pub fn estimate_input_tokens(body: &[u8]) -> Result<u64, TranslateError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(TranslateError::new("", "body is not a JSON object"));
    }
    let messages = v
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut chars = text_chars(v.get("system").unwrap_or(&Value::Null));
    chars += messages
        .iter()
        .map(|m| text_chars(m.get("content").unwrap_or(&Value::Null)))
        .sum::<usize>();
    let mut tokens = BASE + chars_to_tokens(chars) + PER_MESSAGE * count_f64(messages.len());
    if let Some(tools) = v
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    {
        let json_len = serde_json::to_string(tools).map_or(0, |s| s.len());
        tokens += TOOLS_PREAMBLE + chars_to_tokens(json_len);
    }
    if v.get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "disabled")
    {
        tokens += THINKING;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive estimate"
    )]
    Ok(tokens.ceil() as u64)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "character counts are far below 2^52"
)]
fn count_f64(n: usize) -> f64 {
    n as f64
}

fn chars_to_tokens(chars: usize) -> f64 {
    count_f64(chars) / CHARS_PER_TOKEN
}

/// Characters of text a block tree carries (strings, except ids, signatures and type tags;
/// images count as their usual ~1,600-token cost expressed in characters).
fn text_chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(text_chars).sum(),
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("image") {
                return 1600 * 3;
            }
            o.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "type" | "id" | "tool_use_id" | "signature" | "cache_control" | "data"
                    )
                })
                .map(|(_, x)| text_chars(x))
                .sum()
        }
        Value::Number(n) => n.to_string().len(),
        Value::Bool(_) | Value::Null => 0,
    }
}
