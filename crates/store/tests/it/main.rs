//! The store's one integration-test binary: the shared behaviour suite against SQLite and
//! PostgreSQL, the writer against scripted stores. The million-row query benchmark is `bench/querylog.sh`.

mod admin;
mod audit;
mod audit_chunks;
mod dashboard;
mod keys;
mod rollups;
mod sqlite_writer;
mod suite;
mod support;
mod writer;

/// Runs every named case of `suite` against one backend, each in a fresh store.
macro_rules! store_suite {
    ($backend:ident => $runner:path; $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    $runner(crate::suite::$case).await;
                }
            )+
        }
    };
}

macro_rules! all_cases {
    ($backend:ident => $runner:path) => {
        store_suite!($backend => $runner;
            round_trip_preserves_every_field,
            upsert_replaces_record_and_attempts,
            every_filter_selects_what_it_says,
            keyset_pagination_has_no_gaps_or_duplicates,
            stats_match_hand_computed_values,
            timeseries_buckets_by_utc_hour_and_day,
            breakdowns_group_sum_and_compute_cache_ratio,
            retention_deletes_only_older_records,
            migrate_is_idempotent,
            writer_drains_everything_on_shutdown,
            failovers_count_moves_between_endpoints,
            failover_scan_stops_at_its_limit,
            keyed_timeseries_sums_per_bucket_and_key,
            quarter_hours_come_from_the_raw_rows,
            recent_attempts_are_the_last_ones,
            sessions_sum_their_requests_with_first_and_last_seen,
        );
    };
}

all_cases!(sqlite => crate::support::with_sqlite);
all_cases!(postgres => crate::support::with_postgres);
