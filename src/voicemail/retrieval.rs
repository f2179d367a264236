//! Listening to messages (`*97`): mailbox and PIN login, the count summary,
//! then each message with a one-key menu (5 repeat, 7 delete, 9 next,
//! 0 mailbox options, # exit), an end menu after the last message (0
//! options, # exit), and the mailbox options (1 record the greeting, 2 erase
//! it, 3 change the PIN, * back). Owns the menu logic, the login attempt
//! limit and the new-PIN rules; must not check PINs, touch files or change
//! the store itself: it asks ([`Query`]) and tells ([`Effect`]), the driver
//! does the work.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::dialplan::ops::{Media, Op, OpResult, RecordEnd};

use super::{number, prompts, MessageInfo};

/// Wrong logins (bad PIN, nothing typed) before the call is ended.
const MAX_LOGIN_ATTEMPTS: u32 = 3;
/// Times a menu is offered again after a timeout before leaving.
const MENU_REPEATS: u32 = 3;
const FIRST_TIMEOUT_MS: u64 = 5000;
const INTER_TIMEOUT_MS: u64 = 3000;
/// Greeting recording: long enough for any greeting, short enough that a
/// forgotten call does not fill the disk.
const GREETING_MAX_MS: u64 = 60_000;
/// Silence that ends a greeting; shorter than a message's because the owner
/// is reading a prepared text, not thinking.
const GREETING_SILENCE_MS: u64 = 3000;
/// Shorter greetings are refused: the owner pressed # at the beep, or the
/// silence cut-off fired on nothing.
const MIN_GREETING_MS: u64 = 1000;
/// New PIN length, the same rule as `mailbox add --pin`.
const PIN_LEN: std::ops::RangeInclusive<usize> = 4..=10;

/// Data the machine needs from the driver before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Answer with [`Retrieval::answer_pin`].
    VerifyPin { mailbox: String, pin: String },
    /// Answer with [`Retrieval::answer_messages`] (in listening order).
    Messages { mailbox: String },
    /// Where to record a new greeting; answer with
    /// [`Retrieval::answer_greeting_path`]. Must not be the current
    /// greeting's file: the recording may still be cancelled, and then the
    /// old greeting has to survive (e.g. `<mailbox>/greeting-<unix ms>.wav`).
    GreetingPath { mailbox: String },
}

/// A change the driver applies; then it polls again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    MarkHeard(i64),
    Delete(i64),
    /// The recording at `path` is the mailbox's greeting from now on (the
    /// store forgets and removes the previous one).
    SetGreeting { mailbox: String, path: PathBuf },
    /// Back to the spoken default greeting (the old file is removed).
    ClearGreeting { mailbox: String },
    /// A new PIN, already checked: 4 to 10 digits, typed twice alike.
    SetPin { mailbox: String, pin: String },
    /// A greeting recorded into this path is not kept (too short,
    /// cancelled, hang-up): delete the file if it exists.
    DiscardRecording(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrievalStep {
    /// Perform and answer with `input`.
    Op(Op),
    /// Answer with `answer_pin` / `answer_messages` / `answer_greeting_path`.
    Need(Query),
    /// Apply, no answer; returned once.
    Effect(Effect),
    /// Finished (hang up).
    Done,
}

/// The one-key menus; they share the timeout and invalid-key handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MenuKind {
    /// After a message: 5 7 9 0 #.
    Message,
    /// After the last message (or an empty mailbox): 0 #.
    End,
    /// Mailbox options: 1 2 3 *.
    Options,
    /// A just-recorded greeting played back: 1 keep, 2 again, 3 cancel.
    Review,
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
    Menu(MenuKind),
    Deleted,
    /// Playing "invalid", then the menu again.
    Invalid(MenuKind),
    GreetingPath,
    /// "Record your greeting after the tone…".
    GreetingIntro,
    RecordGreeting,
    NewPin,
    ReenterPin { pin: String },
    /// Playing a notice (saved, erased, PIN changed, mismatch…), then the
    /// options menu again.
    Notice(&'static str),
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
    /// Where a new greeting is recorded (the driver's answer).
    greeting: Option<PathBuf>,
    effects: VecDeque<Effect>,
    state: State,
}

fn collect(prompt: &str, max: u32, terminator: Option<char>) -> Op {
    collect_items(prompts(&[prompt]), max, terminator)
}

fn collect_items(prompts: Vec<Media>, max: u32, terminator: Option<char>) -> Op {
    Op::Collect {
        prompts,
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
            greeting: None,
            effects: VecDeque::new(),
            state: if ask_mailbox { State::AskMailbox } else { State::AskPin },
        }
    }

    fn mailbox(&self) -> String {
        self.mailbox.clone().unwrap_or_default()
    }

    pub fn poll(&mut self) -> RetrievalStep {
        if let Some(e) = self.effects.pop_front() {
            return RetrievalStep::Effect(e);
        }
        match &self.state {
            State::AskMailbox => RetrievalStep::Op(collect("vm-enter-mailbox", 20, Some('#'))),
            State::AskPin => RetrievalStep::Op(collect("vm-enter-pin", 10, Some('#'))),
            State::CheckPin { pin } => RetrievalStep::Need(Query::VerifyPin { mailbox: self.mailbox(), pin: pin.clone() }),
            State::Incorrect { last: false } => RetrievalStep::Op(Op::Play(prompts(&["vm-incorrect"]))),
            State::Incorrect { last: true } => RetrievalStep::Op(Op::Play(prompts(&["vm-incorrect", "goodbye"]))),
            State::LoadMessages => RetrievalStep::Need(Query::Messages { mailbox: self.mailbox() }),
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
            State::Menu(kind) => match self.menu_op(*kind) {
                Some(op) => RetrievalStep::Op(op),
                None => RetrievalStep::Done,
            },
            State::Deleted => RetrievalStep::Op(Op::Play(prompts(&["vm-deleted"]))),
            State::Invalid(_) => RetrievalStep::Op(Op::Play(prompts(&["invalid"]))),
            State::GreetingPath => RetrievalStep::Need(Query::GreetingPath { mailbox: self.mailbox() }),
            State::GreetingIntro => RetrievalStep::Op(Op::Play(prompts(&["vm-record-greeting"]))),
            State::RecordGreeting => match &self.greeting {
                Some(path) => RetrievalStep::Op(Op::Record {
                    path: path.clone(),
                    max_ms: GREETING_MAX_MS,
                    silence_ms: GREETING_SILENCE_MS,
                    beep: true,
                    terminators: "#".into(),
                }),
                // Unreachable by construction (the path is answered first).
                None => RetrievalStep::Done,
            },
            State::NewPin => RetrievalStep::Op(collect("vm-enter-new-pin", 10, Some('#'))),
            State::ReenterPin { .. } => RetrievalStep::Op(collect("vm-reenter-pin", 10, Some('#'))),
            State::Notice(name) => RetrievalStep::Op(Op::Play(prompts(&[*name]))),
            State::Closing(items) => RetrievalStep::Op(Op::Play(items.clone())),
            State::Done => RetrievalStep::Done,
        }
    }

    fn menu_op(&self, kind: MenuKind) -> Option<Op> {
        Some(match kind {
            MenuKind::Message => collect("vm-menu", 1, None),
            // "No more messages" is said again on a repeat: after a timeout
            // the caller may have lost track of where they are.
            MenuKind::End => collect_items(prompts(&["vm-no-more-messages", "vm-end-menu"]), 1, None),
            MenuKind::Options => collect("vm-options", 1, None),
            // The playback is interruptible: a key decides at once.
            MenuKind::Review => {
                let path = self.greeting.clone()?;
                collect_items(vec![Media::File(path), Media::prompt("vm-greeting-review")], 1, None)
            }
        })
    }

    /// The answer to the last `Op`.
    pub fn input(&mut self, result: OpResult) {
        if result == OpResult::Hangup {
            // Effects already decided (a message heard to the end) still apply;
            // a greeting path not yet handed over as the greeting is
            // discarded (a take under review, or nothing recorded yet).
            self.discard_greeting();
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
                self.enter_menu(MenuKind::Message)
            }
            State::Menu(kind) => self.menu_input(kind, &result),
            State::Deleted => self.start_message(self.index),
            State::Invalid(kind) => State::Menu(kind),
            State::GreetingIntro => State::RecordGreeting,
            State::RecordGreeting => match result {
                // Hanging up is not accepting: the greeting is only taken
                // after the owner heard it back and pressed 1.
                OpResult::Recorded { end: RecordEnd::Hangup, .. } => {
                    self.discard_greeting();
                    State::Done
                }
                OpResult::Recorded { duration_ms, .. } if duration_ms >= MIN_GREETING_MS => self.enter_menu(MenuKind::Review),
                _ => {
                    self.discard_greeting();
                    State::Notice("vm-too-short")
                }
            },
            State::NewPin => match typed(&result) {
                Some(pin) if PIN_LEN.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) => State::ReenterPin { pin },
                Some(_) => State::Notice("vm-pin-invalid"),
                // Nothing typed: the owner changed their mind.
                None => self.enter_menu(MenuKind::Options),
            },
            State::ReenterPin { pin } => {
                if typed(&result).as_deref() == Some(pin.as_str()) {
                    self.effects.push_back(Effect::SetPin { mailbox: self.mailbox(), pin });
                    State::Notice("vm-pin-changed")
                } else {
                    State::Notice("vm-pin-mismatch")
                }
            }
            State::Notice(_) => self.enter_menu(MenuKind::Options),
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

    /// The driver's answer to `Query::GreetingPath`: the file to record the
    /// new greeting into (see the query for what it must not be).
    pub fn answer_greeting_path(&mut self, path: PathBuf) {
        if self.state != State::GreetingPath {
            return;
        }
        self.greeting = Some(path);
        self.state = State::GreetingIntro;
    }

    fn login_failed(&mut self) -> State {
        self.failures += 1;
        State::Incorrect { last: self.failures >= MAX_LOGIN_ATTEMPTS }
    }

    /// Plays message `index`, or offers the end menu when there is none left.
    fn start_message(&mut self, index: usize) -> State {
        self.index = index;
        if index < self.messages.len() {
            State::PlayMessage
        } else {
            self.enter_menu(MenuKind::End)
        }
    }

    /// A fresh menu gets its own timeout allowance.
    fn enter_menu(&mut self, kind: MenuKind) -> State {
        self.menu_timeouts = 0;
        State::Menu(kind)
    }

    fn discard_greeting(&mut self) {
        if let Some(path) = self.greeting.take() {
            self.effects.push_back(Effect::DiscardRecording(path));
        }
    }

    fn menu_input(&mut self, kind: MenuKind, result: &OpResult) -> State {
        let key = match result {
            OpResult::Digits(d) => d.chars().next(),
            OpResult::Timeout => {
                self.menu_timeouts += 1;
                if self.menu_timeouts <= MENU_REPEATS {
                    return State::Menu(kind);
                }
                if kind == MenuKind::Review {
                    self.discard_greeting();
                }
                return State::Closing(prompts(&["goodbye"]));
            }
            _ => None,
        };
        match (kind, key) {
            (MenuKind::Message, Some('5')) => State::PlayMessage,
            (MenuKind::Message, Some('7')) => {
                if let Some(m) = self.messages.get(self.index) {
                    self.effects.push_back(Effect::Delete(m.id));
                }
                // The list keeps its indices: the next message is index + 1.
                self.index += 1;
                State::Deleted
            }
            (MenuKind::Message, Some('9')) => self.start_message(self.index + 1),
            (MenuKind::Message | MenuKind::End, Some('0')) => self.enter_menu(MenuKind::Options),
            (MenuKind::Message | MenuKind::End, Some('#')) => State::Closing(prompts(&["goodbye"])),
            (MenuKind::Options, Some('1')) => State::GreetingPath,
            (MenuKind::Options, Some('2')) => {
                self.effects.push_back(Effect::ClearGreeting { mailbox: self.mailbox() });
                State::Notice("vm-greeting-erased")
            }
            (MenuKind::Options, Some('3')) => State::NewPin,
            // Back to where the options were asked for: the current
            // message's menu, or the end menu after the last one.
            (MenuKind::Options, Some('*')) if self.index < self.messages.len() => self.enter_menu(MenuKind::Message),
            (MenuKind::Options, Some('*')) => self.enter_menu(MenuKind::End),
            (MenuKind::Review, Some('1')) => match self.greeting.take() {
                Some(path) => {
                    self.effects.push_back(Effect::SetGreeting { mailbox: self.mailbox(), path });
                    State::Notice("vm-greeting-saved")
                }
                None => self.enter_menu(MenuKind::Options),
            },
            // Recorded again into the same file, which overwrites it.
            (MenuKind::Review, Some('2')) => State::GreetingIntro,
            (MenuKind::Review, Some('3')) => {
                self.discard_greeting();
                State::Notice("vm-greeting-cancelled")
            }
            _ => State::Invalid(kind),
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

    const GREETING: &str = "/vm/1001/greeting-new.wav";

    fn options() -> RetrievalStep {
        RetrievalStep::Op(collect("vm-options", 1, None))
    }

    fn record_greeting() -> RetrievalStep {
        RetrievalStep::Op(Op::Record { path: GREETING.into(), max_ms: 60_000, silence_ms: 3000, beep: true, terminators: "#".into() })
    }

    fn review() -> RetrievalStep {
        RetrievalStep::Op(collect_items(vec![Media::File(GREETING.into()), Media::prompt("vm-greeting-review")], 1, None))
    }

    fn recorded(duration_ms: u64, end: RecordEnd) -> OpResult {
        OpResult::Recorded { duration_ms, end }
    }

    fn effects(steps: &[RetrievalStep]) -> Vec<Effect> {
        steps
            .iter()
            .filter_map(|s| match s {
                RetrievalStep::Effect(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// Logged into an empty mailbox, past the summary, at the options menu.
    fn at_options() -> Retrieval {
        let mut r = logged_in(vec![]);
        let steps = run(&mut r, VecDeque::from([OpResult::PlayDone, digits("0")]));
        assert_eq!(steps[1..], [end_menu(), options()]);
        r
    }

    fn end_menu() -> RetrievalStep {
        RetrievalStep::Op(collect_items(prompts(&["vm-no-more-messages", "vm-end-menu"]), 1, None))
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
                // The driver's answer for greeting recordings; other needs
                // are answered by the tests themselves.
                RetrievalStep::Need(Query::GreetingPath { .. }) => r.answer_greeting_path(GREETING.into()),
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
            digits("#"), // end menu
            OpResult::PlayDone, // goodbye
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
                end_menu(),
                play(&["goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn empty_mailbox() {
        let mut r = logged_in(vec![]);
        let steps = run(&mut r, VecDeque::from([OpResult::PlayDone, digits("#"), OpResult::PlayDone]));
        assert_eq!(
            steps,
            vec![
                RetrievalStep::Op(Op::Play(prompts(&["vm-you-have", "0", "vm-new-messages", "vm-and", "0", "vm-old-messages"]))),
                end_menu(),
                play(&["goodbye"]),
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
            digits("#"),        // end menu
            OpResult::PlayDone, // goodbye
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
                end_menu(),
                play(&["goodbye"]),
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

    #[test]
    fn message_menu_offers_options_and_star_goes_back_to_it() {
        let mut r = logged_in(vec![msg(4, false), msg(5, true)]);
        let steps = run(&mut r, VecDeque::from([
            OpResult::PlayDone, // summary
            OpResult::PlayDone, // message 1
            digits("0"),
            digits("*"),
            digits("9"),
            OpResult::PlayDone, // message 2
            digits("#"),
            OpResult::PlayDone, // goodbye
        ]));
        assert_eq!(
            steps[1..],
            [
                message_play("1", 4),
                RetrievalStep::Effect(Effect::MarkHeard(4)),
                menu(),
                options(),
                menu(),
                message_play("2", 5),
                menu(),
                play(&["goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn end_menu_offers_options_star_returns_and_timeouts_leave() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([
            digits("*"),
            digits("5"), // not offered here
            OpResult::PlayDone,
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::Timeout,
            OpResult::PlayDone,
        ]));
        assert_eq!(
            steps,
            [options(), end_menu(), play(&["invalid"]), end_menu(), end_menu(), end_menu(), end_menu(), play(&["goodbye"]), RetrievalStep::Done]
        );
    }

    #[test]
    fn record_greeting_accept() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([
            digits("1"),
            OpResult::PlayDone, // "record after the tone"
            recorded(4200, RecordEnd::Key('#')),
            digits("1"),
            OpResult::PlayDone, // saved
            digits("*"),
            digits("#"),
            OpResult::PlayDone,
        ]));
        assert_eq!(
            steps,
            [
                options(),
                RetrievalStep::Need(Query::GreetingPath { mailbox: "1001".into() }),
                play(&["vm-record-greeting"]),
                record_greeting(),
                review(),
                RetrievalStep::Effect(Effect::SetGreeting { mailbox: "1001".into(), path: GREETING.into() }),
                play(&["vm-greeting-saved"]),
                options(),
                end_menu(),
                play(&["goodbye"]),
                RetrievalStep::Done,
            ]
        );
    }

    #[test]
    fn greeting_path_query_is_idempotent_and_stray_answers_ignored() {
        let mut r = at_options();
        r.answer_greeting_path("/stray.wav".into());
        assert_eq!(r.poll(), options(), "no query asked yet");
        r.input(digits("1"));
        let need = RetrievalStep::Need(Query::GreetingPath { mailbox: "1001".into() });
        assert_eq!(r.poll(), need);
        r.input(OpResult::PlayDone);
        assert_eq!(r.poll(), need, "op results do not answer a query");
        r.answer_greeting_path(GREETING.into());
        r.answer_greeting_path("/second.wav".into());
        assert_eq!(r.poll(), play(&["vm-record-greeting"]));
        r.input(OpResult::PlayDone);
        assert_eq!(r.poll(), record_greeting(), "the first answer is the path");
    }

    #[test]
    fn re_record_then_accept_keeps_the_second_take() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([
            digits("1"),
            OpResult::PlayDone,
            recorded(60_000, RecordEnd::MaxLength),
            digits("2"),
            OpResult::PlayDone,
            recorded(3000, RecordEnd::Silence),
            digits("1"),
            OpResult::PlayDone,
        ]));
        assert_eq!(
            steps[2..],
            [
                play(&["vm-record-greeting"]),
                record_greeting(),
                review(),
                play(&["vm-record-greeting"]),
                record_greeting(),
                review(),
                RetrievalStep::Effect(Effect::SetGreeting { mailbox: "1001".into(), path: GREETING.into() }),
                play(&["vm-greeting-saved"]),
                options(),
            ]
        );
        assert_eq!(effects(&steps).len(), 1, "no discard: the same file was overwritten and kept");
    }

    #[test]
    fn cancel_discards_the_recording() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([
            digits("1"),
            OpResult::PlayDone,
            recorded(5000, RecordEnd::Key('#')),
            digits("4"), // not an option
            OpResult::PlayDone,
            digits("3"),
            OpResult::PlayDone,
        ]));
        assert_eq!(
            steps[3..],
            [
                record_greeting(),
                review(),
                play(&["invalid"]),
                review(),
                RetrievalStep::Effect(Effect::DiscardRecording(GREETING.into())),
                play(&["vm-greeting-cancelled"]),
                options(),
            ]
        );
        assert_eq!(effects(&steps), [Effect::DiscardRecording(GREETING.into())], "never set");
    }

    #[test]
    fn too_short_greeting_is_refused() {
        for (end, ms) in [(RecordEnd::Key('#'), 999), (RecordEnd::Silence, 0), (RecordEnd::MaxLength, 500)] {
            let mut r = at_options();
            let steps = run(&mut r, VecDeque::from([digits("1"), OpResult::PlayDone, recorded(ms, end), OpResult::PlayDone]));
            assert_eq!(
                steps[3..],
                [
                    record_greeting(),
                    RetrievalStep::Effect(Effect::DiscardRecording(GREETING.into())),
                    play(&["vm-too-short"]),
                    options(),
                ],
                "{end:?} {ms}"
            );
        }
        // Exactly the minimum is reviewed.
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([digits("1"), OpResult::PlayDone, recorded(1000, RecordEnd::Key('#'))]));
        assert_eq!(steps.last(), Some(&review()));
        // A good first take, then a too-short second one: the file is dropped.
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([
            digits("1"),
            OpResult::PlayDone,
            recorded(4000, RecordEnd::Key('#')),
            digits("2"),
            OpResult::PlayDone,
            recorded(100, RecordEnd::Key('#')),
        ]));
        assert_eq!(effects(&steps), [Effect::DiscardRecording(GREETING.into())]);
        assert_eq!(r.poll(), play(&["vm-too-short"]));
    }

    #[test]
    fn hangup_during_greeting_recording_or_review_saves_nothing() {
        let discard_then_done = [RetrievalStep::Effect(Effect::DiscardRecording(GREETING.into())), RetrievalStep::Done];
        for hangup in [recorded(8000, RecordEnd::Hangup), OpResult::Hangup] {
            let mut r = at_options();
            let steps = run(&mut r, VecDeque::from([digits("1"), OpResult::PlayDone, hangup.clone()]));
            assert_eq!(steps[3..], [record_greeting(), discard_then_done[0].clone(), RetrievalStep::Done], "{hangup:?}");
        }
        // Hanging up while hearing it back is not accepting it.
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([digits("1"), OpResult::PlayDone, recorded(8000, RecordEnd::Key('#')), OpResult::Hangup]));
        assert_eq!(steps[4..], [review(), discard_then_done[0].clone(), RetrievalStep::Done]);
        assert!(!effects(&steps).iter().any(|e| matches!(e, Effect::SetGreeting { .. })));
        // Hanging up during the intro of a re-record drops the first take too.
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([digits("1"), OpResult::PlayDone, recorded(8000, RecordEnd::Key('#')), digits("2"), OpResult::Hangup]));
        assert_eq!(steps[steps.len() - 2..], discard_then_done);
        // Review timeouts: the take is dropped and the call ends.
        let mut r = at_options();
        let mut inputs = VecDeque::from([digits("1"), OpResult::PlayDone, recorded(8000, RecordEnd::Key('#'))]);
        inputs.extend([OpResult::Timeout, OpResult::Timeout, OpResult::Timeout, OpResult::Timeout, OpResult::PlayDone]);
        let steps = run(&mut r, inputs);
        assert_eq!(
            steps[4..],
            [review(), review(), review(), review(), discard_then_done[0].clone(), play(&["goodbye"]), RetrievalStep::Done]
        );
    }

    #[test]
    fn erase_greeting() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([digits("2"), OpResult::PlayDone, digits("9"), OpResult::PlayDone]));
        assert_eq!(
            steps,
            [
                options(),
                RetrievalStep::Effect(Effect::ClearGreeting { mailbox: "1001".into() }),
                play(&["vm-greeting-erased"]),
                options(),
                play(&["invalid"]),
                options(),
            ]
        );
    }

    fn new_pin() -> RetrievalStep {
        RetrievalStep::Op(collect("vm-enter-new-pin", 10, Some('#')))
    }

    fn reenter_pin() -> RetrievalStep {
        RetrievalStep::Op(collect("vm-reenter-pin", 10, Some('#')))
    }

    #[test]
    fn pin_change_ok() {
        for pin in ["5678", "1234567890"] {
            let mut r = at_options();
            // Ten digits end the collect without '#'.
            let typed = if pin.len() == 10 { pin.to_string() } else { format!("{pin}#") };
            let steps = run(&mut r, VecDeque::from([digits("3"), digits(&typed), digits(&format!("{pin}#")), OpResult::PlayDone]));
            assert_eq!(
                steps,
                [
                    options(),
                    new_pin(),
                    reenter_pin(),
                    RetrievalStep::Effect(Effect::SetPin { mailbox: "1001".into(), pin: pin.into() }),
                    play(&["vm-pin-changed"]),
                    options(),
                ],
                "{pin}"
            );
        }
        // A typed mailbox is the one changed.
        let mut r = Retrieval::new(None);
        r.input(digits("2002#"));
        r.input(digits("1111#"));
        r.answer_pin(true);
        r.answer_messages(vec![]);
        let steps = run(&mut r, VecDeque::from([OpResult::PlayDone, digits("0"), digits("3"), digits("2468#"), digits("2468#")]));
        assert_eq!(effects(&steps), [Effect::SetPin { mailbox: "2002".into(), pin: "2468".into() }]);
    }

    #[test]
    fn pin_change_mismatch() {
        for second in [digits("5679#"), digits("567#"), OpResult::Timeout] {
            let mut r = at_options();
            let steps = run(&mut r, VecDeque::from([digits("3"), digits("5678#"), second.clone(), OpResult::PlayDone]));
            assert_eq!(steps[1..], [new_pin(), reenter_pin(), play(&["vm-pin-mismatch"]), options()], "{second:?}");
            assert!(effects(&steps).is_empty());
        }
    }

    #[test]
    fn pin_change_too_short_or_not_digits() {
        for bad in ["123#", "1#", "12*4#", "*#"] {
            let mut r = at_options();
            let steps = run(&mut r, VecDeque::from([digits("3"), digits(bad), OpResult::PlayDone]));
            assert_eq!(steps[1..], [new_pin(), play(&["vm-pin-invalid"]), options()], "{bad}");
            assert!(effects(&steps).is_empty());
        }
        // Nothing typed: straight back to the options, nothing said.
        for nothing in [OpResult::Timeout, digits("#")] {
            let mut r = at_options();
            let steps = run(&mut r, VecDeque::from([digits("3"), nothing]));
            assert_eq!(steps[1..], [new_pin(), options()]);
        }
    }

    #[test]
    fn options_timeouts_end_the_call() {
        let mut r = at_options();
        let steps = run(&mut r, VecDeque::from([OpResult::Timeout, OpResult::Timeout, OpResult::Timeout, OpResult::Timeout, OpResult::PlayDone]));
        assert_eq!(steps, [options(), options(), options(), options(), play(&["goodbye"]), RetrievalStep::Done]);
    }
}
