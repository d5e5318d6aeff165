//! `switchboard secrets set|list|delete|rotate-master`: upstream keys kept encrypted
//! (XChaCha20-Poly1305) in the database, referred to from the config as
//! `api_key = "secret:NAME"`. Values come from stdin or a prompt without echo, never from argv.
//! When the gateway runs, it does the work (with the master key it holds) and reloads; when it
//! does not, this process opens the store itself.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::{Value, json};
use switchboard_auth::vault::{MASTER_KEY_ENV, Secrets};
use switchboard_auth::{KeySource, MasterKey};

use crate::args::{SecretsArgs, SecretsCommand};
use crate::commands::admin::read_secret;
use crate::commands::remote::{Remote, RemoteError};
use crate::commands::{data_dir, open_admin_store, print_out, table};

pub(crate) async fn run(args: SecretsArgs) -> anyhow::Result<ExitCode> {
    // The running gateway, if there is one this user can reach.
    let remote = Remote::locate(None, args.config.clone()).ok();
    let answer = |r: Result<Value, RemoteError>| match r {
        Ok(v) => Ok(Some(v)),
        Err(RemoteError::Unreachable { .. }) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    match &args.command {
        SecretsCommand::Set { name } => {
            let value = read_secret(&format!("Value of {name}: "), false)?;
            let masked = value.masked();
            let body = json!({"value": value.expose()});
            let via_gateway = match &remote {
                Some(r) => answer(r.put(&format!("/api/admin/secrets/{name}"), &body).await)?,
                None => None,
            };
            match via_gateway {
                Some(v) => {
                    eprintln!(
                        "Stored {name} ({masked}), encrypted; the gateway reloaded its configuration."
                    );
                    if v["reload"]["ok"] == json!(false) {
                        eprintln!(
                            "warning: the reload failed: {}",
                            v["reload"]["error"].as_str().unwrap_or("?")
                        );
                    }
                }
                None => {
                    local(&args).await?.set(name, &value, Utc::now()).await?;
                    eprintln!(
                        "Stored {name} ({masked}), encrypted; the gateway uses it from its next start."
                    );
                }
            }
            eprintln!("Refer to it in the config as: api_key = \"secret:{name}\"");
        }
        SecretsCommand::List => {
            let rows_json = match &remote {
                Some(r) => answer(r.get("/api/admin/secrets").await)?,
                None => None,
            };
            let mut rows = vec![vec![
                "NAME".to_owned(),
                "VALUE".to_owned(),
                "UPDATED".to_owned(),
            ]];
            match rows_json {
                Some(v) => {
                    for s in v["secrets"].as_array().into_iter().flatten() {
                        rows.push(vec![
                            s["name"].as_str().unwrap_or_default().to_owned(),
                            s["masked"].as_str().unwrap_or_default().to_owned(),
                            s["updated_at"].as_str().unwrap_or_default().to_owned(),
                        ]);
                    }
                }
                None => {
                    for s in local(&args).await?.list().await? {
                        rows.push(vec![s.name, s.masked, s.updated_at.to_rfc3339()]);
                    }
                }
            }
            print_out(&table(&rows, ""))?;
        }
        SecretsCommand::Delete { name } => {
            let done = match &remote {
                Some(r) => answer(r.delete(&format!("/api/admin/secrets/{name}")).await)?,
                None => None,
            };
            if done.is_none() && !local(&args).await?.delete(name).await? {
                anyhow::bail!("no secret named {name:?}");
            }
            eprintln!("Deleted {name}.");
        }
        SecretsCommand::RotateMaster => {
            let from_env = std::env::var(MASTER_KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
            let new_key = if from_env {
                Some(MasterKey::generate(KeySource::Given)?)
            } else {
                None
            };
            let body = match &new_key {
                Some(k) => json!({"new_key": k.encoded().expose()}),
                None => json!({}),
            };
            let via_gateway = match &remote {
                Some(r) => answer(r.post("/api/admin/secrets/rotate-master", &body).await)?,
                None => None,
            };
            let (from, to, n) = match via_gateway {
                Some(v) => (
                    v["previous_key_id"].as_str().unwrap_or("?").to_owned(),
                    v["key_id"].as_str().unwrap_or("?").to_owned(),
                    v["resealed"].as_u64().unwrap_or(0),
                ),
                None => {
                    let r = local(&args)
                        .await?
                        .rotate_master(new_key.clone(), Utc::now())
                        .await?;
                    (r.previous_key_id, r.key_id, r.resealed as u64)
                }
            };
            eprintln!("Re-encrypted {n} secret(s): master key {from} → {to}.");
            if let Some(k) = new_key {
                eprintln!(
                    "The master key comes from {MASTER_KEY_ENV}: set it to the new key (printed on stdout) before the gateway's next start."
                );
                print_out(&format!("{}\n", k.encoded().expose()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The secret store, opened by this process (no gateway answered).
async fn local(args: &SecretsArgs) -> anyhow::Result<Secrets> {
    let (_, admin_store) = open_admin_store(args.config.clone()).await?;
    let env = std::env::var(MASTER_KEY_ENV).ok();
    Ok(Secrets::open(admin_store, &data_dir()?, env.as_deref()).await?)
}
