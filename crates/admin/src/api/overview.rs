//! The overview's figures beyond totals: `GET /api/stats/heatmap` (a year of local days),
//! `/api/stats/failovers` (which endpoint gave way to which, and why) and `/api/stats/cache`
//! (prompt-cache hit ratio per endpoint over time, with each provider's own denominator).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use switchboard_protocol::Dialect;
use switchboard_store::{BreakdownBy, Bucket, FAILOVER_SCAN_LIMIT, Failovers, Totals};

use super::params::Params;
use super::stats::{BUCKET, bucket, local_series};
use super::{ApiError, local};
use crate::AdminState;

/// Days the heatmap covers, today included.
pub(crate) const HEATMAP_DAYS: i64 = 365;

#[derive(Debug, Serialize)]
pub(crate) struct HeatmapDay {
    /// The local date in `tz`.
    date: String,
    /// Its first instant, in UTC.
    start: DateTime<Utc>,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    cost_usd: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Heatmap {
    tz: String,
    /// The first day covered (365 days ago, or the `from` filter's day if later).
    from: String,
    /// Days with requests only, oldest first.
    days: Vec<HeatmapDay>,
}

/// `GET /api/stats/heatmap`: tokens by kind, requests and cost per local day over the last
/// 365 days (from the hourly rollups on SQLite), under the usual filters.
pub(crate) async fn heatmap(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<Heatmap>, ApiError> {
    let mut query = params.filter(&[local::TZ])?;
    let tz = local::zone(&params)?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let first = today - Duration::days(HEATMAP_DAYS - 1);
    let start = local::local_midnight(tz, first);
    query.from = Some(query.from.map_or(start, |f| f.max(start)));
    if query.to.is_some_and(|t| Some(t) <= query.from) {
        query.to = query.from.map(|f| f + Duration::microseconds(1));
    }
    let rows = local_series(state.store().as_ref(), &query, Bucket::Day, tz).await?;
    Ok(Json(Heatmap {
        tz: tz.name().to_owned(),
        from: query
            .from
            .map(|f| local::label(tz, Bucket::Day, f))
            .unwrap_or_default(),
        days: rows
            .into_iter()
            .map(|(start, t)| HeatmapDay {
                date: local::label(tz, Bucket::Day, start),
                start,
                requests: t.requests,
                input_tokens: t.input_tokens,
                output_tokens: t.output_tokens,
                cache_creation_input_tokens: t.cache_creation_input_tokens,
                cache_read_input_tokens: t.cache_read_input_tokens,
                cost_usd: t.cost_usd,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize)]
pub(crate) struct FailoversResponse {
    #[serde(flatten)]
    failovers: Failovers,
    /// The most requests that failed over the figures read (newest first).
    limit: u32,
}

/// `GET /api/stats/failovers`: requests that moved between endpoints, and each move (from, to,
/// the failed attempt's error class, what the router did) with its count. Reads only the
/// requests that failed over (an index of their own), the newest [`FAILOVER_SCAN_LIMIT`] at
/// most; `truncated` and `covered_from` say when the range held more.
pub(crate) async fn failovers(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<FailoversResponse>, ApiError> {
    let query = params.filter(&[])?;
    let failovers = state.store().failovers(&query, FAILOVER_SCAN_LIMIT).await?;
    Ok(Json(FailoversResponse {
        failovers,
        limit: FAILOVER_SCAN_LIMIT,
    }))
}

/// How a provider counts the prompt, and so what a cache hit ratio divides by. The log stores
/// usage in Anthropic's terms (`switchboard_protocol::observe`): `input_tokens` never includes
/// cached tokens; an OpenAI-style `prompt_tokens` (which includes `cached_tokens`) was stored as
/// `input_tokens = prompt_tokens - cached_tokens`, `cache_read_input_tokens = cached_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Denominator {
    /// Anthropic: `cache_read / (cache_read + cache_creation + input)`: every prompt token,
    /// written to the cache, read from it, or neither.
    Anthropic,
    /// OpenAI-compatible and Gemini: `cached_tokens / prompt_tokens`, that is
    /// `cache_read / (input + cache_read)` (these providers report no cache writes).
    PromptTokens,
}

impl Denominator {
    fn of(kind: Option<Dialect>) -> Self {
        match kind {
            Some(Dialect::OpenAiChat | Dialect::Gemini) => Self::PromptTokens,
            Some(Dialect::Anthropic) | None => Self::Anthropic,
        }
    }

    fn tokens(self, t: &Totals) -> u64 {
        let base = t.input_tokens.saturating_add(t.cache_read_input_tokens);
        match self {
            Self::Anthropic => base.saturating_add(t.cache_creation_input_tokens),
            Self::PromptTokens => base,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct CacheRow {
    start: DateTime<Utc>,
    label: String,
    endpoint: Option<String>,
    /// The endpoint's dialect as configured now (`null` for an endpoint no longer configured).
    kind: Option<&'static str>,
    denominator: Denominator,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
    input_tokens: u64,
    /// The tokens `hit_ratio` divides by.
    prompt_tokens: u64,
    hit_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CacheResponse {
    bucket: Bucket,
    tz: String,
    /// Oldest first, then by endpoint.
    rows: Vec<CacheRow>,
}

/// `GET /api/stats/cache`: per endpoint and local bucket, the cache reads, writes and
/// uncached input, and the hit ratio with the endpoint's own denominator ([`Denominator`]).
pub(crate) async fn cache(
    State(state): State<AdminState>,
    params: Params,
) -> Result<Json<CacheResponse>, ApiError> {
    let query = params.filter(&[BUCKET, local::TZ])?;
    let bucket = bucket(params.one_of(&BUCKET)?);
    let tz = local::zone(&params)?;
    let store = state.store();
    let by = BreakdownBy::Endpoint;
    let keyed = |rows: Vec<switchboard_store::KeyedBucket>| {
        rows.into_iter()
            .map(|b| (b.start, b.key, b.totals))
            .collect::<Vec<_>>()
    };
    let rows = if tz == Tz::UTC {
        keyed(store.timeseries_by(&query, bucket, by).await?)
    } else {
        let mut slots = store.timeseries_by(&query, Bucket::Hour, by).await?;
        if !local::all_aligned(tz, Bucket::Hour, slots.iter().map(|b| b.start)) {
            slots = store.timeseries_by(&query, Bucket::QuarterHour, by).await?;
        }
        local::regroup(tz, bucket, keyed(slots))
    };
    let live = state.control().live();
    let kind_of = |name: &Option<String>| {
        name.as_ref().and_then(|n| {
            live.config
                .endpoints
                .iter()
                .find(|e| &e.name == n)
                .map(|e| e.kind)
        })
    };
    Ok(Json(CacheResponse {
        bucket,
        tz: tz.name().to_owned(),
        rows: rows
            .into_iter()
            .map(|(start, endpoint, t)| {
                let kind = kind_of(&endpoint);
                let denominator = Denominator::of(kind);
                let prompt_tokens = denominator.tokens(&t);
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "a ratio; 2^52 tokens is not a concern"
                )]
                let hit_ratio = (prompt_tokens > 0)
                    .then(|| t.cache_read_input_tokens as f64 / prompt_tokens as f64);
                CacheRow {
                    start,
                    label: local::label(tz, bucket, start),
                    endpoint,
                    kind: kind.map(|k| match k {
                        Dialect::Anthropic => "anthropic",
                        Dialect::OpenAiChat => "openai",
                        Dialect::Gemini => "gemini",
                    }),
                    denominator,
                    cache_read_input_tokens: t.cache_read_input_tokens,
                    cache_creation_input_tokens: t.cache_creation_input_tokens,
                    input_tokens: t.input_tokens,
                    prompt_tokens,
                    hit_ratio,
                }
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_divides_by_its_own_prompt() {
        let t = Totals {
            input_tokens: 40,
            cache_read_input_tokens: 60,
            cache_creation_input_tokens: 100,
            ..Totals::default()
        };
        assert_eq!(Denominator::of(Some(Dialect::Anthropic)).tokens(&t), 200);
        // OpenAI's prompt_tokens = 100, cached_tokens = 60: 60 %.
        assert_eq!(Denominator::of(Some(Dialect::OpenAiChat)).tokens(&t), 100);
        assert_eq!(Denominator::of(None), Denominator::Anthropic);
    }
}
