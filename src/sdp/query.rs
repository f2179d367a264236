//! Read-only helpers a B2BUA needs: where to send RTP/RTCP for a media section, and in which
//! direction media flows.
//!
//! Owns: interpretation of c=, m= port, a=rtcp (RFC 3605), a=rtcp-mux (RFC 5761) and the direction
//! attributes. Must not touch: sockets (it returns addresses; the media module uses them), SIP.

use std::net::{IpAddr, SocketAddr};

use super::direction::Direction;
use super::model::{Attribute, SessionDescription};

impl SessionDescription {
    /// The connection address for media section `media_index`: its own `c=` overrides the
    /// session-level one (RFC 4566 §5.7). `None` if the index is out of range or the address is a
    /// host name rather than an IP.
    pub fn connection_for(&self, media_index: usize) -> Option<IpAddr> {
        let m = self.media.get(media_index)?;
        m.connection.as_ref().or(self.connection.as_ref())?.ip()
    }

    /// Where to send RTP for media section `media_index`. `None` when the stream is disabled
    /// (port 0, RFC 3264 §6) or has no usable address.
    pub fn rtp_endpoint(&self, media_index: usize) -> Option<SocketAddr> {
        let m = self.media.get(media_index)?;
        if m.port == 0 {
            return None;
        }
        Some(SocketAddr::new(self.connection_for(media_index)?, m.port))
    }

    /// Where to send RTCP for media section `media_index`.
    ///
    /// `a=rtcp:<port> [IN IP4 <addr>]` wins (RFC 3605 §2.1); otherwise RTP port + 1 on the RTP
    /// address (RFC 3550 §11). A malformed `a=rtcp` is ignored rather than failing the call, the
    /// same as an unknown attribute. RFC 5761 mux is not applied here (an offer's `a=rtcp-mux` is
    /// only a proposal); see [`SessionDescription::rtcp_mux`].
    pub fn rtcp_endpoint(&self, media_index: usize) -> Option<SocketAddr> {
        let rtp = self.rtp_endpoint(media_index)?;
        let m = self.media.get(media_index)?;
        if let Some((port, addr)) = m
            .attribute("rtcp")
            .and_then(|a| parse_rtcp_attr(a.value.as_deref()?))
        {
            return Some(SocketAddr::new(addr.unwrap_or(rtp.ip()), port));
        }
        Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?))
    }

    /// Whether media section `media_index` carries `a=rtcp-mux` (RFC 5761 §5.1.1).
    pub fn rtcp_mux(&self, media_index: usize) -> bool {
        self.media
            .get(media_index)
            .is_some_and(|m| m.attribute("rtcp-mux").is_some())
    }

    /// The direction of media section `media_index`: a media-level direction attribute overrides a
    /// session-level one, the default is sendrecv (RFC 3264 §5.1); an unspecified connection
    /// address (`c=0.0.0.0`, RFC 3264 §8.4 old-style hold) additionally means "do not send to me".
    pub fn direction(&self, media_index: usize) -> Option<Direction> {
        let m = self.media.get(media_index)?;
        let declared = first_direction(&m.attributes)
            .or_else(|| first_direction(&self.attributes))
            .unwrap_or(Direction::SendRecv);
        let held = self
            .connection_for(media_index)
            .is_some_and(|ip| ip.is_unspecified());
        Some(if held {
            declared.without_receive()
        } else {
            declared
        })
    }
}

/// The first property attribute that is a direction; directions never carry a value.
fn first_direction(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().find_map(|a| {
        if a.value.is_none() {
            Direction::from_attr(&a.name)
        } else {
            None
        }
    })
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
/// Returns `None` when malformed; the address is `None` when absent.
pub(crate) fn parse_rtcp_attr(value: &str) -> Option<(u16, Option<IpAddr>)> {
    let mut f = value.split_ascii_whitespace();
    let port_s = f.next()?;
    if !port_s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port_s.parse().ok()?;
    match (f.next(), f.next(), f.next(), f.next()) {
        (None, ..) => Some((port, None)),
        (Some(_nettype), Some(_addrtype), Some(addr), None) => {
            Some((port, Some(addr.parse().ok()?)))
        }
        _ => None,
    }
}
