//! The dashboard's queries on SQLite: time series per key, failovers (through the partial
//! index of the requests that failed over, migration 0010) and the attempts of the last hour.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::rollup::{Group, GroupKey};
use super::{micros_to_time, push_filters, time_range};
use crate::query::{
    BreakdownBy, Bucket, FailoverRow, Failovers, KeyedBucket, Query, RecentAttempt, fold_failovers,
    from_db, status_from_db,
};
use crate::{SqliteStore, StoreError};

impl SqliteStore {
    pub(super) async fn keyed_timeseries(
        &self,
        query: &Query,
        bucket: Bucket,
        by: BreakdownBy,
    ) -> Result<Vec<KeyedBucket>, StoreError> {
        let groups = self
            .aggregate(query, Group::BucketKey(bucket.micros(), by))
            .await?;
        groups
            .into_iter()
            .map(|(key, (totals, _))| {
                let GroupKey::TimeText(start, key) = key else {
                    return Err(
                        sqlx::Error::Decode("bucket key is not a time and key".into()).into(),
                    );
                };
                Ok(KeyedBucket {
                    start: micros_to_time(start)?,
                    key,
                    totals,
                })
            })
            .collect()
    }

    pub(super) async fn failover_figures(
        &self,
        query: &Query,
        limit: u32,
    ) -> Result<Failovers, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT r.id, r.started_at, a.endpoint, a.status, a.error_class, a.disposition \
             FROM (SELECT id, started_at FROM requests",
        );
        if query.like_pattern().is_none() {
            // Only the requests that failed over: a few in a hundred, where the time index
            // would walk them all.
            qb.push(" INDEXED BY requests_failover");
        }
        let mut w = push_filters(&mut qb, query, time_range(query));
        w.and(&mut qb).push("failovers > 0");
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1)
            .push(
                ") r JOIN attempts a ON a.request_id = r.id \
                 ORDER BY r.started_at DESC, r.id DESC, a.seq",
            );
        let mut rows = Vec::new();
        let mut starts: Vec<(Uuid, i64)> = Vec::new();
        for row in qb.build().fetch_all(self.pool()).await? {
            let id: Uuid = row.try_get(0)?;
            if starts.last().is_none_or(|(last, _)| *last != id) {
                starts.push((id, row.try_get(1)?));
            }
            rows.push(FailoverRow {
                request: id,
                endpoint: row.try_get(2)?,
                status: row.try_get::<Option<i64>, _>(3)?.map(status_from_db),
                error_class: row.try_get(4)?,
                disposition: row.try_get(5)?,
            });
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let truncated = starts.len() > limit;
        if truncated {
            starts.truncate(limit);
            if let Some((last, _)) = starts.last().copied() {
                let keep = rows
                    .iter()
                    .rposition(|r| r.request == last)
                    .map_or(0, |i| i + 1);
                rows.truncate(keep);
            }
        }
        Ok(Failovers {
            requests_with_failover: starts.len() as u64,
            transitions: fold_failovers(&rows),
            truncated,
            covered_from: match starts.last() {
                Some((_, t)) if truncated => Some(micros_to_time(*t)?),
                _ => None,
            },
        })
    }

    pub(super) async fn attempts_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<(Vec<RecentAttempt>, bool), StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, a.endpoint, a.disposition, r.latency_ms \
             FROM (SELECT id, started_at, latency_ms FROM requests WHERE started_at >= ? \
                   ORDER BY started_at DESC LIMIT ?) r \
             JOIN attempts a ON a.request_id = r.id ORDER BY r.started_at DESC, r.id, a.seq",
        )
        .bind(since.timestamp_micros())
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        recent(
            rows.iter().map(|row| {
                Ok((
                    row.try_get::<Uuid, _>(0)?,
                    RecentAttempt {
                        endpoint: row.try_get(1)?,
                        disposition: crate::sql::word(row.try_get(2)?)?,
                        request_latency_ms: from_db(row.try_get(3)?),
                    },
                ))
            }),
            limit,
        )
    }
}

/// The attempts of at most `limit` requests (the query fetched one more to tell whether there
/// were more), and whether there were.
pub(crate) fn recent(
    rows: impl Iterator<Item = Result<(Uuid, RecentAttempt), sqlx::Error>>,
    limit: u32,
) -> Result<(Vec<RecentAttempt>, bool), StoreError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut requests = 0;
    let mut last = None;
    for row in rows {
        let (id, attempt) = row?;
        if last != Some(id) {
            requests += 1;
            last = Some(id);
            if requests > limit {
                return Ok((out, true));
            }
        }
        out.push(attempt);
    }
    Ok((out, false))
}
