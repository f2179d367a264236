//! The configuration file behind the console's settings page and
//! `PUT /api/v1/settings`: reading it (its text and what it configures),
//! which form/API field shows which dotted key, and the one save both make
//! (one writer at a time; the edit applied in place with `toml_edit`,
//! checked with `Config::parse`, written atomically). No HTTP, no pages;
//! must not change the running configuration nor touch any other file.

use crate::config::{apply_edit, differences, write_atomic, Config, SettingsEdit, SmtpTls};
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
        assert_eq!((smtp_tls("starttls"), smtp_tls("ssl")), (Some(SmtpTls::Starttls), None));
    }
}
