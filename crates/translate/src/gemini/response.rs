//! Non-streaming `generateContent` body → Anthropic message.
//!
//! The body is run through the same state machine as a stream ([`ToAnthropicStream`]) and the
//! events are folded into a message, so both paths map parts, ids, signatures, stop reasons and
//! usage identically. A body without `finishReason` ends normally, and a malformed function call
//! becomes a short note with `end_turn`: the non-streaming call is Claude Code's fallback, with no
//! further fallback behind it.

use serde_json::{Value, json};
use switchboard_protocol::observe::Summary;

use super::ToAnthropicStream;
use crate::{ResponseContext, StreamTranslator, TranslateError};

pub(crate) fn to_anthropic_response(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("Gemini response is not valid JSON: {e}")))?;
    let mut translator = ToAnthropicStream::for_whole_body(ctx.clone());
    let mut events = Vec::new();
    translator.value(v, &mut events);
    translator.finish(&mut events);
    let message = fold(&events)?;
    let body = serde_json::to_vec(&message)
        .map_err(|e| TranslateError::new("", format!("cannot serialise message: {e}")))?;
    Ok((body, translator.summary().clone()))
}

/// Anthropic stream events → the message they describe.
fn fold(events: &[switchboard_protocol::sse::Event]) -> Result<Value, TranslateError> {
    let mut message = json!({});
    let mut content: Vec<Value> = Vec::new();
    let mut json_bufs: Vec<String> = Vec::new();
    for ev in events {
        let d: Value = serde_json::from_str(&ev.data)
            .map_err(|e| TranslateError::new("", format!("internal event is not JSON: {e}")))?;
        let index = d
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok());
        match d.get("type").and_then(Value::as_str).unwrap_or_default() {
            "message_start" => message = d.get("message").cloned().unwrap_or_else(|| json!({})),
            "content_block_start" => {
                content.push(d.get("content_block").cloned().unwrap_or_else(|| json!({})));
                json_bufs.push(String::new());
            }
            "content_block_delta" => {
                let (Some(i), Some(delta)) = (index, d.get("delta")) else {
                    continue;
                };
                let (Some(block), Some(buf)) = (content.get_mut(i), json_bufs.get_mut(i)) else {
                    continue;
                };
                let text = |k: &str| {
                    delta
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                match delta
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "text_delta" => append(block, "text", &text("text")),
                    "thinking_delta" => append(block, "thinking", &text("thinking")),
                    "signature_delta" => set(block, "signature", json!(text("signature"))),
                    "input_json_delta" => buf.push_str(&text("partial_json")),
                    _ => {}
                }
            }
            "content_block_stop" => {
                let Some(i) = index else { continue };
                if let (Some(block), Some(buf)) = (content.get_mut(i), json_bufs.get(i))
                    && block.get("type").and_then(Value::as_str) == Some("tool_use")
                    && !buf.is_empty()
                {
                    let input = serde_json::from_str(buf).unwrap_or_else(|_| json!({}));
                    set(block, "input", input);
                }
            }
            "message_delta" => {
                if let Some(delta) = d.get("delta") {
                    set(
                        &mut message,
                        "stop_reason",
                        delta.get("stop_reason").cloned().unwrap_or(Value::Null),
                    );
                    set(
                        &mut message,
                        "stop_sequence",
                        delta.get("stop_sequence").cloned().unwrap_or(Value::Null),
                    );
                }
                if let Some(u) = d.get("usage") {
                    set(&mut message, "usage", u.clone());
                }
            }
            "error" => {
                let msg = d
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("Gemini reported an error");
                return Err(TranslateError::new("", msg));
            }
            _ => {}
        }
    }
    set(&mut message, "content", Value::Array(content));
    Ok(message)
}

fn append(block: &mut Value, key: &str, s: &str) {
    let mut cur = block
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    cur.push_str(s);
    set(block, key, json!(cur));
}

/// Sets a key on an object (and only on an object: indexing a non-object would panic).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(o) = target.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}
