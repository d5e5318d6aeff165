//! `switchboard keys|users|teams` from the command line: with the gateway stopped (the store
//! opened directly, the change read at start) and running (the change in force at once); the
//! key printed once, alone on stdout.

mod support;

use support::*;

fn ok(home: &std::path::Path, args: &[&str]) -> (String, String) {
    let mut cmd = switchboard(home);
    cmd.args(args);
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn keys_users_and_teams_from_the_command_line_with_the_gateway_stopped_and_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(
        dir.path(),
        "config.toml",
        &format!("[server]\nlisten = \"127.0.0.1:{}\"\n", closed_port()),
    );
    let home = dir.path();

    // The gateway is not running: the store is opened directly.
    let (_, err) = ok(home, &["users", "add", "alice", "--budget", "5usd/day"]);
    assert!(err.contains("Added alice (member)"), "{err}");
    ok(
        home,
        &["teams", "add", "platform", "--budget", "10usd/week"],
    );
    ok(home, &["teams", "add-member", "platform", "alice"]);
    let (key, err) = ok(
        home,
        &[
            "keys",
            "create",
            "ci",
            "--user",
            "alice",
            "--team",
            "platform",
            "--models",
            "claude-sonnet-*,claude-haiku-*",
            "--rpm",
            "60",
            "--budget",
            "2000000tok/5h",
            "--budget",
            "opus:10usd/week",
            "--clients",
            "claude-cli/*",
            "--expires",
            "30d",
        ],
    );
    let key = key.trim().to_owned();
    assert!(
        key.starts_with("sb-") && key.len() == 46,
        "stdout is the key alone: {key:?}"
    );
    assert!(err.contains("shown this once"), "{err}");
    assert!(!err.contains(&key), "the key goes to stdout only");

    let (list, _) = ok(home, &["keys", "list"]);
    assert!(list.contains("ci") && list.contains(&key[..10]), "{list}");
    assert!(!list.contains(&key), "{list}");
    assert!(
        list.contains(
            "rpm 60, 2000000tok/5h, opus:10usd/week, models claude-sonnet-* claude-haiku-*"
        ),
        "{list}"
    );
    let (users, _) = ok(home, &["users", "list"]);
    assert!(
        users
            .lines()
            .any(|l| l.contains("alice") && l.contains("platform") && l.contains("5usd/day")),
        "{users}"
    );
    let (teams, _) = ok(home, &["teams", "list"]);
    assert!(teams.contains("platform  alice    10usd/week"), "{teams}");

    // Running: changes go through the gateway and are in force at once.
    let mut gw = Gateway::start(switchboard(home));
    let addr = gw.wait_for_banner();
    let usage = |k: &str| {
        http(
            addr,
            "GET",
            "/v1/switchboard/usage",
            &format!("x-api-key: {k}\r\n"),
            "",
        )
    };
    let (status, body) = usage(&key);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"ci\""), "{body}");
    let (status, _) = http(addr, "POST", "/v1/messages", "", "{}");
    assert_eq!(status, 401, "a key is required once one exists");

    let (status, body) = http(addr, "GET", "/api/admin/keys", &admin_auth(home), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"last_used_at\":\""),
        "the key's use is seen at once: {body}"
    );
    let (show, _) = ok(home, &["keys", "show", "ci"]);
    assert!(show.contains("user         alice"), "{show}");
    assert!(show.contains("budget       user alice 5usd/day"), "{show}");
    let (new, _) = ok(home, &["keys", "rotate", "ci"]);
    let new = new.trim().to_owned();
    assert_ne!(new, key);
    assert_eq!(usage(&key).0, 401, "the old key is refused at once");
    assert_eq!(usage(&new).0, 200);
    ok(home, &["keys", "limit", "ci", "--none"]);
    let (list, _) = ok(home, &["keys", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("ci") && l.trim_end().ends_with('-')),
        "{list}"
    );
    ok(home, &["keys", "revoke", "ci"]);
    assert_eq!(usage(&new).0, 401, "revoked from the next request on");
    let (list, _) = ok(home, &["keys", "list"]);
    assert!(list.contains("revoked"), "{list}");
    ok(home, &["teams", "remove-member", "platform", "alice"]);
    ok(home, &["teams", "remove", "platform"]);
    ok(home, &["users", "remove", "alice"]);
    let (list, _) = ok(home, &["keys", "list"]);
    assert!(!list.contains("ci "), "alice's keys went with her: {list}");
    gw.terminate();
}
