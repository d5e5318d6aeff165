//! Stream translation, both directions, on recorded fixtures and constructed cases.

use insta::assert_json_snapshot;
use serde_json::{Value, json};
use switchboard_protocol::sse::Event;
use switchboard_translate::openai::{FromAnthropicStream, ToAnthropicStream};
use switchboard_translate::{ResponseContext, StreamTranslator};

use crate::support::{
    Check, check_anthropic, check_openai, fixture, jsonl_events, run, snapshot, sse_events, to_json,
};

const STRICT: Check = Check { tool_json: true };

fn ctx() -> ResponseContext {
    ResponseContext {
        requested_model: "claude-opus-5-5".into(),
        stream: true,
        thinking: true,
        include_usage: false,
        ..ResponseContext::default()
    }
}

fn to_anthropic(ctx: ResponseContext, events: &[Event]) -> (Vec<Event>, ToAnthropicStream) {
    let mut t = ToAnthropicStream::new(ctx);
    let out = run(&mut t, events);
    let valid = check_anthropic(&out, STRICT);
    assert!(
        valid.is_ok(),
        "invalid stream: {valid:?}\n{:#?}",
        to_json(&out)
    );
    (out, t)
}

fn chunk(delta: Value) -> Event {
    Event::data(json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-x", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]}).to_string())
}

fn finish(reason: &str) -> Event {
    Event::data(json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}).to_string())
}

fn usage(prompt: u64, completion: u64, cached: u64) -> Event {
    Event::data(
        json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion, "prompt_tokens_details": {"cached_tokens": cached}}})
            .to_string(),
    )
}

fn tool(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> Event {
    let mut function = json!({"arguments": args});
    if let Some(n) = name {
        function["name"] = json!(n);
    }
    let mut call = json!({"index": index, "function": function});
    if let Some(i) = id {
        call["id"] = json!(i);
        call["type"] = json!("function");
    }
    chunk(json!({"tool_calls": [call]}))
}

fn done() -> Event {
    Event::data("[DONE]")
}

fn names(out: &[Event]) -> Vec<&str> {
    out.iter()
        .map(|e| e.event.as_deref().unwrap_or(""))
        .collect()
}

fn tool_input(out: &[Event], block: u64) -> Value {
    let json: String = out
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter(|v| v["type"] == "content_block_delta" && v["index"] == block)
        .filter_map(|v| v["delta"]["partial_json"].as_str().map(str::to_owned))
        .collect();
    serde_json::from_str(&json).expect("tool input JSON")
}

fn last_data(out: &[Event], name: &str) -> Value {
    let e = out
        .iter()
        .rev()
        .find(|e| e.event.as_deref() == Some(name))
        .expect("event present");
    serde_json::from_str(&e.data).expect("json")
}

// --- OpenAI → Anthropic: recorded fixtures ---

#[test]
fn openai_tool_call_stream_fixture() {
    let events = sse_events(&fixture("openai/chat-stream-tool-calls-include-usage.sse"));
    let (out, t) = to_anthropic(ctx(), &events);
    snapshot!("openai_tool_call_stream", to_json(&out));
    assert_eq!(tool_input(&out, 0), json!({"country": "UK"}));
    let s = t.summary();
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens), (53, 15));
    assert!(s.complete);
}

#[test]
fn openai_text_after_tool_fixture() {
    let events = sse_events(&fixture(
        "openai/chat-stream-text-after-tool-include-usage.sse",
    ));
    let (out, t) = to_anthropic(ctx(), &events);
    snapshot!("openai_text_after_tool_stream", to_json(&out));
    assert_eq!(t.summary().stop_reason.as_deref(), Some("end_turn"));
}

#[test]
fn deepseek_reasoning_becomes_signed_thinking_before_text() {
    let events = sse_events(&fixture(
        "openai/deepseek-reasoner-reasoning-content-stream.sse",
    ));
    let (out, t) = to_anthropic(ctx(), &events);
    snapshot!("deepseek_reasoning_stream", to_json(&out));
    let starts: Vec<Value> = out
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_start"))
        .map(|e| {
            serde_json::from_str::<Value>(&e.data).expect("json")["content_block"]["type"].clone()
        })
        .collect();
    assert_eq!(starts, vec![json!("thinking"), json!("text")]);
    // Usage arrives in the finish chunk; prompt_cache_hit_tokens is 0 here.
    let u = &t.summary().usage;
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_input_tokens),
        (6, 212, 0)
    );
    let md = last_data(&out, "message_delta");
    assert_eq!(md["usage"]["input_tokens"], 6);
}

#[test]
fn reasoning_is_dropped_when_the_client_did_not_ask_for_thinking() {
    let events = sse_events(&fixture(
        "openai/deepseek-reasoner-reasoning-content-stream.sse",
    ));
    let (out, _) = to_anthropic(
        ResponseContext {
            thinking: false,
            include_usage: false,
            ..ctx()
        },
        &events,
    );
    assert!(!out.iter().any(|e| e.data.contains("thinking")));
}

// --- OpenAI → Anthropic: constructed cases ---

#[test]
fn message_start_has_the_full_usage_shape_and_requested_model() {
    let (out, _) = to_anthropic(
        ctx(),
        &[
            chunk(json!({"role": "assistant", "content": "hi"})),
            finish("stop"),
            done(),
        ],
    );
    let ms = last_data(&out, "message_start");
    assert_eq!(ms["message"]["model"], "claude-opus-5-5");
    assert_eq!(ms["message"]["id"], "msg_chatcmpl-1");
    for k in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        assert_eq!(ms["message"]["usage"][k], 0, "{k}");
    }
    assert_eq!(
        names(&out)
            .iter()
            .filter(|n| **n == "message_start")
            .count(),
        1
    );
}

#[test]
fn tool_arguments_split_across_chunks_are_reassembled() {
    let events = [
        tool(0, Some("call_1"), Some("Bash"), ""),
        tool(0, None, None, "{\"comm"),
        tool(0, None, None, "and\": \"ls"),
        tool(0, None, None, " -la\"}"),
        finish("tool_calls"),
        usage(10, 5, 0),
        done(),
    ];
    let (out, _) = to_anthropic(ctx(), &events);
    assert_eq!(tool_input(&out, 0), json!({"command": "ls -la"}));
    let start = out
        .iter()
        .find(|e| e.event.as_deref() == Some("content_block_start"))
        .expect("start");
    let v: Value = serde_json::from_str(&start.data).expect("json");
    assert_eq!(
        v["content_block"],
        json!({"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}})
    );
}

#[test]
fn parallel_tool_calls_become_consecutive_blocks() {
    let events = [
        chunk(json!({"role": "assistant", "content": "Let me check."})),
        tool(0, Some("call_a"), Some("Read"), "{\"path\":"),
        tool(0, None, None, "\"a\"}"),
        tool(1, Some("call_b"), Some("Read"), "{\"path\":\"b\"}"),
        finish("tool_calls"),
        done(),
    ];
    let (out, t) = to_anthropic(ctx(), &events);
    assert_eq!(tool_input(&out, 1), json!({"path": "a"}));
    assert_eq!(tool_input(&out, 2), json!({"path": "b"}));
    assert_eq!(t.summary().stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn arguments_arriving_whole_or_only_at_the_end_are_forwarded() {
    // Name first, then all arguments in the finish chunk.
    let late = Event::data(
        json!({"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"q\":1}"}}]}, "finish_reason": "tool_calls"}]})
            .to_string(),
    );
    let (out, _) = to_anthropic(
        ctx(),
        &[tool(0, Some("c1"), Some("Search"), ""), late, done()],
    );
    assert_eq!(tool_input(&out, 0), json!({"q": 1}));
    // A call with no arguments at all still gets a JSON document.
    let (out, _) = to_anthropic(
        ctx(),
        &[
            tool(0, Some("c1"), Some("Now"), ""),
            finish("tool_calls"),
            done(),
        ],
    );
    assert_eq!(tool_input(&out, 0), json!({}));
}

#[test]
fn missing_tool_id_gets_a_toolu_id_and_tools_win_over_finish_reason() {
    let (out, t) = to_anthropic(
        ctx(),
        &[tool(0, None, Some("Bash"), "{}"), finish("stop"), done()],
    );
    let start = last_data(&out, "content_block_start");
    assert!(
        start["content_block"]["id"]
            .as_str()
            .expect("id")
            .starts_with("toolu_")
    );
    assert_eq!(t.summary().stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn empty_tool_calls_and_empty_content_open_nothing() {
    let events = [
        chunk(json!({"role": "assistant", "content": ""})),
        chunk(json!({"content": "", "tool_calls": []})),
        chunk(json!({"content": "A", "tool_calls": []})),
        chunk(json!({"content": ""})),
        chunk(json!({"content": "B"})),
        finish("stop"),
        done(),
    ];
    let (out, _) = to_anthropic(ctx(), &events);
    assert_eq!(
        names(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
}

#[test]
fn usage_only_final_chunk_fills_message_delta_in_anthropic_terms() {
    let events = [
        chunk(json!({"content": "hi"})),
        finish("length"),
        usage(100, 7, 60),
        done(),
    ];
    let (out, t) = to_anthropic(ctx(), &events);
    let md = last_data(&out, "message_delta");
    assert_json_snapshot!(md, @r#"
    {
      "delta": {
        "stop_reason": "max_tokens",
        "stop_sequence": null
      },
      "type": "message_delta",
      "usage": {
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
        "input_tokens": 40,
        "output_tokens": 7
      }
    }
    "#);
    assert_eq!(t.summary().usage.cache_read_input_tokens, 60);
}

#[test]
fn abrupt_end_without_finish_reason_is_an_error_after_closing_blocks() {
    let (out, t) = to_anthropic(ctx(), &[chunk(json!({"content": "partial"}))]);
    assert_eq!(names(&out).last(), Some(&"error"));
    assert_eq!(names(&out)[names(&out).len() - 2], "content_block_stop");
    let err = last_data(&out, "error");
    assert_eq!(err["error"]["type"], "api_error");
    assert!(t.summary().error.is_some());
    assert!(!t.summary().complete);
}

#[test]
fn finish_reason_without_done_still_ends_cleanly() {
    let (out, t) = to_anthropic(ctx(), &[chunk(json!({"content": "ok"})), finish("stop")]);
    assert_eq!(names(&out).last(), Some(&"message_stop"));
    assert!(t.summary().complete);
}

#[test]
fn error_mid_stream_becomes_event_error() {
    let err = Event::data(
        r#"{"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}"#,
    );
    let (out, t) = to_anthropic(
        ctx(),
        &[
            chunk(json!({"content": "Hel"})),
            err,
            chunk(json!({"content": "lo"})),
            done(),
        ],
    );
    let e = last_data(&out, "error");
    assert_json_snapshot!(e, @r#"
    {
      "error": {
        "message": "Rate limit reached",
        "type": "rate_limit_error"
      },
      "type": "error"
    }
    "#);
    assert_eq!(t.summary().error.as_deref(), Some("Rate limit reached"));
    assert!(!out.iter().any(|e| e.data.contains("\"lo\"")));
}

#[test]
fn error_before_anything_is_a_lone_error_event() {
    let (out, _) = to_anthropic(
        ctx(),
        &[Event::data(
            r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
        )],
    );
    assert_eq!(names(&out), ["error"]);
    let (out, _) = to_anthropic(ctx(), &[]);
    assert_eq!(names(&out), ["error"]);
}

#[test]
fn malformed_chunk_is_an_error_not_a_panic() {
    let (out, _) = to_anthropic(
        ctx(),
        &[chunk(json!({"content": "x"})), Event::data("{not json")],
    );
    assert_eq!(names(&out).last(), Some(&"error"));
}

#[test]
fn shortened_tool_names_are_restored() {
    let long = format!("mcp__server__{}", "t".repeat(70));
    let c = ResponseContext {
        tool_names: vec![("short_abc".into(), long.clone())],
        ..ctx()
    };
    let (out, _) = to_anthropic(
        c,
        &[
            tool(0, Some("c"), Some("short_abc"), "{}"),
            finish("tool_calls"),
            done(),
        ],
    );
    assert_eq!(
        last_data(&out, "content_block_start")["content_block"]["name"],
        json!(long)
    );
}

#[test]
fn matched_stop_string_reports_stop_sequence() {
    let c = ResponseContext {
        stop_sequences: vec!["END".into()],
        ..ctx()
    };
    let vllm_finish = Event::data(json!({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "stop_reason": "END"}]}).to_string());
    let (out, t) = to_anthropic(c, &[chunk(json!({"content": "a"})), vllm_finish, done()]);
    let md = last_data(&out, "message_delta");
    assert_eq!(
        md["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    );
    assert_eq!(t.summary().stop_reason.as_deref(), Some("stop_sequence"));
}

#[test]
fn interleaved_parallel_arguments_end_in_an_error_rather_than_wrong_input() {
    let events = [
        tool(0, Some("a"), Some("Read"), "{\"p\":"),
        tool(1, Some("b"), Some("Read"), "{\"p\":2}"),
        tool(0, None, None, "1}"),
        finish("tool_calls"),
        done(),
    ];
    let mut t = ToAnthropicStream::new(ctx());
    let out = run(&mut t, &events);
    check_anthropic(&out, Check { tool_json: false }).expect("valid");
    assert_eq!(names(&out).last(), Some(&"error"));
}

// --- Anthropic → OpenAI ---

fn from_anthropic(events: &[Event], include_usage: bool) -> (Vec<Event>, FromAnthropicStream) {
    let c = ResponseContext {
        requested_model: "gpt-4o".into(),
        stream: true,
        ..ResponseContext::default()
    };
    let mut t = FromAnthropicStream::new(c).with_include_usage(include_usage);
    let out = run(&mut t, events);
    let valid = check_openai(&out);
    assert!(
        valid.is_ok(),
        "invalid OpenAI stream: {valid:?}\n{:#?}",
        to_json(&out)
    );
    (out, t)
}

#[test]
fn anthropic_fixtures_become_openai_chunks() {
    let cases = [
        ("text.chunks.jsonl", true),
        ("text-then-tool-use-no-args.chunks.jsonl", true),
        ("tool-use-input-json-delta.chunks.jsonl", false),
        ("thinking-signature.chunks.jsonl", false),
        ("cache-creation-and-read.chunks.jsonl", true),
        ("text-stream-after-tool-result.sse", false),
        ("thinking-stream.sse", false),
        ("redacted-thinking-stream.sse", false),
        ("error-event-overloaded.sse", false),
        ("error-event-overloaded-padded.sse", false),
    ];
    for (name, include_usage) in cases {
        let body = fixture(&format!("anthropic/{name}"));
        let events = if name.ends_with(".jsonl") {
            jsonl_events(&body)
        } else {
            sse_events(&body)
        };
        // The Anthropic fixtures themselves are valid streams.
        check_anthropic(&events, Check { tool_json: true })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (out, _) = from_anthropic(&events, include_usage);
        let snap = format!("from_anthropic__{}", name.replace('.', "_"));
        snapshot!(snap, to_json(&out));
    }
}

#[test]
fn anthropic_cache_usage_reaches_the_usage_chunk_and_summary() {
    let events = jsonl_events(&fixture("anthropic/cache-creation-and-read.chunks.jsonl"));
    let (out, t) = from_anthropic(&events, true);
    let usage_chunk: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
    assert_eq!(usage_chunk["choices"], json!([]));
    let s = t.summary();
    assert_eq!(
        (
            s.usage.cache_creation_input_tokens,
            s.usage.cache_read_input_tokens
        ),
        (3337, 6289)
    );
    let prompt = s.usage.input_tokens + 3337 + 6289;
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], prompt);
    assert_eq!(
        usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
        6289
    );
}

#[test]
fn anthropic_error_event_becomes_error_chunk_then_done() {
    let events = sse_events(&fixture("anthropic/error-event-overloaded-padded.sse"));
    let (out, t) = from_anthropic(&events, false);
    assert_eq!(out.len(), 2);
    let v: Value = serde_json::from_str(&out[0].data).expect("json");
    assert_eq!(v["error"]["type"], "overloaded_error");
    assert_eq!(t.summary().error.as_deref(), Some("Overloaded"));
}

#[test]
fn anthropic_stream_cut_before_message_stop_ends_with_error_chunk() {
    let events = jsonl_events(&fixture("anthropic/text.chunks.jsonl"));
    let cut: Vec<Event> = events.into_iter().take(4).collect();
    let (out, t) = from_anthropic(&cut, false);
    let v: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("message_stop")
    );
    assert!(!t.summary().complete);
}

#[test]
fn openai_to_anthropic_and_back_keeps_the_tool_call() {
    // Two hops through the hub: OpenAI chunks → Anthropic events → OpenAI chunks.
    let events = sse_events(&fixture("openai/chat-stream-tool-calls-include-usage.sse"));
    let (hub, _) = to_anthropic(ctx(), &events);
    let (out, _) = from_anthropic(&hub, true);
    let args: String = out
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).expect("json"),
        json!({"country": "UK"})
    );
}
