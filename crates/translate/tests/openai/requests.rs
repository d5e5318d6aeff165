//! Request translation, both directions.

use insta::assert_json_snapshot;
use serde_json::{Value, json};
use switchboard_protocol::Dialect;
use switchboard_translate::{RequestOptions, TranslateError, Translated, translate_request};

use crate::support::{fixture, snapshot};

fn opts(model: &str) -> RequestOptions {
    RequestOptions {
        target_model: model.into(),
        max_output_tokens: Some(16384),
        preset: None,
    }
}

fn to_openai(body: &Value, opts: &RequestOptions) -> Result<(Value, Translated), TranslateError> {
    let t = translate_request(
        Dialect::Anthropic,
        Dialect::OpenAiChat,
        body.to_string().as_bytes(),
        opts,
    )?;
    let v: Value = serde_json::from_slice(&t.body).expect("json body");
    Ok((v, t))
}

fn to_anthropic(
    body: &Value,
    opts: &RequestOptions,
) -> Result<(Value, Translated), TranslateError> {
    let t = translate_request(
        Dialect::OpenAiChat,
        Dialect::Anthropic,
        body.to_string().as_bytes(),
        opts,
    )?;
    let v: Value = serde_json::from_slice(&t.body).expect("json body");
    Ok((v, t))
}

fn claude_code(name: &str) -> Value {
    let v: Value =
        serde_json::from_str(&fixture(&format!("claude-code/{name}"))).expect("fixture json");
    v["body"].clone()
}

/// A compact view of a translated request for snapshots: long texts cut, tool schemas reduced to
/// their property names.
fn summarize(v: &Value) -> Value {
    fn cut(s: &str) -> String {
        let head: String = s.chars().take(60).collect();
        if head.len() < s.len() {
            format!("{head}… ({} chars)", s.chars().count())
        } else {
            head
        }
    }
    fn content(c: &Value) -> Value {
        match c {
            Value::String(s) => json!(cut(s)),
            Value::Array(parts) => Value::Array(
                parts
                    .iter()
                    .map(|p| match p["type"].as_str() {
                        Some("text") => json!({"text": cut(p["text"].as_str().unwrap_or(""))}),
                        _ => p.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let mut out = v.clone();
    if let Some(msgs) = out["messages"].as_array_mut() {
        for m in msgs {
            m["content"] = content(&m["content"]);
            if let Some(r) = m.get("reasoning_content").and_then(Value::as_str) {
                m["reasoning_content"] = json!(cut(r));
            }
        }
    }
    if let Some(tools) = out["tools"].as_array_mut() {
        for t in tools {
            let f = &mut t["function"];
            f["description"] = json!(cut(f["description"].as_str().unwrap_or("")));
            let props: Vec<String> = f["parameters"]["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            f["parameters"] = json!({"type": f["parameters"]["type"], "properties": props});
        }
    }
    if out["user"].is_string() {
        out["user"] = json!("[user_id]");
    }
    out
}

fn assert_clean(body: &[u8]) {
    let s = String::from_utf8_lossy(body);
    for bad in [
        "$schema",
        "cache_control",
        "defer_loading",
        "DeferredToolPlaceholder",
        "x-anthropic-billing-header",
        "context_management",
    ] {
        assert!(!s.contains(bad), "{bad} left in the translated request");
    }
}

// --- Anthropic → OpenAI: real Claude Code requests ---

#[test]
fn claude_code_first_turn() {
    let (v, t) =
        to_openai(&claude_code("p-mode-bearer-request.json"), &opts("gpt-4o")).expect("translate");
    assert_clean(&t.body);
    assert_eq!(t.path, "/chat/completions");
    assert_eq!(t.ctx.requested_model, "claude-opus-5-5");
    assert!(t.ctx.stream && t.ctx.thinking);
    // The system prompt first; Claude Code's in-conversation system message stays in place.
    let roles: Vec<&str> = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["system", "user", "system"]);
    assert!(
        v["messages"][0]["content"]
            .as_str()
            .expect("system")
            .starts_with("You are a Claude agent")
    );
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
    assert_eq!(v["max_tokens"], 16384);
    // gpt-4o has no reasoning: no reasoning_effort even though thinking is adaptive.
    assert!(v.get("reasoning_effort").is_none());
    snapshot!("claude_code_first_turn", summarize(&v));
}

#[test]
fn claude_code_tool_followup() {
    let (v, t) = to_openai(
        &claude_code("tool-followup-with-thinking-request.json"),
        &opts("gpt-5"),
    )
    .expect("translate");
    assert_clean(&t.body);
    let msgs = v["messages"].as_array().expect("messages");
    let assistant = msgs
        .iter()
        .position(|m| m["role"] == "assistant")
        .expect("assistant");
    assert_eq!(
        msgs[assistant]["tool_calls"][0]["id"],
        "toolu_mock_53dcec5295674150"
    );
    assert!(
        msgs[assistant].get("reasoning_content").is_none(),
        "thinking is dropped for OpenAI"
    );
    assert_eq!(msgs[assistant + 1]["role"], "tool");
    assert_eq!(
        msgs[assistant + 1]["tool_call_id"],
        "toolu_mock_53dcec5295674150"
    );
    // gpt-5: max_completion_tokens and reasoning_effort.
    assert_eq!(v["max_completion_tokens"], 16384);
    assert!(v.get("max_tokens").is_none());
    assert_eq!(v["reasoning_effort"], "medium");
    snapshot!("claude_code_tool_followup", summarize(&v));
}

#[test]
fn claude_code_tool_followup_for_deepseek_passes_reasoning_back() {
    let o = RequestOptions {
        preset: Some("deepseek".into()),
        ..opts("deepseek-reasoner")
    };
    let (v, _) =
        to_openai(&claude_code("tool-followup-with-thinking-request.json"), &o).expect("translate");
    let assistant = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("assistant")
        .clone();
    assert_eq!(
        assistant["reasoning_content"],
        "The user wants a greeting. I will say hi."
    );
    assert_eq!(v["thinking"], json!({"type": "enabled"}));
    assert!(v.get("tool_choice").is_none());
}

#[test]
fn claude_code_custom_model_and_nonstreaming_fallback() {
    let (v, t) =
        to_openai(&claude_code("custom-model-request.json"), &opts("o3-mini")).expect("translate");
    assert_clean(&t.body);
    assert_eq!(v["reasoning_effort"], "high");
    assert_eq!(v["max_completion_tokens"], 16384);
    let (v, t) = to_openai(
        &claude_code("nonstreaming-fallback-request.json"),
        &opts("gpt-4o"),
    )
    .expect("translate");
    assert!(!t.ctx.stream);
    assert!(v.get("stream").is_none() && v.get("stream_options").is_none());
}

// --- Anthropic → OpenAI: constructed cases ---

fn base(messages: Value) -> Value {
    json!({"model": "claude-x", "max_tokens": 1000, "messages": messages})
}

#[test]
fn tool_results_come_right_after_the_assistant_and_images_move_to_a_user_message() {
    let body = base(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "Screenshot", "input": {}},
            {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "false"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": "captured"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
            ]},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "exit 1", "is_error": true},
            {"type": "text", "text": "what now?"}
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": [{"type": "tool_reference", "tool_name": "mcp__echo__echo_text"}]}]}
    ]));
    let (v, _) = to_openai(&body, &opts("gpt-4o")).expect("translate");
    assert_json_snapshot!(v["messages"], @r#"
    [
      {
        "content": "go",
        "role": "user"
      },
      {
        "content": null,
        "role": "assistant",
        "tool_calls": [
          {
            "function": {
              "arguments": "{}",
              "name": "Screenshot"
            },
            "id": "toolu_1",
            "type": "function"
          },
          {
            "function": {
              "arguments": "{\"command\":\"false\"}",
              "name": "Bash"
            },
            "id": "toolu_2",
            "type": "function"
          }
        ]
      },
      {
        "content": "captured",
        "role": "tool",
        "tool_call_id": "toolu_1"
      },
      {
        "content": "Error: exit 1",
        "role": "tool",
        "tool_call_id": "toolu_2"
      },
      {
        "content": [
          {
            "text": "Images returned by tool call toolu_1:",
            "type": "text"
          },
          {
            "image_url": {
              "url": "data:image/png;base64,iVBOR"
            },
            "type": "image_url"
          },
          {
            "text": "what now?",
            "type": "text"
          }
        ],
        "role": "user"
      },
      {
        "content": "Tool mcp__echo__echo_text loaded",
        "role": "tool",
        "tool_call_id": "toolu_3"
      }
    ]
    "#);
}

#[test]
fn images_become_data_urls_and_urls_pass_through() {
    let body = base(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "text", "text": "describe"}
    ]}]));
    let (v, _) = to_openai(&body, &opts("gpt-4o")).expect("translate");
    let parts = &v["messages"][0]["content"];
    assert_eq!(parts[0]["image_url"]["url"], "data:image/jpeg;base64,AAAA");
    assert_eq!(parts[1]["image_url"]["url"], "https://example.com/a.png");
}

#[test]
fn documents_are_rejected_naming_the_path() {
    let body = base(json!([{"role": "user", "content": [
        {"type": "text", "text": "read"},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}
    ]}]));
    let err = to_openai(&body, &opts("gpt-4o")).expect_err("documents unsupported");
    assert_eq!(err.path, "messages[0].content[1]");
    assert!(err.reason.contains("document"));
}

#[test]
fn server_tools_are_rejected_with_a_clear_message() {
    let mut body = base(json!([{"role": "user", "content": "search"}]));
    body["tools"] = json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}]);
    body["tool_choice"] = json!({"type": "auto"});
    let err = to_openai(&body, &opts("gpt-4o")).expect_err("server tool");
    assert_eq!(err.path, "tools[0]");
    assert_eq!(
        err.reason,
        "server tool web_search is not supported by this endpoint"
    );
}

#[test]
fn tools_choice_and_sampling_parameters() {
    let long = format!("mcp__{}__lookup", "srv".repeat(25));
    let mut body = base(json!([{"role": "user", "content": "hi"}]));
    body["tools"] = json!([
        {"name": "Read", "description": "read", "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {"path": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}},
        {"name": long, "input_schema": {"type": "object", "properties": {}}, "defer_loading": true},
        {"name": "DeferredToolPlaceholder", "input_schema": {"type": "object"}, "defer_loading": true}
    ]);
    body["tool_choice"] = json!({"type": "tool", "name": long, "disable_parallel_tool_use": true});
    body["stop_sequences"] = json!(["a", "b", "c", "d", "e"]);
    body["top_k"] = json!(5);
    body["temperature"] = json!(0.5);
    body["metadata"] = json!({"user_id": "u-1"});
    body["max_tokens"] = json!(100000);
    let (v, t) = to_openai(&body, &opts("gpt-4o")).expect("translate");
    assert_clean(&t.body);
    let short = v["tools"][1]["function"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(short.len() <= 64 && short.starts_with("mcp__srv"));
    assert_eq!(t.ctx.tool_names, vec![(short.clone(), long)]);
    assert_eq!(v["tools"].as_array().expect("tools").len(), 2);
    assert_eq!(
        v["tool_choice"],
        json!({"type": "function", "function": {"name": short}})
    );
    assert_eq!(v["parallel_tool_calls"], false);
    assert_eq!(v["stop"], json!(["a", "b", "c", "d"]));
    assert_eq!(t.ctx.stop_sequences.len(), 5);
    assert!(v.get("top_k").is_none());
    assert_eq!(v["temperature"], 0.5);
    assert_eq!(v["user"], "u-1");
    assert_eq!(v["max_tokens"], 16384);

    for (choice, expected) in [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "any"}), json!("required")),
        (json!({"type": "none"}), json!("none")),
    ] {
        body["tool_choice"] = choice;
        let (v, _) = to_openai(&body, &opts("gpt-4o")).expect("translate");
        assert_eq!(v["tool_choice"], expected);
        assert!(v.get("parallel_tool_calls").is_none());
    }
}

#[test]
fn thinking_disabled_never_sends_an_effort() {
    let mut body = base(json!([{"role": "user", "content": "hi"}]));
    body["thinking"] = json!({"type": "disabled"});
    body["output_config"] = json!({"effort": "high"});
    let (v, t) = to_openai(&body, &opts("gpt-5")).expect("translate");
    assert!(v.get("reasoning_effort").is_none());
    assert!(!t.ctx.thinking);
    let ds = RequestOptions {
        preset: Some("deepseek".into()),
        ..opts("deepseek-chat")
    };
    let (v, _) = to_openai(&body, &ds).expect("translate");
    assert!(v.get("reasoning_effort").is_none());
    assert_eq!(v["thinking"], json!({"type": "disabled"}));
    // Enabled with a budget maps to an effort.
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2000});
    body.as_object_mut()
        .expect("object")
        .remove("output_config");
    let (v, _) = to_openai(&body, &opts("o4-mini")).expect("translate");
    assert_eq!(v["reasoning_effort"], "low");
}

#[test]
fn structured_output_format_becomes_response_format() {
    let mut body = base(json!([{"role": "user", "content": "title?"}]));
    body["output_config"] = json!({"format": {"type": "json_schema", "schema": {"$schema": "x", "type": "object", "properties": {"title": {"type": "string"}}}}});
    let (v, _) = to_openai(&body, &opts("gpt-4o")).expect("translate");
    assert_json_snapshot!(v["response_format"], @r#"
    {
      "json_schema": {
        "name": "response",
        "schema": {
          "properties": {
            "title": {
              "type": "string"
            }
          },
          "type": "object"
        }
      },
      "type": "json_schema"
    }
    "#);
}

#[test]
fn invalid_json_is_an_error_not_a_panic() {
    let err = translate_request(
        Dialect::Anthropic,
        Dialect::OpenAiChat,
        b"{\"model\":",
        &opts("m"),
    )
    .expect_err("invalid");
    assert!(err.reason.contains("invalid Anthropic request"));
    let err = translate_request(Dialect::OpenAiChat, Dialect::Anthropic, b"[]", &opts("m"))
        .expect_err("invalid");
    assert!(err.reason.contains("invalid OpenAI request"));
}

// --- OpenAI → Anthropic ---

#[test]
fn recorded_openai_request_becomes_anthropic() {
    let v: Value = serde_json::from_str(&fixture(
        "openai/chat-stream-text-after-tool-include-usage.request.json",
    ))
    .expect("json");
    let (out, t) = to_anthropic(&v["body"], &opts("claude-sonnet-4-5")).expect("translate");
    assert_eq!(t.path, "/v1/messages");
    assert!(t.ctx.stream);
    assert_json_snapshot!(out, @r#"
    {
      "max_tokens": 4096,
      "messages": [
        {
          "content": [
            {
              "text": "What is the capital of the UK? Use the tool, then answer.",
              "type": "text"
            }
          ],
          "role": "user"
        },
        {
          "content": [
            {
              "id": "call_ZR5UUuTt3pf61kjwAJIYdVMj",
              "input": {
                "country": "UK"
              },
              "name": "get_capital",
              "type": "tool_use"
            }
          ],
          "role": "assistant"
        },
        {
          "content": [
            {
              "content": "London",
              "tool_use_id": "call_ZR5UUuTt3pf61kjwAJIYdVMj",
              "type": "tool_result"
            }
          ],
          "role": "user"
        }
      ],
      "model": "claude-sonnet-4-5",
      "stream": true,
      "tool_choice": {
        "type": "auto"
      },
      "tools": [
        {
          "description": "",
          "input_schema": {
            "additionalProperties": false,
            "properties": {
              "country": {
                "type": "string"
              }
            },
            "required": [
              "country"
            ],
            "type": "object"
          },
          "name": "get_capital"
        }
      ]
    }
    "#);
}

#[test]
fn system_is_hoisted_and_tool_messages_merge_into_one_user_turn() {
    let body = json!({
        "model": "gpt-4o",
        "max_completion_tokens": 2000,
        "reasoning_effort": "medium",
        "temperature": 0.3,
        "user": "abc",
        "stop": "STOP",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{\"x\":1}"}},
                {"id": "c2", "type": "function", "function": {"name": "b", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": "and?"},
            {"role": "developer", "content": "late rule"}
        ]
    });
    let (v, t) = to_anthropic(&body, &opts("claude-x")).expect("translate");
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "be brief"}, {"type": "text", "text": "late rule"}])
    );
    let msgs = v["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "QUJD"})
    );
    assert_eq!(msgs[1]["content"][1]["input"], json!({}));
    let kinds: Vec<&str> = msgs[2]["content"]
        .as_array()
        .expect("blocks")
        .iter()
        .map(|b| b["type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, ["tool_result", "tool_result", "text"]);
    assert_eq!(v["max_tokens"], 2000);
    assert_eq!(
        v["thinking"],
        json!({"type": "enabled", "budget_tokens": 1999})
    );
    assert!(
        v.get("temperature").is_none(),
        "temperature must be default with thinking"
    );
    assert_eq!(v["metadata"], json!({"user_id": "abc"}));
    assert_eq!(v["stop_sequences"], json!(["STOP"]));
    assert!(t.ctx.thinking);
}

#[test]
fn n_greater_than_one_is_rejected_naming_n() {
    let body = json!({"model": "gpt-4o", "n": 2, "messages": [{"role": "user", "content": "hi"}]});
    let err = to_anthropic(&body, &opts("claude-x")).expect_err("n > 1");
    assert_eq!(err.path, "n");
}

#[test]
fn parallel_tool_calls_false_and_required_choice() {
    let body = json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": "required",
        "parallel_tool_calls": false
    });
    let (v, _) = to_anthropic(&body, &opts("claude-x")).expect("translate");
    assert_eq!(
        v["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
}

/// OpenRouter honours Anthropic's `cache_control` on text parts; Claude Code's two breakpoints
/// (system prompt, last turn) are carried over. Plain OpenAI gets none.
#[test]
fn openrouter_keeps_claude_codes_cache_breakpoints() {
    let rec: Value =
        serde_json::from_str(&fixture("claude-code/p-mode-bearer-request.json")).expect("json");
    let body = rec["body"].clone();
    let mut o = opts("anthropic/claude-sonnet-4.5");
    o.preset = Some("openrouter".into());
    let (v, _) = to_openai(&body, &o).expect("translated");
    let messages = v["messages"].as_array().expect("messages");
    let system = messages
        .iter()
        .find(|m| m["role"] == "system")
        .expect("system message");
    let parts = system["content"].as_array().expect("system as parts");
    assert_eq!(
        parts.last().expect("part")["cache_control"],
        json!({"type": "ephemeral"})
    );
    let last = messages.last().expect("last message");
    let parts = last["content"].as_array().expect("last turn as parts");
    assert_eq!(
        parts
            .iter()
            .filter(|p| p.get("cache_control").is_some())
            .count(),
        1
    );
    assert_eq!(
        parts.last().expect("part")["cache_control"],
        json!({"type": "ephemeral"})
    );

    let (plain, _) = to_openai(&body, &opts("gpt-4o")).expect("translated");
    assert!(!plain.to_string().contains("cache_control"));
}
