//! The record of one proxied request, as the proxy hands it to the log writer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{AttemptDisposition, Outcome};
use uuid::Uuid;

/// One client request and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Time-ordered id (UUID v7).
    pub id: Uuid,
    /// When the request arrived.
    pub started_at: DateTime<Utc>,
    /// Client address and, when known, the client key name / user agent.
    pub client_addr: Option<String>,
    pub client_key: Option<String>,
    /// The user and team the client key belongs to (its team, when it has one), as named when
    /// the request was made.
    #[serde(default)]
    pub client_user: Option<String>,
    #[serde(default)]
    pub client_team: Option<String>,
    pub user_agent: Option<String>,
    /// Claude Code session id (`X-Claude-Code-Session-Id`), when sent.
    pub session_id: Option<String>,
    /// `POST /v1/messages`, `POST /v1/chat/completions`, …
    pub method: String,
    pub path: String,
    /// The dialect the client spoke (`anthropic`, `openai`).
    pub client_dialect: String,
    pub requested_model: Option<String>,
    /// The model sent to the endpoint that answered (or the last one tried).
    pub routed_model: Option<String>,
    /// The endpoint that answered (or the last one tried).
    pub endpoint: Option<String>,
    pub stream: bool,
    /// Final HTTP status sent to the client.
    pub status: u16,
    /// What became of the request, in one word.
    pub outcome: Outcome,
    pub error: Option<String>,
    pub stop_reason: Option<String>,
    /// Time to first byte sent to the client, milliseconds.
    pub ttfb_ms: Option<u64>,
    /// Total latency until the last byte, milliseconds.
    pub latency_ms: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// Cost in USD, `None` when the model's price is unknown.
    pub cost_usd: Option<f64>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub attempts: Vec<AttemptRecord>,
    /// The request this one re-sent (a replay from the dashboard); `None` for client requests.
    #[serde(default)]
    pub replay_of: Option<Uuid>,
}

/// One attempt against one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub endpoint: String,
    pub model: Option<String>,
    /// HTTP status from the upstream; `None` for network errors and timeouts.
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// What the router decided after this attempt.
    pub disposition: AttemptDisposition,
    /// When the attempt was sent, in milliseconds after the request arrived.
    #[serde(default)]
    pub offset_ms: Option<u64>,
    /// Milliseconds from sending the attempt to the upstream's answer (its status and, for a
    /// stream, its first event); `None` when it never answered (connect errors, timeouts,
    /// skipped endpoints).
    #[serde(default)]
    pub first_byte_ms: Option<u64>,
    /// For the attempt whose stream went to the client: how long the rest of the stream took
    /// after its first event.
    #[serde(default)]
    pub stream_ms: Option<u64>,
    /// The failure in a few words: `429 rate_limit_error`, `529 overloaded_error`, `timeout`,
    /// `connect`, `protocol`, `unsupported`, `cooling_down`; `None` for a success.
    #[serde(default)]
    pub error_class: Option<String>,
}

impl AttemptRecord {
    /// An attempt with only the fields every attempt has; the timings and class unset.
    #[must_use]
    pub fn new(endpoint: impl Into<String>, disposition: AttemptDisposition) -> Self {
        Self {
            endpoint: endpoint.into(),
            model: None,
            status: None,
            latency_ms: 0,
            error: None,
            disposition,
            offset_ms: None,
            first_byte_ms: None,
            stream_ms: None,
            error_class: None,
        }
    }
}

impl LogRecord {
    /// How many times the request moved from one endpoint to another: consecutive attempts on
    /// different endpoints (retries on the same endpoint are not failovers).
    #[must_use]
    pub fn failovers(&self) -> u32 {
        let moves = self
            .attempts
            .windows(2)
            .filter(|w| w[0].endpoint != w[1].endpoint)
            .count();
        u32::try_from(moves).unwrap_or(u32::MAX)
    }

    /// A record for a request that has just arrived.
    #[must_use]
    pub fn new(
        method: impl Into<String>,
        path: impl Into<String>,
        client_dialect: impl Into<String>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            started_at: Utc::now(),
            client_addr: None,
            client_key: None,
            client_user: None,
            client_team: None,
            user_agent: None,
            session_id: None,
            method: method.into(),
            path: path.into(),
            client_dialect: client_dialect.into(),
            requested_model: None,
            routed_model: None,
            endpoint: None,
            stream: false,
            status: 0,
            outcome: Outcome::InProgress,
            error: None,
            stop_reason: None,
            ttfb_ms: None,
            latency_ms: 0,
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            cost_usd: None,
            request_bytes: 0,
            response_bytes: 0,
            attempts: Vec::new(),
            replay_of: None,
        }
    }
}
