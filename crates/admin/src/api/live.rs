//! `GET /api/live`: Server-Sent Events with each new and updated request and running totals.
//!
//! Events:
//! - `request`: a record (the `LogRecord` JSON) as the proxy publishes it: once when a stream's
//!   first byte goes out (outcome `in_progress`) and once when the request completes.
//! - `totals`: the `/api/stats` document over the same filters, sent on connect and then at most
//!   every [`TOTALS_EVERY`] while requests keep coming.
//! - `lagged`: `{"skipped": n}` when this subscriber fell behind the bounded feed and lost the
//!   `n` oldest events; the feed continues.
//! - `coalesced`: `{"skipped": n}` under load, when the client asked for at most `max_rate`
//!   request events a second: the rest of that second's are counted instead of sent (the
//!   `totals` event that follows covers them); the list can be refreshed from `/api/requests`.
//!
//! Each `request` event carries its record's id as the SSE `id`. A client that reconnects with
//! `Last-Event-ID` (the browser's `EventSource` does by itself) first gets the stored records
//! from that one on (oldest first, at most [`RESUME_MAX`]), then the live feed: what it missed
//! while away, except records still in the log writer's queue when it came back.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use http::HeaderMap;
use serde_json::json;
use switchboard_store::{LogRecord, Query, Store};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use uuid::Uuid;

use super::ApiError;
use super::params::{Kind, Params, Spec, matches};
use super::stats::StatsResponse;
use crate::AdminState;

/// Shortest gap between two `totals` events.
const TOTALS_EVERY: Duration = Duration::from_secs(2);
pub(crate) const MAX_RATE: Spec = Spec {
    name: "max_rate",
    description: "Request events sent per second at most (default: all); past it they are counted in a `coalesced` event instead.",
    kind: Kind::Count { max: 10_000 },
};
/// Stored records sent at most when a client resumes.
pub(crate) const RESUME_MAX: u32 = 500;

pub(crate) async fn feed(
    State(state): State<AdminState>,
    headers: HeaderMap,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut query = params.filter(&[MAX_RATE])?;
    query.limit = None;
    query.cursor = None;
    let max_rate = params.count_of(&MAX_RATE)?.unwrap_or(u32::MAX);
    // Subscribe before anything else so that no request completing from here on is missed.
    let events = state.control().subscribe();
    let backlog = match last_event_id(&headers) {
        Some(id) => missed(state.store().as_ref(), &query, id).await?,
        None => Vec::new(),
    };
    let mut tick = tokio::time::interval(TOTALS_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let feed = Feed {
        events,
        query,
        store: state.store().clone(),
        tick,
        totals_due: true,
        backlog,
        window: Instant::now(),
        sent: 0,
        coalesced: 0,
        max_rate,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|e| (Ok(e), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn last_event_id(headers: &HeaderMap) -> Option<Uuid> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The stored records matching `query` from the one with `id` on (itself included: it may have
/// completed since), oldest first.
async fn missed(store: &dyn Store, query: &Query, id: Uuid) -> Result<Vec<LogRecord>, ApiError> {
    let Some(last) = store.get(id).await? else {
        return Ok(Vec::new());
    };
    let mut q = query.clone();
    q.from = Some(q.from.map_or(last.started_at, |f| f.max(last.started_at)));
    q.limit = Some(RESUME_MAX);
    let mut records = store.list(&q).await?.records;
    records.retain(|r| (r.started_at, r.id) >= (last.started_at, last.id));
    records.reverse();
    Ok(records)
}

struct Feed {
    events: broadcast::Receiver<Arc<LogRecord>>,
    query: Query,
    store: Arc<dyn Store>,
    tick: Interval,
    /// Something changed since the last `totals` event (or none was sent yet).
    totals_due: bool,
    /// Stored records a resuming client missed, oldest first, sent before the live ones.
    backlog: Vec<LogRecord>,
    /// The current second of coalescing, the request events sent in it, and those counted.
    window: Instant,
    sent: u32,
    coalesced: u64,
    max_rate: u32,
}

impl Feed {
    async fn next(&mut self) -> Option<Event> {
        if !self.backlog.is_empty() {
            let r = self.backlog.remove(0);
            return Some(request_event(&r));
        }
        loop {
            if self.window.elapsed() >= Duration::from_secs(1) {
                self.window = Instant::now();
                self.sent = 0;
                if self.coalesced > 0 {
                    let skipped = std::mem::take(&mut self.coalesced);
                    return Some(json_event("coalesced", &json!({"skipped": skipped})));
                }
            }
            tokio::select! {
                // The tick first: it is ready at most once per period, so it cannot starve the
                // records, while a busy feed would starve it the other way round.
                biased;
                _ = self.tick.tick(), if self.totals_due => {
                    self.totals_due = false;
                    if let Some(e) = self.totals().await {
                        return Some(e);
                    }
                }
                r = self.events.recv() => match r {
                    Ok(rec) if matches(&self.query, &rec) => {
                        self.totals_due = true;
                        if self.sent >= self.max_rate {
                            self.coalesced += 1;
                            continue;
                        }
                        self.sent += 1;
                        return Some(request_event(&rec));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(skipped)) => {
                        self.totals_due = true;
                        return Some(json_event("lagged", &json!({"skipped": skipped})));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    async fn totals(&self) -> Option<Event> {
        let store = &self.store;
        match store.stats(&self.query).await {
            Ok(stats) => Some(json_event("totals", &StatsResponse::from(stats))),
            Err(e) => {
                tracing::warn!(error = %e, "live feed: totals query failed");
                None
            }
        }
    }
}

/// A `request` event, with the record's id as the SSE id (what `Last-Event-ID` resumes from).
fn request_event(r: &LogRecord) -> Event {
    json_event("request", r).id(r.id.to_string())
}

fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned()))
}
