//! Handlers for `trunk add|set|list|rm`. The checks are `switchboard::admin`'s
//! (shared with the console and `/api/v1/trunks`); a field's error names its
//! flag. `trunk set` changes only the options given (the stored secret stays
//! unless a new one is given, best through `--secret-stdin`: other users can
//! read a command line in `ps`) and is audited as `cli`. Works on the
//! database directly: a running appliance's trunk supervisor sees the change
//! within seconds and re-registers when the line changed.

use std::io::BufRead;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use switchboard::admin::{TrunkChange, TrunkRefused};
use switchboard::config::Config;
use switchboard::store::InvalidField;

use super::admin::open;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TransportArg {
    Udp,
    Tcp,
}

#[derive(Debug, Subcommand)]
pub enum TrunkCmd {
    /// Add a trunk.
    Add {
        name: String,
        /// Carrier SIP server.
        #[arg(long, value_name = "HOST:PORT")]
        host: String,
        #[arg(long, value_enum, default_value = "udp")]
        transport: TransportArg,
        /// Register to the carrier (needs --user and --secret).
        #[arg(long, requires_all = ["user", "secret"])]
        register: bool,
        /// Username for registration and digest challenges.
        #[arg(long)]
        user: Option<String>,
        /// Password for registration and digest challenges.
        #[arg(long)]
        secret: Option<String>,
        /// Inbound number routed to an extension: DID or DID=EXTENSION
        /// (without =EXTENSION the extension with the same number).
        #[arg(long = "did", value_name = "NUM[=EXT]")]
        dids: Vec<String>,
        /// Use this trunk for outbound calls (the first trunk is the default).
        #[arg(long)]
        default: bool,
        /// Codecs this carrier may use, most preferred first, e.g. "PCMA,PCMU".
        /// Relayed offers toward it are held to them; a caller offering none
        /// of them is transcoded. Its own calls use them where the media
        /// engine answers (otherwise the callee's list applies). Without a
        /// list: any codec when relayed, [media] codecs in the engine.
        #[arg(long)]
        codecs: Option<String>,
    },
    /// Change a trunk; options not given keep their values (the secret
    /// too). Its DIDs stay: remove and add the trunk to change them.
    Set {
        name: String,
        /// Carrier SIP server.
        #[arg(long, value_name = "HOST:PORT")]
        host: Option<String>,
        #[arg(long, value_enum)]
        transport: Option<TransportArg>,
        /// Register to the carrier (needs a username and a secret).
        #[arg(long, conflicts_with = "no_register")]
        register: bool,
        /// Stop registering (the carrier's binding is removed).
        #[arg(long)]
        no_register: bool,
        /// Username for registration and digest challenges; "" or "none"
        /// removes the username and the secret.
        #[arg(long)]
        user: Option<String>,
        /// A new password (visible to other users in `ps`: prefer --secret-stdin).
        #[arg(long, conflicts_with = "secret_stdin")]
        secret: Option<String>,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Use this trunk for outbound calls.
        #[arg(long, conflicts_with = "no_default")]
        default: bool,
        /// No longer the default (the oldest trunk is used then).
        #[arg(long)]
        no_default: bool,
        /// Codecs this carrier may use, e.g. "PCMA,PCMU"; "" or "none"
        /// removes the list (see `trunk add --codecs`).
        #[arg(long)]
        codecs: Option<String>,
    },
    /// List trunks with their DIDs and health.
    List,
    /// Remove a trunk.
    Rm { name: String },
}

/// The command-line flag of a trunk field.
fn trunk_flag(field: &str) -> &str {
    match field {
        "username" => "user",
        "dids" => "did",
        other => other,
    }
}

/// Field errors, one per line, each with its flag.
fn flag_errors(errors: &[InvalidField]) -> anyhow::Error {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| if e.field == "name" || e.field.is_empty() { e.message.clone() } else { format!("--{}: {}", trunk_flag(e.field), e.message) })
        .collect();
    anyhow::anyhow!("{}", lines.join("\n"))
}

fn transport_word(t: TransportArg) -> &'static str {
    match t {
        TransportArg::Udp => "udp",
        TransportArg::Tcp => "tcp",
    }
}

/// The secret on the first line of standard input.
fn read_secret() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the secret from standard input")?;
    let secret = line.trim_end_matches(['\r', '\n']).to_string();
    if secret.trim().is_empty() {
        bail!("--secret-stdin: no secret on standard input (pipe it in: echo 'secret' | switchboard trunk set ...)");
    }
    Ok(secret)
}

/// `--flag` / `--no-flag` as a change: `None` when neither is given.
fn switch(on: bool, off: bool) -> Option<bool> {
    (on || off).then_some(on)
}

pub async fn trunk(cmd: TrunkCmd, config: &Config, data: &Path) -> Result<()> {
    match cmd {
        TrunkCmd::Add { name, host, transport, register, user, secret, dids, default, codecs } => {
            // The same checks as the console's trunk page.
            let input = switchboard::admin::TrunkInput {
                name: name.clone(),
                host,
                transport: transport_word(transport).into(),
                register,
                username: user,
                secret,
                dids,
                is_default: default,
                codecs,
            };
            let checked = switchboard::admin::check_trunk(&input).map_err(|errors| flag_errors(&errors))?;
            switchboard::admin::add_trunk(&open(data).await?, &checked).await?;
            println!("trunk {name} added");
            Ok(())
        }
        TrunkCmd::Set { name, host, transport, register, no_register, user, secret, secret_stdin, default, no_default, codecs } => {
            let secret = if secret_stdin { Some(read_secret()?) } else { secret };
            let change = TrunkChange {
                host,
                transport: transport.map(|t| transport_word(t).to_string()),
                register: switch(register, no_register),
                username: user,
                secret,
                is_default: switch(default, no_default),
                codecs,
            };
            let store = open(data).await?;
            let done = match switchboard::admin::update_trunk(&store, &name, change).await {
                Ok(done) => done,
                Err(TrunkRefused::Invalid(errors)) => return Err(flag_errors(&errors)),
                Err(TrunkRefused::Store(e)) => return Err(e.into()),
            };
            if done.summary.is_empty() {
                println!("trunk {name}: nothing to change");
            } else {
                store.audit("cli", "trunk.update", &name, &done.summary, "").await?;
                println!("trunk {name} updated: {}", done.summary);
            }
            Ok(())
        }
        TrunkCmd::List => {
            let store = open(data).await?;
            println!("{:<12} {:<22} {:<5} {:<8} {:<10} {:<12} {:<10} {:<12} DIDS", "NAME", "HOST", "TRANS", "DEFAULT", "OPTIONS", "REGISTERED", "USER", "CODECS");
            for t in store.list_trunks().await? {
                let status = store.trunk_status(&t.name).await?;
                let yes_no = |v: Option<bool>| match v {
                    Some(true) => "up",
                    Some(false) => "down",
                    None => "unknown",
                };
                let options = if config.trunks.options_interval_secs == 0 {
                    "off"
                } else {
                    yes_no(status.as_ref().and_then(|s| s.options_ok))
                };
                let registered = if t.register { yes_no(status.as_ref().and_then(|s| s.registered)) } else { "n/a" };
                let dids: Vec<String> = store
                    .dids(&t.name)
                    .await?
                    .into_iter()
                    .map(|d| if d.did == d.extension { d.did } else { format!("{}={}", d.did, d.extension) })
                    .collect();
                println!(
                    "{:<12} {:<22} {:<5} {:<8} {:<10} {:<12} {:<10} {:<12} {}",
                    t.name,
                    t.host,
                    t.transport,
                    if t.is_default { "yes" } else { "" },
                    options,
                    registered,
                    t.username.as_deref().unwrap_or("-"),
                    t.codecs.as_deref().unwrap_or("default"),
                    dids.join(",")
                );
            }
            Ok(())
        }
        TrunkCmd::Rm { name } => {
            switchboard::admin::delete_trunk(&open(data).await?, &name).await?;
            println!("trunk {name} removed");
            Ok(())
        }
    }
}
