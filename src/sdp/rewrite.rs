//! Rewrites a B2BUA applies before forwarding an SDP: anchor a media section on our relay
//! address, change its direction, bump the origin version.
//!
//! Owns: in-place edits of c=, m= port, a=rtcp, direction attributes and o= version.
//! Must not touch: sockets, SIP, offer/answer policy (which codecs to keep is the call layer's).

use std::net::IpAddr;

use super::direction::Direction;
use super::error::SdpError;
use super::model::{addrtype_of, Attribute, Connection, SessionDescription};
use super::query::parse_rtcp_attr;

impl SessionDescription {
    /// Point media section `media_index` at `ip:port` (RTP) and `ip:port+1` (RTCP).
    ///
    /// - `c=`: a media-level line is rewritten in place. Without one, the session-level line is
    ///   rewritten only if no *other* media section still depends on it; otherwise this section
    ///   gets its own `c=` so the others keep their address (RFC 4566 §5.7 scoping).
    /// - `m=` port is replaced; the port count is kept.
    /// - an existing `a=rtcp` (RFC 3605) is rewritten to `port+1`, keeping the explicit-address
    ///   form if it had one; none is added, since port+1 is the default.
    ///
    /// The direction is not touched: a caller forwarding an old-style hold (`c=0.0.0.0`) should
    /// read [`SessionDescription::direction`] first and re-apply it with
    /// [`SessionDescription::set_direction`], because the new address erases the hold marker.
    pub fn set_media_endpoint(
        &mut self,
        media_index: usize,
        ip: IpAddr,
        port: u16,
    ) -> Result<(), SdpError> {
        if media_index >= self.media.len() {
            return Err(SdpError::NoSuchMedia { index: media_index });
        }
        let new_conn = Connection::for_ip(ip);
        let others_depend_on_session = self
            .media
            .iter()
            .enumerate()
            .any(|(i, m)| i != media_index && m.connection.is_none());
        let own = self.media[media_index].connection.is_some(); // index checked above
        let session_matches = self.connection.as_ref() == Some(&new_conn);
        let use_session =
            !own && self.connection.is_some() && (session_matches || !others_depend_on_session);
        if !use_session {
            self.media[media_index].connection = Some(new_conn);
        } else if !session_matches {
            self.connection = Some(new_conn);
        }
        let m = &mut self.media[media_index];
        m.port = port;
        let rtcp_port = port.checked_add(1);
        for a in m.attributes.iter_mut().filter(|a| a.name.trim() == "rtcp") {
            let Some(value) = a.value.as_deref() else {
                continue;
            };
            let had_addr = matches!(parse_rtcp_attr(value), Some((_, Some(_))));
            a.value = match (rtcp_port, had_addr) {
                (Some(p), true) => Some(format!("{p} IN {} {ip}", addrtype_of(ip))),
                (Some(p), false) => Some(p.to_string()),
                // RTP on 65535 leaves no room for RTCP; PortPair never hands that out.
                (None, _) => Some("0".to_owned()),
            };
        }
        Ok(())
    }

    /// Set the direction of media section `media_index` with a media-level attribute, replacing
    /// any media-level direction attribute in place (RFC 3264 §5.1, §8.4). A session-level
    /// direction is left alone; the media-level one overrides it.
    pub fn set_direction(&mut self, media_index: usize, dir: Direction) -> Result<(), SdpError> {
        let m = self
            .media
            .get_mut(media_index)
            .ok_or(SdpError::NoSuchMedia { index: media_index })?;
        let is_dir = |a: &Attribute| a.value.is_none() && Direction::from_attr(&a.name).is_some();
        match m.attributes.iter().position(is_dir) {
            Some(pos) => {
                m.attributes[pos] = Attribute::property(dir.as_str()); // pos from position()
                let mut i = 0;
                m.attributes.retain(|a| {
                    let keep = i <= pos || !is_dir(a);
                    i += 1;
                    keep
                });
            }
            None => m.attributes.push(Attribute::property(dir.as_str())),
        }
        Ok(())
    }

    /// Increment `o=` sess-version, as every new offer in a session must (RFC 3264 §8).
    /// Wraps at u64::MAX, which no real session reaches.
    pub fn bump_version(&mut self) {
        self.origin.session_version = self.origin.session_version.wrapping_add(1);
    }
}
