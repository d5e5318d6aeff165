//! Helpers for the OpenAI translation tests: fixtures, SSE framing, and stream-validity checkers.

use serde_json::Value;
use switchboard_protocol::sse::{Decoder, Event};
use switchboard_translate::StreamTranslator;

/// `assert_json_snapshot!` into `tests/snapshots/openai__<name>.snap`, shared with the other
/// dialects' snapshot files.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!(
            {
                snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"),
                prepend_module_to_snapshot => false,
            },
            { insta::assert_json_snapshot!(format!("openai__{}", $name), $value) }
        )
    };
}
pub(crate) use snapshot;

pub(crate) fn fixture(rel: &str) -> String {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("fixture file readable")
}

/// Decodes a whole SSE body.
pub(crate) fn sse_events(body: &str) -> Vec<Event> {
    let mut d = Decoder::default();
    let mut out = d.push(body.as_bytes()).expect("decode");
    out.extend(d.finish().expect("finish"));
    out
}

/// Rebuilds SSE framing for a `.chunks.jsonl` fixture: `event:` is the payload's `type`.
pub(crate) fn jsonl_events(body: &str) -> Vec<Event> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("jsonl line");
            Event::new(v["type"].as_str().expect("type"), l)
        })
        .collect()
}

/// Pushes every event, then finishes.
pub(crate) fn run(t: &mut dyn StreamTranslator, events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    for ev in events {
        t.push(ev, &mut out);
    }
    t.finish(&mut out);
    out
}

/// Events as `{event, data}` JSON for snapshots, with volatile fields zeroed.
pub(crate) fn to_json(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut data: Value =
                serde_json::from_str(&e.data).unwrap_or(Value::String(e.data.clone()));
            if let Some(c) = data.get_mut("created") {
                *c = Value::from(0);
            }
            serde_json::json!({"event": e.event, "data": data})
        })
        .collect()
}

/// Options of [`check_anthropic`].
#[derive(Clone, Copy)]
pub(crate) struct Check {
    /// Every tool_use block's streamed input must parse as a JSON object.
    pub(crate) tool_json: bool,
}

/// Asserts that `events` is a valid Anthropic Messages stream: every event named after its
/// `type`; either a lone `error`, or one `message_start` first; blocks start/stop in order with
/// strictly increasing indices, one open at a time, deltas matching the open block; thinking
/// blocks signed before they close; and it ends with `message_delta` + `message_stop`, or with
/// `error` after all blocks closed.
pub(crate) fn check_anthropic(events: &[Event], check: Check) -> Result<(), String> {
    let parsed: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(&e.data)
                .map_err(|err| format!("data not JSON: {err}: {}", e.data))?;
            let ty = v["type"].as_str().ok_or("data without type")?.to_owned();
            match &e.event {
                Some(name) if *name == ty => Ok((ty, v)),
                other => Err(format!("event name {other:?} does not match type {ty}")),
            }
        })
        .collect::<Result<_, String>>()?;
    let Some((first, _)) = parsed.first() else {
        return Err("empty stream".into());
    };
    if first == "error" {
        return if parsed.len() == 1 {
            Ok(())
        } else {
            Err("events after error".into())
        };
    }
    if first != "message_start" {
        return Err(format!("first event is {first}"));
    }
    let mut last_index: Option<u64> = None;
    let mut open: Option<(u64, String)> = None;
    let mut json = String::new();
    let mut signed = false;
    let mut ended = false;
    for (i, (ty, v)) in parsed.iter().enumerate().skip(1) {
        if ended {
            return Err(format!("event {ty} after the end"));
        }
        match ty.as_str() {
            "message_start" => return Err("second message_start".into()),
            "ping" => {}
            "content_block_start" => {
                if open.is_some() {
                    return Err(format!("block started at {i} while another is open"));
                }
                let index = v["index"].as_u64().ok_or("index")?;
                let expected = last_index.map_or(0, |l| l + 1);
                if index != expected {
                    return Err(format!("block index {index}, expected {expected}"));
                }
                last_index = Some(index);
                let kind = v["content_block"]["type"]
                    .as_str()
                    .ok_or("block type")?
                    .to_owned();
                if kind == "tool_use" {
                    let id = v["content_block"]["id"].as_str().unwrap_or("");
                    let name = v["content_block"]["name"].as_str().unwrap_or("");
                    if id.is_empty() || name.is_empty() {
                        return Err("tool_use without id or name".into());
                    }
                }
                open = Some((index, kind));
                json.clear();
                signed = false;
            }
            "content_block_delta" => {
                let (index, kind) = open
                    .as_ref()
                    .ok_or(format!("delta at {i} without open block"))?;
                if v["index"].as_u64() != Some(*index) {
                    return Err(format!(
                        "delta for index {} but {index} is open",
                        v["index"]
                    ));
                }
                let dt = v["delta"]["type"].as_str().unwrap_or("");
                let ok = match (kind.as_str(), dt) {
                    ("text", "text_delta") | ("thinking", "thinking_delta") => true,
                    ("thinking", "signature_delta") => {
                        signed = true;
                        true
                    }
                    ("tool_use", "input_json_delta") => {
                        json.push_str(v["delta"]["partial_json"].as_str().unwrap_or(""));
                        true
                    }
                    ("text" | "thinking" | "tool_use" | "redacted_thinking", _) => false,
                    // Server-tool and newer blocks carry their own deltas.
                    _ => true,
                };
                if !ok {
                    return Err(format!("{dt} inside a {kind} block"));
                }
            }
            "content_block_stop" => {
                let (index, kind) = open
                    .take()
                    .ok_or(format!("stop at {i} without open block"))?;
                if v["index"].as_u64() != Some(index) {
                    return Err(format!("stop for index {} but {index} is open", v["index"]));
                }
                if kind == "thinking" && !signed {
                    return Err("thinking block closed without signature".into());
                }
                if kind == "tool_use" && check.tool_json {
                    let input: Value =
                        serde_json::from_str(if json.is_empty() { "{}" } else { &json })
                            .map_err(|e| format!("tool input {json:?} is not JSON: {e}"))?;
                    if !input.is_object() {
                        return Err(format!("tool input {json} is not an object"));
                    }
                }
            }
            "message_delta" => {
                if open.is_some() {
                    return Err("message_delta with a block open".into());
                }
                if parsed.get(i + 1).map(|(t, _)| t.as_str()) != Some("message_stop")
                    || i + 2 != parsed.len()
                {
                    return Err("message_delta not followed by a final message_stop".into());
                }
                if v["delta"]["stop_reason"].as_str().is_none() {
                    return Err("message_delta without stop_reason".into());
                }
                for k in [
                    "input_tokens",
                    "output_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                ] {
                    if v["usage"][k].as_u64().is_none() {
                        return Err(format!("message_delta.usage.{k} missing"));
                    }
                }
            }
            "message_stop" => ended = true,
            "error" => {
                if open.is_some() {
                    return Err("error with a block open".into());
                }
                ended = true;
            }
            other => return Err(format!("unexpected event {other}")),
        }
    }
    if !ended {
        return Err("stream does not end with message_stop or error".into());
    }
    Ok(())
}

/// Asserts that `events` is a valid OpenAI chunk stream: data-only JSON chunks, then exactly one
/// `[DONE]` last; exactly one finish_reason or one error chunk before it.
pub(crate) fn check_openai(events: &[Event]) -> Result<(), String> {
    let Some((last, rest)) = events.split_last() else {
        return Err("empty".into());
    };
    if last.data != "[DONE]" {
        return Err("does not end with [DONE]".into());
    }
    let mut finishes = 0;
    let mut errors = 0;
    for e in rest {
        if e.event.is_some() {
            return Err("OpenAI chunks carry no event name".into());
        }
        let v: Value = serde_json::from_str(&e.data).map_err(|err| format!("not JSON: {err}"))?;
        if v.get("error").is_some() {
            errors += 1;
            continue;
        }
        if v["object"] != "chat.completion.chunk" {
            return Err(format!("not a chunk: {v}"));
        }
        finishes += v["choices"]
            .as_array()
            .ok_or("choices")?
            .iter()
            .filter(|c| !c["finish_reason"].is_null())
            .count();
    }
    if finishes + errors != 1 {
        return Err(format!("{finishes} finish_reason(s) and {errors} error(s)"));
    }
    Ok(())
}
