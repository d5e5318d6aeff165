//! Property tests: any upstream chunk sequence gives a valid client stream, and a conversation
//! survives Anthropic → OpenAI → Anthropic.

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_protocol::Dialect;
use switchboard_protocol::sse::Event;
use switchboard_translate::openai::{FromAnthropicStream, ToAnthropicStream};
use switchboard_translate::{RequestOptions, ResponseContext, translate_request};

use crate::support::{Check, check_anthropic, check_openai, run};

/// One upstream OpenAI chunk, abstractly.
#[derive(Debug, Clone)]
enum Op {
    Content(String),
    Reasoning(String),
    Tool {
        index: u32,
        id: Option<String>,
        name: Option<String>,
        args: String,
    },
    EmptyToolCalls,
    Finish(&'static str),
    Usage(u64, u64, u64),
    Error,
    Done,
    Malformed,
    Blank,
}

fn op() -> impl Strategy<Value = Op> {
    let text = prop::sample::select(vec!["", "a", "Hello ", "{\"", "\u{e9}\u{1f600}"])
        .prop_map(str::to_owned);
    prop_oneof![
        4 => text.clone().prop_map(Op::Content),
        2 => text.clone().prop_map(Op::Reasoning),
        4 => (0u32..3, prop::option::of("[a-z]{1,4}"), prop::option::of("[A-Za-z_]{1,6}"), text)
            .prop_map(|(index, id, name, args)| Op::Tool { index, id, name, args }),
        1 => Just(Op::EmptyToolCalls),
        1 => prop::sample::select(vec!["stop", "length", "tool_calls", "content_filter", "weird"]).prop_map(Op::Finish),
        1 => (0u64..100, 0u64..100, 0u64..50).prop_map(|(p, c, h)| Op::Usage(p, c, h)),
        1 => Just(Op::Error),
        1 => Just(Op::Done),
        1 => Just(Op::Malformed),
        1 => Just(Op::Blank),
    ]
}

fn event(op: &Op) -> Event {
    let chunk = |delta: Value, finish: Option<&str>| {
        Event::data(json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string())
    };
    match op {
        Op::Content(t) => chunk(json!({"content": t}), None),
        Op::Reasoning(t) => chunk(json!({"reasoning_content": t}), None),
        Op::Tool { index, id, name, args } => {
            chunk(json!({"tool_calls": [{"index": index, "id": id, "function": {"name": name, "arguments": args}}]}), None)
        }
        Op::EmptyToolCalls => chunk(json!({"tool_calls": []}), None),
        Op::Finish(r) => chunk(json!({}), Some(r)),
        Op::Usage(p, c, h) => Event::data(
            json!({"choices": [], "usage": {"prompt_tokens": p + h, "completion_tokens": c, "prompt_tokens_details": {"cached_tokens": h}}}).to_string(),
        ),
        Op::Error => Event::data(r#"{"error":{"message":"boom","type":"server_error"}}"#),
        Op::Done => Event::data("[DONE]"),
        Op::Malformed => Event::data("{\"choices\": [tru"),
        Op::Blank => Event::data(""),
    }
}

proptest! {
    #[test]
    fn any_openai_chunk_sequence_gives_a_valid_anthropic_stream(ops in prop::collection::vec(op(), 0..24), thinking in any::<bool>()) {
        let events: Vec<Event> = ops.iter().map(event).collect();
        let ctx = ResponseContext { requested_model: "claude".into(), stream: true, thinking, ..ResponseContext::default() };
        let mut t = ToAnthropicStream::new(ctx);
        let out = run(&mut t, &events);
        // Random argument fragments aren't JSON, so only the event grammar is checked here.
        if let Err(e) = check_anthropic(&out, Check { tool_json: false }) {
            prop_assert!(false, "{e}\nops: {ops:?}");
        }
        // Round trip through the other translator keeps the OpenAI grammar too.
        let mut back = FromAnthropicStream::new(ResponseContext::default()).with_include_usage(true);
        let out2 = run(&mut back, &out);
        if let Err(e) = check_openai(&out2) {
            prop_assert!(false, "{e}\nops: {ops:?}");
        }
    }
}

// --- Conversation round trip ---

#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    input: Value,
}

#[derive(Debug, Clone)]
struct Turn {
    user_texts: Vec<String>,
    assistant_text: Option<String>,
    calls: Vec<Call>,
}

fn turn() -> impl Strategy<Value = Turn> {
    let call = (
        "[a-z0-9]{4,10}",
        "[A-Za-z_][A-Za-z0-9_-]{0,20}",
        prop::collection::btree_map("[a-z]{1,5}", any::<i32>(), 0..3),
    )
        .prop_map(|(id, name, map)| Call {
            id: format!("toolu_{id}"),
            name,
            input: json!(map),
        });
    (
        prop::collection::vec("[ -~]{1,20}", 1..3),
        prop::option::of("[ -~]{1,20}"),
        prop::collection::vec(call, 0..3),
    )
        .prop_map(|(user_texts, assistant_text, calls)| Turn {
            user_texts,
            assistant_text,
            calls,
        })
}

/// Anthropic messages for turns: user text (after the previous turn's tool results), then the
/// assistant's text and calls.
fn conversation(turns: &[Turn]) -> Value {
    let mut messages = Vec::new();
    let mut pending: Vec<Call> = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        let mut blocks: Vec<Value> = pending
            .drain(..)
            .enumerate()
            .map(|(k, c)| json!({"type": "tool_result", "tool_use_id": c.id, "content": format!("result {i}.{k}")}))
            .collect();
        blocks.extend(
            t.user_texts
                .iter()
                .map(|x| json!({"type": "text", "text": x})),
        );
        messages.push(json!({"role": "user", "content": blocks}));
        let mut a: Vec<Value> = t
            .assistant_text
            .iter()
            .map(|x| json!({"type": "text", "text": x}))
            .collect();
        // Ids must be unique in a conversation.
        let calls: Vec<Call> = t
            .calls
            .iter()
            .enumerate()
            .map(|(k, c)| Call {
                id: format!("{}_{i}_{k}", c.id),
                ..c.clone()
            })
            .collect();
        a.extend(
            calls
                .iter()
                .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input})),
        );
        if !a.is_empty() {
            messages.push(json!({"role": "assistant", "content": a}));
        }
        pending = calls;
    }
    json!({"model": "claude", "max_tokens": 1000, "system": "sys", "messages": messages})
}

/// The meaning of a conversation: per turn, its role and blocks with adjacent texts joined.
fn meaning(v: &Value) -> Vec<(String, Vec<Value>)> {
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    for m in v["messages"].as_array().into_iter().flatten() {
        let role = m["role"].as_str().unwrap_or("").to_owned();
        let blocks: Vec<Value> = match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(b) => b.clone(),
            _ => Vec::new(),
        };
        let mut norm: Vec<Value> = Vec::new();
        for b in blocks {
            let item = match b["type"].as_str() {
                Some("text") => json!({"text": b["text"]}),
                Some("tool_use") => json!({"tool_use": [b["id"], b["name"], b["input"]]}),
                Some("tool_result") => json!({"tool_result": [b["tool_use_id"], b["content"]]}),
                other => json!({"other": other}),
            };
            norm.push(item);
        }
        match out.last_mut() {
            Some((r, prev)) if *r == role => prev.extend(norm),
            _ => out.push((role, norm)),
        }
    }
    out
}

proptest! {
    #[test]
    fn anthropic_to_openai_to_anthropic_keeps_meaning(turns in prop::collection::vec(turn(), 1..5)) {
        let original = conversation(&turns);
        let opts = RequestOptions { target_model: "gpt-4o".into(), ..RequestOptions::default() };
        let hop1 = translate_request(Dialect::Anthropic, Dialect::OpenAiChat, original.to_string().as_bytes(), &opts)
            .expect("to openai");
        let opts2 = RequestOptions { target_model: "claude".into(), ..RequestOptions::default() };
        let hop2 = translate_request(Dialect::OpenAiChat, Dialect::Anthropic, &hop1.body, &opts2).expect("to anthropic");
        let back: Value = serde_json::from_slice(&hop2.body).expect("json");
        prop_assert_eq!(meaning(&back), meaning(&original));
        prop_assert_eq!(&back["system"], &json!([{"type": "text", "text": "sys"}]));
    }
}

/// One upstream Anthropic event, any order (including nonsense orders).
fn anthropic_event() -> impl Strategy<Value = Event> {
    let ev = |v: Value| Event::new(v["type"].as_str().unwrap_or("x").to_owned(), v.to_string());
    prop_oneof![
        Just(ev(json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 3}}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": "toolu_x", "name": "f", "input": {}}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": "hi"}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": "{\"a\""}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": "hm"}}))),
        (0u32..3).prop_map(move |i| ev(json!({"type": "content_block_stop", "index": i}))),
        Just(ev(json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}))),
        Just(ev(json!({"type": "message_stop"}))),
        Just(ev(json!({"type": "ping"}))),
        Just(ev(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))),
        Just(ev(json!({"type": "brand_new_event"}))),
        Just(Event::new("message_start", "{\"type\": \"message_sta")),
    ]
}

proptest! {
    #[test]
    fn any_anthropic_event_sequence_gives_a_valid_openai_stream(
        events in prop::collection::vec(anthropic_event(), 0..20),
        include_usage in any::<bool>(),
    ) {
        let mut t = FromAnthropicStream::new(ResponseContext::default()).with_include_usage(include_usage);
        let out = run(&mut t, &events);
        if let Err(e) = check_openai(&out) {
            prop_assert!(false, "{e}\nevents: {events:?}");
        }
    }
}
