//! Handlers for `mailbox add|list|rm|greeting|pin` and `voicemail list`.
//! Validates what an admin types (numbers, PIN, address, greeting file)
//! before it reaches the store; must not play or record audio (a greeting
//! file is only converted to the format the recorder writes).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use switchboard::config::Config;
use switchboard::dialplan::Civil;
use switchboard::admin::{check_mailbox, check_pin, MailboxInput};
use switchboard::store::InvalidField;

use super::admin::open;
use super::{MailboxCmd, VoicemailCmd};

/// A mailbox rule broken, as the command says it: the flag, then what is
/// wrong (the rules are `switchboard::admin`'s, shared with the console).
fn refused(e: &InvalidField) -> anyhow::Error {
    match e.field {
        "number" => anyhow::anyhow!("{}", e.message),
        "max_secs" => anyhow::anyhow!("--max-secs {}", e.message),
        field => anyhow::anyhow!("--{field} {}", e.message),
    }
}

/// Sample rate of stored greetings: what the call recorder writes, so a
/// greeting set here and one recorded by phone are the same kind of file.
const GREETING_RATE: u32 = 16_000;

fn voicemail_dir(config: &Config, data: &Path) -> PathBuf {
    let d = &config.voicemail.dir;
    if d.is_absolute() {
        d.clone()
    } else {
        data.join(d)
    }
}

/// Decodes `src` (any format and rate the decoder reads) and writes it as a
/// 16 kHz mono 16-bit WAV to `dst`.
fn convert_greeting(src: &Path, dst: &Path) -> Result<()> {
    let pcm = switchboard::media::decode::decode_file(src, GREETING_RATE)
        .map_err(|e| anyhow::Error::new(e).context("greeting not set"))?;
    let spec = hound::WavSpec { channels: 1, sample_rate: GREETING_RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let write = || -> Result<(), hound::Error> {
        let mut w = hound::WavWriter::create(dst, spec)?;
        for s in &pcm {
            w.write_sample(*s)?;
        }
        w.finalize()
    };
    write().with_context(|| format!("writing {}", dst.display()))
}

pub async fn mailbox(cmd: MailboxCmd, config: &Config, data: &Path) -> Result<()> {
    match cmd {
        MailboxCmd::Add { number, pin, name, email, group, members, max_secs } => {
            let input = MailboxInput { number: number.clone(), name, pin: pin.clone(), email, group, members, max_secs: max_secs.map(i64::from) };
            let mailbox = check_mailbox(&input, config.voicemail.max_message_secs).map_err(|errors| refused(&errors[0]))?;
            let store = open(data).await?;
            store.create_mailbox(&mailbox, &pin).await?;
            println!("mailbox {number} added; its owner listens with *97");
            Ok(())
        }
        MailboxCmd::List => {
            let store = open(data).await?;
            println!(
                "{:<8} {:<20} {:<9} {:>4} {:>4} {:>7}  {:<8} {:<28} MEMBERS",
                "NUMBER", "NAME", "KIND", "NEW", "OLD", "MAXSECS", "GREETING", "EMAIL"
            );
            for m in store.list_mailboxes().await? {
                let (new, old) = store.message_counts(&m.number).await?;
                println!(
                    "{:<8} {:<20} {:<9} {:>4} {:>4} {:>7}  {:<8} {:<28} {}",
                    m.number,
                    m.name,
                    m.kind.as_str(),
                    new,
                    old,
                    m.max_message_secs,
                    if m.greeting_path.is_some() { "recorded" } else { "default" },
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
        MailboxCmd::Greeting { number, file, clear } => {
            let store = open(data).await?;
            // Checked before converting: a typo in the number should not
            // leave a converted file behind.
            if store.mailbox(&number).await?.is_none() {
                bail!("mailbox {number} not found");
            }
            let Some(file) = file.filter(|_| !clear) else {
                store.set_greeting(&number, None).await?;
                println!("mailbox {number}: greeting cleared, callers hear the default");
                return Ok(());
            };
            // A fresh name each time, like greetings recorded by phone: the
            // store removes the old file only once the new one is in place.
            let dir = voicemail_dir(config, data).join(&number);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Stored absolute: the appliance may run from another directory
            // than this command.
            let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
            let dst = dir.join(format!("greeting-{}.wav", switchboard::store::unix_ms()));
            if let Err(e) = convert_greeting(&file, &dst) {
                let _ = std::fs::remove_file(&dst);
                return Err(e);
            }
            let path = dst.display().to_string();
            if let Err(e) = store.set_greeting(&number, Some(&path)).await {
                let _ = std::fs::remove_file(&dst);
                return Err(e.into());
            }
            println!("mailbox {number}: greeting set ({path})");
            Ok(())
        }
        MailboxCmd::Pin { number, pin } => {
            check_pin(&pin).map_err(|e| anyhow::anyhow!("PIN {}", e.message))?;
            open(data).await?.set_mailbox_pin(&number, &pin).await?;
            println!("mailbox {number}: PIN changed");
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
