//! Request-log storage. The proxy sends [`LogRecord`]s to a bounded queue owned by a [`Writer`]
//! task that batches them into a [`Store`]: SQLite (WAL, the embedded default) or PostgreSQL.
//!
//! Never on the request path: a full queue drops the record and counts the loss; a failing
//! database is retried by the writer and never surfaces to a client.

mod record;

pub use record::{AttemptRecord, LogRecord};
