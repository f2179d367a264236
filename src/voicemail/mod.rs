//! Voicemail conversations as sans-IO state machines: [`Deposit`] (a caller
//! leaves a message) and [`Retrieval`] (the owner listens with `*97`, and
//! records their greeting or changes the PIN in its mailbox options). They
//! speak the shared vocabulary of `crate::dialplan::ops` ([`Op`] out,
//! [`OpResult`] in) and ask the driver for data through queries and effects.
//!
//! Owns the call flow only. Must not do IO of any kind: no sockets, no files,
//! no database, no clock. The call driver performs the ops on the caller's
//! leg, answers the queries from `crate::store`, applies the effects, stores
//! the message row and sends the e-mail (`crate::mail`).
//!
//! [`Op`]: crate::dialplan::ops::Op
//! [`OpResult`]: crate::dialplan::ops::OpResult

mod deposit;
mod retrieval;

use std::path::PathBuf;

use crate::dialplan::ops::Media;

pub use deposit::{Deposit, DepositLimits, DepositOutcome, DepositStep};
pub use retrieval::{Effect, Query, Retrieval, RetrievalStep};

/// What the deposit machine needs to know about the called mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    pub number: String,
    /// A recorded personal greeting; `None` plays the spoken default.
    pub greeting_path: Option<PathBuf>,
    pub max_message_secs: u32,
}

/// One stored message, as the retrieval machine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub id: i64,
    pub path: PathBuf,
    pub heard: bool,
}

/// Every prompt name the machines can emit, besides the number words of
/// `media::prompt::say_number`/`say_digits` (checked by a test against
/// prompts/en/prompts.txt).
pub const PROMPTS: &[&str] = &[
    "vm-mailbox",
    "vm-unavailable",
    "vm-leave-message",
    "vm-saved",
    "vm-enter-mailbox",
    "vm-enter-pin",
    "vm-incorrect",
    "vm-you-have",
    "vm-new-messages",
    "vm-and",
    "vm-old-messages",
    "vm-message",
    "vm-menu",
    "vm-deleted",
    "vm-no-more-messages",
    "vm-end-menu",
    "vm-options",
    "vm-record-greeting",
    "vm-greeting-review",
    "vm-greeting-saved",
    "vm-greeting-cancelled",
    "vm-greeting-erased",
    "vm-too-short",
    "vm-enter-new-pin",
    "vm-reenter-pin",
    "vm-pin-changed",
    "vm-pin-mismatch",
    "vm-pin-invalid",
    "invalid",
    "goodbye",
];

fn prompts(names: &[&str]) -> Vec<Media> {
    names.iter().map(|n| Media::prompt(*n)).collect()
}

fn number(n: u64) -> impl Iterator<Item = Media> {
    crate::media::prompt::say_number(n).into_iter().map(Media::prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<&'static str> {
        crate::media::prompt::listed_prompts()
    }

    #[test]
    fn every_prompt_is_listed_and_generated() {
        let known = known();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/en");
        let digits = crate::media::prompt::say_digits("0123456789*#");
        let numbers = [0u64, 7, 19, 42, 100, 1234].into_iter().flat_map(crate::media::prompt::say_number);
        for name in PROMPTS.iter().copied().chain(digits).chain(numbers) {
            assert!(known.contains(&name), "prompt {name:?} not in prompts.txt");
            assert!(dir.join(format!("{name}.ogg")).is_file(), "prompts/en/{name}.ogg missing: run prompts/generate.sh");
        }
    }
}
