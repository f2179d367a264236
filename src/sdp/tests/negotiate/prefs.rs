//! Requirements: codec preference lists from config strings; codec identity and static PTs
//! (RFC 3551 Table 4).

use crate::sdp::negotiate::{CodecPrefs, CodecPrefsError, CodecSpec};

#[test]
fn parses_known_names_in_order() {
    let p: CodecPrefs = " opus, g722 ,PCMU,pcma,G729,gsm "
        .parse()
        .expect("valid list");
    let names: Vec<&str> = p.codecs().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["opus", "G722", "PCMU", "PCMA", "G729", "GSM"]);
    assert_eq!(p.codecs()[0].to_string(), "opus/48000/2");
    let statics: Vec<Option<u8>> = p.codecs().iter().map(CodecSpec::static_pt).collect();
    assert_eq!(
        statics,
        [None, Some(9), Some(0), Some(8), Some(18), Some(3)]
    );
}

#[test]
fn parses_spelled_out_codecs() {
    let p: CodecPrefs = "L16/16000/2,iLBC/8000".parse().expect("valid list");
    assert_eq!(
        p.codecs()[0],
        CodecSpec {
            name: "L16".into(),
            clock_rate: 16000,
            channels: 2,
            fmtp: None
        }
    );
    assert_eq!(p.codecs()[1].static_pt(), None);
}

#[test]
fn rejects_bad_lists() {
    let err = |s: &str| s.parse::<CodecPrefs>().expect_err(s);
    assert_eq!(err(""), CodecPrefsError::Empty);
    assert_eq!(err(" , "), CodecPrefsError::Empty);
    assert_eq!(
        err("PCMU,speex"),
        CodecPrefsError::Unknown {
            token: "speex".into()
        }
    );
    assert_eq!(
        err("iLBC/x"),
        CodecPrefsError::Invalid {
            token: "iLBC/x".into()
        }
    );
    assert_eq!(
        err("a b/8000"),
        CodecPrefsError::Invalid {
            token: "a b/8000".into()
        }
    );
    assert_eq!(
        err("iLBC/8000/1/1"),
        CodecPrefsError::Invalid {
            token: "iLBC/8000/1/1".into()
        }
    );
    assert_eq!(
        err("PCMU,pcmu"),
        CodecPrefsError::Duplicate {
            codec: "PCMU/8000".into()
        }
    );
    assert_eq!(err("PCMU,telephone-event"), CodecPrefsError::TelephoneEvent);
    assert_eq!(CodecPrefs::new(Vec::new()), Err(CodecPrefsError::Empty));
}

#[test]
fn codec_identity() {
    let lax_opus = CodecSpec {
        name: "OPUS".into(),
        clock_rate: 48000,
        channels: 1,
        fmtp: None,
    };
    assert!(
        CodecSpec::opus().same_codec(&lax_opus),
        "opus channel count is not compared"
    );
    let stereo_pcmu = CodecSpec {
        channels: 2,
        ..CodecSpec::pcmu()
    };
    assert!(!CodecSpec::pcmu().same_codec(&stereo_pcmu));
    assert!(!CodecSpec::g722().same_codec(&CodecSpec {
        clock_rate: 16000,
        ..CodecSpec::g722()
    }));
}
