//! SIP message parsing and serialization (RFC 3261 §7, §20, §25; RFC 4475 torture
//! cases). Owns the wire format only: bytes in, `Message` out and back. Must not
//! touch sockets, transactions, dialogs or anything above them.
//!
//! Errors say whether the input was syntactically broken or semantically
//! unusable and carry the status code a server should answer with (400 with a
//! reason phrase, 505 for a wrong version, 513 for oversize).
//!
//! Layout: `scanner` (lexing, character classes) → `uri`, `header` (value
//! grammars) → `parse` (start line, headers, framing) → `validate` (typed
//! checks a server runs after parsing); `serialize` goes the other way.

mod accessors;
mod error;
mod header;
mod parse;
mod scanner;
mod serialize;
mod types;
mod uri;
mod validate;

#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_ipv6;
#[cfg(test)]
mod tests_rfc4475;

pub use error::{ErrorKind, ParseError};
pub use header::{parse_contact_list, parse_cseq, parse_name_addr, parse_name_addr_list, parse_uri, parse_via_list};
pub use parse::{frame_stream, parse_message, Framing};
pub use serialize::ParamList;
pub use types::*;
pub use validate::validate_request;

/// Hard limit on one message, datagram or stream-framed (headers + body).
/// Larger input is refused with 513 before any parsing work.
pub const MAX_MESSAGE_SIZE: usize = 65_535;
