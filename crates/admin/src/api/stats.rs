//! `GET /api/stats`, `/api/stats/timeseries` and `/api/stats/breakdown`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use switchboard_store::{
    BreakdownBy, BreakdownRow, Bucket, Query, Stats, Store, TimeBucket, Totals,
};

use super::params::{Kind, Params, Spec};
use super::{ApiError, local};
use crate::AdminState;

pub(crate) const BUCKET: Spec = Spec {
    name: "bucket",
    description: "Width of each bucket: a local hour or day of `tz` (UTC by default).",
    kind: Kind::OneOf(&["hour", "day"]),
};

pub(crate) const BY: Spec = Spec {
    name: "by",
    description: "What to group by. `model` is the routed model, or the requested one when the request was never routed. `session` is the Claude Code session (`x-claude-code-session-id`): requests without one are left out, each row has first_seen and last_seen, the most recent session first, at most `limit` of them (default all).",
    kind: Kind::OneOf(&["model", "endpoint", "client_key", "session"]),
};

/// `/api/stats`: [`Stats`] plus the cache hit ratio.
#[derive(Debug, Serialize)]
pub(crate) struct StatsResponse {
    #[serde(flatten)]
    pub(crate) stats: Stats,
    /// Cache-read tokens over all prompt tokens (input + cache read + cache write).
    pub(crate) cache_hit_ratio: Option<f64>,
}

impl From<Stats> for StatsResponse {
    fn from(stats: Stats) -> Self {
        let cache_hit_ratio = stats.totals.cache_hit_ratio();
        Self {
            stats,
            cache_hit_ratio,
        }
    }
}

/// Totals with the derived ratios, as each time bucket and group is answered.
#[derive(Debug, Serialize)]
pub(crate) struct Summed {
    #[serde(flatten)]
    pub(crate) totals: Totals,
    pub(crate) success_rate: Option<f64>,
    pub(crate) cache_hit_ratio: Option<f64>,
}

impl From<Totals> for Summed {
    fn from(totals: Totals) -> Self {
        Self {
            success_rate: totals.success_rate(),
            cache_hit_ratio: totals.cache_hit_ratio(),
            totals,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct BucketRow {
    /// The bucket's first instant, in UTC.
    pub(crate) start: DateTime<Utc>,
    /// Its local name in `tz`: `2026-01-31`, `2026-01-31T14:00+01:00`.
    pub(crate) label: String,
    #[serde(flatten)]
    pub(crate) sums: Summed,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimeseriesResponse {
    pub(crate) bucket: Bucket,
    pub(crate) tz: String,
    /// Non-empty buckets only, oldest first.
    pub(crate) buckets: Vec<BucketRow>,
}

#[derive(Debug, Serialize)]
pub(crate) struct GroupRow {
    pub(crate) key: Option<String>,
    #[serde(flatten)]
    pub(crate) sums: Summed,
    /// The group's first and last request (sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_seen: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BreakdownResponse {
    pub(crate) by: BreakdownBy,
    /// Most requests first (sessions: the most recent first).
    pub(crate) rows: Vec<GroupRow>,
}

impl From<BreakdownRow> for GroupRow {
    fn from(r: BreakdownRow) -> Self {
        Self {
            key: r.key,
            sums: r.totals.into(),
            first_seen: r.first_seen,
            last_seen: r.last_seen,
        }
    }
}

pub(crate) fn bucket(word: &str) -> Bucket {
    if word == "day" {
        Bucket::Day
    } else {
        Bucket::Hour
    }
}

pub(crate) fn breakdown_by(word: &str) -> BreakdownBy {
    match word {
        "endpoint" => BreakdownBy::Endpoint,
        "client_key" => BreakdownBy::ClientKey,
        "session" => BreakdownBy::Session,
        _ => BreakdownBy::Model,
    }
}

pub(crate) async fn totals(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<StatsResponse>, ApiError> {
    let query = params.filter(&[])?;
    Ok(Json(state.store().stats(&query).await?.into()))
}

pub(crate) async fn timeseries(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<TimeseriesResponse>, ApiError> {
    let query = params.filter(&[BUCKET, local::TZ])?;
    let bucket = bucket(params.one_of(&BUCKET)?);
    let tz = local::zone(&params)?;
    let rows = local_series(state.store().as_ref(), &query, bucket, tz).await?;
    Ok(Json(TimeseriesResponse {
        bucket,
        tz: tz.name().to_owned(),
        buckets: rows
            .into_iter()
            .map(|(start, totals)| BucketRow {
                start,
                label: local::label(tz, bucket, start),
                sums: totals.into(),
            })
            .collect(),
    }))
}

/// Totals per local hour or day of `tz`, oldest first, non-empty only (see [`local`]).
pub(crate) async fn local_series(
    store: &dyn Store,
    query: &Query,
    bucket: Bucket,
    tz: Tz,
) -> Result<Vec<(DateTime<Utc>, Totals)>, ApiError> {
    let to_pairs = |rows: Vec<TimeBucket>| rows.into_iter().map(|b| (b.start, (), b.totals));
    if tz == Tz::UTC {
        return Ok(to_pairs(store.timeseries(query, bucket).await?)
            .map(|(s, (), t)| (s, t))
            .collect());
    }
    let mut slots = store.timeseries(query, Bucket::Hour).await?;
    if !local::all_aligned(tz, Bucket::Hour, slots.iter().map(|b| b.start)) {
        slots = if bucket == Bucket::Day {
            // A half-hour zone's day: only the hour holding local midnight straddles two days,
            // one UTC hour a day. Those are read again in quarter hours, the rest stay hourly
            // (from the rollups): a raw scan of one hour per day, not of the whole range.
            let hour = chrono::Duration::hours(1);
            let (mut whole, straddling): (Vec<_>, Vec<_>) = slots.into_iter().partition(|b| {
                local::bucket_start(tz, bucket, b.start)
                    == local::bucket_start(
                        tz,
                        bucket,
                        b.start + hour - chrono::Duration::microseconds(1),
                    )
            });
            for b in straddling {
                let mut q = query.clone();
                q.from = Some(q.from.map_or(b.start, |f| f.max(b.start)));
                q.to = Some(q.to.map_or(b.start + hour, |t| t.min(b.start + hour)));
                whole.extend(store.timeseries(&q, Bucket::QuarterHour).await?);
            }
            whole
        } else {
            store.timeseries(query, Bucket::QuarterHour).await?
        };
    }
    Ok(local::regroup(tz, bucket, to_pairs(slots))
        .into_iter()
        .map(|(s, (), t)| (s, t))
        .collect())
}

pub(crate) async fn breakdown(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<BreakdownResponse>, ApiError> {
    let query = params.filter(&[BY])?;
    let by = breakdown_by(params.one_of(&BY)?);
    let mut rows = state.store().breakdown(&query, by).await?;
    if let (BreakdownBy::Session, Some(limit)) = (by, query.limit) {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    Ok(Json(BreakdownResponse {
        by,
        rows: rows.into_iter().map(Into::into).collect(),
    }))
}
