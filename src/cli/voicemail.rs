//! Handlers for `mailbox add|list|rm` and `voicemail list`. Validates what
//! an admin types (numbers, PIN, address) before it reaches the store; must
//! not play or record audio.

use std::path::Path;

use anyhow::{bail, Context, Result};
use switchboard::config::Config;
use switchboard::dialplan::Civil;
use switchboard::store::{Mailbox, MailboxKind};

use super::admin::{check_number, open};
use super::{MailboxCmd, VoicemailCmd};

/// PINs are typed on a keypad: digits only. Four is the usual floor for a
/// voicemail PIN; ten keeps it typeable.
fn check_pin(pin: &str) -> Result<()> {
    if !(4..=10).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--pin must be 4 to 10 digits");
    }
    Ok(())
}

fn check_mailbox_number(number: &str) -> Result<()> {
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        bail!("mailbox number must be 1 to 20 digits, got '{number}'");
    }
    Ok(())
}

pub async fn mailbox(cmd: MailboxCmd, config: &Config, data: &Path) -> Result<()> {
    match cmd {
        MailboxCmd::Add { number, pin, name, email, group, members, max_secs } => {
            check_mailbox_number(&number)?;
            check_pin(&pin)?;
            for m in &members {
                check_number(m).with_context(|| format!("--members '{m}'"))?;
            }
            if let Some(e) = &email {
                e.parse::<lettre::Address>().map_err(|err| anyhow::anyhow!("--email '{e}': {err}"))?;
            }
            let max_secs = max_secs.unwrap_or(config.voicemail.max_message_secs);
            if !(1..=3600).contains(&max_secs) {
                bail!("--max-secs must be 1 to 3600");
            }
            let store = open(data).await?;
            let mailbox = Mailbox {
                number: number.clone(),
                name,
                email,
                greeting_path: None,
                max_message_secs: i64::from(max_secs),
                kind: if group { MailboxKind::Group } else { MailboxKind::Extension },
                members,
                created_at: 0,
            };
            store.create_mailbox(&mailbox, &pin).await?;
            println!("mailbox {number} added; its owner listens with *97");
            Ok(())
        }
        MailboxCmd::List => {
            let store = open(data).await?;
            println!("{:<8} {:<20} {:<9} {:>4} {:>4} {:>7}  {:<28} MEMBERS", "NUMBER", "NAME", "KIND", "NEW", "OLD", "MAXSECS", "EMAIL");
            for m in store.list_mailboxes().await? {
                let (new, old) = store.message_counts(&m.number).await?;
                println!(
                    "{:<8} {:<20} {:<9} {:>4} {:>4} {:>7}  {:<28} {}",
                    m.number,
                    m.name,
                    m.kind.as_str(),
                    new,
                    old,
                    m.max_message_secs,
                    m.email.as_deref().unwrap_or("-"),
                    if m.members.is_empty() { "-".to_string() } else { m.members.join(",") }
                );
            }
            Ok(())
        }
        MailboxCmd::Rm { number } => {
            open(data).await?.delete_mailbox(&number).await?;
            println!("mailbox {number} removed with its messages");
            Ok(())
        }
    }
}

pub async fn messages(cmd: VoicemailCmd, data: &Path) -> Result<()> {
    let VoicemailCmd::List { mailbox } = cmd;
    let store = open(data).await?;
    let list = match &mailbox {
        Some(number) => {
            if store.mailbox(number).await?.is_none() {
                bail!("mailbox {number} not found");
            }
            // Listening order is new-first; a listing reads best newest-first.
            let mut list = store.messages(number).await?;
            list.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
            list
        }
        None => store.all_messages(10_000).await?,
    };
    println!("{:<6} {:<8} {:<24} {:<20} {:>8} HEARD", "ID", "MAILBOX", "CALLER", "TIME (UTC)", "SECONDS");
    for m in list {
        let t = Civil::from_unix(m.created_at, 0);
        let caller = if m.caller_name.is_empty() { m.caller.clone() } else { format!("{} <{}>", m.caller_name, m.caller) };
        println!(
            "{:<6} {:<8} {:<24} {:<20} {:>8.1} {}",
            m.id,
            m.mailbox,
            caller,
            format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second),
            m.duration_ms as f64 / 1000.0,
            if m.heard { "yes" } else { "no" }
        );
    }
    Ok(())
}
