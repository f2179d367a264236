//! Outgoing e-mail over SMTP (lettre, tokio): a generic [`Mailer`] that sends
//! a text body with attachments, and the message texts of the features that
//! mail (voicemail now, fax later). Owns MIME building and the SMTP session;
//! must not read the database or files (callers pass the bytes) or decide
//! whom to mail.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpTls};
use crate::dialplan::Civil;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `[smtp] host` is empty: e-mail is off.
    #[error("e-mail is not configured ([smtp] host is empty)")]
    Disabled,
    #[error("invalid {what} address \"{address}\": {source}")]
    Address { what: &'static str, address: String, source: lettre::address::AddressError },
    #[error("attachment {filename}: invalid MIME type \"{mime}\"")]
    Mime { filename: String, mime: String },
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("TLS setup for {host}: {source}")]
    Tls { host: String, source: lettre::transport::smtp::Error },
    /// Connecting, TLS, login or the server refusing the message.
    #[error("SMTP to {server}: {source}")]
    Smtp { server: String, source: lettre::transport::smtp::Error },
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `audio/wav`, `application/pdf`.
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Subject, body and attachments of a message, before addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
}

/// Sends mail through the configured server; one SMTP session per message
/// (notifications are rare, so no connection pool).
#[derive(Clone)]
pub struct Mailer {
    server: String,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the password: never print it.
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// Checks the configuration; connects only when sending.
    pub fn new(config: SmtpConfig) -> Result<Mailer, MailError> {
        if !config.enabled() {
            return Err(MailError::Disabled);
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|source| MailError::Address { what: "sender", address: config.from.clone(), source })?;
        let host = config.host.trim().to_string();
        let tls_params = || {
            TlsParameters::new(host.clone()).map_err(|source| MailError::Tls { host: host.clone(), source })
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_params()?),
            SmtpTls::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
        if let (Some(user), Some(password)) = (config.username, config.password) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer { server: format!("{host}:{}", config.port), from, transport: builder.build() })
    }

    /// Sends one message to `to`: a plain-text body, then the attachments.
    pub async fn send(&self, to: &str, subject: &str, body: &str, attachments: Vec<Attachment>) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|source| MailError::Address { what: "recipient", address: to.to_string(), source })?;
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body.to_string());
        let mut parts = MultiPart::mixed().singlepart(text);
        for a in attachments {
            let mime = ContentType::parse(&a.mime).map_err(|_| MailError::Mime { filename: a.filename.clone(), mime: a.mime.clone() })?;
            parts = parts.singlepart(MimeAttachment::new(a.filename).body(a.bytes, mime));
        }
        let message = Message::builder().from(self.from.clone()).to(to).subject(subject).multipart(parts)?;
        self.transport.send(message).await.map_err(|source| MailError::Smtp { server: self.server.clone(), source })?;
        Ok(())
    }

    /// [`Mailer::send`] for a prepared [`Email`].
    pub async fn send_email(&self, to: &str, email: Email) -> Result<(), MailError> {
        self.send(to, &email.subject, &email.body, email.attachments).await
    }
}

/// What a new-voicemail notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailNotice<'a> {
    pub mailbox: &'a str,
    pub caller: &'a str,
    /// Display name from the call, may be empty.
    pub caller_name: &'a str,
    pub duration_ms: u64,
    /// Unix seconds, shown in UTC.
    pub received_at: i64,
    /// Message id, names the attachment (`voicemail-<mailbox>-<id>.wav`).
    pub message_id: i64,
}

/// The notification for a new voicemail, with the WAV attached when given
/// (`[voicemail] email_attach`).
pub fn voicemail_email(notice: &VoicemailNotice<'_>, wav: Option<Vec<u8>>) -> Email {
    let from = if notice.caller_name.is_empty() {
        notice.caller.to_string()
    } else {
        format!("{} <{}>", notice.caller_name, notice.caller)
    };
    let secs = notice.duration_ms.div_ceil(1000);
    let duration = format!("{}:{:02}", secs / 60, secs % 60);
    let t = Civil::from_unix(notice.received_at, 0);
    let when = format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year, t.month, t.day, t.hour, t.minute, t.second);
    let subject = format!("New voicemail from {from} in mailbox {} ({duration})", notice.mailbox);
    let mut body = format!(
        "You have a new voicemail.\n\nMailbox:  {}\nFrom:     {from}\nReceived: {when}\nDuration: {duration}\n\n",
        notice.mailbox
    );
    let attachments = match wav {
        Some(bytes) => {
            body.push_str("The message is attached. Dial *97 to listen to it by phone.\n");
            vec![Attachment {
                filename: format!("voicemail-{}-{}.wav", notice.mailbox, notice.message_id),
                mime: "audio/wav".into(),
                bytes,
            }]
        }
        None => {
            body.push_str("Dial *97 to listen to it.\n");
            Vec::new()
        }
    };
    Email { subject, body, attachments }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> VoicemailNotice<'static> {
        VoicemailNotice {
            mailbox: "1001",
            caller: "5551234",
            caller_name: "Bob",
            duration_ms: 65_200,
            received_at: 1_767_225_600 + 3661, // 2026-01-01 01:01:01 UTC
            message_id: 42,
        }
    }

    #[test]
    fn voicemail_email_text_and_attachment() {
        let e = voicemail_email(&notice(), Some(vec![1, 2, 3]));
        assert_eq!(e.subject, "New voicemail from Bob <5551234> in mailbox 1001 (1:06)");
        assert!(e.body.contains("Received: 2026-01-01 01:01:01 UTC"), "{}", e.body);
        assert!(e.body.contains("Duration: 1:06") && e.body.contains("is attached"), "{}", e.body);
        assert_eq!(
            e.attachments,
            vec![Attachment { filename: "voicemail-1001-42.wav".into(), mime: "audio/wav".into(), bytes: vec![1, 2, 3] }]
        );
        let plain = voicemail_email(&VoicemailNotice { caller_name: "", ..notice() }, None);
        assert!(plain.attachments.is_empty());
        assert!(plain.subject.starts_with("New voicemail from 5551234 in"), "{}", plain.subject);
        assert!(!plain.body.contains("attached"));
    }

    #[test]
    fn mailer_config_errors() {
        assert!(matches!(Mailer::new(SmtpConfig::default()), Err(MailError::Disabled)));
        let bad = SmtpConfig { host: "127.0.0.1".into(), from: "nope".into(), ..SmtpConfig::default() };
        assert!(matches!(Mailer::new(bad), Err(MailError::Address { what: "sender", .. })));
        let tls = SmtpConfig { host: "mail.example.org".into(), tls: SmtpTls::Tls, password: Some("pw".into()), username: Some("u".into()), ..SmtpConfig::default() };
        let m = Mailer::new(tls).expect("TLS transport builds");
        assert!(!format!("{m:?}").contains("pw"), "Debug hides the password");
    }

    #[tokio::test]
    async fn send_refuses_bad_recipient_and_mime_before_connecting() {
        // Port 1 on loopback: nothing listens, so reaching the network would fail differently.
        let m = Mailer::new(SmtpConfig { host: "127.0.0.1".into(), port: 1, ..SmtpConfig::default() }).unwrap();
        let e = m.send("not-an-address", "s", "b", vec![]).await.unwrap_err();
        assert!(matches!(e, MailError::Address { what: "recipient", .. }), "{e}");
        let bad = Attachment { filename: "x".into(), mime: "no slash".into(), bytes: vec![] };
        let e = m.send("a@example.org", "s", "b", vec![bad]).await.unwrap_err();
        assert!(matches!(e, MailError::Mime { .. }), "{e}");
        let e = m.send("a@example.org", "s", "b", vec![]).await.unwrap_err();
        assert!(matches!(e, MailError::Smtp { .. }), "{e}");
    }
}
