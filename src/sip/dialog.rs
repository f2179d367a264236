//! Dialog state (RFC 3261 §12): identifiers, CSeq spaces, remote target and
//! route set, and building requests within a dialog. Sans-IO and free of any
//! call logic; the B2BUA keeps one `Dialog` per leg.

use super::message::{
    CSeq, HeaderName, Headers, Method, NameAddr, ParseError, Request, Response, Uri,
};

/// An established or early dialog as seen from our side.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our address (From of our requests), without tag.
    pub local_uri: NameAddr,
    /// The peer's address (To of our requests), without tag.
    pub remote_uri: NameAddr,
    pub local_seq: u32,
    pub remote_seq: Option<u32>,
    /// Where in-dialog requests go: the peer's Contact (§12.1.1, §12.1.2).
    pub remote_target: Uri,
    /// Record-Route set in the order our requests must visit it.
    pub route_set: Vec<NameAddr>,
}

/// Why an in-dialog request was refused (§12.2.2); carries the status to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// CSeq lower than one already seen: 500 per §12.2.2.
    #[error("CSeq {got} is lower than {seen}")]
    CSeqOutOfOrder { got: u32, seen: u32 },
    /// A header the dialog needs was missing or broken.
    #[error("{0}")]
    Malformed(#[from] ParseError),
}

impl DialogError {
    pub fn status(&self) -> u16 {
        match self {
            DialogError::CSeqOutOfOrder { .. } => 500,
            DialogError::Malformed(e) => e.status,
        }
    }
}

fn without_tag(mut a: NameAddr) -> NameAddr {
    a.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
    a
}

fn first_contact_uri(headers: &Headers) -> Result<Option<Uri>, ParseError> {
    Ok(headers.contacts()?.into_iter().find_map(|c| match c {
        super::message::Contact::Addr(a) => Some(a.uri),
        super::message::Contact::Star => None,
    }))
}

impl Dialog {
    /// UAS side, from a dialog-creating request we answer with `local_tag` (§12.1.1).
    pub fn uas(req: &Request, local_tag: &str) -> Result<Dialog, ParseError> {
        let from = req.headers.from_addr()?;
        let to = req.headers.to_addr()?;
        let call_id = req.headers.call_id().ok_or_else(|| ParseError::semantic("Missing Call-ID"))?;
        let remote_target = first_contact_uri(&req.headers)?.ok_or_else(|| ParseError::semantic("Missing Contact"))?;
        Ok(Dialog {
            call_id: call_id.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: from.tag().unwrap_or_default().to_string(),
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            local_seq: rand::random::<u16>() as u32 + 1,
            remote_seq: Some(req.headers.cseq()?.seq),
            remote_target,
            route_set: req.headers.name_addr_list(&HeaderName::RecordRoute)?,
        })
    }

    /// UAC side, from our request and a response carrying a To tag (§12.1.2).
    /// The route set is the Record-Route of the response, reversed.
    pub fn uac(req: &Request, resp: &Response) -> Result<Dialog, ParseError> {
        let from = req.headers.from_addr()?;
        let to = resp.headers.to_addr()?;
        let call_id = req.headers.call_id().ok_or_else(|| ParseError::semantic("Missing Call-ID"))?;
        let mut route_set = resp.headers.name_addr_list(&HeaderName::RecordRoute)?;
        route_set.reverse();
        let remote_target = first_contact_uri(&resp.headers)?.unwrap_or_else(|| req.uri.clone());
        Ok(Dialog {
            call_id: call_id.to_string(),
            local_tag: from.tag().unwrap_or_default().to_string(),
            remote_tag: to.tag().unwrap_or_default().to_string(),
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            local_seq: req.headers.cseq()?.seq,
            remote_seq: None,
            remote_target,
            route_set,
        })
    }

    /// Builds a request within the dialog (§12.2.1.1). `via` is the full Via
    /// value (with a fresh branch) and `contact` our Contact URI text. ACK and
    /// CANCEL reuse `cseq_override`; every other method takes the next CSeq.
    pub fn request(&mut self, method: Method, via: &str, contact: &str, cseq_override: Option<u32>) -> Request {
        let seq = match cseq_override {
            Some(s) => s,
            None => {
                self.local_seq = self.local_seq.wrapping_add(1);
                self.local_seq
            }
        };
        let (uri, routes) = self.target_and_routes();
        let mut headers = Headers::default();
        headers.push(HeaderName::Via, via);
        for r in routes {
            headers.push(HeaderName::Route, r);
        }
        headers.push(HeaderName::MaxForwards, "70");
        headers.push(HeaderName::From, format!("{};tag={}", self.local_uri, self.local_tag));
        headers.push(HeaderName::To, format!("{};tag={}", self.remote_uri, self.remote_tag));
        headers.push(HeaderName::CallId, self.call_id.clone());
        headers.push(HeaderName::CSeq, CSeq { seq, method: method.clone() }.to_string());
        if method != Method::Ack && method != Method::Bye && method != Method::Cancel {
            headers.push(HeaderName::Contact, format!("<{contact}>"));
        }
        Request { method, uri, headers, body: Vec::new() }
    }

    /// Loose routing when the first route has `lr` (§12.2.1.1), strict
    /// routing otherwise (the remote target goes last in Route).
    fn target_and_routes(&self) -> (Uri, Vec<String>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = first.uri.as_sip().map(|u| u.param("lr").is_some()).unwrap_or(false);
        if loose {
            (self.remote_target.clone(), self.route_set.iter().map(|r| r.to_string()).collect())
        } else {
            let mut uri = first.uri.clone();
            if let Uri::Sip(u) = &mut uri {
                u.params.retain(|p| p.name.eq_ignore_ascii_case("transport"));
                u.headers.clear();
            }
            let mut routes: Vec<String> = self.route_set[1..].iter().map(|r| r.to_string()).collect();
            routes.push(format!("<{}>", self.remote_target));
            (uri, routes)
        }
    }

    /// Checks an incoming in-dialog request (§12.2.2) and applies a target
    /// refresh (re-INVITE, UPDATE) to the remote target.
    pub fn on_request(&mut self, req: &Request) -> Result<(), DialogError> {
        let cseq = req.headers.cseq()?;
        if req.method != Method::Ack && req.method != Method::Cancel {
            if let Some(seen) = self.remote_seq {
                if cseq.seq <= seen {
                    return Err(DialogError::CSeqOutOfOrder { got: cseq.seq, seen });
                }
            }
            self.remote_seq = Some(cseq.seq);
        }
        if matches!(req.method, Method::Invite | Method::Update) {
            if let Some(uri) = first_contact_uri(&req.headers)? {
                self.remote_target = uri;
            }
        }
        Ok(())
    }

    /// A 2xx to our target-refresh request updates the remote target (§12.2.1.2).
    pub fn on_refresh_response(&mut self, resp: &Response) {
        if let Ok(Some(uri)) = first_contact_uri(&resp.headers) {
            self.remote_target = uri;
        }
    }

    /// Whether `req` (by Call-ID and tags) belongs to this dialog.
    pub fn matches_request(&self, req: &Request) -> bool {
        let from_tag = req.headers.from_addr().ok().and_then(|a| a.tag().map(str::to_string));
        let to_tag = req.headers.to_addr().ok().and_then(|a| a.tag().map(str::to_string));
        req.headers.call_id() == Some(self.call_id.as_str())
            && from_tag.as_deref() == Some(self.remote_tag.as_str())
            && to_tag.as_deref() == Some(self.local_tag.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{parse_message, Message};

    fn req(text: &str) -> Request {
        match parse_message(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => panic!("not a request"),
        }
    }
    fn resp(text: &str) -> Response {
        match parse_message(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Response(r) => r,
            _ => panic!("not a response"),
        }
    }

    const INVITE: &str = "INVITE sip:1002@10.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa\nMax-Forwards: 70\nFrom: \"A\" <sip:1001@10.0.0.1>;tag=aaa\nTo: <sip:1002@10.0.0.1>\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:1001@10.0.0.2:5060>\nRecord-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\nContent-Length: 0\n\n";

    #[test]
    fn uas_dialog_and_cseq_checks() {
        let invite = req(INVITE);
        let mut d = Dialog::uas(&invite, "bbb").unwrap();
        assert_eq!(d.remote_tag, "aaa");
        assert_eq!(d.remote_target.to_string(), "sip:1001@10.0.0.2:5060");
        assert_eq!(d.route_set.len(), 2);
        let bye = d.request(Method::Bye, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx", "sip:sb@10.0.0.1", None);
        assert_eq!(bye.uri.to_string(), "sip:1001@10.0.0.2:5060", "loose routing keeps the target");
        let routes: Vec<_> = bye.headers.get_all(&HeaderName::Route).collect();
        assert_eq!(routes.len(), 2);
        assert!(routes[0].contains("p1.example"), "UAS uses Record-Route in order: {routes:?}");
        assert_eq!(bye.headers.to_addr().unwrap().tag(), Some("aaa"));
        assert_eq!(bye.headers.from_addr().unwrap().tag(), Some("bbb"));

        let mut reinvite = req(&INVITE.replace("To: <sip:1002@10.0.0.1>", "To: <sip:1002@10.0.0.1>;tag=bbb")
            .replace("CSeq: 7", "CSeq: 8")
            .replace("sip:1001@10.0.0.2:5060>", "sip:1001@10.0.0.9:5062>"));
        assert!(d.matches_request(&reinvite));
        d.on_request(&reinvite).unwrap();
        assert_eq!(d.remote_target.to_string(), "sip:1001@10.0.0.9:5062", "target refresh");
        reinvite.headers.set(HeaderName::CSeq, "8 INVITE");
        assert_eq!(d.on_request(&reinvite).unwrap_err().status(), 500);
    }

    #[test]
    fn uac_dialog_reverses_route_set_and_strict_routes() {
        let invite = req(&INVITE.replace("Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\n", ""));
        let ok = resp("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa\nFrom: \"A\" <sip:1001@10.0.0.1>;tag=aaa\nTo: <sip:1002@10.0.0.1>;tag=zzz\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:1002@10.0.0.3>\nRecord-Route: <sip:p2.example>\nRecord-Route: <sip:p1.example;lr>\nContent-Length: 0\n\n");
        let mut d = Dialog::uac(&invite, &ok).unwrap();
        assert_eq!((d.local_tag.as_str(), d.remote_tag.as_str()), ("aaa", "zzz"));
        assert_eq!(d.route_set[0].uri.to_string(), "sip:p1.example;lr");
        let ack = d.request(Method::Ack, "SIP/2.0/UDP x;branch=z9hG4bKy", "sip:sb@x", Some(7));
        assert_eq!(ack.headers.cseq().unwrap().seq, 7);
        assert_eq!(ack.uri.to_string(), "sip:1002@10.0.0.3");
        let bye = d.request(Method::Bye, "SIP/2.0/UDP x;branch=z9hG4bKz", "sip:sb@x", None);
        assert_eq!(bye.headers.cseq().unwrap().seq, 8);
        // Strict route: first route becomes the Request-URI, target goes last.
        d.route_set = vec![crate::sip::message::parse_name_addr("<sip:strict.example>").unwrap()];
        let bye2 = d.request(Method::Bye, "SIP/2.0/UDP x;branch=z9hG4bKw", "sip:sb@x", None);
        assert_eq!(bye2.uri.to_string(), "sip:strict.example");
        assert!(bye2.headers.get(&HeaderName::Route).unwrap().contains("sip:1002@10.0.0.3"));
    }
}
