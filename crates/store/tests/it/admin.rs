//! The behaviour every [`AdminStore`] must show: users, admin sessions, one-time login links and
//! sealed secrets, each case run against SQLite and PostgreSQL in a fresh, migrated store.

use std::future::Future;
use std::sync::Arc;

use chrono::Duration;
use switchboard_store::{
    AdminStore, Digest, LoginLinkRow, PutSecret, Resealed, Role, SecretRow, SessionRow, Store as _,
    User,
};
use uuid::Uuid;

use crate::support::at;

macro_rules! admin_suite {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::with_sqlite(super::$case).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::with_postgres(super::$case).await;
                }
            )+
        }
    };
}

admin_suite!(
    users_round_trip_with_names_unique_ignoring_case,
    deleting_a_user_deletes_their_sessions_and_links,
    sessions_round_trip_with_their_user,
    touch_only_moves_last_seen_forward,
    sessions_are_deleted_by_token_id_user_and_expiry,
    a_login_link_is_redeemed_once_and_never_after_expiry,
    racing_redemptions_of_one_link_let_exactly_one_through,
    secrets_round_trip_and_put_keeps_created_at,
    put_secret_never_mixes_master_keys,
    reseal_replaces_every_secret_in_one_transaction,
    reseal_is_refused_whole_when_secrets_changed_since_read,
);

/// Runs `case` against a migrated SQLite store opened by `open_with_admin`.
async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn AdminStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (_log, admin) = switchboard_store::open_with_admin(None, dir.path())
        .await
        .expect("open sqlite store");
    case(admin).await;
}

/// Runs `case` against a migrated PostgreSQL store in a schema of its own, dropped afterwards,
/// as `support::with_postgres` does for the log suite (which hands out a `dyn Store`).
async fn with_postgres<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn AdminStore>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    use sqlx::Connection as _;
    use sqlx::postgres::{PgConnectOptions, PgConnection};

    let url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let required = std::env::var("SWITCHBOARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let options: PgConnectOptions = url.parse().expect("SWITCHBOARD_TEST_POSTGRES_URL parses");
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        PgConnection::connect_with(&options),
    )
    .await;
    let mut conn = match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return skip_or_fail(required, &e.to_string()),
        Err(_) => return skip_or_fail(required, "connect timed out"),
    };
    let schema = format!("sb_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    let store = switchboard_store::PostgresStore::connect_with(
        options.options([("search_path", schema.as_str())]),
    )
    .await
    .expect("connect postgres store");
    store.migrate().await.expect("migrate postgres store");
    let result = tokio::spawn(case(Arc::new(store))).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop test schema");
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub(crate) fn skip_or_fail(required: bool, why: &str) {
    assert!(
        !required,
        "SWITCHBOARD_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {why}"
    );
    eprintln!("SKIPPED: PostgreSQL is unreachable ({why})");
}

fn user(name: &str, role: Role, secs: i64) -> User {
    User {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        role,
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}")),
        created_at: at(secs),
        updated_at: at(secs),
    }
}

/// A distinct 32-byte digest per `n`.
fn digest(n: u8) -> Digest {
    [n; 32]
}

fn session(n: u8, user_id: Uuid, secs: i64) -> SessionRow {
    SessionRow {
        token_hash: digest(n),
        id: Uuid::now_v7(),
        user_id,
        csrf_hash: digest(n.wrapping_add(100)),
        created_at: at(secs),
        last_seen_at: at(secs),
        expires_at: at(secs) + Duration::days(7),
        client_addr: Some("127.0.0.1".into()),
        user_agent: Some("Mozilla/5.0 ünïcödé".into()),
    }
}

fn link(n: u8, user_id: Uuid, secs: i64, ttl_secs: i64) -> LoginLinkRow {
    LoginLinkRow {
        token_hash: digest(n),
        user_id,
        created_at: at(secs),
        expires_at: at(secs + ttl_secs),
        used_at: None,
    }
}

fn secret(name: &str, key_id: &str, n: u8, secs: i64) -> SecretRow {
    SecretRow {
        name: name.to_owned(),
        key_id: key_id.to_owned(),
        nonce: vec![n; 24],
        ciphertext: vec![n, 0, 255, n],
        created_at: at(secs),
        updated_at: at(secs),
    }
}

async fn session_ids(store: &Arc<dyn AdminStore>, user: Option<Uuid>) -> Vec<Uuid> {
    store
        .list_sessions(user)
        .await
        .expect("list sessions")
        .into_iter()
        .map(|s| s.id)
        .collect()
}

pub(crate) async fn users_round_trip_with_names_unique_ignoring_case(store: Arc<dyn AdminStore>) {
    let alice = user("Alice", Role::Admin, 0);
    let mut local = user("local", Role::Admin, 1);
    local.password_hash = None;
    let bob = user("bob", Role::Member, 2);
    for u in [&alice, &local, &bob] {
        assert!(store.create_user(u).await.expect("create"), "{}", u.name);
    }
    assert_eq!(
        store.get_user(alice.id).await.expect("get"),
        Some(alice.clone())
    );
    assert_eq!(
        store.get_user(local.id).await.expect("get"),
        Some(local.clone())
    );
    assert_eq!(store.get_user(Uuid::now_v7()).await.expect("get"), None);
    for name in ["Alice", "alice", "ALICE"] {
        assert_eq!(
            store.get_user_by_name(name).await.expect("by name"),
            Some(alice.clone()),
            "{name}"
        );
    }
    assert_eq!(
        store.get_user_by_name("carol").await.expect("by name"),
        None
    );

    let clash = user("ALICE", Role::Member, 3);
    assert!(
        !store.create_user(&clash).await.expect("create"),
        "name taken"
    );
    assert_eq!(store.get_user(clash.id).await.expect("get"), None);

    let names: Vec<String> = store
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["Alice", "bob", "local"], "by name, case folded");

    assert!(
        store
            .set_password_hash(local.id, Some("$argon2id$new"), at(10))
            .await
            .expect("set")
    );
    let changed = store.get_user(local.id).await.expect("get").expect("user");
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!((changed.created_at, changed.updated_at), (at(1), at(10)));
    assert!(
        store
            .set_password_hash(local.id, None, at(11))
            .await
            .expect("clear")
    );
    assert_eq!(
        store
            .get_user(local.id)
            .await
            .expect("get")
            .expect("user")
            .password_hash,
        None
    );
    assert!(
        !store
            .set_password_hash(Uuid::now_v7(), None, at(11))
            .await
            .expect("no such user")
    );

    assert!(store.delete_user(bob.id).await.expect("delete"));
    assert!(!store.delete_user(bob.id).await.expect("delete again"));
    assert_eq!(store.list_users().await.expect("list").len(), 2);
    assert!(
        !format!("{alice:?}").contains("argon2id"),
        "Debug hides the password hash"
    );
}

pub(crate) async fn deleting_a_user_deletes_their_sessions_and_links(store: Arc<dyn AdminStore>) {
    let alice = user("alice", Role::Admin, 0);
    let bob = user("bob", Role::Admin, 0);
    for u in [&alice, &bob] {
        assert!(store.create_user(u).await.expect("create"));
    }
    let bobs = session(2, bob.id, 0);
    for s in [session(1, alice.id, 0), bobs.clone()] {
        store.insert_session(&s).await.expect("insert session");
    }
    store
        .insert_login_link(&link(3, alice.id, 0, 300))
        .await
        .expect("insert link");
    store
        .insert_login_link(&link(4, bob.id, 0, 300))
        .await
        .expect("insert link");

    assert!(store.delete_user(alice.id).await.expect("delete"));
    assert_eq!(session_ids(&store, None).await, [bobs.id]);
    assert_eq!(store.get_session(&digest(1)).await.expect("get"), None);
    assert_eq!(
        store
            .redeem_login_link(&digest(3), at(1))
            .await
            .expect("redeem"),
        None,
        "the link went with its user"
    );
    assert_eq!(
        store
            .redeem_login_link(&digest(4), at(1))
            .await
            .expect("redeem"),
        Some(bob.id)
    );
}

pub(crate) async fn sessions_round_trip_with_their_user(store: Arc<dyn AdminStore>) {
    let alice = user("alice", Role::Admin, 0);
    assert!(store.create_user(&alice).await.expect("create"));
    let full = SessionRow {
        created_at: at(0) + Duration::microseconds(123_456),
        ..session(1, alice.id, 0)
    };
    let bare = SessionRow {
        client_addr: None,
        user_agent: None,
        ..session(2, alice.id, 5)
    };
    store.insert_session(&full).await.expect("insert");
    store.insert_session(&bare).await.expect("insert");
    assert_eq!(
        store.get_session(&full.token_hash).await.expect("get"),
        Some((full.clone(), alice.clone()))
    );
    assert_eq!(
        store.get_session(&bare.token_hash).await.expect("get"),
        Some((bare.clone(), alice.clone()))
    );
    assert_eq!(store.get_session(&digest(9)).await.expect("get"), None);
    assert_eq!(
        store.list_sessions(Some(alice.id)).await.expect("list"),
        [full, bare],
        "oldest first"
    );
    assert!(
        store
            .list_sessions(Some(Uuid::now_v7()))
            .await
            .expect("list")
            .is_empty()
    );
}

pub(crate) async fn touch_only_moves_last_seen_forward(store: Arc<dyn AdminStore>) {
    let alice = user("alice", Role::Admin, 0);
    assert!(store.create_user(&alice).await.expect("create"));
    store
        .insert_session(&session(1, alice.id, 0))
        .await
        .expect("insert");
    let last_seen = || async {
        store
            .get_session(&digest(1))
            .await
            .expect("get")
            .expect("session")
            .0
            .last_seen_at
    };
    assert!(
        store
            .touch_session(&digest(1), at(60))
            .await
            .expect("touch")
    );
    assert_eq!(last_seen().await, at(60));
    assert!(
        !store
            .touch_session(&digest(1), at(30))
            .await
            .expect("touch back")
    );
    assert!(
        !store
            .touch_session(&digest(1), at(60))
            .await
            .expect("touch same")
    );
    assert_eq!(last_seen().await, at(60));
    assert!(
        !store
            .touch_session(&digest(2), at(90))
            .await
            .expect("no session")
    );
}

pub(crate) async fn sessions_are_deleted_by_token_id_user_and_expiry(store: Arc<dyn AdminStore>) {
    let alice = user("alice", Role::Admin, 0);
    let bob = user("bob", Role::Admin, 0);
    for u in [&alice, &bob] {
        assert!(store.create_user(u).await.expect("create"));
    }
    let a1 = session(1, alice.id, 0);
    let a2 = session(2, alice.id, 1);
    let a3 = session(3, alice.id, 2);
    let a4 = session(4, alice.id, 3);
    // Created and last seen after the idle cut-off of the purge below.
    let b1 = session(5, bob.id, 60);
    for s in [&a1, &a2, &a3, &a4, &b1] {
        store.insert_session(s).await.expect("insert");
    }

    assert!(store.delete_session(&a1.token_hash).await.expect("logout"));
    assert!(!store.delete_session(&a1.token_hash).await.expect("again"));
    assert!(store.delete_session_by_id(a2.id).await.expect("revoke"));
    assert!(!store.delete_session_by_id(a2.id).await.expect("again"));
    assert_eq!(
        store
            .delete_user_sessions(alice.id, Some(a3.id))
            .await
            .expect("others"),
        1
    );
    assert_eq!(session_ids(&store, None).await, [a3.id, b1.id]);
    assert_eq!(
        store
            .delete_user_sessions(alice.id, None)
            .await
            .expect("all"),
        1
    );
    assert_eq!(session_ids(&store, None).await, [b1.id]);

    // Expiry: absolute end at or before now, or last seen at or before idle_since.
    let expired = SessionRow {
        expires_at: at(100),
        ..session(6, bob.id, 0)
    };
    let idle = SessionRow {
        last_seen_at: at(50),
        ..session(7, bob.id, 0)
    };
    let live = SessionRow {
        last_seen_at: at(51),
        ..session(8, bob.id, 0)
    };
    for s in [&expired, &idle, &live] {
        store.insert_session(s).await.expect("insert");
    }
    assert_eq!(
        store
            .delete_expired_sessions(at(100), at(50))
            .await
            .expect("purge"),
        2,
        "the expired and the idle"
    );
    assert_eq!(session_ids(&store, Some(bob.id)).await, [live.id, b1.id]);
}

pub(crate) async fn a_login_link_is_redeemed_once_and_never_after_expiry(
    store: Arc<dyn AdminStore>,
) {
    let local = user("local", Role::Admin, 0);
    assert!(store.create_user(&local).await.expect("create"));
    store
        .insert_login_link(&link(1, local.id, 0, 300))
        .await
        .expect("insert");
    store
        .insert_login_link(&link(2, local.id, 0, 300))
        .await
        .expect("insert");

    assert_eq!(
        store
            .redeem_login_link(&digest(1), at(299))
            .await
            .expect("redeem"),
        Some(local.id)
    );
    assert_eq!(
        store
            .redeem_login_link(&digest(1), at(299))
            .await
            .expect("again"),
        None,
        "used"
    );
    assert_eq!(
        store
            .redeem_login_link(&digest(2), at(300))
            .await
            .expect("redeem"),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .redeem_login_link(&digest(3), at(1))
            .await
            .expect("redeem"),
        None,
        "unknown"
    );

    store
        .insert_login_link(&link(3, local.id, 250, 300))
        .await
        .expect("insert");
    assert_eq!(
        store
            .delete_expired_login_links(at(300))
            .await
            .expect("purge"),
        2,
        "the used one and the expired one, not the live one"
    );
    assert_eq!(
        store
            .redeem_login_link(&digest(3), at(301))
            .await
            .expect("redeem"),
        Some(local.id)
    );
}

pub(crate) async fn racing_redemptions_of_one_link_let_exactly_one_through(
    store: Arc<dyn AdminStore>,
) {
    let local = user("local", Role::Admin, 0);
    assert!(store.create_user(&local).await.expect("create"));
    store
        .insert_login_link(&link(1, local.id, 0, 300))
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.redeem_login_link(&digest(1), at(1)).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task").expect("redeem").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

pub(crate) async fn secrets_round_trip_and_put_keeps_created_at(store: Arc<dyn AdminStore>) {
    let a = secret("anthropic", "k1", 1, 0);
    let b = secret("deepseek.key-2", "k1", 2, 1);
    for s in [&b, &a] {
        assert_eq!(store.put_secret(s).await.expect("put"), PutSecret::Stored);
    }
    assert_eq!(
        store.get_secret("anthropic").await.expect("get"),
        Some(a.clone())
    );
    assert_eq!(store.get_secret("nope").await.expect("get"), None);
    assert_eq!(
        store.list_secrets().await.expect("list"),
        [a.clone(), b.clone()],
        "by name"
    );
    assert_eq!(store.secret_key_ids().await.expect("key ids"), ["k1"]);

    let replaced = SecretRow {
        nonce: vec![7; 24],
        ciphertext: vec![7; 40],
        created_at: at(50),
        updated_at: at(50),
        ..a.clone()
    };
    assert_eq!(
        store.put_secret(&replaced).await.expect("put"),
        PutSecret::Stored
    );
    let stored = store
        .get_secret("anthropic")
        .await
        .expect("get")
        .expect("secret");
    assert_eq!(
        stored,
        SecretRow {
            created_at: at(0),
            ..replaced
        },
        "replaced, created_at kept"
    );

    assert!(store.delete_secret("anthropic").await.expect("delete"));
    assert!(!store.delete_secret("anthropic").await.expect("again"));
    assert_eq!(store.list_secrets().await.expect("list"), [b]);
    assert!(store.delete_secret("deepseek.key-2").await.expect("delete"));
    assert!(store.secret_key_ids().await.expect("key ids").is_empty());
}

pub(crate) async fn put_secret_never_mixes_master_keys(store: Arc<dyn AdminStore>) {
    let a = secret("a", "k1", 1, 0);
    assert_eq!(store.put_secret(&a).await.expect("put"), PutSecret::Stored);
    for other in [secret("b", "k2", 2, 1), secret("a", "k2", 3, 1)] {
        assert_eq!(
            store.put_secret(&other).await.expect("put"),
            PutSecret::OtherKey {
                key_id: "k1".into()
            },
            "{}",
            other.name
        );
    }
    assert_eq!(
        store.list_secrets().await.expect("list"),
        [a],
        "nothing written"
    );
}

pub(crate) async fn reseal_replaces_every_secret_in_one_transaction(store: Arc<dyn AdminStore>) {
    assert!(
        store
            .reseal_all_secrets("k2", &[], at(0))
            .await
            .expect("empty"),
        "nothing to reseal is a success"
    );
    let rows = [secret("a", "k1", 1, 0), secret("b", "k1", 2, 0)];
    for r in &rows {
        assert_eq!(store.put_secret(r).await.expect("put"), PutSecret::Stored);
    }
    let resealed: Vec<Resealed> = rows
        .iter()
        .map(|r| Resealed {
            name: r.name.clone(),
            previous_nonce: r.nonce.clone(),
            nonce: vec![9; 24],
            ciphertext: vec![9; 8],
        })
        .collect();
    assert!(
        store
            .reseal_all_secrets("k2", &resealed, at(10))
            .await
            .expect("reseal")
    );
    for r in store.list_secrets().await.expect("list") {
        assert_eq!(
            (
                r.key_id.as_str(),
                &r.nonce,
                &r.ciphertext,
                r.created_at,
                r.updated_at
            ),
            ("k2", &vec![9; 24], &vec![9; 8], at(0), at(10))
        );
    }
    assert_eq!(store.secret_key_ids().await.expect("key ids"), ["k2"]);
}

pub(crate) async fn reseal_is_refused_whole_when_secrets_changed_since_read(
    store: Arc<dyn AdminStore>,
) {
    let rows = [secret("a", "k1", 1, 0), secret("b", "k1", 2, 0)];
    for r in &rows {
        assert_eq!(store.put_secret(r).await.expect("put"), PutSecret::Stored);
    }
    let resealed = |r: &SecretRow| Resealed {
        name: r.name.clone(),
        previous_nonce: r.nonce.clone(),
        nonce: vec![9; 24],
        ciphertext: vec![9; 8],
    };
    let before = store.list_secrets().await.expect("list");

    // `b` was set again since it was read: its nonce changed.
    let stale = [
        resealed(&rows[0]),
        Resealed {
            previous_nonce: vec![42; 24],
            ..resealed(&rows[1])
        },
    ];
    assert!(
        !store
            .reseal_all_secrets("k2", &stale, at(10))
            .await
            .expect("reseal")
    );
    assert_eq!(
        store.list_secrets().await.expect("list"),
        before,
        "the first row's update was rolled back too"
    );

    // `c` was added since the rows were read: it would be left with the old key.
    let added = secret("c", "k1", 3, 5);
    assert_eq!(
        store.put_secret(&added).await.expect("put"),
        PutSecret::Stored
    );
    let all_but_c = [resealed(&rows[0]), resealed(&rows[1])];
    assert!(
        !store
            .reseal_all_secrets("k2", &all_but_c, at(10))
            .await
            .expect("reseal")
    );
    assert_eq!(store.secret_key_ids().await.expect("key ids"), ["k1"]);

    // A secret deleted since: its row is gone.
    assert!(store.delete_secret("c").await.expect("delete"));
    let with_ghost = [resealed(&rows[0]), resealed(&rows[1]), resealed(&added)];
    assert!(
        !store
            .reseal_all_secrets("k2", &with_ghost, at(10))
            .await
            .expect("reseal")
    );
    assert_eq!(store.list_secrets().await.expect("list"), before);
}
