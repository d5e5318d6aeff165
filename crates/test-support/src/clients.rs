//! Mock upstream behaviour for the real-client tests (the `anthropic` and `openai` SDK scripts and
//! the Claude Code CLI in `tests/clients/`): each dialect's mock answers
//! - a request whose last turn carries a tool result with text that echoes the result;
//! - a request offering a `Bash` tool and asking for `echo sb-tool-ok` with that tool call;
//! - a `TOOL:` request offering `get_weather` with a `get_weather(location: Paris)` call;
//! - anything else with a short greeting.
//!
//! Streaming follows the request's `stream` flag (for Gemini, the URL verb).

use serde_json::{Value, json};

use crate::mock::{Recorded, Reply};
use crate::sse;

/// What the mock decided to answer.
enum Answer {
    Text(String),
    Tool { name: &'static str, input: Value },
}

fn all_text(v: &Value) -> String {
    let mut out = String::new();
    collect_text(v, &mut out);
    out
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| collect_text(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_text(x, out)),
        _ => {}
    }
}

fn decide(last_turn_result: Option<String>, prompt: &str, tool_names: &[String]) -> Answer {
    if let Some(result) = last_turn_result {
        return Answer::Text(format!("The tool said: {}", result.trim()));
    }
    if tool_names.iter().any(|t| t == "Bash") && prompt.contains("sb-tool-ok") {
        return Answer::Tool {
            name: "Bash",
            input: json!({"command": "echo sb-tool-ok", "description": "Print the marker"}),
        };
    }
    if prompt.contains("TOOL:") && tool_names.iter().any(|t| t == "get_weather") {
        return Answer::Tool {
            name: "get_weather",
            input: json!({"location": "Paris"}),
        };
    }
    Answer::Text("Hello from the mock upstream.".into())
}

/// An Anthropic Messages upstream.
#[must_use]
pub fn anthropic(req: &Recorded) -> Option<Reply> {
    if !req.uri.starts_with("/v1/messages") || req.uri.starts_with("/v1/messages/count_tokens") {
        return None;
    }
    let body = req.json();
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    // Claude Code puts a `role: "system"` message after the prompt: the turn is the last user one.
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .cloned()
        .unwrap_or(Value::Null);
    let result = last["content"]
        .as_array()
        .and_then(|blocks| blocks.iter().find(|b| b["type"] == "tool_result"))
        .map(|b| all_text(&b["content"]));
    let tools: Vec<String> = body["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let prompt = all_text(&last["content"]);
    Some(match (decide(result, &prompt, &tools), stream) {
        (Answer::Text(t), true) => Reply::sse(sse::anthropic_text(&model, &[&t], 25, 8)),
        (Answer::Text(t), false) => Reply::json(200, sse::anthropic_message(&model, &t, 25, 8)),
        (Answer::Tool { name, input }, true) => Reply::sse(sse::anthropic_tool_use(&model, "toolu_mock_1", name, &input.to_string())),
        (Answer::Tool { name, input }, false) => Reply::json(
            200,
            json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "tool_use", "id": "toolu_mock_1", "name": name, "input": input}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 25, "output_tokens": 9, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
            .to_string(),
        ),
    })
}

/// An OpenAI Chat Completions upstream.
#[must_use]
pub fn openai(req: &Recorded) -> Option<Reply> {
    if !req.uri.ends_with("/chat/completions") {
        return None;
    }
    let body = req.json();
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let result = (last["role"] == "tool").then(|| all_text(&last["content"]));
    let prompt = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| all_text(&m["content"]))
        .unwrap_or_default();
    let tools: Vec<String> = body["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some(match (decide(result, &prompt, &tools), stream) {
        (Answer::Text(t), true) => Reply::sse(sse::openai_text(&model, &[&t], 25, 8, 0)),
        (Answer::Text(t), false) => Reply::json(200, sse::openai_completion(&model, &t, 25, 8)),
        (Answer::Tool { name, input }, true) => {
            let args = input.to_string();
            let (a, b) = args.split_at(args.len() / 2);
            Reply::sse(sse::openai_tool_call(&model, "call_mock_1", name, &[a, b]))
        }
        (Answer::Tool { name, input }, false) => Reply::json(
            200,
            json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "call_mock_1", "type": "function", "function": {"name": name, "arguments": input.to_string()}}]},
                    "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34}})
            .to_string(),
        ),
    })
}

/// A Gemini upstream (`generateContent` / `streamGenerateContent?alt=sse`).
#[must_use]
pub fn gemini(req: &Recorded) -> Option<Reply> {
    if !req.uri.contains(":generateContent") && !req.uri.contains(":streamGenerateContent") {
        return None;
    }
    let stream = req.uri.contains(":streamGenerateContent");
    let body = req.json();
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let last = contents.last().cloned().unwrap_or(Value::Null);
    let parts = last["parts"].as_array().cloned().unwrap_or_default();
    let result = parts
        .iter()
        .find(|p| p.get("functionResponse").is_some())
        .map(|p| all_text(&p["functionResponse"]["response"]));
    let prompt = all_text(&last);
    let tools: Vec<String> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| {
            t["functionDeclarations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    let usage = json!({"promptTokenCount": 25, "candidatesTokenCount": 8, "totalTokenCount": 33});
    let candidate = |parts: Value| json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage});
    let body = match decide(result, &prompt, &tools) {
        Answer::Text(t) => candidate(json!([{"text": t}])),
        Answer::Tool { name, input } => candidate(
            json!([{"functionCall": {"name": name, "args": input}, "thoughtSignature": "c2lnbmF0dXJl"}]),
        ),
    };
    Some(if stream {
        Reply::sse(vec![format!("data: {body}\r\n\r\n")])
    } else {
        Reply::json(200, body.to_string())
    })
}
