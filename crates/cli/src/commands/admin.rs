//! `switchboard admin add|passwd|list|remove`: admin users with passwords, for teams and remote
//! access (the local user needs none: the CLI and `switchboard ui` use the credential in the
//! data directory). Works on the database directly, so it works whether or not the gateway
//! runs; passwords are prompted for (no echo) or read from stdin, never taken from argv.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use switchboard_auth::{SecretString, Users};
use switchboard_store::Role;

use crate::args::{AdminArgs, AdminCommand};
use crate::commands::{open_admin_store, print_out, table};

pub(crate) async fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let (_, admin_store) = open_admin_store(args.config).await?;
    let users = Users::new(admin_store);
    match args.command {
        AdminCommand::Add { name, member } => {
            let password = read_secret(&format!("Password for {name}: "), true)?;
            let role = if member { Role::Member } else { Role::Admin };
            let user = users.add(&name, role, Some(&password), Utc::now()).await?;
            eprintln!(
                "Added {} ({}). They sign in at the dashboard's /ui/ with this password.",
                user.name,
                if member { "member" } else { "admin" }
            );
        }
        AdminCommand::Passwd { name } => {
            let password = read_secret(&format!("New password for {name}: "), true)?;
            users.passwd(&name, &password, Utc::now()).await?;
            eprintln!("Password of {name} changed; their sessions were signed out.");
        }
        AdminCommand::List => {
            let mut rows = vec![vec![
                "NAME".to_owned(),
                "ROLE".to_owned(),
                "PASSWORD".to_owned(),
                "CREATED".to_owned(),
            ]];
            for u in users.list().await? {
                rows.push(vec![
                    u.name,
                    match u.role {
                        Role::Admin => "admin",
                        Role::Member => "member",
                    }
                    .to_owned(),
                    if u.password_hash.is_some() {
                        "set"
                    } else {
                        "none (local credential)"
                    }
                    .to_owned(),
                    u.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                ]);
            }
            print_out(&table(&rows, ""))?;
        }
        AdminCommand::Remove { name } => {
            if name.eq_ignore_ascii_case(switchboard_auth::LOCAL_ADMIN) {
                anyhow::bail!(
                    "the local admin is this machine's own (the credential file): it cannot be removed"
                );
            }
            users.remove(&name).await?;
            eprintln!("Removed {name} and signed out their sessions.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A password or secret value: prompted for without echo on a terminal (twice with `confirm`),
/// else one line of stdin.
pub(crate) fn read_secret(prompt: &str, confirm: bool) -> anyhow::Result<SecretString> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let value = line.trim_end_matches(['\n', '\r']).to_owned();
        anyhow::ensure!(!value.is_empty(), "no password on stdin");
        return Ok(SecretString::new(value));
    }
    let first = rpassword::prompt_password(prompt).context("cannot read the password")?;
    if confirm {
        let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        anyhow::ensure!(first == again, "the two passwords differ; nothing changed");
    }
    Ok(SecretString::new(first))
}
