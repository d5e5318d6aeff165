//! The batch writer: the only bridge between the request path and the database.
//!
//! Invariants: [`LogSender::send`] never blocks, never fails and never allocates beyond the
//! record it is handed; every record it accepts is eventually written, or counted as lost in a
//! failed batch; [`WriterHandle::shutdown`] returns only after everything accepted before it was
//! called has been written or counted.
//!
//! A database that is locked, slow or gone shows as counters ([`WriterStats`]): `retries` while
//! the writer is still trying, then `failed_batches` and `lost`; `dropped` once the queue is full.
//! Writing resumes by itself when the database comes back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{AuditBundle, LogRecord, Store};

/// Most audit data (bytes of bodies and headers) held in the queue at once. Beyond it, records
/// are still queued but without their audit data, which is counted as dropped: a slow database
/// must not make the gateway hold gigabytes of bodies.
pub const MAX_QUEUED_AUDIT_BYTES: u64 = 256 << 20;

/// Records in the queue (at most a quarter of its capacity) from which the writer is behind
/// ([`Store::behind_flag`]); it has caught up once less than one batch is waiting. A short
/// burst stays below it; on one core saturated by the bench's load (which keeps other threads
/// runnable, so every yield of the SQLite writer puts it a whole time slice further back) the
/// queue went on to its 10,000-record limit and records were dropped.
const BEHIND_AT: usize = 2048;

/// One queue entry: a record and, optionally, its audit data.
struct Queued {
    record: LogRecord,
    audit: Option<AuditBundle>,
}

/// How the writer batches and retries.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Most records per `insert_batch`.
    pub batch_size: usize,
    /// Longest a record waits in a partial batch.
    pub flush_interval: Duration,
    /// Retries of a failed batch before it is dropped (so `max_retries + 1` tries in all).
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            flush_interval: Duration::from_millis(200),
            max_retries: 3,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// Counters of the writer, for the status endpoint and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterStats {
    /// Accepted but not yet written nor lost: in the queue or in the batch being written.
    pub queued: u64,
    /// Records written to the store.
    pub written: u64,
    /// Records refused by [`LogSender::send`] because the queue was full or the writer stopped.
    pub dropped: u64,
    /// Batches given up on after every retry failed.
    pub failed_batches: u64,
    /// Records in those batches.
    pub lost: u64,
    /// Writes (of records or audit data) retried after a store error: the database was locked,
    /// slow or unreachable, and may have recovered since.
    #[serde(default)]
    pub retries: u64,
    /// The most recent store error, retried or not.
    pub last_error: Option<String>,
    /// Requests whose audit data was written.
    #[serde(default)]
    pub audit_written: u64,
    /// Requests whose audit data was refused: the queue held too much audit data, or the record
    /// itself was dropped.
    #[serde(default)]
    pub audit_dropped: u64,
    /// Requests whose audit data was lost to a failed write.
    #[serde(default)]
    pub audit_lost: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed_batches: AtomicU64,
    lost: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
    audit_queued_bytes: AtomicU64,
    audit_written: AtomicU64,
    audit_dropped: AtomicU64,
    audit_lost: AtomicU64,
}

/// The proxy's end of the log queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogSender {
    tx: mpsc::Sender<Queued>,
    counters: Arc<Counters>,
    /// The store's [`Store::behind_flag`], raised here from [`BEHIND_AT`] queued records.
    behind: Arc<AtomicBool>,
    behind_at: usize,
}

impl LogSender {
    /// Queues `record` for writing. Never blocks and never fails: when the queue is full (the
    /// database is slower than the traffic) or the writer has stopped, the record is dropped
    /// and counted in [`WriterStats::dropped`].
    pub fn send(&self, record: LogRecord) {
        self.send_with_audit(record, None);
    }

    /// Queues `record` with its audit data, which is written after the record. Never blocks:
    /// beyond [`MAX_QUEUED_AUDIT_BYTES`] of queued audit data the record goes without it
    /// (counted in [`WriterStats::audit_dropped`]).
    pub fn send_with_audit(&self, record: LogRecord, audit: Option<AuditBundle>) {
        let c = &self.counters;
        let mut audit_bytes = 0;
        let audit = audit.filter(|a| {
            let size = a.size() as u64;
            let queued = c.audit_queued_bytes.fetch_add(size, Ordering::Relaxed);
            if queued + size > MAX_QUEUED_AUDIT_BYTES {
                c.audit_queued_bytes.fetch_sub(size, Ordering::Relaxed);
                c.audit_dropped.fetch_add(1, Ordering::Relaxed);
                false
            } else {
                audit_bytes = size;
                true
            }
        });
        // Count before the send so the writer can never observe a write it hasn't been told of.
        c.accepted.fetch_add(1, Ordering::Relaxed);
        if self.tx.try_send(Queued { record, audit }).is_ok() {
            if self.tx.max_capacity() - self.tx.capacity() >= self.behind_at
                && !self.behind.load(Ordering::Relaxed)
            {
                self.behind.store(true, Ordering::Relaxed);
            }
        } else {
            c.accepted.fetch_sub(1, Ordering::Relaxed);
            c.dropped.fetch_add(1, Ordering::Relaxed);
            if audit_bytes > 0 {
                c.audit_queued_bytes
                    .fetch_sub(audit_bytes, Ordering::Relaxed);
                c.audit_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A snapshot of the writer's counters.
    #[must_use]
    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        let written = c.written.load(Ordering::Relaxed);
        let lost = c.lost.load(Ordering::Relaxed);
        WriterStats {
            queued: c
                .accepted
                .load(Ordering::Relaxed)
                .saturating_sub(written)
                .saturating_sub(lost),
            written,
            dropped: c.dropped.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            lost,
            retries: c.retries.load(Ordering::Relaxed),
            last_error: c.last_error.lock().clone(),
            audit_written: c.audit_written.load(Ordering::Relaxed),
            audit_dropped: c.audit_dropped.load(Ordering::Relaxed),
            audit_lost: c.audit_lost.load(Ordering::Relaxed),
        }
    }
}

/// Owns the writer task; [`WriterHandle::shutdown`] drains it.
#[derive(Debug)]
pub struct WriterHandle {
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl WriterHandle {
    /// Stops accepting records, writes everything already queued, and waits for the task.
    /// Records sent after this is called are dropped and counted.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Starts the writer task on the current Tokio runtime with a queue of `capacity` records.
///
/// The task also ends, after draining, when every [`LogSender`] is dropped.
#[must_use]
pub fn spawn_writer(
    store: Arc<dyn Store>,
    capacity: usize,
    opts: WriterOptions,
) -> (LogSender, WriterHandle) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let behind = store.behind_flag().unwrap_or_default();
    let counters = Arc::new(Counters::default());
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let writer = Writer {
        store,
        rx,
        opts: WriterOptions {
            batch_size: opts.batch_size.max(1),
            ..opts
        },
        counters: Arc::clone(&counters),
        behind: Arc::clone(&behind),
    };
    tracker.spawn(writer.run(cancel.clone()));
    let sender = LogSender {
        tx,
        counters,
        behind,
        behind_at: BEHIND_AT.min(capacity / 4).max(1),
    };
    (sender, WriterHandle { cancel, tracker })
}

struct Writer {
    store: Arc<dyn Store>,
    rx: mpsc::Receiver<Queued>,
    opts: WriterOptions,
    counters: Arc<Counters>,
    /// Raised by the senders ([`LogSender::send`]), lowered here once caught up.
    behind: Arc<AtomicBool>,
}

impl Writer {
    async fn run(mut self, cancel: CancellationToken) {
        let mut batch = Vec::with_capacity(self.opts.batch_size);
        loop {
            // Wait for the first record of a batch (or for shutdown).
            let received = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                n = self.rx.recv_many(&mut batch, self.opts.batch_size) => n,
            };
            if received == 0 {
                // Every sender is gone and the queue is empty.
                return;
            }
            // Fill the batch until it is full or its first record has waited long enough.
            let deadline = Instant::now() + self.opts.flush_interval;
            while batch.len() < self.opts.batch_size {
                let room = self.opts.batch_size - batch.len();
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep_until(deadline) => break,
                    n = self.rx.recv_many(&mut batch, room) => if n == 0 { break },
                }
            }
            self.catch_up();
            self.flush(&mut batch).await;
        }
        // Shutdown: refuse new records, then write what is left. Once a batch has failed every
        // retry the database is not taking writes, and the rest is counted as lost untried: a
        // locked database must not hold shutdown for a retry ladder per queued batch.
        self.rx.close();
        let mut gave_up = !self.flush(&mut batch).await;
        while self.rx.recv_many(&mut batch, self.opts.batch_size).await > 0 {
            if gave_up {
                self.discard(&mut batch);
            } else {
                gave_up = !self.flush(&mut batch).await;
            }
        }
    }

    /// Lowers the behind flag once less than one batch is waiting besides the one about to be
    /// written.
    fn catch_up(&self) {
        if self.behind.load(Ordering::Relaxed) && self.rx.len() < self.opts.batch_size {
            self.behind.store(false, Ordering::Relaxed);
        }
    }

    /// Counts `queued` as lost without trying to write it, and empties it.
    fn discard(&self, queued: &mut Vec<Queued>) {
        let c = &self.counters;
        c.failed_batches.fetch_add(1, Ordering::Relaxed);
        c.lost.fetch_add(queued.len() as u64, Ordering::Relaxed);
        for q in queued.drain(..) {
            if let Some(a) = q.audit {
                c.audit_lost.fetch_add(1, Ordering::Relaxed);
                c.audit_queued_bytes
                    .fetch_sub(a.size() as u64, Ordering::Relaxed);
            }
        }
    }

    /// Writes `batch` (records, then their audit data), retrying with exponential backoff, and
    /// empties it either way. Whether the records got in (an empty batch did).
    async fn flush(&self, queued: &mut Vec<Queued>) -> bool {
        if queued.is_empty() {
            return true;
        }
        let mut audits = Vec::new();
        // Shared, not copied, with the store (SQLite writes it on a blocking thread) and kept
        // here for the retries.
        let batch: Arc<[LogRecord]> = queued
            .drain(..)
            .map(|q| {
                audits.extend(q.audit);
                q.record
            })
            .collect();
        let audit_bytes: u64 = audits.iter().map(|a| a.size() as u64).sum();
        let written = self.write_records(batch).await;
        let c = &self.counters;
        if !audits.is_empty() {
            let n = audits.len() as u64;
            if written && self.write_audit(&audits).await {
                c.audit_written.fetch_add(n, Ordering::Relaxed);
            } else {
                c.audit_lost.fetch_add(n, Ordering::Relaxed);
            }
            c.audit_queued_bytes
                .fetch_sub(audit_bytes, Ordering::Relaxed);
        }
        written
    }

    /// Writes the audit data of written records, with the same retries; whether it got in.
    async fn write_audit(&self, audits: &[AuditBundle]) -> bool {
        let mut backoff = self.opts.retry_backoff;
        for attempt in 0..=self.opts.max_retries {
            match self.store.insert_audit(audits).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(%error, attempt, requests = audits.len(), "audit write failed");
                    *self.counters.last_error.lock() = Some(error.to_string());
                    if attempt < self.opts.max_retries {
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    }
                }
            }
        }
        false
    }

    /// Writes `batch` with retries; whether it got in.
    async fn write_records(&self, batch: Arc<[LogRecord]>) -> bool {
        let mut backoff = self.opts.retry_backoff;
        for attempt in 0..=self.opts.max_retries {
            match self.store.insert_batch_shared(Arc::clone(&batch)).await {
                Ok(()) => {
                    self.counters
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return true;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, records = batch.len(), "log batch write failed");
                    *self.counters.last_error.lock() = Some(error.to_string());
                    if attempt < self.opts.max_retries {
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    }
                }
            }
        }
        tracing::error!(
            records = batch.len(),
            "dropping log batch after repeated failures"
        );
        self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        self.counters
            .lost
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        false
    }
}
