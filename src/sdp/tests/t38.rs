//! T.38 in SDP (src/sdp/t38.rs): attribute parsing as real gear writes it, writing, the T.38
//! Annex D answer rules, and the UDPTL configuration that results.
//!
//! The bodies are written by hand in the shape each stack sends (attribute names, order,
//! spelling and flag style as their SDP writers produce them: Asterisk's chan_sip/res_pjsip,
//! FreeSWITCH's mod_sofia, Cisco IOS gateways, a carrier SBC that lowercases names); they are
//! not captures. Addresses are RFC 5737 documentation ranges.

use crate::fax::udptl::{ErrorCorrection, UdptlConfig};
use crate::sdp::t38::{
    answer_t38, answer_t38_media, process_t38_answer, t38_offer_media, udptl_config,
    RateManagement, T38Capabilities, T38Error, T38Params, UdpEc,
};
use crate::sdp::{parse, Attribute};

/// Asterisk re-INVITE to T.38 (chan_sip's T.38 SDP: no MaxBuffer, bare FillBitRemoval).
const ASTERISK: &str = "v=0\r\n\
o=root 1821 1822 IN IP4 192.0.2.10\r\n\
s=Asterisk PBX 16.2.1\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=image 4390 udptl t38\r\n\
a=T38FaxVersion:0\r\n\
a=T38MaxBitRate:14400\r\n\
a=T38FaxRateManagement:transferredTCF\r\n\
a=T38FaxMaxDatagram:400\r\n\
a=T38FaxUdpEC:t38UDPRedundancy\r\n";

/// FreeSWITCH (mod_sofia's T.38 SDP, with MaxBuffer and a bare FillBitRemoval).
const FREESWITCH: &str = "v=0\r\n\
o=FreeSWITCH 1700000000 1700000001 IN IP4 198.51.100.20\r\n\
s=FreeSWITCH\r\n\
c=IN IP4 198.51.100.20\r\n\
t=0 0\r\n\
m=image 16404 udptl t38\r\n\
a=T38FaxVersion:0\r\n\
a=T38MaxBitRate:14400\r\n\
a=T38FaxFillBitRemoval\r\n\
a=T38FaxRateManagement:transferredTCF\r\n\
a=T38FaxMaxBuffer:2000\r\n\
a=T38FaxMaxDatagram:400\r\n\
a=T38FaxUdpEC:t38UDPRedundancy\r\n";

/// Cisco IOS gateway: flags as `:0`, media-level c=, a small MaxBuffer, MaxDatagram 320.
const CISCO: &str = "v=0\r\n\
o=CiscoSystemsSIP-GW-UserAgent 5307 1469 IN IP4 203.0.113.30\r\n\
s=SIP Call\r\n\
c=IN IP4 203.0.113.30\r\n\
t=0 0\r\n\
m=image 16658 udptl t38\r\n\
c=IN IP4 203.0.113.30\r\n\
a=T38FaxVersion:0\r\n\
a=T38MaxBitRate:14400\r\n\
a=T38FaxFillBitRemoval:0\r\n\
a=T38FaxTranscodingMMR:0\r\n\
a=T38FaxTranscodingJBIG:0\r\n\
a=T38FaxRateManagement:transferredTCF\r\n\
a=T38FaxMaxBuffer:200\r\n\
a=T38FaxMaxDatagram:320\r\n\
a=T38FaxUdpEC:t38UDPRedundancy\r\n";

/// A carrier SBC: lowercased names, `T38MaxBitrate`, 9600 bit/s, FEC offered, LF line ends,
/// and a vendor attribute we ignore.
const CARRIER: &str = "v=0\n\
o=- 3918273 3918274 IN IP4 192.0.2.77\n\
s=-\n\
c=IN IP4 192.0.2.77\n\
t=0 0\n\
m=image 31002 udptl t38\n\
a=t38faxversion:0\n\
a=T38MaxBitrate:9600\n\
a=t38faxratemanagement:transferredtcf\n\
a=t38faxmaxdatagram:176\n\
a=t38faxudpec:t38UDPFEC\n\
a=T38VendorInfo:0 0 0\n\
a=sendrecv\n";

/// A re-INVITE offering both: audio kept as fallback and the image stream (as some gateways
/// send it), the image section first-class with version 3 and MMR/JBIG.
const AUDIO_AND_IMAGE: &str = "v=0\r\n\
o=gw 1 2 IN IP4 198.51.100.5\r\n\
s=-\r\n\
c=IN IP4 198.51.100.5\r\n\
t=0 0\r\n\
m=audio 20000 RTP/AVP 0 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
m=image 20002 udptl t38\r\n\
a=T38FaxVersion:3\r\n\
a=T38MaxBitRate:33600\r\n\
a=T38FaxFillBitRemoval:1\r\n\
a=T38FaxTranscodingMMR\r\n\
a=T38FaxTranscodingJBIG:1\r\n\
a=T38FaxRateManagement:localTCF\r\n\
a=T38FaxMaxBuffer:1024\r\n\
a=T38FaxMaxDatagram:1500\r\n\
a=T38FaxUdpEC:t38UDPRedundancy\r\n";

/// An answer declining T.38 (back to audio): image stream with port 0.
const IMAGE_REJECTED: &str = "v=0\r\n\
o=ua 5 6 IN IP4 192.0.2.9\r\n\
s=-\r\n\
c=IN IP4 192.0.2.9\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0\r\n\
m=image 0 udptl t38\r\n";

fn params(sdp: &str) -> (usize, T38Params) {
    parse(sdp.as_bytes())
        .expect("valid SDP")
        .t38()
        .expect("T.38 section")
}

#[test]
fn asterisk_offer() {
    let (i, p) = params(ASTERISK);
    assert_eq!(i, 0);
    assert_eq!(
        p,
        T38Params {
            version: 0,
            max_bit_rate: Some(14_400),
            rate_management: RateManagement::TransferredTcf,
            max_buffer: None,
            max_datagram: Some(400),
            udp_ec: Some(UdpEc::Redundancy),
            ..T38Params::default()
        }
    );
}

#[test]
fn freeswitch_offer_bare_flag() {
    let (_, p) = params(FREESWITCH);
    assert!(p.fill_bit_removal && !p.transcoding_mmr && !p.transcoding_jbig);
    assert_eq!((p.max_buffer, p.max_datagram), (Some(2000), Some(400)));
}

#[test]
fn cisco_offer_zero_flags() {
    let desc = parse(CISCO.as_bytes()).unwrap();
    let (i, p) = desc.t38().unwrap();
    assert!(!p.fill_bit_removal && !p.transcoding_mmr && !p.transcoding_jbig);
    assert_eq!(
        (p.max_buffer, p.max_datagram, p.udp_ec),
        (Some(200), Some(320), Some(UdpEc::Redundancy))
    );
    assert_eq!(
        desc.rtp_endpoint(i),
        Some("203.0.113.30:16658".parse().unwrap()),
        "UDPTL endpoint"
    );
}

#[test]
fn carrier_offer_lowercase_names_and_values() {
    let (_, p) = params(CARRIER);
    assert_eq!(p.max_bit_rate, Some(9600));
    assert_eq!(p.rate_management, RateManagement::TransferredTcf);
    assert_eq!((p.max_datagram, p.udp_ec), (Some(176), Some(UdpEc::Fec)));
    // FEC offered, we do not send FEC: answered with redundancy.
    let a = answer_t38(&p, &T38Capabilities::default());
    assert_eq!(a.udp_ec, Some(UdpEc::Redundancy));
    assert_eq!(a.max_bit_rate, Some(9600));
    assert_eq!(
        udptl_config(&a, &p),
        UdptlConfig {
            error_correction: ErrorCorrection::Redundancy { depth: 3 },
            max_datagram: 176
        }
    );
    // With FEC transmit we answer FEC and run it.
    let ours = T38Capabilities {
        fec_tx: true,
        ..T38Capabilities::default()
    };
    let a = answer_t38(&p, &ours);
    assert_eq!(a.udp_ec, Some(UdpEc::Fec));
    assert_eq!(
        udptl_config(&a, &p).error_correction,
        ErrorCorrection::Fec {
            span: 3,
            entries: 3
        }
    );
}

#[test]
fn audio_and_image_offer_is_answered_on_the_image_stream() {
    let offer = parse(AUDIO_AND_IMAGE.as_bytes()).unwrap();
    let (i, p) = offer.t38().unwrap();
    assert_eq!(i, 1);
    assert_eq!(
        (p.version, p.rate_management),
        (3, RateManagement::LocalTcf)
    );
    assert!(p.fill_bit_removal && p.transcoding_mmr && p.transcoding_jbig);

    let ours = T38Capabilities {
        fill_bit_removal: true,
        ..T38Capabilities::default()
    };
    let (media, n) = answer_t38_media(&offer, 30_000, &ours).unwrap();
    assert_eq!(media.len(), 2, "one m= line per offered one");
    assert_eq!(
        (
            media[0].media.as_str(),
            media[0].port,
            media[0].formats.len()
        ),
        ("audio", 0, 3)
    );
    assert!(media[1].is_t38_udptl() && media[1].port == 30_000);
    assert_eq!(n.index, 1);
    assert_eq!(n.agreed.version, 0, "min(3, ours 0)");
    assert_eq!(n.agreed.max_bit_rate, Some(14_400), "min(33600, ours)");
    assert_eq!(n.agreed.rate_management, RateManagement::LocalTcf, "echoed");
    assert!(n.agreed.fill_bit_removal && !n.agreed.transcoding_mmr && !n.agreed.transcoding_jbig);
    assert_eq!(
        (n.agreed.max_buffer, n.agreed.max_datagram),
        (Some(1800), Some(400)),
        "ours, declarative"
    );
    assert_eq!(
        n.udptl.max_datagram, 1400,
        "their 1500 clamped to the path MTU limit"
    );
    assert_eq!(
        media[1].t38_params().unwrap(),
        n.agreed,
        "written and read back"
    );
}

#[test]
fn port_zero_is_rejected_and_absent_is_none() {
    let desc = parse(IMAGE_REJECTED.as_bytes()).unwrap();
    assert_eq!(desc.t38(), Err(T38Error::Rejected { media: 1 }));
    assert_eq!(
        process_t38_answer(&desc, &T38Params::default()),
        Err(T38Error::Rejected { media: 1 })
    );
    let audio_only = IMAGE_REJECTED.replace("m=image 0 udptl t38\r\n", "");
    assert_eq!(
        parse(audio_only.as_bytes()).unwrap().t38(),
        Err(T38Error::NoT38Media)
    );
    // image over another transport (TCP) is not ours.
    let tcp = IMAGE_REJECTED.replace("m=image 0 udptl t38", "m=image 5000 tcp t38");
    assert_eq!(
        parse(tcp.as_bytes()).unwrap().t38(),
        Err(T38Error::NoT38Media)
    );
    // A disabled image section before an active one: the active one is used.
    let two = format!("{IMAGE_REJECTED}m=image 6000 UDPTL T38\r\na=T38FaxVersion:1\r\n");
    assert_eq!(
        parse(two.as_bytes())
            .unwrap()
            .t38()
            .map(|(i, p)| (i, p.version)),
        Ok((2, 1))
    );
}

#[test]
fn invalid_and_conflicting_values() {
    let with = |lines: &[&str]| {
        let attrs: Vec<Attribute> = lines
            .iter()
            .map(|l| match l.split_once(':') {
                Some((n, v)) => Attribute::value(n, v),
                None => Attribute::property(l),
            })
            .collect();
        T38Params::from_attributes(&attrs)
    };
    let invalid = |attribute| Err(T38Error::InvalidValue { attribute });
    assert_eq!(with(&["T38FaxVersion:x"]), invalid("T38FaxVersion"));
    assert_eq!(with(&["T38FaxVersion:256"]), invalid("T38FaxVersion"));
    assert_eq!(with(&["T38FaxVersion"]), invalid("T38FaxVersion"));
    assert_eq!(with(&["T38MaxBitRate:-1"]), invalid("T38MaxBitRate"));
    assert_eq!(
        with(&["T38MaxBitRate:99999999999"]),
        invalid("T38MaxBitRate")
    );
    assert_eq!(with(&["T38FaxMaxDatagram:"]), invalid("T38FaxMaxDatagram"));
    assert_eq!(
        with(&["T38FaxRateManagement:remoteTCF"]),
        invalid("T38FaxRateManagement")
    );
    assert_eq!(with(&["T38FaxUdpEC:t38UDPParity"]), invalid("T38FaxUdpEC"));
    assert_eq!(
        with(&["T38FaxFillBitRemoval:yes"]),
        invalid("T38FaxFillBitRemoval")
    );
    assert_eq!(
        with(&["T38FaxMaxDatagram:400", "t38faxmaxdatagram:200"]),
        Err(T38Error::Conflicting {
            attribute: "T38FaxMaxDatagram"
        })
    );
    assert_eq!(
        with(&["T38FaxMaxDatagram:400", "T38FaxMaxDatagram: 400 "]).map(|p| p.max_datagram),
        Ok(Some(400))
    );
    assert_eq!(
        with(&["T38FaxFillBitRemoval", "T38FaxFillBitRemoval:1"]).map(|p| p.fill_bit_removal),
        Ok(true),
        "bare and :1 are the same value"
    );
    assert_eq!(
        with(&["T38FaxUdpEC:t38UDPNoEC"]).map(|p| p.udp_ec),
        Ok(Some(UdpEc::NoEc))
    );
    assert_eq!(with(&[]), Ok(T38Params::default()));
    assert_eq!(
        T38Error::InvalidValue {
            attribute: "T38FaxUdpEC"
        }
        .to_string(),
        "invalid value of a=T38FaxUdpEC"
    );
}

#[test]
fn our_offer_section_writes_and_parses_back() {
    let m = t38_offer_media(4000, &T38Capabilities::default());
    let mut desc = parse(IMAGE_REJECTED.as_bytes()).unwrap();
    desc.media = vec![m];
    let text = String::from_utf8(desc.to_bytes()).unwrap();
    assert!(
        text.ends_with(
            "m=image 4000 udptl t38\r\n\
         a=T38FaxVersion:0\r\n\
         a=T38MaxBitRate:14400\r\n\
         a=T38FaxRateManagement:transferredTCF\r\n\
         a=T38FaxMaxBuffer:1800\r\n\
         a=T38FaxMaxDatagram:400\r\n\
         a=T38FaxUdpEC:t38UDPRedundancy\r\n"
        ),
        "{text}"
    );
    let (i, p) = parse(text.as_bytes()).unwrap().t38().unwrap();
    assert_eq!((i, p), (0, T38Params::offer(&T38Capabilities::default())));
}

#[test]
fn apply_replaces_only_t38_attributes() {
    let mut m = parse(CARRIER.as_bytes()).unwrap().media.remove(0);
    let p = T38Params {
        fill_bit_removal: true,
        ..T38Params::default()
    };
    p.apply_to(&mut m);
    let names: Vec<&str> = m.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "T38VendorInfo",
            "sendrecv",
            "T38FaxVersion",
            "T38FaxFillBitRemoval",
            "T38FaxRateManagement"
        ]
    );
    assert_eq!(m.t38_params(), Ok(p));
}

#[test]
fn processing_the_answer_to_our_offer() {
    let offered = T38Params::offer(&T38Capabilities::default());
    // Cisco's answer: its own sizes, redundancy; we send within its 320.
    let n = process_t38_answer(&parse(CISCO.as_bytes()).unwrap(), &offered).unwrap();
    assert_eq!(
        n.udptl,
        UdptlConfig {
            error_correction: ErrorCorrection::Redundancy { depth: 3 },
            max_datagram: 320
        }
    );
    // An answer raising the version and rate and adding options is held to the offer.
    let n = process_t38_answer(&parse(AUDIO_AND_IMAGE.as_bytes()).unwrap(), &offered).unwrap();
    assert_eq!((n.agreed.version, n.agreed.max_bit_rate), (0, Some(14_400)));
    assert!(!n.agreed.fill_bit_removal && !n.agreed.transcoding_mmr);
    assert_eq!(n.far.version, 3);
}

#[test]
fn udptl_config_datagram_bounds_and_error_correction() {
    let answer = |ec| T38Params {
        udp_ec: ec,
        ..T38Params::default()
    };
    let far = |d| T38Params {
        max_datagram: d,
        ..T38Params::default()
    };
    assert_eq!(
        udptl_config(&answer(None), &far(None)),
        UdptlConfig {
            error_correction: ErrorCorrection::None,
            max_datagram: 400
        }
    );
    assert_eq!(
        udptl_config(&answer(Some(UdpEc::NoEc)), &far(Some(0))).max_datagram,
        400
    );
    assert_eq!(udptl_config(&answer(None), &far(Some(20))).max_datagram, 65);
    assert_eq!(
        udptl_config(&answer(None), &far(Some(u32::MAX))).max_datagram,
        1400
    );
    assert_eq!(
        udptl_config(&answer(None), &far(Some(272))).max_datagram,
        272
    );
}

#[test]
fn answer_rules() {
    let ours = T38Capabilities::default();
    // No T38FaxUdpEC offered: none answered; absent bit rate: ours.
    let a = answer_t38(&T38Params::default(), &ours);
    assert_eq!((a.udp_ec, a.max_bit_rate), (None, Some(14_400)));
    // Redundancy offered but we cannot send it: none.
    let no_red = T38Capabilities {
        redundancy: false,
        ..ours
    };
    let offer = T38Params {
        udp_ec: Some(UdpEc::Redundancy),
        ..T38Params::default()
    };
    assert_eq!(answer_t38(&offer, &no_red).udp_ec, Some(UdpEc::NoEc));
    // Lower offered rate wins; offered version above ours is lowered.
    let offer = T38Params {
        version: 2,
        max_bit_rate: Some(4800),
        ..T38Params::default()
    };
    let ours3 = T38Capabilities {
        max_version: 3,
        ..ours
    };
    let a = answer_t38(&offer, &ours3);
    assert_eq!((a.version, a.max_bit_rate), (2, Some(4800)));
}
