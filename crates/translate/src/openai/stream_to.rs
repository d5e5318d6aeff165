//! OpenAI `chat.completion.chunk` stream → Anthropic Messages events (protocol-notes §4).
//!
//! Invariants of the output, whatever the upstream sends: at most one `message_start`, and it
//! comes first (unless the stream is only an `error`); blocks open and close one at a time with
//! strictly increasing indices; it ends with `message_delta` + `message_stop`, or with `error`
//! after every open block was closed.

use switchboard_protocol::anthropic::{self as a, ContentBlock, Delta, StreamEvent};
use switchboard_protocol::error::{ErrorKind, parse_any};
use switchboard_protocol::observe::Summary;
use switchboard_protocol::{Usage, openai as o, sse};

use crate::common::{SignatureHasher, gateway_id, stop_reason_from_openai, usage_from_openai};
use crate::tools::restore_name;
use crate::{ResponseContext, StreamTranslator};

use super::response::{matched_stop, message_id};

/// The block currently open on the client side.
#[derive(Debug)]
enum Open {
    Thinking(SignatureHasher),
    Text,
    /// A tool call, by its position in `tools`.
    Tool(usize),
}

#[derive(Debug, PartialEq, Eq)]
enum ToolState {
    /// Seen, but its name hasn't arrived yet: arguments are buffered.
    Pending,
    Open,
    Closed,
}

#[derive(Debug)]
struct ToolSlot {
    /// The upstream's `tool_calls[].index`.
    index: u32,
    id: Option<String>,
    name: Option<String>,
    /// Arguments not yet forwarded (while pending).
    buffered: String,
    /// Whether any non-empty arguments fragment was forwarded.
    sent_args: bool,
    state: ToolState,
}

/// OpenAI chunks → Anthropic events.
#[derive(Debug)]
pub struct ToAnthropicStream {
    ctx: ResponseContext,
    summary: Summary,
    started: bool,
    done: bool,
    msg_id: String,
    next_index: u32,
    open: Option<Open>,
    tools: Vec<ToolSlot>,
    finish_reason: Option<String>,
    stop_sequence: Option<String>,
    usage: Usage,
    /// Arguments arrived for a tool block already closed (interleaved parallel calls): they can't
    /// be forwarded in order, so the stream ends with an error instead of a wrong input.
    late_arguments: bool,
}

impl ToAnthropicStream {
    /// A translator for one response; `ctx` comes from the request's translation.
    #[must_use]
    pub fn new(ctx: ResponseContext) -> Self {
        Self {
            ctx,
            summary: Summary::default(),
            started: false,
            done: false,
            msg_id: String::new(),
            next_index: 0,
            open: None,
            tools: Vec::new(),
            finish_reason: None,
            stop_sequence: None,
            usage: Usage::default(),
            late_arguments: false,
        }
    }

    fn emit(out: &mut Vec<sse::Event>, ev: &StreamEvent) {
        out.push(ev.to_sse());
    }

    fn ensure_started(&mut self, chunk_id: &str, model: &str, out: &mut Vec<sse::Event>) {
        if self.started {
            return;
        }
        self.started = true;
        self.msg_id = message_id(chunk_id);
        let model = if self.ctx.requested_model.is_empty() {
            model.to_owned()
        } else {
            self.ctx.requested_model.clone()
        };
        let mut usage = a::Usage::from(&self.usage);
        // The real API always sends the `cache_creation` breakdown; clients check the shape
        // (litellm#24176).
        usage.cache_creation = Some(
            serde_json::json!({"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}),
        );
        let message = a::MessagesResponse {
            id: self.msg_id.clone(),
            kind: "message".into(),
            role: "assistant".into(),
            model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage,
        };
        Self::emit(out, &StreamEvent::MessageStart { message });
    }

    fn start_block(&mut self, block: ContentBlock, out: &mut Vec<sse::Event>) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        Self::emit(
            out,
            &StreamEvent::ContentBlockStart {
                index,
                content_block: block,
            },
        );
        index
    }

    fn delta(&self, delta: Delta, out: &mut Vec<sse::Event>) {
        let index = self.next_index.saturating_sub(1);
        Self::emit(out, &StreamEvent::ContentBlockDelta { index, delta });
    }

    fn close_open(&mut self, out: &mut Vec<sse::Event>) {
        let Some(open) = self.open.take() else { return };
        match open {
            Open::Thinking(hasher) => {
                self.delta(
                    Delta::SignatureDelta {
                        signature: hasher.finish(),
                    },
                    out,
                );
            }
            Open::Text => {}
            Open::Tool(slot) => {
                if let Some(t) = self.tools.get_mut(slot) {
                    t.state = ToolState::Closed;
                    if !t.sent_args {
                        // A call without arguments still needs a JSON document.
                        self.delta(
                            Delta::InputJsonDelta {
                                partial_json: "{}".into(),
                            },
                            out,
                        );
                    }
                }
            }
        }
        let index = self.next_index.saturating_sub(1);
        Self::emit(out, &StreamEvent::ContentBlockStop { index });
    }

    fn thinking(&mut self, text: &str, out: &mut Vec<sse::Event>) {
        if !matches!(self.open, Some(Open::Thinking(_))) {
            self.close_open(out);
            let block = ContentBlock::Thinking(a::ThinkingBlock::default());
            self.start_block(block, out);
            self.open = Some(Open::Thinking(SignatureHasher::default()));
        }
        if let Some(Open::Thinking(h)) = &mut self.open {
            h.update(text);
        }
        self.delta(
            Delta::ThinkingDelta {
                thinking: text.to_owned(),
            },
            out,
        );
    }

    fn text(&mut self, text: &str, out: &mut Vec<sse::Event>) {
        if !matches!(self.open, Some(Open::Text)) {
            self.close_open(out);
            self.start_block(ContentBlock::Text(a::TextBlock::new("")), out);
            self.open = Some(Open::Text);
        }
        self.delta(
            Delta::TextDelta {
                text: text.to_owned(),
            },
            out,
        );
    }

    fn tool_fragment(&mut self, tc: &o::ToolCallDelta, out: &mut Vec<sse::Event>) {
        let slot = match self.tools.iter().position(|t| t.index == tc.index) {
            Some(s) => s,
            None => {
                self.tools.push(ToolSlot {
                    index: tc.index,
                    id: None,
                    name: None,
                    buffered: String::new(),
                    sent_args: false,
                    state: ToolState::Pending,
                });
                self.tools.len() - 1
            }
        };
        let function = tc.function.clone().unwrap_or_default();
        let args = function.arguments.unwrap_or_default();
        let Some(t) = self.tools.get_mut(slot) else {
            return;
        };
        if t.id.is_none() {
            t.id = tc.id.clone().filter(|i| !i.is_empty());
        }
        if t.name.is_none() {
            t.name = function.name.filter(|n| !n.is_empty());
        }
        match t.state {
            ToolState::Pending => {
                t.buffered.push_str(&args);
                if t.name.is_some() {
                    self.open_tool(slot, out);
                }
            }
            ToolState::Open => {
                if !args.is_empty() {
                    t.sent_args = true;
                    self.delta(Delta::InputJsonDelta { partial_json: args }, out);
                }
            }
            ToolState::Closed => {
                if !args.is_empty() {
                    self.late_arguments = true;
                }
            }
        }
    }

    fn open_tool(&mut self, slot: usize, out: &mut Vec<sse::Event>) {
        self.close_open(out);
        let seed = self.msg_id.clone();
        let Some(t) = self.tools.get_mut(slot) else {
            return;
        };
        let id =
            t.id.get_or_insert_with(|| gateway_id("toolu_", &seed))
                .clone();
        let upstream_name = t.name.clone().unwrap_or_else(|| "unknown".into());
        let name = restore_name(&self.ctx.tool_names, &upstream_name).to_owned();
        let buffered = std::mem::take(&mut t.buffered);
        t.state = ToolState::Open;
        t.sent_args = !buffered.is_empty();
        let block = ContentBlock::ToolUse(a::ToolUseBlock {
            id,
            name,
            input: serde_json::json!({}),
            cache_control: None,
        });
        self.start_block(block, out);
        self.open = Some(Open::Tool(slot));
        if !buffered.is_empty() {
            self.delta(
                Delta::InputJsonDelta {
                    partial_json: buffered,
                },
                out,
            );
        }
    }

    fn error(&mut self, kind: ErrorKind, message: String, out: &mut Vec<sse::Event>) {
        self.close_open(out);
        let error = a::ErrorBody {
            kind: kind.anthropic_type().into(),
            message: message.clone(),
            extra: serde_json::Map::new(),
        };
        Self::emit(out, &StreamEvent::Error { error });
        self.summary.error = Some(message);
        self.done = true;
    }

    fn close_normally(&mut self, out: &mut Vec<sse::Event>) {
        if !self.started {
            self.ensure_started("", "", out);
        }
        // Calls whose name never arrived are still forwarded rather than lost.
        for slot in 0..self.tools.len() {
            if self
                .tools
                .get(slot)
                .is_some_and(|t| t.state == ToolState::Pending)
            {
                self.open_tool(slot, out);
            }
        }
        self.close_open(out);
        if self.late_arguments {
            let msg = "upstream interleaved the arguments of parallel tool calls; they cannot be streamed in order";
            self.error(ErrorKind::Api, msg.into(), out);
            return;
        }
        let stop_reason = if !self.tools.is_empty() {
            "tool_use"
        } else if self.stop_sequence.is_some() {
            "stop_sequence"
        } else {
            self.finish_reason
                .as_deref()
                .map_or("end_turn", stop_reason_from_openai)
        };
        let stop_sequence = if stop_reason == "stop_sequence" {
            self.stop_sequence.clone()
        } else {
            None
        };
        let delta = a::MessageDeltaBody {
            stop_reason: Some(stop_reason.into()),
            stop_sequence,
            extra: serde_json::Map::new(),
        };
        Self::emit(
            out,
            &StreamEvent::MessageDelta {
                delta,
                usage: Some(a::Usage::from(&self.usage)),
            },
        );
        Self::emit(out, &StreamEvent::MessageStop);
        self.summary.stop_reason = Some(stop_reason.into());
        self.summary.complete = true;
        self.done = true;
    }

    fn chunk(&mut self, c: o::ChatCompletionChunk, out: &mut Vec<sse::Event>) {
        if let Some(err) = &c.error {
            let body = serde_json::json!({ "error": err }).to_string();
            let (kind, message) = parse_any(body.as_bytes()).unwrap_or((None, err.to_string()));
            self.error(kind.unwrap_or(ErrorKind::Api), message, out);
            return;
        }
        if let Some(u) = &c.usage {
            self.usage = usage_from_openai(u);
            self.summary.usage = self.usage;
        }
        if !c.model.is_empty() && self.summary.model.is_none() {
            self.summary.model = Some(c.model.clone());
        }
        self.ensure_started(&c.id, &c.model, out);
        // Only the first choice is relayed (Anthropic has no `n`).
        for choice in c.choices.into_iter().filter(|ch| ch.index == 0) {
            let d = choice.delta;
            let reasoning = d
                .reasoning_content
                .or(d.reasoning)
                .filter(|r| !r.is_empty());
            if let Some(r) = reasoning.filter(|_| self.ctx.thinking) {
                self.thinking(&r, out);
            }
            for text in [d.content, d.refusal]
                .into_iter()
                .flatten()
                .filter(|t| !t.is_empty())
            {
                self.text(&text, out);
            }
            for tc in d.tool_calls.iter().flatten() {
                self.tool_fragment(tc, out);
            }
            if let Some(fr) = choice.finish_reason {
                self.finish_reason = Some(fr);
                self.stop_sequence = matched_stop(choice.stop_reason.as_ref(), &self.ctx);
            }
        }
    }
}

impl StreamTranslator for ToAnthropicStream {
    fn push(&mut self, ev: &sse::Event, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        if data == "[DONE]" {
            self.close_normally(out);
            return;
        }
        match serde_json::from_str::<o::ChatCompletionChunk>(data) {
            Ok(c) => self.chunk(c, out),
            Err(e) => self.error(
                ErrorKind::Api,
                format!("upstream sent a malformed chunk: {e}"),
                out,
            ),
        }
    }

    fn finish(&mut self, out: &mut Vec<sse::Event>) {
        if self.done {
            return;
        }
        if self.finish_reason.is_some() {
            // Some servers close without `[DONE]` after the finish chunk.
            self.close_normally(out);
        } else {
            self.error(
                ErrorKind::Api,
                "upstream stream ended without a finish_reason".into(),
                out,
            );
        }
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}
