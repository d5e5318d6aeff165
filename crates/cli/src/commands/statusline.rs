//! `switchboard statusline`: a Claude Code `statusLine` command. It reads the JSON Claude Code
//! pipes in (`session_id` is what it needs), asks the gateway for that session
//! (`GET /v1/switchboard/session`, with the credential and profile header Claude Code itself
//! uses) and prints one short line:
//!
//! `⇄ cheap · deepseek · $0.0421 · 12.3k tok · $4.58 left of 5usd/day`
//!
//! — the profile, the endpoint that served the session's last request, the session's cost and
//! tokens, and what is left of the key's tightest budget. Fast: the gateway is asked with a
//! 150 ms connect and 400 ms overall timeout; when it does not answer, the line says so and the
//! exit status is still 0 (Claude Code shows whatever is printed).
//!
//! `--then COMMAND` chains a status line the user already had (`setup claude --statusline`
//! writes it): their command runs with the same input, at the same time, and its output follows
//! ours.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::commands::print_out;

#[derive(Debug, Args)]
pub(crate) struct StatuslineArgs {
    /// A status line command to run as well (with the same input); its output follows ours.
    #[arg(long, value_name = "COMMAND")]
    then: Option<String>,

    /// Configuration file used to find the gateway when ANTHROPIC_BASE_URL is not set.
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The most of Claude Code's input read.
const MAX_INPUT: u64 = 1 << 20;

pub(crate) fn run(args: StatuslineArgs) -> anyhow::Result<ExitCode> {
    let mut input = Vec::new();
    // Nothing on stdin is no reason to fail a status line.
    let _ = std::io::stdin().take(MAX_INPUT).read_to_end(&mut input);
    let rt = crate::runtime()?;
    let (ours, theirs) = rt.block_on(async {
        tokio::join!(
            line(&input, args.config.clone()),
            chained(args.then.as_deref(), &input)
        )
    });
    let mut out = ours;
    out.push('\n');
    if let Some(t) = theirs {
        out.push_str(&t);
        if !t.ends_with('\n') {
            out.push('\n');
        }
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the chained command with `input` on its stdin; its stdout, or nothing.
async fn chained(command: Option<&str>, input: &[u8]) -> Option<String> {
    use tokio::io::AsyncWriteExt as _;
    let command = command.filter(|c| !c.trim().is_empty())?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input).await;
    }
    let out = child.wait_with_output().await.ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Our line, whatever happens.
async fn line(input: &[u8], config: Option<PathBuf>) -> String {
    let input: Value = serde_json::from_slice(input).unwrap_or(Value::Null);
    let session = input["session_id"].as_str().unwrap_or_default();
    let Some(base) = gateway(config) else {
        return "⇄ switchboard: no gateway configured".to_owned();
    };
    match ask(&base, session).await {
        Some(v) => render(&v),
        None => "⇄ switchboard: gateway not reachable".to_owned(),
    }
}

/// `ANTHROPIC_BASE_URL` (what Claude Code uses), else the configured address.
fn gateway(config: Option<PathBuf>) -> Option<String> {
    if let Some(url) = std::env::var("ANTHROPIC_BASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let (_, c) = crate::commands::profile::local_config(config).ok()?;
    let scheme = if c.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Some(format!(
        "{scheme}://{}",
        crate::commands::client_addr(c.server.listen)
    ))
}

async fn ask(base: &str, session: &str) -> Option<Value> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(150))
        .timeout(Duration::from_millis(400))
        .build()
        .ok()?;
    let mut req = http.get(format!("{base}/v1/switchboard/session"));
    if !session.is_empty() {
        req = req.header("x-claude-code-session-id", session);
    }
    if let Some(t) = var("ANTHROPIC_AUTH_TOKEN") {
        req = req.bearer_auth(t);
    } else if let Some(k) = var("ANTHROPIC_API_KEY") {
        req = req.header("x-api-key", k);
    }
    if let Some(headers) = var("ANTHROPIC_CUSTOM_HEADERS") {
        for l in headers.lines() {
            if let Some((name, value)) = l.split_once(':')
                && name.trim().eq_ignore_ascii_case("x-switchboard-profile")
            {
                req = req.header("x-switchboard-profile", value.trim());
            }
        }
    }
    let resp = req.send().await.ok()?;
    if !resp.status().is_success() {
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let msg = v["error"]["message"].as_str().unwrap_or("refused");
        return Some(serde_json::json!({"refused": msg}));
    }
    resp.json().await.ok()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The line from the gateway's answer.
pub(crate) fn render(v: &Value) -> String {
    if let Some(msg) = v["refused"].as_str() {
        let short: String = msg.chars().take(80).collect();
        return format!("⇄ switchboard: {short}");
    }
    let s = &v["session"];
    let profile = s["last"]["profile"]
        .as_str()
        .or_else(|| v["profile"].as_str());
    let mut parts: Vec<String> = vec![profile.unwrap_or("switchboard").to_owned()];
    if s.is_null() {
        parts.push("no requests yet".to_owned());
    } else {
        if let Some(e) = s["last"]["endpoint"].as_str() {
            parts.push(e.to_owned());
        }
        let cost = s["cost_usd"].as_f64().unwrap_or(0.0);
        parts.push(money(cost));
        let tokens = [
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .iter()
        .filter_map(|k| s[*k].as_u64())
        .sum::<u64>();
        parts.push(format!("{} tok", count(tokens)));
    }
    if let Some(b) = tightest(&v["budgets"]) {
        parts.push(b);
    }
    format!("⇄ {}", parts.join(" · "))
}

/// `$0.0421` below a dollar, `$12.34` above.
fn money(usd: f64) -> String {
    if usd < 1.0 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// `950`, `12.3k`, `4.5M`.
fn count(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a rounded display")]
    let f = n as f64;
    if n < 1000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        format!("{:.1}M", f / 1e6)
    }
}

/// What is left of the budget with the least left (as a share of its limit).
fn tightest(budgets: &Value) -> Option<String> {
    let b = budgets.as_array()?.iter().min_by(|a, b| {
        share(a)
            .partial_cmp(&share(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })?;
    let left = match b["unit"].as_str() {
        Some("usd") => money(b["remaining"].as_f64().unwrap_or(0.0)),
        _ => format!("{} tok", count(b["remaining"].as_u64().unwrap_or(0))),
    };
    let what = b["budget"].as_str().unwrap_or_default();
    Some(if b["exhausted"] == true {
        format!("budget {what} used up")
    } else {
        format!("{left} left of {what}")
    })
}

fn share(b: &Value) -> f64 {
    let limit = b["limit"].as_f64().unwrap_or(0.0);
    if limit <= 0.0 {
        return 0.0;
    }
    b["remaining"].as_f64().unwrap_or(0.0) / limit
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_line_shows_profile_endpoint_cost_tokens_and_the_tightest_budget() {
        let v = json!({
            "profile": "cheap",
            "session": {"cost_usd": 0.04213, "input_tokens": 12000, "output_tokens": 300,
                        "last": {"endpoint": "deepseek", "profile": "cheap"}},
            "budgets": [
                {"unit": "usd", "budget": "5usd/day", "limit": 5.0, "remaining": 4.58, "exhausted": false},
                {"unit": "tokens", "budget": "1000000tok/5h", "limit": 1_000_000, "remaining": 990_000, "exhausted": false},
            ],
        });
        assert_eq!(
            render(&v),
            "⇄ cheap · deepseek · $0.0421 · 12.3k tok · $4.58 left of 5usd/day"
        );
        assert_eq!(
            render(&json!({"profile": null, "session": null, "budgets": null})),
            "⇄ switchboard · no requests yet"
        );
    }
}
