//! Requests the dashboard sends through the data plane (`Control::inject`): a replay of a
//! logged request (`POST /api/admin/requests/{id}/replay`) and an endpoint's connection test
//! (`POST /api/admin/endpoints/{name}/test`). Both are logged like any request (a replay with
//! `replay_of`), and both answer with what a person compares: status, text, stop reason,
//! tokens, cost, time to first token, latency, error.
//!
//! Credentials: an endpoint's own key is used as configured. A pass-through endpoint uses the
//! client's credential, which the log never stores (audit masks it): the caller may give one
//! as `api_key`, used for this one request and never stored; without one, such an endpoint is
//! refused with that explanation.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt as _;
use http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_gateway::{InjectError, Injection};
use switchboard_protocol::Dialect;
use switchboard_store::{AuditKind, LogRecord};
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use crate::AdminState;
use crate::api::has_content;
use crate::error::ApiError;

/// Most of an answer's body kept for its text (the rest is read and dropped).
const MAX_BODY: usize = 16 << 20;
/// The prompt of a connection test.
const TEST_PROMPT: &str = "Reply with OK";
/// The model a test asks for when the endpoint maps none and the caller names none.
const TEST_MODEL: &str = "claude-haiku-4-5";

impl From<InjectError> for ApiError {
    fn from(e: InjectError) -> Self {
        match e {
            InjectError::UnknownEndpoint(_) => Self::NotFound(e.to_string()),
            InjectError::Dialect(_) => Self::BadRequest(e.to_string()),
        }
    }
}

/// What came back, read from a response in the client's dialect.
#[derive(Debug, Default)]
struct Answer {
    status: u16,
    text: Option<String>,
    stop_reason: Option<String>,
    model: Option<String>,
    error: Option<String>,
    /// Since the request was sent, when the first content arrived.
    ttft_ms: Option<u64>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads `resp` to its end (so its log record completes), noting when content first came.
async fn read(resp: Response, sent: Instant) -> Answer {
    let status = resp.status().as_u16();
    let mut stream = resp.into_body().into_data_stream();
    let mut body = Vec::new();
    let mut first = None;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        if first.is_none() && has_content(&String::from_utf8_lossy(&chunk)) {
            first = Some(millis(sent.elapsed()));
        }
        if body.len() + chunk.len() <= MAX_BODY {
            body.extend_from_slice(&chunk);
        }
    }
    let mut a = parse(&body);
    a.status = status;
    a.ttft_ms = first;
    a
}

/// The text, stop reason, model and error of a body: a whole JSON answer or an SSE stream, in
/// the Anthropic or the OpenAI dialect.
fn parse(body: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(body);
    let mut a = Answer::default();
    let mut out = String::new();
    let mut absorb = |v: &Value, a: &mut Answer| {
        if let Some(e) = v.get("error") {
            a.error = e
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some(e.to_string()));
        }
        let model = v
            .get("model")
            .or_else(|| v.pointer("/message/model"))
            .and_then(Value::as_str);
        if let Some(m) = model {
            a.model = Some(m.to_owned());
        }
        // Anthropic.
        if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(blocks) = v.get("content").and_then(Value::as_array) {
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                }
            }
        }
        let stop = v
            .get("stop_reason")
            .or_else(|| v.pointer("/delta/stop_reason"))
            .and_then(Value::as_str);
        if let Some(s) = stop {
            a.stop_reason = Some(s.to_owned());
        }
        // OpenAI.
        if let Some(choice) = v.pointer("/choices/0") {
            let t = choice
                .pointer("/delta/content")
                .or_else(|| choice.pointer("/message/content"))
                .and_then(Value::as_str);
            if let Some(t) = t {
                out.push_str(t);
            }
            if let Some(s) = choice.get("finish_reason").and_then(Value::as_str) {
                a.stop_reason = Some(s.to_owned());
            }
        }
    };
    let sse = text.trim_start().starts_with("event:") || text.trim_start().starts_with("data:");
    if sse {
        for line in text.lines() {
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(v) = serde_json::from_str::<Value>(data.trim())
            {
                absorb(&v, &mut a);
            }
        }
    } else if let Ok(v) = serde_json::from_slice::<Value>(body) {
        absorb(&v, &mut a);
    } else if !text.trim().is_empty() {
        a.error = Some(text.chars().take(500).collect());
    }
    a.text = (!out.is_empty()).then_some(out);
    a
}

/// The side-by-side fields of one request.
fn summary(id: Uuid, r: Option<&LogRecord>, a: &Answer, endpoint: Option<&str>) -> Value {
    json!({
        "request_id": id,
        "status": r.map_or(a.status, |r| r.status),
        "endpoint": r.and_then(|r| r.endpoint.clone()).or(endpoint.map(str::to_owned)),
        "model": r.and_then(|r| r.routed_model.clone()).or(a.model.clone()),
        "text": a.text,
        "stop_reason": a.stop_reason.clone().or(r.and_then(|r| r.stop_reason.clone())),
        "input_tokens": r.map(|r| r.input_tokens),
        "output_tokens": r.map(|r| r.output_tokens),
        "cache_creation_input_tokens": r.map(|r| r.cache_creation_input_tokens),
        "cache_read_input_tokens": r.map(|r| r.cache_read_input_tokens),
        "cost_usd": r.and_then(|r| r.cost_usd),
        "ttft_ms": a.ttft_ms.or(r.and_then(|r| r.ttfb_ms)),
        "latency_ms": r.map(|r| r.latency_ms),
        "error": a.error.clone().or(r.and_then(|r| r.error.clone())),
    })
}

/// Sends `inj` and reads the answer; the log record comes with it (bounded wait: it is
/// handed over as the response ends).
async fn send(
    state: &AdminState,
    inj: Injection,
) -> Result<(Uuid, Answer, Option<LogRecord>, u64), ApiError> {
    let sent = Instant::now();
    let injected = state.control().inject(inj).await?;
    let id = injected
        .response
        .headers()
        .get("x-switchboard-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(Uuid::nil);
    let answer = read(injected.response, sent).await;
    let latency = millis(sent.elapsed());
    let record = tokio::time::timeout(Duration::from_secs(30), injected.record)
        .await
        .ok()
        .and_then(Result::ok);
    Ok((
        record.as_ref().map_or(id, |r| r.id),
        answer,
        record,
        latency,
    ))
}

/// The credential header a pass-through endpoint gets for this one request.
fn credential(dialect: Dialect, key: &str) -> Result<(header::HeaderName, HeaderValue), ApiError> {
    let (name, value) = match dialect {
        Dialect::OpenAiChat => (header::AUTHORIZATION, format!("Bearer {key}")),
        _ => (header::HeaderName::from_static("x-api-key"), key.to_owned()),
    };
    let mut v = HeaderValue::try_from(value)
        .map_err(|_| ApiError::BadRequest("api_key: not a valid header value".into()))?;
    v.set_sensitive(true);
    Ok((name, v))
}

fn pass_through_refusal(endpoint: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "the endpoint {endpoint:?} passes the client's own credential through, and the log never stores a client's credential (audit masks it): send one as {{\"api_key\"}} to use for this request only (it is not stored), or choose an endpoint with its own key"
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct TestForm {
    api_key: Option<String>,
    model: Option<String>,
}

/// `POST /api/admin/endpoints/{name}/test` `{"api_key"?, "model"?}`: a real minimal request
/// (`max_tokens` 16, "Reply with OK") through the endpoint alone — its mapping, translation and
/// own key; the given `api_key` for a pass-through endpoint — tried once, without putting the
/// endpoint in cooldown.
pub(crate) async fn test(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    form: Option<Json<TestForm>>,
) -> Result<Json<Value>, ApiError> {
    let Json(form) = form.unwrap_or_default();
    let live = state.control().live();
    let cfg = live
        .config
        .endpoints
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no endpoint named {name:?}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_static("switchboard-dashboard (test connection)"),
    );
    if cfg.api_key.is_none() {
        let key = form
            .api_key
            .as_deref()
            .ok_or_else(|| pass_through_refusal(&name))?;
        let (n, v) = credential(Dialect::Anthropic, key)?;
        headers.insert(n, v);
    }
    let model = form.model.unwrap_or_else(|| {
        cfg.models
            .rules
            .iter()
            .map(|r| r.target.clone())
            .find(|t| !switchboard_config::is_model_pattern(t))
            .unwrap_or_else(|| TEST_MODEL.to_owned())
    });
    let body = json!({
        "model": model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": TEST_PROMPT}],
    });
    let inj = Injection {
        dialect: Dialect::Anthropic,
        body: Bytes::from(body.to_string()),
        headers,
        endpoint: Some(name.clone()),
        replay_of: None,
    };
    let (id, a, record, latency) = send(&state, inj).await?;
    let error = a
        .error
        .clone()
        .or_else(|| record.as_ref().and_then(|r| r.error.clone()));
    // The upstream's own status (the client would have seen 529 for a 500 that exhausted the
    // one endpoint), else the answer's.
    let status = record
        .as_ref()
        .and_then(|r| r.attempts.last())
        .and_then(|at| at.status)
        .unwrap_or(a.status);
    Ok(Json(json!({
        "ok": (200..300).contains(&a.status) && error.is_none(),
        "status": status,
        "latency_ms": record.as_ref().map_or(latency, |r| r.latency_ms),
        "model": record.as_ref().and_then(|r| r.routed_model.clone()).or(a.model),
        "text": a.text,
        "error": error,
        "request_id": id,
    })))
}

#[derive(Deserialize, Default)]
pub(crate) struct ReplayForm {
    endpoint: Option<String>,
    api_key: Option<String>,
}

/// Client headers a replay sends again (the rest — credentials above all — are not replayed).
const REPLAYED_HEADERS: &[&str] = &["anthropic-version", "anthropic-beta", "content-type"];

/// `POST /api/admin/requests/{id}/replay` `{"endpoint": name|null, "api_key"?}`: sends the
/// logged client request again (its audited body) to `endpoint` (once, whatever its health) or
/// through the usual routing, logged with `replay_of`, and answers both requests side by side.
pub(crate) async fn replay(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    form: Result<Json<ReplayForm>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = match form {
        Ok(Json(f)) => f,
        Err(JsonRejection::MissingJsonContentType(_)) => ReplayForm::default(),
        Err(e) => {
            return Err(ApiError::BadRequest(format!(
                "expected {{\"endpoint\": name or null}}: {}",
                e.body_text()
            )));
        }
    };
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad("id", format!("not a request id (a UUID): {id:?}")))?;
    let store = state.store();
    let original = store
        .get(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no request with id {id}")))?;
    let dialect = match (original.client_dialect.as_str(), original.path.as_str()) {
        ("anthropic", "/v1/messages") => Dialect::Anthropic,
        ("openai", "/v1/chat/completions" | "/chat/completions") => Dialect::OpenAiChat,
        (_, path) => {
            return Err(ApiError::BadRequest(format!(
                "only messages and chat completions can be replayed, not {path}"
            )));
        }
    };
    let audit = store.get_audit(id).await?;
    let asked = audit.iter().find(|e| e.kind == AuditKind::ClientRequest);
    let Some(asked) = asked.filter(|e| !e.body_bytes().is_empty()) else {
        return Err(ApiError::Conflict(format!(
            "request {id} has no audited request body to send again: audit was off for it, or its audit data has expired ([audit] retention)"
        )));
    };
    if asked.truncated {
        return Err(ApiError::Conflict(format!(
            "request {id}'s audited body was cut at [audit] max_request_bytes: it cannot be sent again as it was"
        )));
    }
    let live = state.control().live();
    match &form.endpoint {
        Some(name) => {
            let cfg = live
                .config
                .endpoints
                .iter()
                .find(|e| &e.name == name)
                .ok_or_else(|| ApiError::NotFound(format!("no endpoint named {name:?}")))?;
            if cfg.api_key.is_none() && form.api_key.is_none() {
                return Err(pass_through_refusal(name));
            }
        }
        None => {
            if form.api_key.is_none()
                && let Some(e) = live
                    .config
                    .endpoints
                    .iter()
                    .find(|e| e.enabled && e.api_key.is_none())
            {
                return Err(pass_through_refusal(&e.name));
            }
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &asked.headers {
        if REPLAYED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
            && let (Ok(n), Ok(v)) = (
                header::HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            )
        {
            headers.insert(n, v);
        }
    }
    headers
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_static("switchboard-dashboard (replay)"),
    );
    if let Some(key) = &form.api_key {
        let (n, v) = credential(dialect, key)?;
        headers.insert(n, v);
    }
    let inj = Injection {
        dialect,
        body: asked.body_bytes(),
        headers,
        endpoint: form.endpoint.clone(),
        replay_of: Some(id),
    };
    let (new_id, a, record, latency) = send(&state, inj).await?;
    let mut answer = summary(new_id, record.as_ref(), &a, form.endpoint.as_deref());
    if record.is_none() {
        answer["latency_ms"] = json!(latency);
    }
    // The original's answer, from what its audit captured of the client's response.
    let given = audit.iter().find(|e| e.kind == AuditKind::ClientResponse);
    let mut before = given.map_or_else(Answer::default, |e| parse(&e.body_bytes()));
    before.ttft_ms = given.and_then(|e| {
        e.body
            .iter()
            .zip(&e.offsets_ms)
            .find(|(c, _)| has_content(&String::from_utf8_lossy(c)))
            .map(|(_, t)| *t)
    });
    answer["replay_of"] = json!(id);
    answer["original"] = summary(id, Some(&original), &before, None);
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_both_dialects_whole_or_streamed() {
        let a = parse(
            br#"{"model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn"}"#,
        );
        assert_eq!(
            (a.text.as_deref(), a.stop_reason.as_deref()),
            (Some("Hello"), Some("end_turn"))
        );
        let s = parse(
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}\n\n\
              event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"O\"}}\n\n\
              event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"K\"}}\n\n\
              event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"}}\n\n",
        );
        assert_eq!(
            (
                s.text.as_deref(),
                s.stop_reason.as_deref(),
                s.model.as_deref()
            ),
            (Some("OK"), Some("max_tokens"), Some("m"))
        );
        let o = parse(b"data: {\"model\":\"g\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        assert_eq!(
            (o.text.as_deref(), o.stop_reason.as_deref()),
            (Some("Hi"), Some("stop"))
        );
        let e = parse(br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#);
        assert_eq!(e.error.as_deref(), Some("boom"));
    }
}
