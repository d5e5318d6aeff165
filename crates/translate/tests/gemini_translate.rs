//! Anthropic ⇄ Gemini translation: recorded Gemini streams replayed through the stream
//! translator, real Claude Code requests translated to Gemini, the thoughtSignature round trip
//! through a tool_use id, and a property test over arbitrary frame sequences.

mod gemini_common;

use base64::Engine as _;
use gemini_common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_protocol::Dialect;
use switchboard_protocol::sse::Event;
use switchboard_translate::gemini::{self, ToAnthropicStream};
use switchboard_translate::{RequestOptions, ResponseContext, StreamTranslator, TranslateError};

fn ctx(thinking: bool) -> ResponseContext {
    ResponseContext {
        requested_model: "claude-opus-5-5".into(),
        stream: true,
        thinking,
        include_usage: false,
        ..ResponseContext::default()
    }
}

fn opts(model: &str) -> RequestOptions {
    RequestOptions {
        target_model: model.into(),
        max_output_tokens: Some(65536),
        preset: None,
    }
}

fn assert_valid(out: &[Event]) {
    let check = check_anthropic_stream(out);
    assert!(
        check.is_ok(),
        "invalid stream: {check:?}\n{:#}",
        as_json(out)
    );
}

fn replay(events: &[Event], ctx: ResponseContext) -> Vec<Event> {
    let mut t = ToAnthropicStream::new(ctx);
    let out = run(&mut t, events);
    assert_valid(&out);
    out
}

fn replay_frames(frames: &[&str], ctx: ResponseContext) -> (Vec<Event>, ToAnthropicStream) {
    let mut t = ToAnthropicStream::new(ctx);
    let events: Vec<Event> = frames.iter().map(|f| Event::data(*f)).collect();
    let out = run(&mut t, &events);
    assert_valid(&out);
    (out, t)
}

fn translate(
    body: &Value,
    model: &str,
) -> Result<(Value, switchboard_translate::Translated), TranslateError> {
    let t = gemini::from_anthropic_request(body.to_string().as_bytes(), &opts(model))?;
    let v: Value = serde_json::from_slice(&t.body).expect("body is JSON");
    Ok((v, t))
}

fn tool_uses(events: &[Event]) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for e in events {
        let d: Value = serde_json::from_str(&e.data).expect("json");
        if d["type"] == "content_block_start" && d["content_block"]["type"] == "tool_use" {
            out.push((
                d["content_block"]["id"].as_str().expect("id").to_owned(),
                d["content_block"]["name"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
                Value::Null,
            ));
        }
        if d["type"] == "content_block_delta"
            && d["delta"]["type"] == "input_json_delta"
            && let Some(last) = out.last_mut()
        {
            last.2 = serde_json::from_str(d["delta"]["partial_json"].as_str().expect("json"))
                .expect("args");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Recorded streams

#[test]
fn replays_function_call_with_thought_signature() {
    let out = replay(
        &decode_sse(&fixture_bytes("stream-function-call-thought-signature.sse")),
        ctx(true),
    );
    insta::assert_json_snapshot!("function_call_thought_signature", as_json(&out));
    let calls = tool_uses(&out);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, "get_country");
    let last: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
    assert_eq!(
        last["delta"]["stop_reason"], "tool_use",
        "Gemini says STOP for tool calls"
    );
    // output = candidates + thoughts
    assert_eq!(last["usage"]["output_tokens"], 212);
    assert_eq!(last["usage"]["input_tokens"], 29);
}

#[test]
fn replays_function_call_without_signature() {
    let out = replay(
        &decode_sse(&fixture_bytes("stream-function-call-gemini-2.0-flash.sse")),
        ctx(false),
    );
    insta::assert_json_snapshot!("function_call_gemini_2_0_flash", as_json(&out));
    assert_eq!(tool_uses(&out)[0].2, json!({"country": "France"}));
}

#[test]
fn replays_text_after_function_response() {
    let out = replay(
        &decode_sse(&fixture_bytes("stream-text-after-function-response.sse")),
        ctx(true),
    );
    insta::assert_json_snapshot!("text_after_function_response", as_json(&out));
    let (msg, _) = summary_of(&decode_sse(&fixture_bytes(
        "stream-text-after-function-response.sse",
    )));
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        msg.usage.input_tokens, 257,
        "usage is cumulative: the last frame wins"
    );
    assert!(msg.complete);
}

#[test]
fn replays_thought_parts_as_a_thinking_block() {
    let out = replay(
        &decode_sse(&fixture_bytes("stream-thought-parts-gemini-2.5-pro.sse")),
        ctx(true),
    );
    insta::assert_json_snapshot!("thought_parts_gemini_2_5_pro", as_json(&out));
    let kinds: Vec<Value> = out
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.data).expect("json"))
        .filter(|d| d["type"] == "content_block_start")
        .map(|d| d["content_block"]["type"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("thinking"), json!("text")]);
}

#[test]
fn replays_tool_call_chunks() {
    let text = String::from_utf8(fixture_bytes("tool-call.chunks.jsonl")).expect("utf8");
    let out = replay(&decode_sse(&frames_from_jsonl(&text)), ctx(true));
    insta::assert_json_snapshot!("tool_call_chunks", as_json(&out));
    assert_eq!(tool_uses(&out)[0].2, json!({"location": "San Francisco"}));
}

fn summary_of(events: &[Event]) -> (switchboard_protocol::observe::Summary, Vec<Event>) {
    let mut t = ToAnthropicStream::new(ctx(true));
    let out = run(&mut t, events);
    (t.summary().clone(), out)
}

// ---------------------------------------------------------------------------------------------
// Stream edge cases

const TEXT_FRAME: &str = r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1},"responseId":"r1"}"#;

#[test]
fn mid_stream_error_becomes_an_error_event() {
    for err in [
        r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        r#"[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#,
    ] {
        let (out, t) = replay_frames(&[TEXT_FRAME, err, TEXT_FRAME], ctx(false));
        let last: Value = serde_json::from_str(&out.last().expect("events").data).expect("json");
        assert_eq!(
            last,
            json!({"type":"error","error":{"type":"overloaded_error","message":"The model is overloaded."}})
        );
        assert_eq!(
            t.summary().error.as_deref(),
            Some("The model is overloaded.")
        );
        assert!(!t.summary().complete);
    }
}

#[test]
fn abrupt_end_closes_blocks_and_reports_an_error() {
    let (out, t) = replay_frames(&[TEXT_FRAME], ctx(false));
    let names: Vec<&str> = out.iter().filter_map(|e| e.event.as_deref()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "error"
        ]
    );
    assert!(t.summary().error.is_some());
    let (out, _) = replay_frames(&[], ctx(false));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].event.as_deref(), Some("error"));
}

#[test]
fn finish_reasons_map_to_stop_reasons() {
    for (reason, expected) in [
        ("MAX_TOKENS", "max_tokens"),
        ("SAFETY", "refusal"),
        ("RECITATION", "refusal"),
        ("PROHIBITED_CONTENT", "refusal"),
        ("BLOCKLIST", "refusal"),
        ("SPII", "refusal"),
        ("STOP", "end_turn"),
    ] {
        let fin = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":""}}]}},"finishReason":"{reason}"}}]}}"#
        );
        let (out, t) = replay_frames(&[TEXT_FRAME, &fin], ctx(false));
        let delta: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
        assert_eq!(delta["delta"]["stop_reason"], expected, "{reason}");
        assert_eq!(t.summary().stop_reason.as_deref(), Some(expected));
    }
}

#[test]
fn malformed_function_call_is_an_error_event() {
    let fin = r#"{"candidates":[{"finishReason":"MALFORMED_FUNCTION_CALL","finishMessage":"Malformed function call: print(x"}]}"#;
    let (out, _) = replay_frames(&[TEXT_FRAME, fin], ctx(false));
    let last: Value = serde_json::from_str(&out.last().expect("events").data).expect("json");
    assert_eq!(last["type"], "error");
    assert!(
        last["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("MALFORMED_FUNCTION_CALL")
    );
}

#[test]
fn usage_moves_cached_tokens_out_of_input_and_counts_thoughts_as_output() {
    let fin = r#"{"candidates":[{"content":{"parts":[{"text":"."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1000,"cachedContentTokenCount":600,"candidatesTokenCount":20,"thoughtsTokenCount":30}}"#;
    let (out, t) = replay_frames(&[fin], ctx(false));
    let start: Value = serde_json::from_str(&out[0].data).expect("json");
    insta::assert_json_snapshot!(start["message"]["usage"], @r#"
    {
      "cache_creation_input_tokens": 0,
      "cache_read_input_tokens": 600,
      "input_tokens": 400,
      "output_tokens": 0
    }
    "#);
    let delta: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
    insta::assert_json_snapshot!(delta["usage"], @r#"
    {
      "cache_creation_input_tokens": 0,
      "cache_read_input_tokens": 600,
      "input_tokens": 400,
      "output_tokens": 50
    }
    "#);
    assert_eq!(t.summary().usage.cache_read_input_tokens, 600);
}

#[test]
fn several_function_calls_in_one_frame_become_several_blocks() {
    let frame = r#"{"candidates":[{"content":{"parts":[{"text":"Checking."},{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"b","args":{}}}]},"finishReason":"STOP"}],"responseId":"r2"}"#;
    let (out, _) = replay_frames(&[frame], ctx(true));
    let calls = tool_uses(&out);
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0].0, calls[1].0);
    assert_eq!((calls[0].1.as_str(), calls[1].1.as_str()), ("a", "b"));
}

#[test]
fn vertex_streamed_arguments_are_reassembled() {
    let frames = [
        r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"Bash","partialArgs":[{"jsonPath":"$.command","stringValue":"ls ","willContinue":true}],"willContinue":true},"thoughtSignature":"c2ln"}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.command","stringValue":"-la"},{"jsonPath":"$.timeout","numberValue":30}],"willContinue":true}}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"functionCall":{}}]},"finishReason":"STOP"}]}"#,
    ];
    let (out, _) = replay_frames(&frames, ctx(true));
    let calls = tool_uses(&out);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, "Bash");
    assert_eq!(calls[0].2, json!({"command": "ls -la", "timeout": 30}));
    let delta: Value = serde_json::from_str(&out[out.len() - 2].data).expect("json");
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[test]
fn shortened_tool_names_are_restored_in_responses() {
    let long = format!("mcp__{}__search", "very_long_server_name_".repeat(4));
    let req = json!({
        "model": "claude-opus-5-5", "max_tokens": 100, "stream": true,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"name": long, "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    });
    let (body, t) = translate(&req, "gemini-2.5-pro").expect("translates");
    let up = body["tools"][0]["functionDeclarations"][0]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(up.len() <= 64 && up != long);
    let frame = format!(
        r#"{{"candidates":[{{"content":{{"parts":[{{"functionCall":{{"name":"{up}","args":{{"q":"x"}}}}}}]}},"finishReason":"STOP"}}]}}"#
    );
    let (out, _) = replay_frames(&[&frame], t.ctx);
    assert_eq!(tool_uses(&out)[0].1, long);
}

#[test]
fn text_signature_rides_in_a_thinking_block_and_returns_on_the_text() {
    let frames = [
        r#"{"candidates":[{"content":{"parts":[{"text":"Plan","thought":true}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"Answer","thoughtSignature":"dGV4dHNpZw=="}]},"finishReason":"STOP"}]}"#,
    ];
    let (out, _) = replay_frames(&frames, ctx(true));
    let msg = fold_message(&out);
    assert_eq!(msg[0]["type"], "thinking");
    assert_eq!(msg[1]["text"], "Answer");
    let req = json!({
        "model": "m", "max_tokens": 100,
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": msg}, {"role": "user", "content": "more"}]
    });
    let (body, _) = translate(&req, "gemini-3-pro-preview").expect("translates");
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [{"text": "Answer", "thoughtSignature": "dGV4dHNpZw=="}]})
    );
}

/// Folds events into the content blocks of a message (just enough for the tests).
fn fold_message(events: &[Event]) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_buf = String::new();
    for e in events {
        let d: Value = serde_json::from_str(&e.data).expect("json");
        match d["type"].as_str().expect("type") {
            "content_block_start" => {
                blocks.push(d["content_block"].clone());
                json_buf.clear();
            }
            "content_block_delta" => {
                let b = blocks.last_mut().expect("block");
                let delta = &d["delta"];
                match delta["type"].as_str().expect("type") {
                    "text_delta" => {
                        b["text"] = json!(format!(
                            "{}{}",
                            b["text"].as_str().unwrap_or(""),
                            delta["text"].as_str().expect("t")
                        ))
                    }
                    "thinking_delta" => {
                        b["thinking"] = json!(format!(
                            "{}{}",
                            b["thinking"].as_str().unwrap_or(""),
                            delta["thinking"].as_str().expect("t")
                        ));
                    }
                    "signature_delta" => b["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        json_buf.push_str(delta["partial_json"].as_str().expect("j"))
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let b = blocks.last_mut().expect("block");
                if b["type"] == "tool_use" {
                    b["input"] = serde_json::from_str(&json_buf).expect("input");
                }
            }
            _ => {}
        }
    }
    Value::Array(blocks)
}

// ---------------------------------------------------------------------------------------------
// Round trip: thoughtSignature through a tool_use id

#[test]
fn thought_signature_round_trips_through_the_tool_use_id() {
    let sse = fixture_bytes("stream-function-call-thought-signature.sse");
    let frames = decode_sse(&sse);
    let first: Value = serde_json::from_str(&frames[0].data).expect("json");
    let signature = first["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
        .as_str()
        .expect("sig")
        .to_owned();

    let out = replay(&frames, ctx(true));
    let assistant = fold_message(&out);
    let (id, name, _) = tool_uses(&out).remove(0);
    assert!(id.len() > signature.len(), "the id carries the signature");

    // Claude Code's next request echoes the assistant turn verbatim and answers the call.
    let follow_up = json!({
        "model": "claude-opus-5-5", "max_tokens": 128000, "stream": true,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is the capital of the user country? Call the tool"}]},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "Mexico", "is_error": false, "cache_control": {"type": "ephemeral"}}]}
        ],
        "tools": [{"name": "get_country", "description": "", "input_schema": {"type": "object", "properties": {}, "additionalProperties": false}}]
    });
    let (body, t) = translate(&follow_up, "gemini-3-pro-preview").expect("translates");
    assert_eq!(
        t.path,
        "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
    );
    let model_turn = &body["contents"][1];
    assert_eq!(model_turn["role"], "model");
    assert_eq!(
        model_turn["parts"][0]["functionCall"],
        json!({"name": name, "args": {}})
    );
    assert_eq!(model_turn["parts"][0]["thoughtSignature"], json!(signature));
    let user_turn = &body["contents"][2];
    assert_eq!(
        user_turn["parts"][0]["functionResponse"],
        json!({"name": "get_country", "response": {"content": "Mexico"}})
    );

    // Same conversation as pydantic-ai's recorded follow-up (which re-encoded the signature in
    // the URL-safe alphabet): the same signature bytes, the same call and result.
    let recorded = fixture_json("stream-text-after-function-response.request.json");
    let rec_sig = recorded["body"]["contents"][1]["parts"][0]["thoughtSignature"]
        .as_str()
        .expect("sig");
    let std = base64::engine::general_purpose::STANDARD
        .decode(&signature)
        .expect("std b64");
    let url = base64::engine::general_purpose::URL_SAFE
        .decode(rec_sig)
        .expect("url b64");
    assert_eq!(std, url);
    assert_eq!(recorded["body"]["contents"][0], body["contents"][0]);
    assert_eq!(
        recorded["body"]["contents"][1]["parts"][0]["functionCall"]["name"],
        model_turn["parts"][0]["functionCall"]["name"]
    );
    assert_eq!(
        recorded["body"]["contents"][2]["parts"][0]["functionResponse"]["name"],
        user_turn["parts"][0]["functionResponse"]["name"]
    );
}

#[test]
fn gemini_function_call_ids_round_trip() {
    let frame = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"id":"fc-7/x","name":"Read","args":{"file_path":"/a"}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP"}]}"#;
    let (out, _) = replay_frames(&[frame], ctx(true));
    let (id, _, _) = tool_uses(&out).remove(0);
    let req = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "read"},
            {"role": "assistant", "content": fold_message(&out)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": [{"type": "text", "text": "boom"}], "is_error": true}]}
        ]
    });
    let (body, _) = translate(&req, "gemini-3-pro-preview").expect("translates");
    assert_eq!(
        body["contents"][1]["parts"][0]["functionCall"]["id"],
        "fc-7/x"
    );
    assert_eq!(body["contents"][1]["parts"][0]["thoughtSignature"], "c2ln");
    assert_eq!(
        body["contents"][2]["parts"][0]["functionResponse"],
        json!({"id": "fc-7/x", "name": "Read", "response": {"error": "boom"}})
    );
}

// ---------------------------------------------------------------------------------------------
// Requests

fn assert_schemas_clean(body: &Value) {
    let mut found = Vec::new();
    for (i, tool) in body["tools"].as_array().into_iter().flatten().enumerate() {
        forbidden_keywords(
            &tool["functionDeclarations"],
            &format!("tools[{i}].functionDeclarations"),
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "forbidden schema keywords survived: {found:#?}"
    );
}

#[test]
fn translates_claude_code_first_turn() {
    let fixture = fixture_json("claude-code-p-mode-bearer-request.json");
    let (body, t) = translate(&fixture["body"], "gemini-3-pro-preview").expect("translates");
    assert_schemas_clean(&body);
    assert_eq!(
        t.path,
        "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
    );
    assert_eq!(t.ctx.requested_model, "claude-opus-5-5");
    assert!(t.ctx.thinking && t.ctx.stream);
    // billing header dropped; identity line and main prompt kept
    let sys = body["systemInstruction"]["parts"]
        .as_array()
        .expect("parts");
    assert_eq!(sys.len(), 2);
    assert!(!body.to_string().contains("x-anthropic-billing-header"));
    // the in-conversation system message rides in the first user turn
    assert_eq!(body["contents"].as_array().expect("contents").len(), 1);
    let last = body["contents"][0]["parts"]
        .as_array()
        .expect("parts")
        .last()
        .expect("part")
        .clone();
    assert!(
        last["text"]
            .as_str()
            .expect("text")
            .starts_with("<system-reminder>\n# Environment")
    );
    let names: Vec<&str> = body["tools"][0]["functionDeclarations"]
        .as_array()
        .expect("decls")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert!(!names.contains(&"DeferredToolPlaceholder"));
    assert_eq!(
        body["generationConfig"]["maxOutputTokens"], 65536,
        "clamped"
    );
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    insta::assert_json_snapshot!("claude_code_first_turn_request", abbreviate(&body));
}

#[test]
fn translates_claude_code_tool_follow_up() {
    let fixture = fixture_json("claude-code-tool-followup-with-thinking-request.json");
    let (body, _) = translate(&fixture["body"], "gemini-2.5-pro").expect("translates");
    assert_schemas_clean(&body);
    let contents = body["contents"].as_array().expect("contents");
    let roles: Vec<&str> = contents
        .iter()
        .map(|c| c["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    // Anthropic's thinking block is dropped; a call from another model gets the sentinel.
    assert_eq!(
        contents[1]["parts"],
        json!([
            {"text": "I'll run a command."},
            {"functionCall": {"name": "Bash", "args": {"command": "echo mock-tool-ran", "description": "Print a marker"}}, "thoughtSignature": "skip_thought_signature_validator"}
        ])
    );
    assert_eq!(
        contents[2]["parts"][0],
        json!({"functionResponse": {"name": "Bash", "response": {"content": "mock-tool-ran"}}})
    );
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": -1, "includeThoughts": true})
    );
    insta::assert_json_snapshot!(
        "claude_code_tool_follow_up_request",
        abbreviate(
            &json!({"contents": body["contents"], "generationConfig": body["generationConfig"], "toolConfig": body["toolConfig"]})
        )
    );
}

#[test]
fn matches_the_recorded_gemini_request_for_the_same_conversation() {
    let recorded = fixture_json("stream-function-call-gemini-2.0-flash.request.json");
    let anthropic = json!({
        "model": "claude-x", "max_tokens": 1024, "stream": true,
        "system": "You are a helpful chatbot.",
        "messages": [{"role": "user", "content": "What is the temperature of the capital of France?"}],
        "tools": [
            {"name": "get_capital", "description": "Get the capital of a country.", "input_schema": {"type": "object", "properties": {"country": {"type": "string", "description": "The country name."}}, "required": ["country"], "additionalProperties": false}},
            {"name": "get_temperature", "description": "Get the temperature in a city.", "input_schema": {"type": "object", "properties": {"city": {"type": "string", "description": "The city name."}}, "required": ["city"]}}
        ]
    });
    let (body, t) = translate(&anthropic, "gemini-2.0-flash").expect("translates");
    assert_eq!(
        format!("https://generativelanguage.googleapis.com{}", t.path),
        recorded["uri"]
    );
    assert_eq!(body["contents"], recorded["body"]["contents"]);
    assert_eq!(body["tools"], recorded["body"]["tools"]);
    assert_eq!(
        body["systemInstruction"]["parts"],
        recorded["body"]["systemInstruction"]["parts"]
    );
}

#[test]
fn thinking_and_sampling_options_map_to_generation_config() {
    let req = json!({
        "model": "m", "max_tokens": 8000, "temperature": 0.5, "top_p": 0.9, "top_k": 40,
        "stop_sequences": ["a", "b", "c", "d", "e", "f"],
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": {"$schema": "x", "type": "object", "properties": {"title": {"type": "string"}}}}},
        "messages": [{"role": "user", "content": "hi"}]
    });
    let (body, t) = translate(&req, "gemini-2.5-flash").expect("translates");
    assert_eq!(t.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    insta::assert_json_snapshot!(body["generationConfig"], @r#"
    {
      "maxOutputTokens": 8000,
      "responseJsonSchema": {
        "properties": {
          "title": {
            "type": "string"
          }
        },
        "type": "object"
      },
      "responseMimeType": "application/json",
      "stopSequences": [
        "a",
        "b",
        "c",
        "d",
        "e"
      ],
      "temperature": 0.5,
      "thinkingConfig": {
        "includeThoughts": true,
        "thinkingBudget": 4096
      },
      "topK": 40,
      "topP": 0.9
    }
    "#);
    let adaptive = json!({"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}, "messages": [{"role": "user", "content": "hi"}]});
    let (body, _) = translate(&adaptive, "gemini-3-pro-preview").expect("translates");
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    let (body, t) = translate(&adaptive, "gemini-2.0-flash").expect("translates");
    assert!(
        body["generationConfig"].get("thinkingConfig").is_none(),
        "2.0 can't think"
    );
    assert!(!t.ctx.thinking);
}

#[test]
fn tool_choice_maps_to_function_calling_config() {
    for (choice, expected) in [
        (json!({"type": "auto"}), json!({"mode": "AUTO"})),
        (json!({"type": "any"}), json!({"mode": "ANY"})),
        (json!({"type": "none"}), json!({"mode": "NONE"})),
        (
            json!({"type": "tool", "name": "get"}),
            json!({"mode": "ANY", "allowedFunctionNames": ["get"]}),
        ),
    ] {
        let req = json!({"model": "m", "max_tokens": 10, "tool_choice": choice, "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "get", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}]});
        let (body, _) = translate(&req, "gemini-2.5-pro").expect("translates");
        assert_eq!(body["toolConfig"]["functionCallingConfig"], expected);
    }
}

#[test]
fn server_tools_are_rejected_by_name() {
    let req = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}], "tool_choice": {"type": "auto"}});
    let err = translate(&req, "gemini-2.5-pro").expect_err("rejected");
    assert_eq!(
        err,
        TranslateError::new(
            "tools[0]",
            "server tool web_search is not supported by this endpoint"
        )
    );
    let via_facade = switchboard_translate::translate_request(
        Dialect::Anthropic,
        Dialect::Gemini,
        req.to_string().as_bytes(),
        &opts("g"),
    );
    assert!(via_facade.is_err());
}

#[test]
fn media_blocks_and_roles_are_translated() {
    let req = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg?s=1"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "system", "content": "be brief"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "anthropic-signature"},
                {"type": "redacted_thinking", "data": "xx"},
                {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {"file_path": "/a.png"}}
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "here"},
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [
                    {"type": "text", "text": "image attached"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
                ]}
            ]}
        ]
    });
    let (body, _) = translate(&req, "gemini-2.5-pro").expect("translates");
    insta::assert_json_snapshot!(body["contents"], @r#"
    [
      {
        "parts": [
          {
            "text": "look"
          },
          {
            "inlineData": {
              "data": "iVBOR",
              "mimeType": "image/png"
            }
          },
          {
            "fileData": {
              "fileUri": "https://x.test/a.jpg?s=1",
              "mimeType": "image/jpeg"
            }
          },
          {
            "inlineData": {
              "data": "JVBER",
              "mimeType": "application/pdf"
            }
          },
          {
            "text": "<system-reminder>\nbe brief\n</system-reminder>"
          }
        ],
        "role": "user"
      },
      {
        "parts": [
          {
            "functionCall": {
              "args": {
                "file_path": "/a.png"
              },
              "name": "Read"
            },
            "thoughtSignature": "skip_thought_signature_validator"
          }
        ],
        "role": "model"
      },
      {
        "parts": [
          {
            "functionResponse": {
              "name": "Read",
              "response": {
                "content": "image attached"
              }
            }
          },
          {
            "text": "here"
          },
          {
            "inlineData": {
              "data": "AAAA",
              "mimeType": "image/png"
            }
          }
        ],
        "role": "user"
      }
    ]
    "#);
}

#[test]
fn deferred_tools_are_declared_once_loaded() {
    let req = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "find echo"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "echo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "tool_reference", "tool_name": "mcp__echo__echo_text"}]}]}
        ],
        "tools": [
            {"name": "ToolSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
            {"name": "mcp__echo__echo_text", "defer_loading": true, "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}},
            {"name": "mcp__other__tool", "defer_loading": true, "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}},
            {"name": "DeferredToolPlaceholder", "defer_loading": true, "input_schema": {"type": "object", "properties": {}}}
        ]
    });
    let (body, _) = translate(&req, "gemini-2.5-pro").expect("translates");
    let names: Vec<&str> = body["tools"][0]["functionDeclarations"]
        .as_array()
        .expect("decls")
        .iter()
        .map(|d| d["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, ["ToolSearch", "mcp__echo__echo_text"]);
    assert_eq!(
        body["contents"][2]["parts"][0]["functionResponse"]["response"],
        json!({"content": "Tool mcp__echo__echo_text loaded"})
    );
}

#[test]
fn unknown_tool_result_ids_are_rejected() {
    let req = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "x"}]}]});
    let err = translate(&req, "g").expect_err("rejected");
    assert_eq!(err.path, "messages[0].content[0].tool_use_id");
}

// ---------------------------------------------------------------------------------------------
// Non-streaming

#[test]
fn non_streaming_response_becomes_a_message() {
    let body = br#"{"candidates":[{"content":{"parts":[{"text":"Let me check.","thoughtSignature":"c2ln"},{"functionCall":{"name":"get_capital","args":{"country":"France"}}}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":52,"candidatesTokenCount":5,"thoughtsTokenCount":7,"cachedContentTokenCount":2},"modelVersion":"gemini-2.5-pro","responseId":"abc"}"#;
    let (msg, summary) = gemini::to_anthropic_response(body, &ctx(true)).expect("translates");
    let msg: Value = serde_json::from_slice(&msg).expect("json");
    insta::assert_json_snapshot!(msg, @r#"
    {
      "content": [
        {
          "signature": "gemini.sig.xc2ln",
          "thinking": "",
          "type": "thinking"
        },
        {
          "text": "Let me check.",
          "type": "text"
        },
        {
          "id": "toolu_gemgb15a587a5f365f016214e7dc",
          "input": {
            "country": "France"
          },
          "name": "get_capital",
          "type": "tool_use"
        }
      ],
      "id": "msg_abc",
      "model": "claude-opus-5-5",
      "role": "assistant",
      "stop_reason": "tool_use",
      "stop_sequence": null,
      "type": "message",
      "usage": {
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2,
        "input_tokens": 50,
        "output_tokens": 12
      }
    }
    "#);
    assert_eq!(summary.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(summary.model.as_deref(), Some("gemini-2.5-pro"));
    assert!(summary.complete);

    let err = gemini::to_anthropic_response(
        br#"[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]"#,
        &ctx(false),
    );
    assert!(err.is_err());
    let (blocked, _) = gemini::to_anthropic_response(
        br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}"#,
        &ctx(false),
    )
    .expect("translates");
    let blocked: Value = serde_json::from_slice(&blocked).expect("json");
    assert_eq!(blocked["stop_reason"], "refusal");
}

// ---------------------------------------------------------------------------------------------
// Properties

#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Thought(String, Option<String>),
    SignedText(String, String),
    Call(String, Option<String>),
    Partial(&'static str, String, bool),
    EmptyCall,
    Finish(&'static str),
    Usage(u32, u32, u32),
    Garbage(String),
    Error,
    Empty,
}

fn frame_strategy() -> impl Strategy<Value = Frame> {
    let sig = proptest::option::of("[A-Za-z0-9+/]{4,12}");
    prop_oneof![
        ".{0,12}".prop_map(Frame::Text),
        (".{0,12}", sig.clone()).prop_map(|(t, s)| Frame::Thought(t, s)),
        (".{0,8}", "[A-Za-z0-9+/]{4,12}").prop_map(|(t, s)| Frame::SignedText(t, s)),
        ("[a-zA-Z_]{1,10}", sig).prop_map(|(n, s)| Frame::Call(n, s)),
        (prop::sample::select(vec!["p", ""]), ".{0,6}", any::<bool>())
            .prop_map(|(n, s, c)| Frame::Partial(n, s, c)),
        Just(Frame::EmptyCall),
        prop::sample::select(vec![
            "STOP",
            "MAX_TOKENS",
            "SAFETY",
            "MALFORMED_FUNCTION_CALL",
            "OTHER",
            "WEIRD"
        ])
        .prop_map(Frame::Finish),
        (0u32..5000, 0u32..5000, 0u32..100).prop_map(|(p, c, k)| Frame::Usage(p, c, k)),
        ".{0,20}".prop_map(Frame::Garbage),
        Just(Frame::Error),
        Just(Frame::Empty),
    ]
}

fn frame_data(f: &Frame) -> String {
    let parts = |parts: Value| {
        json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]})
            .to_string()
    };
    match f {
        Frame::Text(t) => parts(json!([{"text": t}])),
        Frame::Thought(t, s) => parts(json!([{"text": t, "thought": true, "thoughtSignature": s}])),
        Frame::SignedText(t, s) => parts(json!([{"text": t, "thoughtSignature": s}])),
        Frame::Call(n, s) => parts(json!([{"functionCall": {"name": n, "args": {"a": 1}}, "thoughtSignature": s}, {"functionCall": {"name": n, "args": {}}}])),
        Frame::EmptyCall => parts(json!([{"functionCall": {}}])),
        Frame::Partial(n, s, more) => parts(json!([{"functionCall": {"name": n, "partialArgs": [{"jsonPath": "$.x", "stringValue": s}], "willContinue": more}}])),
        Frame::Finish(r) => json!({"candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": r}]}).to_string(),
        Frame::Usage(p, c, k) => json!({"candidates": [], "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c, "cachedContentTokenCount": k}}).to_string(),
        Frame::Garbage(g) => g.clone(),
        Frame::Error => r#"{"error":{"code":500,"message":"internal","status":"INTERNAL"}}"#.to_owned(),
        Frame::Empty => String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_frame_sequence_gives_a_valid_anthropic_stream(
        frames in proptest::collection::vec(frame_strategy(), 0..14),
        thinking in any::<bool>(),
    ) {
        let events: Vec<Event> = frames.iter().map(|f| Event::data(frame_data(f))).collect();
        let mut t = ToAnthropicStream::new(ctx(thinking));
        let out = run(&mut t, &events);
        prop_assert!(check_anthropic_stream(&out).is_ok(), "{:?}\n{:#}", check_anthropic_stream(&out), as_json(&out));
        // finish() is idempotent
        let mut more = Vec::new();
        t.finish(&mut more);
        prop_assert!(more.is_empty());

        // The same frames as one non-streaming body never panic either.
        let body = format!("[{}]", frames.iter().map(frame_data).filter(|d| serde_json::from_str::<Value>(d).is_ok()).collect::<Vec<_>>().join(","));
        let _ = gemini::to_anthropic_response(body.as_bytes(), &ctx(thinking));
    }

    #[test]
    fn request_translation_never_panics(v in arbitrary_json()) {
        let _ = gemini::from_anthropic_request(v.to_string().as_bytes(), &opts("gemini-2.5-pro"));
        let wrapped = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [v.clone()]}], "tools": [{"name": "t", "input_schema": v}]});
        if let Ok(t) = gemini::from_anthropic_request(wrapped.to_string().as_bytes(), &opts("gemini-2.5-pro")) {
            let body: Value = serde_json::from_slice(&t.body).expect("json");
            let mut found = Vec::new();
            forbidden_keywords(&body["tools"], "tools", &mut found);
            prop_assert!(found.is_empty(), "{found:?}");
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "object",
            "string",
            "array",
            "null",
            "#/$defs/a",
            "text",
            "image",
            "tool_use",
            "base64",
            "date-time",
            "uri"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "properties",
                        "items",
                        "$ref",
                        "$defs",
                        "a",
                        "anyOf",
                        "allOf",
                        "oneOf",
                        "const",
                        "enum",
                        "required",
                        "format",
                        "source",
                        "text",
                        "additionalProperties",
                        "default",
                        "prefixItems"
                    ]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

#[test]
fn recorded_text_signature_after_thoughts_returns_on_the_text_part() {
    let frames = decode_sse(&fixture_bytes("stream-thought-parts-gemini-2.5-pro.sse"));
    let recorded_sig = frames
        .iter()
        .map(|f| serde_json::from_str::<Value>(&f.data).expect("json"))
        .find_map(|d| {
            d["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("the recording signs its first text part");
    let assistant = fold_message(&replay(&frames, ctx(true)));
    let req = json!({
        "model": "m", "max_tokens": 100,
        "messages": [{"role": "user", "content": "How do I cross the street?"}, {"role": "assistant", "content": assistant}, {"role": "user", "content": "thanks"}]
    });
    let (body, _) = translate(&req, "gemini-2.5-pro").expect("translates");
    let parts = body["contents"][1]["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 1, "thought summaries are not sent back");
    assert_eq!(parts[0]["thoughtSignature"], json!(recorded_sig));
    assert!(
        parts[0]["text"]
            .as_str()
            .expect("text")
            .starts_with("This is a great question!")
    );
}
