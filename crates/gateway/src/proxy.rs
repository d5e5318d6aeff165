//! Proxy handlers: thin functions that read the request once, route it, and shape the answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::FutureExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use switchboard_core::{AttemptDisposition, Outcome};
use switchboard_protocol::Dialect;
use switchboard_protocol::observe;
use switchboard_router::{FailureKind, Policy, RouteError, Routed, route};
use switchboard_store::{AuditKind, LogRecord};
use switchboard_translate::{stream_translator, translate_error, translate_response};
use tokio::time::Instant;

use crate::admission::{Admitted, Clients, admit};
use crate::audit;
use crate::body::{ReadError, RequestHead};
use crate::clients::{ClientKey, Strip};
use crate::connection::ConnInfo;
use crate::endpoint::Endpoint;
use crate::error::ApiError;
use crate::inject::Dispatch;
use crate::log::RequestLog;
use crate::state::{AppState, InFlight, Live};
use crate::stream::{ProxyStream, StreamParts};
use crate::upstream::{Committed, CommittedBody, HttpUpstream, Inbound, Op, is_hop_by_hop};

/// `GET /v1/models`: forwarded to the first endpoint of the caller's dialect; when none can
/// answer, listed from the configured model mappings.
pub(crate) async fn list_models(State(state): State<AppState>, req: Request) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let dialect = if req.headers().contains_key("anthropic-version")
        || req.headers().contains_key("x-api-key")
    {
        Dialect::Anthropic
    } else {
        Dialect::OpenAiChat
    };
    let live = state.live();
    let strip = match admit(
        &state,
        &live,
        req.headers(),
        conn.as_ref(),
        Instant::now(),
        Clients::Checked,
    ) {
        Ok(a) => a.strip,
        Err((e, _)) => return e.render(dialect),
    };
    let profile = match live.profiles.for_request(req.headers()) {
        Ok(p) => p,
        Err(e) => return e.render(dialect),
    };
    // A profile with a model map lists its models (Claude Code's `/model` offers them).
    if let Some(models) = profile.and_then(crate::profile::discovered_models) {
        let body =
            crate::profile::models_json(dialect == Dialect::OpenAiChat, &models, live.loaded_at);
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    let pool = profile.map_or(&live.endpoints, |p| &p.endpoints);
    let targets: Vec<Arc<Endpoint>> = pool
        .iter()
        .filter(|e| e.kind() == dialect)
        .cloned()
        .collect();
    if !targets.is_empty() {
        let inbound = Inbound {
            dialect,
            op: Op::Models,
            body: Bytes::new(),
            head: RequestHead::empty(),
            headers: req.headers().clone(),
            query: req.uri().query().map(str::to_owned),
            strip,
        };
        let upstream = HttpUpstream {
            live: &live,
            profile,
            inbound: &inbound,
            audit: None,
        };
        let policy = Policy {
            max_retries: 0,
            failure_cooldown: std::time::Duration::ZERO,
            ..live.policy
        };
        if let Ok(Routed { response, .. }) =
            route(&targets, state.health(), &policy, &upstream).await
            && let CommittedBody::Full(body) = response.body
        {
            return full_response(response.status, &response.headers, body, None);
        }
    }
    synthesized_models(&live, dialect)
}

fn synthesized_models(live: &Live, dialect: Dialect) -> Response {
    let mut ids: Vec<String> = Vec::new();
    let maps = live
        .endpoints
        .iter()
        .map(|e| &e.cfg.models)
        .chain(std::iter::once(&live.config.models));
    for map in maps {
        for rule in &map.rules {
            for id in [&rule.target, &rule.pattern] {
                if !switchboard_config::is_model_pattern(id) && !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
    }
    let created = live.loaded_at.to_rfc3339();
    let body = match dialect {
        Dialect::OpenAiChat => serde_json::json!({
            "object": "list",
            "data": ids.iter().map(|id| serde_json::json!({"id": id, "object": "model", "created": live.loaded_at.timestamp(), "owned_by": "switchboard"})).collect::<Vec<_>>(),
        }),
        _ => serde_json::json!({
            "data": ids.iter().map(|id| serde_json::json!({"type": "model", "id": id, "display_name": id, "created_at": created})).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": ids.first(),
            "last_id": ids.last(),
        }),
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The response header naming the request's log row (its id in `/api/requests/{id}`).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-switchboard-request-id");
/// The response header naming the endpoint that answered.
const ENDPOINT: HeaderName = HeaderName::from_static("x-switchboard-endpoint");
/// Tells nginx in front of the gateway not to buffer a stream.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Serves one logged request from `peer`; every answer, success or error, names its log row in
/// [`REQUEST_ID`].
///
/// Not an `async fn`, and neither is [`handle_logged`]: an `async fn` keeps its arguments in
/// its future beside the locals they are moved into, and awaiting `handle_logged` from another
/// one would keep both copies again. Here the request and its log record are taken apart
/// before the one async block captures them, and the id header is added by a `map`. Every
/// request holds this future until its response head goes out, so its size is memory per
/// request in flight: 5,480 → 3,336 bytes (`-Zprint-type-sizes`), 2 MiB less when 1,000
/// streams open at once.
pub(crate) fn handle(
    state: AppState,
    dialect: Dialect,
    op: Op,
    req: Request,
    conn: Option<ConnInfo>,
) -> impl Future<Output = Response> + Send {
    let mut rec = LogRecord::new(req.method().as_str(), req.uri().path(), dialect.as_str());
    rec.client_addr = conn.map(|c| c.remote.to_string());
    let id = HeaderValue::try_from(rec.id.to_string());
    handle_logged(state, dialect, op, req, rec, conn, None).map(move |mut resp| {
        if let Ok(id) = id {
            resp.headers_mut().insert(REQUEST_ID, id);
        }
        resp
    })
}

/// Serves one logged request. `dispatch` is set for a request the control plane injects
/// (`crate::inject`): no admission, and possibly one endpoint tried once on a health record of
/// its own.
pub(crate) fn handle_logged(
    state: AppState,
    dialect: Dialect,
    op: Op,
    req: Request,
    mut rec: LogRecord,
    conn: Option<ConnInfo>,
    mut dispatch: Option<Box<Dispatch>>,
) -> impl Future<Output = Response> + Send {
    let in_flight = InFlight::new(&state);
    let live = state.live();
    let (parts, body) = req.into_parts();
    rec.user_agent = header_str(&parts.headers, header::USER_AGENT.as_str());
    rec.session_id = header_str(&parts.headers, "x-claude-code-session-id");
    let log_has_session = rec.session_id.is_some();
    let mut log = RequestLog::new(rec, state.log().clone())
        .with_events(state.request_events().clone())
        .observed(&state, &live)
        .traced(&parts.headers);
    if let Some(done) = dispatch.as_mut().and_then(|d| d.done.take()) {
        log = log.on_done(done);
    }
    async move {
        let fail = |log: &mut RequestLog, e: ApiError| {
            let resp = e.render(dialect);
            audit::client_response(
                log.audit().map(AsRef::as_ref),
                &resp,
                None,
                Some(e.to_string()),
            );
            log.finish(e.status(dialect), e.outcome(), Some(e.to_string()));
            resp
        };

        let admitted = match &dispatch {
            // The operator was admitted by the control plane's door.
            Some(_) => Admitted {
                strip: Strip::default(),
                key: None,
            },
            None => match admit(
                &state,
                &live,
                &parts.headers,
                conn.as_ref(),
                Instant::now(),
                Clients::Checked,
            ) {
                Ok(a) => a,
                Err((e, key)) => {
                    name_key(&mut log, key.as_deref());
                    return fail(&mut log, e);
                }
            },
        };
        name_key(&mut log, admitted.key.as_deref());
        let limits = &live.config.server.limits;
        let max_body = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
        let body = match crate::body::read(body, max_body, live.config.server.body_timeout).await {
            Ok(b) => b,
            Err(ReadError::TooLarge(n)) => return fail(&mut log, ApiError::TooLarge(n)),
            Err(ReadError::Stalled(d)) => return fail(&mut log, ApiError::BodyTimeout(d)),
            Err(e @ ReadError::Broken(_)) => {
                return fail(&mut log, ApiError::BadRequest(e.to_string()));
            }
        };
        if let Some(a) = log.audit() {
            let mut e = audit::entry(AuditKind::ClientRequest, None, None, None, &parts.headers);
            e.method = Some(parts.method.to_string());
            e.url = Some(audit::masked_url(&parts.uri.to_string()));
            a.push(e, Some(&body));
        }
        let head = match RequestHead::parse(&body) {
            Ok(h) => h,
            Err(e) => return fail(&mut log, ApiError::BadRequest(e.to_string())),
        };
        if head.model.is_none() && op != Op::Models {
            return fail(&mut log, ApiError::BadRequest("`model` is required".into()));
        }
        if let Some(r) = log.record() {
            r.requested_model.clone_from(&head.model);
            r.stream = head.stream;
            r.request_bytes = body.len() as u64;
        }
        // The key's models and limits, before anything goes upstream. `count_tokens` costs
        // nothing and is sent often: it is held to the key's models, not to its rates and
        // budgets.
        if let (Some(key), Some(model)) = (&admitted.key, head.model.as_deref()) {
            let metered = op != Op::CountTokens;
            match state.0.clients.limit(key, model, metered, Instant::now()) {
                Ok(Some(a)) => log.metered(a),
                Ok(None) => {}
                Err(e) => return fail(&mut log, e),
            }
        }

        // The request's profile: the one it names, else the one in force.
        let profile = match live.profiles.for_request(&parts.headers) {
            Ok(p) => p,
            Err(e) => return fail(&mut log, e),
        };
        if let Some(p) = profile
            && log_has_session
        {
            log.set_profile(Some(&p.name));
        }
        let pool = profile.map_or(&live.endpoints, |p| &p.endpoints);
        let mut policy = live.policy;
        let targets: Vec<Arc<Endpoint>> = match op {
            Op::CountTokens => {
                // Claude Code sends many of these: one try each, and never a cooldown on their account.
                policy.max_retries = 0;
                policy.failure_cooldown = std::time::Duration::ZERO;
                pool.iter()
                    .filter(|e| e.cfg.count_tokens && e.kind() == Dialect::Anthropic)
                    .cloned()
                    .collect()
            }
            _ => pool.clone(),
        };
        let mut targets = targets;
        if let Some(key) = admitted
            .key
            .as_deref()
            .filter(|k| !k.limits.endpoints.is_empty())
        {
            targets.retain(|e| key.limits.allows_endpoint(&e.cfg.name));
            if targets.is_empty() && op != Op::CountTokens {
                let e = ApiError::EndpointNotAllowed {
                    key: key.name.clone(),
                    allowed: key.limits.endpoints.join(", "),
                };
                return fail(&mut log, e);
            }
        }
        // A body the gateway will translate is parsed whole: its shape is bounded first.
        if targets.iter().any(|e| e.kind() != dialect)
            && let Err(e) = crate::shape::check(&body, limits)
        {
            return fail(&mut log, ApiError::InputTooLarge(e.to_string()));
        }
        let pinned = dispatch.as_ref().and_then(|d| d.only.as_ref());
        let (targets, health) = match pinned {
            Some((ep, health)) => {
                policy.max_retries = 0;
                policy.failure_cooldown = std::time::Duration::ZERO;
                (vec![ep.clone()], health)
            }
            None => (targets, state.health()),
        };
        if targets.is_empty() && op == Op::CountTokens {
            return estimated_count(&body, &mut log);
        }
        if targets.is_empty() {
            let e = match op {
                Op::CountTokens => ApiError::NotFound("no endpoint serves count_tokens".into()),
                _ => ApiError::Overloaded("no endpoints are enabled".into()),
            };
            return fail(&mut log, e);
        }

        let inbound = Inbound {
            dialect,
            op,
            body,
            head,
            headers: parts.headers,
            query: parts.uri.query().map(str::to_owned),
            strip: admitted.strip,
        };
        let upstream = HttpUpstream {
            live: &live,
            profile,
            inbound: &inbound,
            audit: log.audit().cloned(),
        };
        let requested = inbound.head.model.as_deref();
        let routed = route(&targets, health, &policy, &upstream).await;
        if op == Op::CountTokens && count_fallback(&routed) {
            return estimated_count(&inbound.body, &mut log);
        }
        match routed {
            Ok(routed) => {
                log.attempts(&live, profile, requested, &routed.attempts);
                respond(&state, &live, routed.response, log, dialect, in_flight)
            }
            Err(RouteError::Client { error, attempts }) => {
                log.attempts(&live, profile, requested, &attempts);
                let FailureKind::Status {
                    status,
                    content_type,
                    body,
                    ..
                } = error.kind
                else {
                    return fail(&mut log, ApiError::Internal(error.message));
                };
                let kind = live
                    .endpoints
                    .iter()
                    .find(|e| e.cfg.name == error.endpoint)
                    .map_or(dialect, |e| e.kind());
                if let Some(a) = log.audit() {
                    let mut e = audit::entry(
                        AuditKind::ClientResponse,
                        None,
                        None,
                        Some(status),
                        &HeaderMap::new(),
                    );
                    e.note = (kind != dialect)
                        .then(|| format!("the {kind} endpoint's error, translated for the client"));
                    a.push(e, Some(&body));
                }
                log.finish(status, Outcome::ClientError, Some(error.message));
                if kind == dialect {
                    let mut resp = Response::new(Body::from(body));
                    *resp.status_mut() =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                    let ct = content_type.and_then(|c| HeaderValue::try_from(c).ok());
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        ct.unwrap_or(HeaderValue::from_static("application/json")),
                    );
                    resp
                } else {
                    let (status, body) = translate_error(kind, dialect, status, &body);
                    json_response(status, body)
                }
            }
            Err(RouteError::Exhausted {
                attempts,
                all_cooling_until,
            }) => {
                log.attempts(&live, profile, requested, &attempts);
                let detail = RouteError::Exhausted {
                    attempts: attempts.clone(),
                    all_cooling_until,
                }
                .to_string();
                let e = if attempts
                    .iter()
                    .all(|a| a.disposition == AttemptDisposition::Unsupported)
                {
                    let reasons: Vec<_> = attempts.iter().filter_map(|a| a.error.clone()).collect();
                    ApiError::BadRequest(reasons.join("; "))
                } else if let Some(until) = all_cooling_until {
                    ApiError::RateLimited {
                        message: detail,
                        retry_after: until.saturating_duration_since(Instant::now()),
                    }
                } else {
                    ApiError::Overloaded(detail)
                };
                fail(&mut log, e)
            }
            Err(RouteError::NoEndpoints) => fail(
                &mut log,
                ApiError::Overloaded("no endpoints are enabled".into()),
            ),
        }
    }
}

/// Names the request's key, its user and its team in the log row.
fn name_key(log: &mut RequestLog, key: Option<&ClientKey>) {
    if let (Some(k), Some(r)) = (key, log.record()) {
        r.client_key = Some(k.name.clone());
        r.client_user.clone_from(&k.user);
        r.client_team.clone_from(&k.team);
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn respond(
    state: &AppState,
    live: &Live,
    c: Committed,
    mut log: RequestLog,
    dialect: Dialect,
    in_flight: InFlight,
) -> Response {
    let endpoint = c.endpoint.cfg.name.clone();
    if let Some(r) = log.record() {
        r.endpoint = Some(endpoint.clone());
        r.routed_model.clone_from(&c.routed_model);
        r.request_bytes = r.request_bytes.max(c.request_bytes as u64);
        // What the client is sent; kept if it goes away before the end (`client_closed`).
        r.status = c.status.as_u16();
    }
    match c.body {
        CommittedBody::Full(body) => {
            let translated = match &c.translation {
                Some((up, ctx)) => match translate_response(*up, dialect, &body, ctx) {
                    Ok((out, summary)) => Some((Bytes::from(out), summary)),
                    Err(e) => {
                        state.health().record_failure(&endpoint, &e.to_string());
                        let err = ApiError::Internal(format!(
                            "{endpoint} answered with a response that could not be translated: {e}"
                        ));
                        let resp = err.render(dialect);
                        let note = Some(err.to_string());
                        audit::client_response(log.audit().map(AsRef::as_ref), &resp, None, note);
                        log.finish(
                            err.status(dialect),
                            Outcome::UpstreamError,
                            Some(err.to_string()),
                        );
                        return resp;
                    }
                },
                None => None,
            };
            let (body, summary) = match translated {
                Some(t) => t,
                None => {
                    let s = match dialect {
                        Dialect::OpenAiChat => observe::openai_response(&body),
                        _ => observe::anthropic_response(&body),
                    };
                    (body, s)
                }
            };
            state.health().record_success(&endpoint, Instant::now());
            log.summary(&summary);
            if let Some(r) = log.record() {
                r.response_bytes = body.len() as u64;
            }
            log.first_byte();
            let headers = if c.translation.is_some() {
                HeaderMap::new()
            } else {
                c.headers
            };
            let name = c.endpoint.name_header.as_ref();
            let resp = full_response(c.status, &headers, body.clone(), name);
            audit::client_response(log.audit().map(AsRef::as_ref), &resp, Some(&body), None);
            log.finish(c.status.as_u16(), Outcome::Ok, None);
            drop(in_flight);
            resp
        }
        CommittedBody::Stream { first, rest } => {
            let translator = match c.translation {
                Some((up, ctx)) => stream_translator(up, dialect, ctx),
                None => None,
            };
            let translated = translator.is_some();
            let routing = &live.config.routing;
            let capture = log.audit().cloned();
            let stream = ProxyStream::new(StreamParts {
                rest,
                first,
                client: dialect,
                translator,
                state: state.clone(),
                endpoint: endpoint.clone(),
                keepalive: routing.keepalive_interval,
                idle_timeout: routing.idle_timeout,
                log,
                in_flight,
            });
            let mut resp = Response::new(stream.into_body());
            *resp.status_mut() = c.status;
            let h = resp.headers_mut();
            if !translated {
                copy_response_headers(&c.headers, h);
            }
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
            if let Some(v) = &c.endpoint.name_header {
                h.insert(ENDPOINT, v.clone());
            }
            // Before the first chunk: the stream appends its chunks to this entry.
            audit::client_response(capture.as_deref(), &resp, None, None);
            resp
        }
    }
}

fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if is_hop_by_hop(name) || name == header::CONTENT_ENCODING {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

fn full_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
    endpoint: Option<&HeaderValue>,
) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    copy_response_headers(headers, h);
    if !h.contains_key(header::CONTENT_TYPE) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some(v) = endpoint {
        h.insert(ENDPOINT, v.clone());
    }
    resp
}

fn json_response(status: u16, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Whether a failed `count_tokens` should be answered from the local estimate: no endpoint could
/// serve it, or the one that answered doesn't implement it (404).
fn count_fallback<R>(routed: &Result<R, RouteError>) -> bool {
    match routed {
        Ok(_) => false,
        Err(RouteError::Client { error, .. }) => error.status() == Some(404),
        Err(_) => true,
    }
}

/// `count_tokens` answered locally (see `switchboard_translate::estimate_input_tokens`), marked
/// with `x-switchboard-estimate: true`.
fn estimated_count(body: &Bytes, log: &mut RequestLog) -> Response {
    match switchboard_translate::estimate_input_tokens(body) {
        Ok(n) => {
            log.finish(200, Outcome::Estimated, None);
            let mut resp = (
                StatusCode::OK,
                axum::Json(serde_json::json!({"input_tokens": n})),
            )
                .into_response();
            resp.headers_mut()
                .insert("x-switchboard-estimate", HeaderValue::from_static("true"));
            resp
        }
        Err(e) => {
            let err = ApiError::BadRequest(e.to_string());
            log.finish(
                err.status(Dialect::Anthropic),
                Outcome::Rejected,
                Some(err.to_string()),
            );
            err.render(Dialect::Anthropic)
        }
    }
}
