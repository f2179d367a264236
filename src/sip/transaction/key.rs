//! Transaction identity and the matching rules of RFC 3261 §17.1.3 (client)
//! and §17.2.3 (server, including the RFC 2543 fallback). Owns key
//! derivation only; which machine a key maps to is the layer's business.

use std::fmt;

use super::error::TransactionError;
use super::helpers::{canonical_host, canonical_uri, canonical_via};
use crate::sip::message::{Method, Request, Response};

/// RFC 3261 §8.1.1.7: branches starting with this were built by a 3261 stack
/// and are unique per transaction, so they alone (plus sent-by and method)
/// identify it.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Which side of the transaction we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Client,
    Server,
}

/// Identifies one transaction. ACK is keyed with method INVITE so it finds
/// the INVITE server transaction (§17.2.3); CANCEL keeps its own method and
/// is therefore its own transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey {
    role: Role,
    matcher: Matcher,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Matcher {
    /// §17.1.3 / §17.2.3 rule 1. `sent_by` is empty for client keys: the
    /// branch is ours, so it is unique without it.
    Branch {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// §17.2.3 fallback for RFC 2543 peers. Boxed: rare, and large.
    Rfc2543(Box<LegacyKey>),
}

/// §17.2.3 fallback for RFC 2543 peers (no magic cookie): Request-URI, To
/// tag, From tag, Call-ID, CSeq and top Via, all canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct LegacyKey {
    request_uri: String,
    to_tag: Option<String>,
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    method: String,
    top_via: String,
}

fn bad(e: impl fmt::Display) -> TransactionError {
    TransactionError::Unmatchable(e.to_string())
}

/// ACK belongs to the INVITE transaction it acknowledges (§17.2.3).
fn key_method(m: &Method) -> String {
    match m {
        Method::Ack => Method::Invite.as_str().to_string(),
        other => other.as_str().to_string(),
    }
}

impl TransactionKey {
    pub fn role(&self) -> Role {
        self.role
    }

    /// The method this key matches (INVITE for an ACK).
    pub fn method(&self) -> &str {
        match &self.matcher {
            Matcher::Branch { method, .. } => method,
            Matcher::Rfc2543(k) => &k.method,
        }
    }

    /// The Via branch, for RFC 3261 keys.
    pub fn branch(&self) -> Option<&str> {
        match &self.matcher {
            Matcher::Branch { branch, .. } => Some(branch),
            Matcher::Rfc2543(_) => None,
        }
    }

    pub fn is_rfc2543(&self) -> bool {
        matches!(self.matcher, Matcher::Rfc2543(_))
    }

    /// §17.1.3: a response matches the client transaction whose request
    /// carried the response's top-Via branch and whose method equals the
    /// CSeq method.
    pub fn for_response(resp: &Response) -> Result<Self, TransactionError> {
        let via = resp.headers.top_via().map_err(bad)?;
        let branch = via.branch().ok_or_else(|| bad("top Via has no branch"))?;
        let cseq = resp.headers.cseq().map_err(bad)?;
        Ok(TransactionKey::client(branch, &cseq.method))
    }

    /// The key of a client transaction we start for `req`. Our own requests
    /// must carry a magic-cookie branch; anything else could collide.
    pub fn for_client_request(req: &Request) -> Result<Self, TransactionError> {
        let via = req.headers.top_via().map_err(bad)?;
        match via.branch() {
            Some(b) if b.starts_with(BRANCH_MAGIC_COOKIE) => {
                Ok(TransactionKey::client(b, &req.method))
            }
            _ => Err(TransactionError::MissingBranch),
        }
    }

    fn client(branch: &str, method: &Method) -> Self {
        TransactionKey {
            role: Role::Client,
            matcher: Matcher::Branch {
                branch: branch.to_string(),
                sent_by: String::new(),
                method: key_method(method),
            },
        }
    }

    /// §17.2.3: the server transaction an incoming request belongs to.
    pub fn for_server_request(req: &Request) -> Result<Self, TransactionError> {
        let via = req.headers.top_via().map_err(bad)?;
        let method = key_method(&req.method);
        if let Some(branch) = via.branch().filter(|b| b.starts_with(BRANCH_MAGIC_COOKIE)) {
            let sent_by = match via.port {
                Some(p) => format!("{}:{}", canonical_host(&via.host), p),
                None => canonical_host(&via.host),
            };
            return Ok(TransactionKey {
                role: Role::Server,
                matcher: Matcher::Branch {
                    branch: branch.to_string(),
                    sent_by,
                    method,
                },
            });
        }
        let to_tag = req
            .headers
            .to_addr()
            .map_err(bad)?
            .tag()
            .map(str::to_string);
        let from_tag = req
            .headers
            .from_addr()
            .map_err(bad)?
            .tag()
            .map(str::to_string);
        let call_id = req
            .headers
            .call_id()
            .ok_or_else(|| bad("missing Call-ID"))?
            .trim()
            .to_string();
        let cseq = req.headers.cseq().map_err(bad)?.seq;
        Ok(TransactionKey {
            role: Role::Server,
            matcher: Matcher::Rfc2543(Box::new(LegacyKey {
                request_uri: canonical_uri(&req.uri),
                to_tag,
                from_tag,
                call_id,
                cseq,
                method,
                top_via: canonical_via(&via),
            })),
        })
    }

    /// The same identity with another method: CANCEL → INVITE lookup (§9.2).
    pub(crate) fn with_method(&self, m: &Method) -> Self {
        let mut k = self.clone();
        match &mut k.matcher {
            Matcher::Branch { method, .. } => *method = key_method(m),
            Matcher::Rfc2543(k) => k.method = key_method(m),
        }
        k
    }

    /// RFC 2543 ACK for a non-2xx carries the To tag of our response, which
    /// the INVITE did not have: look the INVITE up without it.
    pub(crate) fn without_to_tag(&self) -> Option<Self> {
        match &self.matcher {
            Matcher::Rfc2543(legacy) if legacy.to_tag.is_some() => {
                let mut k = self.clone();
                if let Matcher::Rfc2543(legacy) = &mut k.matcher {
                    legacy.to_tag = None;
                }
                Some(k)
            }
            _ => None,
        }
    }

    /// Same transaction identity apart from the method (finding the
    /// non-INVITE request a CANCEL targets).
    pub(crate) fn same_but_method(&self, other: &Self) -> bool {
        self.role == other.role
            && self.with_method(&Method::Invite) == other.with_method(&Method::Invite)
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Client => "client",
            Role::Server => "server",
        };
        match &self.matcher {
            Matcher::Branch {
                branch,
                sent_by,
                method,
            } if sent_by.is_empty() => {
                write!(f, "{role}/{method}/{branch}")
            }
            Matcher::Branch {
                branch,
                sent_by,
                method,
            } => write!(f, "{role}/{method}/{branch}@{sent_by}"),
            Matcher::Rfc2543(k) => {
                write!(f, "{role}/{}/rfc2543:{}:{}", k.method, k.call_id, k.cseq)
            }
        }
    }
}

/// §8.2.2.2 merged-request identity: From tag, Call-ID and CSeq of a request
/// without a To tag. Two live transactions sharing it arrived by two paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MergeKey {
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    method: String,
}

impl MergeKey {
    /// `None` when the request has a To tag (in-dialog: no merge check).
    pub(crate) fn of(req: &Request) -> Option<Self> {
        let to = req.headers.to_addr().ok()?;
        if to.tag().is_some() {
            return None;
        }
        let cseq = req.headers.cseq().ok()?;
        Some(MergeKey {
            from_tag: req.headers.from_addr().ok()?.tag().map(str::to_string),
            call_id: req.headers.call_id()?.trim().to_string(),
            cseq: cseq.seq,
            method: cseq.method.as_str().to_string(),
        })
    }
}
