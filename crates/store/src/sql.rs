//! SQL text shared by both backends: column lists and the upsert, built once.

use std::fmt::Write as _;
use std::sync::LazyLock;

/// Columns of `requests`, in bind order for [`upsert`] and in select order for [`SELECT_COLUMNS`].
pub(crate) const REQUEST_COLUMNS: [&str; 30] = [
    "id",
    "started_at",
    "client_addr",
    "client_key",
    "user_agent",
    "session_id",
    "method",
    "path",
    "client_dialect",
    "requested_model",
    "routed_model",
    "endpoint",
    "stream",
    "status",
    "outcome",
    "error",
    "stop_reason",
    "ttfb_ms",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cost_usd",
    "request_bytes",
    "response_bytes",
    "replay_of",
    // Written from the attempts (`LogRecord::failovers`), read by the failover figures only.
    "failovers",
    // The client key's user and team (migrations sqlite/0011, postgres/0007).
    "client_user",
    "client_team",
];

/// `id, started_at, …` for `SELECT`.
pub(crate) static SELECT_COLUMNS: LazyLock<String> = LazyLock::new(|| REQUEST_COLUMNS.join(", "));

/// `attempts` columns, in bind order.
pub(crate) const ATTEMPT_COLUMNS: &str = "request_id, seq, endpoint, model, status, latency_ms, \
     error, disposition, offset_ms, first_byte_ms, stream_ms, error_class";

/// How many columns [`ATTEMPT_COLUMNS`] names.
pub(crate) const ATTEMPT_PARAMS: usize = 12;

/// `INSERT INTO requests (…) VALUES (…) ON CONFLICT (id) DO UPDATE SET …` with placeholders made
/// by `placeholder(1-based index)`: `?` for SQLite, `$n` for Postgres.
pub(crate) fn upsert(placeholder: impl Fn(usize) -> String) -> String {
    upsert_rows(1, placeholder)
}

/// [`upsert`] for `rows` rows in one statement (`VALUES (…), (…), …`), placeholders numbered
/// row after row. The ids of one statement must be distinct.
pub(crate) fn upsert_rows(rows: usize, placeholder: impl Fn(usize) -> String) -> String {
    let mut sql = format!("INSERT INTO requests ({}) VALUES ", *SELECT_COLUMNS);
    push_values(&mut sql, rows, REQUEST_COLUMNS.len(), placeholder);
    sql.push_str(" ON CONFLICT (id) DO UPDATE SET ");
    for (i, column) in REQUEST_COLUMNS.iter().skip(1).enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "{column} = excluded.{column}");
    }
    sql
}

/// `(p1, …, pN), (pN+1, …), …`: `rows` tuples of `columns` placeholders.
fn push_values(
    sql: &mut String,
    rows: usize,
    columns: usize,
    placeholder: impl Fn(usize) -> String,
) {
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for c in 1..=columns {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholder(row * columns + c));
        }
        sql.push(')');
    }
}

/// `INSERT INTO attempts (…) VALUES (…)` with placeholders as in [`upsert`].
pub(crate) fn insert_attempt(placeholder: impl Fn(usize) -> String) -> String {
    insert_attempt_rows(1, placeholder)
}

/// [`insert_attempt`] for `rows` rows in one statement.
pub(crate) fn insert_attempt_rows(rows: usize, placeholder: impl Fn(usize) -> String) -> String {
    let mut sql = format!("INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES ");
    push_values(&mut sql, rows, ATTEMPT_PARAMS, placeholder);
    sql
}

/// A stored word (an outcome, a disposition) read back as its type; a word this build does not
/// know is a decoding error naming it.
pub(crate) fn word<T>(text: String) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = switchboard_core::UnknownWord>,
{
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
