//! The [`Upstream`] over hyper-util's client ([`crate::client`]): builds each attempt for its own
//! endpoint (URL, credentials, mapped model, translation), sends it, and returns only once the
//! response is committed — a success status and, for streams, the first whole SSE event in hand.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyDataStream, BodyExt, Full};
use hyper::body::Incoming;
use switchboard_protocol::Dialect;
use switchboard_protocol::error::ErrorKind;
use switchboard_protocol::sse::{Decoder, Event, FrameSplitter};
use switchboard_router::{AttemptCtx, FailureKind, Upstream, UpstreamError, parse_retry_after};
use switchboard_store::AuditKind;
use switchboard_translate::{RequestOptions, ResponseContext, translate_request};

use crate::audit;
use crate::body::{RequestHead, strip_gateway_thinking, strip_thinking, with_include_usage};
use crate::body_stream::{BodyStream, GATHER_MAX_BYTES, next_ready};
use crate::client;
use crate::endpoint::{Endpoint, auth_header};
use crate::state::Live;

/// Largest error body kept (it is returned to the client for client errors).
const MAX_ERROR_BODY: usize = 1024 * 1024;
/// Largest non-streaming response body accepted.
const MAX_RESPONSE_BODY: usize = 256 * 1024 * 1024;
/// Largest first event waited for before committing a stream anyway.
const MAX_PEEK: usize = 1024 * 1024;

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Messages,
    CountTokens,
    ChatCompletions,
    Models,
}

/// A client request, read once and replayed for each attempt.
pub(crate) struct Inbound {
    pub(crate) dialect: Dialect,
    pub(crate) op: Op,
    pub(crate) body: Bytes,
    pub(crate) head: RequestHead,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Option<String>,
    /// Headers that carried the gateway's own credentials: never forwarded.
    pub(crate) strip: crate::clients::Strip,
}

/// A committed upstream response.
pub(crate) struct Committed {
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) routed_model: Option<String>,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: CommittedBody,
    /// Set when the response must be translated: (upstream dialect, context).
    pub(crate) translation: Option<(Dialect, ResponseContext)>,
    pub(crate) request_bytes: usize,
}

pub(crate) enum CommittedBody {
    Full(Bytes),
    Stream {
        /// The chunk(s) holding the first event, then those that had arrived with it.
        first: Vec<Bytes>,
        rest: BodyStream,
    },
}

pub(crate) struct HttpUpstream<'a> {
    pub(crate) live: &'a Live,
    /// The request's profile (its model map comes first).
    pub(crate) profile: Option<&'a crate::profile::LiveProfile>,
    pub(crate) inbound: &'a Inbound,
    /// The request's audit capture, when audit is on: each attempt records what it sent and got.
    pub(crate) audit: Option<Arc<audit::Capture>>,
}

/// Hop-by-hop and per-connection headers, never forwarded either way.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    // The gateway's own: which profile routes the request.
    switchboard_config::PROFILE_HEADER,
];

pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

impl Upstream<Arc<Endpoint>> for HttpUpstream<'_> {
    type Response = Committed;

    async fn send(&self, ep: &Arc<Endpoint>, ctx: AttemptCtx) -> Result<Committed, UpstreamError> {
        let inbound = self.inbound;
        let fail = |kind: FailureKind, message: String| UpstreamError {
            endpoint: ep.cfg.name.clone(),
            kind,
            message,
        };
        let routed_model = inbound
            .head
            .model
            .as_deref()
            .map(|m| self.live.map_model(self.profile, ep, m).to_owned());
        let passthrough = ep.kind() == inbound.dialect || inbound.op == Op::Models;

        let mut body = inbound.body.clone();
        let stripped = if ctx.strip_thinking {
            strip_thinking(&body)
        } else if ep.kind() == Dialect::Anthropic && inbound.dialect == Dialect::Anthropic {
            // Thinking relayed from another provider earlier in the conversation carries a
            // signature Anthropic would reject: drop those blocks before they cost a 400.
            strip_gateway_thinking(&body)
        } else {
            None
        };
        let reparse = stripped.is_some();
        if let Some(s) = stripped {
            body = s;
        }
        let (url, body, translation) = if passthrough {
            let head = if reparse {
                RequestHead::parse(&body).ok()
            } else {
                None
            };
            let head = head.as_ref().unwrap_or(&inbound.head);
            let mut body = match &routed_model {
                Some(m) => head.with_model(&body, m),
                None => body,
            };
            if inbound.dialect == Dialect::OpenAiChat && head.stream && !head.has_stream_options {
                body = with_include_usage(&body);
            }
            (self.passthrough_uri(ep), body, None)
        } else {
            if inbound.op != Op::Messages && inbound.op != Op::ChatCompletions {
                return Err(fail(
                    FailureKind::Unsupported,
                    format!("{} endpoints do not serve this call", ep.kind()),
                ));
            }
            let opts = RequestOptions {
                target_model: routed_model.clone().unwrap_or_default(),
                max_output_tokens: ep.cfg.max_output_tokens,
                preset: ep.cfg.preset.clone(),
            };
            let t = translate_request(inbound.dialect, ep.kind(), &body, &opts).map_err(|e| {
                fail(
                    FailureKind::Unsupported,
                    format!("cannot translate request for {}: {e}", ep.kind()),
                )
            })?;
            (
                ep.uri(&t.path),
                Bytes::from(t.body),
                Some((ep.kind(), t.ctx)),
            )
        };
        let url = url.map_err(|e| fail(FailureKind::Protocol, e))?;
        let request_bytes = body.len();
        let headers = self.headers(ep, passthrough);
        let method = if inbound.op == Op::Models {
            Method::GET
        } else {
            Method::POST
        };
        // Audit: what this attempt sends, then what it gets (or why it got nothing).
        let attempt = self.audit.as_deref().map(|a| {
            let n = a.next_attempt();
            let name = Some(ep.cfg.name.as_str());
            let mut e = audit::entry(AuditKind::UpstreamRequest, Some(n), name, None, &headers);
            e.method = Some(method.to_string());
            e.url = Some(audit::masked_url(&url.to_string()));
            a.push(e, (inbound.op != Op::Models).then_some(&body));
            (a, n)
        });
        let answered =
            |status: Option<u16>, h: &HeaderMap, body: Option<&Bytes>, note: Option<&str>| {
                if let Some((a, n)) = attempt {
                    let name = Some(ep.cfg.name.as_str());
                    let mut e = audit::entry(AuditKind::UpstreamResponse, Some(n), name, status, h);
                    e.note = note.map(str::to_owned);
                    a.push(e, body);
                }
            };
        // The body is whole, so hyper sets `content-length`; a GET's is empty, so it sends none.
        let request = |mut headers: HeaderMap| {
            // What reqwest added to every request: `accept: */*` unless the request has one.
            headers
                .entry(header::ACCEPT)
                .or_insert(HeaderValue::from_static("*/*"));
            let mut req = Request::new(if inbound.op == Op::Models {
                Full::default()
            } else {
                Full::new(body.clone())
            });
            // Unless the endpoint's own headers set one.
            if let Some(host) = &ep.host_header {
                headers.entry(header::HOST).or_insert_with(|| host.clone());
            }
            // To an HTTP proxy that forwards the request (an `http` upstream), as reqwest did.
            if let Some(auth) = &ep.route.forward_auth {
                headers.insert(header::PROXY_AUTHORIZATION, auth.clone());
            }
            *req.method_mut() = method.clone();
            *req.uri_mut() = url.clone();
            *req.headers_mut() = headers;
            req
        };

        let routing = &self.live.config.routing;
        let sent = client::send(&ep.route.client, request(headers), || {
            request(self.headers(ep, passthrough))
        });
        let resp = match tokio::time::timeout(routing.first_byte_timeout, sent).await {
            Err(_) => {
                let err = fail(
                    FailureKind::Timeout,
                    format!(
                        "no response within {}s",
                        routing.first_byte_timeout.as_secs()
                    ),
                );
                answered(None, &HeaderMap::new(), None, Some(&err.message));
                return Err(err);
            }
            Ok(Err(e)) => {
                let err = network_failure(&ep.cfg.name, &url, &e);
                answered(None, &HeaderMap::new(), None, Some(&err.message));
                return Err(err);
            }
            Ok(Ok(r)) => r,
        };
        let (head, resp) = resp.into_parts();
        let status = head.status;
        let headers = head.headers;
        if !status.is_success() {
            let retry_after = retry_after(&headers);
            let body = read_capped(resp, MAX_ERROR_BODY, routing.idle_timeout)
                .await
                .unwrap_or_default();
            answered(Some(status.as_u16()), &headers, Some(&body), None);
            if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
                && ep.route.forwarded
                && let Some(proxy) = &ep.route.proxy
            {
                // The proxy's answer, not the provider's: the connection failed.
                return Err(fail(
                    FailureKind::Connect,
                    format!(
                        "proxy {}: HTTP 407 Proxy Authentication Required (credentials {})",
                        proxy.url,
                        if ep.route.forward_auth.is_some() {
                            "refused"
                        } else {
                            "needed: put them in the proxy URL"
                        }
                    ),
                ));
            }
            let detail = switchboard_protocol::error::parse_any(&body)
                .map(|(_, m)| m)
                .unwrap_or_default();
            let message = if detail.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                format!("HTTP {}: {detail}", status.as_u16())
            };
            return Err(fail(
                FailureKind::Status {
                    status: status.as_u16(),
                    retry_after,
                    content_type: headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body,
                },
                message,
            ));
        }

        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_sse = content_type.starts_with("text/event-stream");
        // A success with the wrong body type (a captive portal's HTML, a proxy's error page) is
        // a broken upstream, not an answer: fail over rather than hand it to the client.
        let expected = if inbound.head.stream {
            is_sse
        } else {
            content_type.contains("json")
        };
        if !expected {
            let want = if inbound.head.stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            let shown = if content_type.is_empty() {
                "no content type"
            } else {
                content_type.as_str()
            };
            let msg = format!("HTTP {} with {shown}, expected {want}", status.as_u16());
            answered(Some(status.as_u16()), &headers, None, Some(&msg));
            return Err(fail(FailureKind::Protocol, msg));
        }
        let body = if is_sse {
            let mut rest = BodyDataStream::new(resp).boxed();
            let first = peek_first_event(&mut rest, routing.first_byte_timeout)
                .await
                .map_err(|(kind, msg)| {
                    answered(Some(status.as_u16()), &headers, None, Some(&msg));
                    fail(kind, msg)
                })?;
            answered(Some(status.as_u16()), &headers, None, None);
            if let Some((a, _)) = attempt {
                // The rest of the stream is appended by the response stream as it arrives.
                for c in &first {
                    a.chunk(AuditKind::UpstreamResponse, c);
                }
            }
            CommittedBody::Stream { first, rest }
        } else {
            let body = read_capped(resp, MAX_RESPONSE_BODY, routing.idle_timeout)
                .await
                .map_err(|msg| {
                    answered(Some(status.as_u16()), &headers, None, Some(&msg));
                    fail(FailureKind::Protocol, msg)
                })?;
            answered(Some(status.as_u16()), &headers, Some(&body), None);
            CommittedBody::Full(body)
        };
        Ok(Committed {
            endpoint: ep.clone(),
            routed_model,
            status,
            headers,
            body,
            translation,
            request_bytes,
        })
    }
}

impl HttpUpstream<'_> {
    fn passthrough_uri(&self, ep: &Endpoint) -> Result<Uri, String> {
        let inbound = self.inbound;
        let path = match (inbound.op, ep.kind()) {
            (Op::Messages, _) => "/v1/messages",
            (Op::CountTokens, _) => "/v1/messages/count_tokens",
            (Op::ChatCompletions, _) => "/chat/completions",
            (Op::Models, Dialect::OpenAiChat) => "/models",
            (Op::Models, _) => "/v1/models",
        };
        match (&inbound.query, ep.kind()) {
            (Some(q), Dialect::Anthropic) => ep.uri(&format!("{path}?{q}")),
            _ => ep.parsed_uri(path).map_or_else(|| ep.uri(path), Ok),
        }
    }

    /// Headers for one attempt. Passthrough keeps the client's headers (minus hop-by-hop ones and
    /// the gateway's token); a translated request carries only what the target understands.
    fn headers(&self, ep: &Endpoint, passthrough: bool) -> HeaderMap {
        let inbound = self.inbound;
        let mut out = HeaderMap::new();
        let own_key = ep.cfg.api_key.as_ref();
        // The client's credential, for endpoints that pass it through.
        let client_credential = || -> Option<String> {
            let ok = |n: &HeaderName| !inbound.strip.contains(n);
            let xk = HeaderName::from_static("x-api-key");
            if ok(&xk)
                && let Some(v) = inbound.headers.get(&xk).and_then(|v| v.to_str().ok())
            {
                return Some(v.to_owned());
            }
            if ok(&header::AUTHORIZATION)
                && let Some(v) = inbound
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
            {
                return Some(v.strip_prefix("Bearer ").unwrap_or(v).to_owned());
            }
            inbound
                .headers
                .get("x-goog-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if passthrough && ep.kind() == inbound.dialect {
            for (name, value) in &inbound.headers {
                if is_hop_by_hop(name) || inbound.strip.contains(name) {
                    continue;
                }
                if own_key.is_some()
                    && (name == header::AUTHORIZATION || name.as_str() == "x-api-key")
                {
                    continue;
                }
                out.append(name.clone(), value.clone());
            }
        } else {
            out.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Some(ua) = inbound.headers.get(header::USER_AGENT) {
                out.insert(header::USER_AGENT, ua.clone());
            }
            if ep.kind() == Dialect::Anthropic {
                let version = inbound
                    .headers
                    .get("anthropic-version")
                    .cloned()
                    .unwrap_or(HeaderValue::from_static("2023-06-01"));
                out.insert("anthropic-version", version);
            }
            let key = own_key
                .map(|k| k.expose().to_owned())
                .or_else(client_credential);
            if let Some(key) = key {
                set_credential(&mut out, ep, &key);
            }
        }
        if let Some(key) = own_key {
            set_credential(&mut out, ep, key.expose());
        }
        out.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        for (name, value) in &ep.cfg.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                out.insert(n, v);
            }
        }
        out
    }
}

fn set_credential(out: &mut HeaderMap, ep: &Endpoint, key: &str) {
    let name = auth_header(ep.cfg.auth);
    let value = if name == "authorization" {
        format!("Bearer {key}")
    } else {
        key.to_owned()
    };
    if let Ok(mut v) = HeaderValue::try_from(value) {
        v.set_sensitive(true);
        out.insert(name, v);
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    parse_retry_after(
        headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or(""))),
        now,
    )
}

/// A request that got no response: connect errors (the name, TCP, TLS, the connect timeout) are
/// [`FailureKind::Connect`], timeouts otherwise [`FailureKind::Timeout`], anything else
/// [`FailureKind::Protocol`]. The message names the URL (credential-like query values masked)
/// and gives the error's whole source chain.
fn network_failure(
    endpoint: &str,
    url: &Uri,
    e: &hyper_util::client::legacy::Error,
) -> UpstreamError {
    let kind = if e.is_connect() {
        FailureKind::Connect
    } else if client::is_timeout(e) {
        FailureKind::Timeout
    } else {
        FailureKind::Protocol
    };
    let url = audit::masked_url(&url.to_string());
    UpstreamError {
        endpoint: endpoint.to_owned(),
        kind,
        message: format!(
            "error sending request for url ({url}): {}",
            client::error_chain(e)
        ),
    }
}

/// Reads a whole body, failing if it exceeds `cap` or stalls longer than `idle`.
async fn read_capped(mut body: Incoming, cap: usize, idle: Duration) -> Result<Bytes, String> {
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(format!("response body stalled for {}s", idle.as_secs())),
            Ok(None) => return Ok(buf.freeze()),
            Ok(Some(Err(e))) => {
                return Err(format!("response body broke: {}", client::error_chain(&e)));
            }
            Ok(Some(Ok(frame))) => {
                let Ok(chunk) = frame.into_data() else {
                    continue; // trailers
                };
                if buf.len() + chunk.len() > cap {
                    return Err(format!("response body larger than {cap} bytes"));
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
}

/// Reads until the first whole SSE event has arrived. An error event before anything reached the
/// client is a failure like any other (it may fail over).
async fn peek_first_event(
    rest: &mut BodyStream,
    timeout: Duration,
) -> Result<Vec<Bytes>, (FailureKind, String)> {
    let mut buf = BytesMut::new();
    let mut splitter = FrameSplitter::default();
    loop {
        let chunk = match tokio::time::timeout(timeout, rest.next()).await {
            Err(_) => {
                return Err((
                    FailureKind::Timeout,
                    format!("no event within {}s", timeout.as_secs()),
                ));
            }
            Ok(None) => {
                return Err((
                    FailureKind::Protocol,
                    "stream ended before its first event".into(),
                ));
            }
            Ok(Some(Err(e))) => {
                return Err((
                    FailureKind::Protocol,
                    format!(
                        "stream broke before its first event: {}",
                        client::error_chain(&e)
                    ),
                ));
            }
            Ok(Some(Ok(c))) => c,
        };
        buf.extend_from_slice(&chunk);
        // Comments (`: OPENROUTER PROCESSING`, keep-alives) are not events: an upstream that
        // sent only those before failing has given the client nothing, and may still fail over.
        let first = splitter.push(&chunk).iter().find_map(|f| first_event(f));
        if let Some(event) = first {
            if let Some(err) = event_error(event) {
                return Err(err);
            }
            // What came with it goes out with it, in the same write as the response head. Kept
            // as the chunks they were: each is decoded (and audited) on its own.
            let mut chunks = vec![buf.freeze()];
            let mut held = 0;
            while held < GATHER_MAX_BYTES {
                match next_ready(rest).await {
                    Some(Some(Ok(c))) => {
                        held += c.len();
                        chunks.push(c);
                    }
                    // The end, or a break: left for the stream to meet.
                    Some(end) => {
                        *rest = futures::stream::iter(end).boxed();
                        break;
                    }
                    None => break,
                }
            }
            return Ok(chunks);
        }
        if buf.len() > MAX_PEEK {
            return Ok(vec![buf.freeze()]);
        }
    }
}

/// The event in one whole frame; `None` for a comment or an empty frame.
fn first_event(frame: &[u8]) -> Option<Event> {
    Decoder::default().push(frame).ok()?.into_iter().next()
}

/// An error event (`event: error`, or a data-only `{"error": …}`) as a routable failure.
fn event_error(ev: Event) -> Option<(FailureKind, String)> {
    let is_error = ev.event.as_deref() == Some("error")
        || (ev.event.is_none() && ev.data.trim_start().starts_with("{\"error\""));
    if !is_error {
        return None;
    }
    let (kind, message) = switchboard_protocol::error::parse_any(ev.data.as_bytes())?;
    let status = match kind.unwrap_or(ErrorKind::Api) {
        ErrorKind::Overloaded => 529,
        ErrorKind::RateLimit => 429,
        ErrorKind::Api | ErrorKind::Timeout => 500,
        other => other.status(),
    };
    Some((
        FailureKind::Status {
            status,
            retry_after: None,
            content_type: None,
            body: Bytes::from(ev.data),
        },
        format!("error event before first byte: {message}"),
    ))
}
