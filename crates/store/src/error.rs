//! The one error type of the store crate.

/// Everything that can go wrong talking to the log database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed a statement, or could not be reached.
    #[error("log database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite request log's writer connection (rusqlite) refused or failed a statement, or
    /// could not open the file. Rendered like [`StoreError::Database`]: SQLite's message with its
    /// (extended) result code, e.g. `(code: 5) database is locked`.
    #[error("log database error: {}", sqlite_message(.0))]
    Sqlite(#[from] rusqlite::Error),
    /// The SQLite writer's blocking task ended without an answer (it panicked, or the runtime was
    /// shutting down); the batch may or may not have been committed.
    #[error("log database writer task failed: {0}")]
    WriterTask(#[from] tokio::task::JoinError),
    /// A migration failed or the database has migrations this build doesn't know.
    #[error("log database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL has a scheme we don't support. Only the scheme is kept: a URL may carry a
    /// password.
    #[error(
        "unsupported log database URL scheme {scheme:?}: use postgres://, postgresql:// or sqlite:"
    )]
    UnsupportedUrl { scheme: String },
    /// The data directory for the SQLite file could not be created.
    #[error("cannot create log database directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// Audit data could not be compressed or decoded.
    #[error("audit data error: {0}")]
    Audit(String),
    /// A pagination cursor that this store did not hand out.
    #[error("invalid pagination cursor {0:?}")]
    InvalidCursor(String),
}

/// SQLite's own message with its result code, as sqlx renders a database error.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(code, Some(message)) => {
            format!("(code: {}) {message}", code.extended_code)
        }
        other => other.to_string(),
    }
}
