//! `GET /api/live`: Server-Sent Events with each new and updated request and running totals.
//!
//! Events:
//! - `request`: a record (the `LogRecord` JSON) as the proxy publishes it: once when a stream's
//!   first byte goes out (outcome `in_progress`) and once when the request completes.
//! - `totals`: the `/api/stats` document over the same filters, sent on connect and then at most
//!   every [`TOTALS_EVERY`] while requests keep coming.
//! - `lagged`: `{"skipped": n}` when this subscriber fell behind the bounded feed and lost the
//!   `n` oldest events; the feed continues.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use switchboard_store::{LogRecord, Query, Store};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Interval, MissedTickBehavior};

use super::ApiError;
use super::params::{Params, matches};
use super::stats::StatsResponse;
use crate::AdminState;

/// Shortest gap between two `totals` events.
const TOTALS_EVERY: Duration = Duration::from_secs(2);

pub(crate) async fn feed(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut query = params.filter(&[])?;
    query.limit = None;
    query.cursor = None;
    // Subscribe before anything else so that no request completing from here on is missed.
    let events = state.control().subscribe();
    let mut tick = tokio::time::interval(TOTALS_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let feed = Feed {
        events,
        query,
        store: state.store().clone(),
        tick,
        totals_due: true,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|e| (Ok(e), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

struct Feed {
    events: broadcast::Receiver<Arc<LogRecord>>,
    query: Query,
    store: Arc<dyn Store>,
    tick: Interval,
    /// Something changed since the last `totals` event (or none was sent yet).
    totals_due: bool,
}

impl Feed {
    async fn next(&mut self) -> Option<Event> {
        loop {
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
                        return Some(json_event("request", &*rec));
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

fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned()))
}
