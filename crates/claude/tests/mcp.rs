//! MCP servers in the three scopes against a temporary home: every edit touches only its entry
//! (other entries, other keys and unknown fields keep their bytes), validation happens before
//! writing, disable/enable round-trips, and a writer racing the edits never sees a broken file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use switchboard_claude::mcp::{self, FieldEdit, Location, Scope, Status};
use switchboard_claude::{Error, Paths};

struct Home {
    _dir: tempfile::TempDir,
    paths: Paths,
    project: PathBuf,
}

fn home() -> Home {
    let dir = tempfile::tempdir().expect("temp home");
    let paths = Paths::new(dir.path(), None, None);
    let project = dir.path().join("work").join("app");
    fs::create_dir_all(&project).expect("project dir");
    let project = project.canonicalize().expect("canonical");
    Home {
        _dir: dir,
        paths,
        project,
    }
}

/// `~/.claude.json` as Claude Code writes it: `JSON.stringify(state, null, 2)`, many unrelated
/// keys, servers with fields Switchboard does not know.
fn claude_json(project: &Path) -> String {
    let p = serde_json::to_string(&project.to_string_lossy()).expect("path");
    format!(
        r#"{{
  "numStartups": 42,
  "theme": "dark",
  "hasCompletedOnboarding": true,
  "mcpServers": {{
    "github": {{
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": {{
        "Authorization": "Bearer ${{GITHUB_PAT}}"
      }},
      "x-vendor-extension": {{
        "pinned": true
      }}
    }},
    "fs": {{
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "."
      ],
      "env": {{}}
    }}
  }},
  "projects": {{
    {p}: {{
      "allowedTools": [],
      "mcpServers": {{
        "stripe": {{
          "type": "http",
          "url": "https://mcp.stripe.com",
          "futureField": 1
        }}
      }},
      "hasTrustDialogAccepted": true,
      "disabledMcpServers": [
        "claude.ai Slack"
      ]
    }},
    "/some/other/project": {{
      "mcpServers": {{
        "stripe": {{
          "command": "other"
        }}
      }}
    }}
  }},
  "cachedGrowthBookFeatures": {{
    "a": {{
      "b": [
        1,
        2
      ]
    }}
  }}
}}"#
    )
}

const MCP_JSON: &str = "{\n  \"mcpServers\": {\n    \"api\": {\n      \"type\": \"http\",\n      \"url\": \"${API_BASE_URL:-https://api.example.com}/mcp\",\n      \"headers\": {\"Authorization\": \"Bearer ${API_KEY}\"}\n    }\n  },\n  \"x-team-notes\": \"keep me\"\n}\n";

fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("read")
}

fn parsed(path: &Path) -> Value {
    serde_json::from_str(&read(path)).expect("valid JSON")
}

fn seed(h: &Home) -> String {
    let text = claude_json(&h.project);
    fs::write(&h.paths.claude_json, &text).expect("seed ~/.claude.json");
    fs::write(h.project.join(".mcp.json"), MCP_JSON).expect("seed .mcp.json");
    text
}

fn loc(h: &Home, scope: Scope) -> Location {
    Location::new(scope, &h.project).expect("location")
}

#[test]
fn add_then_remove_gives_back_the_same_bytes_in_every_scope() {
    let h = home();
    let original = seed(&h);
    for scope in [Scope::User, Scope::Local, Scope::Project] {
        let l = loc(&h, scope);
        let file = l.file(&h.paths);
        let before = read(&file);
        mcp::add(
            &h.paths,
            &l,
            "new-one",
            r#"{"command":"uvx","args":["mcp-server-time"],"env":{"TZ":"UTC"}}"#,
        )
        .expect("add");
        let v = parsed(&file);
        let servers = match scope {
            Scope::Local => &v["projects"][h.project.to_string_lossy().as_ref()]["mcpServers"],
            _ => &v["mcpServers"],
        };
        assert_eq!(
            servers["new-one"],
            json!({"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}})
        );
        // The entry is laid out like its neighbours, fields in the order given.
        assert!(
            read(&file).contains("\"new-one\": {\n")
                && read(&file).contains("\"command\": \"uvx\",\n"),
            "{}",
            read(&file)
        );
        mcp::remove(&h.paths, &l, "new-one").expect("remove");
        assert_eq!(read(&file), before, "{scope:?}");
    }
    assert_eq!(read(&h.paths.claude_json), original);
}

#[test]
fn edits_touch_only_their_entry_and_keep_unknown_fields() {
    let h = home();
    let original = seed(&h);
    let user = loc(&h, Scope::User);
    mcp::edit(
        &h.paths,
        &user,
        "github",
        &[
            FieldEdit::Set {
                path: vec!["headers".into(), "X-Extra".into()],
                json: "\"1\"".into(),
            },
            FieldEdit::Set {
                path: vec!["url".into()],
                json: "\"https://example.com/mcp\"".into(),
            },
        ],
    )
    .expect("edit");
    let v = parsed(&h.paths.claude_json);
    assert_eq!(
        v["mcpServers"]["github"]["x-vendor-extension"],
        json!({"pinned": true})
    );
    assert_eq!(v["mcpServers"]["github"]["headers"]["X-Extra"], "1");
    assert_eq!(v["mcpServers"]["github"]["url"], "https://example.com/mcp");
    // Every other byte is where it was: only the two values changed.
    let text = read(&h.paths.claude_json);
    let expected = original
        .replace(
            "https://api.githubcopilot.com/mcp/",
            "https://example.com/mcp",
        )
        .replace(
            "\"Bearer ${GITHUB_PAT}\"\n      },",
            "\"Bearer ${GITHUB_PAT}\",\n        \"X-Extra\": \"1\"\n      },",
        );
    assert_eq!(text, expected);

    let local = loc(&h, Scope::Local);
    mcp::edit(
        &h.paths,
        &local,
        "stripe",
        &[FieldEdit::Set {
            path: vec!["headers".into()],
            json: r#"{"Authorization":"Bearer x"}"#.into(),
        }],
    )
    .expect("edit local");
    let v = parsed(&h.paths.claude_json);
    let key = h.project.to_string_lossy().into_owned();
    assert_eq!(
        v["projects"][&key]["mcpServers"]["stripe"]["futureField"],
        1
    );
    assert_eq!(v["projects"][&key]["hasTrustDialogAccepted"], true);
    assert_eq!(
        v["projects"]["/some/other/project"]["mcpServers"]["stripe"],
        json!({"command": "other"})
    );

    let project = loc(&h, Scope::Project);
    mcp::edit(
        &h.paths,
        &project,
        "api",
        &[FieldEdit::Remove {
            path: vec!["headers".into()],
        }],
    )
    .expect("edit project");
    let v = parsed(&h.project.join(".mcp.json"));
    assert_eq!(v["x-team-notes"], "keep me");
    assert!(v["mcpServers"]["api"].get("headers").is_none());

    // An edit that would make the entry invalid is refused and writes nothing.
    let before = read(&h.paths.claude_json);
    let e = mcp::edit(
        &h.paths,
        &user,
        "github",
        &[FieldEdit::Remove {
            path: vec!["type".into()],
        }],
    )
    .expect_err("url without type");
    assert!(
        e.to_string().contains("has a \"url\" but no \"type\""),
        "{e}"
    );
    assert_eq!(read(&h.paths.claude_json), before);
}

#[test]
fn invalid_names_and_entries_are_refused_before_writing() {
    let h = home();
    let original = seed(&h);
    let user = loc(&h, Scope::User);
    for (name, entry, needle) in [
        (
            "web",
            r#"{"url":"https://x"}"#,
            "has a \"url\" but no \"type\"",
        ),
        ("my server", r#"{"command":"x"}"#, "letters, digits"),
        ("workspace", r#"{"command":"x"}"#, "reserved"),
        ("web", r#"{"type":"http"}"#, "needs a url"),
        ("web", r#"{"command":"x",}"#, "not valid JSON: 1:16"),
        ("github", r#"{"command":"x"}"#, "already exists"),
    ] {
        let e = mcp::add(&h.paths, &user, name, entry).expect_err(needle);
        assert!(e.to_string().contains(needle), "{name} {entry}: {e}");
    }
    assert_eq!(read(&h.paths.claude_json), original);
    assert!(!h.paths.state_dir.join("backups").exists());
}

#[test]
fn a_missing_claude_json_or_project_entry_is_created() {
    let h = home();
    let local = loc(&h, Scope::Local);
    mcp::add(
        &h.paths,
        &local,
        "time",
        r#"{"command":"uvx","args":["mcp-server-time"]}"#,
    )
    .expect("add");
    let v = parsed(&h.paths.claude_json);
    let key = h.project.to_string_lossy().into_owned();
    assert_eq!(v["projects"][&key]["mcpServers"]["time"]["command"], "uvx");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&h.paths.claude_json)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let project = loc(&h, Scope::Project);
    mcp::add(&h.paths, &project, "time", r#"{"command":"uvx"}"#).expect("add to .mcp.json");
    assert_eq!(
        read(&h.project.join(".mcp.json")),
        "{\n  \"mcpServers\": {\n    \"time\": {\n      \"command\": \"uvx\"\n    }\n  }\n}\n"
    );
}

#[test]
fn list_shows_scopes_status_and_shadowing() {
    let h = home();
    seed(&h);
    mcp::add(
        &h.paths,
        &loc(&h, Scope::Local),
        "api",
        r#"{"command":"local-api"}"#,
    )
    .expect("add");
    let servers = mcp::list(&h.paths, Some(&h.project)).expect("list");
    let rows: Vec<(String, Scope, Status, Option<Scope>)> = servers
        .iter()
        .map(|s| (s.name.clone(), s.scope, s.status, s.shadowed_by))
        .collect();
    assert_eq!(
        rows,
        [
            ("stripe".to_owned(), Scope::Local, Status::Enabled, None),
            ("api".to_owned(), Scope::Local, Status::Enabled, None),
            (
                "api".to_owned(),
                Scope::Project,
                Status::NeedsApproval,
                None
            ),
            ("github".to_owned(), Scope::User, Status::Enabled, None),
            ("fs".to_owned(), Scope::User, Status::Enabled, None),
        ]
    );
    let github = mcp::get(&h.paths, &Location::User, "github").expect("get");
    assert_eq!(github.target(), "https://api.githubcopilot.com/mcp/");
    assert_eq!(
        mcp::masked(&github.entry)["headers"]["Authorization"],
        "Bearer ${G…PAT}"
    );
    let user_only = mcp::list(&h.paths, None).expect("list");
    assert_eq!(user_only.len(), 2);
    assert!(matches!(
        mcp::get(&h.paths, &Location::User, "nope"),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn disable_and_enable_a_user_server_through_the_stash() {
    let h = home();
    let original = seed(&h);
    let user = loc(&h, Scope::User);
    let t = mcp::disable(&h.paths, &user, "github").expect("disable");
    assert!(!t.already);
    let v = parsed(&h.paths.claude_json);
    assert!(
        v["mcpServers"].get("github").is_none(),
        "Claude Code no longer sees it"
    );
    assert_eq!(v["mcpServers"]["fs"]["command"], "npx");
    let s = mcp::get(&h.paths, &user, "github").expect("still listed");
    assert_eq!(s.status, Status::DisabledBySwitchboard);
    assert_eq!(s.entry["x-vendor-extension"], json!({"pinned": true}));
    assert!(
        mcp::disable(&h.paths, &user, "github")
            .expect("again")
            .already
    );
    // Adding the same name while it is disabled is refused.
    assert!(matches!(
        mcp::add(&h.paths, &user, "github", r#"{"command":"x"}"#),
        Err(Error::Exists(_))
    ));
    mcp::enable(&h.paths, &user, "github").expect("enable");
    assert_eq!(read(&h.paths.claude_json), original);
    assert_eq!(
        mcp::get(&h.paths, &user, "github").expect("back").status,
        Status::Enabled
    );

    // A disabled server can be edited and removed; enable then has nothing to bring back.
    mcp::disable(&h.paths, &user, "fs").expect("disable fs");
    mcp::edit(
        &h.paths,
        &user,
        "fs",
        &[FieldEdit::Set {
            path: vec!["env".into(), "A".into()],
            json: "\"1\"".into(),
        }],
    )
    .expect("edit stashed");
    assert_eq!(
        mcp::get(&h.paths, &user, "fs").expect("fs").entry["env"]["A"],
        "1"
    );
    mcp::enable(&h.paths, &user, "fs").expect("enable fs");
    assert_eq!(
        parsed(&h.paths.claude_json)["mcpServers"]["fs"]["env"],
        json!({"A": "1"})
    );
    mcp::disable(&h.paths, &user, "fs").expect("disable fs");
    mcp::remove(&h.paths, &user, "fs").expect("remove stashed");
    assert!(matches!(
        mcp::enable(&h.paths, &user, "fs"),
        Err(Error::NotFound(_))
    ));
    assert!(
        parsed(&h.paths.claude_json)["mcpServers"]
            .get("fs")
            .is_none()
    );
}

#[test]
fn enable_refuses_to_overwrite_a_server_added_meanwhile() {
    let h = home();
    seed(&h);
    let local = loc(&h, Scope::Local);
    mcp::disable(&h.paths, &local, "stripe").expect("disable");
    // The user adds another `stripe` with Claude Code's own CLI.
    let mut v = parsed(&h.paths.claude_json);
    let key = h.project.to_string_lossy().into_owned();
    v["projects"][&key]["mcpServers"]["stripe"] = json!({"command": "new-stripe"});
    fs::write(
        &h.paths.claude_json,
        serde_json::to_string_pretty(&v).expect("json"),
    )
    .expect("write");
    let e = mcp::enable(&h.paths, &local, "stripe").expect_err("taken");
    assert!(matches!(e, Error::Exists(_)), "{e}");
    assert_eq!(
        parsed(&h.paths.claude_json)["projects"][&key]["mcpServers"]["stripe"],
        json!({"command": "new-stripe"})
    );
}

#[test]
fn project_servers_are_disabled_the_way_claude_code_records_it() {
    let h = home();
    seed(&h);
    let project = loc(&h, Scope::Project);
    mcp::disable(&h.paths, &project, "api").expect("disable");
    assert_eq!(
        read(&h.project.join(".mcp.json")),
        MCP_JSON,
        ".mcp.json untouched"
    );
    let local_settings = h.project.join(".claude/settings.local.json");
    assert_eq!(
        parsed(&local_settings),
        json!({"disabledMcpjsonServers": ["api"]})
    );
    assert_eq!(
        mcp::get(&h.paths, &project, "api").expect("api").status,
        Status::DisabledForProject
    );
    mcp::enable(&h.paths, &project, "api").expect("enable");
    assert_eq!(
        parsed(&local_settings),
        json!({"disabledMcpjsonServers": [], "enabledMcpjsonServers": ["api"]})
    );
    assert_eq!(
        mcp::get(&h.paths, &project, "api").expect("api").status,
        Status::Enabled
    );
    assert!(
        mcp::enable(&h.paths, &project, "api")
            .expect("again")
            .already
    );
}

#[test]
fn a_server_removed_by_the_user_is_never_brought_back() {
    let h = home();
    seed(&h);
    let user = loc(&h, Scope::User);
    mcp::list(&h.paths, None).expect("list");
    // `claude mcp remove fs` between two Switchboard calls.
    let mut v = parsed(&h.paths.claude_json);
    v["mcpServers"]
        .as_object_mut()
        .expect("servers")
        .remove("fs");
    fs::write(
        &h.paths.claude_json,
        serde_json::to_string_pretty(&v).expect("json"),
    )
    .expect("write");
    mcp::add(&h.paths, &user, "other", r#"{"command":"x"}"#).expect("add");
    mcp::edit(
        &h.paths,
        &user,
        "github",
        &[FieldEdit::Set {
            path: vec!["timeout".into()],
            json: "30000".into(),
        }],
    )
    .expect("edit");
    let v = parsed(&h.paths.claude_json);
    assert!(v["mcpServers"].get("fs").is_none());
    assert_eq!(v["mcpServers"]["other"]["command"], "x");
}

#[test]
fn a_name_written_twice_is_removed_entirely_and_not_disabled_halfway() {
    let h = home();
    let text = "{\"mcpServers\": {\"dup\": {\"command\": \"a\"}, \"keep\": {\"command\": \"k\"}, \"dup\": {\"command\": \"b\"}}}";
    fs::write(&h.paths.claude_json, text).expect("seed");
    let e = mcp::disable(&h.paths, &Location::User, "dup").expect_err("duplicate");
    assert!(e.to_string().contains("appears 2 times"), "{e}");
    assert_eq!(read(&h.paths.claude_json), text);
    mcp::remove(&h.paths, &Location::User, "dup").expect("remove");
    assert_eq!(
        read(&h.paths.claude_json),
        "{\"mcpServers\": {\"keep\": {\"command\": \"k\"}}}"
    );
}

#[test]
fn a_malformed_claude_json_is_refused_with_its_location() {
    let h = home();
    let broken = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"}\n  \n";
    fs::write(&h.paths.claude_json, broken).expect("write");
    let e = mcp::add(&h.paths, &Location::User, "b", r#"{"command":"y"}"#).expect_err("malformed");
    assert!(
        matches!(
            e,
            Error::Malformed {
                line: 5,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        mcp::list(&h.paths, None),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(read(&h.paths.claude_json), broken);
}

/// Another program standing in for Claude Code rewrites `~/.claude.json` whenever it sees it
/// change (read, set its own key, write a temporary file, rename; like Claude Code it takes no
/// lock and does not look again before renaming), racing servers being added and edited.
///
/// Neither side ever reads a broken file, every operation succeeds, keys neither side manages
/// survive, and the other program's updates are lost only when its rename lands in the short
/// window between Switchboard's last look and its rename (the documented window): rarely, and
/// counted. (The other program, looking at nothing, can drop a change of ours made while it was
/// busy — Claude Code's own race between two sessions; that is counted too, not asserted.)
#[test]
fn a_concurrent_writer_never_sees_a_broken_file() {
    let h = home();
    seed(&h);
    let stop = Arc::new(AtomicBool::new(false));
    let file = h.paths.claude_json.clone();
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut written = 0u64;
            let mut lost = 0u64;
            let mut last_seen = String::new();
            loop {
                let text = fs::read_to_string(&file).expect("read");
                if text == last_seen {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::yield_now();
                    continue;
                }
                let mut v: Value = serde_json::from_str(&text)
                    .expect("the other writer never reads a broken file");
                if written > 0 && v["numStartups"] != json!(written) {
                    lost += 1;
                }
                v["numStartups"] = json!(written + 1);
                let new = serde_json::to_string_pretty(&v).expect("json");
                let tmp = file.with_extension("tmp-other");
                fs::write(&tmp, &new).expect("write tmp");
                fs::rename(&tmp, &file).expect("rename");
                written += 1;
                last_seen = new;
            }
            (written, lost)
        })
    };
    let user = Location::User;
    const N: usize = 40;
    for i in 0..N {
        mcp::add(&h.paths, &user, &format!("s{i}"), r#"{"command":"x"}"#)
            .expect("add while racing");
        mcp::edit(
            &h.paths,
            &user,
            "fs",
            &[FieldEdit::Set {
                path: vec!["args".into()],
                json: format!("[\"{i}\"]"),
            }],
        )
        .expect("edit while racing");
    }
    stop.store(true, Ordering::Relaxed);
    let (written, theirs_lost) = writer.join().expect("writer");
    let v = parsed(&h.paths.claude_json);
    let ours_lost = (0..N)
        .filter(|i| v["mcpServers"].get(format!("s{i}")).is_none())
        .count();
    eprintln!(
        "other writer: {written} writes, {theirs_lost} replaced by ours; ours: {ours_lost} of {N} adds dropped by its blind rewrites"
    );
    assert_eq!(v["theme"], "dark");
    assert_eq!(
        v["mcpServers"]["github"]["x-vendor-extension"],
        json!({"pinned": true})
    );
    assert!(v["projects"]["/some/other/project"].is_object());
    assert!(
        theirs_lost <= 4,
        "{theirs_lost} updates of the other writer lost"
    );
}

// ---- properties ---------------------------------------------------------------------------

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", " ", "\t", "\n", "\r\n", "\n    ", " \n  "])
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "1",
                "true",
                "null",
                "\"x\"",
                "[]",
                "{}",
                "[1, {\"a\": 2}]"
            ])
            .prop_map(str::to_owned),
            "[a-z]{0,5}".prop_map(|s: String| serde_json::to_string(&s).expect("string")),
        ]
    }

    /// `{ws "name" ws : ws entry ws, …}` with arbitrary layout; entries carry unknown fields.
    fn servers() -> impl Strategy<Value = String> {
        prop::collection::vec((ws(), "[a-z]{1,6}", ws(), ws(), scalar(), ws()), 0..5).prop_map(
            |items| {
                let body: Vec<String> = items
                    .into_iter()
                    .map(|(a, name, b, c, extra, d)| {
                        format!(
                            "{a}\"{name}\"{b}:{c}{{\"command\": \"x\", \"x-extra\": {extra}}}{d}"
                        )
                    })
                    .collect();
                format!("{{{}}}", body.join(","))
            },
        )
    }

    /// A `~/.claude.json` with unrelated keys around `mcpServers`, laid out arbitrarily.
    fn claude_json() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((ws(), "[a-z]{1,6}", ws(), scalar(), ws()), 0..4),
            (ws(), ws(), servers(), ws()),
            any::<prop::sample::Index>(),
            prop::sample::select(vec!["", "\n"]),
        )
            .prop_map(|(others, (a, b, servers, c), at, trail)| {
                let mut members: Vec<String> = others
                    .into_iter()
                    .map(|(a, k, b, v, c)| format!("{a}\"zz{k}\"{b}:{v}{c}"))
                    .collect();
                members.insert(
                    at.index(members.len() + 1),
                    format!("{a}\"mcpServers\"{b}:{servers}{c}"),
                );
                format!("{{{}}}{trail}", members.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Add then remove, and disable then enable, give back the same bytes.
        #[test]
        fn user_scope_changes_undo_exactly(text in claude_json()) {
            let h = home();
            fs::write(&h.paths.claude_json, &text).expect("seed");
            let user = Location::User;
            mcp::add(&h.paths, &user, "new-server", r#"{"type":"http","url":"https://x"}"#).expect("add");
            prop_assert_eq!(
                &parsed(&h.paths.claude_json)["mcpServers"]["new-server"],
                &json!({"type": "http", "url": "https://x"})
            );
            mcp::remove(&h.paths, &user, "new-server").expect("remove");
            prop_assert_eq!(read(&h.paths.claude_json), text.clone());
            let names: Vec<String> = mcp::list(&h.paths, None)
                .expect("list")
                .into_iter()
                .map(|s| s.name)
                .collect();
            for name in names {
                if let Err(e) = mcp::disable(&h.paths, &user, &name) {
                    // A name written twice is refused, untouched.
                    prop_assert!(e.to_string().contains("appears"), "{e}");
                    prop_assert_eq!(read(&h.paths.claude_json), text.clone());
                    continue;
                }
                prop_assert!(parsed(&h.paths.claude_json)["mcpServers"].get(&name).is_none());
                mcp::enable(&h.paths, &user, &name).expect("enable");
                prop_assert_eq!(read(&h.paths.claude_json), text.clone());
            }
        }
    }
}
