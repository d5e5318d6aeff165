//! `GET /api/stats`, `/api/stats/timeseries` and `/api/stats/breakdown`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_store::{BreakdownBy, BreakdownRow, Bucket, Stats, TimeBucket, Totals};

use super::ApiError;
use super::params::{Kind, Params, Spec};
use crate::AdminState;

pub(crate) const BUCKET: Spec = Spec {
    name: "bucket",
    description: "Width of each bucket, aligned to UTC.",
    kind: Kind::OneOf(&["hour", "day"]),
};

pub(crate) const BY: Spec = Spec {
    name: "by",
    description: "What to group by. `model` is the routed model, or the requested one when the request was never routed.",
    kind: Kind::OneOf(&["model", "endpoint", "client_key"]),
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
    pub(crate) start: DateTime<Utc>,
    #[serde(flatten)]
    pub(crate) sums: Summed,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimeseriesResponse {
    pub(crate) bucket: Bucket,
    /// Non-empty buckets only, oldest first.
    pub(crate) buckets: Vec<BucketRow>,
}

#[derive(Debug, Serialize)]
pub(crate) struct GroupRow {
    pub(crate) key: Option<String>,
    #[serde(flatten)]
    pub(crate) sums: Summed,
}

#[derive(Debug, Serialize)]
pub(crate) struct BreakdownResponse {
    pub(crate) by: BreakdownBy,
    /// Most requests first.
    pub(crate) rows: Vec<GroupRow>,
}

impl From<TimeBucket> for BucketRow {
    fn from(b: TimeBucket) -> Self {
        Self {
            start: b.start,
            sums: b.totals.into(),
        }
    }
}

impl From<BreakdownRow> for GroupRow {
    fn from(r: BreakdownRow) -> Self {
        Self {
            key: r.key,
            sums: r.totals.into(),
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
    let query = params.filter(&[BUCKET])?;
    let bucket = bucket(params.one_of(&BUCKET)?);
    let rows = state.store().timeseries(&query, bucket).await?;
    Ok(Json(TimeseriesResponse {
        bucket,
        buckets: rows.into_iter().map(Into::into).collect(),
    }))
}

pub(crate) async fn breakdown(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<BreakdownResponse>, ApiError> {
    let query = params.filter(&[BY])?;
    let by = breakdown_by(params.one_of(&BY)?);
    let rows = state.store().breakdown(&query, by).await?;
    Ok(Json(BreakdownResponse {
        by,
        rows: rows.into_iter().map(Into::into).collect(),
    }))
}
