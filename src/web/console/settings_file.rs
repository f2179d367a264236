//! The configuration file behind the console's settings page and
//! `PUT /api/v1/settings`: reading it (its text and what it configures),
//! which form/API field shows which dotted key, the one save both make
//! (one writer at a time; the edit applied in place with `toml_edit`,
//! checked with `Config::parse`, written atomically), reading a listen
//! address field, and whether the saved file moves the console away from
//! the listener an admin is using. No HTTP, no pages; must not change the
//! running configuration nor touch any other file.

use std::net::SocketAddr;

use crate::config::{apply_edit, differences, parse_listen_setting, write_atomic, Config, SettingsEdit, SmtpTls};
use crate::web::SettingsContext;

/// One writer of the configuration file at a time.
static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The form field showing a dotted config key.
pub(in crate::web) fn form_field(dotted: &str) -> Option<&'static str> {
    Some(match dotted {
        "media.codecs" => "codecs",
        "rtp.port_min" => "rtp_port_min",
        "rtp.port_max" => "rtp_port_max",
        "smtp.host" => "smtp_host",
        "smtp.port" => "smtp_port",
        "smtp.tls" => "smtp_tls",
        "smtp.from" => "smtp_from",
        "smtp.username" => "smtp_username",
        "smtp.password" => "smtp_password",
        "site.timezone" => "timezone",
        "sip.listen" => "sip_listen",
        "sip.tls_listen" => "sip_tls_listen",
        "http.listen" => "http_listen",
        "http.tls_listen" => "http_tls_listen",
        _ => return None,
    })
}

/// The file's text ("" when it does not exist yet) and what it configures.
pub(in crate::web) struct Saved {
    pub text: String,
    pub exists: bool,
    pub config: Result<Config, String>,
}

pub(in crate::web) fn read_saved(ctx: &SettingsContext) -> Saved {
    let path = &ctx.source.path;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let config = Config::parse(&text, &path.display().to_string()).map_err(|e| e.to_string());
            Saved { text, exists: true, config }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved { text: String::new(), exists: false, config: Ok(Config::default()) },
        Err(e) => Saved { text: String::new(), exists: false, config: Err(format!("{}: cannot read: {e}", path.display())) },
    }
}

/// A saved edit: the file's label, the settings that differ from before
/// (dotted key, before, after; the SMTP password only as set / not set),
/// and whether the file changed at all.
pub(in crate::web) struct SettingsSaved {
    pub label: String,
    pub changes: Vec<(&'static str, String, String)>,
    pub changed: bool,
}

impl SettingsSaved {
    /// The audit log's detail (no secret).
    pub(in crate::web) fn detail(&self) -> String {
        let d = self.changes.iter().map(|(k, a, b)| format!("{k}: {a} → {b}")).collect::<Vec<_>>().join("; ");
        if d.is_empty() { "rewritten".into() } else { d }
    }
}

/// Why an edit was not saved.
pub(in crate::web) enum SettingsRefused {
    /// A setting of the form (and the API): its field name and why.
    Field { field: &'static str, message: String },
    /// Elsewhere in the file (`file:line: key: why`).
    File(String),
    /// The file could not be written.
    Write(String),
}

/// Edits the configuration file in place (the page's and the API's save):
/// under the one-writer lock, `edit` gets the values the file has now
/// (the running ones where it has none) and returns what it should say;
/// the result is checked with `Config::parse` (errors at their field),
/// written atomically with comments kept, and applies at the next start.
pub(in crate::web) async fn save_settings(ctx: &SettingsContext, edit: impl FnOnce(SettingsEdit) -> SettingsEdit) -> Result<SettingsSaved, SettingsRefused> {
    let _w = WRITES.lock().await;
    let saved = read_saved(ctx);
    let label = ctx.source.path.display().to_string();
    let before = saved.config.as_ref().unwrap_or(&ctx.running);
    let edit = edit(SettingsEdit::from_config(before));
    let (text, new) = apply_edit(&saved.text, &edit, &label).map_err(|err| match form_field(&err.field) {
        Some(field) => SettingsRefused::Field { field, message: err.message },
        None => SettingsRefused::File(format!("{label}:{}: {}: {}", err.line, err.field, err.message)),
    })?;
    if text == saved.text {
        return Ok(SettingsSaved { label, changes: Vec::new(), changed: false });
    }
    let path = ctx.source.path.clone();
    match tokio::task::spawn_blocking(move || write_atomic(&path, &text)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(SettingsRefused::Write(format!("cannot write {label}: {err}"))),
        Err(err) => return Err(SettingsRefused::Write(err.to_string())),
    }
    Ok(SettingsSaved { changes: differences(before, &new), label, changed: true })
}

/// A listen address field (`sip_listen`, ...): `ADDR:PORT` with a port
/// from 1 to 65535; `""` is off for the optional (TLS) ones.
pub(in crate::web) fn listen_field(field: &'static str, text: &str) -> Result<Option<SocketAddr>, SettingsRefused> {
    parse_listen_setting(text, field.ends_with("tls_listen")).map_err(|message| SettingsRefused::Field { field, message })
}

/// When the saved configuration moves the console listener a request came
/// through (`https`: the appliance's own HTTPS one) and the command line
/// does not pin it: what to tell the admin before they restart.
pub(in crate::web) fn console_move(ctx: &SettingsContext, saved: &Config, https: bool) -> Option<String> {
    let (key, now, next) = if https {
        ("http.tls_listen", ctx.running.http.tls_listen, saved.http.tls_listen)
    } else {
        ("http.listen", Some(ctx.running.http.listen), Some(saved.http.listen))
    };
    if now == next || ctx.source.overrides.iter().any(|o| o == key) {
        return None;
    }
    let here = now.map(|a| a.to_string()).unwrap_or_default();
    Some(match next {
        None => format!("You are using the console over HTTPS ({here}): after the restart HTTPS is off; reconnect at {}.", saved.http.console_base()),
        Some(a) => {
            let base = if https { saved.http.console_base_tls().unwrap_or_default() } else { saved.http.console_base() };
            format!("You are using the console through {key} ({here}): after the restart it listens on {a} instead; reconnect at {base}.")
        }
    })
}

/// The SMTP security word: `none`, `starttls` or `tls`.
pub(in crate::web) fn smtp_tls(word: &str) -> Option<SmtpTls> {
    match word {
        "none" => Some(SmtpTls::None),
        "starttls" => Some(SmtpTls::Starttls),
        "tls" => Some(SmtpTls::Tls),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_tls_words() {
        assert_eq!((form_field("rtp.port_max"), form_field("sip.realm")), (Some("rtp_port_max"), None));
        assert_eq!(form_field("http.tls_listen"), Some("http_tls_listen"));
        assert_eq!((smtp_tls("starttls"), smtp_tls("ssl")), (Some(SmtpTls::Starttls), None));
        assert!(matches!(listen_field("sip_listen", "127.0.0.1:0"), Err(SettingsRefused::Field { field: "sip_listen", .. })));
        assert!(matches!(listen_field("sip_tls_listen", " "), Ok(None)));
        assert!(matches!(listen_field("http_listen", ""), Err(SettingsRefused::Field { field: "http_listen", .. })));
    }

    #[test]
    fn a_moved_console_listener_is_told_unless_the_command_line_pins_it() {
        let running = Config::parse("[http]\nlisten = \"127.0.0.1:8080\"\ntls_listen = \"127.0.0.1:8443\"\n", "t").unwrap();
        let source = crate::config::ConfigSource::locate(None, std::path::Path::new("/nonexistent"));
        let mut ctx = SettingsContext { running: running.clone(), source, data_dir: "/nonexistent".into() };
        assert_eq!(console_move(&ctx, &running, false), None);
        let moved = Config::parse("[http]\nlisten = \"127.0.0.1:9090\"\ntls_listen = \"\"\n", "t").unwrap();
        let w = console_move(&ctx, &moved, false).unwrap();
        assert!(w.contains("http.listen (127.0.0.1:8080)") && w.contains("listens on 127.0.0.1:9090") && w.contains("http://127.0.0.1:9090"), "{w}");
        let w = console_move(&ctx, &moved, true).unwrap();
        assert!(w.contains("HTTPS is off") && w.contains("http://127.0.0.1:9090"), "{w}");
        ctx.source.overrides.push("http.listen".into());
        assert_eq!(console_move(&ctx, &moved, false), None, "--http keeps the console where it is");
    }
}
