//! Requirements: missing mandatory lines, bad numbers and malformed lines are rejected with the
//! specific error; error texts are safe as a SIP reason phrase (single line, no input echoed).

use crate::sdp::{parse, SdpError, MAX_SDP_LEN};

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";

#[test]
fn rejections() {
    use SdpError::*;
    let long_version = format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n")
        .replace("o=- 1 1", "o=- 1 99999999999999999999999");
    let cases: Vec<(String, SdpError)> = vec![
        (String::new(), Empty),
        ("\r\n\n".into(), Empty),
        ("o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n".into(), VersionNotFirst),
        ("v=1\r\n".into(), UnsupportedVersion { line: 1 }),
        ("v=0\r\nv=0\r\n".into(), Duplicate { line: 2, kind: 'v' }),
        ("v=0\r\ns=-\r\nt=0 0\r\n".into(), Missing { kind: 'o' }),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n".into(), Missing { kind: 's' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\n"), Missing { kind: 't' }),
        (format!("{HEAD}t=0 0\r\nm=audio 1 RTP/AVP 0\r\n"), MissingConnection { media: 0 }),
        (
            format!("{HEAD}t=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nm=audio 2 RTP/AVP 0\r\n"),
            MissingConnection { media: 1 },
        ),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 65536 RTP/AVP 0\r\n"), InvalidNumber { line: 6, kind: 'm' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio -1 RTP/AVP 0\r\n"), InvalidNumber { line: 6, kind: 'm' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio +5 RTP/AVP 0\r\n"), InvalidNumber { line: 6, kind: 'm' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5/70000 RTP/AVP 0\r\n"), InvalidNumber { line: 6, kind: 'm' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5\r\n"), InvalidField { line: 6, kind: 'm' }),
        (long_version, InvalidNumber { line: 2, kind: 'o' }),
        (format!("{HEAD}c=IN IP4\r\nt=0 0\r\n"), InvalidField { line: 4, kind: 'c' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"), Duplicate { line: 5, kind: 'c' }),
        (format!("{HEAD}t=0\r\n"), InvalidField { line: 4, kind: 't' }),
        (format!("{HEAD}t=0 x\r\n"), InvalidNumber { line: 4, kind: 't' }),
        (format!("{HEAD}r=1 2 3\r\n"), Misplaced { line: 4, kind: 'r' }),
        (format!("{HEAD}b=AS64\r\n"), InvalidField { line: 4, kind: 'b' }),
        (format!("{HEAD}b=AS:6x4\r\n"), InvalidNumber { line: 4, kind: 'b' }),
        (format!("{HEAD}c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n"), Misplaced { line: 7, kind: 't' }),
        (format!("{HEAD}a=\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}a=:x\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}A=x\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}a x\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}a=x\0y\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}a=x\ry\r\n"), MalformedLine { line: 4 }),
        (format!("{HEAD}s=again\r\n"), Duplicate { line: 4, kind: 's' }),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input.as_bytes()), Err(want), "input {input:?}");
    }
}

#[test]
fn invalid_utf8_and_size() {
    let mut bad = HEAD.as_bytes().to_vec();
    bad.extend_from_slice(b"s=\xff\xfe\r\n");
    assert_eq!(parse(&bad), Err(SdpError::InvalidUtf8 { line: 4 }));
    let huge = vec![b'a'; MAX_SDP_LEN + 1];
    assert_eq!(
        parse(&huge),
        Err(SdpError::TooLarge {
            len: MAX_SDP_LEN + 1
        })
    );
}

#[test]
fn messages_fit_a_reason_phrase() {
    let errs = [
        SdpError::MissingConnection { media: 3 },
        SdpError::InvalidNumber { line: 6, kind: 'm' },
        SdpError::Missing { kind: 't' },
    ];
    for e in errs {
        let text = e.to_string();
        assert!(!text.contains(['\r', '\n']) && text.len() < 80, "{text}");
    }
    assert_eq!(
        SdpError::InvalidNumber { line: 6, kind: 'm' }.to_string(),
        "invalid number in m= line at SDP line 6"
    );
}
