//! Errors the transaction layer returns to its TU. Owns only the error type;
//! network input never produces these (bad input is answered or dropped).

use super::key::TransactionKey;

/// Why a TU command (`send_request`, `send_response`, ...) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// A header needed for matching (Via, CSeq, Call-ID, From, To) is missing or unparsable.
    #[error("message cannot be matched to a transaction: {0}")]
    Unmatchable(String),
    /// The top Via of a request we send must carry an RFC 3261 branch (§8.1.1.7).
    #[error("top Via has no branch starting with z9hG4bK")]
    MissingBranch,
    /// ACK never starts a client transaction (§17.1.1.3 builds it inside; ACK for 2xx goes `send_stateless`).
    #[error("{0} cannot start a client transaction")]
    MethodNotAllowed(String),
    /// A transaction with the same key is still alive (branch reuse).
    #[error("transaction {0} already exists")]
    Duplicate(TransactionKey),
    /// No live transaction has this key (it terminated, or never existed).
    #[error("no transaction {0}")]
    NoSuchTransaction(TransactionKey),
    /// The key names a client transaction where a server one is needed, or vice versa.
    #[error("transaction {0} has the wrong role for this operation")]
    WrongRole(TransactionKey),
    /// Status codes are 100..=699 (§7.2).
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// The state machine cannot send this status now (e.g. a second final response).
    #[error("transaction {key} cannot send {status} in state {state}")]
    WrongState {
        key: TransactionKey,
        status: u16,
        state: &'static str,
    },
}
