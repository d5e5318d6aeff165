//! Builders for the responses each dialect sends, as whole SSE frames or JSON bodies.

use serde_json::json;

fn frame(event: &str, data: &serde_json::Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// An Anthropic text stream: `message_start`, one text block with one delta per piece,
/// `message_delta` with the usage, `message_stop`.
#[must_use]
pub fn anthropic_text(
    model: &str,
    pieces: &[&str],
    input_tokens: u64,
    output_tokens: u64,
) -> Vec<String> {
    anthropic_text_with_cache(model, pieces, input_tokens, output_tokens, 0, 0)
}

/// As [`anthropic_text`], with cache usage in `message_start`.
#[must_use]
pub fn anthropic_text_with_cache(
    model: &str,
    pieces: &[&str],
    input_tokens: u64,
    output_tokens: u64,
    cache_creation: u64,
    cache_read: u64,
) -> Vec<String> {
    let mut out = vec![frame(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read, "output_tokens": 1}}}),
    )];
    out.push(frame("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
    out.push(frame("ping", &json!({"type": "ping"})));
    for p in pieces {
        out.push(frame("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})));
    }
    out.push(frame(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(frame(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
    ));
    out.push(frame("message_stop", &json!({"type": "message_stop"})));
    out
}

/// An Anthropic stream answering with one tool call.
#[must_use]
pub fn anthropic_tool_use(model: &str, id: &str, name: &str, input_json: &str) -> Vec<String> {
    vec![
        frame(
            "message_start",
            &json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}),
        ),
        frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        ),
        frame(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": input_json}}),
        ),
        frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 0}),
        ),
        frame(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        ),
        frame("message_stop", &json!({"type": "message_stop"})),
    ]
}

/// A non-streaming Anthropic message.
#[must_use]
pub fn anthropic_message(model: &str, text: &str, input_tokens: u64, output_tokens: u64) -> String {
    json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    .to_string()
}

fn data(v: &serde_json::Value) -> String {
    format!("data: {v}\n\n")
}

/// An OpenAI chat stream: one content delta per piece, `finish_reason: stop`, a usage chunk, `[DONE]`.
#[must_use]
pub fn openai_text(
    model: &str,
    pieces: &[&str],
    prompt_tokens: u64,
    completion_tokens: u64,
    cached: u64,
) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        data(
            &json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    for p in pieces {
        out.push(chunk(json!({"content": p}), None));
    }
    out.push(chunk(json!({}), Some("stop")));
    out.push(data(&json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached}}})));
    out.push("data: [DONE]\n\n".to_owned());
    out
}

/// An OpenAI chat stream answering with one tool call whose arguments arrive in `fragments`.
#[must_use]
pub fn openai_tool_call(model: &str, id: &str, name: &str, fragments: &[&str]) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        data(
            &json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        None,
    )];
    for f in fragments {
        out.push(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}),
            None,
        ));
    }
    out.push(chunk(json!({}), Some("tool_calls")));
    out.push(data(&json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}})));
    out.push("data: [DONE]\n\n".to_owned());
    out
}

/// A non-streaming OpenAI chat completion.
#[must_use]
pub fn openai_completion(
    model: &str,
    text: &str,
    prompt_tokens: u64,
    completion_tokens: u64,
) -> String {
    json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}})
    .to_string()
}

/// A Gemini `streamGenerateContent?alt=sse` text stream.
#[must_use]
pub fn gemini_text(pieces: &[&str], prompt_tokens: u64, output_tokens: u64) -> Vec<String> {
    let mut out: Vec<String> = pieces
        .iter()
        .map(|p| format!("data: {}\r\n\r\n", json!({"candidates": [{"content": {"role": "model", "parts": [{"text": p}]}, "index": 0}]})))
        .collect();
    out.push(format!(
        "data: {}\r\n\r\n",
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output_tokens, "totalTokenCount": prompt_tokens + output_tokens}})
    ));
    out
}

/// Splits a client's SSE body into `(event name, data JSON)` pairs.
#[must_use]
pub fn parse_events(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let mut name = String::new();
            let mut data = String::new();
            for line in f.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            let v = serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data));
            (name, v)
        })
        .collect()
}
