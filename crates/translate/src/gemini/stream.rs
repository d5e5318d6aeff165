//! Gemini SSE frames (`data: {GenerateContentResponse}\r\n\r\n`) → Anthropic stream events.
//!
//! Invariants of the output, whatever the input: exactly one `message_start` before any block;
//! blocks opened and closed one at a time with increasing indices; a thinking block always closes
//! with a `signature_delta`; the stream ends with `message_delta` + `message_stop`, or with one
//! `error` event (upstream error frame, malformed function call, or an upstream that stopped
//! without a `finishReason`), after which nothing more is emitted.

use serde_json::{Map, Value, json};
use switchboard_protocol::error::{ErrorKind, parse_any};
use switchboard_protocol::gemini::{FunctionCall, GenerateContentResponse, Part, PartialArg};
use switchboard_protocol::observe::Summary;
use switchboard_protocol::{Usage, sse};

use super::ids::{self, NO_SIGNATURE, SigKind};
use super::stop_reason;
use crate::tools::restore_name;
use crate::{ResponseContext, StreamTranslator};

/// Gemini stream frames → Anthropic events.
#[derive(Debug)]
pub struct ToAnthropicStream {
    ctx: ResponseContext,
    summary: Summary,
    /// `message_start` was sent.
    started: bool,
    /// `message_stop` or `error` was sent: nothing more goes out.
    done: bool,
    open: Option<Open>,
    next_index: u32,
    saw_tool_use: bool,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    prompt_blocked: bool,
    usage: Usage,
    response_id: String,
    calls: u32,
    /// A Vertex function call whose arguments are still streaming in.
    pending: Option<PendingCall>,
    /// Non-streaming use: a missing `finishReason` is an ordinary end and a malformed call becomes
    /// a note rather than an error event.
    whole_body: bool,
}

#[derive(Debug)]
enum Open {
    Text {
        index: u32,
    },
    Thinking {
        index: u32,
        signature: Option<(SigKind, String)>,
    },
}

#[derive(Debug, Default)]
struct PendingCall {
    id: Option<String>,
    name: String,
    args: Value,
    signature: Option<String>,
}

impl ToAnthropicStream {
    #[must_use]
    pub fn new(ctx: ResponseContext) -> Self {
        Self {
            ctx,
            summary: Summary::default(),
            started: false,
            done: false,
            open: None,
            next_index: 0,
            saw_tool_use: false,
            finish_reason: None,
            finish_message: None,
            prompt_blocked: false,
            usage: Usage::default(),
            response_id: String::new(),
            calls: 0,
            pending: None,
            whole_body: false,
        }
    }

    /// For [`super::response`]: treat the input as one complete response.
    pub(crate) fn for_whole_body(ctx: ResponseContext) -> Self {
        Self {
            whole_body: true,
            ..Self::new(ctx)
        }
    }

    /// One parsed JSON value: a response frame, an error, or an array of either.
    pub(crate) fn value(&mut self, v: Value, out: &mut Vec<sse::Event>) {
        match v {
            Value::Array(items) => {
                for item in items {
                    if self.done {
                        break;
                    }
                    self.value(item, out);
                }
            }
            Value::Object(o) if o.contains_key("error") => {
                let (kind, message) = parse_any(Value::Object(o).to_string().as_bytes())
                    .unwrap_or((None, String::new()));
                let message = if message.is_empty() {
                    "Gemini reported an error".to_owned()
                } else {
                    message
                };
                self.error(kind.unwrap_or(ErrorKind::Api), &message, out);
            }
            v @ Value::Object(_) => {
                // A frame that doesn't fit the shape is skipped, like unparsable data.
                if let Ok(frame) = serde_json::from_value::<GenerateContentResponse>(v) {
                    self.frame(frame, out);
                }
            }
            _ => {}
        }
    }

    fn frame(&mut self, r: GenerateContentResponse, out: &mut Vec<sse::Event>) {
        if let Some(u) = &r.usage_metadata {
            self.usage = u.to_usage();
            self.summary.usage = self.usage;
        }
        if let Some(m) = &r.model_version {
            self.summary.model = Some(m.clone());
        }
        if self.response_id.is_empty()
            && let Some(id) = &r.response_id
        {
            self.response_id.clone_from(id);
        }
        if !self.started {
            self.message_start(out);
        }
        if r.candidates.is_empty() {
            if let Some(reason) = r.prompt_feedback.and_then(|f| f.block_reason) {
                self.prompt_blocked = true;
                self.finish_reason = Some(reason);
                self.summary.stop_reason = Some("refusal".to_owned());
            }
            return;
        }
        let Some(candidate) = r.candidates.into_iter().find(|c| c.index.unwrap_or(0) == 0) else {
            return;
        };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            self.part(part, out);
        }
        if let Some(reason) = candidate.finish_reason {
            // Failures (malformed calls) get no stop reason: they end in an error event.
            self.summary.stop_reason =
                stop_reason(&reason, self.saw_tool_use || self.pending.is_some())
                    .map(str::to_owned);
            self.finish_reason = Some(reason);
            self.finish_message = candidate.finish_message;
        }
    }

    fn message_start(&mut self, out: &mut Vec<sse::Event>) {
        self.started = true;
        let id: String = self
            .response_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let id = if id.is_empty() {
            ids::short_hash(&format!("{:?}", self.usage))
        } else {
            id
        };
        let model = if self.ctx.requested_model.is_empty() {
            self.summary.model.clone().unwrap_or_default()
        } else {
            self.ctx.requested_model.clone()
        };
        let usage = usage_json(&Usage {
            output_tokens: 0,
            ..self.usage
        });
        emit(
            out,
            "message_start",
            &json!({
                "type": "message_start",
                "message": {
                    "id": format!("msg_{id}"),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage,
                }
            }),
        );
    }

    fn part(&mut self, p: Part, out: &mut Vec<sse::Event>) {
        if let Some(fc) = p.function_call {
            self.function_call(fc, p.thought_signature, out);
            return;
        }
        self.flush_pending(out);
        let signature = p.thought_signature.filter(|s| !s.is_empty());
        if p.thought == Some(true) {
            let index = self.ensure_thinking(out);
            let text = p.text.unwrap_or_default();
            if !text.is_empty() {
                delta(
                    out,
                    index,
                    json!({"type": "thinking_delta", "thinking": text}),
                );
            }
            if let (
                Some(sig),
                Some(Open::Thinking {
                    signature: slot, ..
                }),
            ) = (signature, self.open.as_mut())
            {
                *slot = Some((SigKind::Thought, sig));
            }
            return;
        }
        let Some(text) = p.text else {
            // inlineData, executableCode, …: nothing an Anthropic client can take.
            return;
        };
        if let Some(sig) = signature {
            // Gemini signs the text that follows its reasoning. The signature rides in a thinking
            // block placed before that text (see `ids`); thoughts still open take it directly.
            match &mut self.open {
                Some(Open::Thinking {
                    signature: slot @ None,
                    ..
                }) => {
                    *slot = Some((SigKind::Text, sig));
                    self.close(out);
                }
                _ if self.ctx.thinking => {
                    self.close(out);
                    self.ensure_thinking(out);
                    if let Some(Open::Thinking {
                        signature: slot, ..
                    }) = self.open.as_mut()
                    {
                        *slot = Some((SigKind::Text, sig));
                    }
                    self.close(out);
                }
                _ => {}
            }
        }
        if text.is_empty() {
            return;
        }
        let index = match self.open {
            Some(Open::Text { index }) => index,
            _ => {
                self.close(out);
                let index = self.open_block(out, &json!({"type": "text", "text": ""}));
                self.open = Some(Open::Text { index });
                index
            }
        };
        delta(out, index, json!({"type": "text_delta", "text": text}));
    }

    fn function_call(
        &mut self,
        fc: FunctionCall,
        signature: Option<String>,
        out: &mut Vec<sse::Event>,
    ) {
        let signature = signature.filter(|s| !s.is_empty());
        let continues = fc.will_continue == Some(true);
        let streamed = continues
            || !fc.partial_args.is_empty()
            || (self.pending.is_some() && fc.name.is_empty() && fc.args.is_none());
        if !streamed {
            self.flush_pending(out);
            let args = fc.args.unwrap_or_else(|| json!({}));
            self.tool_use(fc.id, &fc.name, args, signature, out);
            return;
        }
        // Vertex streamed arguments: a new name starts a new call.
        if self
            .pending
            .as_ref()
            .is_some_and(|p| !fc.name.is_empty() && p.name != fc.name)
        {
            self.flush_pending(out);
        }
        let pending = self.pending.get_or_insert_with(|| PendingCall {
            args: json!({}),
            ..PendingCall::default()
        });
        if !fc.name.is_empty() {
            pending.name = fc.name;
        }
        if fc.id.is_some() {
            pending.id = fc.id;
        }
        if pending.signature.is_none() {
            pending.signature = signature;
        }
        if let (Some(Value::Object(args)), Value::Object(target)) = (fc.args, &mut pending.args) {
            target.extend(args);
        }
        for arg in &fc.partial_args {
            apply_partial_arg(&mut pending.args, arg);
        }
        if !continues {
            self.flush_pending(out);
        }
    }

    fn flush_pending(&mut self, out: &mut Vec<sse::Event>) {
        if let Some(p) = self.pending.take() {
            self.tool_use(p.id, &p.name, p.args, p.signature, out);
        }
    }

    fn tool_use(
        &mut self,
        gemini_id: Option<String>,
        name: &str,
        args: Value,
        signature: Option<String>,
        out: &mut Vec<sse::Event>,
    ) {
        if name.is_empty() {
            // Vertex ends streamed arguments with an empty `functionCall`; a call without a
            // name can't be run anyway.
            return;
        }
        self.close(out);
        let args = match args {
            a @ Value::Object(_) => a,
            Value::Null => json!({}),
            other => json!({ "value": other }),
        };
        let args_json = args.to_string();
        let seed = format!("{}/{}/{}/{}", self.response_id, self.calls, name, args_json);
        self.calls += 1;
        let id = ids::encode_tool_id(gemini_id.as_deref(), signature.as_deref(), &seed);
        let name = restore_name(&self.ctx.tool_names, name).to_owned();
        let index = self.open_block(
            out,
            &json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
        );
        delta(
            out,
            index,
            json!({"type": "input_json_delta", "partial_json": args_json}),
        );
        emit(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
        self.saw_tool_use = true;
    }

    fn ensure_thinking(&mut self, out: &mut Vec<sse::Event>) -> u32 {
        if let Some(Open::Thinking { index, .. }) = self.open {
            return index;
        }
        self.close(out);
        let index = self.open_block(
            out,
            &json!({"type": "thinking", "thinking": "", "signature": ""}),
        );
        self.open = Some(Open::Thinking {
            index,
            signature: None,
        });
        index
    }

    fn open_block(&mut self, out: &mut Vec<sse::Event>, block: &Value) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        emit(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn close(&mut self, out: &mut Vec<sse::Event>) {
        match self.open.take() {
            None => {}
            Some(Open::Text { index }) => {
                emit(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                );
            }
            Some(Open::Thinking { index, signature }) => {
                let sig = signature.map_or_else(
                    || NO_SIGNATURE.to_owned(),
                    |(k, s)| ids::encode_thinking_signature(k, &s),
                );
                delta(
                    out,
                    index,
                    json!({"type": "signature_delta", "signature": sig}),
                );
                emit(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                );
            }
        }
    }

    fn error(&mut self, kind: ErrorKind, message: &str, out: &mut Vec<sse::Event>) {
        self.pending = None;
        self.open = None;
        self.done = true;
        self.summary.error = Some(message.to_owned());
        emit(
            out,
            "error",
            &json!({"type": "error", "error": {"type": kind.anthropic_type(), "message": message}}),
        );
    }
}

impl StreamTranslator for ToAnthropicStream {
    fn push(&mut self, ev: &sse::Event, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        // Unparsable data is skipped: a lost frame is better than a broken stream.
        if let Ok(v) = serde_json::from_str::<Value>(data) {
            self.value(v, out);
        }
    }

    fn finish(&mut self, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        self.flush_pending(out);
        if !self.started {
            self.error(
                ErrorKind::Api,
                "Gemini ended the stream before sending a response",
                out,
            );
            return;
        }
        self.close(out);
        let reason = match (&self.finish_reason, self.prompt_blocked) {
            (_, true) => Some("refusal"),
            (Some(r), false) => stop_reason(r, self.saw_tool_use),
            (None, false) if self.whole_body => stop_reason("STOP", self.saw_tool_use),
            (None, false) => {
                self.error(
                    ErrorKind::Api,
                    "Gemini stream ended without a finishReason",
                    out,
                );
                return;
            }
        };
        let reason = match reason {
            Some(r) => r,
            None => {
                let finish = self.finish_reason.clone().unwrap_or_default();
                let detail = self.finish_message.clone().unwrap_or_default();
                let message = format!("Gemini stopped with {finish}: {detail}");
                if !self.whole_body {
                    self.error(ErrorKind::Api, message.trim_end_matches([':', ' ']), out);
                    return;
                }
                let index = self.open_block(out, &json!({"type": "text", "text": ""}));
                delta(
                    out,
                    index,
                    json!({"type": "text_delta", "text": format!("[{}]", message.trim_end_matches([':', ' ']))}),
                );
                emit(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                );
                self.summary.error = Some(message);
                "end_turn"
            }
        };
        self.summary.stop_reason = Some(reason.to_owned());
        emit(
            out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": null},
                "usage": usage_json(&self.usage),
            }),
        );
        emit(out, "message_stop", &json!({"type": "message_stop"}));
        self.summary.complete = true;
        self.done = true;
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
        "output_tokens": u.output_tokens,
    })
}

fn emit(out: &mut Vec<sse::Event>, name: &str, data: &Value) {
    out.push(sse::Event::new(name, data.to_string()));
}

fn delta(out: &mut Vec<sse::Event>, index: u32, delta: Value) {
    emit(
        out,
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
    );
}

/// A segment of a JSON path: `.name`, `['name']` or `[3]`.
#[derive(Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Parses the RFC 9535 subset Vertex uses (`$.a.b[0]['c']`).
fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let mut rest = path.strip_prefix('$')?;
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            segs.push(Seg::Key(r.get(..end)?.to_owned()));
            rest = r.get(end..)?;
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r.get(..end)?;
            let key = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            segs.push(match key {
                Some(k) => Seg::Key(k.to_owned()),
                None => Seg::Index(inner.trim().parse().ok()?),
            });
            rest = r.get(end + 1..)?;
        } else {
            return None;
        }
    }
    Some(segs)
}

/// Applies one streamed argument: string chunks are appended, other values set.
fn apply_partial_arg(root: &mut Value, arg: &PartialArg) {
    let Some(segs) = parse_path(&arg.json_path) else {
        return;
    };
    let value = if let Some(s) = &arg.string_value {
        Some(Value::String(s.clone()))
    } else if let Some(n) = arg.number_value {
        Some(serde_json::Number::from_f64(n).map_or(Value::Null, |n| {
            // Integral numbers read back as integers.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map_or(Value::Number(n.clone()), |f| json!(f as i64))
        }))
    } else if let Some(b) = arg.bool_value {
        Some(Value::Bool(b))
    } else if arg.null_value.is_some() {
        Some(Value::Null)
    } else {
        None
    };
    let Some(value) = value else {
        return;
    };
    let mut cur = root;
    for seg in &segs {
        cur = match seg {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                match cur {
                    Value::Object(m) => m.entry(k.clone()).or_insert(Value::Null),
                    _ => return,
                }
            }
            Seg::Index(i) => {
                if !cur.is_array() {
                    *cur = Value::Array(Vec::new());
                }
                match cur {
                    Value::Array(a) => {
                        if *i > 10_000 {
                            return;
                        }
                        while a.len() <= *i {
                            a.push(Value::Null);
                        }
                        &mut a[*i]
                    }
                    _ => return,
                }
            }
        };
    }
    match (cur, value) {
        (Value::String(existing), Value::String(chunk)) => existing.push_str(&chunk),
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_parse() {
        assert_eq!(
            parse_path("$.a.b[2]['c d']"),
            Some(vec![
                Seg::Key("a".into()),
                Seg::Key("b".into()),
                Seg::Index(2),
                Seg::Key("c d".into())
            ])
        );
        assert_eq!(parse_path("a.b"), None);
    }

    #[test]
    fn partial_args_assemble() {
        let mut v = json!({});
        let arg = |p: &str, s: &str| PartialArg {
            json_path: p.into(),
            string_value: Some(s.into()),
            ..PartialArg::default()
        };
        apply_partial_arg(&mut v, &arg("$.cmd", "ls "));
        apply_partial_arg(&mut v, &arg("$.cmd", "-la"));
        apply_partial_arg(&mut v, &arg("$.files[1].name", "x"));
        apply_partial_arg(
            &mut v,
            &PartialArg {
                json_path: "$.n".into(),
                number_value: Some(3.0),
                ..PartialArg::default()
            },
        );
        assert_eq!(
            v,
            json!({"cmd": "ls -la", "files": [null, {"name": "x"}], "n": 3})
        );
    }
}
