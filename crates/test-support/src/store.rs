//! The log store a test runs against: SQLite in the test's temporary directory by default, or the
//! real PostgreSQL server when `SWITCHBOARD_TEST_STORE=postgres`, so that the same end-to-end
//! suites (query API, observability) run on both backends.
//!
//! On PostgreSQL each store lives in a schema of its own (`sb_e2e_<pid>_<uuid>`). Dropping the
//! schema when the test ends can't wait for it (a `#[tokio::test]` runtime has one thread, and the
//! gateway's writer may still hold a transaction on it), so it is dropped from a thread of its own
//! without waiting, and whatever a finished test process left behind is swept by the next
//! [`TestStore::open`]: schemas whose process id is no longer running. A test told to use
//! PostgreSQL fails loudly when the server is unreachable: it never silently falls back to
//! SQLite.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use switchboard_store::{AdminStore, Store};

/// The PostgreSQL server the tests use (`SWITCHBOARD_TEST_POSTGRES_URL`, default the local one).
#[must_use]
pub fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether `SWITCHBOARD_TEST_STORE` asks for PostgreSQL.
#[must_use]
pub fn wants_postgres() -> bool {
    match std::env::var("SWITCHBOARD_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("SWITCHBOARD_TEST_STORE={other}: expected `sqlite` or `postgres`"),
    }
}

/// A migrated store and what keeps it alive.
#[derive(Clone)]
pub struct TestStore {
    pub store: Arc<dyn Store>,
    /// The same database behind the admin tables' trait.
    pub admin: Arc<dyn AdminStore>,
    _schema: Option<Arc<Schema>>,
}

impl TestStore {
    /// A store opened by the caller (nothing to clean up).
    #[must_use]
    pub fn from_stores(store: Arc<dyn Store>, admin: Arc<dyn AdminStore>) -> Self {
        Self {
            store,
            admin,
            _schema: None,
        }
    }

    /// One store behind both traits.
    #[must_use]
    pub fn from_store<S: Store + AdminStore>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            admin: store,
            _schema: None,
        }
    }

    pub async fn open(dir: &Path) -> Self {
        if !wants_postgres() {
            let (store, admin) = switchboard_store::open_with_admin(None, dir)
                .await
                .expect("open sqlite store");
            return Self {
                store,
                admin,
                _schema: None,
            };
        }
        let url = postgres_url();
        let options: PgConnectOptions = url.parse().expect("SWITCHBOARD_TEST_POSTGRES_URL parses");
        let mut admin = match tokio::time::timeout(
            Duration::from_secs(5),
            PgConnection::connect_with(&options),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => panic!("SWITCHBOARD_TEST_STORE=postgres but {url} is unreachable: {e}"),
            Err(_) => panic!("SWITCHBOARD_TEST_STORE=postgres but connecting to {url} timed out"),
        };
        sweep(&mut admin).await;
        let name = format!(
            "{SCHEMA_PREFIX}{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        let _ = admin.close().await;
        let schema = Arc::new(Schema {
            name: name.clone(),
            options: options.clone(),
        });
        let store = switchboard_store::PostgresStore::connect_with(
            options.options([("search_path", name.as_str())]),
        )
        .await
        .expect("connect postgres store");
        store.migrate().await.expect("migrate postgres store");
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            admin: store,
            _schema: Some(schema),
        }
    }
}

const SCHEMA_PREFIX: &str = "sb_e2e_";

/// Drops the schemas of test processes that are gone.
async fn sweep(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::TEXT FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(SCHEMA_PREFIX)
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let running = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !running {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// A test schema, dropped with its tables (without waiting) when the last [`TestStore`] clone
/// goes.
pub(crate) struct Schema {
    name: String,
    options: PgConnectOptions,
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which can't block on itself (and the writer may
        // still be finishing a transaction on it): a detached thread with a runtime of its own.
        let (name, options) = (self.name.clone(), self.options.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut conn = PgConnection::connect_with(&options).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        });
    }
}
