//! Typed views onto headers, parsed on demand, plus the response builder of
//! RFC 3261 §8.2.6.2. Implementations of the header grammars live in `header`.

use super::error::ParseError;
use super::header::{parse_contact_list, parse_name_addr, parse_via_list};
use super::types::*;

impl Headers {
    /// First value of `name`, if present.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0.iter().find(|h| &h.name == name).map(|h| h.value.as_str())
    }
    /// Every value of `name` in wire order (one entry per header line).
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |h| &h.name == name).map(|h| h.value.as_str())
    }
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push(Header { name, value: value.into() });
    }
    /// Insert before every other header (a proxy adding its Via).
    pub fn prepend(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.insert(0, Header { name, value: value.into() });
    }
    /// Replace all lines of `name` with one line (appended if absent).
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let value = value.into();
        if let Some(pos) = self.0.iter().position(|h| h.name == name) {
            self.0[pos].value = value;
            let mut i = 0;
            self.0.retain(|h| {
                let keep = h.name != name || i == pos;
                i += 1;
                keep
            });
        } else {
            self.push(name, value);
        }
    }
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }
    /// Typed views shared by requests and responses.
    pub fn call_id(&self) -> Option<&str> {
        self.get(&HeaderName::CallId)
    }
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self.get(&HeaderName::CSeq).ok_or_else(|| ParseError::semantic("Missing CSeq"))?;
        super::header::parse_cseq(v)
    }
    /// All Via entries across all Via lines, topmost first.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let mut out = Vec::new();
        for v in self.get_all(&HeaderName::Via) {
            out.extend(parse_via_list(v)?);
        }
        Ok(out)
    }
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let v = self.get(&HeaderName::Via).ok_or_else(|| ParseError::semantic("Missing Via"))?;
        parse_via_list(v)?.into_iter().next().ok_or_else(|| ParseError::semantic("Empty Via"))
    }
    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        parse_name_addr(self.get(&HeaderName::From).ok_or_else(|| ParseError::semantic("Missing From"))?)
    }
    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        parse_name_addr(self.get(&HeaderName::To).ok_or_else(|| ParseError::semantic("Missing To"))?)
    }
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        let mut out = Vec::new();
        for v in self.get_all(&HeaderName::Contact) {
            out.extend(parse_contact_list(v)?);
        }
        Ok(out)
    }
    /// Route / Record-Route entries in order, across lines.
    pub fn name_addr_list(&self, name: &HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        let mut out = Vec::new();
        for v in self.get_all(name) {
            out.extend(super::header::parse_name_addr_list(v)?);
        }
        Ok(out)
    }
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.uint(&HeaderName::MaxForwards)
    }
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.uint(&HeaderName::Expires)
    }
    fn uint(&self, name: &HeaderName) -> Result<Option<u32>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| ParseError::semantic(format!("Bad {} value", name.as_str()))),
        }
    }
}

impl Via {
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
    /// RFC 3261 §8.1.1.7 branch; `None` for RFC 2543 peers.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }
}

impl NameAddr {
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }
}

impl SipUri {
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

impl Uri {
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other { .. } => None,
        }
    }
    /// The user part of a sip/sips URI (extension number, DID).
    pub fn user(&self) -> Option<&str> {
        self.as_sip().and_then(|u| u.user.as_deref())
    }
}

/// Case-insensitive parameter lookup; outer `Option` is presence, inner the value.
pub fn find_param<'a>(params: &'a [Param], name: &str) -> Option<Option<&'a str>> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value.as_deref())
}

impl Request {
    pub fn call_id(&self) -> Option<&str> {
        self.headers.call_id()
    }
}

impl Response {
    /// RFC 3261 §8.2.6.2: copy Via (all), From, To, Call-ID and CSeq from the
    /// request. The caller adds a To tag where one is needed.
    pub fn for_request(req: &Request, status: u16, reason: impl Into<String>) -> Response {
        let mut headers = Headers::default();
        for h in &req.headers.0 {
            if matches!(
                h.name,
                HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq
            ) {
                headers.0.push(h.clone());
            }
        }
        Response { status, reason: reason.into(), headers, body: Vec::new() }
    }
    pub fn call_id(&self) -> Option<&str> {
        self.headers.call_id()
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }
}
