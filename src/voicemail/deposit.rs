//! Leaving a message: greeting, beep, recording, confirmation. Owns the
//! order of those steps and the keep/discard decision; must not touch the
//! file it names (the driver records into it, stores the row, and deletes
//! the file when the outcome is `NotLeft`).

use std::path::PathBuf;

use crate::dialplan::ops::{Media, Op, OpResult, RecordEnd};

use super::{prompts, MailboxInfo};

/// Tunables from `[voicemail]`; `Default` matches the config defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositLimits {
    /// Shorter recordings are discarded (a caller who hung up at the beep).
    pub min_message_ms: u64,
    /// Continuous silence that ends the recording.
    pub silence_ms: u64,
}

impl Default for DepositLimits {
    fn default() -> Self {
        DepositLimits { min_message_ms: 1000, silence_ms: 5000 }
    }
}

impl From<&crate::config::VoicemailConfig> for DepositLimits {
    fn from(c: &crate::config::VoicemailConfig) -> Self {
        DepositLimits { min_message_ms: c.min_message_ms, silence_ms: c.silence_secs * 1000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositOutcome {
    /// A message of `duration_ms` is in the file: store it.
    Left { duration_ms: u64 },
    /// Nothing worth keeping; delete the file if it exists.
    NotLeft,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositStep {
    /// Perform this op and answer with `input`.
    Op(Op),
    /// Finished; further polls repeat this.
    Done(DepositOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Recording,
    Confirming { duration_ms: u64 },
    Done(DepositOutcome),
}

/// The deposit conversation. `poll` is idempotent until `input` answers it.
#[derive(Debug, Clone)]
pub struct Deposit {
    greeting: Vec<Media>,
    message_path: PathBuf,
    max_ms: u64,
    limits: DepositLimits,
    state: State,
}

impl Deposit {
    pub fn new(mailbox: &MailboxInfo, message_path: PathBuf) -> Deposit {
        Deposit::with_limits(mailbox, message_path, DepositLimits::default())
    }

    pub fn with_limits(mailbox: &MailboxInfo, message_path: PathBuf, limits: DepositLimits) -> Deposit {
        let greeting = match &mailbox.greeting_path {
            Some(path) => vec![Media::File(path.clone())],
            None => {
                // "The mailbox of 1 0 0 1 is not available. Please leave a message…"
                let digits = crate::media::prompt::say_digits(&mailbox.number).into_iter().map(Media::prompt);
                std::iter::once(Media::prompt("vm-mailbox"))
                    .chain(digits)
                    .chain(prompts(&["vm-unavailable", "vm-leave-message"]))
                    .collect()
            }
        };
        Deposit {
            greeting,
            message_path,
            max_ms: u64::from(mailbox.max_message_secs) * 1000,
            limits,
            state: State::Greeting,
        }
    }

    pub fn poll(&self) -> DepositStep {
        match self.state {
            State::Greeting => DepositStep::Op(Op::Play(self.greeting.clone())),
            State::Recording => DepositStep::Op(Op::Record {
                path: self.message_path.clone(),
                max_ms: self.max_ms,
                silence_ms: self.limits.silence_ms,
                beep: true,
                terminators: "#".into(),
            }),
            State::Confirming { .. } => DepositStep::Op(Op::Play(prompts(&["vm-saved", "goodbye"]))),
            State::Done(outcome) => DepositStep::Done(outcome),
        }
    }

    pub fn input(&mut self, result: OpResult) {
        self.state = match (self.state, result) {
            (State::Done(_), _) => return,
            // A hang-up outside the recording leaves whatever was decided.
            (State::Greeting, OpResult::Hangup) => State::Done(DepositOutcome::NotLeft),
            (State::Greeting, _) => State::Recording,
            (State::Recording, OpResult::Recorded { duration_ms, end }) => {
                if duration_ms < self.limits.min_message_ms {
                    State::Done(DepositOutcome::NotLeft)
                } else if end == RecordEnd::Hangup {
                    // Most callers just hang up when done: keep the message.
                    State::Done(DepositOutcome::Left { duration_ms })
                } else {
                    State::Confirming { duration_ms }
                }
            }
            // A bare hang-up carries no duration, so nothing is known to be
            // in the file; drivers report `Recorded { end: Hangup }` instead.
            (State::Recording, _) => State::Done(DepositOutcome::NotLeft),
            (State::Confirming { duration_ms }, _) => State::Done(DepositOutcome::Left { duration_ms }),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(greeting: Option<&str>) -> MailboxInfo {
        MailboxInfo { number: "1001".into(), greeting_path: greeting.map(PathBuf::from), max_message_secs: 120 }
    }

    fn p(names: &[&str]) -> Vec<Media> {
        prompts(names)
    }

    fn record_op() -> DepositStep {
        DepositStep::Op(Op::Record {
            path: "/vm/1001/msg.wav".into(),
            max_ms: 120_000,
            silence_ms: 5000,
            beep: true,
            terminators: "#".into(),
        })
    }

    fn deposit(greeting: Option<&str>) -> Deposit {
        Deposit::new(&mailbox(greeting), "/vm/1001/msg.wav".into())
    }

    #[test]
    fn default_greeting_record_confirm() {
        let mut d = deposit(None);
        let greeting = p(&["vm-mailbox", "1", "0", "0", "1", "vm-unavailable", "vm-leave-message"]);
        assert_eq!(d.poll(), DepositStep::Op(Op::Play(greeting.clone())));
        assert_eq!(d.poll(), DepositStep::Op(Op::Play(greeting)), "poll is idempotent");
        d.input(OpResult::PlayDone);
        assert_eq!(d.poll(), record_op());
        d.input(OpResult::Recorded { duration_ms: 7300, end: RecordEnd::Key('#') });
        assert_eq!(d.poll(), DepositStep::Op(Op::Play(p(&["vm-saved", "goodbye"]))));
        d.input(OpResult::PlayDone);
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::Left { duration_ms: 7300 }));
        d.input(OpResult::PlayDone);
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::Left { duration_ms: 7300 }), "done is final");
    }

    #[test]
    fn custom_greeting_is_played_from_file() {
        let mut d = deposit(Some("/vm/1001/greeting.wav"));
        assert_eq!(d.poll(), DepositStep::Op(Op::Play(vec![Media::File("/vm/1001/greeting.wav".into())])));
        d.input(OpResult::PlayDone);
        assert_eq!(d.poll(), record_op());
    }

    #[test]
    fn silence_and_max_length_end_with_confirmation() {
        for end in [RecordEnd::Silence, RecordEnd::MaxLength] {
            let mut d = deposit(None);
            d.input(OpResult::PlayDone);
            d.input(OpResult::Recorded { duration_ms: 120_000, end });
            assert_eq!(d.poll(), DepositStep::Op(Op::Play(p(&["vm-saved", "goodbye"]))), "{end:?}");
            d.input(OpResult::Hangup);
            assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::Left { duration_ms: 120_000 }), "hang-up during goodbye keeps it");
        }
    }

    #[test]
    fn hangup_mid_recording_keeps_message_without_confirmation() {
        let mut d = deposit(None);
        d.input(OpResult::PlayDone);
        d.input(OpResult::Recorded { duration_ms: 2500, end: RecordEnd::Hangup });
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::Left { duration_ms: 2500 }));
    }

    #[test]
    fn too_short_message_is_not_left() {
        for end in [RecordEnd::Hangup, RecordEnd::Key('#'), RecordEnd::Silence] {
            let mut d = deposit(None);
            d.input(OpResult::PlayDone);
            d.input(OpResult::Recorded { duration_ms: 999, end });
            assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::NotLeft), "{end:?}");
        }
        let mut d = deposit(None);
        d.input(OpResult::PlayDone);
        d.input(OpResult::Recorded { duration_ms: 1000, end: RecordEnd::Hangup });
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::Left { duration_ms: 1000 }), "exactly 1 s is kept");
    }

    #[test]
    fn hangup_during_greeting_or_bare_hangup_while_recording_leaves_nothing() {
        let mut d = deposit(None);
        d.input(OpResult::Hangup);
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::NotLeft));
        let mut d = deposit(None);
        d.input(OpResult::PlayDone);
        d.input(OpResult::Hangup);
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::NotLeft));
    }

    #[test]
    fn limits_apply() {
        let limits = DepositLimits { min_message_ms: 3000, silence_ms: 0 };
        let mut d = Deposit::with_limits(&mailbox(None), "/m.wav".into(), limits);
        d.input(OpResult::PlayDone);
        assert_eq!(
            d.poll(),
            DepositStep::Op(Op::Record { path: "/m.wav".into(), max_ms: 120_000, silence_ms: 0, beep: true, terminators: "#".into() })
        );
        d.input(OpResult::Recorded { duration_ms: 2999, end: RecordEnd::Hangup });
        assert_eq!(d.poll(), DepositStep::Done(DepositOutcome::NotLeft));
    }

    #[test]
    fn emits_only_listed_prompts() {
        let d = Deposit::new(&MailboxInfo { number: "*12#".into(), greeting_path: None, max_message_secs: 1 }, "/m".into());
        let DepositStep::Op(Op::Play(items)) = d.poll() else { panic!("greeting expected") };
        let numbers = ["1", "2", "star", "pound"];
        for m in items.iter().chain(&p(&["vm-saved", "goodbye"])) {
            let Media::Prompt(n) = m else { panic!("{m:?}") };
            assert!(super::super::PROMPTS.contains(&n.as_str()) || numbers.contains(&n.as_str()), "{n}");
        }
    }
}
