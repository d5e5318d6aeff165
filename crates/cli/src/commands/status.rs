//! `switchboard status`: ask a running gateway for `/status` and show it as a table.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::Value;

use crate::args::StatusArgs;
use crate::commands::remote::Remote;
use crate::commands::{print_out, table};

pub(crate) async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::locate(args.url, args.config)?;
    let body = match remote.get("/status").await {
        Ok(body) => body,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&body)?))?;
    } else {
        print_out(&render(&remote.base, &body))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The readable form of a `/status` document.
fn render(base: &str, s: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let num = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Switchboard {} at {base} — up {}, {} in flight, {} served",
        text(&s["version"]),
        duration(s["uptime_s"].as_f64().unwrap_or(0.0)),
        num(&s["in_flight"]),
        num(&s["served"]),
    );
    if s["insecure_public"].as_bool() == Some(true) {
        let _ = writeln!(
            out,
            "WARNING:    started with --insecure-public: serving beyond this machine without a gateway token"
        );
    }
    let _ = writeln!(out, "config:     {}", text(&s["config_source"]));
    if let Some(err) = s["reload"]["last_error"].as_str() {
        let _ = writeln!(
            out,
            "reload error (the previous configuration is still running), at {}:",
            text(&s["reload"]["last_error_at"])
        );
        for line in err.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let log = &s["log"];
    let _ = write!(
        out,
        "log queue:  {} queued, {} written, {} dropped, {} failed batches",
        num(&log["queued"]),
        num(&log["written"]),
        num(&log["dropped"]),
        num(&log["failed_batches"]),
    );
    if let Some(err) = log["last_error"].as_str() {
        let _ = write!(out, " (last error: {err})");
    }
    let traces = &s["opentelemetry"];
    if traces.is_object() {
        let _ = write!(
            out,
            "\ntraces:     to {}, {} batches sent, {} failed",
            text(&traces["endpoint"]),
            num(&traces["exported_batches"]),
            num(&traces["failed_batches"]),
        );
        if let Some(err) = traces["last_error"].as_str() {
            let _ = write!(out, " (last error: {err})");
        }
    }
    out.push_str("\n\n");
    let mut rows = vec![
        [
            "ENDPOINT",
            "KIND",
            "STATE",
            "COOLDOWN",
            "FAILURES",
            "LAST ERROR",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for e in s["endpoints"].as_array().into_iter().flatten() {
        let failures = num(&e["failures"]);
        let in_a_row = num(&e["consecutive_failures"]);
        let failures = if in_a_row > 0 {
            format!("{failures} ({in_a_row} in a row)")
        } else {
            failures.to_string()
        };
        let cooldown = e["cooldown_remaining_s"]
            .as_f64()
            .map_or_else(|| "-".to_owned(), duration);
        rows.push(vec![
            text(&e["name"]),
            text(&e["kind"]),
            text(&e["state"]),
            cooldown,
            failures,
            text(&e["last_error"]),
        ]);
    }
    out.push_str(&table(&rows, ""));
    out
}

/// `45s`, `12m 30s`, `3h 05m`, `2d 4h`.
fn duration(secs: f64) -> String {
    // Display only: sub-second precision and negative values do not matter.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rounded display value"
    )]
    let s = secs.max(0.0).ceil() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_endpoints_and_reload_error() {
        let doc = serde_json::json!({
            "version": "0.1.0", "uptime_s": 75, "in_flight": 1, "served": 12,
            "config_source": "/etc/sb.toml",
            "reload": {"reloads": 1, "last_error": "sb.toml:3:1: server.listn: unknown key", "last_error_at": "2026-01-01T00:00:00Z"},
            "log": {"queued": 0, "written": 12, "dropped": 0, "failed_batches": 0, "last_error": null},
            "endpoints": [
                {"name": "primary", "kind": "anthropic", "state": "cooling_down", "cooldown_remaining_s": 750.2,
                 "failures": 3, "consecutive_failures": 2, "last_error": "429 rate limited"},
                {"name": "backup", "kind": "openai", "state": "healthy", "cooldown_remaining_s": null,
                 "failures": 0, "consecutive_failures": 0, "last_error": null}
            ]
        });
        assert_eq!(
            render("http://127.0.0.1:8787", &doc),
            "Switchboard 0.1.0 at http://127.0.0.1:8787 — up 1m 15s, 1 in flight, 12 served
config:     /etc/sb.toml
reload error (the previous configuration is still running), at 2026-01-01T00:00:00Z:
  sb.toml:3:1: server.listn: unknown key
log queue:  0 queued, 12 written, 0 dropped, 0 failed batches

ENDPOINT  KIND       STATE         COOLDOWN  FAILURES        LAST ERROR
primary   anthropic  cooling_down  12m 31s   3 (2 in a row)  429 rate limited
backup    openai     healthy       -         0               -
"
        );
    }
}
