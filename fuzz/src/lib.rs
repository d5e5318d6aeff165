//! Shared helpers of the fuzz targets: input headers, structure-aware mutators (JSON trees and
//! SSE frame sequences) and the stream-validity checkers the translators must satisfy.
//!
//! Input layout of the targets that take a header: byte 0 selects the dialect pair and options,
//! the rest is the payload (a JSON body or an SSE byte stream), so seeds stay readable.

use serde_json::{Map, Value};
use switchboard_protocol::Dialect;
use switchboard_protocol::sse::{Decoder, Event, FrameSplitter};

pub const DIALECTS: [Dialect; 3] = [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::Gemini];

/// All nine (from, to) pairs, supported or not: unsupported ones must return an error, not panic.
#[must_use]
pub fn pair(hdr: u8) -> (Dialect, Dialect) {
    let i = usize::from(hdr & 0x0f) % 9;
    (DIALECTS[i / 3], DIALECTS[i % 3])
}

/// The header byte that selects `(from, to)` with option bits `opts` (high nibble).
#[must_use]
pub fn header(from: Dialect, to: Dialect, opts: u8) -> u8 {
    let idx = |d| DIALECTS.iter().position(|x| *x == d).unwrap_or(0) as u8;
    (opts << 4) | (idx(from) * 3 + idx(to))
}

/// The presets whose quirks the translators know about (and one unknown name).
pub const PRESETS: [Option<&str>; 8] = [
    None,
    Some("deepseek"),
    Some("openrouter"),
    Some("gemini"),
    Some("openai"),
    Some("moonshot"),
    Some("xai"),
    Some("no-such-preset"),
];

/// Small deterministic PRNG (splitmix64) for mutators and split points.
pub struct Rng(u64);

impl Rng {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// FNV-1a, to derive split points from the input itself.
#[must_use]
pub fn hash(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Decodes an SSE byte stream into events, stopping quietly at the first decode error (the
/// server does the same: it ends the stream).
#[must_use]
pub fn decode_events(data: &[u8]) -> Vec<Event> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    match d.push(data) {
        Ok(evs) => out.extend(evs),
        Err(_) => return out,
    }
    if let Ok(Some(ev)) = d.finish() {
        out.push(ev);
    }
    out
}

// ---- structure-aware mutation ---------------------------------------------------------------

const KEYS: &[&str] = &[
    "type",
    "role",
    "content",
    "text",
    "id",
    "name",
    "input",
    "tool_use_id",
    "is_error",
    "cache_control",
    "source",
    "media_type",
    "data",
    "url",
    "thinking",
    "signature",
    "system",
    "messages",
    "tools",
    "tool_choice",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "metadata",
    "user_id",
    "input_schema",
    "properties",
    "required",
    "$schema",
    "items",
    "anyOf",
    "allOf",
    "oneOf",
    "enum",
    "const",
    "format",
    "additionalProperties",
    "propertyNames",
    "exclusiveMinimum",
    "$ref",
    "$defs",
    "tool_calls",
    "function",
    "arguments",
    "reasoning_content",
    "reasoning_effort",
    "choices",
    "delta",
    "finish_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "cached_tokens",
    "candidates",
    "parts",
    "functionCall",
    "functionResponse",
    "thoughtSignature",
    "thought",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "cachedContentTokenCount",
    "finishReason",
    "index",
    "stream_options",
    "include_usage",
    "max_completion_tokens",
    "n",
    "response_format",
    "output_config",
    "context_management",
    "defer_loading",
    "error",
    "message",
    "status",
    "code",
    "model",
    "stop_reason",
    "stop_sequence",
    "content_block",
    "partial_json",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "image_url",
    "detail",
    "tool_call_id",
    "refusal",
    "budget_tokens",
    "effort",
    "schema",
    "json_schema",
    "disable_parallel_tool_use",
    "args",
    "inlineData",
    "mimeType",
    "fileData",
    "fileUri",
    "generationConfig",
    "systemInstruction",
    "toolConfig",
];

const TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
    "tool_reference",
    "search_result",
    "base64",
    "url",
    "file",
    "ephemeral",
    "enabled",
    "disabled",
    "adaptive",
    "auto",
    "any",
    "tool",
    "none",
    "function",
    "image_url",
    "input_audio",
    "json_schema",
    "json_object",
    "message",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
    "citations_delta",
    "object",
    "string",
    "array",
    "integer",
    "number",
    "boolean",
    "null",
    "web_search_20250305",
    "bash_20250124",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "model",
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "MALFORMED_FUNCTION_CALL",
    "[DONE]",
    "{",
    "{\"a\":",
    "}",
    "null",
    "\u{0}",
    "\u{1f600}",
    "e\u{301}",
    "\u{fffd}",
    "\r\n\r\n",
    "data: x\n\n",
    "${X}",
    "$${X}",
    "${",
    "image/png",
    "application/pdf",
    "iVBORw0KGgo=",
    "!!not-base64!!",
    "data:image/png;base64,iVBORw0KGgo=",
    "https://example.com/a.png",
    "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name_that_exceeds_64",
    "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name_that_exceeds_65",
    "toolu_01",
    "call_abc",
    "high",
    "low",
    "medium",
    "minimal",
    "json",
    "date-time",
    "uri",
    "-1",
    "18446744073709551616",
    "1e999",
];

fn interesting_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(1),
        3 => Value::from(u64::MAX),
        4 => Value::from(i64::MIN),
        5 => Value::from(u32::MAX),
        6 => Value::from(u64::from(u32::MAX) + 1),
        7 => serde_json::Number::from_f64(1.5).map_or(Value::Null, Value::Number),
        8 => serde_json::Number::from_f64(-0.0).map_or(Value::Null, Value::Number),
        9 => serde_json::Number::from_f64(1e300).map_or(Value::Null, Value::Number),
        10 => Value::from(65536),
        _ => Value::from(rng.below(300)),
    }
}

fn interesting_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(1, 2)),
        2 | 3 => interesting_number(rng),
        4 => Value::String((*rng.pick(TYPES)).to_owned()),
        5 => Value::Array(Vec::new()),
        6 => Value::Object(Map::new()),
        7 => Value::String("x".repeat(rng.below(3) * 40 + 1)),
        _ => Value::String((*rng.pick(STRINGS)).to_owned()),
    }
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn nth_node(v: &Value, n: &mut usize) -> Option<Value> {
    if *n == 0 {
        return Some(v.clone());
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter().find_map(|c| nth_node(c, n)),
        Value::Object(o) => o.values().find_map(|c| nth_node(c, n)),
        _ => None,
    }
}

fn nth_node_mut<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth_node_mut(c, n)),
        Value::Object(o) => o.values_mut().find_map(|c| nth_node_mut(c, n)),
        _ => None,
    }
}

/// Applies one structural mutation to a random node of `doc`.
pub fn mutate_json(doc: &mut Value, rng: &mut Rng) {
    let total = count_nodes(doc);
    // A donor subtree from elsewhere in the document (splicing real shapes into new places).
    let donor = {
        let mut k = rng.below(total);
        nth_node(doc, &mut k).unwrap_or(Value::Null)
    };
    let mut k = rng.below(total);
    let Some(node) = nth_node_mut(doc, &mut k) else {
        return;
    };
    match rng.below(12) {
        0 => *node = interesting_value(rng),
        1 => *node = donor,
        2 => {
            let inner = std::mem::take(node);
            *node = if rng.chance(1, 2) {
                Value::Array(vec![inner])
            } else {
                let mut m = Map::new();
                m.insert((*rng.pick(KEYS)).to_owned(), inner);
                Value::Object(m)
            };
        }
        _ => match node {
            Value::Object(o) => match rng.below(4) {
                0 if !o.is_empty() => {
                    let key = o
                        .keys()
                        .nth(rng.below(o.len()))
                        .cloned()
                        .unwrap_or_default();
                    o.remove(&key);
                }
                1 => {
                    let v = if rng.chance(1, 2) {
                        donor
                    } else {
                        interesting_value(rng)
                    };
                    o.insert((*rng.pick(KEYS)).to_owned(), v);
                }
                2 => {
                    o.insert(
                        "type".to_owned(),
                        Value::String((*rng.pick(TYPES)).to_owned()),
                    );
                }
                _ => {
                    // Rename a key (keeps the value, so the shape moves).
                    if let Some(key) = o.keys().nth(rng.below(o.len().max(1))).cloned()
                        && let Some(v) = o.remove(&key)
                    {
                        o.insert((*rng.pick(KEYS)).to_owned(), v);
                    }
                }
            },
            Value::Array(a) => match rng.below(5) {
                0 if !a.is_empty() => {
                    a.remove(rng.below(a.len()));
                }
                1 if !a.is_empty() => {
                    let i = rng.below(a.len());
                    let v = a[i].clone();
                    a.insert(rng.below(a.len() + 1), v);
                }
                2 if a.len() > 1 => {
                    let (i, j) = (rng.below(a.len()), rng.below(a.len()));
                    a.swap(i, j);
                }
                3 => a.insert(rng.below(a.len() + 1), donor),
                _ => a.truncate(rng.below(a.len() + 1)),
            },
            Value::String(s) => match rng.below(5) {
                0 => {
                    let mut cut = rng.below(s.len() + 1);
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
                1 => s.push_str(*rng.pick(STRINGS)),
                2 => *s = s.repeat(2),
                3 => *s = (*rng.pick(TYPES)).to_owned(),
                _ => *s = (*rng.pick(STRINGS)).to_owned(),
            },
            Value::Number(_) => *node = interesting_number(rng),
            Value::Bool(b) => *b = !*b,
            Value::Null => *node = interesting_value(rng),
        },
    }
}

/// What a structure-aware mutator parses its payload as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One JSON document.
    Json,
    /// An SSE stream whose `data:` payloads are JSON.
    Sse,
}

/// Mutates an SSE stream at the event level: drop, duplicate, swap, reorder or truncate frames,
/// insert canned frames, or mutate one frame's JSON payload.
fn mutate_sse(payload: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let mut splitter = FrameSplitter::default();
    let mut frames: Vec<Vec<u8>> = splitter
        .push(payload)
        .into_iter()
        .map(|b| b.to_vec())
        .collect();
    let rest = splitter.remainder();
    if !rest.is_empty() {
        frames.push(rest.to_vec());
    }
    const CANNED: &[&str] = &[
        "data: [DONE]\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        ": keepalive\n\n",
        "data: \n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2}}\n\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r\n\r\n",
    ];
    match rng.below(8) {
        0 if !frames.is_empty() => {
            frames.remove(rng.below(frames.len()));
        }
        1 if !frames.is_empty() => {
            let f = frames[rng.below(frames.len())].clone();
            frames.insert(rng.below(frames.len() + 1), f);
        }
        2 if frames.len() > 1 => {
            let (i, j) = (rng.below(frames.len()), rng.below(frames.len()));
            frames.swap(i, j);
        }
        3 => frames.truncate(rng.below(frames.len() + 1)),
        4 => frames.insert(
            rng.below(frames.len() + 1),
            rng.pick(CANNED).as_bytes().to_vec(),
        ),
        _ if !frames.is_empty() => {
            // Mutate the JSON payload of one frame, keeping its event name.
            let i = rng.below(frames.len());
            let evs = decode_events(&frames[i]);
            let ev = evs.first()?;
            let mut v: Value = serde_json::from_str(&ev.data).ok()?;
            for _ in 0..=rng.below(3) {
                mutate_json(&mut v, rng);
            }
            let mut f = Vec::new();
            if let Some(name) = &ev.event {
                let name = if rng.chance(1, 8) {
                    rng.pick(TYPES)
                } else {
                    name.as_str()
                };
                f.extend_from_slice(format!("event: {name}\n").as_bytes());
            }
            f.extend_from_slice(format!("data: {v}\n\n").as_bytes());
            frames[i] = f;
        }
        _ => return None,
    }
    Some(frames.concat())
}

/// The body of a `fuzz_mutator!`: half the time libFuzzer's own byte-level mutation, otherwise a
/// structural one on the payload after `header_len` header bytes (which are sometimes re-rolled).
pub fn mutate(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    header_len: usize,
    shape: Shape,
) -> usize {
    let mut rng = Rng::new(u64::from(seed));
    if size <= header_len || rng.chance(1, 2) {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    if rng.chance(1, 10) {
        let i = rng.below(header_len);
        data[i] = rng.next_u64() as u8;
        return size;
    }
    let payload = &data[header_len..size];
    let out = match shape {
        Shape::Json => serde_json::from_slice::<Value>(payload).ok().map(|mut v| {
            for _ in 0..=rng.below(3) {
                mutate_json(&mut v, &mut rng);
            }
            serde_json::to_vec(&v).unwrap_or_default()
        }),
        Shape::Sse => mutate_sse(payload, &mut rng),
    };
    match out {
        Some(bytes) if header_len + bytes.len() <= max_size => {
            data[header_len..header_len + bytes.len()].copy_from_slice(&bytes);
            header_len + bytes.len()
        }
        _ => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
}

// ---- validity checkers ----------------------------------------------------------------------

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

/// A stream Claude Code accepts (merged from the translate crate's test checkers): every event
/// named after its `type`; either a lone `error`, or exactly one `message_start` (full usage)
/// first; blocks started, fed and stopped one at a time with indices 0, 1, 2…; deltas matching
/// their block; thinking closed by a signature; then `message_delta` (known stop reason, full
/// usage) and `message_stop` last, or a terminal `error` (a block may still be open: Anthropic
/// itself ends overloaded streams that way). Tool input
/// and tool names are relayed from the upstream and not judged.
pub fn check_anthropic_stream(events: &[Event]) -> Result<(), String> {
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
                // Anthropic itself sends a mid-stream `error` with a block still open (an
                // overload mid-text), so a block open here is allowed.
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
                    "text" | "thinking" | "redacted_thinking" => {}
                    "tool_use" => {
                        // Present and strings; an upstream's own empty name or id is relayed
                        // verbatim (garbage in, garbage out), so emptiness is not checked.
                        if !block.get("id").is_some_and(Value::is_string)
                            || !block.get("name").is_some_and(Value::is_string)
                        {
                            return Err(format!("{at}: tool_use without a string id and name"));
                        }
                    }
                    other => return Err(format!("{at}: unexpected block type {other:?}")),
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
                    ("thinking", "thinking_delta") => {
                        if !delta.get("thinking").is_some_and(Value::is_string) {
                            return Err(format!("{at}: thinking_delta without thinking"));
                        }
                    }
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
                        let Some(p) = delta.get("partial_json").and_then(Value::as_str) else {
                            return Err(format!("{at}: input_json_delta without partial_json"));
                        };
                        json_buf.push_str(p);
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
                // Tool input is streamed through as the upstream sends it (no buffering), so
                // arguments that were never valid JSON stay invalid: not checked here.
                let _ = &json_buf;
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

/// A valid OpenAI chunk stream: data-only JSON chunks (`chat.completion.chunk`, or an error
/// object), then exactly one `[DONE]` last; exactly one finish_reason or one error before it.
pub fn check_openai_stream(events: &[Event]) -> Result<(), String> {
    let Some((last, rest)) = events.split_last() else {
        return Err("empty".into());
    };
    if last.data != "[DONE]" || last.event.is_some() {
        return Err("does not end with data: [DONE]".into());
    }
    let mut finishes = 0;
    let mut errors = 0;
    for (n, e) in rest.iter().enumerate() {
        if e.event.is_some() {
            return Err(format!("chunk {n}: OpenAI chunks carry no event name"));
        }
        let v: Value =
            serde_json::from_str(&e.data).map_err(|err| format!("chunk {n}: not JSON: {err}"))?;
        if v.get("error").is_some() {
            errors += 1;
            continue;
        }
        if v["object"] != "chat.completion.chunk" {
            return Err(format!("chunk {n}: not a chunk: {v}"));
        }
        finishes += v["choices"]
            .as_array()
            .ok_or(format!("chunk {n}: no choices"))?
            .iter()
            .filter(|c| !c["finish_reason"].is_null())
            .count();
    }
    if finishes + errors != 1 {
        return Err(format!("{finishes} finish_reason(s) and {errors} error(s)"));
    }
    Ok(())
}

/// Renders events for a failure message.
#[must_use]
pub fn show(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| format!("{:?}: {}", e.event, e.data))
        .collect::<Vec<_>>()
        .join("\n")
}
