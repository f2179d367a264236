//! The queue the state machines write into and the layer drains through
//! `poll_transmit` / `poll_event`. Owns ordering only.

use std::collections::VecDeque;

use super::event::TxEvent;
use super::key::TransactionKey;
use super::peer::{Peer, Transmit};
use crate::sip::message::Message;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<TxEvent>,
}

impl Outbox {
    pub(crate) fn send(&mut self, dest: &Peer, message: Message, key: Option<&TransactionKey>) {
        self.transmits.push_back(Transmit {
            dest: dest.clone(),
            message,
            key: key.cloned(),
        });
    }
    pub(crate) fn event(&mut self, ev: TxEvent) {
        self.events.push_back(ev);
    }
}
