//! What the transaction layer reports to its TU (dialog layer / B2BUA core).
//! Owns the event type only.

use super::key::TransactionKey;
use super::peer::Peer;
use crate::sip::message::{Request, Response};

/// RFC 3261 §17 "passes to the TU", as data.
#[derive(Debug, Clone, PartialEq)]
pub enum TxEvent {
    /// A new request created a server transaction. Answer it with
    /// `send_response(key, ..)`. Never ACK or CANCEL (see `Ack`, `Cancel`).
    NewRequest {
        key: TransactionKey,
        request: Request,
        source: Peer,
    },
    /// An ACK outside any transaction: the ACK for a 2xx (§17.2.3, §13.3.1.4),
    /// for the dialog layer. `key` is `Some` when it matched an INVITE server
    /// transaction in the RFC 6026 Accepted state.
    Ack {
        key: Option<TransactionKey>,
        request: Request,
        source: Peer,
    },
    /// A response for a client transaction: provisional, final, and (RFC 6026
    /// Accepted state) 2xx retransmissions so the TU can re-send its ACK.
    Response {
        key: TransactionKey,
        response: Response,
    },
    /// A response matching no client transaction (§17.1.3 "stray"); a B2BUA
    /// still needs 2xx retransmissions after the transaction is gone.
    StrayResponse { response: Response, source: Peer },
    /// §9.2: a CANCEL matched the INVITE server transaction `invite_key`,
    /// which is still Proceeding. The layer already answered the CANCEL with
    /// 200; the TU should answer the INVITE with 487, reusing `to_tag` if it
    /// has sent no tagged response yet (§9.2 "SHOULD be the same").
    Cancel {
        invite_key: TransactionKey,
        request: Request,
        to_tag: String,
    },
    /// Timer B or F (no final response), Timer H (no ACK for our non-2xx
    /// final), or the §9.1 CANCEL guard (no final response after CANCEL).
    Timeout { key: TransactionKey },
    /// The driver reported a send failure (§17.1.4, §17.2.4).
    TransportError { key: TransactionKey },
    /// The transaction is gone; its key is free again. Always the last event
    /// for a key.
    Terminated { key: TransactionKey },
}
