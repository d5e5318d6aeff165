//! The door from the command line: `status` works for the user who runs the gateway and for no
//! one else; a public listener needs a token or `--insecure-public`; `admin add` and
//! `secrets set` read their secrets from stdin, never from argv; `ui --print` mints a link
//! that signs in once.

mod support;

use std::io::Write as _;
use std::process::Stdio;

use support::*;

fn with_stdin(mut cmd: std::process::Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn status_works_for_the_user_who_runs_the_gateway_and_for_no_one_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `config.toml` in SWITCHBOARD_HOME, on a port of its own: what a user has.
    write_file(
        dir.path(),
        "config.toml",
        &format!("[server]\nlisten = \"127.0.0.1:{}\"\n", closed_port()),
    );
    let mut gw = Gateway::start(switchboard(dir.path()));
    let addr = gw.wait_for_banner();
    // No flags: the address from the config, the credential from the data directory.
    let mut status = switchboard(dir.path());
    status.arg("status");
    let out = run(status);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("anthropic"),
        "{}",
        text(&out.stdout)
    );

    // Another user's data directory holds no credential of this gateway.
    let other = tempfile::tempdir().expect("tempdir");
    let mut status = switchboard(other.path());
    status.args(["status", "--url", &format!("http://{addr}")]);
    let out = run(status);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no admin credential"), "{stderr}");

    // A real second user of the machine (when the tests run as root, as CI does): the data
    // directory is theirs to read only if it is, and the credential is 0600.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    let runuser = std::path::Path::new("/usr/sbin/runuser").exists()
        || std::path::Path::new("/sbin/runuser").exists();
    if root && runuser {
        let mode = std::fs::metadata(dir.path().join("admin.token"))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .expect("credential");
        assert_eq!(mode, 0o600);
        let out = std::process::Command::new("runuser")
            .args([
                "-u",
                "nobody",
                "--",
                env!("CARGO_BIN_EXE_switchboard"),
                "status",
                "--url",
            ])
            .arg(format!("http://{addr}"))
            .env("SWITCHBOARD_HOME", dir.path())
            .env("HOME", "/tmp")
            .stdin(Stdio::null())
            .output()
            .expect("runuser");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("cannot access the admin credential"),
            "{stderr}"
        );
    }
    assert_eq!(gw.terminate().code(), Some(0), "{}", gw.stderr);
}

#[test]
fn a_public_listener_needs_a_token_or_insecure_public() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", "0.0.0.0:0"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("without a gateway token"), "{stderr}");
    assert!(stderr.contains("--insecure-public"), "{stderr}");

    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--insecure-public"]);
    let mut gw = Gateway::start(cmd);
    let warning = gw.wait_for_line("the insecure-public warning", |l| {
        l.contains("WARNING") && l.contains("--insecure-public")
    });
    assert!(warning.contains("no gateway token"), "{warning}");
    let addr = gw.wait_for_banner();
    let (status, body) = http(addr, "GET", "/status", &admin_auth(dir.path()), "");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(doc["insecure_public"], true);
    assert_eq!(gw.terminate().code(), Some(0), "{}", gw.stderr);
}

#[test]
fn admin_users_and_secrets_take_their_values_from_stdin_and_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut add = switchboard(dir.path());
    add.args(["admin", "add", "alice"]);
    let out = with_stdin(add, "a long enough password\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut set = switchboard(dir.path());
    set.args(["secrets", "set", "up-key"]);
    let out = with_stdin(set, "sk-upstream-from-stdin-0123456789\n");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("secret:up-key"), "{stderr}");
    assert!(!stderr.contains("from-stdin-0123456789"), "{stderr}");

    let mut list = switchboard(dir.path());
    list.args(["secrets", "list"]);
    let out = run(list);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("up-key"), "{stdout}");
    assert!(stdout.contains("sk-upstrea…6789"), "{stdout}");
    let mut users = switchboard(dir.path());
    users.args(["admin", "list"]);
    let stdout = text(&run(users).stdout);
    assert!(
        stdout.contains("alice") && stdout.contains("admin"),
        "{stdout}"
    );

    // A gateway started on that data directory: alice signs in with her password, and
    // `ui --print` mints a link that works once.
    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut gw = Gateway::start(cmd);
    let addr = gw.wait_for_banner();
    let (status, body) = http(
        addr,
        "POST",
        "/api/admin/login",
        "",
        r#"{"name":"alice","password":"a long enough password"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut ui = switchboard(dir.path());
    ui.args(["ui", "--print", "--url", &format!("http://{addr}")]);
    let out = run(ui);
    let link = text(&out.stdout).trim().to_owned();
    assert!(
        link.starts_with(&format!("http://{addr}/ui/login?token=sbl_")),
        "{link} / {}",
        text(&out.stderr)
    );
    let path = link.trim_start_matches(&format!("http://{addr}"));
    let (status, _) = http(addr, "GET", path, "", "");
    assert_eq!(status, 303);
    let (status, _) = http(addr, "GET", path, "", "");
    assert_eq!(status, 403, "a link works once");
    assert_eq!(gw.terminate().code(), Some(0), "{}", gw.stderr);
}
