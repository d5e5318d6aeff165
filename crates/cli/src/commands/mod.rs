//! The subcommands, and what they share: where the data directory and the configuration file
//! are, how the configuration is loaded, and how secrets and endpoints are shown.

pub(crate) mod admin;
pub(crate) mod claude;
pub(crate) mod config;
pub(crate) mod keys;
pub(crate) mod mcp;
pub(crate) mod profile;
pub(crate) mod remote;
pub(crate) mod secrets;
pub(crate) mod serve;
pub(crate) mod setup;
pub(crate) mod skills;
pub(crate) mod status;
pub(crate) mod statusline;
pub(crate) mod ui;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use switchboard_config::{AuthStyle, Config, EndpointConfig, OpenTelemetryConfig, ProxySetting};
use switchboard_gateway::{ProxyEnv, proxy_for};

/// Exit status for a configuration that does not compile (`serve`, `status`).
pub(crate) const EXIT_CONFIG: u8 = 2;

/// The data directory: `$SWITCHBOARD_HOME`, else `$HOME/.switchboard`, made absolute.
pub(crate) fn data_dir() -> anyhow::Result<PathBuf> {
    let dir = match non_empty_var("SWITCHBOARD_HOME") {
        Some(home) => PathBuf::from(home),
        None => non_empty_var("HOME")
            .map(|h| PathBuf::from(h).join(".switchboard"))
            .context(
                "neither SWITCHBOARD_HOME nor HOME is set: set SWITCHBOARD_HOME to the data directory",
            )?,
    };
    std::path::absolute(&dir)
        .with_context(|| format!("cannot resolve the data directory {}", dir.display()))
}

fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The configuration file to use: the one named (`--config`, `SWITCHBOARD_CONFIG`), else
/// `config.toml` in the data directory if it exists, else none (the built-in default).
pub(crate) fn config_path(named: Option<PathBuf>, data_dir: Option<&Path>) -> Option<PathBuf> {
    named.filter(|p| !p.as_os_str().is_empty()).or_else(|| {
        data_dir
            .map(|d| d.join("config.toml"))
            .filter(|p| p.is_file())
    })
}

/// The database of the gateway this configuration describes (the data directory's SQLite file,
/// or `[storage] url`), opened and migrated, behind both of its traits.
pub(crate) async fn open_admin_store(
    config: Option<PathBuf>,
) -> anyhow::Result<(
    std::sync::Arc<dyn switchboard_store::Store>,
    std::sync::Arc<dyn switchboard_store::AdminStore>,
)> {
    let dir = data_dir()?;
    let path = config_path(config, Some(&dir));
    let (config, _) = switchboard_server::ConfigFile::new(path)
        .peek()
        .map_err(|errors| {
            anyhow::anyhow!(
                "{}the configuration has errors: fix them first",
                switchboard_config::render_errors(&errors)
            )
        })?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    switchboard_store::open_with_admin(config.storage.url.as_deref(), &dir)
        .await
        .context("cannot open the database")
}

/// Loads the file (`secret:NAME` values are errors here: for commands that need no keys), or
/// the built-in default when there is none.
pub(crate) fn load_config(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<switchboard_config::ConfigError>> {
    match path {
        Some(path) => switchboard_config::load_file(path, env),
        None => Ok(switchboard_config::default_config()),
    }
}

pub(crate) use switchboard_server::client_addr;

/// How an endpoint authenticates upstream, with any key masked.
pub(crate) fn credentials(e: &EndpointConfig) -> String {
    match (&e.api_key, e.auth) {
        (None, _) => "pass-through".to_owned(),
        (Some(k), AuthStyle::XApiKey) => format!("x-api-key {}", k.masked()),
        (Some(k), AuthStyle::Bearer) => format!("bearer {}", k.masked()),
        (Some(k), AuthStyle::GoogApiKey) => format!("x-goog-api-key {}", k.masked()),
    }
}

/// How upstream connections go out, in one line, passwords masked.
pub(crate) fn proxy_summary(config: &Config, env: &ProxyEnv) -> String {
    let r = &config.routing;
    match &r.proxy {
        Some(ProxySetting::Direct) => {
            "none: direct connections (proxy environment variables ignored)".to_owned()
        }
        Some(ProxySetting::Via(url)) if r.no_proxy.is_empty() => format!("{url}"),
        Some(ProxySetting::Via(url)) => format!("{url} (except {})", r.no_proxy.join(", ")),
        None => {
            let vars = env.describe();
            if vars.is_empty() {
                "from the environment: none set, direct connections".to_owned()
            } else {
                format!("from the environment: {}", vars.join(" "))
            }
        }
    }
}

/// Each endpoint's proxy (`direct`, or the URL and where it was chosen), when at least one
/// endpoint has one.
pub(crate) fn proxy_column(config: &Config, env: &ProxyEnv) -> Option<Vec<String>> {
    let column: Vec<Option<String>> = config
        .endpoints
        .iter()
        .map(|e| proxy_for(e, &config.routing, env).map(|p| format!("{} ({})", p.url, p.source)))
        .collect();
    column.iter().any(Option::is_some).then(|| {
        column
            .into_iter()
            .map(|p| p.unwrap_or_else(|| "direct".to_owned()))
            .collect()
    })
}

/// Where spans go, in one line, with header values masked.
pub(crate) fn traces(t: &OpenTelemetryConfig) -> String {
    let mut out = format!(
        "OTLP/HTTP to {} as `{}`, {}% sampled",
        t.traces_url(),
        t.service_name,
        t.sample_ratio * 100.0
    );
    if !t.headers.is_empty() {
        let headers: Vec<String> = t
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.masked()))
            .collect();
        out.push_str(&format!(" (headers {})", headers.join(", ")));
    }
    out
}

/// A database URL with the password replaced by `****`.
pub(crate) fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:****@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// Rows as left-aligned columns separated by two spaces (the last column is not padded).
pub(crate) fn table(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_owned();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[c].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Writes the command's output to stdout (logs and diagnostics go to stderr).
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_line_masks_header_values() {
        let config = switchboard_config::compile_str(
            "[opentelemetry]\nendpoint = \"http://127.0.0.1:4318\"\nsample_ratio = 0.25\nheaders = { authorization = \"Bearer otlp-secret-0123456789abcdef\" }\n",
            switchboard_config::ConfigSource::Default,
            &|_| None,
        )
        .expect("valid config");
        let line = traces(config.opentelemetry.as_ref().expect("traces on"));
        assert_eq!(
            line,
            "OTLP/HTTP to http://127.0.0.1:4318/v1/traces as `switchboard`, 25% sampled (headers authorization: Bearer otl…cdef)"
        );
    }

    #[test]
    fn masks_the_password_of_a_database_url() {
        assert_eq!(
            mask_url("postgres://sb:hunter2@db.local:5432/switchboard?sslmode=require"),
            "postgres://sb:****@db.local:5432/switchboard?sslmode=require"
        );
        assert_eq!(mask_url("postgres://db.local/sb"), "postgres://db.local/sb");
        assert_eq!(
            mask_url("postgres://sb@db.local/sb"),
            "postgres://sb@db.local/sb"
        );
    }

    #[test]
    fn wildcard_listen_becomes_loopback_for_clients() {
        use std::net::SocketAddr;
        let a: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        assert_eq!(client_addr(a).to_string(), "127.0.0.1:8787");
        let b: SocketAddr = "[::]:9000".parse().expect("addr");
        assert_eq!(client_addr(b).to_string(), "[::1]:9000");
    }

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["a".to_owned(), "kind".to_owned(), "x".to_owned()],
            vec!["longer".to_owned(), "k".to_owned(), "y".to_owned()],
        ];
        assert_eq!(table(&rows, "  "), "  a       kind  x\n  longer  k     y\n");
    }
}
