//! The batch writer against scripted stores, in paused time: batching, back-pressure, failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use switchboard_store::{
    BreakdownBy, BreakdownRow, Bucket, LogRecord, LogSender, Page, Query, Stats, Store, StoreError,
    TimeBucket, WriterHandle, WriterOptions, spawn_writer,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::record;

/// A store that keeps batches in memory and reports each one (with the time it arrived) on a
/// channel. It can be made to wait on a gate before accepting, or to fail every write.
struct ScriptedStore {
    batches: mpsc::UnboundedSender<(Instant, usize)>,
    rows: Mutex<Vec<LogRecord>>,
    /// When set, each insert takes one permit first.
    gate: Option<Semaphore>,
    /// Inserts started, including failed ones.
    calls: AtomicU64,
    fail: bool,
    /// The flag handed out as [`Store::behind_flag`].
    behind: Arc<AtomicBool>,
    /// For each insert, whether the flag was raised when it began.
    behind_per_batch: Mutex<Vec<bool>>,
}

impl ScriptedStore {
    fn new(
        gate: Option<Semaphore>,
        fail: bool,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<(Instant, usize)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Self {
            batches: tx,
            rows: Mutex::new(Vec::new()),
            gate,
            calls: AtomicU64::new(0),
            fail,
            behind: Arc::default(),
            behind_per_batch: Mutex::new(Vec::new()),
        };
        (Arc::new(store), rx)
    }
}

#[async_trait::async_trait]
impl Store for ScriptedStore {
    fn backend(&self) -> &'static str {
        "scripted"
    }
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn behind_flag(&self) -> Option<Arc<AtomicBool>> {
        Some(Arc::clone(&self.behind))
    }
    async fn insert_batch(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.behind_per_batch
            .lock()
            .push(self.behind.load(Ordering::SeqCst));
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        if self.fail {
            return Err(StoreError::Database(sqlx::Error::Protocol(
                "database is locked".into(),
            )));
        }
        self.rows.lock().extend_from_slice(records);
        let _ = self.batches.send((Instant::now(), records.len()));
        Ok(())
    }
    async fn get(&self, id: Uuid) -> Result<Option<LogRecord>, StoreError> {
        Ok(self.rows.lock().iter().rev().find(|r| r.id == id).cloned())
    }
    async fn list(&self, _: &Query) -> Result<Page, StoreError> {
        Ok(Page::default())
    }
    async fn stats(&self, _: &Query) -> Result<Stats, StoreError> {
        Ok(Stats::default())
    }
    async fn timeseries(&self, _: &Query, _: Bucket) -> Result<Vec<TimeBucket>, StoreError> {
        Ok(Vec::new())
    }
    async fn breakdown(&self, _: &Query, _: BreakdownBy) -> Result<Vec<BreakdownRow>, StoreError> {
        Ok(Vec::new())
    }
    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.rows.lock().len() as u64)
    }
    async fn delete_older_than(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}

fn opts(batch_size: usize) -> WriterOptions {
    WriterOptions {
        batch_size,
        flush_interval: Duration::from_millis(200),
        max_retries: 2,
        retry_backoff: Duration::from_millis(10),
    }
}

#[tokio::test(start_paused = true)]
async fn batches_by_count_then_by_interval() {
    let (store, mut batches) = ScriptedStore::new(None, false);
    let (sender, handle) = spawn_writer(store.clone(), 1000, opts(256));
    let start = Instant::now();
    for i in 0..600 {
        sender.send(record(i));
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (when, n) = batches.recv().await.expect("a batch");
        seen.push((when - start, n));
    }
    assert_eq!(
        seen,
        vec![
            (Duration::ZERO, 256),
            (Duration::ZERO, 256),
            (Duration::from_millis(200), 88),
        ]
    );
    handle.shutdown().await;
    assert_eq!(sender.stats().written, 600);
}

#[tokio::test(start_paused = true)]
async fn partial_batch_waits_exactly_one_interval() {
    let (store, mut batches) = ScriptedStore::new(None, false);
    let (sender, handle) = spawn_writer(store.clone(), 100, opts(256));
    tokio::time::sleep(Duration::from_secs(5)).await; // an idle writer writes nothing
    assert!(batches.try_recv().is_err());
    let start = Instant::now();
    for i in 0..3 {
        sender.send(record(i));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    sender.send(record(3)); // joins the open batch without extending its deadline
    let (when, n) = batches.recv().await.expect("a batch");
    assert_eq!((when - start, n), (Duration::from_millis(200), 4));
    assert_eq!(sender.stats().queued, 0);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn full_queue_drops_and_counts_without_blocking() {
    let (store, mut batches) = ScriptedStore::new(Some(Semaphore::new(0)), false);
    let (sender, handle) = spawn_writer(store.clone(), 8, opts(1));
    sender.send(record(0));
    // Let the writer take that record and block inside the store.
    while store.calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let start = Instant::now();
    for i in 1..=100 {
        sender.send(record(i));
    }
    assert_eq!(Instant::now(), start, "send never waits");
    let stats = sender.stats();
    assert_eq!((stats.dropped, stats.queued, stats.written), (92, 9, 0));

    // Once the database catches up, everything accepted is written.
    store.gate.as_ref().expect("gated").add_permits(1000);
    handle.shutdown().await;
    let stats = sender.stats();
    assert_eq!((stats.written, stats.dropped, stats.queued), (9, 92, 0));
    let mut total = 0;
    while let Ok((_, n)) = batches.try_recv() {
        total += n;
    }
    assert_eq!(total, 9);
}

/// A writer (queue of `capacity`, batches of `batch_size`) whose store is gated shut, once it
/// has taken a first record and waits inside the store with it while the test queues more.
async fn writer_held_in_store(
    capacity: usize,
    batch_size: usize,
) -> (Arc<ScriptedStore>, LogSender, WriterHandle) {
    let (store, _batches) = ScriptedStore::new(Some(Semaphore::new(0)), false);
    let (sender, handle) = spawn_writer(store.clone(), capacity, opts(batch_size));
    sender.send(record(0));
    // Sleep, not yield: paused time moves only while the runtime is idle, and the writer waits
    // out its flush interval before writing a one-record batch.
    while store.calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (store, sender, handle)
}

/// Opens the gate of [`writer_held_in_store`]'s store and waits until `total` records are written.
async fn release_until_written(store: &ScriptedStore, sender: &LogSender, total: u64) {
    let permits = usize::try_from(total).expect("a small count");
    store.gate.as_ref().expect("gated").add_permits(permits);
    while sender.stats().written < total {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_backed_up_queue_raises_the_behind_flag_until_it_has_caught_up() {
    let (store, sender, handle) = writer_held_in_store(10_000, 256).await;
    for i in 1..=2047 {
        sender.send(record(i));
    }
    assert!(
        !store.behind.load(Ordering::SeqCst),
        "2,047 queued: not behind"
    );
    sender.send(record(2048));
    assert!(
        store.behind.load(Ordering::SeqCst),
        "2,048 queued: behind at once"
    );
    for i in 2049..=3000 {
        sender.send(record(i));
    }
    release_until_written(&store, &sender, 3001).await;
    // Ten full batches are written while behind; before the eleventh, 184 are left waiting
    // (less than a batch): caught up, and it and the remainder are written at the polite pace.
    let mut expected = vec![false];
    expected.extend([true; 10]);
    expected.extend([false, false]);
    assert_eq!(*store.behind_per_batch.lock(), expected);
    assert!(!store.behind.load(Ordering::SeqCst));

    // A small queue (capacity 100) is behind from a quarter of it.
    let (small, sender, small_handle) = writer_held_in_store(100, 10).await;
    for i in 1..=29 {
        sender.send(record(i));
    }
    assert!(
        small.behind.load(Ordering::SeqCst),
        "29 queued of 100: behind"
    );
    release_until_written(&small, &sender, 30).await;
    // 10 in the next batch and 19 waiting: still behind; then 9 waiting: caught up.
    assert_eq!(*small.behind_per_batch.lock(), [false, true, false, false]);
    handle.shutdown().await;
    small_handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failing_store_counts_lost_batches_and_keeps_accepting() {
    let (store, _batches) = ScriptedStore::new(None, true);
    let (sender, handle) = spawn_writer(store.clone(), 100, opts(256));
    for i in 0..5 {
        sender.send(record(i));
    }
    // 200 ms interval, then three tries with 10 + 20 ms backoff between them.
    tokio::time::sleep(Duration::from_millis(231)).await;
    let stats = sender.stats();
    assert_eq!(
        (
            stats.failed_batches,
            stats.lost,
            stats.written,
            stats.queued
        ),
        (1, 5, 0, 0)
    );
    assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    assert_eq!(stats.retries, 2, "two retries after the first failure");
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("database is locked")),
        "{stats:?}"
    );

    // The proxy side is unaffected: sends are still accepted, and shutdown still completes.
    for i in 5..8 {
        sender.send(record(i));
    }
    assert_eq!(sender.stats().dropped, 0);
    handle.shutdown().await;
    let stats = sender.stats();
    assert_eq!((stats.failed_batches, stats.lost, stats.queued), (2, 8, 0));
}

#[tokio::test(start_paused = true)]
async fn dropping_every_sender_flushes_at_once() {
    let (store, mut batches) = ScriptedStore::new(None, false);
    let (sender, handle) = spawn_writer(store.clone(), 100, opts(256));
    let clone = sender.clone();
    let start = Instant::now();
    clone.send(record(0));
    drop(clone);
    sender.send(record(1));
    drop(sender);
    // No waiting for the interval: a closed queue ends the batch.
    let (when, n) = batches.recv().await.expect("a batch");
    assert_eq!((when - start, n), (Duration::ZERO, 2));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_against_a_dead_store_gives_up_after_one_batch() {
    let (store, _batches) = ScriptedStore::new(None, true);
    let (sender, handle) = spawn_writer(store.clone(), 100, opts(1));
    for i in 0..10 {
        sender.send(record(i));
    }
    let start = Instant::now();
    handle.shutdown().await;
    // One batch tries 3 times (10 + 20 ms backoff); the other nine are not tried at all.
    assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    assert_eq!(Instant::now() - start, Duration::from_millis(30));
    let stats = sender.stats();
    assert_eq!(
        (
            stats.lost,
            stats.failed_batches,
            stats.queued,
            stats.written
        ),
        (10, 10, 0, 0)
    );
}
