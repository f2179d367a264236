//! A tiny blocking HTTP/1.1 client for tests of the console and API: one
//! request per connection, headers in, status, headers and body out.
//! Enough for pages and JSON; not for chunked streams.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The CSRF token a console page carries in its `csrf-token` meta.
    pub fn csrf_token(&self) -> String {
        let at = self.body.find("name=\"csrf-token\" content=\"").unwrap_or_else(|| panic!("no csrf meta: {}", self.body));
        let rest = &self.body[at + 27..];
        rest[..rest.find('"').expect("end of token")].to_string()
    }

    /// The value a `Set-Cookie` gives cookie `name`, and the whole header.
    pub fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")).map(|rest| (rest.split(';').next().unwrap_or("").to_string(), v.clone())))
    }
}

/// Sends one request to 127.0.0.1:`port`. Status 0: no answer.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let empty = Resp { status: 0, headers: Vec::new(), body: String::new() };
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return empty };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let head = request_head(&format!("127.0.0.1:{port}"), method, path, headers, body.len());
    if s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)).is_err() {
        return empty;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

/// The request [`request`] sends (`Connection: close`, `Content-Length`).
pub fn request_head(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body_len: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {body_len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A whole HTTP/1.1 answer read to the end; status 0 when there is none.
pub fn parse_response(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return Resp { status: 0, headers: Vec::new(), body: String::new() } };
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Resp { status, headers, body: body.to_string() }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form body from pairs.
pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&").into_bytes()
}
