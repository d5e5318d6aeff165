//! `switchboard ui`: opens the dashboard of the running gateway in the browser through a fresh
//! one-time sign-in link (printed instead where no browser can be opened, or with `--print`).

use std::process::{ExitCode, Stdio};

use serde_json::json;

use crate::args::UiArgs;
use crate::commands::print_out;
use crate::commands::remote::Remote;

pub(crate) async fn run(args: UiArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::locate(args.url, args.config)?;
    let link = match remote.post("/api/admin/links", &json!({})).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let path = link["path"].as_str().unwrap_or("/ui/");
    let url = format!("{}{path}", remote.base);
    if !args.print && open_browser(&url) {
        eprintln!(
            "Opened the dashboard in your browser (the sign-in link works once, for a few minutes)."
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !args.print {
        eprintln!(
            "No browser could be opened here; open this link (it works once, for a few minutes):"
        );
    }
    print_out(&format!("{url}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Hands `url` to the desktop's opener; whether one took it.
fn open_browser(url: &str) -> bool {
    let candidates: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["explorer"]
    } else {
        // A graphical session is needed: `xdg-open` without one prints errors and opens nothing
        // the user can see.
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return false;
        }
        &["xdg-open"]
    };
    candidates.iter().any(|cmd| {
        std::process::Command::new(cmd)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}
