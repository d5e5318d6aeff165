//! Helpers for the Gemini translation tests: fixture loading, SSE replay, an Anthropic
//! stream-validity checker and a checker for schema keywords Gemini rejects.

use std::path::PathBuf;

use serde_json::Value;
use switchboard_protocol::sse::{Decoder, Event};
use switchboard_translate::StreamTranslator;

pub(crate) fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gemini")
        .join(name)
}

pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture exists")
}

pub(crate) fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixture is JSON")
}

/// Decodes raw SSE bytes into events.
pub(crate) fn decode_sse(bytes: &[u8]) -> Vec<Event> {
    let mut d = Decoder::default();
    let mut evs = d.push(bytes).expect("decodes");
    evs.extend(d.finish().expect("finishes"));
    evs
}

/// Rebuilds Gemini's framing (`data: …\r\n\r\n`) for a `.chunks.jsonl` fixture.
pub(crate) fn frames_from_jsonl(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| format!("data: {l}\r\n\r\n").into_bytes())
        .collect()
}

/// Runs events through a translator and finishes it.
pub(crate) fn run(t: &mut dyn StreamTranslator, events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    for ev in events {
        t.push(ev, &mut out);
    }
    t.finish(&mut out);
    out
}

/// The events as `{event, data}` JSON, for snapshots.
pub(crate) fn as_json(events: &[Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "event": e.event,
                    "data": serde_json::from_str::<Value>(&e.data).expect("event data is JSON"),
                })
            })
            .collect(),
    )
}

fn valid_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_usage(u: Option<&Value>, at: &str) -> Result<(), String> {
    let u = u.ok_or_else(|| format!("{at}: no usage"))?;
    for k in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        if !u.get(k).is_some_and(Value::is_u64) {
            return Err(format!("{at}: usage.{k} missing or not a count: {u}"));
        }
    }
    Ok(())
}

/// Checks that `events` form a stream Claude Code accepts: one `message_start` first; blocks
/// started, fed and stopped one at a time with indices 0, 1, 2…; delta kinds matching their
/// block; thinking closed by a signature; tool input that parses as a JSON object; then
/// `message_delta` (stop reason, full usage) and `message_stop` last — or a terminal `error`.
pub(crate) fn check_anthropic_stream(events: &[Event]) -> Result<(), String> {
    #[derive(PartialEq)]
    enum St {
        Start,
        Open,
        Delta,
        Stopped,
    }
    let mut st = St::Start;
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0u64;
    let mut signed = false;
    let mut json_buf = String::new();
    if events.is_empty() {
        return Err("empty stream".into());
    }
    for (n, ev) in events.iter().enumerate() {
        let at = format!("event {n}");
        let data: Value =
            serde_json::from_str(&ev.data).map_err(|e| format!("{at}: data not JSON: {e}"))?;
        let ty = data.get("type").and_then(Value::as_str).unwrap_or_default();
        let name = ev
            .event
            .as_deref()
            .ok_or_else(|| format!("{at}: no event: line"))?;
        if name != ty {
            return Err(format!("{at}: event {name} carries type {ty}"));
        }
        if st == St::Stopped {
            return Err(format!("{at}: {name} after the end of the stream"));
        }
        match name {
            "error" => {
                if n != events.len() - 1 {
                    return Err(format!("{at}: error is not the last event"));
                }
                if data
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .is_none()
                {
                    return Err(format!("{at}: error without error.type"));
                }
                st = St::Stopped;
            }
            "ping" => {}
            "message_start" => {
                if st != St::Start || n != 0 {
                    return Err(format!("{at}: message_start not first / repeated"));
                }
                check_usage(data.pointer("/message/usage"), &at)?;
                st = St::Open;
            }
            "content_block_start" => {
                if st != St::Open || open.is_some() {
                    return Err(format!(
                        "{at}: block start while another is open or outside a message"
                    ));
                }
                let index = data
                    .get("index")
                    .and_then(Value::as_u64)
                    .ok_or(format!("{at}: no index"))?;
                if index != next_index {
                    return Err(format!("{at}: index {index}, expected {next_index}"));
                }
                next_index += 1;
                let block = data
                    .get("content_block")
                    .ok_or(format!("{at}: no content_block"))?;
                let kind = block
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match kind.as_str() {
                    "text" | "thinking" => {}
                    "tool_use" => {
                        let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                        if !valid_tool_id(id) {
                            return Err(format!(
                                "{at}: tool_use id {id:?} is not ^[a-zA-Z0-9_-]+$"
                            ));
                        }
                        if block
                            .get("name")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            return Err(format!("{at}: tool_use without a name"));
                        }
                    }
                    other => return Err(format!("{at}: unexpected block type {other}")),
                }
                open = Some((index, kind));
                signed = false;
                json_buf.clear();
            }
            "content_block_delta" => {
                let Some((index, kind)) = &open else {
                    return Err(format!("{at}: delta without an open block"));
                };
                if data.get("index").and_then(Value::as_u64) != Some(*index) {
                    return Err(format!("{at}: delta for a block that isn't open"));
                }
                let delta = data.get("delta").ok_or(format!("{at}: no delta"))?;
                let dty = delta
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if signed {
                    return Err(format!("{at}: delta after signature_delta"));
                }
                match (kind.as_str(), dty) {
                    ("text", "text_delta") => {
                        if !delta.get("text").is_some_and(Value::is_string) {
                            return Err(format!("{at}: text_delta without text"));
                        }
                    }
                    ("thinking", "thinking_delta") => {}
                    ("thinking", "signature_delta") => {
                        if delta
                            .get("signature")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            return Err(format!("{at}: empty signature"));
                        }
                        signed = true;
                    }
                    ("tool_use", "input_json_delta") => {
                        json_buf.push_str(
                            delta
                                .get("partial_json")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        );
                    }
                    (k, d) => return Err(format!("{at}: {d} in a {k} block")),
                }
            }
            "content_block_stop" => {
                let Some((index, kind)) = open.take() else {
                    return Err(format!("{at}: stop without an open block"));
                };
                if data.get("index").and_then(Value::as_u64) != Some(index) {
                    return Err(format!("{at}: stop for a block that isn't open"));
                }
                if kind == "thinking" && !signed {
                    return Err(format!(
                        "{at}: thinking block closed without signature_delta"
                    ));
                }
                if kind == "tool_use" && !json_buf.is_empty() {
                    let v: Value = serde_json::from_str(&json_buf)
                        .map_err(|e| format!("{at}: tool input {json_buf:?} is not JSON: {e}"))?;
                    if !v.is_object() {
                        return Err(format!("{at}: tool input is not an object"));
                    }
                }
            }
            "message_delta" => {
                if st != St::Open || open.is_some() {
                    return Err(format!(
                        "{at}: message_delta with a block open or outside a message"
                    ));
                }
                let sr = data
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if ![
                    "end_turn",
                    "max_tokens",
                    "stop_sequence",
                    "tool_use",
                    "pause_turn",
                    "refusal",
                ]
                .contains(&sr)
                {
                    return Err(format!("{at}: bad stop_reason {sr:?}"));
                }
                check_usage(data.get("usage"), &at)?;
                st = St::Delta;
            }
            "message_stop" => {
                if st != St::Delta {
                    return Err(format!("{at}: message_stop without message_delta"));
                }
                st = St::Stopped;
            }
            other => return Err(format!("{at}: unknown event {other}")),
        }
    }
    if st != St::Stopped {
        return Err("stream does not end with message_stop or error".into());
    }
    Ok(())
}

/// Schema keywords Gemini's `parameters` rejects.
pub(crate) const FORBIDDEN: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "definitions",
    "additionalProperties",
    "propertyNames",
    "patternProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "const",
    "examples",
    "prefixItems",
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "default",
    "$comment",
    "unevaluatedProperties",
];

/// Every forbidden keyword (or rejected `format`) anywhere in a schema, as JSON paths. Property
/// names under `properties` are names, not keywords, and are not reported.
pub(crate) fn forbidden_keywords(schema: &Value, path: &str, found: &mut Vec<String>) {
    match schema {
        Value::Object(o) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                if FORBIDDEN.contains(&k.as_str()) {
                    found.push(p.clone());
                }
                if k == "format" {
                    let ok = matches!(
                        v.as_str(),
                        Some("enum" | "date-time" | "float" | "double" | "int32" | "int64")
                    );
                    if !ok {
                        found.push(format!("{p}={v}"));
                    }
                }
                if k == "type"
                    && !v
                        .as_str()
                        .is_some_and(|t| t.chars().all(|c| c.is_ascii_uppercase()))
                {
                    found.push(format!("{p}={v}"));
                }
                if k == "properties" {
                    if let Value::Object(props) = v {
                        for (name, sub) in props {
                            forbidden_keywords(sub, &format!("{p}.{name}"), found);
                        }
                    }
                } else {
                    forbidden_keywords(v, &p, found);
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                forbidden_keywords(v, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Shortens long strings (system prompts, descriptions) so request snapshots stay reviewable.
pub(crate) fn abbreviate(v: &Value) -> Value {
    match v {
        Value::String(s) if s.chars().count() > 160 => {
            let head: String = s.chars().take(120).collect();
            Value::String(format!("{head}…[{} chars]", s.chars().count()))
        }
        Value::Array(a) => Value::Array(a.iter().map(abbreviate).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), abbreviate(v))).collect())
        }
        other => other.clone(),
    }
}
