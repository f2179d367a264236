//! Appliance configuration: the TOML file, its embedded defaults and its
//! validation; where the file is and editing it in place (`edit`: the
//! console's settings page). Owns parsing, checking and the file itself;
//! must not open sockets or the database. Errors name file, line and field
//! so an admin can fix them.

mod contact;
mod dialing;
mod fax;
mod edit;
mod limits;
mod listen;
mod locate;
mod site;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use contact::ContactConfig;
pub use dialing::{DialClass, DialingConfig, NumberKind};
pub use fax::FaxConfig;
pub use limits::LimitsConfig;
pub use edit::{apply_edit, differences, listen_shown, tls_name, write_atomic, ConfigSource, EditError, Secret, SettingsEdit, DEFAULT_FILE};
pub use listen::{parse_optional as parse_optional_listen, parse_setting as parse_listen_setting};
pub use locate::line_of_key;
pub use site::{CtiConfig, SiteConfig};

/// A configuration problem, printed as `file:line: field: message`.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sip: SipConfig,
    pub http: HttpConfig,
    pub rtp: RtpConfig,
    pub trunks: TrunkConfig,
    pub media: MediaConfig,
    pub apps: AppsConfig,
    pub recording: RecordingConfig,
    pub dialplan: DialplanConfig,
    pub smtp: SmtpConfig,
    pub voicemail: VoicemailConfig,
    pub site: SiteConfig,
    pub cti: CtiConfig,
    pub contact: ContactConfig,
    pub fax: FaxConfig,
    pub dialing: DialingConfig,
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanConfig {
    /// Folder of dialplan files (`*.toml`).
    pub dir: std::path::PathBuf,
    /// Pretend every call arrives at this moment (RFC 3339), for trying
    /// out time rules on a test box. Unset in production.
    pub fixed_time: Option<String>,
}

impl Default for DialplanConfig {
    fn default() -> Self {
        DialplanConfig { dir: "dialplans".into(), fixed_time: None }
    }
}

impl DialplanConfig {
    /// The time a call starting now is routed at (Unix seconds).
    pub fn now(&self) -> i64 {
        self.fixed_time
            .as_deref()
            .and_then(|t| crate::dialplan::parse_rfc3339(t).ok())
            .unwrap_or_else(crate::store::unix_time)
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the LAN or loopback).
    None,
    /// Plain connect, then STARTTLS, required (usually port 587).
    Starttls,
    /// TLS from the first byte, "SMTPS" (usually port 465).
    Tls,
}

/// Outgoing e-mail (voicemail notifications, later fax). An empty `host`
/// turns e-mail off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// Sender address, `addr@host` or `Name <addr@host>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: SmtpTls,
    /// Connect and per-command timeout.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 25,
            from: "switchboard@localhost".into(),
            username: None,
            password: None,
            tls: SmtpTls::None,
            timeout_secs: 30,
        }
    }
}

impl SmtpConfig {
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

/// Voicemail deposit limits and message storage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoicemailConfig {
    /// Message audio folder; relative paths are under the data directory.
    pub dir: PathBuf,
    /// Longest message, for mailboxes created without their own limit.
    pub max_message_secs: u32,
    /// Shorter recordings are discarded.
    pub min_message_ms: u64,
    /// Continuous silence that ends a recording; 0 = off.
    pub silence_secs: u64,
    /// Attach the audio to notification e-mails (else a text-only notice).
    pub email_attach: bool,
}

impl Default for VoicemailConfig {
    fn default() -> Self {
        VoicemailConfig {
            dir: "voicemail".into(),
            max_message_secs: 180,
            min_message_ms: 1000,
            silence_secs: 5,
            email_attach: true,
        }
    }
}

impl VoicemailConfig {
    /// The message folder for data directory `data` (an absolute `dir` wins).
    pub fn dir_in(&self, data: &Path) -> PathBuf {
        data.join(&self.dir)
    }
}

/// When bridged calls go through the media engine and get recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingMode {
    /// Calls are relayed packet by packet; nothing can be recorded.
    Off,
    /// Every bridged call is recorded from the answer.
    Always,
    /// Calls run through the media engine and are recorded when started
    /// from the console or API.
    OnDemand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingFormat {
    Wav,
    Opus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingLayout {
    /// Both parties mixed into one channel.
    Mono,
    /// Caller left, callee right.
    Stereo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    pub mode: RecordingMode,
    pub format: RecordingFormat,
    pub layout: RecordingLayout,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig { mode: RecordingMode::Off, format: RecordingFormat::Wav, layout: RecordingLayout::Stereo }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Root of the prompt sets (`<dir>/<language>/<name>.wav|ogg|flac|mp3`).
    pub prompts_dir: std::path::PathBuf,
    pub language: String,
    /// Codec preference for legs the appliance terminates (IVR, conference).
    pub codecs: String,
    /// Detect DTMF tones in the audio too (PSTN callers often send them in-band).
    pub inband_dtmf: bool,
    /// Music-on-hold classes: one folder of audio files per class.
    pub moh_dir: std::path::PathBuf,
    /// The class played to a party whose peer put the call on hold.
    pub moh_class: String,
    /// Opus encoder effort, 0 (cheapest) to 10. Encoding is most of a
    /// transcoded call's CPU: on the 2-core bench machine a 20 ms frame
    /// costs about 115 µs at 5 wideband, and beside a G.711 leg
    /// (narrowband) 65 µs at 5 and 31 µs at 1 (`make bench`, micro rows);
    /// speech at 32 kbit/s stays good at 5, lower trades quality for
    /// density.
    pub opus_complexity: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppsConfig {
    /// Number that reaches the IVR test application (prompt, digit
    /// collection, read-back); empty disables it.
    pub ivr_test: String,
    /// Numbers that are conference rooms.
    pub conference_rooms: Vec<String>,
    /// Extensions allowed to listen to, whisper to and barge into agents'
    /// calls (the dialplan's `supervise` app). Empty: nobody.
    pub supervisors: Vec<String>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            prompts_dir: "prompts".into(),
            language: "en".into(),
            codecs: "PCMU,PCMA,G722,opus".into(),
            inband_dtmf: true,
            moh_dir: "prompts/moh".into(),
            moh_class: "default".into(),
            opus_complexity: 5,
        }
    }
}

impl Default for AppsConfig {
    fn default() -> Self {
        AppsConfig { ivr_test: "7000".into(), conference_rooms: vec!["8000".into(), "8001".into()], supervisors: Vec::new() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// UDP and TCP both listen here.
    pub listen: SocketAddr,
    /// SIP over TLS (the `tls` module's certificate); `""` turns it off.
    #[serde(deserialize_with = "listen::optional_addr")]
    pub tls_listen: Option<SocketAddr>,
    /// Digest realm. Extension secrets are stored as HA1 for this realm, so
    /// changing it requires re-setting every extension's secret.
    pub realm: String,
    pub user_agent: String,
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    /// Ring time before an unanswered call gets 480.
    pub no_answer_timeout_secs: u64,
    /// Failed digest attempts per source and user before answering 403.
    pub auth_max_failures: u32,
    /// How long a server nonce stays valid before `stale=true`.
    pub nonce_lifetime_secs: u64,
    /// Digest algorithms offered, most preferred first ("SHA-256", "MD5").
    /// MD5 only by default: Debian 12's baresip fails when any SHA-256
    /// challenge is present, SIPp when it comes first (docs/decisions.md).
    pub digest_algorithms: Vec<String>,
    /// Authentication failures from one address (all usernames together)
    /// within `ban_window_secs` that ban it (`sip::guard`).
    pub ban_after_failures: u32,
    pub ban_window_secs: u64,
    /// How long a ban lasts; 0 turns bans off.
    pub ban_secs: u64,
    /// Addresses and blocks (`10.0.0.0/8`) never banned or throttled.
    pub ban_exempt: Vec<String>,
    /// Out-of-dialog requests per second from one address; 0 turns the
    /// limit off.
    pub rate_limit_per_sec: u32,
    /// Requests one address may send at once before the rate applies.
    pub rate_limit_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// The console over HTTPS (the `tls` module's certificate); `""` turns it off.
    #[serde(deserialize_with = "listen::optional_addr")]
    pub tls_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtpConfig {
    pub port_min: u16,
    pub port_max: u16,
    /// Address RTP sockets bind to.
    pub bind: IpAddr,
    /// Address written into SDP; unset means "the local address that routes
    /// to the peer", which is right unless the box sits behind NAT.
    pub advertise: Option<IpAddr>,
    pub inactivity_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrunkConfig {
    pub options_interval_secs: u64,
    pub register_expires: u32,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 5060)),
            tls_listen: Some(SocketAddr::from(([0, 0, 0, 0], 5061))),
            realm: "switchboard".into(),
            user_agent: concat!("switchboard/", env!("CARGO_PKG_VERSION")).into(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            no_answer_timeout_secs: 30,
            auth_max_failures: 3,
            nonce_lifetime_secs: 300,
            digest_algorithms: vec!["MD5".into()],
            ban_after_failures: 100,
            ban_window_secs: 600,
            ban_secs: 3600,
            ban_exempt: vec!["127.0.0.0/8".into(), "::1".into()],
            rate_limit_per_sec: 50,
            rate_limit_burst: 200,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: SocketAddr::from(([0, 0, 0, 0], 8080)), tls_listen: Some(SocketAddr::from(([0, 0, 0, 0], 8443))) }
    }
}

impl Default for RtpConfig {
    fn default() -> Self {
        RtpConfig {
            port_min: 10000,
            port_max: 20000,
            bind: IpAddr::from([0, 0, 0, 0]),
            advertise: None,
            inactivity_timeout_secs: 60,
        }
    }
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig { options_interval_secs: 30, register_expires: 600 }
    }
}

impl MediaConfig {
    /// A party's own list (extension or trunk) when set and valid, else the default.
    pub fn prefs_or_default(&self, own: Option<&str>) -> crate::sdp::negotiate::CodecPrefs {
        own.and_then(|c| c.parse().ok()).unwrap_or_else(|| self.codec_prefs())
    }

    /// The validated codec preference list.
    pub fn codec_prefs(&self) -> crate::sdp::negotiate::CodecPrefs {
        self.codecs.parse().unwrap_or_else(|_| {
            // validate() refused anything else; PCMU is always implemented.
            "PCMU".parse().expect("PCMU parses")
        })
    }
}

impl SipConfig {
    /// The validated digest algorithm list.
    pub fn algorithms(&self) -> Vec<crate::sip::auth::Algorithm> {
        self.digest_algorithms.iter().filter_map(|a| crate::sip::auth::Algorithm::parse(a).ok()).collect()
    }

    /// The attack guard's settings (`validate` refused unparsable
    /// `ban_exempt` entries, so none is dropped here).
    pub fn guard_config(&self) -> crate::sip::guard::GuardConfig {
        crate::sip::guard::GuardConfig {
            ban_after_failures: self.ban_after_failures,
            ban_window_secs: self.ban_window_secs,
            ban_secs: self.ban_secs,
            exempt: self.ban_exempt.iter().filter_map(|c| c.parse().ok()).collect(),
            rate_limit_per_sec: self.rate_limit_per_sec,
            rate_limit_burst: self.rate_limit_burst,
            ..crate::sip::guard::GuardConfig::default()
        }
    }
}

impl HttpConfig {
    /// The console's address as people should type it.
    pub fn console_base(&self) -> String {
        let l = self.listen;
        if l.ip().is_unspecified() {
            format!("http://<this machine's address>:{}", l.port())
        } else {
            format!("http://{l}")
        }
    }

    /// The HTTPS console's address as people should type it, if it is on.
    pub fn console_base_tls(&self) -> Option<String> {
        self.tls_listen.map(|l| if l.ip().is_unspecified() { format!("https://<this machine's address>:{}", l.port()) } else { format!("https://{l}") })
    }
}

impl RtpConfig {
    pub fn inactivity_timeout(&self) -> Duration {
        Duration::from_secs(self.inactivity_timeout_secs)
    }
}

impl Config {
    /// Loads `path`, or the embedded defaults when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Ok(Config::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    file: p.display().to_string(),
                    line: 0,
                    field: "-".into(),
                    message: format!("cannot read: {e}"),
                })?;
                Config::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses and validates TOML text; `file` only labels errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(0);
            let message = e.message().to_string();
            let field = field_from_message(&message, text, e.span().map(|s| s.start));
            ConfigError { file: file.into(), line, field, message }
        })?;
        cfg.validate().map_err(|(field, message)| ConfigError {
            file: file.into(),
            line: line_of_key(text, &field).unwrap_or(0),
            field,
            message,
        })?;
        Ok(cfg)
    }

    /// Semantic checks serde cannot express. Returns (dotted field, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if !self.rtp.port_min.is_multiple_of(2) {
            return err("rtp.port_min", format!("must be even (RTP uses even ports), got {}", self.rtp.port_min));
        }
        if self.rtp.port_max <= self.rtp.port_min {
            return err("rtp.port_max", format!("must be greater than rtp.port_min ({})", self.rtp.port_min));
        }
        if self.rtp.port_min < 1024 {
            return err("rtp.port_min", "must be at least 1024".into());
        }
        if self.rtp.inactivity_timeout_secs == 0 {
            return err("rtp.inactivity_timeout_secs", "must be at least 1".into());
        }
        if self.sip.realm.trim().is_empty() || self.sip.realm.contains('"') {
            return err("sip.realm", "must be non-empty and contain no double quote".into());
        }
        if self.sip.min_expires == 0 || self.sip.min_expires > self.sip.max_expires {
            return err("sip.min_expires", format!("must be between 1 and sip.max_expires ({})", self.sip.max_expires));
        }
        if !(self.sip.min_expires..=self.sip.max_expires).contains(&self.sip.default_expires) {
            return err("sip.default_expires", "must lie between sip.min_expires and sip.max_expires".into());
        }
        if self.sip.no_answer_timeout_secs == 0 {
            return err("sip.no_answer_timeout_secs", "must be at least 1".into());
        }
        if self.sip.auth_max_failures == 0 {
            return err("sip.auth_max_failures", "must be at least 1".into());
        }
        if self.sip.nonce_lifetime_secs < 10 {
            return err("sip.nonce_lifetime_secs", "must be at least 10".into());
        }
        if self.sip.digest_algorithms.is_empty() {
            return err("sip.digest_algorithms", "must name at least one of \"SHA-256\", \"MD5\"".into());
        }
        for a in &self.sip.digest_algorithms {
            if crate::sip::auth::Algorithm::parse(a).is_err() {
                return err("sip.digest_algorithms", format!("unknown algorithm \"{a}\" (use \"SHA-256\" or \"MD5\")"));
            }
        }
        self.validate_guard()?;
        match self.media.codecs.parse::<crate::sdp::negotiate::CodecPrefs>() {
            Err(e) => return err("media.codecs", e.to_string()),
            Ok(prefs) => {
                for c in prefs.codecs() {
                    if crate::media::codec::CodecKind::from_rtpmap(&c.name, c.clock_rate).is_none() {
                        return err("media.codecs", format!("{} is not implemented (use PCMU, PCMA, G722, opus)", c.name));
                    }
                }
            }
        }
        if let Some(t) = self.dialplan.fixed_time.as_deref() {
            if let Err(e) = crate::dialplan::parse_rfc3339(t) {
                return err("dialplan.fixed_time", format!("\"{t}\" is not an RFC 3339 time like 2026-03-02T10:00:00+01:00: {e}"));
            }
        }
        if self.media.opus_complexity > 10 {
            return err("media.opus_complexity", format!("must be 0 to 10, got {}", self.media.opus_complexity));
        }
        if self.media.language.is_empty() || self.media.language.contains(['/', '\\', '.']) {
            return err("media.language", "must be a plain folder name like \"en\"".into());
        }
        let numbers = std::iter::once(&self.apps.ivr_test).chain(self.apps.conference_rooms.iter());
        for n in numbers.filter(|n| !n.is_empty()) {
            if !n.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#') {
                return err("apps", format!("\"{n}\" is not a dialable number"));
            }
        }
        let tcp = [
            ("sip.listen", Some(self.sip.listen)),
            ("sip.tls_listen", self.sip.tls_listen),
            ("http.listen", Some(self.http.listen)),
            ("http.tls_listen", self.http.tls_listen),
        ];
        if let Some((field, message)) = listen::first_clash(&tcp) {
            return err(&field, message);
        }
        if self.trunks.register_expires < 60 {
            return err("trunks.register_expires", "must be at least 60".into());
        }
        self.validate_smtp()?;
        self.validate_site()?;
        self.validate_contact()?;
        self.fax.check()?;
        self.dialing.check()?;
        self.limits.check()?;
        self.validate_voicemail()
    }

    /// The `[sip]` attack-guard settings.
    fn validate_guard(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        let sip = &self.sip;
        if sip.ban_after_failures == 0 {
            return err("sip.ban_after_failures", "must be at least 1 (ban_secs = 0 turns bans off)".into());
        }
        if !(1..=86_400).contains(&sip.ban_window_secs) {
            return err("sip.ban_window_secs", format!("must be 1 to 86400, got {}", sip.ban_window_secs));
        }
        if sip.ban_secs > 365 * 86_400 {
            return err("sip.ban_secs", format!("must be at most a year (31536000), got {}", sip.ban_secs));
        }
        for c in &sip.ban_exempt {
            if let Err(e) = c.parse::<crate::sip::guard::Cidr>() {
                return err("sip.ban_exempt", e.to_string());
            }
        }
        if sip.rate_limit_per_sec > 0 && sip.rate_limit_burst == 0 {
            return err("sip.rate_limit_burst", "must be at least 1".into());
        }
        Ok(())
    }

    fn validate_smtp(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        let smtp = &self.smtp;
        if !smtp.enabled() {
            return Ok(());
        }
        if smtp.host.contains([' ', '/', ':']) {
            return err("smtp.host", format!("\"{}\" must be a host name or IPv4 address, without port", smtp.host));
        }
        if smtp.port == 0 {
            return err("smtp.port", "must be 1 to 65535".into());
        }
        if let Err(e) = smtp.from.parse::<lettre::message::Mailbox>() {
            return err("smtp.from", format!("\"{}\" is not an e-mail address: {e}", smtp.from));
        }
        if smtp.username.is_some() != smtp.password.is_some() {
            return err("smtp.username", "smtp.username and smtp.password go together".into());
        }
        if smtp.username.is_some() && smtp.tls == SmtpTls::None && !is_loopback_host(&smtp.host) {
            return err("smtp.tls", "a password is only sent over \"starttls\" or \"tls\" (or to localhost)".into());
        }
        if smtp.timeout_secs == 0 {
            return err("smtp.timeout_secs", "must be at least 1".into());
        }
        Ok(())
    }

    fn validate_voicemail(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        let vm = &self.voicemail;
        if vm.dir.as_os_str().is_empty() {
            return err("voicemail.dir", "must not be empty".into());
        }
        if !(1..=3600).contains(&vm.max_message_secs) {
            return err("voicemail.max_message_secs", "must be between 1 and 3600".into());
        }
        if vm.min_message_ms >= u64::from(vm.max_message_secs) * 1000 {
            return err("voicemail.min_message_ms", "must be shorter than voicemail.max_message_secs".into());
        }
        if vm.silence_secs > u64::from(vm.max_message_secs) {
            return err("voicemail.silence_secs", "must not exceed voicemail.max_message_secs (0 turns it off)".into());
        }
        Ok(())
    }
}

/// Where data lives: the SQLite database and recordings.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn db_path(&self) -> PathBuf {
        self.0.join("switchboard.db")
    }
}

/// Credentials may go unencrypted only to this machine.
fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset).map(|s| s.matches('\n').count() + 1).unwrap_or(0)
}

/// toml's messages mention the offending key for unknown fields; otherwise the
/// key is the one written on the error's line.
fn field_from_message(message: &str, text: &str, offset: Option<usize>) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            return rest[..end].to_string();
        }
    }
    offset
        .and_then(|o| locate::key_at(text, o))
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        let example = include_str!("../../switchboard.example.toml");
        Config::parse(example, "switchboard.example.toml").unwrap();
    }

    #[test]
    fn type_error_names_line_and_field() {
        let text = "[sip]\nrealm = \"x\"\nlisten = 5\n";
        let e = Config::parse(text, "a.toml").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert_eq!(e.field, "sip.listen", "{e}");
        assert!(e.to_string().starts_with("a.toml:3: sip.listen: "), "{e}");
    }

    #[test]
    fn unknown_field_is_reported() {
        let text = "[rtp]\nport_min = 10000\nbogus = 1\n";
        let e = Config::parse(text, "a.toml").unwrap_err();
        assert_eq!(e.field, "bogus");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn smtp_and_voicemail_defaults_and_checks() {
        let c = Config::default();
        assert!(!c.smtp.enabled(), "no host, no e-mail");
        assert_eq!((c.smtp.port, c.smtp.tls), (25, SmtpTls::None));
        assert_eq!((c.voicemail.max_message_secs, c.voicemail.min_message_ms, c.voicemail.silence_secs), (180, 1000, 5));
        assert_eq!(c.voicemail.dir_in(Path::new("/var/sb")), PathBuf::from("/var/sb/voicemail"));

        let ok = Config::parse("[smtp]\nhost = \"mail.example.org\"\nport = 587\ntls = \"starttls\"\nfrom = \"PBX <pbx@example.org>\"\n", "a.toml").unwrap();
        assert!(ok.smtp.enabled());
        assert_eq!((ok.smtp.port, ok.smtp.tls), (587, SmtpTls::Starttls));

        let bad_from = Config::parse("[smtp]\nhost = \"mx\"\nfrom = \"not an address\"\n", "a.toml").unwrap_err();
        assert_eq!((bad_from.line, bad_from.field.as_str()), (3, "smtp.from"), "{bad_from}");
        let bad_tls = Config::parse("[smtp]\nhost = \"mx\"\ntls = \"ssl\"\n", "a.toml").unwrap_err();
        assert_eq!((bad_tls.line, bad_tls.field.as_str()), (3, "smtp.tls"), "{bad_tls}");
        let clear_pw = Config::parse("[smtp]\nhost = \"mx.example.org\"\nusername = \"u\"\npassword = \"p\"\ntls = \"none\"\n", "a.toml")
            .unwrap_err();
        assert_eq!((clear_pw.line, clear_pw.field.as_str()), (5, "smtp.tls"), "{clear_pw}");
        let lonely_user = Config::parse("[smtp]\nhost = \"127.0.0.1\"\nusername = \"u\"\n", "a.toml").unwrap_err();
        assert_eq!(lonely_user.field, "smtp.username");

        let vm = Config::parse("[voicemail]\nmax_message_secs = 0\n", "v.toml").unwrap_err();
        assert_eq!(vm.to_string(), "v.toml:2: voicemail.max_message_secs: must be between 1 and 3600");
        let vm = Config::parse("[voicemail]\nmax_message_secs = 2\nmin_message_ms = 2000\n", "v.toml").unwrap_err();
        assert_eq!((vm.line, vm.field.as_str()), (3, "voicemail.min_message_ms"));
    }

    #[test]
    fn opus_complexity_defaults_to_5_and_is_range_checked() {
        assert_eq!(Config::default().media.opus_complexity, 5);
        let low = Config::parse("[media]\nopus_complexity = 1\n", "m.toml").unwrap();
        assert_eq!(low.media.opus_complexity, 1);
        let bad = Config::parse("[media]\nlanguage = \"en\"\nopus_complexity = 11\n", "m.toml").unwrap_err();
        assert_eq!(bad.to_string(), "m.toml:3: media.opus_complexity: must be 0 to 10, got 11");
    }

    #[test]
    fn tls_listeners_default_on_and_can_be_turned_off() {
        let c = Config::default();
        assert_eq!((c.sip.tls_listen.map(|a| a.port()), c.http.tls_listen.map(|a| a.port())), (Some(5061), Some(8443)));
        let off = Config::parse("[sip]\ntls_listen = \"\"\n[http]\ntls_listen = \"\"\n", "t.toml").unwrap();
        assert_eq!((off.sip.tls_listen, off.http.tls_listen), (None, None));
        let bad = Config::parse("[http]\nlisten = \"0.0.0.0:8080\"\ntls_listen = \"8443\"\n", "t.toml").unwrap_err();
        assert_eq!((bad.line, bad.field.as_str()), (3, "http.tls_listen"), "{bad}");
        assert!(bad.message.contains("not ADDR:PORT"), "{bad}");
        let same = Config::parse("[sip]\nlisten = \"0.0.0.0:5070\"\ntls_listen = \"127.0.0.1:5070\"\n", "t.toml").unwrap_err();
        assert_eq!(same.to_string(), "t.toml:3: sip.tls_listen: must not take the port of sip.listen (0.0.0.0:5070)");
        let across = Config::parse("[http]\nlisten = \"127.0.0.1:5060\"\n", "t.toml").unwrap_err();
        assert_eq!(across.to_string(), "t.toml:2: http.listen: must not take the port of sip.listen (0.0.0.0:5060)");
    }

    #[test]
    fn semantic_error_names_line_and_field() {
        let text = "# c\n[rtp]\nport_min = 20000\nport_max = 10000\n";
        let e = Config::parse(text, "b.toml").unwrap_err();
        assert_eq!(e.to_string(), "b.toml:4: rtp.port_max: must be greater than rtp.port_min (20000)");
        let odd = Config::parse("[rtp]\nport_min = 10001\n", "c.toml").unwrap_err();
        assert_eq!((odd.line, odd.field.as_str()), (2, "rtp.port_min"));
    }

    #[test]
    fn guard_settings_default_and_checks() {
        let g = Config::default().sip.guard_config();
        assert_eq!((g.ban_after_failures, g.ban_window_secs, g.ban_secs), (100, 600, 3600));
        assert_eq!((g.rate_limit_per_sec, g.rate_limit_burst), (50, 200));
        assert!(g.exempt.iter().any(|c| c.contains("127.0.0.1".parse().unwrap())));
        assert!(g.exempt.iter().any(|c| c.contains("::1".parse().unwrap())));
        let strict = Config::parse("[sip]\nban_exempt = []\nban_secs = 0\nrate_limit_per_sec = 0\n", "g.toml").unwrap();
        assert!(strict.sip.guard_config().exempt.is_empty());
        for (text, line, field) in [
            ("[sip]\nban_exempt = [\"10.0.0.0/8\", \"lan\"]\n", 2, "sip.ban_exempt"),
            ("[sip]\nban_exempt = [\"10.0.0.0/40\"]\n", 2, "sip.ban_exempt"),
            ("[sip]\n\nban_after_failures = 0\n", 3, "sip.ban_after_failures"),
            ("[sip]\nban_window_secs = 0\n", 2, "sip.ban_window_secs"),
            ("[sip]\nban_secs = 99999999999\n", 2, "sip.ban_secs"),
            ("[sip]\nrate_limit_burst = 0\n", 2, "sip.rate_limit_burst"),
        ] {
            let e = Config::parse(text, "g.toml").unwrap_err();
            assert_eq!((e.line, e.field.as_str()), (line, field), "{text}: {e}");
        }
        let e = Config::parse("[sip]\nban_exempt = [\"lan\"]\n", "g.toml").unwrap_err();
        assert_eq!(e.to_string(), "g.toml:2: sip.ban_exempt: \"lan\" is not an IP address or address/prefix");
    }
}
