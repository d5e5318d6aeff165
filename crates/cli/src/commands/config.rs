//! `switchboard config check [FILE]`: compile the configuration and print every error, or a
//! short summary of what would run.

use std::fmt::Write as _;
use std::process::ExitCode;

use switchboard_config::{Config, ConfigError, ConfigSource, render_errors};
use switchboard_gateway::ProxyEnv;
use switchboard_server::ConfigFile;

use crate::args::CheckArgs;
use crate::commands::{
    config_path, credentials, data_dir, print_out, proxy_column, proxy_summary, table,
};

pub(crate) fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    // No data directory (no HOME) only means there is no default file to look for.
    let dir = data_dir().ok();
    let path = config_path(args.file, dir.as_deref());
    let file = ConfigFile::new(path.clone());
    let loaded = match file.peek() {
        Ok((config, names)) if names.is_empty() => Ok(config),
        // `secret:NAME` values: check them against the secret store.
        Ok(_) => crate::runtime()?.block_on(with_secrets(&file, path.as_deref())),
        Err(errors) => Err(errors),
    };
    match loaded {
        Ok(config) => {
            print_out(&summary(&config, &ProxyEnv::from_process()))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            let n = errors.len();
            eprint!("{}", render_errors(&errors));
            eprintln!(
                "{n} error{} in {}",
                if n == 1 { "" } else { "s" },
                path.as_deref().map_or_else(
                    || "the configuration".to_owned(),
                    |p| p.display().to_string()
                )
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The configuration with the secrets it refers to, from the secret store in the data
/// directory (or the configured database).
async fn with_secrets(
    file: &ConfigFile,
    path: Option<&std::path::Path>,
) -> Result<Config, Vec<ConfigError>> {
    let store_error = |e: &dyn std::fmt::Display| {
        vec![ConfigError {
            file: path.map(std::path::Path::to_path_buf),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("refers to the secret store, which cannot be opened to check it: {e}"),
        }]
    };
    let (_, admin) = crate::commands::open_admin_store(path.map(std::path::Path::to_path_buf))
        .await
        .map_err(|e| store_error(&e))?;
    let dir = data_dir().map_err(|e| store_error(&e))?;
    let env = std::env::var(switchboard_auth::vault::MASTER_KEY_ENV).ok();
    let secrets = switchboard_auth::vault::Secrets::open(admin, &dir, env.as_deref())
        .await
        .map_err(|e| store_error(&e))?;
    file.load(Some(&secrets)).await
}

/// What `config check` prints for a valid configuration.
fn summary(config: &Config, env: &ProxyEnv) -> String {
    let mut out = String::new();
    let _ = match &config.source {
        ConfigSource::File(p) => writeln!(out, "{}: OK", p.display()),
        ConfigSource::Default => writeln!(
            out,
            "no configuration file: the built-in default is used (pass-through to https://api.anthropic.com)"
        ),
    };
    let _ = writeln!(out, "  listen     {}", config.server.listen);
    let _ = writeln!(
        out,
        "  auth       {}",
        config.server.auth_token.as_ref().map_or_else(
            || "none (no gateway token required)".to_owned(),
            |t| format!("clients must present the gateway token ({})", t.masked())
        )
    );
    let _ = writeln!(out, "  proxy      {}", proxy_summary(config, env));
    if let Some(t) = &config.opentelemetry {
        let _ = writeln!(out, "  traces     {}", crate::commands::traces(t));
    }
    let _ = writeln!(out, "  endpoints  (in priority order)");
    let mut rows = vec![vec![
        "#".to_owned(),
        "NAME".to_owned(),
        "KIND".to_owned(),
        "BASE URL".to_owned(),
        "PRESET".to_owned(),
        "CREDENTIALS".to_owned(),
    ]];
    let proxies = proxy_column(config, env);
    if proxies.is_some() {
        rows[0].push("PROXY".to_owned());
    }
    for (i, e) in config.endpoints.iter().enumerate() {
        let name = if e.enabled {
            e.name.clone()
        } else {
            format!("{} (disabled)", e.name)
        };
        let mut row = vec![
            format!("{}.", i + 1),
            name,
            e.kind.to_string(),
            e.base_url.to_string(),
            e.preset.clone().unwrap_or_else(|| "-".to_owned()),
            credentials(e),
        ];
        if let Some(p) = proxies.as_ref().and_then(|p| p.get(i)) {
            row.push(p.clone());
        }
        rows.push(row);
    }
    out.push_str(&table(&rows, "    "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_each_endpoints_proxy_with_the_password_masked() {
        let config = switchboard_config::compile_str(
            "[routing]\nproxy = \"http://alice:correct-horse-battery-staple@proxy.corp:3128\"\nno_proxy = \"localhost\"\n\
             [[endpoints]]\nname = \"a\"\npreset = \"anthropic\"\n\
             [[endpoints]]\nname = \"b\"\npreset = \"openai\"\nproxy = \"none\"\n",
            ConfigSource::Default,
            &|_| None,
        )
        .expect("valid config");
        let text = summary(&config, &ProxyEnv::none());
        assert!(!text.contains("battery"), "{text}");
        assert!(
            text.contains(
                "  proxy      http://alice:correct-ho…aple@proxy.corp:3128 (except localhost)"
            ),
            "{text}"
        );
        assert!(
            text.contains("pass-through  http://alice:correct-ho…aple@proxy.corp:3128 (routing)"),
            "{text}"
        );
        assert!(text.contains("pass-through  direct"), "{text}");

        let env = ProxyEnv::from_vars(&|name| {
            (name == "HTTPS_PROXY").then(|| "http://bob:hunter2@10.0.0.1:8080".to_owned())
        });
        let text = summary(&switchboard_config::default_config(), &env);
        assert!(
            text.contains(
                "  proxy      from the environment: HTTPS_PROXY=http://bob:…****@10.0.0.1:8080"
            ),
            "{text}"
        );
        assert!(text.contains("(HTTPS_PROXY)"), "{text}");
    }

    #[test]
    fn summary_of_the_default_config() {
        let text = summary(&switchboard_config::default_config(), &ProxyEnv::none());
        assert!(text.starts_with("no configuration file"), "{text}");
        assert!(text.contains("listen     127.0.0.1:8787"), "{text}");
        assert!(
            text.contains(
                "1.  anthropic  anthropic  https://api.anthropic.com/  -       pass-through"
            ),
            "{text}"
        );
    }
}
