//! The vault against a real SQLite store: round trips, a wrong key, rotation and its crash
//! recovery, key files.

use std::path::Path;
use std::sync::Arc;

use switchboard_config::SecretString;
use switchboard_store::AdminStore;

use super::*;
use crate::test_support::{at, store};

const UPSTREAM_KEY: &str = "sk-ant-api03-0123456789abcdefghij-XYZW";

async fn vault(dir: &Path, store: &Arc<dyn AdminStore>) -> Secrets {
    Secrets::open(Arc::clone(store), dir, None)
        .await
        .expect("open vault")
}

fn secret(s: &str) -> SecretString {
    SecretString::new(s)
}

/// Every stored row, to prove an operation changed nothing.
async fn rows(store: &Arc<dyn AdminStore>) -> Vec<SecretRow> {
    store.list_secrets().await.expect("list rows")
}

#[tokio::test]
async fn secrets_round_trip_sealed_and_listed_masked() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("anthropic", &secret(UPSTREAM_KEY), at(0))
        .await
        .expect("set");
    v.set("deepseek.key-2", &secret("short"), at(1))
        .await
        .expect("set");

    assert_eq!(
        v.get("anthropic").await.expect("get").expose(),
        UPSTREAM_KEY
    );
    let stored = rows(&store).await;
    assert_eq!(stored.len(), 2);
    for row in &stored {
        assert_eq!(row.key_id, v.key().id());
        assert_eq!(row.nonce.len(), 24);
        let haystack = String::from_utf8_lossy(&row.ciphertext);
        assert!(!haystack.contains("sk-ant"), "sealed, not stored as is");
    }
    assert_ne!(stored[0].nonce, stored[1].nonce);

    let listed = v.list().await.expect("list");
    let shown: Vec<(&str, &str)> = listed
        .iter()
        .map(|s| (s.name.as_str(), s.masked.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("anthropic", "sk-ant-api…XYZW"),
            ("deepseek.key-2", "…****")
        ]
    );

    // Setting again replaces the value, keeps created_at.
    v.set("anthropic", &secret("sk-second-value-0000000000"), at(5))
        .await
        .expect("set again");
    assert_eq!(
        v.get("anthropic").await.expect("get").expose(),
        "sk-second-value-0000000000"
    );
    let row = store
        .get_secret("anthropic")
        .await
        .expect("get row")
        .expect("row");
    assert_eq!((row.created_at, row.updated_at), (at(0), at(5)));

    let many = v
        .get_many(&["anthropic", "deepseek.key-2", "anthropic"])
        .await
        .expect("get many");
    assert_eq!(many.len(), 2);
    let missing = v
        .get_many(&["anthropic", "nope", "gone"])
        .await
        .expect_err("missing");
    assert!(
        matches!(&missing, VaultError::Missing { names } if names == &["nope", "gone"]),
        "{missing}"
    );

    assert!(v.delete("deepseek.key-2").await.expect("delete"));
    assert!(!v.delete("deepseek.key-2").await.expect("delete again"));
    assert!(matches!(
        v.get("deepseek.key-2").await,
        Err(VaultError::NotFound { .. })
    ));
}

#[tokio::test]
async fn names_and_values_are_validated() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    for bad in ["", "with space", "a/b", "ключ", &"x".repeat(65)] {
        let err = v
            .set(bad, &secret("value"), at(0))
            .await
            .expect_err("invalid name");
        assert!(
            matches!(err, VaultError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
    }
    v.set(&"x".repeat(64), &secret("value"), at(0))
        .await
        .expect("64 characters is fine");
    assert!(matches!(
        v.set("empty", &secret(""), at(0)).await,
        Err(VaultError::InvalidValue { .. })
    ));
}

#[tokio::test]
async fn a_value_moved_to_another_name_does_not_open() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("a", &secret("value-of-a"), at(0)).await.expect("set");
    let mut row = store.get_secret("a").await.expect("get").expect("row");
    row.name = "b".into();
    assert_eq!(
        store.put_secret(&row).await.expect("put"),
        PutSecret::Stored
    );
    let err = v.get("b").await.expect_err("name is the associated data");
    assert!(matches!(err, VaultError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn a_wrong_master_key_fails_clearly_and_changes_nothing() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("anthropic", &secret(UPSTREAM_KEY), at(0))
        .await
        .expect("set");
    let right_id = v.key().id().to_owned();
    let before = rows(&store).await;

    let other = MasterKey::generate(KeySource::Given).expect("rng");
    let env = other.encoded();
    let wrong = Secrets::open(Arc::clone(&store), dir.path(), Some(env.expose()))
        .await
        .expect("an env key always loads");
    let err = wrong.get("anthropic").await.expect_err("wrong key");
    assert_eq!(
        err.to_string(),
        format!(
            "secret \"anthropic\" is sealed with master key {right_id}, but the key in use is {} \
             (from SWITCHBOARD_MASTER_KEY): set SWITCHBOARD_MASTER_KEY to the key {right_id}, or \
             restore the key file that holds it; nothing stored was changed",
            other.id()
        )
    );
    assert!(!err.to_string().contains(env.expose()));
    assert!(matches!(
        wrong.list().await,
        Err(VaultError::KeyMismatch { .. })
    ));
    assert!(matches!(
        wrong.get_many(&["anthropic"]).await,
        Err(VaultError::KeyMismatch { .. })
    ));
    let err = wrong
        .set("new", &secret("value"), at(1))
        .await
        .expect_err("keys are never mixed");
    assert!(
        matches!(&err, VaultError::KeyMismatch { name: None, stored_key_id, .. } if *stored_key_id == right_id),
        "{err}"
    );
    let err = wrong
        .rotate_master(
            Some(MasterKey::generate(KeySource::Given).expect("rng")),
            at(2),
        )
        .await
        .expect_err("cannot rotate what it cannot open");
    assert!(matches!(err, VaultError::KeyMismatch { .. }), "{err}");

    assert_eq!(rows(&store).await, before, "nothing stored changed");
    assert_eq!(
        vault(dir.path(), &store)
            .await
            .get("anthropic")
            .await
            .expect("the right key still opens it")
            .expose(),
        UPSTREAM_KEY
    );
}

#[tokio::test]
async fn the_key_file_is_made_once_with_mode_600_and_reused() {
    let (dir, store) = store().await;
    let data = dir.path().join("data");
    let first = vault(&data, &store).await.key();
    let path = data.join(MASTER_KEY_FILE);
    assert_eq!(first.source(), &KeySource::File(path.clone()));
    #[cfg(unix)]
    assert_eq!(crate::files::mode(&path), 0o600);
    let second = vault(&data, &store).await.key();
    assert_eq!(second.id(), first.id());
}

#[cfg(unix)]
#[tokio::test]
async fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, store) = store().await;
    let _ = vault(dir.path(), &store).await;
    let path = dir.path().join(MASTER_KEY_FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = Secrets::open(Arc::clone(&store), dir.path(), None)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, VaultError::InsecureKeyFile { mode: 0o640, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[tokio::test]
async fn a_missing_key_file_is_not_replaced_while_secrets_need_it() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("a", &secret("value"), at(0)).await.expect("set");
    let id = v.key().id().to_owned();
    std::fs::remove_file(dir.path().join(MASTER_KEY_FILE)).expect("lose the key");
    let err = Secrets::open(Arc::clone(&store), dir.path(), None)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&err, VaultError::KeyFileMissing { stored_key_ids, .. } if stored_key_ids == &[id]),
        "{err}"
    );
    assert!(
        !dir.path().join(MASTER_KEY_FILE).exists(),
        "no new key made"
    );
}

#[tokio::test]
async fn rotation_reseals_everything_and_swaps_the_key_file() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    for (name, value) in [("a", "value-a"), ("b", UPSTREAM_KEY), ("c", "value-c")] {
        v.set(name, &secret(value), at(0)).await.expect("set");
    }
    let old = v.key();
    let before = rows(&store).await;

    let rotated = v.rotate_master(None, at(10)).await.expect("rotate");
    assert_eq!(rotated.previous_key_id, old.id());
    assert_eq!(rotated.resealed, 3);
    assert_ne!(rotated.key_id, old.id());
    assert_eq!(v.key().id(), rotated.key_id);

    let after = rows(&store).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.key_id, rotated.key_id);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!((a.created_at, a.updated_at), (at(0), at(10)));
    }
    assert_eq!(v.get("b").await.expect("get").expose(), UPSTREAM_KEY);
    assert!(!dir.path().join(NEW_MASTER_KEY_FILE).exists());
    #[cfg(unix)]
    assert_eq!(crate::files::mode(&dir.path().join(MASTER_KEY_FILE)), 0o600);

    // A fresh process loads the new key from the file.
    let reopened = vault(dir.path(), &store).await;
    assert_eq!(reopened.key().id(), rotated.key_id);
    assert_eq!(reopened.get("a").await.expect("get").expose(), "value-a");
}

#[tokio::test]
async fn a_crash_after_the_commit_is_finished_by_the_next_load() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("a", &secret(UPSTREAM_KEY), at(0)).await.expect("set");
    let rotated = v
        .rotate(None, at(1), true)
        .await
        .expect("rotate, then crash");
    drop(v);
    assert!(dir.path().join(NEW_MASTER_KEY_FILE).exists());

    let recovered = vault(dir.path(), &store).await;
    assert_eq!(
        recovered.key().id(),
        rotated.key_id,
        "the swap was finished"
    );
    assert_eq!(
        recovered.get("a").await.expect("get").expose(),
        UPSTREAM_KEY
    );
    assert!(!dir.path().join(NEW_MASTER_KEY_FILE).exists());
    assert_eq!(vault(dir.path(), &store).await.key().id(), rotated.key_id);
}

#[tokio::test]
async fn a_crash_before_the_commit_is_undone_by_the_next_load() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("a", &secret(UPSTREAM_KEY), at(0)).await.expect("set");
    let old = v.key().id().to_owned();
    drop(v);
    // The first step of a rotation, and nothing after it.
    let new = MasterKey::generate(KeySource::Given).expect("rng");
    crate::files::replace(&dir.path().join(NEW_MASTER_KEY_FILE), &new.file_line())
        .expect("write master.key.new");

    let recovered = vault(dir.path(), &store).await;
    assert_eq!(recovered.key().id(), old, "the old key stays");
    assert_eq!(
        recovered.get("a").await.expect("get").expose(),
        UPSTREAM_KEY
    );
    assert!(!dir.path().join(NEW_MASTER_KEY_FILE).exists());
}

#[tokio::test]
async fn a_rotation_that_matches_neither_key_is_refused_and_leaves_the_files() {
    let (dir, store) = store().await;
    let v = vault(dir.path(), &store).await;
    v.set("a", &secret("value"), at(0)).await.expect("set");
    drop(v);
    let stray = MasterKey::generate(KeySource::Given).expect("rng");
    crate::files::replace(&dir.path().join(NEW_MASTER_KEY_FILE), &stray.file_line())
        .expect("write master.key.new");
    std::fs::remove_file(dir.path().join(MASTER_KEY_FILE)).expect("lose the old key");
    let err = Secrets::open(Arc::clone(&store), dir.path(), None)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, VaultError::RotationUnclear { .. }), "{err}");
    assert!(
        dir.path().join(NEW_MASTER_KEY_FILE).exists(),
        "left for a human"
    );
}

#[tokio::test]
async fn an_environment_key_rotates_only_to_a_key_given_and_writes_no_file() {
    let (dir, store) = store().await;
    let env_key = MasterKey::generate(KeySource::Given)
        .expect("rng")
        .encoded();
    let v = Secrets::open(Arc::clone(&store), dir.path(), Some(env_key.expose()))
        .await
        .expect("open");
    assert_eq!(v.key().source(), &KeySource::Env);
    v.set("a", &secret("value-a"), at(0)).await.expect("set");

    assert!(matches!(
        v.rotate_master(None, at(1)).await,
        Err(VaultError::RotationNeedsKey)
    ));
    let same = MasterKey::from_env_value(env_key.expose()).expect("parse");
    assert!(matches!(
        v.rotate_master(Some(same), at(1)).await,
        Err(VaultError::SameKey { .. })
    ));
    let new = MasterKey::generate(KeySource::Given).expect("rng");
    let new_env = new.encoded();
    let rotated = v.rotate_master(Some(new), at(2)).await.expect("rotate");
    assert_eq!(v.get("a").await.expect("get").expose(), "value-a");
    assert!(!dir.path().join(MASTER_KEY_FILE).exists());
    assert!(!dir.path().join(NEW_MASTER_KEY_FILE).exists());

    let next_start = Secrets::open(Arc::clone(&store), dir.path(), Some(new_env.expose()))
        .await
        .expect("open with the new env key");
    assert_eq!(next_start.key().id(), rotated.key_id);
    assert_eq!(next_start.get("a").await.expect("get").expose(), "value-a");
}

#[tokio::test]
async fn an_empty_environment_variable_means_the_key_file() {
    let (dir, store) = store().await;
    let v = Secrets::open(Arc::clone(&store), dir.path(), Some("  "))
        .await
        .expect("open");
    assert!(matches!(v.key().source(), KeySource::File(_)));
    let err = Secrets::open(Arc::clone(&store), dir.path(), Some("abc"))
        .await
        .err()
        .expect("invalid env key");
    assert!(
        err.to_string()
            .starts_with("SWITCHBOARD_MASTER_KEY is not a master key"),
        "{err}"
    );
}
