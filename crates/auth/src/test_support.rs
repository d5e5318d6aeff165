//! A migrated SQLite admin store in a temporary directory, and fixed instants.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use switchboard_store::{AdminStore, SqliteStore, Store as _};

/// The store and its directory (which must outlive it).
pub(crate) async fn store() -> (tempfile::TempDir, Arc<dyn AdminStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("switchboard.db"))
        .await
        .expect("open sqlite store");
    store.migrate().await.expect("migrate");
    (dir, Arc::new(store))
}

/// 2025-01-15 10:00:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0)
        .single()
        .expect("valid date")
}

/// `t0 + secs` seconds.
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}
