//! Where the configuration file is, and changing it in place: the
//! console's settings page edits a few keys of the TOML document (comments,
//! key order and every other key kept, through `toml_edit`), the result is
//! validated with [`Config::parse`] before anything is written, and the
//! file is replaced atomically (temporary file, fsync, rename). Owns the
//! file and its text only: never opens sockets or the database, and never
//! logs a secret.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use super::{Config, ConfigError, SmtpTls};

/// The file name the appliance looks for in its data directory when no
/// `--config` is given (and the console creates there).
pub const DEFAULT_FILE: &str = "switchboard.toml";

/// Where the running configuration comes from and where the console writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// `--config PATH`, else `<data>/switchboard.toml`.
    pub path: PathBuf,
    /// Given with `--config` (then it must exist).
    pub explicit: bool,
    /// Settings that `run` options override (`sip.listen`, `http.listen`,
    /// `rtp.port_min`, `rtp.port_max`): the file's values do not apply
    /// while the option is given.
    pub overrides: Vec<String>,
}

impl ConfigSource {
    /// The file for `--config` (`explicit`) and data directory `data`.
    pub fn locate(explicit: Option<&Path>, data: &Path) -> ConfigSource {
        match explicit {
            Some(p) => ConfigSource { path: p.to_path_buf(), explicit: true, overrides: Vec::new() },
            None => ConfigSource { path: data.join(DEFAULT_FILE), explicit: false, overrides: Vec::new() },
        }
    }

    /// The file to load: the `--config` one (an error when missing), the
    /// data directory's when it exists, else none (embedded defaults).
    pub fn file_to_load(&self) -> Option<&Path> {
        (self.explicit || self.path.is_file()).then_some(self.path.as_path())
    }

    /// Loads the configuration this source names.
    pub fn load(&self) -> Result<Config, ConfigError> {
        Config::load(self.file_to_load())
    }

    /// How `check-config` and the console name it.
    pub fn label(&self) -> String {
        match self.file_to_load() {
            Some(p) => p.display().to_string(),
            None => "(defaults)".into(),
        }
    }
}

/// What to do with a secret the page never shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Keep,
    Set(String),
    Clear,
}

/// The settings the console edits. Every value is what the file should say
/// afterwards; keys whose value does not change are not touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsEdit {
    pub codecs: String,
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_from: String,
    /// Empty: no login (the password goes too).
    pub smtp_username: String,
    pub smtp_password: Secret,
    pub timezone: String,
    /// `[sip] listen` (UDP and TCP).
    pub sip_listen: SocketAddr,
    /// `[sip] tls_listen`; `None` turns SIP over TLS off.
    pub sip_tls_listen: Option<SocketAddr>,
    /// `[http] listen`: the console.
    pub http_listen: SocketAddr,
    /// `[http] tls_listen`; `None` turns the HTTPS console off.
    pub http_tls_listen: Option<SocketAddr>,
}

impl SettingsEdit {
    /// The values `config` has now, secrets kept.
    pub fn from_config(c: &Config) -> SettingsEdit {
        SettingsEdit {
            codecs: c.media.codecs.clone(),
            rtp_port_min: c.rtp.port_min,
            rtp_port_max: c.rtp.port_max,
            smtp_host: c.smtp.host.clone(),
            smtp_port: c.smtp.port,
            smtp_tls: c.smtp.tls,
            smtp_from: c.smtp.from.clone(),
            smtp_username: c.smtp.username.clone().unwrap_or_default(),
            smtp_password: Secret::Keep,
            timezone: c.site.timezone.clone(),
            sip_listen: c.sip.listen,
            sip_tls_listen: c.sip.tls_listen,
            http_listen: c.http.listen,
            http_tls_listen: c.http.tls_listen,
        }
    }
}

/// An optional listener as the file says it: `""` is off.
fn listen_text(a: Option<SocketAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

/// An optional listener as the page shows it.
pub fn listen_shown(a: Option<SocketAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "off".into())
}

pub fn tls_name(t: SmtpTls) -> &'static str {
    match t {
        SmtpTls::None => "none",
        SmtpTls::Starttls => "starttls",
        SmtpTls::Tls => "tls",
    }
}

/// A refused edit: the dotted field at fault (or "-") and why, with the
/// line of the resulting file when the check names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub field: String,
    pub message: String,
    pub line: usize,
}

/// `text` (the current file, possibly empty) with `edit` applied, checked
/// with [`Config::parse`] (labelled `file`): the new text and its config.
pub fn apply_edit(text: &str, edit: &SettingsEdit, file: &str) -> Result<(String, Config), EditError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| EditError {
        field: "-".into(),
        message: format!("the file is not valid TOML: {}", e.message()),
        line: e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(0),
    })?;
    // What the file says now (defaults where it is silent); a file that no
    // longer validates gets every edited key written.
    let before = Config::parse(text, file).ok();
    let was = before.as_ref().map(SettingsEdit::from_config);
    let changed = |f: fn(&SettingsEdit) -> String| was.as_ref().is_none_or(|w| f(w) != f(edit));
    if changed(|e| e.codecs.clone()) {
        set(&mut doc, "media", "codecs", Value::from(edit.codecs.trim()))?;
    }
    if changed(|e| e.rtp_port_min.to_string()) {
        set(&mut doc, "rtp", "port_min", Value::from(i64::from(edit.rtp_port_min)))?;
    }
    if changed(|e| e.rtp_port_max.to_string()) {
        set(&mut doc, "rtp", "port_max", Value::from(i64::from(edit.rtp_port_max)))?;
    }
    if changed(|e| e.smtp_host.clone()) {
        set(&mut doc, "smtp", "host", Value::from(edit.smtp_host.trim()))?;
    }
    if changed(|e| e.smtp_port.to_string()) {
        set(&mut doc, "smtp", "port", Value::from(i64::from(edit.smtp_port)))?;
    }
    if changed(|e| tls_name(e.smtp_tls).to_string()) {
        set(&mut doc, "smtp", "tls", Value::from(tls_name(edit.smtp_tls)))?;
    }
    if changed(|e| e.smtp_from.clone()) {
        set(&mut doc, "smtp", "from", Value::from(edit.smtp_from.trim()))?;
    }
    let user = edit.smtp_username.trim();
    if user.is_empty() {
        // No login: a password alone would only fail validation.
        remove(&mut doc, "smtp", "username");
        remove(&mut doc, "smtp", "password");
    } else {
        if changed(|e| e.smtp_username.clone()) {
            set(&mut doc, "smtp", "username", Value::from(user))?;
        }
        match &edit.smtp_password {
            Secret::Keep => {}
            Secret::Set(p) => set(&mut doc, "smtp", "password", Value::from(p.as_str()))?,
            Secret::Clear => remove(&mut doc, "smtp", "password"),
        }
    }
    if changed(|e| e.timezone.clone()) {
        set(&mut doc, "site", "timezone", Value::from(edit.timezone.trim()))?;
    }
    if changed(|e| e.sip_listen.to_string()) {
        set(&mut doc, "sip", "listen", Value::from(edit.sip_listen.to_string()))?;
    }
    if changed(|e| listen_text(e.sip_tls_listen)) {
        set(&mut doc, "sip", "tls_listen", Value::from(listen_text(edit.sip_tls_listen)))?;
    }
    if changed(|e| e.http_listen.to_string()) {
        set(&mut doc, "http", "listen", Value::from(edit.http_listen.to_string()))?;
    }
    if changed(|e| listen_text(e.http_tls_listen)) {
        set(&mut doc, "http", "tls_listen", Value::from(listen_text(edit.http_tls_listen)))?;
    }
    let out = doc.to_string();
    let config = Config::parse(&out, file).map_err(|e| EditError { field: e.field, message: e.message, line: e.line })?;
    Ok((out, config))
}

/// Sets `table.key`, keeping the comments around an existing value.
fn set(doc: &mut DocumentMut, table: &str, key: &str, mut value: Value) -> Result<(), EditError> {
    if !doc.contains_key(table) {
        doc.insert(table, Item::Table(toml_edit::Table::new()));
    }
    let not_table = || EditError { field: table.into(), message: format!("[{table}] in the file is not a table"), line: 0 };
    let t = doc.get_mut(table).and_then(Item::as_table_like_mut).ok_or_else(not_table)?;
    if let Some(old) = t.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
    } else {
        t.insert(key, Item::Value(value));
    }
    Ok(())
}

fn remove(doc: &mut DocumentMut, table: &str, key: &str) {
    if let Some(t) = doc.get_mut(table).and_then(Item::as_table_like_mut) {
        t.remove(key);
    }
}

/// Replaces `path` with `text` atomically: a temporary file beside it,
/// written and flushed to disk, then renamed over it (readers see the old
/// or the new file, never half of one). A new file is readable by its
/// owner only (it may hold the SMTP password); an existing one keeps its
/// permissions.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("config");
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        match std::fs::metadata(path) {
            Ok(m) => f.set_permissions(m.permissions())?,
            Err(_) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with the directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The edited settings that differ between `running` and `saved`, as
/// (dotted key, running value, saved value), secrets shown as "changed".
pub fn differences(running: &Config, saved: &Config) -> Vec<(&'static str, String, String)> {
    let (r, s) = (SettingsEdit::from_config(running), SettingsEdit::from_config(saved));
    let mut out = Vec::new();
    let mut cmp = |key: &'static str, a: String, b: String| {
        if a != b {
            out.push((key, a, b));
        }
    };
    cmp("media.codecs", r.codecs, s.codecs);
    cmp("rtp.port_min", r.rtp_port_min.to_string(), s.rtp_port_min.to_string());
    cmp("rtp.port_max", r.rtp_port_max.to_string(), s.rtp_port_max.to_string());
    cmp("smtp.host", r.smtp_host, s.smtp_host);
    cmp("smtp.port", r.smtp_port.to_string(), s.smtp_port.to_string());
    cmp("smtp.tls", tls_name(r.smtp_tls).into(), tls_name(s.smtp_tls).into());
    cmp("smtp.from", r.smtp_from, s.smtp_from);
    cmp("smtp.username", r.smtp_username, s.smtp_username);
    cmp("site.timezone", r.timezone, s.timezone);
    cmp("sip.listen", r.sip_listen.to_string(), s.sip_listen.to_string());
    cmp("sip.tls_listen", listen_shown(r.sip_tls_listen), listen_shown(s.sip_tls_listen));
    cmp("http.listen", r.http_listen.to_string(), s.http_listen.to_string());
    cmp("http.tls_listen", listen_shown(r.http_tls_listen), listen_shown(s.http_tls_listen));
    if running.smtp.password != saved.smtp.password {
        let state = |p: &Option<String>| if p.is_some() { "set" } else { "not set" }.to_string();
        out.push(("smtp.password", state(&running.smtp.password), format!("{} (changed)", state(&saved.smtp.password))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my appliance\n[media]\n# preferred first\ncodecs = \"PCMU,PCMA\" # trailing note\nlanguage = \"en\"\n\n[sip]\nrealm = \"office\"\n";

    #[test]
    fn an_edit_keeps_comments_and_other_keys_and_touches_only_changes() {
        let before = Config::parse(FILE, "t.toml").unwrap();
        let mut e = SettingsEdit::from_config(&before);
        let (same, _) = apply_edit(FILE, &e, "t.toml").unwrap();
        assert_eq!(same, FILE, "nothing changed, nothing written differently");
        e.codecs = "G722,PCMU".into();
        e.rtp_port_min = 30000;
        e.rtp_port_max = 30100;
        e.timezone = "Europe/Berlin".into();
        let (text, cfg) = apply_edit(FILE, &e, "t.toml").unwrap();
        assert!(text.starts_with("# my appliance\n[media]\n# preferred first\ncodecs = \"G722,PCMU\" # trailing note\n"), "{text}");
        assert!(text.contains("realm = \"office\"") && text.contains("[rtp]\nport_min = 30000\nport_max = 30100\n"), "{text}");
        assert!(!text.contains("[smtp]"), "untouched sections are not added: {text}");
        assert_eq!((cfg.media.codecs.as_str(), cfg.rtp.port_min, cfg.site.timezone.as_str()), ("G722,PCMU", 30000, "Europe/Berlin"));
        let d = differences(&before, &cfg);
        assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), ["media.codecs", "rtp.port_min", "rtp.port_max", "site.timezone"]);
    }

    #[test]
    fn a_bad_edit_is_refused_at_its_field_and_secrets_follow_the_username() {
        let mut e = SettingsEdit::from_config(&Config::default());
        e.rtp_port_min = 20000;
        e.rtp_port_max = 10000;
        let err = apply_edit("", &e, "t.toml").unwrap_err();
        assert_eq!(err.field, "rtp.port_max", "{err:?}");
        let mut e = SettingsEdit::from_config(&Config::default());
        e.smtp_host = "mail.example.org".into();
        e.smtp_username = "pbx".into();
        let err = apply_edit("", &e, "t.toml").unwrap_err();
        assert_eq!(err.field, "smtp.username", "a login needs a password: {err:?}");
        e.smtp_password = Secret::Set("pw".into());
        e.smtp_tls = SmtpTls::Starttls;
        let (text, cfg) = apply_edit("", &e, "t.toml").unwrap();
        assert_eq!(cfg.smtp.password.as_deref(), Some("pw"));
        e.smtp_password = Secret::Keep;
        e.smtp_port = 587;
        let (text, cfg) = apply_edit(&text, &e, "t.toml").unwrap();
        assert_eq!((cfg.smtp.password.as_deref(), cfg.smtp.port), (Some("pw"), 587), "kept");
        let d = differences(&Config::default(), &cfg);
        assert!(d.iter().all(|(_, a, b)| !a.contains("pw") && !b.contains("pw")), "{d:?}");
        e.smtp_username = String::new();
        let (text, cfg) = apply_edit(&text, &e, "t.toml").unwrap();
        assert!(cfg.smtp.username.is_none() && cfg.smtp.password.is_none() && !text.contains("password"), "{text}");
    }

    #[test]
    fn listen_addresses_are_written_as_text_and_checked_together() {
        let file = "[sip]\n# where phones register\nlisten = \"0.0.0.0:5060\" # UDP and TCP\n";
        let before = Config::parse(file, "t.toml").unwrap();
        let mut e = SettingsEdit::from_config(&before);
        e.sip_listen = "127.0.0.1:5070".parse().unwrap();
        e.http_tls_listen = None;
        let (text, cfg) = apply_edit(file, &e, "t.toml").unwrap();
        assert!(text.starts_with("[sip]\n# where phones register\nlisten = \"127.0.0.1:5070\" # UDP and TCP\n"), "{text}");
        assert!(text.contains("[http]\ntls_listen = \"\"\n") && !text.contains("tls_listen = \"0.0.0.0:5061\""), "only changed keys: {text}");
        assert_eq!((cfg.sip.listen.port(), cfg.http.tls_listen), (5070, None));
        let d = differences(&before, &cfg);
        assert_eq!(d, [("sip.listen", "0.0.0.0:5060".into(), "127.0.0.1:5070".into()), ("http.tls_listen", "0.0.0.0:8443".into(), "off".into())]);
        e.sip_tls_listen = Some("0.0.0.0:5070".parse().unwrap());
        assert_eq!(apply_edit(&text, &e, "t.toml").unwrap_err().field, "sip.tls_listen", "the TLS port differs from the plain one");
        e.sip_tls_listen = None;
        e.http_listen = "127.0.0.1:5070".parse().unwrap();
        assert_eq!(apply_edit(&text, &e, "t.toml").unwrap_err().field, "http.listen", "the console cannot take SIP's TCP port");
    }

    #[test]
    fn the_data_directory_file_is_used_when_no_path_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let s = ConfigSource::locate(None, dir.path());
        assert_eq!((s.file_to_load(), s.label()), (None, "(defaults)".to_string()));
        write_atomic(&s.path, "[media]\ncodecs = \"PCMA\"\n").unwrap();
        assert_eq!(s.file_to_load(), Some(dir.path().join(DEFAULT_FILE).as_path()));
        assert_eq!(s.load().unwrap().media.codecs, "PCMA");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&s.path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        let explicit = ConfigSource::locate(Some(Path::new("/nonexistent/x.toml")), dir.path());
        assert!(explicit.load().is_err(), "an explicit file must exist");
    }
}
