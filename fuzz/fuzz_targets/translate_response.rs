//! Non-streaming response translation: every (from, to) pair through `translate_response`.
//!
//! Input: byte 0 = pair (low nibble) and context options (high nibble); the rest is the
//! upstream body. Invariants: no panic; an `Ok` body is JSON in the client's shape (Anthropic:
//! a `message` with a content array whose tool_use blocks have a string id and name and object
//! input,
//! and a known stop reason; OpenAI: a `chat.completion` with choices).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use serde_json::Value;
use switchboard_fuzz::{Shape, mutate, pair};
use switchboard_protocol::Dialect;
use switchboard_translate::{ResponseContext, translate_response};

fn check_anthropic(v: &Value) -> Result<(), String> {
    if v["type"] != "message" || v["role"] != "assistant" {
        return Err("not an assistant message".into());
    }
    let content = v["content"].as_array().ok_or("content is not an array")?;
    for (i, b) in content.iter().enumerate() {
        match b["type"].as_str() {
            Some("text") if b["text"].is_string() => {}
            Some("thinking") if b["thinking"].is_string() => {}
            Some("redacted_thinking") => {}
            Some("tool_use") => {
                // Strings; an upstream's own empty name is relayed verbatim, not judged.
                if !b["id"].is_string() || !b["name"].is_string() {
                    return Err(format!(
                        "content[{i}]: tool_use without a string id and name"
                    ));
                }
                if !b["input"].is_object() {
                    return Err(format!("content[{i}]: tool_use input is not an object"));
                }
            }
            other => return Err(format!("content[{i}]: unexpected block {other:?}: {b}")),
        }
    }
    let sr = v["stop_reason"].as_str().unwrap_or("");
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
        return Err(format!("bad stop_reason {:?}", v["stop_reason"]));
    }
    for k in ["input_tokens", "output_tokens"] {
        if !v["usage"][k].is_u64() {
            return Err(format!("usage.{k} missing"));
        }
    }
    Ok(())
}

fn check_openai(v: &Value) -> Result<(), String> {
    if v["object"] != "chat.completion" {
        return Err("not a chat.completion".into());
    }
    let choices = v["choices"].as_array().ok_or("no choices")?;
    if choices.is_empty() {
        return Err("empty choices".into());
    }
    for c in choices {
        if c["message"]["role"] != "assistant" {
            return Err("choice without an assistant message".into());
        }
        if c["finish_reason"].as_str().is_none() {
            return Err("choice without finish_reason".into());
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&hdr, body)) = data.split_first() else {
        return;
    };
    let (from, to) = pair(hdr);
    let opts = hdr >> 4;
    let ctx = ResponseContext {
        requested_model: "client-model".into(),
        stream: false,
        tool_names: if opts & 2 == 0 {
            Vec::new()
        } else {
            vec![(
                "short_1".into(),
                "mcp__a_very_long_server_name__with_a_tool_name_longer_than_sixty_four".into(),
            )]
        },
        stop_sequences: if opts & 4 == 0 {
            Vec::new()
        } else {
            vec!["STOP".into(), String::new()]
        },
        thinking: opts & 1 == 1,
        ..ResponseContext::default()
    };
    let Ok((out, _summary)) = translate_response(from, to, body, &ctx) else {
        return;
    };
    let v: Value = match serde_json::from_slice(&out) {
        Ok(v) => v,
        Err(e) => panic!("{from} -> {to}: client body is not JSON: {e}"),
    };
    let verdict = match to {
        Dialect::Anthropic => check_anthropic(&v),
        Dialect::OpenAiChat => check_openai(&v),
        Dialect::Gemini => Ok(()),
    };
    if let Err(e) = verdict {
        panic!(
            "{from} -> {to}: invalid client body: {e}\n--- upstream ---\n{}\n--- client ---\n{v}",
            String::from_utf8_lossy(body)
        );
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutate(data, size, max_size, seed, 1, Shape::Json)
});
