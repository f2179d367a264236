//! SIP messages out of a SIPp `-trace_msg` log, for tests that look at
//! what a SIPp peer received and sent (requests by method, responses by
//! status, header values) and check a digest answer against the secret it
//! should have been made with (RFC 2617 MD5, with or without qop=auth).

use md5::{Digest, Md5};

use super::sipp::SippRun;

/// One SIP message from a SIPp `-trace_msg` log.
pub struct Traced {
    pub received: bool,
    pub text: String,
}

impl Traced {
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.text
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim())
    }
}

/// Splits a SIPp message log into messages, in order.
pub fn traced(run: &SippRun) -> Vec<Traced> {
    let log = run.messages();
    let mut out: Vec<Traced> = Vec::new();
    for line in log.lines() {
        let l = line.trim_start();
        if l.contains("message received [") || l.contains("message sent (") {
            out.push(Traced { received: l.contains("received"), text: String::new() });
        } else if let Some(m) = out.last_mut() {
            if !(m.text.is_empty() && l.is_empty()) {
                m.text.push_str(l);
                m.text.push('\n');
            }
        }
    }
    out
}

pub fn received_requests<'a>(msgs: &'a [Traced], method: &str) -> Vec<&'a Traced> {
    msgs.iter().filter(|m| m.received && m.first_line().starts_with(&format!("{method} "))).collect()
}

pub fn sent_status<'a>(msgs: &'a [Traced], status: u16) -> Vec<&'a Traced> {
    msgs.iter().filter(|m| !m.received && m.first_line().starts_with(&format!("SIP/2.0 {status} "))).collect()
}

pub fn received_status<'a>(msgs: &'a [Traced], status: u16) -> Vec<&'a Traced> {
    msgs.iter().filter(|m| m.received && m.first_line().starts_with(&format!("SIP/2.0 {status} "))).collect()
}

/// Digest parameters (`name=value` or `name="value"`) of a credentials header.
pub fn digest_param(header: &str, name: &str) -> Option<String> {
    let rest = header.trim().strip_prefix("Digest")?;
    for part in split_params(rest) {
        let (k, v) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

fn split_params(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks an MD5 digest response (RFC 2617, with or without qop=auth).
pub fn digest_valid(header: &str, method: &str, user: &str, secret: &str) -> Result<(), String> {
    let p = |n: &str| digest_param(header, n).ok_or(format!("no {n} in {header}"));
    if p("username")? != user {
        return Err(format!("username is not {user}: {header}"));
    }
    let ha1 = md5_hex(&format!("{user}:{}:{secret}", p("realm")?));
    let ha2 = md5_hex(&format!("{method}:{}", p("uri")?));
    let expect = match digest_param(header, "qop") {
        Some(qop) => md5_hex(&format!("{ha1}:{}:{}:{}:{qop}:{ha2}", p("nonce")?, p("nc")?, p("cnonce")?)),
        None => md5_hex(&format!("{ha1}:{}:{ha2}", p("nonce")?)),
    };
    if p("response")? == expect {
        Ok(())
    } else {
        Err(format!("digest response does not match secret {secret:?}: {header}"))
    }
}
