//! Compiling configuration files: every error at once, `${VAR}` substitution, presets, defaults,
//! durations, error rendering, and the shipped example and docs staying true to the code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_config::{
    AuthStyle, Config, ConfigError, ConfigSource, DEFAULT_LISTEN, PRESETS, ProxySetting,
    compile_str, default_config, load_file, render_errors,
};
use switchboard_protocol::Dialect;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn file() -> ConfigSource {
    ConfigSource::File(PathBuf::from("switchboard.toml"))
}

fn compile(text: &str) -> Result<Config, Vec<ConfigError>> {
    compile_str(
        text,
        file(),
        &env_of(&[("KEY", "sk-test-0123456789abcdef")]),
    )
}

#[expect(
    clippy::panic,
    reason = "test helper: a failure shows the rendered errors"
)]
fn compiled(text: &str) -> Config {
    compile(text).unwrap_or_else(|e| panic!("config should compile:\n{}", render_errors(&e)))
}

fn errors(text: &str) -> String {
    render_errors(&compile(text).expect_err("config should not compile"))
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

// ---- every error at once -------------------------------------------------------------------

#[test]
fn reports_every_mistake_in_one_pass_with_lines_and_fields() {
    let text = r#"[server]
listen = "localhost:8787"

[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "https://api.anthropic.com"

[[endpoints]]
name = "backup"
kind = "openai"
base_url = "api.openai.com/v1"
api_ky = "${KEY}"

[routing]
cooldown = "30 minutes please"
"#;
    let errs = compile(text).expect_err("four mistakes");
    let at: Vec<(usize, usize, &str)> = errs
        .iter()
        .map(|e| (e.line, e.column, e.field.as_str()))
        .collect();
    assert_eq!(
        at,
        [
            (2, 10, "server.listen"),
            (12, 12, "endpoints[1].base_url"),
            (13, 1, "endpoints[1].api_ky"),
            (16, 12, "routing.cooldown"),
        ]
    );
    insta::assert_snapshot!(render_errors(&errs), @r#"
    switchboard.toml:2:10: server.listen: invalid listen address `localhost:8787`: expected IP:PORT, like "127.0.0.1:8787"
    switchboard.toml:12:12: endpoints[1].base_url: relative URL without a base
    switchboard.toml:13:1: endpoints[1].api_ky: unknown key `api_ky`; did you mean `api_key`?
    switchboard.toml:16:12: routing.cooldown: invalid duration `30 minutes please`: expected number at 11 (write e.g. "500ms", "30s", "10m")
    "#);
}

#[test]
fn reports_structural_mistakes_together() {
    let text = r#"[[endpoints]]
name = "a"

[[endpoints]]
name = "a"
kind = "openai"

[[endpoints]]
preset = "deepsek"
name = "c d"
auth = "beare"
max_output_tokens = 0
headers = { "x y" = "v" }
count_tokens = "yes"

[sever]
"#;
    insta::assert_snapshot!(errors(text), @r#"
    switchboard.toml:1:1: endpoints[0].kind: missing required key `kind`: one of anthropic, openai, gemini (or set `preset`)
    switchboard.toml:1:1: endpoints[0].base_url: missing required key `base_url` (or set `preset`)
    switchboard.toml:4:1: endpoints[1].base_url: missing required key `base_url` (or set `preset`)
    switchboard.toml:5:8: endpoints[1].name: duplicate endpoint name `a`: names must be unique
    switchboard.toml:9:10: endpoints[2].preset: unknown preset `deepsek`; did you mean `deepseek`?
    switchboard.toml:10:8: endpoints[2].name: invalid endpoint name `c d`: use 1 to 64 letters, digits, `-`, `_` or `.`
    switchboard.toml:11:8: endpoints[2].auth: unknown auth style `beare`; did you mean `bearer`?
    switchboard.toml:12:21: endpoints[2].max_output_tokens: 0 is out of range: expected 1 to 4294967295
    switchboard.toml:13:13: endpoints[2].headers."x y": invalid header name `x y`
    switchboard.toml:14:16: endpoints[2].count_tokens: expected true or false, found string
    switchboard.toml:16:2: sever: unknown key `sever`; did you mean `server`?
    "#);
}

#[test]
fn reports_wrong_types_and_ranges() {
    let text = r#"server = 3
[routing]
max_retries = "5"
connect_timeout = 10
keepalive_interval = "0s"
backoff = { initial = "5s", max = "1s" }
[storage]
url = "mysql://db/x"
log_queue = 0
[models]
sonet = "x"
"#;
    insta::assert_snapshot!(errors(text), @r#"
    switchboard.toml:1:10: server: expected a table, found integer
    switchboard.toml:3:15: routing.max_retries: expected an integer, found string
    switchboard.toml:4:19: routing.connect_timeout: expected a duration string with a unit, like "30s" or "500ms"
    switchboard.toml:5:22: routing.keepalive_interval: must be longer than zero
    switchboard.toml:6:35: routing.backoff.max: backoff.max (1s) is shorter than backoff.initial (5s)
    switchboard.toml:8:7: storage.url: unsupported database scheme `mysql`: expected postgres:// or sqlite:
    switchboard.toml:9:13: storage.log_queue: 0 is out of range: expected 1 to 10000000
    switchboard.toml:11:1: models.sonet: unknown role `sonet`; did you mean `sonnet`? (roles: opus, sonnet, haiku, fable, small-fast)
    "#);
}

#[test]
fn server_timeouts_must_be_durations_longer_than_zero() {
    let text = "[server]\nheader_timeout = \"0s\"\nbody_timeout = 30\n";
    insta::assert_snapshot!(errors(text), @r#"
    switchboard.toml:2:18: server.header_timeout: must be longer than zero
    switchboard.toml:3:16: server.body_timeout: expected a duration string with a unit, like "30s" or "500ms"
    "#);
}

#[test]
fn syntax_errors_have_line_and_column() {
    insta::assert_snapshot!(errors("[server]\nlisten = \"127.0.0.1:1\"\nx = [1,\n"), @"switchboard.toml:3:8: TOML syntax error: unclosed array, expected `]`");
    let e = compile("[server]\nlisten = 1\nlisten = 2\n").expect_err("duplicate key");
    assert_eq!((e.len(), e[0].line), (1, 3), "{}", render_errors(&e));
}

#[test]
fn base_url_with_api_path_is_rejected() {
    let text = "[[endpoints]]\nname = \"x\"\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1/chat/completions\"\n";
    insta::assert_snapshot!(errors(text), @"switchboard.toml:4:12: endpoints[0].base_url: base URL ends with the API path `/chat/completions`; leave it out, the server appends it");
}

// ---- environment -----------------------------------------------------------------------------

#[test]
fn substitutes_variables_in_any_string_value() {
    let text = r#"
[server]
listen = "127.0.0.1:${PORT}"
auth_token = "${TOKEN}"
[[endpoints]]
name = "up"
kind = "openai"
base_url = "https://${HOST}/v1"
api_key = "${KEY}"
headers = { authorization-extra = "Bearer ${KEY}", price = "$$5 and $${NOT_A_VAR}" }
[endpoints.models]
opus = "${BIG_MODEL}"
"#;
    let env = env_of(&[
        ("PORT", "9000"),
        ("TOKEN", "client-token-1234567890"),
        ("HOST", "llm.example.com"),
        ("KEY", "sk-abc"),
        ("BIG_MODEL", "gpt-5"),
    ]);
    let c = compile_str(text, file(), &env).expect("compiles");
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(
        c.server.auth_token.as_ref().map(|t| t.expose()),
        Some("client-token-1234567890")
    );
    let e = &c.endpoints[0];
    assert_eq!(e.base_url.as_str(), "https://llm.example.com/v1");
    assert_eq!(e.api_key.as_ref().map(|k| k.expose()), Some("sk-abc"));
    assert_eq!(
        e.headers,
        [
            ("authorization-extra".to_owned(), "Bearer sk-abc".to_owned()),
            ("price".to_owned(), "$$5 and ${NOT_A_VAR}".to_owned()),
        ]
    );
    assert_eq!(e.models.resolve("claude-opus-4-1"), Some("gpt-5"));
}

#[test]
fn missing_variable_names_the_variable_and_the_field() {
    let text = "[server]\nauth_token = \"${TOKEN}\"\n[[endpoints]]\nname = \"x\"\npreset = \"openai\"\napi_key = \"${OPENAI_API_KEY} ${ORG}\"\n";
    let errs = compile_str(text, file(), &env_of(&[])).expect_err("variables unset");
    insta::assert_snapshot!(render_errors(&errs), @r"
    switchboard.toml:2:14: server.auth_token: environment variable `TOKEN` is not set
    switchboard.toml:6:11: endpoints[0].api_key: environment variable `OPENAI_API_KEY` is not set
    switchboard.toml:6:11: endpoints[0].api_key: environment variable `ORG` is not set
    ");
}

#[test]
fn empty_secret_is_an_error_not_pass_through() {
    let text = "[[endpoints]]\nname = \"x\"\npreset = \"openai\"\napi_key = \"${EMPTY}\"\n";
    let errs = compile_str(text, file(), &env_of(&[("EMPTY", "")])).expect_err("empty key");
    insta::assert_snapshot!(render_errors(&errs), @"switchboard.toml:4:11: endpoints[0].api_key: is empty; set a value or remove the key");
}

// ---- presets ---------------------------------------------------------------------------------

#[test]
fn preset_fills_kind_url_auth_and_limits() {
    let c = compiled("[[endpoints]]\nname = \"ds\"\npreset = \"deepseek\"\napi_key = \"${KEY}\"\n");
    let e = &c.endpoints[0];
    assert_eq!(e.kind, Dialect::OpenAiChat);
    assert_eq!(e.base_url.as_str(), "https://api.deepseek.com/");
    assert_eq!(
        e.api_url("/chat/completions").as_str(),
        "https://api.deepseek.com/chat/completions"
    );
    assert_eq!(e.auth, AuthStyle::Bearer);
    assert_eq!(e.max_output_tokens, Some(8192));
    assert!(!e.count_tokens);
    assert_eq!(e.preset.as_deref(), Some("deepseek"));

    let c = compiled("[[endpoints]]\nname = \"g\"\npreset = \"gemini\"\n");
    assert_eq!(
        (c.endpoints[0].kind, c.endpoints[0].auth),
        (Dialect::Gemini, AuthStyle::GoogApiKey)
    );
}

#[test]
fn explicit_fields_override_the_preset() {
    let text = r#"[[endpoints]]
name = "proxy"
preset = "deepseek"
kind = "anthropic"
base_url = "https://proxy.example.com/anthropic/"
auth = "x-api-key"
max_output_tokens = 65536
count_tokens = true
enabled = false
"#;
    let e = compiled(text).endpoints.remove(0);
    assert_eq!(e.kind, Dialect::Anthropic);
    assert_eq!(e.base_url.as_str(), "https://proxy.example.com/anthropic");
    assert_eq!(
        e.api_url("/v1/messages").as_str(),
        "https://proxy.example.com/anthropic/v1/messages"
    );
    assert_eq!(e.auth, AuthStyle::XApiKey);
    assert_eq!(e.max_output_tokens, Some(65536));
    assert!(e.count_tokens);
    assert!(!e.enabled);
    assert_eq!(e.preset.as_deref(), Some("deepseek"));
}

#[test]
fn changing_a_presets_kind_needs_a_base_url() {
    let text = "[[endpoints]]\nname = \"x\"\npreset = \"deepseek\"\nkind = \"anthropic\"\n";
    insta::assert_snapshot!(errors(text), @"switchboard.toml:4:8: endpoints[0].kind: kind `anthropic` differs from preset `deepseek` (openai); set `base_url` too, or pick a preset of that kind");
}

#[test]
fn aliases_name_their_preset() {
    let c = compiled(
        "[[endpoints]]\nname = \"x\"\npreset = \"grok\"\n[[endpoints]]\nname = \"k\"\npreset = \"kimi\"\n",
    );
    assert_eq!(c.endpoints[0].preset.as_deref(), Some("xai"));
    assert_eq!(c.endpoints[0].base_url.as_str(), "https://api.x.ai/v1");
    assert_eq!(c.endpoints[1].preset.as_deref(), Some("moonshot"));
}

#[test]
fn every_preset_compiles() {
    for p in PRESETS {
        let text = format!("[[endpoints]]\nname = \"e\"\npreset = \"{}\"\n", p.name);
        let e = compiled(&text).endpoints.remove(0);
        assert_eq!(
            (e.kind, e.auth, e.count_tokens),
            (p.kind, p.auth, p.count_tokens),
            "{}",
            p.name
        );
    }
}

#[test]
fn kind_sets_auth_and_count_tokens_defaults() {
    let text = r#"
[[endpoints]]
name = "a"
kind = "anthropic"
base_url = "https://a.example.com"
[[endpoints]]
name = "o"
kind = "openai"
base_url = "https://o.example.com/v1"
[[endpoints]]
name = "g"
kind = "gemini"
base_url = "https://g.example.com"
"#;
    let got: Vec<(&str, AuthStyle, bool)> = compiled(text)
        .endpoints
        .iter()
        .map(|e| {
            (
                match e.name.as_str() {
                    "a" => "a",
                    "o" => "o",
                    _ => "g",
                },
                e.auth,
                e.count_tokens,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", AuthStyle::XApiKey, true),
            ("o", AuthStyle::Bearer, false),
            ("g", AuthStyle::GoogApiKey, false),
        ]
    );
}

// ---- defaults --------------------------------------------------------------------------------

#[test]
fn default_config_is_anthropic_pass_through() {
    let c = default_config();
    assert_eq!(c.source, ConfigSource::Default);
    assert_eq!(c.server.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.server.auth_token, None);
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(30));
    assert_eq!(c.server.header_timeout, Duration::from_secs(10));
    assert_eq!(c.server.body_timeout, Duration::from_secs(30));
    assert_eq!(c.endpoints.len(), 1);
    let e = &c.endpoints[0];
    assert_eq!(
        (e.name.as_str(), e.kind, e.auth),
        ("anthropic", Dialect::Anthropic, AuthStyle::XApiKey)
    );
    assert_eq!(e.base_url.as_str(), "https://api.anthropic.com/");
    assert_eq!(
        e.api_url("/v1/messages").as_str(),
        "https://api.anthropic.com/v1/messages"
    );
    assert!(e.api_key.is_none() && e.count_tokens && e.enabled && e.models.is_empty());
    assert_eq!(c.routing, switchboard_config::RoutingConfig::default());
    assert_eq!(c.storage.url, None);
    assert_eq!(c.storage.log_queue, 10_000);
}

#[test]
fn file_without_endpoints_uses_the_default_endpoint() {
    let c = compiled("[server]\nlisten = \"0.0.0.0:9999\"\n");
    assert_eq!(c.server.listen.port(), 9999);
    assert_eq!(c.endpoints.len(), 1);
    assert_eq!(c.endpoints[0].name, default_config().endpoints[0].name);
    assert!(c.endpoints[0].api_key.is_none());
    assert_eq!(c.source, file());
    assert!(compile("").is_ok());
}

#[test]
fn explicit_empty_endpoints_is_an_error() {
    insta::assert_snapshot!(errors("endpoints = []\n"), @"switchboard.toml:1:13: endpoints: no endpoints configured; add an [[endpoints]] table, or remove the key for the default pass-through to https://api.anthropic.com");
}

#[test]
fn inline_endpoint_array_is_accepted() {
    let c = compiled(
        "endpoints = [{ name = \"a\", preset = \"openai\" }, { name = \"b\", preset = \"groq\" }]\n",
    );
    let names: Vec<&str> = c.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

// ---- durations and model maps ----------------------------------------------------------------

#[test]
fn durations_accept_humantime_units() {
    let text = r#"
[server]
shutdown_grace = "1m 30s"
header_timeout = "300ms"
body_timeout = "2m"
[routing]
max_retries = 0
backoff = { initial = "500ms", max = "2s" }
cooldown = "30m"
failure_cooldown = "0s"
connect_timeout = "3s"
first_byte_timeout = "2m"
idle_timeout = "1h"
keepalive_interval = "250ms"
"#;
    let c = compiled(text);
    let r = &c.routing;
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(90));
    assert_eq!(c.server.header_timeout, Duration::from_millis(300));
    assert_eq!(c.server.body_timeout, Duration::from_secs(120));
    assert_eq!(r.max_retries, 0);
    assert_eq!(
        (r.backoff_initial, r.backoff_max),
        (Duration::from_millis(500), Duration::from_secs(2))
    );
    assert_eq!(r.cooldown, Duration::from_secs(1800));
    assert_eq!(r.failure_cooldown, Duration::ZERO);
    assert_eq!(r.connect_timeout, Duration::from_secs(3));
    assert_eq!(r.first_byte_timeout, Duration::from_secs(120));
    assert_eq!(r.idle_timeout, Duration::from_secs(3600));
    assert_eq!(r.keepalive_interval, Duration::from_millis(250));
}

#[test]
fn model_map_keeps_file_order_and_kinds_of_keys() {
    let text = r#"
[models]
"claude-3-5-haiku*" = "old-small"
opus = "big"
small-fast = "tiny"
"claude-sonnet-4-5" = "exact"
"#;
    let c = compiled(text);
    let patterns: Vec<&str> = c.models.rules.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(
        patterns,
        [
            "claude-3-5-haiku*",
            "opus",
            "small-fast",
            "claude-sonnet-4-5"
        ]
    );
    assert_eq!(
        c.models.resolve("claude-3-5-haiku-20241022"),
        Some("old-small")
    );
    assert_eq!(c.models.resolve("claude-opus-4-1"), Some("big"));
    assert_eq!(c.models.resolve("claude-haiku-4-5"), Some("tiny"));
    assert_eq!(c.models.resolve("claude-sonnet-4-5"), Some("exact"));
}

// ---- rendering and files ---------------------------------------------------------------------

#[test]
fn render_errors_leaves_out_unknown_parts() {
    let e = |file: Option<&str>, line, field: &str| ConfigError {
        file: file.map(PathBuf::from),
        line,
        column: if line > 0 { 9 } else { 0 },
        field: field.to_owned(),
        message: "relative URL without a base".to_owned(),
    };
    let errs = [
        e(Some("switchboard.toml"), 12, "endpoints[1].base_url"),
        e(None, 3, "server.listen"),
        e(Some("/etc/switchboard.toml"), 0, ""),
    ];
    insta::assert_snapshot!(render_errors(&errs), @r"
    switchboard.toml:12:9: endpoints[1].base_url: relative URL without a base
    3:9: server.listen: relative URL without a base
    /etc/switchboard.toml: relative URL without a base
    ");
    assert_eq!(errs[0].to_string(), render_errors(&errs[..1]).trim_end());
}

#[test]
fn load_file_reports_unreadable_file() {
    let errs =
        load_file(Path::new("/nonexistent/switchboard.toml"), &env_of(&[])).expect_err("missing");
    assert_eq!(errs.len(), 1);
    assert!(render_errors(&errs).starts_with("/nonexistent/switchboard.toml: cannot read"));
}

#[test]
fn load_file_names_the_file_in_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sb.toml");
    std::fs::write(&path, "[server]\nlisten = \"nope\"\n").expect("write");
    let errs = load_file(&path, &env_of(&[])).expect_err("bad listen");
    assert_eq!(errs[0].file.as_deref(), Some(path.as_path()));
    assert_eq!((errs[0].line, errs[0].column), (2, 10));
}

#[test]
fn example_file_compiles() {
    let env = env_of(&[
        ("SWITCHBOARD_TOKEN", "sb-local-token-0123456789"),
        ("ANTHROPIC_API_KEY", "sk-ant-test-0123456789"),
        ("DEEPSEEK_API_KEY", "sk-ds-test"),
        ("OPENROUTER_API_KEY", "sk-or-test"),
        ("GEMINI_API_KEY", "gm-test"),
    ]);
    let path = repo_file("examples/switchboard.toml");
    let c = load_file(&path, &env).unwrap_or_else(|e| panic!("{}", render_errors(&e)));
    assert!(c.endpoints.len() >= 3);
    assert!(c.server.auth_token.is_some());
}

#[test]
fn providers_doc_table_matches_the_code() {
    let doc = std::fs::read_to_string(repo_file("docs/providers.md")).expect("docs/providers.md");
    let mut table = String::from(
        "| Preset | Kind | Base URL | Auth | max_output_tokens | count_tokens | Quirks |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for p in PRESETS {
        let mut names = format!("`{}`", p.name);
        for a in p.aliases {
            names.push_str(&format!(", `{a}`"));
        }
        let auth = match p.auth {
            AuthStyle::XApiKey => "`x-api-key`",
            AuthStyle::Bearer => "`bearer`",
            AuthStyle::GoogApiKey => "`x-goog-api-key`",
        };
        let max = p
            .max_output_tokens
            .map_or("—".to_owned(), |n| n.to_string());
        let count = if p.count_tokens { "yes" } else { "no" };
        table.push_str(&format!(
            "| {names} | `{}` | `{}` | {auth} | {max} | {count} | {} ([docs]({})) |\n",
            p.kind, p.base_url, p.quirks, p.docs
        ));
    }
    assert!(
        doc.contains(&table),
        "docs/providers.md must contain this table:\n\n{table}"
    );
}

// ---- observability: pricing, audit, log file -------------------------------------------------

#[test]
fn pricing_overrides_fill_cache_prices_from_input() {
    let c = compiled(
        r#"
[pricing.models."my-model"]
input = 1
output = 2.5

[pricing.models."acme-*"]
input = 0.5
output = 1.5
cache_write = 0.625
cache_read = 0.05
"#,
    );
    assert_eq!(c.pricing.len(), 2);
    let m = &c.pricing[0];
    assert_eq!(m.pattern, "my-model");
    assert_eq!((m.input, m.output), (1.0, 2.5));
    assert_eq!(
        (m.cache_write, m.cache_write_1h, m.cache_read),
        (1.0, 1.0, 1.0)
    );
    let g = &c.pricing[1];
    assert_eq!(
        (g.cache_write, g.cache_write_1h, g.cache_read),
        (0.625, 0.625, 0.05)
    );
}

#[test]
fn pricing_mistakes_are_reported() {
    let text = errors(
        r#"
[pricing.models."a"]
output = 2.0
cache_reed = 1.0

[pricing.models."b"]
input = -1
output = "cheap"
"#,
    );
    assert!(
        text.contains(r#"pricing.models.a.input: missing required key `input`"#),
        "{text}"
    );
    assert!(text.contains("did you mean `cache_read`?"), "{text}");
    assert!(
        text.contains("pricing.models.b.input: -1 is out of range"),
        "{text}"
    );
    assert!(
        text.contains("pricing.models.b.output: expected a number"),
        "{text}"
    );
}

#[test]
fn audit_and_log_file_defaults_and_values() {
    let d = default_config();
    assert!(d.audit.enabled);
    assert_eq!(d.audit.retention, Duration::from_secs(14 * 86_400));
    assert_eq!(d.audit.max_bytes, 1 << 30);
    assert_eq!(d.audit.max_request_bytes, 8 << 20);
    assert!(!d.log_file.enabled);
    assert_eq!(d.storage.retention, None);

    let c = compiled(
        r#"
[storage]
retention = "90d"

[audit]
enabled = false
retention = "7d"
max_bytes = "500MB"
max_request_bytes = 65536

[log_file]
enabled = true
dir = "/var/log/switchboard"
"#,
    );
    assert_eq!(c.storage.retention, Some(Duration::from_secs(90 * 86_400)));
    assert!(!c.audit.enabled);
    assert_eq!(c.audit.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(c.audit.max_bytes, 500_000_000);
    assert_eq!(c.audit.max_request_bytes, 65_536);
    assert!(c.log_file.enabled);
    assert_eq!(c.log_file.dir, Some(PathBuf::from("/var/log/switchboard")));

    let text = errors("[audit]\nmax_bytes = \"lots\"\nretention = \"0s\"\n");
    assert!(
        text.contains("audit.max_bytes: invalid size `lots`"),
        "{text}"
    );
    assert!(
        text.contains("audit.retention: must be longer than zero"),
        "{text}"
    );
}

#[test]
fn opentelemetry_is_off_by_default_and_compiles_with_defaults() {
    assert!(default_config().opentelemetry.is_none());
    let env = env_of(&[("OTLP_TOKEN", "otlp-secret-0123456789abcdef")]);
    let c = compile_str(
        r#"
[opentelemetry]
endpoint = "https://otlp.example.com/otlp/"
headers = { authorization = "Bearer ${OTLP_TOKEN}" }
"#,
        file(),
        &env,
    )
    .expect("valid");
    let t = c.opentelemetry.expect("traces on");
    assert_eq!(
        t.traces_url().as_str(),
        "https://otlp.example.com/otlp/v1/traces"
    );
    assert_eq!(t.service_name, "switchboard");
    assert!((t.sample_ratio - 1.0).abs() < f64::EPSILON);
    assert_eq!(t.timeout, Duration::from_secs(10));
    assert_eq!(t.headers.len(), 1);
    assert_eq!(
        t.headers[0].1.expose(),
        "Bearer otlp-secret-0123456789abcdef"
    );
    assert!(!format!("{t:?}").contains("otlp-secret"), "masked in Debug");

    let c = compiled(
        "[opentelemetry]\nenabled = false\nservice_name = \"gw\"\nsample_ratio = 0\ntimeout = \"2s\"\n",
    );
    assert!(c.opentelemetry.is_none(), "disabled, endpoint not needed");
}

#[test]
fn opentelemetry_mistakes_point_at_their_lines() {
    let text = r#"[opentelemetry]
endpoint = "http://user:pw@collector:4318"
headers = { "bad header" = "x", "x-empty" = "" }
service_nam = "gw"
sample_ratio = 1.5
timeout = "0s"
"#;
    let errs = compile(text).expect_err("five mistakes");
    let at: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        at,
        [
            (2, "opentelemetry.endpoint"),
            (3, "opentelemetry.headers.\"bad header\""),
            (3, "opentelemetry.headers.x-empty"),
            (4, "opentelemetry.service_nam"),
            (5, "opentelemetry.sample_ratio"),
            (6, "opentelemetry.timeout"),
        ],
        "{}",
        render_errors(&errs)
    );
    let text = render_errors(&errs);
    assert!(text.contains("send them in `headers`"), "{text}");
    assert!(text.contains("did you mean `service_name`?"), "{text}");
    assert!(
        text.contains("1.5 is out of range: expected 0 to 1"),
        "{text}"
    );

    let text = errors("[opentelemetry]\nservice_name = \"gw\"\n");
    assert!(
        text.contains("opentelemetry.endpoint: missing required key `endpoint`"),
        "{text}"
    );
    let text = errors("[opentelemetry]\nendpoint = \"http://c:4318/v1/traces\"\n");
    assert!(text.contains("ends with `/v1/traces`"), "{text}");
    let text = errors("[opentelemetry]\nendpoint = \"grpc://c:4317\"\n");
    assert!(text.contains("unsupported scheme `grpc`"), "{text}");
    let text =
        errors("[opentelemetry]\nendpoint = \"http://c:4318\"\nheaders = { auth = \"${NOPE}\" }\n");
    assert!(
        text.contains("opentelemetry.headers.auth: environment variable `NOPE` is not set"),
        "{text}"
    );
}

// ---- proxies -------------------------------------------------------------------------------

#[test]
fn proxies_are_read_from_routing_and_endpoints() {
    let c = compile_str(
        r#"[routing]
proxy = "http://alice:${PROXY_PASSWORD}@proxy.corp:3128"
no_proxy = "localhost, .internal.example,10.0.0.0/8"

[[endpoints]]
name = "a"
preset = "anthropic"

[[endpoints]]
name = "b"
preset = "openai"
proxy = "socks5h://127.0.0.1"

[[endpoints]]
name = "c"
preset = "deepseek"
proxy = "none"

[[endpoints]]
name = "d"
preset = "gemini"
proxy = false
"#,
        file(),
        &env_of(&[("PROXY_PASSWORD", "correct-horse-battery-staple")]),
    )
    .expect("valid");
    let Some(ProxySetting::Via(url)) = &c.routing.proxy else {
        unreachable!("a proxy URL: {:?}", c.routing.proxy);
    };
    assert_eq!(
        url.expose(),
        "http://alice:correct-horse-battery-staple@proxy.corp:3128/"
    );
    assert_eq!(url.masked(), "http://alice:correct-ho…aple@proxy.corp:3128");
    assert!(!format!("{c:?}").contains("battery"), "masked in Debug");
    assert_eq!(
        c.routing.no_proxy,
        ["localhost", ".internal.example", "10.0.0.0/8"]
    );
    let proxies: Vec<Option<String>> = c
        .endpoints
        .iter()
        .map(|e| {
            e.proxy.as_ref().map(|p| match p {
                ProxySetting::Direct => "direct".to_owned(),
                ProxySetting::Via(u) => u.expose().to_owned(),
            })
        })
        .collect();
    assert_eq!(
        proxies,
        [
            None,
            Some("socks5h://127.0.0.1:1080".to_owned()),
            Some("direct".to_owned()),
            Some("direct".to_owned())
        ]
    );
    let c = compiled(
        "[routing]\nproxy = \"https://p.example\"\nno_proxy = [\"a.example\", \"b.example, c.example\"]\n",
    );
    assert_eq!(c.routing.no_proxy, ["a.example", "b.example", "c.example"]);
    assert_eq!(default_config().routing.proxy, None, "the environment's");
}

#[test]
fn proxy_mistakes_are_reported_with_their_place() {
    let text = r#"[routing]
proxy = "proxy.corp:3128"
no_proxy = "*.corp.example"

[[endpoints]]
name = "a"
preset = "anthropic"
proxy = "ftp://u:hunter2hunter2hunter2@proxy.corp"

[[endpoints]]
name = "b"
preset = "openai"
proxy = true

[[endpoints]]
name = "c"
preset = "openai"
proxy = "socks4://user:pw@proxy.corp"
"#;
    insta::assert_snapshot!(errors(text), @r#"
    switchboard.toml:2:9: routing.proxy: `proxy.corp:3128` has no scheme: write the proxy as a URL, like "http://proxy.example:3128" or "socks5h://127.0.0.1:1080" (or "none" to connect directly)
    switchboard.toml:3:12: routing.no_proxy: `*.corp.example`: write `.corp.example` (or `corp.example`) to match a domain and its subdomains; `*` alone matches every host
    switchboard.toml:8:9: endpoints[0].proxy: unsupported proxy scheme `ftp`: expected one of http://, https://, socks5://, socks5h://, socks4://, socks4a://
    switchboard.toml:13:9: endpoints[1].proxy: `true` is not a proxy: give its URL, like "http://proxy.example:3128" (or false to connect directly)
    switchboard.toml:18:9: endpoints[2].proxy: SOCKS4 proxies take no user name or password; use socks5:// or socks5h:// for a proxy that authenticates
    "#);
    assert!(!errors(text).contains("hunter2"), "no password in errors");
    insta::assert_snapshot!(errors("[routing]\nno_proxy = \"localhost\"\n"), @r#"switchboard.toml:2:12: routing.no_proxy: applies to `proxy` in this section, which is not set; proxies from the environment follow NO_PROXY (an endpoint's `proxy = "none"` connects it directly)"#);
    insta::assert_snapshot!(errors("[routing]\nproxy = \"none\"\nno_proxy = \"localhost\"\n"), @r#"switchboard.toml:3:12: routing.no_proxy: has no effect: `proxy` is "none", so nothing goes through a proxy"#);
    insta::assert_snapshot!(errors("[routing]\nproxy = \"\"\n"), @r#"switchboard.toml:2:9: routing.proxy: is empty; give a proxy URL, "none" to connect directly, or remove the key"#);
}
