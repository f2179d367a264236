//! `[contact]`: the public web channel at `/contact` (no login) — which
//! customer fields the self-service lookup may show, which queues take
//! callback requests, the chat queue and skill, and the bounds that keep
//! an unauthenticated page cheap (per-address rate limits, message sizes,
//! idle timeout). Parsing and checking only, like the rest of `config`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactConfig {
    /// Serve `/contact` at all.
    pub enabled: bool,
    /// Customer fields the account lookup answers with (`name`, `account`,
    /// `tags`, `notes`, `phone` or an extra field such as `balance`).
    /// Anything not listed is never shown.
    pub lookup_fields: Vec<String>,
    /// Queues offered on the callback form. Empty: every queue that has a
    /// callback key (the queues that offer callbacks by phone).
    pub callback_queues: Vec<String>,
    /// The queue web chats wait in (create it like any queue).
    pub chat_queue: String,
    /// Skill an agent needs (proficiency 1 or more) to be offered a chat.
    pub chat_skill: String,
    /// The sliding window the per-address limits below count in.
    pub window_secs: i64,
    /// Account lookups per address and window.
    pub lookups_per_window: usize,
    /// Callback requests per address and window.
    pub callbacks_per_window: usize,
    /// Chats started per address and window.
    pub chats_per_window: usize,
    /// Chats open at once, all visitors together.
    pub max_live_chats: usize,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Messages per chat (both sides together).
    pub max_messages: usize,
    /// A chat with no message for this long ends.
    pub idle_timeout_secs: u64,
}

impl Default for ContactConfig {
    fn default() -> Self {
        ContactConfig {
            enabled: true,
            lookup_fields: vec!["balance".into()],
            callback_queues: Vec::new(),
            chat_queue: "chat".into(),
            chat_skill: "chat".into(),
            window_secs: 600,
            lookups_per_window: 10,
            callbacks_per_window: 3,
            chats_per_window: 5,
            max_live_chats: 100,
            max_message_chars: 2000,
            max_messages: 200,
            idle_timeout_secs: 600,
        }
    }
}

fn is_field(f: &str) -> bool {
    !f.is_empty() && f.len() <= 48 && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl super::Config {
    pub(super) fn validate_contact(&self) -> Result<(), (String, String)> {
        let c = &self.contact;
        let err = |f: &str, m: String| Err((format!("contact.{f}"), m));
        if c.lookup_fields.len() > 20 {
            return err("lookup_fields", "at most 20 fields".into());
        }
        if let Some(f) = c.lookup_fields.iter().find(|f| !is_field(f)) {
            return err("lookup_fields", format!("\"{f}\" is not a field name ([A-Za-z0-9_]+)"));
        }
        for q in c.callback_queues.iter().chain(std::iter::once(&c.chat_queue)) {
            if let Err(e) = crate::store::check_queue_name(q) {
                let field = if *q == c.chat_queue { "chat_queue" } else { "callback_queues" };
                return err(field, e.to_string());
            }
        }
        if crate::store::check_skill_name(&c.chat_skill).is_err() {
            return err("chat_skill", format!("\"{}\" is not a skill name", c.chat_skill));
        }
        if !(10..=86_400).contains(&c.window_secs) {
            return err("window_secs", "must be between 10 and 86400".into());
        }
        for (f, v) in [
            ("lookups_per_window", c.lookups_per_window),
            ("callbacks_per_window", c.callbacks_per_window),
            ("chats_per_window", c.chats_per_window),
            ("max_live_chats", c.max_live_chats),
        ] {
            if !(1..=10_000).contains(&v) {
                return err(f, "must be between 1 and 10000".into());
            }
        }
        if !(1..=20_000).contains(&c.max_message_chars) {
            return err("max_message_chars", "must be between 1 and 20000".into());
        }
        if !(2..=10_000).contains(&c.max_messages) {
            return err("max_messages", "must be between 2 and 10000".into());
        }
        if !(10..=86_400).contains(&c.idle_timeout_secs) {
            return err("idle_timeout_secs", "must be between 10 and 86400".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_field() {
        let c = Config::parse("", "t.toml").unwrap().contact;
        assert!(c.enabled && c.lookup_fields == ["balance"] && c.chat_queue == "chat");
        let ok = Config::parse("[contact]\nlookup_fields = [\"name\", \"balance\"]\ncallback_queues = [\"sales\"]\n", "t.toml").unwrap();
        assert_eq!(ok.contact.callback_queues, ["sales"]);
        for (toml, field) in [
            ("[contact]\nlookup_fields = [\"a b\"]\n", "contact.lookup_fields"),
            ("[contact]\nchat_queue = \"no way\"\n", "contact.chat_queue"),
            ("[contact]\ncallback_queues = [\"\"]\n", "contact.callback_queues"),
            ("[contact]\nchat_skill = \"\"\n", "contact.chat_skill"),
            ("[contact]\nmax_messages = 1\n", "contact.max_messages"),
            ("[contact]\nlookups_per_window = 0\n", "contact.lookups_per_window"),
            ("[contact]\nidle_timeout_secs = 1\n", "contact.idle_timeout_secs"),
        ] {
            let e = Config::parse(toml, "t.toml").unwrap_err();
            assert_eq!(e.field, field, "{toml}");
            assert!(e.line >= 2, "{toml}: line {}", e.line);
        }
    }
}
