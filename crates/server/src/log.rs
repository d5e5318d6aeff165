//! The log row of one request, completed when the response ends — or, if the client goes away
//! first, when the response is dropped. Sending never blocks (see `switchboard_store::LogSender`).

use switchboard_protocol::Usage;
use switchboard_protocol::observe::Summary;
use switchboard_router::AttemptLog;
use switchboard_store::{AttemptRecord, LogRecord, LogSender};
use tokio::time::Instant;

use crate::state::Live;

pub(crate) struct RequestLog {
    rec: Option<LogRecord>,
    started: Instant,
    sender: LogSender,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RequestLog {
    pub(crate) fn new(rec: LogRecord, sender: LogSender) -> Self {
        Self {
            rec: Some(rec),
            started: Instant::now(),
            sender,
        }
    }

    pub(crate) fn record(&mut self) -> Option<&mut LogRecord> {
        self.rec.as_mut()
    }

    /// Marks the first byte sent to the client.
    pub(crate) fn first_byte(&mut self) {
        let elapsed = millis(self.started.elapsed());
        if let Some(r) = self.rec.as_mut()
            && r.ttfb_ms.is_none()
        {
            r.ttfb_ms = Some(elapsed);
        }
    }

    pub(crate) fn attempts(
        &mut self,
        live: &Live,
        requested: Option<&str>,
        attempts: &[AttemptLog],
    ) {
        let Some(r) = self.rec.as_mut() else { return };
        r.attempts = attempts
            .iter()
            .map(|a| AttemptRecord {
                endpoint: a.endpoint.clone(),
                model: requested.and_then(|m| {
                    live.endpoints
                        .iter()
                        .find(|e| e.cfg.name == a.endpoint)
                        .map(|e| live.map_model(e, m).to_owned())
                }),
                status: a.status,
                latency_ms: millis(a.latency),
                error: a.error.clone(),
                disposition: a.disposition.to_owned(),
            })
            .collect();
        if let Some(last) = attempts.last() {
            r.endpoint = Some(last.endpoint.clone());
            if r.routed_model.is_none() {
                r.routed_model = r.attempts.last().and_then(|a| a.model.clone());
            }
        }
    }

    pub(crate) fn summary(&mut self, s: &Summary) {
        let Some(r) = self.rec.as_mut() else { return };
        set_usage(r, &s.usage);
        if s.stop_reason.is_some() {
            r.stop_reason.clone_from(&s.stop_reason);
        }
    }

    /// Completes and sends the row.
    pub(crate) fn finish(&mut self, status: u16, outcome: &str, error: Option<String>) {
        let latency = millis(self.started.elapsed());
        if let Some(mut r) = self.rec.take() {
            r.status = status;
            r.outcome = outcome.to_owned();
            if error.is_some() {
                r.error = error;
            }
            r.latency_ms = latency;
            self.sender.send(r);
        }
    }
}

fn set_usage(r: &mut LogRecord, u: &Usage) {
    r.input_tokens = u.input_tokens;
    r.output_tokens = u.output_tokens;
    r.cache_creation_input_tokens = u.cache_creation_input_tokens;
    r.cache_read_input_tokens = u.cache_read_input_tokens;
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if self.rec.is_some() {
            let status = self.rec.as_ref().map_or(0, |r| r.status);
            self.finish(
                status,
                "client_closed",
                Some("client disconnected before the response ended".into()),
            );
        }
    }
}
