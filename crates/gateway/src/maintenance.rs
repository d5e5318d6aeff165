//! Background jobs started with the server: hourly retention of the request log and the audit
//! data (by age, then the audit size cap, oldest first), and the request log file writer.
//!
//! Both read the configuration in force when they run, so a reload changes retention without a
//! restart. Neither is on the request path.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use switchboard_store::{Store, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How often retention runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// What one retention run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Requests deleted by `storage.retention`.
    pub requests_deleted: u64,
    /// Audit entries deleted by `audit.retention` (or with their requests).
    pub audit_entries_deleted: u64,
    /// Audit bytes freed to stay under `audit.max_bytes`.
    pub audit_bytes_freed: u64,
    /// Audit bytes stored afterwards.
    pub audit_bytes: u64,
}

/// One retention run against `store` with the configuration in force.
///
/// # Errors
/// The store failed; whatever was deleted before stays deleted.
pub async fn run_once(state: &AppState, store: &dyn Store) -> Result<Report, StoreError> {
    let live = state.live();
    let now = Utc::now();
    let age = |d: Duration| {
        chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
    };
    let mut report = Report::default();
    let mut audit_before = age(live.config.audit.retention);
    if let Some(keep) = live.config.storage.retention {
        let before = age(keep);
        report.requests_deleted = store.delete_older_than(before).await?;
        // A request's audit data never outlives the request.
        audit_before = audit_before.max(before);
    }
    report.audit_entries_deleted = store.delete_audit_older_than(audit_before).await?;
    report.audit_bytes_freed = store.trim_audit(live.config.audit.max_bytes).await?;
    report.audit_bytes = store.audit_size().await?;
    state
        .0
        .metrics
        .audit_stored_bytes
        .store(report.audit_bytes, Ordering::Relaxed);
    Ok(report)
}

/// Starts the background jobs on the current runtime: retention against `store` now and every
/// [`INTERVAL`], and the log file writer. They stop when `shutdown` fires (the log file writer
/// after writing what is queued); await the handle to wait for that.
#[must_use]
pub fn spawn(
    state: AppState,
    store: std::sync::Arc<dyn Store>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let retention = async {
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                match run_once(&state, store.as_ref()).await {
                    Ok(r)
                        if r != Report {
                            audit_bytes: r.audit_bytes,
                            ..Report::default()
                        } =>
                    {
                        tracing::info!(?r, "retention: deleted old request log and audit data");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "retention run failed; will retry"),
                }
            }
        };
        tokio::join!(
            retention,
            crate::logfile::run(&state.0.log_file, shutdown.clone())
        );
    })
}
