//! Requests the control plane sends through the pipeline on an operator's behalf: a replay of a
//! logged request, a test of an endpoint ([`crate::Control::inject`]). They take the same path
//! as a client's request — mapping, translation, the upstream, the stream, the request log —
//! with three differences:
//!
//! - no admission: the operator was admitted by the control plane's door;
//! - pinned to one endpoint when one is named (enabled or not), tried once, against a health
//!   record of its own: the operator's choice is honoured even while the endpoint cools down,
//!   and its failure puts nothing in cooldown for the clients' traffic;
//! - the completed log record is handed back ([`Injected::record`]), so the caller can show
//!   tokens, cost and timings without waiting for the log writer.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use switchboard_protocol::Dialect;
use switchboard_router::Health;
use switchboard_store::LogRecord;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::endpoint::Endpoint;
use crate::state::AppState;
use crate::upstream::Op;

/// A request to send through the pipeline.
#[derive(Debug, Clone)]
pub struct Injection {
    /// The client dialect: [`Dialect::Anthropic`] (`/v1/messages`) or [`Dialect::OpenAiChat`]
    /// (`/v1/chat/completions`).
    pub dialect: Dialect,
    /// The client's request body.
    pub body: Bytes,
    /// The client's headers (`anthropic-version`, a credential for a pass-through endpoint).
    pub headers: HeaderMap,
    /// Send to this endpoint only, once; `None`: route as a client's request is routed.
    pub endpoint: Option<String>,
    /// Logged as a replay of this request.
    pub replay_of: Option<Uuid>,
}

/// The pipeline's answer to an [`Injection`].
pub struct Injected {
    /// What a client would have received (a stream is produced as it is read).
    pub response: Response,
    /// The log record, once the response has been read to its end (or dropped).
    pub record: oneshot::Receiver<LogRecord>,
}

/// Why an injection was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("no endpoint named {0:?} is configured")]
    UnknownEndpoint(String),
    #[error("the {0} dialect has no client route to replay")]
    Dialect(Dialect),
}

/// What the pipeline does differently for an injected request (see the module docs).
pub(crate) struct Dispatch {
    /// The one endpoint to try, with the health record it is tried against.
    pub(crate) only: Option<(Arc<Endpoint>, Health)>,
    /// Where the completed log record goes (taken by the request's log).
    pub(crate) done: Option<oneshot::Sender<LogRecord>>,
}

pub(crate) async fn inject(state: &AppState, inj: Injection) -> Result<Injected, InjectError> {
    let live = state.live();
    let only = match &inj.endpoint {
        None => None,
        Some(name) => {
            let ep = match live.endpoints.iter().find(|e| &e.cfg.name == name) {
                Some(ep) => ep.clone(),
                None => {
                    let cfg = live
                        .config
                        .endpoints
                        .iter()
                        .find(|e| &e.name == name)
                        .ok_or_else(|| InjectError::UnknownEndpoint(name.clone()))?;
                    let route = state.0.egress.route(cfg, &live.config.routing);
                    Arc::new(Endpoint::new(cfg.clone(), route))
                }
            };
            Some((ep, Health::new()))
        }
    };
    let (path, op) = match inj.dialect {
        Dialect::Anthropic => ("/v1/messages", Op::Messages),
        Dialect::OpenAiChat => ("/v1/chat/completions", Op::ChatCompletions),
        d @ Dialect::Gemini => return Err(InjectError::Dialect(d)),
    };
    let mut req = Request::new(Body::from(inj.body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = http::Uri::from_static(path);
    *req.headers_mut() = inj.headers;
    let mut rec = LogRecord::new("POST", path, inj.dialect.as_str());
    rec.replay_of = inj.replay_of;
    let (done, record) = oneshot::channel();
    let dispatch = Box::new(Dispatch {
        only,
        done: Some(done),
    });
    let response = crate::proxy::handle_logged(
        state.clone(),
        inj.dialect,
        op,
        req,
        rec,
        None,
        Some(dispatch),
    )
    .await;
    Ok(Injected { response, record })
}
