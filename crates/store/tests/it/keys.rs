//! The behaviour every [`KeyStore`] must show: client keys, teams, memberships and budgets, and
//! the log's spend read back per key, user and team — each case against SQLite and PostgreSQL
//! in a fresh, migrated store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use switchboard_store::{AdminStore, ClientKeyRow, LogRecord, Role, Store, TeamRow, UsageOf, User};
use uuid::Uuid;

use crate::support::{at, record};

macro_rules! keys_suite {
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

keys_suite!(
    keys_round_trip_with_names_unique_ignoring_case,
    a_key_is_revoked_once_and_a_revoked_key_is_not_rotated,
    last_use_only_moves_forward,
    deleting_a_user_deletes_their_keys_and_memberships,
    deleting_a_team_leaves_its_keys_without_one,
    teams_members_and_budgets_round_trip,
    usage_history_sums_the_log_per_bucket_key_and_model,
);

type Both = (Arc<dyn Store>, Arc<dyn AdminStore>);

async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Both) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let both = switchboard_store::open_with_admin(None, dir.path())
        .await
        .expect("open sqlite store");
    case(both).await;
}

async fn with_postgres<F, Fut>(case: F)
where
    F: FnOnce(Both) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    use sqlx::Connection as _;
    use sqlx::postgres::{PgConnectOptions, PgConnection};

    let url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let required = std::env::var("SWITCHBOARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let options: PgConnectOptions = url.parse().expect("SWITCHBOARD_TEST_POSTGRES_URL parses");
    let connect = tokio::time::timeout(
        StdDuration::from_secs(5),
        PgConnection::connect_with(&options),
    )
    .await;
    let mut conn = match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return crate::admin::skip_or_fail(required, &e.to_string()),
        Err(_) => return crate::admin::skip_or_fail(required, "connect timed out"),
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
    let store = Arc::new(store);
    let both: Both = (store.clone(), store);
    let result = tokio::spawn(case(both)).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop test schema");
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn user(name: &str) -> User {
    User {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        role: Role::Member,
        password_hash: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn key(name: &str, n: u8, user_id: Uuid) -> ClientKeyRow {
    ClientKeyRow {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        key_hash: [n; 32],
        hint: format!("sb-{n:02}…wxyz"),
        user_id,
        team_id: None,
        limits: "{}".into(),
        created_at: at(i64::from(n)),
        updated_at: at(i64::from(n)),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

fn team(name: &str) -> TeamRow {
    TeamRow {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        budgets: "[]".into(),
        created_at: at(0),
        updated_at: at(0),
    }
}

async fn keys_round_trip_with_names_unique_ignoring_case((_, store): Both) {
    let alice = user("alice");
    assert!(store.create_user(&alice).await.expect("user"));
    let mut ci = key("CI", 1, alice.id);
    ci.expires_at = Some(at(86_400));
    ci.limits = r#"{"rpm":60,"budgets":["5usd/day"]}"#.into();
    let laptop = key("laptop", 2, alice.id);
    for k in [&ci, &laptop] {
        assert!(
            store.insert_client_key(k).await.expect("insert"),
            "{}",
            k.name
        );
    }
    let clash = key("ci", 3, alice.id);
    assert!(
        !store.insert_client_key(&clash).await.expect("clash"),
        "names are unique ignoring case"
    );
    assert_eq!(
        store.list_client_keys().await.expect("list"),
        vec![ci.clone(), laptop.clone()]
    );
    assert_eq!(
        store.get_client_key(ci.id).await.expect("get"),
        Some(ci.clone())
    );
    assert_eq!(
        store.get_client_key(Uuid::now_v7()).await.expect("get"),
        None
    );

    let t = team("platform");
    assert!(store.create_team(&t).await.expect("team"));
    assert!(
        store
            .update_client_key(ci.id, Some(t.id), r#"{"rpm":10}"#, None, at(100))
            .await
            .expect("update")
    );
    let got = store
        .get_client_key(ci.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(
        (
            got.team_id,
            got.limits.as_str(),
            got.expires_at,
            got.updated_at
        ),
        (Some(t.id), r#"{"rpm":10}"#, None, at(100))
    );
    assert!(
        !store
            .update_client_key(Uuid::now_v7(), None, "{}", None, at(100))
            .await
            .expect("update")
    );
}

async fn a_key_is_revoked_once_and_a_revoked_key_is_not_rotated((_, store): Both) {
    let alice = user("alice");
    store.create_user(&alice).await.expect("user");
    let k = key("k", 1, alice.id);
    store.insert_client_key(&k).await.expect("insert");
    assert!(
        store
            .rotate_client_key(k.id, &[9; 32], "sb-new…", at(10))
            .await
            .expect("rotate")
    );
    let got = store
        .get_client_key(k.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!((got.key_hash, got.hint.as_str()), ([9; 32], "sb-new…"));
    assert!(store.revoke_client_key(k.id, at(20)).await.expect("revoke"));
    assert!(
        !store.revoke_client_key(k.id, at(30)).await.expect("again"),
        "revoked once"
    );
    let got = store
        .get_client_key(k.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(got.revoked_at, Some(at(20)));
    assert!(
        !store
            .rotate_client_key(k.id, &[8; 32], "sb-x…", at(40))
            .await
            .expect("rotate"),
        "a revoked key stays revoked"
    );
}

async fn last_use_only_moves_forward((_, store): Both) {
    let alice = user("alice");
    store.create_user(&alice).await.expect("user");
    let (a, b) = (key("a", 1, alice.id), key("b", 2, alice.id));
    store.insert_client_key(&a).await.expect("a");
    store.insert_client_key(&b).await.expect("b");
    store
        .touch_client_keys(&[(a.id, at(50)), (b.id, at(10))])
        .await
        .expect("touch");
    store
        .touch_client_keys(&[(a.id, at(40)), (b.id, at(20)), (Uuid::now_v7(), at(1))])
        .await
        .expect("touch");
    let last: Vec<_> = store
        .list_client_keys()
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.last_used_at)
        .collect();
    assert_eq!(last, vec![Some(at(50)), Some(at(20))]);
}

async fn deleting_a_user_deletes_their_keys_and_memberships((_, store): Both) {
    let (alice, bob) = (user("alice"), user("bob"));
    store.create_user(&alice).await.expect("alice");
    store.create_user(&bob).await.expect("bob");
    let t = team("platform");
    store.create_team(&t).await.expect("team");
    for u in [&alice, &bob] {
        assert!(store.add_team_member(t.id, u.id, at(1)).await.expect("add"));
    }
    store
        .insert_client_key(&key("a", 1, alice.id))
        .await
        .expect("a");
    let b = key("b", 2, bob.id);
    store.insert_client_key(&b).await.expect("b");
    assert!(store.delete_user(alice.id).await.expect("delete"));
    assert_eq!(store.list_client_keys().await.expect("list"), vec![b]);
    assert_eq!(
        store.team_members().await.expect("members"),
        vec![(t.id, bob.id)]
    );
}

async fn deleting_a_team_leaves_its_keys_without_one((_, store): Both) {
    let alice = user("alice");
    store.create_user(&alice).await.expect("alice");
    let t = team("platform");
    store.create_team(&t).await.expect("team");
    store
        .add_team_member(t.id, alice.id, at(1))
        .await
        .expect("add");
    let mut k = key("a", 1, alice.id);
    k.team_id = Some(t.id);
    store.insert_client_key(&k).await.expect("a");
    assert!(store.delete_team(t.id).await.expect("delete"));
    assert!(!store.delete_team(t.id).await.expect("again"));
    let got = store
        .get_client_key(k.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(got.team_id, None);
    assert!(store.team_members().await.expect("members").is_empty());
    assert!(store.list_teams().await.expect("teams").is_empty());
}

async fn teams_members_and_budgets_round_trip((_, store): Both) {
    let alice = user("alice");
    store.create_user(&alice).await.expect("alice");
    let (a, b) = (team("Platform"), team("data"));
    assert!(store.create_team(&a).await.expect("a"));
    assert!(store.create_team(&b).await.expect("b"));
    assert!(
        !store.create_team(&team("PLATFORM")).await.expect("clash"),
        "team names are unique ignoring case"
    );
    assert_eq!(
        store.list_teams().await.expect("list"),
        vec![b.clone(), a.clone()]
    );
    assert!(
        store
            .add_team_member(a.id, alice.id, at(1))
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_team_member(a.id, alice.id, at(2))
            .await
            .expect("again")
    );
    assert!(
        store
            .add_team_member(b.id, alice.id, at(3))
            .await
            .expect("add")
    );
    assert!(
        store
            .remove_team_member(b.id, alice.id)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_team_member(b.id, alice.id)
            .await
            .expect("again")
    );
    assert_eq!(
        store.team_members().await.expect("members"),
        vec![(a.id, alice.id)]
    );
    assert!(
        store
            .set_team_budgets(a.id, r#"["3usd/day"]"#, at(5))
            .await
            .expect("team budgets")
    );
    assert_eq!(
        store.list_teams().await.expect("list")[1].budgets,
        r#"["3usd/day"]"#
    );
    assert_eq!(
        store.user_budgets().await.expect("budgets"),
        vec![(alice.id, "[]".to_owned())]
    );
    assert!(
        store
            .set_user_budgets(alice.id, r#"["opus:1usd/week"]"#, at(6))
            .await
            .expect("user budgets")
    );
    assert!(
        !store
            .set_user_budgets(Uuid::now_v7(), "[]", at(6))
            .await
            .expect("nobody")
    );
    assert_eq!(
        store.user_budgets().await.expect("budgets"),
        vec![(alice.id, r#"["opus:1usd/week"]"#.to_owned())]
    );
}

async fn usage_history_sums_the_log_per_bucket_key_and_model((log, store): Both) {
    let mk = |secs: i64, key: &str, user: &str, team: Option<&str>, model: &str, cost: f64| {
        let mut r: LogRecord = record(secs);
        r.client_key = Some(key.into());
        r.client_user = Some(user.into());
        r.client_team = team.map(Into::into);
        r.requested_model = Some(model.into());
        r.input_tokens = 100;
        r.output_tokens = 10;
        r.cache_creation_input_tokens = 1;
        r.cache_read_input_tokens = 1000;
        r.cost_usd = Some(cost);
        r
    };
    let rows = vec![
        mk(0, "a", "alice", Some("platform"), "opus", 1.0),
        mk(100, "a", "alice", Some("platform"), "opus", 2.0),
        mk(400, "a", "alice", Some("platform"), "sonnet", 0.5),
        mk(700, "b", "bob", None, "opus", 4.0),
        mk(700, "c", "carol", None, "opus", 8.0),
        mk(-700, "a", "alice", Some("platform"), "opus", 16.0),
    ];
    log.insert_batch(&rows).await.expect("insert");
    let of = UsageOf {
        keys: vec!["a".into()],
        users: vec!["bob".into()],
        teams: vec!["nobody".into()],
    };
    let got = store
        .usage_history(at(0), StdDuration::from_secs(300), &of)
        .await
        .expect("history");
    let summary: Vec<_> = got
        .iter()
        .map(|r| {
            (
                r.bucket,
                r.client_key.as_deref().unwrap_or(""),
                r.requested_model.as_deref().unwrap_or(""),
                r.requests,
                r.input_tokens + r.output_tokens + r.cache_creation_input_tokens,
                r.cost_usd,
            )
        })
        .collect();
    let mut expected = vec![
        (at(0), "a", "opus", 2, 222, 3.0),
        (at(300), "a", "sonnet", 1, 111, 0.5),
        (at(600), "b", "opus", 1, 111, 4.0),
    ];
    let mut summary = summary;
    summary.sort_by(|x, y| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2)));
    expected.sort_by(|x, y| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2)));
    assert_eq!(summary, expected);
    assert!(
        got.iter()
            .all(|r| r.cache_read_input_tokens == 1000 * r.requests)
    );
    assert_eq!(got[0].client_team.as_deref(), Some("platform"));
    assert!(
        store
            .usage_history(
                at(0) - Duration::hours(1),
                StdDuration::from_secs(60),
                &UsageOf::default()
            )
            .await
            .expect("nobody")
            .is_empty()
    );
}
