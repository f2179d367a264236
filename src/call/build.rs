//! Message builders shared by the call layer: responses with our Server
//! header, our Via and Contact toward a given peer.

use std::net::SocketAddr;

use super::Ctx;
use crate::sip::message::{HeaderName, Request, Response};
use crate::sip::transaction::{new_branch, new_tag, Peer, Transport};

/// Methods we implement, for Allow headers (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, SUBSCRIBE";

pub fn response(ctx: &Ctx, req: &Request, status: u16, reason: &str) -> Response {
    let mut resp = Response::for_request(req, status, reason);
    resp.headers.push(HeaderName::Server, ctx.config.sip.user_agent.clone());
    resp
}

/// Adds a To tag unless one is present (§8.2.6.2).
pub fn ensure_to_tag(resp: &mut Response) {
    let tagged = resp.headers.to_addr().map(|a| a.tag().is_some()).unwrap_or(true);
    if !tagged {
        tag_to(resp, &new_tag());
    }
}

/// Sets the To tag to `tag` (replacing nothing if one exists).
pub fn tag_to(resp: &mut Response, tag: &str) {
    if let Ok(to) = resp.headers.to_addr() {
        if to.tag().is_none() {
            resp.headers.set(HeaderName::To, format!("{to};tag={tag}"));
        }
    }
}

fn transport_token(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
        _ => "UDP",
    }
}

/// Our address as seen from `dest` (the SIP port; for the IP only).
pub fn local_for(ctx: &Ctx, dest: SocketAddr) -> SocketAddr {
    ctx.endpoint.via_addr_for(dest)
}

/// Our address as seen from `dest` over its transport (the TLS port for TLS).
pub fn local_for_peer(ctx: &Ctx, dest: &Peer) -> SocketAddr {
    ctx.endpoint.via_addr_for_peer(dest)
}

/// A Via value with a fresh branch and `rport` (RFC 3581) for `dest`.
pub fn via(ctx: &Ctx, dest: &Peer) -> String {
    let local = local_for_peer(ctx, dest);
    format!("SIP/2.0/{} {};branch={};rport", transport_token(dest.transport), local, new_branch())
}

/// Our Contact URI toward `dest` (without angle brackets).
pub fn contact(ctx: &Ctx, dest: &Peer) -> String {
    let local = local_for_peer(ctx, dest);
    match dest.transport {
        Transport::Tcp => format!("sip:switchboard@{local};transport=tcp"),
        Transport::Tls => format!("sip:switchboard@{local};transport=tls"),
        _ => format!("sip:switchboard@{local}"),
    }
}

/// Host part for From/To URIs we originate toward `dest`.
pub fn host_for(ctx: &Ctx, dest: &Peer) -> String {
    local_for_peer(ctx, dest).to_string()
}
