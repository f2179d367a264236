//! Handlers for the admin subcommands. They work on the database directly, so
//! they are usable whether or not the appliance is running; a running
//! appliance reads extensions and trunks per request and sees changes at once.

use std::path::Path;

use anyhow::{bail, Context, Result};
use switchboard::config::{Config, ConfigSource};
use switchboard::store::{Extension, Store};

use super::{Cli, Command, CustomerCmd, ExtensionCmd};

pub async fn dispatch(cli: Cli) -> Result<()> {
    // `--config PATH`, else `<data>/switchboard.toml` when it exists (the
    // file the console's settings page writes), else the embedded defaults.
    let mut source = ConfigSource::locate(cli.config.as_deref(), &cli.data);
    // A restore staged by the console replaces the database, folders and
    // maybe the config file at start, before anything reads them.
    let restored = match cli.command {
        Command::Run(_) => switchboard::backup::apply_pending(&cli.data, &source).map_err(|e| anyhow::anyhow!(e))?,
        _ => None,
    };
    if let Some(r) = &restored {
        println!("{}", r.describe());
    }
    let config = source.load()?;
    match cli.command {
        Command::CheckConfig => {
            let name = source.label();
            load_dialplan(&config)?;
            println!("{name}: ok");
            println!("{}: ok", config.dialplan.dir.display());
            Ok(())
        }
        Command::Dialplan(super::DialplanCmd::Simulate { did, caller, trunk, digits, at, lookup, http, http_error }) => {
            use switchboard::dialplan::simulate::{parse_kv_list, SimAnswers};
            let plan = load_dialplan(&config)?;
            let now = match at {
                Some(t) => switchboard::dialplan::parse_rfc3339(&t).map_err(|e| anyhow::anyhow!("--at '{t}': {e}"))?,
                None => switchboard::store::unix_time(),
            };
            let inputs: Vec<&str> = if digits.is_empty() { Vec::new() } else { digits.split(',').collect() };
            let call = switchboard::dialplan::CallInfo { did, caller, trunk, now };
            let mut answers = SimAnswers::default();
            if let Some(l) = lookup {
                answers.lookup = Some(parse_kv_list(&l).map_err(|e| anyhow::anyhow!("--lookup: {e}"))?);
            }
            if let Some(h) = http {
                answers.http = Ok(parse_kv_list(&h).map_err(|e| anyhow::anyhow!("--http: {e}"))?);
            }
            if let Some(e) = http_error {
                answers.http = Err(e);
            }
            for line in switchboard::dialplan::simulate_with(&plan, call, &inputs, &answers) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Run(args) => {
            let mut config = config;
            if let Some(sip) = args.sip {
                config.sip.listen = sip;
                source.overrides.push("sip.listen".into());
            }
            if let Some(http) = args.http {
                config.http.listen = http;
                source.overrides.push("http.listen".into());
            }
            if let Some(tls) = args.sip_tls {
                config.sip.tls_listen = tls.0;
                source.overrides.push("sip.tls_listen".into());
            }
            if let Some(tls) = args.https {
                config.http.tls_listen = tls.0;
                source.overrides.push("http.tls_listen".into());
            }
            if let Some((lo, hi)) = args.rtp_ports {
                config.rtp.port_min = lo;
                config.rtp.port_max = hi;
                source.overrides.extend(["rtp.port_min".into(), "rtp.port_max".into()]);
            }
            if let Err((field, message)) = config.validate() {
                bail!("{field}: {message}");
            }
            switchboard::app::run(config, &cli.data, source, restored).await
        }
        Command::Extension(cmd) => extension(cmd, &config, &cli.data).await,
        Command::Trunk(cmd) => super::trunks::trunk(cmd, &config, &cli.data).await,
        Command::Mailbox(cmd) => super::voicemail::mailbox(cmd, &config, &cli.data).await,
        Command::Voicemail(cmd) => super::voicemail::messages(cmd, &cli.data).await,
        Command::Customer(cmd) => customer(cmd, &cli.data).await,
        Command::Queue(cmd) => super::acd::queue(cmd, &cli.data).await,
        Command::Agent(cmd) => super::acd::agent(cmd, &cli.data).await,
        Command::Callbacks { queue, all, limit } => super::acd::callbacks(queue.as_deref(), all, limit, &cli.data).await,
        Command::Apikey(cmd) => super::apikey::apikey(cmd, &cli.data).await,
        Command::User(cmd) => super::users::user(cmd, &cli.data).await,
        Command::SetupLink => super::users::setup_link(&config, &cli.data).await,
        Command::Calls { limit } => calls(&cli.data, limit).await,
        Command::Health { ports } => super::health::health(&config, ports).await,
        Command::Dtmf { file } => dtmf(&file),
        Command::Recordings { limit } => recordings(&cli.data, limit).await,
        Command::Update(cmd) => super::update::update(cmd, &cli.data).await,
    }
}

/// Loads and validates every dialplan file; all errors, one per line.
fn load_dialplan(config: &Config) -> Result<switchboard::dialplan::Dialplan> {
    switchboard::dialplan::load_dir(&config.dialplan.dir).map_err(|errors| anyhow::anyhow!("{}", errors.join("\n")))
}

pub(super) async fn open(data: &Path) -> Result<Store> {
    Store::open(data).await.with_context(|| format!("opening data directory {}", data.display()))
}

/// A codec list must parse and name only codecs the media engine implements.
fn check_codecs(list: &str) -> Result<()> {
    switchboard::store::check_codec_list(list).map_err(|e| anyhow::anyhow!("--{e}"))
}

async fn extension(cmd: ExtensionCmd, config: &Config, data: &Path) -> Result<()> {
    match cmd {
        ExtensionCmd::Add { number, secret, name, codecs, dial_class } => {
            if let Some(c) = &codecs {
                check_codecs(c)?;
            }
            let class = switchboard::admin::check_dial_class(&dial_class).map_err(|e| anyhow::anyhow!("--class: {e}"))?;
            let mut ext = Extension::with_secret(&number, &name, &config.sip.realm, &secret, codecs)?;
            ext.dial_class = class.as_str().to_string();
            let store = open(data).await?;
            store.add_extension(&ext).await?;
            println!("extension {number} added; register a phone as {number}@<this host> with its secret");
            Ok(())
        }
        ExtensionCmd::Class { number, class } => {
            let class = switchboard::admin::check_dial_class(&class).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open(data).await?;
            store.set_extension_dial_class(&number, class).await?;
            store.audit("cli", "extension.update", &number, &format!("class {class}"), "").await?;
            println!("extension {number} may now dial {class} numbers");
            Ok(())
        }
        ExtensionCmd::List => {
            let store = open(data).await?;
            let now = switchboard::store::unix_time();
            println!("{:<8} {:<24} {:<13} REGISTERED CONTACTS", "NUMBER", "NAME", "CLASS");
            for e in store.list_extensions().await? {
                let bindings = store.bindings(&e.number, now).await?;
                let contacts: Vec<String> =
                    bindings.iter().map(|b| format!("{} (via {}, {}s left)", b.contact, b.source, b.expires_at - now)).collect();
                let contacts = if contacts.is_empty() { "-".to_string() } else { contacts.join(", ") };
                println!("{:<8} {:<24} {:<13} {}", e.number, e.name, e.dial_class, contacts);
            }
            Ok(())
        }
        ExtensionCmd::Rm { number } => {
            open(data).await?.remove_extension(&number).await?;
            println!("extension {number} removed");
            Ok(())
        }
    }
}

async fn customer(cmd: CustomerCmd, data: &Path) -> Result<()> {
    match cmd {
        CustomerCmd::Add { name, account, phones, tags, notes, fields } => {
            let mut data_fields = std::collections::BTreeMap::new();
            for f in &fields {
                let (k, v) = f.split_once('=').ok_or_else(|| anyhow::anyhow!("--field '{f}': expected KEY=VALUE"))?;
                data_fields.insert(k.trim().to_string(), v.to_string());
            }
            let c = switchboard::admin::CustomerInput {
                name: Some(name),
                account: Some(account),
                phones: Some(phones),
                tags: Some(tags),
                notes: Some(notes),
                fields: Some(data_fields),
            };
            let id = switchboard::admin::create_customer(&open(data).await?, c).await?.id;
            println!("customer {id} added");
            Ok(())
        }
        CustomerCmd::List => {
            let store = open(data).await?;
            println!("{:<5} {:<24} {:<10} {:<32} {:<12} FIELDS", "ID", "NAME", "ACCOUNT", "PHONES", "TAGS");
            for c in store.list_customers().await? {
                let fields: Vec<String> = c.data.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!(
                    "{:<5} {:<24} {:<10} {:<32} {:<12} {}",
                    c.id,
                    c.name,
                    c.account.as_deref().unwrap_or("-"),
                    if c.phones.is_empty() { "-".to_string() } else { c.phones.join(";") },
                    c.tags,
                    fields.join(",")
                );
            }
            Ok(())
        }
        CustomerCmd::Import { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            // The same path as `POST /api/v1/customers/import`.
            let report = switchboard::admin::import_customers(&open(data).await?, &text).await?;
            for e in &report.errors {
                eprintln!("{}:{}: {}", file.display(), e.line, e.error);
            }
            println!("{} customers added, {} updated, {} rows with errors", report.imported, report.updated, report.rejected);
            if report.nothing_imported() {
                bail!("nothing imported from {}", file.display());
            }
            Ok(())
        }
        CustomerCmd::Rm { id } => {
            switchboard::admin::delete_customer(&open(data).await?, id).await?;
            println!("customer {id} removed");
            Ok(())
        }
    }
}

async fn calls(data: &Path, limit: i64) -> Result<()> {
    let store = open(data).await?;
    println!(
        "{:<6} {:<9} {:<12} {:<14} {:<6} {:<7} {:>8}  {:<30} {:<28} {}",
        "ID", "DIRECTION", "FROM", "TO", "STATUS", "ENDED", "SECONDS", "QUALITY A (pkts/lost/jit/mos)", "QUALITY B", "IVR PATH"
    );
    for r in store.list_call_records(limit.clamp(1, 10_000)).await? {
        let secs = match (r.answered_at, r.ended_at) {
            (Some(a), Some(e)) => format!("{:.1}", (e - a) as f64 / 1000.0),
            _ => "-".into(),
        };
        let q = |p: Option<i64>, l: Option<i64>, j: Option<f64>, m: Option<f64>| match p {
            Some(p) => format!(
                "{p}/{}/{}/{}",
                l.unwrap_or(0),
                j.map(|j| format!("{j:.1}ms")).unwrap_or_else(|| "-".into()),
                m.map(|m| format!("{m:.2}")).unwrap_or_else(|| "-".into())
            ),
            None => "-".into(),
        };
        println!(
            "{:<6} {:<9} {:<12} {:<14} {:<6} {:<7} {:>8}  {:<30} {:<28} {}",
            r.id,
            r.direction,
            r.caller,
            r.callee,
            r.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            r.hangup_by.as_deref().unwrap_or("-"),
            secs,
            q(r.a_packets, r.a_lost, r.a_jitter_ms, r.a_mos),
            q(r.b_packets, r.b_lost, r.b_jitter_ms, r.b_mos),
            r.ivr_path.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

fn dtmf(file: &Path) -> Result<()> {
    use switchboard::media::{decode::decode_file, dtmf::detect_pcm};
    // The detector works at 8 kHz; decode resamples (with anti-aliasing).
    let pcm = decode_file(file, 8000).with_context(|| format!("decoding {}", file.display()))?;
    for (secs, digit) in detect_pcm(&pcm, 8000)? {
        println!("{secs:.3} {digit}");
    }
    Ok(())
}

async fn recordings(data: &Path, limit: i64) -> Result<()> {
    let store = open(data).await?;
    println!("{:<5} {:<9} {:<6} {:<7} {:>8} {:>8}  {:<24} PATH", "ID", "STATUS", "FORMAT", "LAYOUT", "SECONDS", "PAUSED", "CALL-ID");
    for r in store.list_recordings(limit.clamp(1, 10_000)).await? {
        let secs = |ms: Option<i64>| ms.map(|m| format!("{:.1}", m as f64 / 1000.0)).unwrap_or_else(|| "-".into());
        println!(
            "{:<5} {:<9} {:<6} {:<7} {:>8} {:>8}  {:<24} {}",
            r.id,
            r.status,
            r.format,
            r.layout,
            secs(r.duration_ms),
            secs(Some(r.paused_ms)),
            r.call_id,
            r.path
        );
    }
    Ok(())
}
