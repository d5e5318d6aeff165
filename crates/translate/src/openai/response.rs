//! Non-streaming responses: `chat.completion` ⇄ Anthropic `message`.

use serde_json::Value;
use switchboard_protocol::anthropic::{self as a, ContentBlock};
use switchboard_protocol::observe::Summary;
use switchboard_protocol::openai as o;

use crate::common::{
    finish_reason_from_anthropic, gateway_id, gateway_signature, stop_reason_from_openai, unix_now,
    usage_from_openai, usage_to_openai,
};
use crate::tools::restore_name;
use crate::{ResponseContext, TranslateError};

/// Key under which unparseable tool arguments are handed to the client, so the model sees its
/// mistake instead of an empty input (litellm#25321).
pub(super) const INVALID_ARGUMENTS_KEY: &str = "_invalid_json_arguments";

/// Tool-call arguments as an Anthropic `input` object.
pub(super) fn parse_arguments(args: &str) -> Value {
    let trimmed = args.trim();
    if trimmed.is_empty() {
        return serde_json::json!({});
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v @ Value::Object(_)) => v,
        _ => serde_json::json!({ INVALID_ARGUMENTS_KEY: args }),
    }
}

/// The Anthropic stop sequence that ended a choice, when the upstream says which (vLLM's
/// `stop_reason`) and it is one the client sent.
pub(super) fn matched_stop(stop_reason: Option<&Value>, ctx: &ResponseContext) -> Option<String> {
    let s = stop_reason?.as_str()?;
    ctx.stop_sequences
        .iter()
        .any(|q| q == s)
        .then(|| s.to_owned())
}

fn body_error(body: &[u8]) -> Option<TranslateError> {
    let (_, message) = switchboard_protocol::error::parse_any(body)?;
    Some(TranslateError::new(
        "error",
        format!("upstream returned an error: {message}"),
    ))
}

/// See [`super::to_anthropic_response`].
pub(super) fn to_anthropic(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    if let Some(e) = body_error(body) {
        return Err(e);
    }
    let c: o::ChatCompletion = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("invalid OpenAI chat completion: {e}")))?;
    let choice = c.choices.into_iter().next().unwrap_or_default();
    let msg = choice.message;

    let mut content = Vec::new();
    let reasoning = msg
        .reasoning_content
        .or(msg.reasoning)
        .filter(|r| !r.is_empty());
    if let (Some(thinking), true) = (reasoning, ctx.thinking) {
        let signature = gateway_signature(thinking.as_bytes());
        content.push(ContentBlock::Thinking(a::ThinkingBlock {
            thinking,
            signature,
        }));
    }
    for text in [msg.content, msg.refusal]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        content.push(ContentBlock::Text(a::TextBlock::new(text)));
    }
    let calls = msg.tool_calls.unwrap_or_default();
    for call in &calls {
        content.push(ContentBlock::ToolUse(a::ToolUseBlock {
            id: if call.id.is_empty() {
                gateway_id("toolu_", &c.id)
            } else {
                call.id.clone()
            },
            name: restore_name(&ctx.tool_names, &call.function.name).to_owned(),
            input: parse_arguments(&call.function.arguments),
            cache_control: None,
        }));
    }

    let stop_sequence = matched_stop(choice.stop_reason.as_ref(), ctx);
    let stop_reason = if !calls.is_empty() {
        "tool_use"
    } else if stop_sequence.is_some() {
        "stop_sequence"
    } else {
        choice
            .finish_reason
            .as_deref()
            .map_or("end_turn", stop_reason_from_openai)
    };
    let usage = c.usage.as_ref().map(usage_from_openai).unwrap_or_default();
    let out = a::MessagesResponse {
        id: message_id(&c.id),
        kind: "message".into(),
        role: "assistant".into(),
        model: if ctx.requested_model.is_empty() {
            c.model.clone()
        } else {
            ctx.requested_model.clone()
        },
        content,
        stop_reason: Some(stop_reason.into()),
        stop_sequence,
        usage: a::Usage::from(&usage),
    };
    let summary = Summary {
        usage,
        stop_reason: Some(stop_reason.into()),
        model: (!c.model.is_empty()).then_some(c.model),
        error: None,
        complete: true,
    };
    let body = serde_json::to_vec(&out).map_err(|e| TranslateError::new("", e.to_string()))?;
    Ok((body, summary))
}

/// An Anthropic message id for an upstream completion id.
pub(super) fn message_id(upstream: &str) -> String {
    if upstream.is_empty() {
        gateway_id("msg_", "")
    } else if upstream.starts_with("msg_") {
        upstream.to_owned()
    } else {
        format!("msg_{upstream}")
    }
}

/// An OpenAI completion id for an upstream message id.
pub(super) fn completion_id(upstream: &str) -> String {
    if upstream.is_empty() {
        gateway_id("chatcmpl-", "")
    } else {
        format!("chatcmpl-{upstream}")
    }
}

/// See [`super::from_anthropic_response`].
pub(super) fn from_anthropic(
    body: &[u8],
    ctx: &ResponseContext,
) -> Result<(Vec<u8>, Summary), TranslateError> {
    if let Some(e) = body_error(body) {
        return Err(e);
    }
    let m: a::MessagesResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::new("", format!("invalid Anthropic message: {e}")))?;
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    let mut calls = Vec::new();
    for block in &m.content {
        match block {
            ContentBlock::Text(t) => texts.push(t.text.as_str()),
            ContentBlock::Thinking(t) => reasoning.push(t.thinking.as_str()),
            ContentBlock::ToolUse(t) => calls.push(o::ToolCall {
                id: t.id.clone(),
                kind: "function".into(),
                function: o::FunctionCall {
                    name: restore_name(&ctx.tool_names, &t.name).to_owned(),
                    arguments: if t.input.is_null() {
                        "{}".into()
                    } else {
                        t.input.to_string()
                    },
                },
            }),
            _ => {}
        }
    }
    let text = texts.join("");
    let stop_reason = m.stop_reason.clone().unwrap_or_else(|| "end_turn".into());
    let finish_reason = if calls.is_empty() {
        finish_reason_from_anthropic(&stop_reason)
    } else {
        "tool_calls"
    };
    let usage = switchboard_protocol::Usage::from(&m.usage);
    let out = o::ChatCompletion {
        id: completion_id(&m.id),
        object: "chat.completion".into(),
        created: unix_now(),
        model: if ctx.requested_model.is_empty() {
            m.model.clone()
        } else {
            ctx.requested_model.clone()
        },
        choices: vec![o::Choice {
            index: 0,
            message: o::ResponseMessage {
                role: "assistant".into(),
                content: (!text.is_empty() || calls.is_empty()).then_some(text),
                reasoning_content: (!reasoning.is_empty()).then(|| reasoning.join("")),
                reasoning: None,
                tool_calls: (!calls.is_empty()).then_some(calls),
                refusal: None,
            },
            finish_reason: Some(finish_reason.into()),
            stop_reason: None,
        }],
        usage: Some(usage_to_openai(&usage)),
        system_fingerprint: None,
    };
    let summary = Summary {
        usage,
        stop_reason: Some(stop_reason),
        model: (!m.model.is_empty()).then_some(m.model),
        error: None,
        complete: true,
    };
    let body = serde_json::to_vec(&out).map_err(|e| TranslateError::new("", e.to_string()))?;
    Ok((body, summary))
}
