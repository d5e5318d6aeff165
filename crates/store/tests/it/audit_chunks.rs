//! Audit bodies stored once across the requests of a session (content-defined chunks with
//! reference counts): every request reads back byte for byte after deletions, retention and the
//! size cap free what no other request uses and nothing else, a writer killed in the middle of a
//! batch loses no committed body and leaks no chunk, and rows of the format before still read.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use switchboard_store::{AuditBundle, AuditCheck, AuditEntry, AuditKind, SqliteStore, Store};
use uuid::Uuid;

use crate::support::{at, open_sqlite, record};

macro_rules! chunk_suite {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::support::with_sqlite(super::$case).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::support::with_postgres(super::$case).await;
                }
            )+
        }
    };
}

chunk_suite!(
    a_session_is_stored_once_and_survives_deletion_retention_and_the_cap,
    replacing_a_request_keeps_the_chunks_others_share,
);

/// Prose-like bytes, different for each `seed` (they compress as text does).
fn prose(seed: u64, len: usize) -> String {
    const WORDS: [&str; 16] = [
        "the ",
        "parser ",
        "flaky ",
        "integration ",
        "test ",
        "should ",
        "retry ",
        "when ",
        "a ",
        "stream ",
        "ends ",
        "early, ",
        "so ",
        "we ",
        "log ",
        "it. ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(WORDS[usize::try_from(x % 16).expect("small")]);
    }
    out.truncate(len);
    out
}

/// Turn `turn` of a Claude-Code-like session: the whole conversation so far (a long system
/// prompt, every earlier turn, the cache marker on the last user turn), forwarded as it came,
/// answered by a stream of new text.
fn turn(id: Uuid, turn: u64, secs: i64) -> AuditBundle {
    let mut messages = Vec::new();
    for t in 0..=turn {
        let last = t == turn;
        let mut block = serde_json::json!({"type": "text", "text": prose(1000 + t, 1500)});
        if last {
            block["cache_control"] = serde_json::json!({"type": "ephemeral"});
        }
        messages.push(serde_json::json!({"role": "user", "content": [block]}));
        if !last {
            messages
                .push(serde_json::json!({"role": "assistant", "content": prose(2000 + t, 1500)}));
        }
    }
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5",
        "messages": messages,
        "system": [{"type": "text", "text": prose(7, 30_000)}],
        "stream": true,
    })
    .to_string();
    let mut client = AuditEntry::new(AuditKind::ClientRequest);
    client.method = Some("POST".into());
    client.url = Some("/v1/messages?beta=true".into());
    client.headers = vec![("content-type".into(), "application/json".into())];
    client.body = vec![Bytes::from(body)];
    let mut forwarded = client.clone();
    forwarded.kind = AuditKind::UpstreamRequest;
    forwarded.attempt = Some(0);
    forwarded.endpoint = Some("primary".into());
    let answer = prose(2000 + turn, 1500);
    let mut upstream = AuditEntry::new(AuditKind::UpstreamResponse);
    upstream.attempt = Some(0);
    upstream.status = Some(200);
    upstream.body = answer
        .as_bytes()
        .chunks(100)
        .map(|text| {
            Bytes::from(format!(
                "event: content_block_delta\ndata: {{\"delta\":{{\"text\":{:?}}}}}\n\n",
                String::from_utf8_lossy(text)
            ))
        })
        .collect();
    upstream.offsets_ms = (0..upstream.body.len() as u64).map(|i| 100 + i).collect();
    let mut answered = upstream.clone();
    answered.kind = AuditKind::ClientResponse;
    answered.attempt = None;
    AuditBundle {
        request_id: id,
        created_at: at(secs),
        entries: vec![client, forwarded, upstream, answered],
    }
}

async fn assert_consistent(store: &dyn Store) -> AuditCheck {
    let check = store.check_audit().await.expect("check");
    assert!(check.is_consistent(), "{check:?}");
    assert_eq!(
        store.audit_size().await.expect("size"),
        check.stored_bytes,
        "the counter the cap reads"
    );
    check
}

/// Each of `turns` reads back as stored (`Some`) or not at all (`None`).
async fn assert_reads(store: &dyn Store, turns: &[(AuditBundle, bool)]) {
    for (i, (b, present)) in turns.iter().enumerate() {
        let got = store.get_audit(b.request_id).await.expect("get");
        if *present {
            assert!(got == b.entries, "turn {i} reads back byte for byte");
        } else {
            assert!(got.is_empty(), "turn {i} is gone");
        }
    }
}

pub(crate) async fn a_session_is_stored_once_and_survives_deletion_retention_and_the_cap(
    store: Arc<dyn Store>,
) {
    let s = store.as_ref();
    let mut turns: Vec<(AuditBundle, bool)> = (0..12)
        .map(|t| {
            (
                turn(Uuid::now_v7(), t, i64::try_from(t).expect("small") * 60),
                true,
            )
        })
        .collect();
    // One transaction per request, as the writer does at concurrency 1.
    for (b, _) in &turns {
        s.insert_audit(std::slice::from_ref(b))
            .await
            .expect("insert");
    }
    let captured: usize = turns.iter().map(|(b, _)| b.size()).sum();
    let check = assert_consistent(s).await;
    assert_eq!(check.requests, 12);
    // Whole, the session's bodies add up to ~12 × 60 KiB; each turn adds ~3 KiB of prose.
    assert!(
        check.stored_bytes * 8 < captured as u64,
        "stored {} of {captured} captured bytes",
        check.stored_bytes
    );
    assert_reads(s, &turns).await;

    // One request of the session deleted: the others keep every chunk they share with it.
    assert_eq!(
        s.delete_audit(&[turns[5].0.request_id])
            .await
            .expect("delete"),
        4
    );
    turns[5].1 = false;
    assert_reads(s, &turns).await;
    assert_consistent(s).await;

    // Retention: the three oldest turns.
    let deleted = s
        .delete_audit_older_than(at(3 * 60))
        .await
        .expect("retention");
    assert_eq!(deleted, 12);
    for t in &mut turns[..3] {
        t.1 = false;
    }
    assert_reads(s, &turns).await;
    assert_consistent(s).await;

    // The size cap: one byte less than stored takes the oldest request left, and only it.
    let stored = s.audit_size().await.expect("size");
    let freed = s.trim_audit(stored - 1).await.expect("trim");
    assert!(freed > 0);
    assert_eq!(s.audit_size().await.expect("size"), stored - freed);
    turns[3].1 = false;
    assert_reads(s, &turns).await;
    assert_consistent(s).await;

    // Down to nothing: no chunk is left behind.
    s.trim_audit(0).await.expect("trim");
    for t in &mut turns {
        t.1 = false;
    }
    assert_reads(s, &turns).await;
    let check = assert_consistent(s).await;
    assert_eq!(
        (check.requests, check.chunks, check.stored_bytes),
        (0, 0, 0)
    );
}

pub(crate) async fn replacing_a_request_keeps_the_chunks_others_share(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (a, b) = (turn(Uuid::now_v7(), 3, 0), turn(Uuid::now_v7(), 4, 60));
    s.insert_audit(&[a.clone(), b.clone()])
        .await
        .expect("insert");
    // `b` again with another answer, twice in one batch: the last wins, and `a` keeps the
    // chunks it shares with both.
    let mut b2 = b.clone();
    b2.entries[2].body = vec![Bytes::from(prose(99, 5000))];
    b2.entries[3].body = b2.entries[2].body.clone();
    b2.entries[2].offsets_ms.clear();
    b2.entries[3].offsets_ms.clear();
    s.insert_audit(&[b.clone(), b2.clone()])
        .await
        .expect("replace");
    assert_reads(s, &[(a.clone(), true), (b2.clone(), true)]).await;
    assert_consistent(s).await;
    s.insert_audit(std::slice::from_ref(&a))
        .await
        .expect("again");
    assert_reads(s, &[(a, true), (b2, true)]).await;
    assert_consistent(s).await;
}

// ---------------------------------------------------------------------------------- old format

/// Rows of the format before chunks (one per entry: meta JSON, a newline, the body; zstd from
/// 1 KiB), as that version's writer stored them for `entries`: the first small and plain, the
/// second compressed, the third naming the first's body (`body_of`).
/// A legacy `audit` row: `(seq, kind, data)`.
type LegacyRow = (i32, &'static str, Vec<u8>);

fn legacy_rows() -> (Vec<AuditEntry>, Vec<LegacyRow>) {
    let mut client = AuditEntry::new(AuditKind::ClientRequest);
    client.headers = vec![("content-type".into(), "application/json".into())];
    client.body = vec![Bytes::from_static(b"{\"messages\":[]}")];
    let mut upstream = AuditEntry::new(AuditKind::UpstreamResponse);
    upstream.status = Some(200);
    let big = prose(3, 3000);
    upstream.body = vec![
        Bytes::copy_from_slice(&big.as_bytes()[..1000]),
        Bytes::copy_from_slice(&big.as_bytes()[1000..]),
    ];
    upstream.offsets_ms = vec![5, 9];
    let mut forwarded = client.clone();
    forwarded.kind = AuditKind::UpstreamRequest;
    forwarded.attempt = Some(0);
    let rows = vec![
        (
            0,
            "client_request",
            b"{\"headers\":[[\"content-type\",\"application/json\"]]}\n{\"messages\":[]}".to_vec(),
        ),
        (
            1,
            "upstream_response",
            zstd::bulk::compress(
                format!(
                    "{{\"status\":200,\"headers\":[],\"chunks\":[1000,2000],\"offsets_ms\":[5,9]}}\n{big}"
                )
                .as_bytes(),
                3,
            )
            .expect("compress"),
        ),
        (
            2,
            "upstream_request",
            b"{\"attempt\":0,\"headers\":[[\"content-type\",\"application/json\"]],\"body_of\":0}\n"
                .to_vec(),
        ),
    ];
    (vec![client, upstream, forwarded], rows)
}

/// What a store of either backend must do with legacy rows `old` (at `at(0)`) beside a request
/// in the chunked format: read both, count both, and let retention and the cap delete both.
async fn legacy_rows_read_count_and_go(store: &dyn Store, old: Uuid, entries: Vec<AuditEntry>) {
    let new = turn(Uuid::now_v7(), 2, 60);
    store
        .insert_audit(std::slice::from_ref(&new))
        .await
        .expect("insert");
    assert_eq!(store.get_audit(old).await.expect("get"), entries);
    assert_reads(store, &[(new.clone(), true)]).await;
    assert_consistent(store).await;
    // Retention reaches the old rows by their age…
    assert_eq!(
        store
            .delete_audit_older_than(at(1))
            .await
            .expect("retention"),
        3
    );
    assert!(store.get_audit(old).await.expect("get").is_empty());
    assert_reads(store, &[(new.clone(), true)]).await;
    assert_consistent(store).await;
    store.trim_audit(0).await.expect("trim");
    assert_reads(store, &[(new, false)]).await;
    assert_eq!(assert_consistent(store).await.stored_bytes, 0);
}

#[tokio::test]
async fn sqlite_still_reads_the_format_before_chunks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_sqlite(&dir.path().join("log.db")).await;
    let (entries, rows) = legacy_rows();
    let old = Uuid::now_v7();
    for (seq, kind, data) in rows {
        sqlx::query(
            "INSERT INTO audit (request_id, seq, kind, created_at, raw_size, size, data) \
             VALUES (?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(old)
        .bind(seq)
        .bind(kind)
        .bind(at(0).timestamp_micros())
        .bind(i64::try_from(data.len()).expect("small"))
        .bind(data)
        .execute(store.pool())
        .await
        .expect("legacy row");
    }
    legacy_rows_read_count_and_go(&store, old, entries).await;
}

#[tokio::test]
async fn postgres_still_reads_the_format_before_chunks() {
    crate::support::with_postgres_store(|store| async move {
        let (entries, rows) = legacy_rows();
        let old = Uuid::now_v7();
        for (seq, kind, data) in rows {
            sqlx::query(
                "INSERT INTO audit (request_id, seq, kind, created_at, raw_size, size, data) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6)",
            )
            .bind(old)
            .bind(seq)
            .bind(kind)
            .bind(at(0))
            .bind(i64::try_from(data.len()).expect("small"))
            .bind(data)
            .execute(store.pool())
            .await
            .expect("legacy row");
        }
        legacy_rows_read_count_and_go(&store, old, entries).await;
    })
    .await;
}

// ------------------------------------------------------------------------------ kill -9 mid-batch

/// Requests per batch the child writes; each batch is one transaction of the audit write.
const KILL_BATCH: u64 = 24;
const CHILD_DB: &str = "SWITCHBOARD_TEST_KILL_CHILD_DB";

/// The request ids of batch `n` (fixed, so the parent knows what the child wrote).
fn kill_ids(n: u64) -> Vec<Uuid> {
    (0..KILL_BATCH)
        .map(|i| Uuid::from_u64_pair(n + 1, i + 1))
        .collect()
}

/// Batch `n`: turns of one session, later batches the longer turns, so every batch shares most
/// chunks with the batches before it (its transaction adds references to stored chunks as well
/// as new chunks).
fn kill_batch(n: u64) -> Vec<AuditBundle> {
    kill_ids(n)
        .into_iter()
        .zip(0..)
        .map(|(id, i)| {
            let mut b = turn(id, n * KILL_BATCH + i, i64::try_from(n).expect("small"));
            // And a body of its own that does not compress (an image, say): a batch then
            // writes more pages than the writer's 2 MiB page cache holds, so SQLite writes
            // some to the WAL before the commit.
            let mut image = AuditEntry::new(AuditKind::ClientRequest);
            image.note = Some("attachment".into());
            image.body = vec![noise(n * 1000 + i, 160_000)];
            b.entries.push(image);
            b
        })
        .collect()
}

/// The valid frames at the start of a WAL file (those carrying the header's salt), and whether
/// the last of them ends a transaction (its "database size after commit" field is set). See
/// <https://www.sqlite.org/fileformat2.html#walformat>.
struct WalFrames {
    frames: usize,
    last_is_commit: bool,
}

fn wal_frames(path: &std::path::Path) -> WalFrames {
    let wal = std::fs::read(path).unwrap_or_default();
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().expect("four bytes"));
    let mut out = WalFrames {
        frames: 0,
        last_is_commit: false,
    };
    if wal.len() < 32 {
        return out;
    }
    let page = usize::try_from(be(&wal[8..12])).expect("page size");
    let salt = &wal[16..24];
    let mut at = 32;
    while at + 24 + page <= wal.len() && &wal[at + 8..at + 16] == salt {
        out.frames += 1;
        out.last_is_commit = be(&wal[at + 4..at + 8]) != 0;
        at += 24 + page;
    }
    out
}

/// Bytes that don't compress.
fn noise(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

/// The child: writes batches until killed, saying on stdout when each starts and ends. Run by
/// `a_writer_killed_mid_batch_loses_nothing_committed_and_leaks_no_chunk` in a process of its
/// own; does nothing in a plain test run.
#[tokio::test]
#[ignore = "the child process of the kill -9 test"]
async fn kill_child_writes_batches_until_killed() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = SqliteStore::open(std::path::Path::new(&path))
        .await
        .expect("open");
    let mut out = std::io::stdout();
    for n in 0.. {
        let batch = kill_batch(n);
        let records: Vec<_> = batch
            .iter()
            .map(|b| {
                let mut r = record(0);
                r.id = b.request_id;
                r
            })
            .collect();
        store.insert_batch(&records).await.expect("records");
        writeln!(out, "start {n}").expect("stdout");
        out.flush().expect("flush");
        store.insert_audit(&batch).await.expect("audit");
        writeln!(out, "committed {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

/// A writer killed (SIGKILL) while it writes a batch: the database opens clean (`PRAGMA
/// integrity_check`), every batch it said it committed reads back byte for byte, the batch it
/// was writing is there whole or not at all, and every chunk's count matches the rows that list
/// it (none leaked, none missing).
///
/// The kill is sent once the child's fourth batch has started writing to the WAL: this test
/// holds a read transaction meanwhile, so no checkpoint rewinds the WAL and its length only
/// grows; the batch (~4 MB of new chunks) outgrows the writer's page cache, so SQLite writes
/// pages of it to the WAL well before its commit. Whether the commit still got through before
/// the signal landed is up to the scheduler: both outcomes are checked.
#[tokio::test]
async fn a_writer_killed_mid_batch_loses_nothing_committed_and_leaks_no_chunk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.db");
    let wal = dir.path().join("log.db-wal");
    let reader = open_sqlite(&path).await;
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "audit_chunks::kill_child_writes_batches_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let (tx, said) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut snapshot = reader.pool().begin().await.expect("read transaction");
    let mut committed = None;
    // Batches 0-2 commit; then the WAL is watched from where batch 3 starts.
    loop {
        let line = said.recv().expect("the child says what it does");
        if let Some(n) = line.strip_prefix("committed ") {
            committed = Some(n.parse::<u64>().expect("batch number"));
            if committed == Some(2) {
                // A snapshot from here on: the WAL is not rewound under it, so batch 3's
                // frames follow batch 2's.
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_request")
                    .fetch_one(&mut *snapshot)
                    .await
                    .expect("snapshot");
            }
        }
        if line == "start 3" {
            break;
        }
    }
    let before = wal_frames(&wal);
    let mid_write = loop {
        let now = wal_frames(&wal);
        if now.frames > before.frames {
            break true;
        }
        match said.try_recv() {
            Ok(line) if line == "committed 3" => break false,
            _ => std::thread::yield_now(),
        }
    };
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let after = wal_frames(&wal);
    snapshot.rollback().await.expect("end the snapshot");
    drop(reader);
    assert_eq!(committed, Some(2));
    let committed = 2;

    let store = open_sqlite(&path).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(store.pool())
        .await
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    for n in 0..=committed {
        for b in kill_batch(n) {
            assert!(
                store.get_audit(b.request_id).await.expect("get") == b.entries,
                "batch {n} reads back byte for byte"
            );
        }
    }
    // The batch being written when the child died: whole or absent, never part of it.
    let next = kill_batch(committed + 1);
    let mut present = 0;
    for b in &next {
        let got = store.get_audit(b.request_id).await.expect("get");
        if !got.is_empty() {
            assert!(got == b.entries);
            present += 1;
        }
    }
    assert!(
        present == 0 || present == next.len(),
        "{present} of a batch"
    );
    eprintln!(
        "killed after batch 3 wrote {} WAL frames (last a commit: {}, seen mid-write: {mid_write}); \
         batch 3 {}",
        after.frames - before.frames,
        after.last_is_commit,
        if present == 0 {
            "rolled back"
        } else {
            "committed"
        }
    );
    // Frames of batch 3 without its commit frame at the end: the kill landed inside it.
    if !after.last_is_commit {
        assert_eq!(present, 0, "an uncommitted batch reads as absent");
    }
    let check = store.check_audit().await.expect("check");
    assert!(check.is_consistent(), "{check:?}");
    assert!(check.chunks > 0);
}
