//! Prompt-cache hints for OpenAI-compatible targets that honour them.
//!
//! OpenAI itself caches automatically and has no per-part hint, so `cache_control` is dropped
//! for it. OpenRouter accepts Anthropic's `cache_control` on text content parts and passes it to
//! Anthropic and Gemini models (<https://openrouter.ai/docs/features/prompt-caching>). Claude
//! Code marks two places: the system prompt and the last block of the last turn; those
//! breakpoints are carried over, which is what keeps its cache warm turn after turn.

use serde_json::{Value, json};

/// Whether the Anthropic request marks a cache breakpoint in its system prompt and in its last
/// message.
fn breakpoints(anthropic: &Value) -> (bool, bool) {
    let has_cc = |v: &Value| v.get("cache_control").is_some_and(|c| !c.is_null());
    let system = anthropic
        .get("system")
        .and_then(Value::as_array)
        .is_some_and(|blocks| blocks.iter().any(has_cc));
    let last = anthropic
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .is_some_and(|blocks| blocks.iter().any(has_cc));
    (system, last)
}

/// Puts `cache_control: {type: ephemeral}` on the last text part of `message`, turning string
/// content into a one-part list first.
fn mark(message: &mut Value) {
    let Some(content) = message.get_mut("content") else {
        return;
    };
    if let Some(text) = content.as_str() {
        *content = json!([{"type": "text", "text": text}]);
    }
    if let Some(part) = content.as_array_mut().and_then(|parts| {
        parts
            .iter_mut()
            .rev()
            .find(|p| p.get("type").and_then(Value::as_str) == Some("text"))
    }) {
        part["cache_control"] = json!({"type": "ephemeral"});
    }
}

/// Adds OpenRouter cache hints to a translated request (`out`), from the original Anthropic
/// request body.
pub(super) fn add_openrouter_hints(anthropic_body: &[u8], out: &mut Value) {
    let Ok(anthropic) = serde_json::from_slice::<Value>(anthropic_body) else {
        return;
    };
    let (system, last) = breakpoints(&anthropic);
    let Some(messages) = out.get_mut("messages").and_then(Value::as_array_mut) else {
        return;
    };
    if system
        && let Some(m) = messages
            .iter_mut()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("system"))
    {
        mark(m);
    }
    if last && let Some(m) = messages.last_mut() {
        mark(m);
    }
}
