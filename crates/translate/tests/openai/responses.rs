//! Non-streaming response translation.

use insta::assert_json_snapshot;
use serde_json::{Value, json};
use switchboard_protocol::Dialect;
use switchboard_translate::{ResponseContext, translate_response};

fn ctx() -> ResponseContext {
    ResponseContext {
        requested_model: "claude-opus-5-5".into(),
        thinking: true,
        include_usage: false,
        ..ResponseContext::default()
    }
}

#[test]
fn openai_completion_becomes_anthropic_message() {
    let body = json!({
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1,
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant",
            "reasoning_content": "think",
            "content": "Calling.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}}]
        }}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59, "prompt_cache_hit_tokens": 32, "prompt_cache_miss_tokens": 18}
    });
    let (out, summary) = translate_response(
        Dialect::OpenAiChat,
        Dialect::Anthropic,
        body.to_string().as_bytes(),
        &ctx(),
    )
    .expect("translate");
    let v: Value = serde_json::from_slice(&out).expect("json");
    assert_json_snapshot!(v, @r#"
    {
      "content": [
        {
          "signature": "sb1:3C_BnY_ON2xHZBzxX4I6A60Q",
          "thinking": "think",
          "type": "thinking"
        },
        {
          "text": "Calling.",
          "type": "text"
        },
        {
          "id": "call_1",
          "input": {
            "command": "ls"
          },
          "name": "Bash",
          "type": "tool_use"
        }
      ],
      "id": "msg_chatcmpl-9",
      "model": "claude-opus-5-5",
      "role": "assistant",
      "stop_reason": "tool_use",
      "stop_sequence": null,
      "type": "message",
      "usage": {
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 32,
        "input_tokens": 18,
        "output_tokens": 9
      }
    }
    "#);
    assert_eq!(summary.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(summary.model.as_deref(), Some("deepseek-reasoner"));
}

#[test]
fn invalid_tool_arguments_are_handed_over_not_dropped() {
    let body = json!({"choices": [{"finish_reason": "tool_calls", "message": {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}}]});
    let (out, _) = translate_response(
        Dialect::OpenAiChat,
        Dialect::Anthropic,
        body.to_string().as_bytes(),
        &ctx(),
    )
    .expect("translate");
    let v: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(
        v["content"][0]["input"],
        json!({"_invalid_json_arguments": "{oops"})
    );
}

#[test]
fn error_bodies_and_garbage_are_errors() {
    for body in [
        &br#"{"error":{"message":"bad","type":"invalid_request_error"}}"#[..],
        b"<html>",
        b"",
    ] {
        assert!(translate_response(Dialect::OpenAiChat, Dialect::Anthropic, body, &ctx()).is_err());
        assert!(translate_response(Dialect::Anthropic, Dialect::OpenAiChat, body, &ctx()).is_err());
    }
}

#[test]
fn anthropic_message_becomes_openai_completion() {
    let body = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "plan", "signature": "x"},
            {"type": "text", "text": "Sure."},
            {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"a": 1}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    });
    let c = ResponseContext {
        requested_model: "gpt-4o".into(),
        ..ResponseContext::default()
    };
    let (out, summary) = translate_response(
        Dialect::Anthropic,
        Dialect::OpenAiChat,
        body.to_string().as_bytes(),
        &c,
    )
    .expect("translate");
    let v: Value = serde_json::from_slice(&out).expect("json");
    assert_json_snapshot!(v, { ".created" => "[created]" }, @r#"
    {
      "choices": [
        {
          "finish_reason": "tool_calls",
          "index": 0,
          "message": {
            "content": "Sure.",
            "reasoning_content": "plan",
            "role": "assistant",
            "tool_calls": [
              {
                "function": {
                  "arguments": "{\"a\":1}",
                  "name": "get"
                },
                "id": "toolu_1",
                "type": "function"
              }
            ]
          }
        }
      ],
      "created": "[created]",
      "id": "chatcmpl-msg_1",
      "model": "gpt-4o",
      "object": "chat.completion",
      "usage": {
        "completion_tokens": 5,
        "prompt_tokens": 130,
        "prompt_tokens_details": {
          "cached_tokens": 100
        },
        "total_tokens": 135
      }
    }
    "#);
    assert_eq!(summary.usage.cache_creation_input_tokens, 20);
    assert_eq!(summary.stop_reason.as_deref(), Some("tool_use"));
}
