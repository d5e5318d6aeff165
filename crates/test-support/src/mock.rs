//! A scriptable upstream. Each incoming request takes the next [`Reply`] from the script (or the
//! default reply when the script is empty) and is recorded for later assertions.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A step of a streamed reply.
#[derive(Clone, Debug)]
pub enum Step {
    /// Send these bytes as one chunk.
    Bytes(Bytes),
    /// Wait this long.
    Delay(Duration),
    /// Wait until the test opens the gate once more (see [`Gate::open`]).
    Wait(Gate),
    /// Break the connection here (no proper end of the chunked body).
    Reset,
}

/// A gate a streamed reply waits at: each [`Gate::open`] lets one waiting step through.
#[derive(Clone, Debug)]
pub struct Gate(Arc<Semaphore>);

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    #[must_use]
    pub fn new() -> Self {
        Self(Arc::new(Semaphore::new(0)))
    }

    /// Lets the next `Step::Wait` on this gate pass.
    pub fn open(&self) {
        self.0.add_permits(1);
    }

    async fn pass(&self) {
        if let Ok(p) = self.0.acquire().await {
            p.forget();
        }
    }
}

/// How the mock answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response.
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A streamed response (`text/event-stream` unless headers say otherwise).
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        steps: Vec<Step>,
    },
    /// Close the connection without answering.
    ResetBeforeHeaders,
    /// Never answer (until the client gives up).
    Stall,
}

impl Reply {
    #[must_use]
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::Json {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// An Anthropic-shaped error.
    #[must_use]
    pub fn error(status: u16, kind: &str, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
                .to_string(),
        )
    }

    /// A stream of whole SSE frames, each sent as its own chunk.
    #[must_use]
    pub fn sse(frames: Vec<String>) -> Self {
        Self::Stream {
            status: 200,
            headers: Vec::new(),
            steps: frames
                .into_iter()
                .map(|f| Step::Bytes(Bytes::from(f)))
                .collect(),
        }
    }

    /// A stream built from explicit steps.
    #[must_use]
    pub fn steps(steps: Vec<Step>) -> Self {
        Self::Stream {
            status: 200,
            headers: Vec::new(),
            steps,
        }
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Self::Json { headers, .. } | Self::Stream { headers, .. } => {
                headers.push((name.into(), value.into()))
            }
            Self::ResetBeforeHeaders | Self::Stall => {}
        }
        self
    }
}

/// A request the mock received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Responder = dyn Fn(&Recorded) -> Option<Reply> + Send + Sync;

struct State {
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    responder: Mutex<Option<Arc<Responder>>>,
    requests: Mutex<Vec<Recorded>>,
    /// Streams whose body was dropped before its last step (the client went away).
    cancelled: AtomicUsize,
    completed: AtomicUsize,
    /// Cancelled by [`MockUpstream::close_connections`] (and with the mock): each connection
    /// watches the token current when it was accepted.
    connections: Mutex<CancellationToken>,
}

/// A mock upstream on 127.0.0.1, port 0. Stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<State>,
    stop: CancellationToken,
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl MockUpstream {
    /// Starts a mock whose default reply is `default`.
    pub async fn start(default: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock upstream");
        let addr = listener.local_addr().expect("mock address");
        let state = Arc::new(State {
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(default),
            responder: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            cancelled: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            connections: Mutex::new(CancellationToken::new()),
        });
        let stop = CancellationToken::new();
        *state.connections.lock() = stop.child_token();
        let (st, stop2) = (state.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    () = stop2.cancelled() => return,
                    c = listener.accept() => c,
                };
                let Ok((tcp, _)) = conn else { continue };
                let _ = tcp.set_nodelay(true);
                let st = st.clone();
                let stop3 = st.connections.lock().clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(st.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc);
                    tokio::select! {
                        _ = conn => {}
                        () = stop3.cancelled() => {}
                    }
                });
            }
        });
        Self { addr, state, stop }
    }

    /// Queues replies for the next requests, in order.
    #[must_use]
    pub fn then(self, reply: Reply) -> Self {
        self.state.script.lock().push_back(reply);
        self
    }

    /// Queues a reply (by reference, for mocks already shared with a gateway).
    pub fn push(&self, reply: Reply) {
        self.state.script.lock().push_back(reply);
    }

    /// Answers with `f(request)` when it returns `Some`, before the script.
    pub fn respond_with(&self, f: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) {
        *self.state.responder.lock() = Some(Arc::new(f));
    }

    /// Closes every open connection (idle or not) and keeps listening: the gateway's pooled
    /// connections to this mock see the close and go away, as they would when a real upstream
    /// drops idle keep-alive connections.
    pub fn close_connections(&self) {
        let fresh = self.stop.child_token();
        std::mem::replace(&mut *self.state.connections.lock(), fresh).cancel();
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().clone()
    }

    #[must_use]
    pub fn hits(&self) -> usize {
        self.state.requests.lock().len()
    }

    /// Streams dropped by the client before they ended.
    #[must_use]
    pub fn cancelled(&self) -> usize {
        self.state.cancelled.load(Ordering::SeqCst)
    }

    /// Streams sent to their end.
    #[must_use]
    pub fn completed(&self) -> usize {
        self.state.completed.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `cond` holds; for effects that land after a response was received.
    pub async fn wait_until(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !cond(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts.headers,
        body,
    };
    let responder = state.responder.lock().clone();
    let reply = responder
        .and_then(|f| f(&rec))
        .or_else(|| state.script.lock().pop_front())
        .unwrap_or_else(|| state.default.lock().clone());
    state.requests.lock().push(rec);
    match reply {
        Reply::ResetBeforeHeaders => Err(std::io::Error::other("scripted reset before headers")),
        Reply::Stall => {
            std::future::pending::<()>().await;
            Err(std::io::Error::other("unreachable"))
        }
        Reply::Json {
            status,
            headers,
            body,
        } => {
            let mut resp = Response::new(
                http_body_util::Full::new(Bytes::from(body))
                    .map_err(|e: Infallible| match e {})
                    .boxed(),
            );
            *resp.status_mut() = StatusCode::from_u16(status).expect("status");
            resp.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            for (n, v) in headers {
                resp.headers_mut().insert(
                    http::HeaderName::try_from(n).expect("name"),
                    v.parse().expect("value"),
                );
            }
            Ok(resp)
        }
        Reply::Stream {
            status,
            headers,
            steps,
        } => {
            let guard = StreamGuard {
                state: state.clone(),
                done: false,
            };
            let stream = futures::stream::unfold(
                (steps.into_iter(), guard),
                |(mut steps, mut guard)| async move {
                    loop {
                        match steps.next() {
                            None => {
                                guard.done = true;
                                guard.state.completed.fetch_add(1, Ordering::SeqCst);
                                return None;
                            }
                            Some(Step::Bytes(b)) => {
                                return Some((Ok(Frame::data(b)), (steps, guard)));
                            }
                            Some(Step::Delay(d)) => tokio::time::sleep(d).await,
                            Some(Step::Wait(g)) => g.pass().await,
                            Some(Step::Reset) => {
                                guard.done = true;
                                return Some((
                                    Err(std::io::Error::other("scripted reset")),
                                    (steps, guard),
                                ));
                            }
                        }
                    }
                },
            );
            let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
            *resp.status_mut() = StatusCode::from_u16(status).expect("status");
            resp.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("text/event-stream"),
            );
            for (n, v) in headers {
                resp.headers_mut().insert(
                    http::HeaderName::try_from(n).expect("name"),
                    v.parse().expect("value"),
                );
            }
            Ok(resp)
        }
    }
}

struct StreamGuard {
    state: Arc<State>,
    done: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.done {
            self.state.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}
