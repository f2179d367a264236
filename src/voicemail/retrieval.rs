//! Listening to messages (`*97`): mailbox and PIN login, the count summary,
//! then each message with a one-key menu (5 repeat, 7 delete, 9 next,
//! # exit). Owns the menu logic and the login attempt limit; must not check
//! PINs or change messages itself: it asks ([`Query`]) and tells
//! ([`Effect`]), the driver does the work against the store.

use std::collections::VecDeque;

use crate::dialplan::ops::{Media, Op, OpResult};

use super::{number, prompts, MessageInfo};

/// Wrong logins (bad PIN, nothing typed) before the call is ended.
const MAX_LOGIN_ATTEMPTS: u32 = 3;
/// Times the message menu is offered again after a timeout before leaving.
const MENU_REPEATS: u32 = 3;
const FIRST_TIMEOUT_MS: u64 = 5000;
const INTER_TIMEOUT_MS: u64 = 3000;

/// Data the machine needs from the driver before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Answer with [`Retrieval::answer_pin`].
    VerifyPin { mailbox: String, pin: String },
    /// Answer with [`Retrieval::answer_messages`] (in listening order).
    Messages { mailbox: String },
}

/// A change the driver applies to the store; then it polls again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    MarkHeard(i64),
    Delete(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrievalStep {
    /// Perform and answer with `input`.
    Op(Op),
    /// Answer with `answer_pin` / `answer_messages`.
    Need(Query),
    /// Apply, no answer; returned once.
    Effect(Effect),
    /// Finished (hang up).
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    AskMailbox,
    AskPin,
    CheckPin { pin: String },
    /// Playing "incorrect" (plus "goodbye" when it was the last attempt).
    Incorrect { last: bool },
    LoadMessages,
    Summary,
    PlayMessage,
    Menu,
    Deleted,
    Invalid,
    /// Playing the closing prompts (`Done` afterwards).
    Closing(Vec<Media>),
    Done,
}

/// The `*97` conversation. `poll` is idempotent until answered (effects are
/// handed out once each).
#[derive(Debug, Clone)]
pub struct Retrieval {
    mailbox: Option<String>,
    /// The caller typed the mailbox, so a failed login asks for it again.
    ask_mailbox: bool,
    failures: u32,
    messages: Vec<MessageInfo>,
    index: usize,
    menu_timeouts: u32,
    effects: VecDeque<Effect>,
    state: State,
}

fn collect(prompt: &str, max: u32, terminator: Option<char>) -> Op {
    Op::Collect {
        prompts: prompts(&[prompt]),
        min: 1,
        max,
        terminator,
        first_timeout_ms: FIRST_TIMEOUT_MS,
        inter_timeout_ms: INTER_TIMEOUT_MS,
    }
}

/// Typed digits without the terminator; `None` when nothing usable was typed.
fn typed(result: &OpResult) -> Option<String> {
    match result {
        OpResult::Digits(d) => {
            let d = d.trim_end_matches('#');
            (!d.is_empty()).then(|| d.to_string())
        }
        _ => None,
    }
}

impl Retrieval {
    /// `mailbox: None` asks the caller for it (dialled from a phone that is
    /// not the mailbox owner's, or from outside).
    pub fn new(mailbox: Option<String>) -> Retrieval {
        let ask_mailbox = mailbox.is_none();
        Retrieval {
            mailbox,
            ask_mailbox,
            failures: 0,
            messages: Vec::new(),
            index: 0,
            menu_timeouts: 0,
            effects: VecDeque::new(),
            state: if ask_mailbox { State::AskMailbox } else { State::AskPin },
        }
    }

    pub fn poll(&mut self) -> RetrievalStep {
        if let Some(e) = self.effects.pop_front() {
            return RetrievalStep::Effect(e);
        }
        let mailbox = || self.mailbox.clone().unwrap_or_default();
        match &self.state {
            State::AskMailbox => RetrievalStep::Op(collect("vm-enter-mailbox", 20, Some('#'))),
            State::AskPin => RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))),
            State::CheckPin { pin } => RetrievalStep::Need(Query::VerifyPin { mailbox: mailbox(), pin: pin.clone() }),
            State::Incorrect { last: false } => RetrievalStep::Op(Op::Play(prompts(&["vm-incorrect"]))),
            State::Incorrect { last: true } => RetrievalStep::Op(Op::Play(prompts(&["vm-incorrect", "goodbye"]))),
            State::LoadMessages => RetrievalStep::Need(Query::Messages { mailbox: mailbox() }),
            State::Summary => {
                let new = self.messages.iter().filter(|m| !m.heard).count() as u64;
                let old = self.messages.len() as u64 - new;
                let items = std::iter::once(Media::prompt("vm-you-have"))
                    .chain(number(new))
                    .chain(prompts(&["vm-new-messages", "vm-and"]))
                    .chain(number(old))
                    .chain(prompts(&["vm-old-messages"]))
                    .collect();
                RetrievalStep::Op(Op::Play(items))
            }
            State::PlayMessage => match self.messages.get(self.index) {
                Some(m) => {
                    let items = std::iter::once(Media::prompt("vm-message"))
                        .chain(number(self.index as u64 + 1))
                        .chain(std::iter::once(Media::File(m.path.clone())))
                        .collect();
                    RetrievalStep::Op(Op::Play(items))
                }
                // Unreachable by construction; end politely rather than panic.
                None => RetrievalStep::Done,
            },
            State::Menu => RetrievalStep::Op(collect("vm-menu", 1, None)),
            State::Deleted => RetrievalStep::Op(Op::Play(prompts(&["vm-deleted"]))),
            State::Invalid => RetrievalStep::Op(Op::Play(prompts(&["invalid"]))),
            State::Closing(items) => RetrievalStep::Op(Op::Play(items.clone())),
            State::Done => RetrievalStep::Done,
        }
    }

    /// The answer to the last `Op`.
    pub fn input(&mut self, result: OpResult) {
        if result == OpResult::Hangup {
            // Effects already decided (a message heard to the end) still apply.
            self.state = State::Done;
            return;
        }
        self.state = match std::mem::replace(&mut self.state, State::Done) {
            State::AskMailbox => match typed(&result) {
                Some(m) => {
                    self.mailbox = Some(m);
                    State::AskPin
                }
                None => self.login_failed(),
            },
            State::AskPin => match typed(&result) {
                Some(pin) => State::CheckPin { pin },
                None => self.login_failed(),
            },
            State::Incorrect { last: true } => State::Done,
            State::Incorrect { last: false } if self.ask_mailbox => State::AskMailbox,
            State::Incorrect { last: false } => State::AskPin,
            State::Summary => self.start_message(0),
            State::PlayMessage => {
                // Played to the end: it counts as heard.
                if let Some(m) = self.messages.get_mut(self.index) {
                    if !m.heard {
                        m.heard = true;
                        self.effects.push_back(Effect::MarkHeard(m.id));
                    }
                }
                self.menu_timeouts = 0;
                State::Menu
            }
            State::Menu => self.menu_choice(&result),
            State::Deleted => self.start_message(self.index),
            State::Invalid => State::Menu,
            State::Closing(_) => State::Done,
            // Waiting for an answer or finished: an op result changes nothing.
            other => other,
        };
    }

    /// The driver's answer to `Query::VerifyPin`.
    pub fn answer_pin(&mut self, ok: bool) {
        if !matches!(self.state, State::CheckPin { .. }) {
            return;
        }
        self.state = if ok { State::LoadMessages } else { self.login_failed() };
    }

    /// The driver's answer to `Query::Messages`: the mailbox's messages, new
    /// ones first (the store's `messages` order).
    pub fn answer_messages(&mut self, messages: Vec<MessageInfo>) {
        if self.state != State::LoadMessages {
            return;
        }
        self.messages = messages;
        self.state = State::Summary;
    }

    fn login_failed(&mut self) -> State {
        self.failures += 1;
        State::Incorrect { last: self.failures >= MAX_LOGIN_ATTEMPTS }
    }

    /// Plays message `index`, or closes when there is none left.
    fn start_message(&mut self, index: usize) -> State {
        self.index = index;
        if index < self.messages.len() {
            State::PlayMessage
        } else {
            State::Closing(prompts(&["vm-no-more-messages", "goodbye"]))
        }
    }

    fn menu_choice(&mut self, result: &OpResult) -> State {
        match result {
            OpResult::Timeout => {
                self.menu_timeouts += 1;
                if self.menu_timeouts > MENU_REPEATS {
                    State::Closing(prompts(&["goodbye"]))
                } else {
                    State::Menu
                }
            }
            OpResult::Digits(d) => match d.chars().next() {
                Some('5') => State::PlayMessage,
                Some('7') => {
                    if let Some(m) = self.messages.get(self.index) {
                        self.effects.push_back(Effect::Delete(m.id));
                    }
                    // The list keeps its indices: the next message is index + 1.
                    self.index += 1;
                    State::Deleted
                }
                Some('9') => self.start_message(self.index + 1),
                Some('#') => State::Closing(prompts(&["goodbye"])),
                _ => State::Invalid,
            },
            _ => State::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voicemail::PROMPTS;

    fn play(names: &[&str]) -> RetrievalStep {
        RetrievalStep::Op(Op::Play(prompts(names)))
    }

    fn menu() -> RetrievalStep {
        RetrievalStep::Op(collect("vm-menu", 1, None))
    }

    fn msg(id: i64, heard: bool) -> MessageInfo {
        MessageInfo { id, path: format!("/vm/1001/{id}.wav").into(), heard }
    }

    fn message_play(n: &str, id: i64) -> RetrievalStep {
        RetrievalStep::Op(Op::Play(vec![Media::prompt("vm-message"), Media::prompt(n), Media::File(format!("/vm/1001/{id}.wav").into())]))
    }

    fn digits(d: &str) -> OpResult {
        OpResult::Digits(d.into())
    }

    /// Logs into 1001 with the PIN and answers the message query.
    fn logged_in(messages: Vec<MessageInfo>) -> Retrieval {
        let mut r = Retrieval::new(Some("1001".into()));
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))));
        r.input(digits("4321#"));
        assert_eq!(r.poll(), RetrievalStep::Need(Query::VerifyPin { mailbox: "1001".into(), pin: "4321".into() }));
        r.answer_pin(true);
        assert_eq!(r.poll(), RetrievalStep::Need(Query::Messages { mailbox: "1001".into() }));
        r.answer_messages(messages);
        r
    }

    /// Every prompt in a step must be known (or a number word).
    fn check_prompts(step: &RetrievalStep) {
        let items = match step {
            RetrievalStep::Op(Op::Play(items)) => items.clone(),
            RetrievalStep::Op(Op::Collect { prompts, .. }) => prompts.clone(),
            _ => vec![],
        };
        let numbers: Vec<&str> = (0..=20).flat_map(crate::media::prompt::say_number).collect();
        for m in items {
            if let Media::Prompt(n) = m {
                assert!(PROMPTS.contains(&n.as_str()) || numbers.contains(&n.as_str()), "unlisted prompt {n}");
            }
        }
    }

    /// Drives `r` with `inputs` (op results for ops, pin/list answers for
    /// needs), recording every step; stops at Done.
    fn run(r: &mut Retrieval, mut inputs: VecDeque<OpResult>) -> Vec<RetrievalStep> {
        let mut steps = Vec::new();
        for _ in 0..200 {
            let step = r.poll();
            check_prompts(&step);
            steps.push(step.clone());
            match step {
                RetrievalStep::Done => return steps,
                RetrievalStep::Op(_) => match inputs.pop_front() {
                    Some(i) => r.input(i),
                    None => return steps,
                },
                RetrievalStep::Effect(_) => {}
                RetrievalStep::Need(_) => return steps,
            }
        }
        panic!("machine did not settle: {steps:?}");
    }

    #[test]
    fn asks_mailbox_then_pin() {
        let mut r = Retrieval::new(None);
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-mailbox", 20, Some('#'))));
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-mailbox", 20, Some('#'))), "idempotent");
        r.input(digits("1002#"));
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))));
        r.input(digits("9999"));
        assert_eq!(r.poll(), RetrievalStep::Need(Query::VerifyPin { mailbox: "1002".into(), pin: "9999".into() }));
        r.input(OpResult::PlayDone);
        assert!(matches!(r.poll(), RetrievalStep::Need(Query::VerifyPin { .. })), "op results do not answer a query");
        r.answer_pin(true);
        assert_eq!(r.poll(), RetrievalStep::Need(Query::Messages { mailbox: "1002".into() }));
    }

    #[test]
    fn wrong_pin_three_times_ends_the_call() {
        let mut r = Retrieval::new(Some("1001".into()));
        for attempt in 1..=3 {
            assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))), "attempt {attempt}");
            r.input(digits("0000#"));
            assert!(matches!(r.poll(), RetrievalStep::Need(Query::VerifyPin { .. })));
            r.answer_pin(false);
            if attempt < 3 {
                assert_eq!(r.poll(), play(&["vm-incorrect"]));
            } else {
                assert_eq!(r.poll(), play(&["vm-incorrect", "goodbye"]));
            }
            r.input(OpResult::PlayDone);
        }
        assert_eq!(r.poll(), RetrievalStep::Done);
    }

    #[test]
    fn failed_login_reasks_typed_mailbox_and_counts_timeouts() {
        let mut r = Retrieval::new(None);
        r.input(digits("1001#"));
        r.input(OpResult::Timeout);
        assert_eq!(r.poll(), play(&["vm-incorrect"]), "no PIN typed counts as a failure");
        r.input(OpResult::PlayDone);
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-mailbox", 20, Some('#'))), "mailbox asked again");
        r.input(digits("#"));
        assert_eq!(r.poll(), play(&["vm-incorrect"]), "an empty mailbox counts too");
        r.input(OpResult::PlayDone);
        r.input(digits("1001#"));
        r.input(digits("1234#"));
        r.answer_pin(false);
        assert_eq!(r.poll(), play(&["vm-incorrect", "goodbye"]));
        r.input(OpResult::PlayDone);
        assert_eq!(r.poll(), RetrievalStep::Done);
    }

    #[test]
    fn summary_play_next_and_end() {
        let mut r = logged_in(vec![msg(11, false), msg(12, false), msg(3, true)]);
        let steps = run(&mut r, VecDeque::from([
            OpResult::PlayDone, // summary
            OpResult::PlayDone, // message 1
            digits("9"),
            OpResult::PlayDone, // message 2
            digits("9"),
            OpResult::PlayDone, // message 3 (already heard)
            digits("9"),
            OpResult::PlayDone, // closing
        ]));
        let summary = RetrievalStep::Op(Op::Play(prompts(&["vm-you-have", "2", "vm-new-messages", "vm-and", "1", "vm-old-messages"])));
        assert_eq!(
            steps,
            vec![
                summary,
                message_play("1", 11),
                RetrievalStep::Effect(Effect::MarkHeard(11)),
                menu(),
                message_play("2", 12),
                RetrievalStep::Effect(Effect::MarkHeard(12)),
                menu(),
                message_play("3", 3),
                menu(),
                play(&["vm-no-more-messages", "goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn empty_mailbox() {
        let mut r = logged_in(vec![]);
        let steps = run(&mut r, VecDeque::from([OpResult::PlayDone, OpResult::PlayDone]));
        assert_eq!(
            steps,
            vec![
                RetrievalStep::Op(Op::Play(prompts(&["vm-you-have", "0", "vm-new-messages", "vm-and", "0", "vm-old-messages"]))),
                play(&["vm-no-more-messages", "goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn repeat_replays_without_marking_twice() {
        let mut r = logged_in(vec![msg(5, false)]);
        let steps = run(&mut r, VecDeque::from([
            OpResult::PlayDone,
            OpResult::PlayDone,
            digits("5"),
            OpResult::PlayDone,
            digits("#"),
            OpResult::PlayDone,
        ]));
        assert_eq!(
            steps[1..],
            [
                message_play("1", 5),
                RetrievalStep::Effect(Effect::MarkHeard(5)),
                menu(),
                message_play("1", 5),
                menu(),
                play(&["goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn delete_moves_to_next_message() {
        let mut r = logged_in(vec![msg(1, false), msg(2, true)]);
        let steps = run(&mut r, VecDeque::from([
            OpResult::PlayDone,
            OpResult::PlayDone,
            digits("7"),
            OpResult::PlayDone, // vm-deleted
            OpResult::PlayDone, // message 2
            digits("7"),
            OpResult::PlayDone, // vm-deleted
            OpResult::PlayDone, // closing
        ]));
        assert_eq!(
            steps[1..],
            [
                message_play("1", 1),
                RetrievalStep::Effect(Effect::MarkHeard(1)),
                menu(),
                RetrievalStep::Effect(Effect::Delete(1)),
                play(&["vm-deleted"]),
                message_play("2", 2),
                menu(),
                RetrievalStep::Effect(Effect::Delete(2)),
                play(&["vm-deleted"]),
                play(&["vm-no-more-messages", "goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn menu_timeouts_repeat_three_times_then_exit_and_bad_key_is_invalid() {
        let mut r = logged_in(vec![msg(1, true)]);
        let steps = run(&mut r, VecDeque::from([
            OpResult::PlayDone,
            OpResult::PlayDone,
            digits("3"),
            OpResult::PlayDone, // invalid
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::PlayDone, // goodbye
        ]));
        assert_eq!(
            steps[1..],
            [
                message_play("1", 1),
                menu(),
                play(&["invalid"]),
                menu(),
                menu(),
                menu(),
                menu(),
                play(&["goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn hangup_mid_message_does_not_mark_heard() {
        let mut r = logged_in(vec![msg(8, false)]);
        let steps = run(&mut r, VecDeque::from([OpResult::PlayDone, OpResult::Hangup]));
        assert_eq!(steps[1..], [message_play("1", 8), RetrievalStep::Done]);
        // Heard to the end, then a hang-up at the menu: still marked.
        let mut r = logged_in(vec![msg(8, false)]);
        r.input(OpResult::PlayDone);
        r.input(OpResult::PlayDone);
        r.input(OpResult::Hangup);
        assert_eq!(r.poll(), RetrievalStep::Effect(Effect::MarkHeard(8)));
        assert_eq!(r.poll(), RetrievalStep::Done);
    }

    #[test]
    fn stray_answers_are_ignored() {
        let mut r = Retrieval::new(Some("1".into()));
        r.answer_pin(true);
        r.answer_messages(vec![msg(1, false)]);
        assert_eq!(r.poll(), RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))));
    }
}
