//! Audit data on every backend: round trip, replacement, retention, the size cap, and the writer
//! carrying audit data with its record.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Duration;
use switchboard_store::{
    AuditBundle, AuditEntry, AuditKind, LogRecord, LogSender, Query, Store, WriterOptions,
    spawn_writer,
};
use uuid::Uuid;

use crate::support::{at, open_sqlite, record};

macro_rules! audit_suite {
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

audit_suite!(
    audit_round_trips_every_field,
    audit_retention_deletes_only_older_entries,
    audit_size_cap_deletes_oldest_requests_first,
    writer_writes_audit_after_its_record,
    search_finds_prompt_text_of_audited_requests,
);

/// Bytes that don't compress, so stored sizes are predictable.
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

fn bundle(id: Uuid, secs: i64) -> AuditBundle {
    let mut client = AuditEntry::new(AuditKind::ClientRequest);
    client.method = Some("POST".into());
    client.url = Some("/v1/messages?beta=true".into());
    client.headers = vec![
        ("x-api-key".into(), "sk-ant-api…WXYZ".into()),
        ("content-type".into(), "application/json".into()),
    ];
    client.body = vec![Bytes::from_static(
        br#"{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"h\u00e9llo"}]}"#,
    )];
    let mut forwarded = AuditEntry::new(AuditKind::UpstreamRequest);
    forwarded.attempt = Some(0);
    forwarded.endpoint = Some("primary".into());
    forwarded.method = Some("POST".into());
    forwarded.url = Some("https://api.example.com/v1/messages".into());
    forwarded.body = client.body.clone();
    let mut upstream = AuditEntry::new(AuditKind::UpstreamResponse);
    upstream.attempt = Some(0);
    upstream.endpoint = Some("primary".into());
    upstream.status = Some(200);
    upstream.headers = vec![("content-type".into(), "text/event-stream".into())];
    upstream.body = vec![
        Bytes::from_static(b"event: message_start\ndata: {}\n\n"),
        Bytes::from_static(b"event: content_block_delta\ndata: {\"text\":\"\xe2\x9c\x93\"}\n\n"),
        Bytes::from_static(b"event: message_stop\ndata: {}\n\n"),
    ];
    upstream.offsets_ms = vec![120, 135, 900];
    let mut answered = AuditEntry::new(AuditKind::ClientResponse);
    answered.status = Some(200);
    answered.body = upstream.body.clone();
    answered.offsets_ms = vec![121, 136, 901];
    answered.truncated = true;
    answered.note = Some("cut at the per-request cap".into());
    AuditBundle {
        request_id: id,
        created_at: at(secs),
        entries: vec![client, forwarded, upstream, answered],
    }
}

pub(crate) async fn audit_round_trips_every_field(store: Arc<dyn Store>) {
    let id = Uuid::now_v7();
    let b = bundle(id, 0);
    store
        .insert_audit(std::slice::from_ref(&b))
        .await
        .expect("insert");
    assert_eq!(store.get_audit(id).await.expect("get"), b.entries);
    assert!(
        store
            .get_audit(Uuid::now_v7())
            .await
            .expect("get")
            .is_empty()
    );
    let stored = store.audit_size().await.expect("size");
    assert!(stored > 0 && stored < b.size() as u64 + 1024, "{stored}");

    // Inserting again replaces the request's entries.
    let mut shorter = b.clone();
    shorter.entries.truncate(1);
    store
        .insert_audit(std::slice::from_ref(&shorter))
        .await
        .expect("insert");
    assert_eq!(store.get_audit(id).await.expect("get"), shorter.entries);
}

pub(crate) async fn audit_retention_deletes_only_older_entries(store: Arc<dyn Store>) {
    let (old, new) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .insert_audit(&[bundle(old, 0), bundle(new, 2 * 86_400)])
        .await
        .expect("insert");
    let deleted = store
        .delete_audit_older_than(at(0) + Duration::days(1))
        .await
        .expect("delete");
    assert_eq!(deleted, 4);
    assert!(store.get_audit(old).await.expect("get").is_empty());
    assert_eq!(store.get_audit(new).await.expect("get").len(), 4);
    assert_eq!(
        store
            .delete_audit_older_than(at(0) + Duration::days(1))
            .await
            .expect("delete"),
        0
    );
}

pub(crate) async fn audit_size_cap_deletes_oldest_requests_first(store: Arc<dyn Store>) {
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let bundles: Vec<AuditBundle> = ids
        .iter()
        .zip(0_u64..)
        .map(|(id, i)| {
            let mut e = AuditEntry::new(AuditKind::ClientRequest);
            e.body = vec![noise(i, 20_000)];
            AuditBundle {
                request_id: *id,
                created_at: at(i64::try_from(i).expect("small") * 60),
                entries: vec![e],
            }
        })
        .collect();
    store.insert_audit(&bundles).await.expect("insert");
    let total = store.audit_size().await.expect("size");
    assert!(total >= 100_000, "noise must not compress: {total}");
    // Room for two and a half requests: the three oldest go.
    let cap = total / 2;
    let freed = store.trim_audit(cap).await.expect("trim");
    let left = store.audit_size().await.expect("size");
    assert!(left <= cap, "{left} > {cap}");
    assert_eq!(freed, total - left);
    for (i, id) in ids.iter().enumerate() {
        let present = !store.get_audit(*id).await.expect("get").is_empty();
        assert_eq!(present, i >= 3, "request {i}");
    }
    assert_eq!(store.trim_audit(cap).await.expect("trim"), 0);
}

pub(crate) async fn writer_writes_audit_after_its_record(store: Arc<dyn Store>) {
    let (log, handle): (LogSender, _) =
        spawn_writer(Arc::clone(&store), 16, WriterOptions::default());
    let rec = record(0);
    let b = bundle(rec.id, 0);
    log.send_with_audit(rec.clone(), Some(b.clone()));
    log.send(record(1));
    handle.shutdown().await;
    let stats = log.stats();
    assert_eq!((stats.written, stats.audit_written), (2, 1));
    assert_eq!((stats.audit_dropped, stats.audit_lost), (0, 0));
    assert!(store.get(rec.id).await.expect("get").is_some());
    assert_eq!(store.get_audit(rec.id).await.expect("get"), b.entries);
}

/// An audited request with `prompt` as its last user turn (after an earlier turn and a system
/// prompt, which are not indexed), optionally with an error message.
async fn audited(store: &dyn Store, secs: i64, prompt: &str, error: Option<&str>) -> Uuid {
    let mut rec = record(secs);
    rec.error = error.map(str::to_owned);
    store.insert_batch(&[rec.clone()]).await.expect("insert");
    audit_prompt(store, &rec, prompt).await;
    rec.id
}

/// Stores (or replaces) `rec`'s audit data: a client request whose last user turn is `prompt`.
async fn audit_prompt(store: &dyn Store, rec: &LogRecord, prompt: &str) {
    let mut client = AuditEntry::new(AuditKind::ClientRequest);
    client.body = vec![Bytes::from(
        serde_json::json!({
            "model": "claude-sonnet-4-5",
            "system": "You are a SYSTEM prompt about zebras",
            "messages": [
                {"role": "user", "content": "an earlier turn about giraffes"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "text", "text": prompt}]},
            ],
        })
        .to_string(),
    )];
    store
        .insert_audit(&[AuditBundle {
            request_id: rec.id,
            created_at: rec.started_at,
            entries: vec![client],
        }])
        .await
        .expect("insert audit");
}

async fn search(store: &dyn Store, q: &str) -> Vec<Uuid> {
    let query = Query {
        search: Some(q.to_owned()),
        ..Query::default()
    };
    let mut ids: Vec<Uuid> = store
        .list(&query)
        .await
        .expect("list")
        .records
        .iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    let stats = store.stats(&query).await.expect("stats");
    assert_eq!(
        stats.totals.requests,
        ids.len() as u64,
        "stats agree with list for {q:?}"
    );
    ids
}

pub(crate) async fn search_finds_prompt_text_of_audited_requests(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let refactor = audited(
        s,
        0,
        "Please REFACTOR the parser \"quickly\" (100% done)",
        None,
    )
    .await;
    let weather = audited(s, 10, "What's the weather in Zürich?", None).await;
    let failed = audited(s, 20, "hello", Some("upstream said: overloaded_error")).await;
    let mut unaudited = record(30);
    unaudited.error = Some("refactor budget exceeded".into());
    s.insert_batch(&[unaudited.clone()]).await.expect("insert");

    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    // Case-insensitive substrings of the prompt, through the index (3+ characters)…
    assert_eq!(search(s, "refactor the").await, sorted(vec![refactor]));
    assert_eq!(search(s, "WEATHER in").await, vec![weather]);
    // …with quotes and LIKE wildcards taken literally…
    assert_eq!(search(s, "\"quickly\"").await, vec![refactor]);
    assert_eq!(search(s, "100%").await, vec![refactor]);
    assert_eq!(search(s, "0%_").await, Vec::<Uuid>::new());
    // …and by scanning when too short for a trigram.
    assert_eq!(search(s, "Zü").await, vec![weather]);
    // The error message matches too; both sources together.
    assert_eq!(search(s, "overloaded").await, vec![failed]);
    assert_eq!(
        search(s, "refactor").await,
        sorted(vec![refactor, unaudited.id])
    );
    // Only the last user turn is indexed, not the system prompt or earlier turns.
    assert_eq!(search(s, "zebras").await, Vec::<Uuid>::new());
    assert_eq!(search(s, "giraffes").await, Vec::<Uuid>::new());

    // The text goes with the audit data: by age…
    s.delete_audit_older_than(at(5)).await.expect("retention");
    assert_eq!(search(s, "refactor the").await, Vec::<Uuid>::new());
    assert_eq!(search(s, "weather").await, vec![weather]);
    // …and by the size cap.
    s.trim_audit(0).await.expect("trim");
    assert_eq!(search(s, "weather").await, Vec::<Uuid>::new());
    assert_eq!(
        search(s, "overloaded").await,
        vec![failed],
        "errors stay searchable"
    );
}

/// SQLite indexes prompt texts in batches (migration 0007): a search finds a text whether it
/// waits for the index or is in it, and replacing or deleting either kind leaves the index
/// consistent with the table (FTS5's own integrity check, which compares the two).
#[tokio::test]
async fn sqlite_search_reads_indexed_and_waiting_prompt_texts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_sqlite(&dir.path().join("log.db")).await;
    let s: &dyn Store = &store;
    let waiting_rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM prompt_unindexed")
            .fetch_one(store.pool())
            .await
            .expect("count")
    };
    // FTS5's check with rank 1 compares the index with the table, so it holds only when no
    // text waits.
    let consistent = || async {
        assert_eq!(waiting_rows().await, 0);
        sqlx::query("INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)")
            .execute(store.pool())
            .await
            .expect("the trigram index matches prompt_text");
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };

    let old = record(0);
    s.insert_batch(std::slice::from_ref(&old))
        .await
        .expect("insert");
    audit_prompt(s, &old, "indexed: refactor the PARSER").await;
    store.index_prompt_texts().await.expect("index");
    assert_eq!(waiting_rows().await, 0);
    let new = record(10);
    s.insert_batch(std::slice::from_ref(&new))
        .await
        .expect("insert");
    audit_prompt(s, &new, "waiting: refactor the lexer").await;
    assert_eq!(waiting_rows().await, 1);
    assert_eq!(
        search(s, "REFACTOR THE").await,
        sorted(vec![old.id, new.id])
    );
    assert_eq!(search(s, "parser").await, vec![old.id]);
    assert_eq!(search(s, "LEXER").await, vec![new.id]);

    // Replaced audit data replaces the searchable text, indexed or waiting, before and after
    // the waiting one is indexed.
    audit_prompt(s, &old, "indexed: now about zygotes").await;
    audit_prompt(s, &new, "waiting: now about yaks").await;
    for round in ["before indexing", "after indexing"] {
        assert_eq!(search(s, "parser").await, Vec::<Uuid>::new(), "{round}");
        assert_eq!(search(s, "lexer").await, Vec::<Uuid>::new(), "{round}");
        assert_eq!(search(s, "zygotes").await, vec![old.id], "{round}");
        assert_eq!(search(s, "yaks").await, vec![new.id], "{round}");
        store.index_prompt_texts().await.expect("index");
    }
    consistent().await;

    // The writer indexes by itself once 64 texts wait, in the transaction that stores the 64th.
    let mut many = Vec::new();
    for i in 0..64 {
        assert_eq!(waiting_rows().await, i);
        many.push(audited(s, 100 + i, &format!("bulk prompt number {i:02}"), None).await);
    }
    assert_eq!(waiting_rows().await, 0);
    assert_eq!(search(s, "number 0").await, sorted(many[..10].to_vec()));
    assert_eq!(search(s, "number 63").await, vec![many[63]]);
    assert_eq!(search(s, "number 07").await, vec![many[7]]);
    consistent().await;

    // Deleting indexed and waiting texts alike (retention, then the size cap).
    let last = audited(s, 1000, "a last waiting prompt", None).await;
    assert_eq!(waiting_rows().await, 1);
    s.delete_audit_older_than(at(5)).await.expect("retention");
    assert_eq!(search(s, "zygotes").await, Vec::<Uuid>::new());
    assert_eq!(search(s, "last waiting").await, vec![last]);
    s.trim_audit(0).await.expect("trim");
    assert_eq!(search(s, "prompt").await, Vec::<Uuid>::new());
    consistent().await;
}
