//! Voicemail mailbox rules shared by `switchboard mailbox add|pin` and the
//! console's voicemail page: what a mailbox number, PIN, e-mail address,
//! member list and message limit may be. Messages say what is wrong with
//! the value without naming it (the page shows them at the field, the CLI
//! puts its flag in front), and each is tagged with the field at fault.
//! Must not touch the store: callers create the mailbox once it passes.

use crate::store::{check_extension_number, InvalidField, Mailbox, MailboxKind};

/// Longest per-message limit a mailbox may have (seconds).
pub const MAX_MESSAGE_SECS: i64 = 3600;

/// A mailbox as an admin typed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxInput {
    pub number: String,
    pub name: String,
    pub pin: String,
    pub email: Option<String>,
    /// A shared (group) mailbox rather than one extension's.
    pub group: bool,
    pub members: Vec<String>,
    /// `None`: the `[voicemail] max_message_secs` default.
    pub max_secs: Option<i64>,
}

fn invalid(field: &'static str, message: String) -> InvalidField {
    InvalidField { field, message }
}

/// Mailbox numbers are dialled: digits only.
pub fn check_mailbox_number(number: &str) -> Result<(), InvalidField> {
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("number", format!("mailbox number must be 1 to 20 digits, got '{number}'")));
    }
    Ok(())
}

/// PINs are typed on a keypad: digits only. Four is the usual floor for a
/// voicemail PIN; ten keeps it typeable.
pub fn check_pin(pin: &str) -> Result<(), InvalidField> {
    if !(4..=10).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("pin", "must be 4 to 10 digits".into()));
    }
    Ok(())
}

/// Every problem with `input` in the order the CLI reports them (number,
/// PIN, members, e-mail, limit), or the mailbox to create.
pub fn check_mailbox(input: &MailboxInput, default_max_secs: u32) -> Result<Mailbox, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let number = input.number.trim();
    if let Err(e) = check_mailbox_number(number) {
        errors.push(e);
    }
    if let Err(e) = check_pin(&input.pin) {
        errors.push(e);
    }
    let members: Vec<String> = input.members.iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    if let Some(bad) = members.iter().find_map(|m| check_extension_number(m).err().map(|e| (m, e))) {
        errors.push(invalid("members", format!("'{}': {}", bad.0, bad.1)));
    } else if input.group && members.is_empty() {
        errors.push(invalid("members", "a group mailbox needs at least one member extension".into()));
    } else if !input.group && !members.is_empty() {
        errors.push(invalid("members", "only group mailboxes have members".into()));
    }
    let email = input.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        if let Err(err) = e.parse::<lettre::Address>() {
            errors.push(invalid("email", format!("'{e}' is not an e-mail address: {err}")));
        }
    }
    let max_secs = input.max_secs.unwrap_or(i64::from(default_max_secs));
    if !(1..=MAX_MESSAGE_SECS).contains(&max_secs) {
        errors.push(invalid("max_secs", format!("must be 1 to {MAX_MESSAGE_SECS}")));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Mailbox {
        number: number.to_string(),
        name: input.name.trim().to_string(),
        email: email.map(str::to_string),
        greeting_path: None,
        max_message_secs: max_secs,
        kind: if input.group { MailboxKind::Group } else { MailboxKind::Extension },
        members,
        created_at: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(number: &str, pin: &str) -> MailboxInput {
        MailboxInput { number: number.into(), pin: pin.into(), ..Default::default() }
    }

    #[test]
    fn valid_mailboxes_and_every_error_named() {
        let m = check_mailbox(&MailboxInput { name: " Alice ".into(), email: Some("a@example.org".into()), ..input("1001", "1234") }, 90).unwrap();
        assert_eq!((m.number.as_str(), m.name.as_str(), m.max_message_secs, m.kind), ("1001", "Alice", 90, MailboxKind::Extension));
        let g = check_mailbox(&MailboxInput { group: true, members: vec!["1001".into(), " 1002".into()], max_secs: Some(30), ..input("600", "0000") }, 90).unwrap();
        assert_eq!((g.kind, g.members.clone(), g.max_message_secs), (MailboxKind::Group, vec!["1001".to_string(), "1002".into()], 30));

        let bad = MailboxInput { email: Some("nope".into()), group: true, members: vec!["1001".into(), "abc".into()], max_secs: Some(0), ..input("10x", "12") };
        let errors = check_mailbox(&bad, 90).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["number", "pin", "members", "email", "max_secs"]);
        assert!(errors[2].message.starts_with("'abc': "), "{}", errors[2].message);
        assert!(errors[3].message.starts_with("'nope' "), "{}", errors[3].message);
        let lonely = check_mailbox(&MailboxInput { group: true, ..input("600", "1234") }, 90).unwrap_err();
        assert_eq!(lonely[0].field, "members");
        assert_eq!(check_pin("12345678901").unwrap_err().field, "pin");
        assert!(check_pin("0000000000").is_ok());
    }
}
