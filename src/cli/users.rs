//! Handlers for `user add|list|passwd|rm` (console users) and `setup-link`
//! (a new one-time link for the first admin). Passwords come from standard
//! input, never from the command line (other users could read it in `ps`).

use std::io::BufRead;
use std::path::Path;

use anyhow::{bail, Context, Result};
use switchboard::config::Config;
use switchboard::store::Role;

use super::admin::open;
use super::UserCmd;

use switchboard::store::SETUP_LINK_SECS;

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        bail!("no password on standard input (pipe it in: echo 'long passphrase' | switchboard user ...)");
    }
    Ok(pw)
}

pub async fn user(cmd: UserCmd, data: &Path) -> Result<()> {
    let store = open(data).await?;
    match cmd {
        UserCmd::Add { username, role, agent, name } => {
            let role = Role::parse(&role)?;
            if role == Role::Agent && agent.is_none() {
                bail!("an agent user needs --agent <ACD agent id> (the agent it works as)");
            }
            let pw = read_password()?;
            let u = store.create_user(&username, name.as_deref().unwrap_or(""), &pw, role, agent.as_deref()).await?;
            store.audit("cli", "user.create", &u.username, &format!("role {}", role.as_str()), "").await?;
            println!("user {} added ({})", u.username, role.as_str());
        }
        UserCmd::List => {
            println!("{:<24} {:<11} {:<12} {:<9} NAME", "USERNAME", "ROLE", "AGENT", "STATE");
            for u in store.list_users().await? {
                let state = if u.disabled { "disabled" } else { "enabled" };
                println!("{:<24} {:<11} {:<12} {:<9} {}", u.username, u.role.as_str(), u.agent_id.as_deref().unwrap_or("-"), state, u.display_name);
            }
        }
        UserCmd::Passwd { username } => {
            let name = switchboard::store::normalize_username(&username)?;
            let Some(u) = store.list_users().await?.into_iter().find(|u| u.username == name) else {
                bail!("no user {name}");
            };
            let pw = read_password()?;
            store.set_password(u.id, &pw).await?;
            store.audit("cli", "user.password", &u.username, "password set; sessions ended", "").await?;
            println!("password of {} set; their sessions are ended", u.username);
        }
        UserCmd::Rm { username } => {
            let name = switchboard::store::normalize_username(&username)?;
            let Some(u) = store.list_users().await?.into_iter().find(|u| u.username == name) else {
                bail!("no user {name}");
            };
            store.remove_user(u.id).await?;
            store.audit("cli", "user.delete", &u.username, "", "").await?;
            println!("user {} removed", u.username);
        }
    }
    Ok(())
}

pub async fn setup_link(config: &Config, data: &Path) -> Result<()> {
    let store = open(data).await?;
    match store.create_setup_token(SETUP_LINK_SECS).await? {
        Some(token) => {
            println!("One-time console setup link (valid 24 hours; any older link stops working):");
            println!("{}/setup/{token}", config.http.console_base());
            Ok(())
        }
        None => bail!("an administrator exists already; log in, or reset a password with `switchboard user passwd <name>`"),
    }
}
