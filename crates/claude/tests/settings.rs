//! `settings::setup` and `settings::undo` against a temporary home: the merge touches only the
//! managed keys, undo gives back the original bytes, a key the user changed is left alone, a
//! malformed file is never written.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_claude::settings::{self, Action, SetupOptions};
use switchboard_claude::{Error, Paths};

const URL: &str = "http://127.0.0.1:8787";
const TOKEN: &str = "sb-test-token-0123456789abcdef";

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp home")
}

fn paths(home: &Path) -> Paths {
    Paths::new(home, None, None)
}

fn seed(p: &Paths, text: &str) {
    fs::create_dir_all(p.settings.parent().expect("dir")).expect("mkdir");
    fs::write(&p.settings, text).expect("seed settings");
}

fn read(p: &Paths) -> String {
    fs::read_to_string(&p.settings).expect("read settings")
}

fn parsed(p: &Paths) -> Value {
    serde_json::from_str(&read(p)).expect("settings parse")
}

fn full() -> SetupOptions {
    SetupOptions {
        base_url: URL.to_owned(),
        auth_token: Some(TOKEN.to_owned()),
        timeout_ms: Some(600_000),
        disable_nonessential_traffic: true,
        attribution_header_off: true,
        commit_attribution_off: true,
        profile: Some("work".to_owned()),
        statusline: Some("/usr/local/bin/switchboard statusline".to_owned()),
    }
}

fn basic() -> SetupOptions {
    SetupOptions {
        base_url: URL.to_owned(),
        auth_token: Some(TOKEN.to_owned()),
        ..SetupOptions::default()
    }
}

/// A settings file as Claude Code writes it: `JSON.stringify(settings, null, 2)`, no newline.
const CLAUDE_CODE_FILE: &str = r#"{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "permissions": {
    "allow": [
      "Bash(npm run *)"
    ],
    "deny": []
  },
  "env": {
    "DISABLE_TELEMETRY": "1"
  },
  "hooks": {
    "SessionStart": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "echo hi"
          }
        ]
      }
    ]
  },
  "enabledPlugins": {
    "a@b": true
  },
  "spinnerVerbs": {
    "mode": "append",
    "verbs": [
      "Pondering"
    ]
  }
}"#;

#[test]
fn setup_merges_only_its_keys_and_undo_restores_claude_codes_file_byte_for_byte() {
    let home = home();
    let p = paths(home.path());
    seed(&p, CLAUDE_CODE_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&p.settings, fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let report = settings::setup(&p, &full()).expect("setup");
    assert!(!report.created_file);
    #[cfg(unix)]
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("mode 644") && n.contains("chmod 600")),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .backup
            .as_ref()
            .is_some_and(|b| fs::read_to_string(b).expect("backup") == CLAUDE_CODE_FILE)
    );
    let v = parsed(&p);
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], URL);
    assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], TOKEN);
    assert_eq!(v["env"]["API_TIMEOUT_MS"], "600000");
    assert_eq!(v["env"]["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1");
    assert_eq!(v["env"]["CLAUDE_CODE_ATTRIBUTION_HEADER"], "0");
    assert_eq!(
        v["env"]["ANTHROPIC_CUSTOM_HEADERS"],
        "X-Switchboard-Profile: work"
    );
    assert_eq!(v["env"]["DISABLE_TELEMETRY"], "1");
    assert_eq!(v["attribution"], json!({"commit": "", "pr": ""}));
    assert_eq!(
        v["statusLine"],
        json!({"type": "command", "command": "/usr/local/bin/switchboard statusline", "padding": 0})
    );
    assert!(v.get("apiKey").is_none() && v["env"].get("ANTHROPIC_API_KEY").is_none());
    // Everything else is as it was, in its place and layout.
    let text = read(&p);
    assert!(
        text.starts_with(&CLAUDE_CODE_FILE[..CLAUDE_CODE_FILE.find("  \"env\"").expect("env")])
    );
    assert!(text.contains("  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\",\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\",\n"));
    assert!(text.ends_with("  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"/usr/local/bin/switchboard statusline\",\n    \"padding\": 0\n  }\n}"));
    // The token is in settings.json only: Switchboard's record holds a hash of it.
    let record = fs::read_to_string(p.state_dir.join("setup.json")).expect("record");
    assert!(!record.contains(TOKEN));

    let undo = settings::undo(&p).expect("undo");
    assert!(undo.left_alone.is_empty(), "{:?}", undo.left_alone);
    assert!(undo.identical_to_original);
    assert_eq!(read(&p), CLAUDE_CODE_FILE);
}

#[test]
fn undo_restores_an_unusually_formatted_file_byte_for_byte() {
    let original = "{\r\n\t\"env\" :{ \"ANTHROPIC_BASE_URL\":\"https://other.example\" ,\r\n\t\t\"X\":\"1\"},\r\n\t\"statusLine\":{\"type\":\"command\",\"command\":\"~/bin/line.sh\",\"padding\":1},\r\n\t\"a\" : [ 1 ,2 ]  }";
    let home = home();
    let p = paths(home.path());
    seed(&p, original);
    let report = settings::setup(&p, &full()).expect("setup");
    let replaced: Vec<&str> = report
        .changes
        .iter()
        .filter(|c| c.action == Action::Replaced)
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(replaced, ["env.ANTHROPIC_BASE_URL", "statusLine.command"]);
    let v = parsed(&p);
    assert_eq!(
        v["statusLine"],
        json!({"type": "command", "command": "/usr/local/bin/switchboard statusline --then '~/bin/line.sh'", "padding": 1})
    );
    let text = read(&p);
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "CRLF kept: {text:?}"
    );
    assert!(text.ends_with("  }"), "no newline added at the end");
    settings::undo(&p).expect("undo");
    assert_eq!(read(&p), original);

    // A byte order mark (Windows editors) stays where it is.
    let bom = "\u{feff}{\n    \"a\": 1\n}\n";
    seed(&p, bom);
    settings::setup(&p, &basic()).expect("setup with a BOM");
    assert!(
        read(&p).starts_with(
            "\u{feff}{\n    \"a\": 1,\n    \"env\": {\n        \"ANTHROPIC_BASE_URL\""
        )
    );
    settings::undo(&p).expect("undo");
    assert_eq!(read(&p), bom);
}

#[test]
fn a_missing_file_is_created_private_and_undo_removes_it() {
    let home = home();
    let p = paths(home.path());
    let report = settings::setup(&p, &basic()).expect("setup");
    assert!(report.created_file);
    assert_eq!(
        read(&p),
        "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"sb-test-token-0123456789abcdef\"\n  }\n}\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&p.settings)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let undo = settings::undo(&p).expect("undo");
    assert!(undo.removed_file);
    assert!(!p.settings.exists());
    // Nothing is recorded any more.
    assert!(matches!(settings::undo(&p), Err(Error::NotFound(_))));
}

#[test]
fn a_key_the_user_changed_since_setup_is_left_alone_and_reported() {
    let home = home();
    let p = paths(home.path());
    seed(&p, CLAUDE_CODE_FILE);
    settings::setup(&p, &basic()).expect("setup");
    // The user points Claude Code elsewhere by hand, and Claude Code adds a key of its own.
    let mut v = parsed(&p);
    v["env"]["ANTHROPIC_BASE_URL"] = json!("https://mine.example");
    v["model"] = json!("opus");
    fs::write(&p.settings, serde_json::to_string_pretty(&v).expect("json")).expect("user edit");
    let undo = settings::undo(&p).expect("undo");
    assert_eq!(undo.restored, ["env.ANTHROPIC_AUTH_TOKEN"]);
    assert_eq!(undo.left_alone.len(), 1);
    assert_eq!(undo.left_alone[0].key, "env.ANTHROPIC_BASE_URL");
    assert!(
        undo.left_alone[0].reason.contains("https://mine.example"),
        "{:?}",
        undo.left_alone
    );
    assert!(!undo.identical_to_original);
    let v = parsed(&p);
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "https://mine.example");
    assert!(v["env"].get("ANTHROPIC_AUTH_TOKEN").is_none());
    assert_eq!(v["model"], "opus");
}

#[test]
fn a_malformed_file_is_reported_with_line_and_column_and_never_written() {
    let home = home();
    let p = paths(home.path());
    let broken = "{\n  \"env\": {\n    \"A\": \"1\",\n  }\n}\n";
    seed(&p, broken);
    let e = settings::setup(&p, &basic()).expect_err("malformed");
    match &e {
        Error::Malformed { line, column, .. } => assert_eq!((*line, *column), (4, 3)),
        other => panic!("expected Malformed, got {other}"),
    }
    let message = e.to_string();
    assert!(message.contains("settings.json:4:3:"), "{message}");
    assert_eq!(read(&p), broken);
    assert!(!p.state_dir.join("setup.json").exists());
    // A top level that is not an object is refused the same way.
    seed(&p, "[1, 2]");
    assert!(matches!(
        settings::setup(&p, &basic()),
        Err(Error::Unsupported { .. })
    ));
    // So is an `env` that is not an object.
    seed(&p, "{\"env\": \"x\"}");
    let e = settings::setup(&p, &basic()).expect_err("env not an object");
    assert!(e.to_string().contains("`env` is not an object"), "{e}");
    assert_eq!(read(&p), "{\"env\": \"x\"}");
}

#[test]
fn setup_twice_keeps_the_first_previous_values_for_undo() {
    let home = home();
    let p = paths(home.path());
    let original = "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://old.example\"}}\n";
    seed(&p, original);
    settings::setup(&p, &basic()).expect("first setup");
    let again = SetupOptions {
        base_url: "http://127.0.0.1:9999".to_owned(),
        timeout_ms: Some(1000),
        ..basic()
    };
    let report = settings::setup(&p, &again).expect("second setup");
    let actions: Vec<(String, Action)> = report
        .changes
        .iter()
        .map(|c| (c.key.clone(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("env.ANTHROPIC_BASE_URL".to_owned(), Action::Replaced),
            ("env.ANTHROPIC_AUTH_TOKEN".to_owned(), Action::Unchanged),
            ("env.API_TIMEOUT_MS".to_owned(), Action::Added),
        ]
    );
    settings::undo(&p).expect("undo");
    assert_eq!(read(&p), original);
}

#[test]
fn a_second_statusline_setup_does_not_chain_itself() {
    let home = home();
    let p = paths(home.path());
    let original = "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"bash -c 'echo it'\\\\''s me'\"\n  }\n}";
    seed(&p, original);
    let opts = SetupOptions {
        statusline: Some("switchboard statusline".to_owned()),
        ..basic()
    };
    settings::setup(&p, &opts).expect("setup");
    settings::setup(&p, &opts).expect("setup again");
    let v = parsed(&p);
    let theirs = "bash -c 'echo it'\\''s me'";
    // The chained command, unquoted by a shell, is theirs again.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf %s {}",
            &v["statusLine"]["command"].as_str().expect("str")
                ["switchboard statusline --then ".len()..]
        ))
        .output()
        .expect("sh");
    assert_eq!(String::from_utf8_lossy(&out.stdout), theirs);
    settings::undo(&p).expect("undo");
    assert_eq!(read(&p), original);
}

#[test]
fn setup_after_the_user_deleted_the_file_starts_afresh() {
    let home = home();
    let p = paths(home.path());
    seed(&p, CLAUDE_CODE_FILE);
    settings::setup(&p, &basic()).expect("setup");
    fs::remove_file(&p.settings).expect("the user deletes the file");
    settings::setup(&p, &basic()).expect("setup again");
    let undo = settings::undo(&p).expect("undo");
    assert!(undo.removed_file, "the file setup created is removed again");
    assert!(!p.settings.exists());
}

#[test]
fn claude_config_dir_moves_the_settings_file() {
    let home = home();
    let p = Paths::new(home.path(), Some(&home.path().join("work-claude")), None);
    settings::setup(&p, &basic()).expect("setup");
    assert!(home.path().join("work-claude/settings.json").is_file());
    assert!(!home.path().join(".claude/settings.json").exists());
}

#[test]
fn bad_options_are_refused_before_reading_anything() {
    let home = home();
    let p = paths(home.path());
    for (opts, needle) in [
        (
            SetupOptions {
                base_url: "http://127.0.0.1:8787/v1".to_owned(),
                ..basic()
            },
            "/v1",
        ),
        (
            SetupOptions {
                base_url: "127.0.0.1:8787".to_owned(),
                ..basic()
            },
            "not an http",
        ),
        (
            SetupOptions {
                auth_token: Some("a b".to_owned()),
                ..basic()
            },
            "token",
        ),
        (
            SetupOptions {
                timeout_ms: Some(3_000_000_000),
                ..basic()
            },
            "out of range",
        ),
        (
            SetupOptions {
                profile: Some("a b".to_owned()),
                ..basic()
            },
            "profile",
        ),
    ] {
        let e = settings::setup(&p, &opts).expect_err(needle);
        assert!(e.to_string().contains(needle), "{e}");
    }
    assert!(!p.settings.exists());
}

#[test]
fn status_shows_ours_masks_the_token_and_warns_of_conflicts() {
    let home = home();
    let p = paths(home.path());
    seed(
        &p,
        "{\"env\": {\"ANTHROPIC_API_KEY\": \"sk-ant-0123456789abcdef\"}}",
    );
    let before = settings::status(&p, None).expect("status");
    assert!(!before.set_up);
    settings::setup(&p, &basic()).expect("setup");
    let project = home.path().join("proj");
    fs::create_dir_all(project.join(".claude")).expect("mkdir");
    fs::write(
        project.join(".claude/settings.local.json"),
        "{\"env\": {\"ANTHROPIC_BASE_URL\": \"http://elsewhere\"}}",
    )
    .expect("project settings");
    let s = settings::status(&p, Some(&project)).expect("status");
    assert!(s.set_up && s.exists && s.problem.is_none());
    let token = s
        .keys
        .iter()
        .find(|k| k.key == "env.ANTHROPIC_AUTH_TOKEN")
        .expect("token");
    assert!(token.ours && token.managed);
    assert_eq!(token.value.as_deref(), Some("sb-test-to…cdef"));
    assert!(
        s.warnings.iter().any(|w| w.contains("ANTHROPIC_API_KEY")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("settings.local.json sets env.ANTHROPIC_BASE_URL")),
        "{:?}",
        s.warnings
    );
    seed(&p, "{");
    let s = settings::status(&p, None).expect("status");
    assert!(s.problem.is_some_and(|m| m.contains(":1:2:")));
}

// ---- properties ---------------------------------------------------------------------------

/// Whitespace as anyone might write it.
fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "", " ", "  ", "\t", "\n", "\r\n", "\n    ", " \n\t ", "\r\n\t",
    ])
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "env",
            "statusLine",
            "attribution",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_AUTH_TOKEN",
            "command",
            "model",
            "commit",
            "pr",
            "hooks",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_é\\\\\"]{0,6}",
    ]
    .prop_map(|k| serde_json::to_string(&k).expect("key"))
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "1",
            "-2.5e3",
            "0",
            "true",
            "false",
            "null",
            "\"\"",
            "\"\\u00e9\\n\""
        ])
        .prop_map(str::to_owned),
        ".{0,8}".prop_map(|s: String| serde_json::to_string(&s).expect("string")),
    ]
}

/// Valid JSON text with arbitrary layout.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec((ws(), key(), ws(), ws(), inner.clone(), ws()), 0..6).prop_map(
                |members| {
                    if members.is_empty() {
                        return "{}".to_owned();
                    }
                    let body: Vec<String> = members
                        .into_iter()
                        .map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }
            ),
            prop::collection::vec((ws(), inner, ws()), 0..4).prop_map(|items| {
                let body: Vec<String> = items
                    .into_iter()
                    .map(|(a, v, b)| format!("{a}{v}{b}"))
                    .collect();
                format!("[{}]", body.join(","))
            }),
        ]
    })
}

/// A settings file: an object (often with an `env` object) with arbitrary layout.
fn settings_text() -> impl Strategy<Value = String> {
    (
        ws(),
        prop::collection::vec((ws(), key(), ws(), ws(), value(), ws()), 0..6),
        prop::option::of((
            ws(),
            ws(),
            prop::collection::vec((ws(), key(), ws(), scalar(), ws()), 0..4),
        )),
        any::<prop::sample::Index>(),
        ws(),
        prop::sample::select(vec!["", "\n", "\r\n", "\n\n"]),
    )
        .prop_map(|(lead, mut members, env, at, close, trail)| {
            if let Some((a, b, vars)) = env {
                let body: Vec<String> = vars
                    .into_iter()
                    .map(|(x, k, y, v, z)| format!("{x}{k}:{y}{v}{z}"))
                    .collect();
                let env = format!("{{{}}}", body.join(","));
                let i = at.index(members.len() + 1);
                members.insert(i, (a, "\"env\"".to_owned(), b, "", env, ""));
            }
            let body: Vec<String> = members
                .into_iter()
                .map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"))
                .collect();
            if body.is_empty() {
                format!("{lead}{{{close}}}{trail}")
            } else {
                format!("{lead}{{{}{close}}}{trail}", body.join(","))
            }
        })
}

fn options() -> impl Strategy<Value = SetupOptions> {
    (any::<[bool; 6]>(), 1u64..=settings::MAX_TIMEOUT_MS).prop_map(|(b, ms)| SetupOptions {
        base_url: URL.to_owned(),
        auth_token: b[0].then(|| TOKEN.to_owned()),
        timeout_ms: b[1].then_some(ms),
        disable_nonessential_traffic: b[2],
        attribution_header_off: b[3],
        commit_attribution_off: b[4],
        profile: None,
        statusline: b[5].then(|| "switchboard statusline".to_owned()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Setup then undo is the identity, whatever the file looks like (when setup accepts it:
    /// a key on the way that is not an object, say `"env": 1`, is refused untouched).
    #[test]
    fn setup_then_undo_gives_back_the_same_bytes(text in settings_text(), opts in options()) {
        prop_assume!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object()));
        let home = home();
        let p = paths(home.path());
        seed(&p, &text);
        match settings::setup(&p, &opts) {
            Ok(_) => {
                let v = parsed(&p);
                prop_assert_eq!(&v["env"]["ANTHROPIC_BASE_URL"], URL);
                let undo = settings::undo(&p).expect("undo");
                prop_assert!(undo.left_alone.is_empty(), "{:?}", undo.left_alone);
                prop_assert_eq!(read(&p), text);
            }
            Err(Error::Unsupported { .. }) => prop_assert_eq!(read(&p), text),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// A key Claude Code adds between setup and undo stays, and the rest comes back as it was.
    #[test]
    fn undo_keeps_what_another_program_added_meanwhile(text in settings_text(), opts in options()) {
        let Ok(Value::Object(_)) = serde_json::from_str::<Value>(&text) else {
            return Ok(());
        };
        let home = home();
        let p = paths(home.path());
        seed(&p, &text);
        if settings::setup(&p, &opts).is_err() {
            return Ok(());
        }
        // Another program appends a key at the top level, in its own formatting.
        let after = read(&p);
        let close = after.rfind('}').expect("closing brace");
        let inner_empty = serde_json::from_str::<Value>(&after).expect("json").as_object().expect("object").is_empty();
        let add = if inner_empty { "\"zzOther\": 1" } else { ", \"zzOther\": 1" };
        let edited = format!("{}{add}{}", &after[..close], &after[close..]);
        fs::write(&p.settings, &edited).expect("other program");
        let undo = settings::undo(&p).expect("undo");
        prop_assert!(undo.left_alone.is_empty(), "{:?}", undo.left_alone);
        let mut expected: Value = serde_json::from_str(&text).expect("json");
        expected["zzOther"] = json!(1);
        prop_assert_eq!(parsed(&p), expected);
    }
}
