//! Reading a request body (bounded in size and in how long the client may pause), and the
//! little the proxy reads from it: `model` and `stream`. The body is otherwise forwarded byte for
//! byte; mapping a model splices the new name into the original bytes.

use std::ops::Range;
use std::sync::LazyLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

/// What the proxy needs to know about a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    pub(crate) model: Option<String>,
    pub(crate) stream: bool,
    /// Whether the body has `stream_options` (OpenAI).
    pub(crate) has_stream_options: bool,
    /// Byte range of the `model` value (including its quotes) in the body.
    model_span: Option<Range<usize>>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(borrow, default)]
    stream_options: Option<&'a RawValue>,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("request body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("`model` must be a string")]
    ModelNotString,
}

/// Why a client's body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// No bytes for this long (a stalled or trickling client).
    #[error("request body stalled for {0:?}")]
    Stalled(Duration),
    /// The connection broke or the framing was invalid (the client usually went away).
    #[error("request body could not be read: {0}")]
    Broken(axum::Error),
}

/// Reads a whole request body: at most `limit` bytes, and failing when the client sends nothing
/// for `idle` (each pause is timed on its own; a steady trickle is bounded by `limit`).
pub(crate) async fn read(
    mut body: axum::body::Body,
    limit: usize,
    idle: Duration,
) -> Result<Bytes, ReadError> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(ReadError::Stalled(idle)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(ReadError::Broken(e)),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing the proxy forwards.
        if let Ok(data) = frame.into_data()
            && !data.is_empty()
        {
            len += data.len();
            if len > limit {
                return Err(ReadError::TooLarge(limit));
            }
            chunks.push(data);
        }
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => {
            let mut out = BytesMut::with_capacity(len);
            for c in &chunks {
                out.extend_from_slice(c);
            }
            out.freeze()
        }
    })
}

impl RequestHead {
    /// The head of a request without a body (`GET /v1/models`).
    pub(crate) fn empty() -> Self {
        Self {
            model: None,
            stream: false,
            has_stream_options: false,
            model_span: None,
        }
    }

    /// Reads `model` and `stream` from the top level of a JSON object. Other fields are skipped
    /// without being materialised.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let head: Head<'_> = serde_json::from_slice(body)?;
        let (model, model_span) = match head.model {
            Some(raw) => {
                let model: String =
                    serde_json::from_str(raw.get()).map_err(|_| BodyError::ModelNotString)?;
                let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
                (Some(model), Some(start..start + raw.get().len()))
            }
            None => (None, None),
        };
        Ok(Self {
            model,
            stream: head.stream.unwrap_or(false),
            has_stream_options: head.stream_options.is_some(),
            model_span,
        })
    }

    /// The body with `model` replaced by `new_model`; every other byte is unchanged.
    pub(crate) fn with_model(&self, body: &Bytes, new_model: &str) -> Bytes {
        let Some(span) = &self.model_span else {
            return body.clone();
        };
        if self.model.as_deref() == Some(new_model) {
            return body.clone();
        }
        let quoted =
            serde_json::to_string(new_model).unwrap_or_else(|_| format!("\"{new_model}\""));
        let mut out = BytesMut::with_capacity(body.len() + quoted.len());
        out.extend_from_slice(&body[..span.start]);
        out.extend_from_slice(quoted.as_bytes());
        out.extend_from_slice(&body[span.end..]);
        out.freeze()
    }
}

/// Adds `"stream_options":{"include_usage":true}` to an OpenAI streaming request that has no
/// `stream_options`, so the upstream reports usage (spliced in after the opening brace).
pub(crate) fn with_include_usage(body: &Bytes) -> Bytes {
    let Some(open) = body.iter().position(|b| *b == b'{') else {
        return body.clone();
    };
    let rest = &body[open + 1..];
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let insert: &[u8] = if empty {
        br#""stream_options":{"include_usage":true}"#
    } else {
        br#""stream_options":{"include_usage":true},"#
    };
    let mut out = BytesMut::with_capacity(body.len() + insert.len());
    out.extend_from_slice(&body[..=open]);
    out.extend_from_slice(insert);
    out.extend_from_slice(rest);
    out.freeze()
}

/// Removes `thinking` and `redacted_thinking` blocks from assistant turns (the repair for an
/// upstream that rejects a signature it didn't issue). This path re-serialises the body; it runs
/// only after such a rejection.
pub(crate) fn strip_thinking(body: &[u8]) -> Option<Bytes> {
    strip_thinking_where(body, |_| true)
}

/// Removes only the thinking blocks whose signature this gateway made (reasoning relayed from an
/// OpenAI-compatible or Gemini endpoint earlier in the conversation): Anthropic would reject them.
/// The body is scanned for the signature markers first; it is re-serialised only when one is
/// present, so ordinary requests pass untouched.
pub(crate) fn strip_gateway_thinking(body: &[u8]) -> Option<Bytes> {
    // Runs on every Anthropic passthrough request: the searchers are built once.
    static MARKERS: LazyLock<Vec<memmem::Finder<'static>>> = LazyLock::new(|| {
        switchboard_translate::GATEWAY_SIGNATURE_PREFIXES
            .iter()
            .map(|p| memmem::Finder::new(format!("\"{p}").as_bytes()).into_owned())
            .collect()
    });
    let marked = MARKERS.iter().any(|f| f.find(body).is_some());
    if !marked {
        return None;
    }
    strip_thinking_where(body, |b| {
        b.get("signature")
            .and_then(|s| s.as_str())
            .is_some_and(switchboard_translate::is_gateway_signature)
    })
}

fn strip_thinking_where(body: &[u8], strip: impl Fn(&serde_json::Value) -> bool) -> Option<Bytes> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let messages = v.get_mut("messages")?.as_array_mut()?;
    let mut removed = 0;
    for m in messages.iter_mut() {
        if m.get("role").and_then(|r| r.as_str()) != Some("assistant") {
            continue;
        }
        if let Some(blocks) = m.get_mut("content").and_then(|c| c.as_array_mut()) {
            let before = blocks.len();
            blocks.retain(|b| {
                let thinking = matches!(
                    b.get("type").and_then(|t| t.as_str()),
                    Some("thinking" | "redacted_thinking")
                );
                !(thinking && strip(b))
            });
            removed += before - blocks.len();
            if blocks.is_empty() {
                blocks.push(serde_json::json!({"type": "text", "text": "(thinking omitted)"}));
            }
        }
    }
    if removed == 0 {
        return None;
    }
    serde_json::to_vec(&v).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_model_bytes() {
        let body = Bytes::from_static(br#"{"max_tokens": 5, "model" : "claude-opus-5-5", "stream":true, "x":{"model":"inner"}}"#);
        let head = RequestHead::parse(&body).expect("parse");
        assert_eq!(head.model.as_deref(), Some("claude-opus-5-5"));
        assert!(head.stream);
        let out = head.with_model(&body, "deep\"seek");
        assert_eq!(
            &out[..],
            br#"{"max_tokens": 5, "model" : "deep\"seek", "stream":true, "x":{"model":"inner"}}"#
        );
    }

    #[test]
    fn missing_model_and_bad_json_are_reported() {
        let head = RequestHead::parse(br#"{"messages":[]}"#).expect("parse");
        assert_eq!(head.model, None);
        assert!(!head.stream);
        assert!(RequestHead::parse(b"{not json").is_err());
        assert!(matches!(
            RequestHead::parse(br#"{"model": 3}"#),
            Err(BodyError::ModelNotString)
        ));
    }

    #[test]
    fn strips_only_gateway_made_thinking() {
        let body = br#"{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"a","signature":"sb1:abc"},{"type":"thinking","thinking":"b","signature":"EqQBreal"},{"type":"text","text":"t"}]}]}"#;
        let out = strip_gateway_thinking(body).expect("stripped");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["messages"][0]["content"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(v["messages"][0]["content"][0]["signature"], "EqQBreal");
        assert!(strip_gateway_thinking(br#"{"messages":[{"role":"assistant","content":[{"type":"thinking","signature":"EqQB"}]}]}"#).is_none());
    }

    #[test]
    fn include_usage_is_spliced_in() {
        let out = with_include_usage(&Bytes::from_static(br#" {"model":"m","stream":true}"#));
        assert_eq!(
            &out[..],
            br#" {"stream_options":{"include_usage":true},"model":"m","stream":true}"#
        );
        let v: serde_json::Value =
            serde_json::from_slice(&with_include_usage(&Bytes::from_static(b"{ }"))).expect("json");
        assert_eq!(v["stream_options"]["include_usage"], true);
    }

    #[test]
    fn strips_thinking_blocks_from_assistant_turns() {
        let body = br#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"s"},{"type":"text","text":"hello"}]}]}"#;
        let out = strip_thinking(body).expect("stripped");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["messages"][1]["content"],
            serde_json::json!([{"type":"text","text":"hello"}])
        );
        assert!(strip_thinking(br#"{"messages":[]}"#).is_none());
    }
}
