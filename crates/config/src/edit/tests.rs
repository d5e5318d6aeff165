//! Whole files with comments, edited: each result is a snapshot, and the parts the edit must not
//! touch are compared byte for byte.

use super::*;

const FILE: &str = r#"# Switchboard at home.
# Order = priority.

[server]
listen = "127.0.0.1:8787"   # loopback only
future_key = "kept"         # a key this build does not know

# The main one.
[[endpoints]]
name = "anthropic"
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "secret:endpoint-anthropic-key" # from the vault

# Cheap fallback.
[[endpoints]]
name = "deepseek"
preset = "deepseek"
api_key = "${DEEPSEEK_API_KEY}"
[endpoints.models]
opus = "deepseek-reasoner" # thinking
sonnet = "deepseek-chat"

[routing]
max_retries = 3

# Prices I negotiated.
[pricing.models."my-model"]
input = 1.0
output = 2.0
"#;

fn text(key: &str, v: &str) -> (String, Field) {
    (key.to_owned(), Field::Text(v.to_owned()))
}

/// The part of `FILE` before `marker` (which the edit must not have reached).
fn before<'a>(s: &'a str, marker: &str) -> &'a str {
    &s[..s.find(marker).expect("marker")]
}

/// Compiles `s` (less the key this build does not know, which the compiler refuses).
fn compiles(s: &str) {
    let s = &s.replace(
        "future_key = \"kept\"         # a key this build does not know\n",
        "",
    );
    let env = |k: &str| (k == "DEEPSEEK_API_KEY").then(|| "sk-test".to_owned());
    let secrets = |_: &str| Some("sk-secret".to_owned());
    crate::compile_with(
        s,
        crate::ConfigSource::Default,
        &env,
        crate::Secrets::Lookup(&secrets),
    )
    .unwrap_or_else(|e| panic!("does not compile:\n{}\n{s}", crate::render_errors(&e)));
}

#[test]
fn adding_an_endpoint_appends_it_and_keeps_the_rest() {
    let out = add_endpoint(
        FILE,
        &[
            text("name", "backup"),
            text("kind", "openai"),
            text("base_url", "https://api.example.com/v1"),
            text("api_key", "secret:endpoint-backup-key"),
            (
                "models".to_owned(),
                Field::Map(vec![("sonnet".into(), "gpt-5".into())]),
            ),
        ],
    )
    .expect("add");
    compiles(&out);
    let routing = &FILE[FILE.find("\n[routing]").expect("routing")..];
    assert!(out.starts_with(before(FILE, "\n[routing]")), "{out}");
    assert!(out.ends_with(routing), "{out}");
    insta::assert_snapshot!(out);
    assert_eq!(
        add_endpoint(FILE, &[text("name", "deepseek")]),
        Err(EditError::Exists("deepseek".into()))
    );
}

#[test]
fn editing_an_endpoint_touches_only_its_keys() {
    let out = update_endpoint(
        FILE,
        "deepseek",
        &[
            text("api_key", "secret:endpoint-deepseek-key"),
            ("enabled".to_owned(), Field::Bool(false)),
            (
                "models".to_owned(),
                Field::Map(vec![
                    ("opus".into(), "deepseek-reasoner".into()),
                    ("haiku".into(), "deepseek-chat".into()),
                ]),
            ),
        ],
    )
    .expect("update");
    compiles(&out);
    assert_eq!(
        before(&out, "# Cheap fallback."),
        before(FILE, "# Cheap fallback.")
    );
    assert!(
        out.contains("opus = \"deepseek-reasoner\" # thinking"),
        "{out}"
    );
    insta::assert_snapshot!(out);
    assert_eq!(
        update_endpoint(FILE, "nope", &[]),
        Err(EditError::NoEndpoint("nope".into()))
    );
}

#[test]
fn enabling_keeps_the_comment_after_the_value() {
    let off = update_endpoint(FILE, "anthropic", &[text("api_key", "secret:other")]).expect("set");
    assert!(
        off.contains("api_key = \"secret:other\" # from the vault"),
        "{off}"
    );
}

#[test]
fn removing_an_endpoint_takes_its_comments_and_subtables() {
    let out = remove_endpoint(FILE, "deepseek").expect("remove");
    compiles(&out);
    assert!(!out.contains("deepseek"), "{out}");
    assert_eq!(before(&out, "[routing]"), before(FILE, "# Cheap fallback."));
    insta::assert_snapshot!(out);
    let one = remove_endpoint(&out, "anthropic").expect_err("the last one stays");
    assert!(one.to_string().contains("only endpoint"), "{one}");
}

#[test]
fn reordering_moves_whole_tables() {
    let out = reorder_endpoints(FILE, &["deepseek".into(), "anthropic".into()]).expect("reorder");
    compiles(&out);
    assert_eq!(
        endpoint_names(&out).expect("names"),
        ["deepseek", "anthropic"]
    );
    assert_eq!(
        before(&out, "# Cheap fallback."),
        before(FILE, "# The main one.")
    );
    assert!(
        out.ends_with(&FILE[FILE.find("\n[routing]").expect("routing")..]),
        "{out}"
    );
    insta::assert_snapshot!(out);
    // And back: the same bytes.
    let back = reorder_endpoints(&out, &["anthropic".into(), "deepseek".into()]).expect("back");
    assert_eq!(back, FILE);
    assert!(reorder_endpoints(FILE, &["anthropic".into()]).is_err());
}

#[test]
fn a_file_without_endpoints_gets_the_builtin_one_written_out() {
    let bare = "# mine\n[server]\nlisten = \"127.0.0.1:9999\"\n";
    let out = add_endpoint(
        bare,
        &[
            text("name", "second"),
            text("kind", "anthropic"),
            text("base_url", "https://second.example.com"),
        ],
    )
    .expect("add");
    compiles(&out);
    assert!(out.starts_with(bare), "{out}");
    assert_eq!(
        endpoint_names(&out).expect("names"),
        ["anthropic", "second"]
    );
    insta::assert_snapshot!(out);
    assert_eq!(endpoint_names(NEW_FILE).expect("names"), ["anthropic"]);
    compiles(NEW_FILE);
}

#[test]
fn settings_and_prices_are_written_in_their_sections() {
    let out = set_values(
        FILE,
        &["audit"],
        &[
            ("enabled".to_owned(), Field::Bool(false)),
            text("retention", "7d"),
        ],
    )
    .expect("audit");
    let out = set_prices(
        &out,
        &[
            (
                "my-model".to_owned(),
                vec![
                    ("input".to_owned(), Field::Number(1.5)),
                    ("output".to_owned(), Field::Number(2.0)),
                ],
            ),
            (
                "claude-*".to_owned(),
                vec![
                    ("input".to_owned(), Field::Number(3.0)),
                    ("output".to_owned(), Field::Number(15.0)),
                    ("cache_read".to_owned(), Field::Number(0.3)),
                ],
            ),
        ],
    )
    .expect("prices");
    compiles(&out);
    assert_eq!(before(&out, "input = 1.5"), before(FILE, "input = 1.0"));
    insta::assert_snapshot!(out);
    let none = set_prices(FILE, &[]).expect("no prices");
    assert!(!none.contains("pricing"), "{none}");
    compiles(&none);
}

#[test]
fn strings_are_read_as_written() {
    assert_eq!(
        endpoint_strings(FILE, "api_key").expect("keys"),
        [
            (
                "anthropic".to_owned(),
                Some("secret:endpoint-anthropic-key".to_owned())
            ),
            (
                "deepseek".to_owned(),
                Some("${DEEPSEEK_API_KEY}".to_owned())
            ),
        ]
    );
    assert!(matches!(endpoint_names("[x"), Err(EditError::Syntax(_))));
    assert!(matches!(
        endpoint_names("endpoints = [{ name = \"a\" }]"),
        Err(EditError::Shape(_))
    ));
}
