//! Address bookkeeping at the endpoint edge: RFC 3581 `received`/`rport`
//! stamping of incoming requests and picking the local address that routes
//! to a peer (for Via, Contact and SDP when bound to 0.0.0.0).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::sip::message::{parse_via_list, HeaderName, Host, Param, Request};

/// RFC 3261 §18.2.1 + RFC 3581 §4: add `received` when the sent-by host is
/// not the packet's source address, and fill an empty `rport`.
pub fn stamp_received(req: &mut Request, source: SocketAddr) {
    let Some(pos) = req.headers.0.iter().position(|h| h.name == HeaderName::Via) else { return };
    let Ok(mut vias) = parse_via_list(&req.headers.0[pos].value) else { return };
    let Some(top) = vias.first_mut() else { return };
    let sent_by_ip = match &top.host {
        Host::V4(ip) => Some(IpAddr::V4(*ip)),
        Host::V6(ip) => Some(IpAddr::V6(*ip)),
        Host::Domain(_) => None,
    };
    let mut changed = false;
    let has_rport = top.params.iter().any(|p| p.name.eq_ignore_ascii_case("rport"));
    if sent_by_ip != Some(source.ip()) || has_rport {
        set_param(&mut top.params, "received", &source.ip().to_string());
        changed = true;
    }
    if let Some(p) = top.params.iter_mut().find(|p| p.name.eq_ignore_ascii_case("rport")) {
        if p.value.is_none() {
            p.value = Some(source.port().to_string());
            changed = true;
        }
    }
    if changed {
        let rendered: Vec<String> = vias.iter().map(|v| v.to_string()).collect();
        req.headers.0[pos].value = rendered.join(", ");
    }
}

fn set_param(params: &mut Vec<Param>, name: &str, value: &str) {
    match params.iter_mut().find(|p| p.name.eq_ignore_ascii_case(name)) {
        Some(p) => p.value = Some(value.to_string()),
        None => params.push(Param { name: name.to_string(), value: Some(value.to_string()) }),
    }
}

/// The local IP the kernel would use to reach `dest` (a connected UDP socket
/// sends nothing). Falls back to the unspecified address's loopback.
pub fn local_ip_for(dest: SocketAddr) -> IpAddr {
    let (bind, fallback): (SocketAddr, IpAddr) = match dest {
        SocketAddr::V4(_) => ((Ipv4Addr::UNSPECIFIED, 0).into(), Ipv4Addr::LOCALHOST.into()),
        SocketAddr::V6(_) => ((Ipv6Addr::UNSPECIFIED, 0).into(), Ipv6Addr::LOCALHOST.into()),
    };
    UdpSocket::bind(bind)
        .and_then(|s| {
            s.connect(dest)?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{parse_message, Message};

    fn request(via: &str) -> Request {
        let raw = format!("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        match parse_message(raw.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn rport_and_received_are_filled() {
        let mut r = request("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1");
        stamp_received(&mut r, "192.0.2.7:40000".parse().unwrap());
        let v = r.headers.top_via().unwrap();
        assert_eq!(v.param("received"), Some(Some("192.0.2.7")));
        assert_eq!(v.param("rport"), Some(Some("40000")));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn matching_source_without_rport_is_left_alone() {
        let mut r = request("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1");
        stamp_received(&mut r, "192.0.2.7:5060".parse().unwrap());
        assert_eq!(r.headers.top_via().unwrap().param("received"), None);
    }

    #[test]
    fn loopback_routes_via_loopback() {
        assert_eq!(local_ip_for("127.0.0.1:5060".parse().unwrap()), IpAddr::from([127, 0, 0, 1]));
    }
}
