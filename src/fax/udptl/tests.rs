//! Unit and property tests of the UDPTL codec and session. Vectors under
//! tests/vectors/udptl/ are hand-built from T.38 Annex A (see SOURCE.txt there).

use proptest::prelude::*;

use super::*;

const REDUNDANCY: &[u8] = include_bytes!("../../../tests/vectors/udptl/redundancy.bin");
const NO_EC: &[u8] = include_bytes!("../../../tests/vectors/udptl/no-ec.bin");
const FEC: &[u8] = include_bytes!("../../../tests/vectors/udptl/fec.bin");
const LONG_PRIMARY: &[u8] = include_bytes!("../../../tests/vectors/udptl/long-primary.bin");
const FRAGMENTED: &[u8] = include_bytes!("../../../tests/vectors/udptl/fragmented.bin");
const TRUNCATED: &[u8] = include_bytes!("../../../tests/vectors/udptl/truncated.bin");
const TRAILING: &[u8] = include_bytes!("../../../tests/vectors/udptl/trailing.bin");

fn reencode(p: &UdptlPacket<'_>) -> Vec<u8> {
    let mut out = vec![0; encoded_len(p).expect("encodable")];
    let n = encode(p, &mut out).expect("fits");
    assert_eq!(n, out.len());
    out
}

fn secondaries<'a>(p: &UdptlPacket<'a>) -> Vec<&'a [u8]> {
    match p.recovery {
        ErrorRecovery::Secondary(e) => e.iter().collect(),
        ErrorRecovery::Fec { .. } => panic!("expected secondary-ifp-packets, got {p:?}"),
    }
}

// ---------------------------------------------------------------------------
// Codec: each CHOICE, exact bytes both ways
// ---------------------------------------------------------------------------

#[test]
fn decodes_secondary_ifp_packets() {
    let p = decode(REDUNDANCY).unwrap();
    assert_eq!(p.seq, 5);
    assert_eq!(p.primary, [0x06]);
    assert_eq!(secondaries(&p), [&[0x04][..], &[0x02][..]]);
    assert_eq!(reencode(&p), REDUNDANCY);
}

#[test]
fn decodes_empty_secondary_list_as_no_error_correction() {
    let p = decode(NO_EC).unwrap();
    assert_eq!((p.seq, p.primary), (0, &[0x02][..]));
    assert!(secondaries(&p).is_empty());
    assert_eq!(reencode(&p), NO_EC);
}

#[test]
fn decodes_fec_info() {
    let p = decode(FEC).unwrap();
    assert_eq!((p.seq, p.primary), (16, &[0xC0, 0x01, 0xFF][..]));
    let ErrorRecovery::Fec { npackets, data } = p.recovery else {
        panic!("{p:?}")
    };
    assert_eq!(npackets, 3);
    assert_eq!(
        data.iter().collect::<Vec<_>>(),
        [&[0xAA, 0x55][..], &[0x0F][..]]
    );
    assert_eq!(reencode(&p), FEC);
}

#[test]
fn decodes_two_octet_length_and_top_sequence_number() {
    let p = decode(LONG_PRIMARY).unwrap();
    assert_eq!(p.seq, 0xFFFF);
    assert_eq!(p.primary, (0..200u8).collect::<Vec<_>>());
    assert_eq!(reencode(&p), LONG_PRIMARY);
}

#[test]
fn encodes_what_a_caller_builds() {
    let older: [&[u8]; 2] = [&[0x04], &[0x02]];
    let p = UdptlPacket {
        seq: 5,
        primary: &[0x06],
        recovery: ErrorRecovery::Secondary(Entries::from_slices(&older)),
    };
    assert_eq!(reencode(&p), REDUNDANCY);
    assert_eq!(
        decode(REDUNDANCY).unwrap(),
        p,
        "a wire view equals the same slices"
    );
    let fec: [&[u8]; 2] = [&[0xAA, 0x55], &[0x0F]];
    let p = UdptlPacket {
        seq: 16,
        primary: &[0xC0, 0x01, 0xFF],
        recovery: ErrorRecovery::Fec {
            npackets: 3,
            data: Entries::from_slices(&fec),
        },
    };
    assert_eq!(reencode(&p), FEC);
}

#[test]
fn accepts_non_minimal_forms_and_choice_padding() {
    // Two-octet length 80 01 for a one-octet primary; CHOICE octet 0x7F (index 0, padding set).
    let p = decode(&[0x00, 0x05, 0x80, 0x01, 0x06, 0x7F, 0x00]).unwrap();
    assert_eq!((p.seq, p.primary), (5, &[0x06][..]));
    assert!(secondaries(&p).is_empty());
    assert_eq!(reencode(&p), [0x00, 0x05, 0x01, 0x06, 0x00, 0x00]);
    // CHOICE 0xFF is fec-info; npackets padded to two octets (00 03).
    let p = decode(&[0x00, 0x05, 0x01, 0x06, 0xFF, 0x02, 0x00, 0x03, 0x00]).unwrap();
    assert_eq!(
        p.recovery,
        ErrorRecovery::Fec {
            npackets: 3,
            data: Entries::empty()
        }
    );
    // Empty fec-data elements are legal (OCTET STRING, not an open type).
    let p = decode(&[0x00, 0x05, 0x01, 0x06, 0x80, 0x01, 0x01, 0x01, 0x00]).unwrap();
    let ErrorRecovery::Fec { data, .. } = p.recovery else {
        panic!()
    };
    assert_eq!(data.iter().collect::<Vec<&[u8]>>(), [&[] as &[u8]]);
}

#[test]
fn fec_npackets_integer_forms() {
    let with = |int: &[u8]| {
        let mut d = vec![0x00, 0x01, 0x01, 0x06, 0x80];
        d.extend_from_slice(int);
        d.push(0x00);
        decode(&d).map(|p| match p.recovery {
            ErrorRecovery::Fec { npackets, .. } => npackets,
            ErrorRecovery::Secondary(_) => unreachable!(),
        })
    };
    assert_eq!(with(&[0x01, 0x7F]), Ok(127));
    assert_eq!(with(&[0x02, 0x00, 0x80]), Ok(128));
    assert_eq!(with(&[0x05, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]), Ok(u32::MAX));
    let bad = Err(UdptlError::InvalidInteger {
        field: Field::FecNpackets,
        offset: 5,
    });
    assert_eq!(with(&[0x01, 0x80]), bad, "negative");
    assert_eq!(with(&[0x00]), bad, "zero octets");
    assert_eq!(
        with(&[0x05, 0x01, 0x00, 0x00, 0x00, 0x00]),
        bad,
        "over 32 bits"
    );
    for n in [
        0,
        1,
        127,
        128,
        32767,
        32768,
        0x7f_ffff,
        0x80_0000,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX,
    ] {
        let p = UdptlPacket {
            seq: 1,
            primary: &[1],
            recovery: ErrorRecovery::Fec {
                npackets: n,
                data: Entries::empty(),
            },
        };
        assert_eq!(decode(&reencode(&p)), Ok(p), "npackets {n}");
    }
}

#[test]
fn decode_errors_name_field_and_offset() {
    assert_eq!(
        decode(FRAGMENTED),
        Err(UdptlError::FragmentedLength {
            field: Field::PrimaryIfp,
            offset: 2
        })
    );
    assert_eq!(
        decode(TRUNCATED),
        Err(UdptlError::Truncated {
            field: Field::PrimaryIfp,
            offset: 3,
            needed: 3
        })
    );
    assert_eq!(
        decode(TRAILING),
        Err(UdptlError::TrailingOctets {
            offset: 6,
            extra: 1
        })
    );
    assert_eq!(
        decode(&[]),
        Err(UdptlError::Truncated {
            field: Field::SeqNumber,
            offset: 0,
            needed: 2
        })
    );
    assert_eq!(
        decode(&[0x00]),
        Err(UdptlError::Truncated {
            field: Field::SeqNumber,
            offset: 0,
            needed: 1
        })
    );
    assert_eq!(
        decode(&[0, 1]),
        Err(UdptlError::Truncated {
            field: Field::PrimaryIfp,
            offset: 2,
            needed: 1
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x00, 0x00, 0x00]),
        Err(UdptlError::EmptyOpenType {
            field: Field::PrimaryIfp,
            offset: 2
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02]),
        Err(UdptlError::Truncated {
            field: Field::ErrorRecovery,
            offset: 4,
            needed: 1
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02, 0x00]),
        Err(UdptlError::Truncated {
            field: Field::SecondaryCount,
            offset: 5,
            needed: 1
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02, 0x00, 0x02, 0x01, 0x02, 0x00]),
        Err(UdptlError::EmptyOpenType {
            field: Field::SecondaryIfp(1),
            offset: 8
        })
    );
    // A hostile element count fails on the first missing element, not after 16383 steps.
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02, 0x00, 0xBF, 0xFF]),
        Err(UdptlError::Truncated {
            field: Field::SecondaryIfp(0),
            offset: 7,
            needed: 1
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02, 0x80, 0x01, 0x03, 0xC4]),
        Err(UdptlError::FragmentedLength {
            field: Field::FecCount,
            offset: 7
        })
    );
    assert_eq!(
        decode(&[0, 1, 0x01, 0x02, 0x80, 0x01, 0x03, 0x01, 0x03, 0xAA]),
        Err(UdptlError::Truncated {
            field: Field::FecData(0),
            offset: 9,
            needed: 2
        })
    );
    let e = decode(&[0, 1, 0x01, 0x02, 0x00, 0x02, 0x01, 0x02, 0x00]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "empty open type in secondary-ifp-packets[1] at offset 8"
    );
    assert_eq!(
        decode(FRAGMENTED).unwrap_err().to_string(),
        "fragmented length determinant (>= 16384) in primary-ifp-packet at offset 2 is not supported"
    );
}

#[test]
fn encode_errors() {
    let none = ErrorRecovery::Secondary(Entries::empty());
    let p = UdptlPacket {
        seq: 0,
        primary: &[],
        recovery: none,
    };
    assert_eq!(
        encoded_len(&p),
        Err(UdptlError::EmptyIfp {
            field: Field::PrimaryIfp
        })
    );
    let big = vec![7u8; MAX_UNFRAGMENTED_LEN + 1];
    let p = UdptlPacket {
        seq: 0,
        primary: &big,
        recovery: none,
    };
    assert_eq!(
        encoded_len(&p),
        Err(UdptlError::LengthTooLarge {
            field: Field::PrimaryIfp,
            len: 16384
        })
    );
    let max = vec![7u8; MAX_UNFRAGMENTED_LEN];
    let p = UdptlPacket {
        seq: 0,
        primary: &max,
        recovery: none,
    };
    assert_eq!(
        decode(&reencode(&p)),
        Ok(p),
        "16383 is the largest unfragmented length"
    );
    let p = UdptlPacket {
        seq: 0,
        primary: &[1, 2],
        recovery: none,
    };
    assert_eq!(
        encode(&p, &mut [0; 6]),
        Err(UdptlError::BufferTooSmall {
            needed: 7,
            available: 6
        })
    );
    let empty: [&[u8]; 1] = [&[]];
    let p = UdptlPacket {
        seq: 0,
        primary: &[1],
        recovery: ErrorRecovery::Secondary(Entries::from_slices(&empty)),
    };
    assert_eq!(
        encoded_len(&p),
        Err(UdptlError::EmptyIfp {
            field: Field::SecondaryIfp(0)
        })
    );
}

fn arb_ifp(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// encode -> decode is the identity, and `encoded_len` is exact.
    #[test]
    fn round_trip(
        seq in any::<u16>(),
        primary in arb_ifp(300),
        fec in any::<bool>(),
        npackets in any::<u32>(),
        list in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..6),
    ) {
        // Open types may not be empty: give secondaries at least one octet.
        let list: Vec<Vec<u8>> = if fec { list } else { list.into_iter().map(|mut v| { v.push(0x5A); v }).collect() };
        let slices: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        let entries = Entries::from_slices(&slices);
        let recovery = if fec { ErrorRecovery::Fec { npackets, data: entries } } else { ErrorRecovery::Secondary(entries) };
        let p = UdptlPacket { seq, primary: &primary, recovery };
        let bytes = reencode(&p);
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(back, p);
        prop_assert_eq!(reencode(&back), bytes);
    }

    /// Whatever decodes re-encodes to something no longer that decodes to the same packet.
    #[test]
    fn decode_reencode(data in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(p) = decode(&data) {
            let bytes = reencode(&p);
            prop_assert!(bytes.len() <= data.len());
            prop_assert_eq!(decode(&bytes).unwrap(), p);
        }
    }

    /// Every datagram `send` builds fits `max_datagram`, decodes, and carries the right history.
    #[test]
    fn send_respects_max_datagram(
        max in 8usize..300,
        depth in 0u8..6,
        lens in prop::collection::vec(1usize..120, 1..20),
    ) {
        let mut tx = Udptl::new(UdptlConfig { error_correction: ErrorCorrection::Redundancy { depth }, max_datagram: max });
        let mut sent: Vec<Vec<u8>> = Vec::new();
        for (i, len) in lens.into_iter().enumerate() {
            let ifp = vec![i as u8 + 1; len];
            match tx.send(&ifp) {
                Ok(d) => {
                    prop_assert!(d.len() <= max);
                    let p = decode(d).unwrap();
                    prop_assert_eq!(usize::from(p.seq), sent.len());
                    let sec = secondaries(&p);
                    prop_assert!(sec.len() <= usize::from(depth));
                    for (k, s) in sec.iter().enumerate() {
                        prop_assert_eq!(*s, sent[sent.len() - 1 - k].as_slice());
                    }
                    sent.push(ifp);
                }
                Err(e) => {
                    prop_assert_eq!(e, UdptlError::IfpTooLarge { len, max_datagram: max });
                    prop_assert!(2 + codec::length_len(len) + len + 2 > max);
                    prop_assert_eq!(usize::from(tx.next_tx_seq()), sent.len());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Session: transmit
// ---------------------------------------------------------------------------

fn redundancy(depth: u8, max_datagram: usize) -> Udptl {
    Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Redundancy { depth },
        max_datagram,
    })
}

#[test]
fn redundancy_winds_up_to_depth_newest_first() {
    let mut tx = Udptl::default();
    assert_eq!(
        tx.config(),
        UdptlConfig {
            error_correction: ErrorCorrection::Redundancy { depth: 3 },
            max_datagram: 400
        }
    );
    let ifps: Vec<Vec<u8>> = (1..=6u8).map(|i| vec![i; usize::from(i)]).collect();
    for (i, ifp) in ifps.iter().enumerate() {
        let d = tx.send(ifp).unwrap().to_vec();
        let p = decode(&d).unwrap();
        assert_eq!((usize::from(p.seq), p.primary), (i, ifp.as_slice()));
        let expected: Vec<&[u8]> = (0..i.min(3)).map(|k| ifps[i - 1 - k].as_slice()).collect();
        assert_eq!(secondaries(&p), expected, "packet {i}");
    }
    // First datagram, byte for byte: seq 0, primary {01}, empty list.
    let mut tx = Udptl::default();
    assert_eq!(tx.send(&[1]).unwrap(), [0x00, 0x00, 0x01, 0x01, 0x00, 0x00]);
    assert_eq!(
        tx.send(&[2]).unwrap(),
        [0x00, 0x01, 0x01, 0x02, 0x00, 0x01, 0x01, 0x01]
    );
    assert_eq!(tx.stats().sent, 2);
}

#[test]
fn no_error_correction_sends_an_empty_list() {
    let mut tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::None,
        max_datagram: 400,
    });
    assert_eq!(tx.send(&[2]).unwrap(), NO_EC);
    assert_eq!(tx.send(&[2]).unwrap(), [0x00, 0x01, 0x01, 0x02, 0x00, 0x00]);
}

#[test]
fn redundancy_is_dropped_oldest_first_to_fit_max_datagram() {
    // Each 10-octet IFP costs 11 octets as an entry; header of a 10-octet primary is 2+1+10+1+1.
    let mut tx = redundancy(3, 15 + 11 + 11);
    for i in 0..3u8 {
        tx.send(&[i; 10]).unwrap();
    }
    let d = tx.send(&[3; 10]).unwrap().to_vec();
    assert_eq!(d.len(), 37);
    let p = decode(&d).unwrap();
    assert_eq!(
        secondaries(&p),
        [&[2; 10][..], &[1; 10][..]],
        "the oldest (seq 0) was dropped"
    );
    // A large previous IFP stops the list there even if an older, smaller one would fit.
    let mut tx = redundancy(3, 40);
    tx.send(&[0; 2]).unwrap();
    tx.send(&[1; 30]).unwrap();
    let d = tx.send(&[2; 10]).unwrap().to_vec();
    assert!(secondaries(&decode(&d).unwrap()).is_empty());
}

#[test]
fn oversized_or_empty_ifp_is_an_error_and_does_not_consume_a_seq() {
    let mut tx = redundancy(3, 20);
    assert_eq!(
        tx.send(&[1; 16]),
        Err(UdptlError::IfpTooLarge {
            len: 16,
            max_datagram: 20
        })
    );
    assert_eq!(
        tx.send(&[]),
        Err(UdptlError::EmptyIfp {
            field: Field::PrimaryIfp
        })
    );
    let d = tx.send(&[1; 15]).unwrap();
    assert_eq!((d.len(), decode(d).unwrap().seq), (20, 0));
    let mut tx = redundancy(3, 100_000);
    let huge = vec![0u8; 16384];
    assert_eq!(
        tx.send(&huge),
        Err(UdptlError::IfpTooLarge {
            len: 16384,
            max_datagram: 100_000
        })
    );
    let mut tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Fec {
            span: 3,
            entries: 3,
        },
        max_datagram: 10,
    });
    assert_eq!(
        tx.send(&[1; 6]),
        Err(UdptlError::IfpTooLarge {
            len: 6,
            max_datagram: 10
        })
    );
    assert_eq!(tx.next_tx_seq(), 0);
    // Where an empty fec-info does not fit but an empty secondary list does, that is sent.
    assert_eq!(
        tx.send(&[1; 5]).unwrap(),
        [0x00, 0x00, 0x05, 1, 1, 1, 1, 1, 0x00, 0x00]
    );
}

#[test]
fn config_is_capped() {
    let tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Redundancy { depth: 200 },
        max_datagram: 400,
    });
    assert_eq!(
        tx.config().error_correction,
        ErrorCorrection::Redundancy {
            depth: MAX_REDUNDANCY_DEPTH
        }
    );
    let tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Fec {
            span: 9,
            entries: 9,
        },
        max_datagram: 400,
    });
    assert_eq!(
        tx.config().error_correction,
        ErrorCorrection::Fec {
            span: MAX_FEC_SPAN,
            entries: MAX_FEC_ENTRIES
        }
    );
}

#[test]
fn fec_transmit_layout_matches_spandsp() {
    let mut tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Fec {
            span: 2,
            entries: 2,
        },
        max_datagram: 400,
    });
    let ifps: Vec<Vec<u8>> = (0..8u8).map(|i| vec![1 << i, i]).collect();
    let mut layouts = Vec::new();
    for ifp in &ifps {
        let d = tx.send(ifp).unwrap().to_vec();
        let p = decode(&d).unwrap();
        let ErrorRecovery::Fec { npackets, data } = p.recovery else {
            panic!()
        };
        layouts.push((npackets, data.len()));
        if data.len() == 2 {
            let s = usize::from(p.seq);
            for (m, entry) in data.iter().enumerate() {
                // Entry m: XOR of seq + m - 2k, k = 1..=2.
                let a = &ifps[s + m - 2];
                let b = &ifps[s + m - 4];
                let x: Vec<u8> = a.iter().zip(b).map(|(a, b)| a ^ b).collect();
                assert_eq!(entry, x.as_slice(), "seq {s} entry {m}");
            }
        }
    }
    // Wind-up: nothing until span*1 packets exist, one entry until span*entries.
    assert_eq!(
        layouts,
        [
            (0, 0),
            (0, 0),
            (2, 1),
            (2, 1),
            (2, 2),
            (2, 2),
            (2, 2),
            (2, 2)
        ]
    );
}

// ---------------------------------------------------------------------------
// Session: receive
// ---------------------------------------------------------------------------

fn collect(rx: &mut Udptl, d: &[u8]) -> Vec<(u16, Vec<u8>)> {
    rx.receive(d)
        .expect("decodes")
        .map(|(s, i)| (s, i.to_vec()))
        .collect()
}

fn seqs(items: &[(u16, Vec<u8>)]) -> Vec<u16> {
    items.iter().map(|(s, _)| *s).collect()
}

/// Build a datagram by hand with `encode`.
fn datagram(seq: u16, primary: &[u8], older: &[&[u8]]) -> Vec<u8> {
    reencode(&UdptlPacket {
        seq,
        primary,
        recovery: ErrorRecovery::Secondary(Entries::from_slices(older)),
    })
}

#[test]
fn in_order_delivery_and_duplicates() {
    let mut tx = Udptl::default();
    let mut rx = Udptl::default();
    let a = tx.send(&[1]).unwrap().to_vec();
    let b = tx.send(&[2]).unwrap().to_vec();
    assert_eq!(collect(&mut rx, &a), [(0, vec![1])]);
    assert_eq!(collect(&mut rx, &b), [(1, vec![2])]);
    assert!(collect(&mut rx, &b).is_empty(), "duplicate dropped");
    assert!(collect(&mut rx, &a).is_empty(), "old packet dropped");
    let s = rx.stats();
    assert_eq!(
        (s.received, s.delivered, s.duplicates, s.lost),
        (4, 2, 2, 0)
    );
    assert_eq!(rx.next_rx_seq(), Some(2));
}

#[test]
fn reordered_packet_is_recovered_then_dropped_late() {
    let mut tx = Udptl::default();
    let d: Vec<Vec<u8>> = (0..4u8)
        .map(|i| tx.send(&[i + 10]).unwrap().to_vec())
        .collect();
    let mut rx = Udptl::default();
    assert_eq!(seqs(&collect(&mut rx, &d[0])), [0]);
    assert_eq!(seqs(&collect(&mut rx, &d[1])), [1]);
    assert_eq!(
        collect(&mut rx, &d[3]),
        [(2, vec![12]), (3, vec![13])],
        "2 from 3's redundancy"
    );
    assert!(collect(&mut rx, &d[2]).is_empty(), "2 arrives late");
    let s = rx.stats();
    assert_eq!(
        (s.recovered_redundancy, s.duplicates, s.lost, s.delivered),
        (1, 1, 0, 4)
    );
}

#[test]
fn without_error_correction_a_gap_stays_visible() {
    let mut tx = Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::None,
        max_datagram: 400,
    });
    let d: Vec<Vec<u8>> = (0..3u8)
        .map(|i| tx.send(&[i + 1]).unwrap().to_vec())
        .collect();
    let mut rx = Udptl::default();
    assert_eq!(seqs(&collect(&mut rx, &d[0])), [0]);
    assert_eq!(
        seqs(&collect(&mut rx, &d[2])),
        [2],
        "1 lost: the jump is the report"
    );
    assert!(
        collect(&mut rx, &d[1]).is_empty(),
        "late after its gap was reported"
    );
    assert_eq!((rx.stats().lost, rx.stats().duplicates), (1, 1));
}

#[test]
fn first_packet_recovers_from_zero_or_starts_where_it_is() {
    let mut rx = Udptl::default();
    let got = collect(&mut rx, &datagram(2, &[3], &[&[2], &[1]]));
    assert_eq!(got, [(0, vec![1]), (1, vec![2]), (2, vec![3])]);
    let mut rx = Udptl::default();
    let got = collect(&mut rx, &datagram(4, &[5], &[&[4]]));
    assert_eq!(seqs(&got), [3, 4]);
    assert_eq!((rx.stats().lost, rx.stats().recovered_redundancy), (3, 1));
    // A far end we join late (or that starts high): no loss is invented before it.
    let mut rx = Udptl::default();
    assert_eq!(
        seqs(&collect(&mut rx, &datagram(1000, &[5], &[&[4]]))),
        [1000]
    );
    assert_eq!(rx.stats().lost, 0);
}

#[test]
fn sequence_numbers_wrap() {
    let mut rx = Udptl::default();
    assert_eq!(
        seqs(&collect(&mut rx, &datagram(65533, &[1], &[]))),
        [65533]
    );
    assert_eq!(
        seqs(&collect(&mut rx, &datagram(65534, &[2], &[]))),
        [65534]
    );
    // 65535 and 0 lost; 1 carries both.
    let got = collect(&mut rx, &datagram(1, &[5], &[&[4], &[3], &[2]]));
    assert_eq!(got, [(65535, vec![3]), (0, vec![4]), (1, vec![5])]);
    assert!(
        collect(&mut rx, &datagram(65535, &[3], &[])).is_empty(),
        "behind across the wrap"
    );
    assert_eq!(rx.next_rx_seq(), Some(2));

    // Through the sender: 65540 packets with loss around the wrap.
    let mut tx = Udptl::default();
    let mut rx = Udptl::default();
    let mut delivered = Vec::new();
    for i in 0..65_540u32 {
        let ifp = i.to_be_bytes();
        let d = tx.send(&ifp).unwrap().to_vec();
        if (65_534..=65_536).contains(&i) {
            continue;
        }
        delivered.extend(collect(&mut rx, &d));
    }
    assert_eq!(delivered.len(), 65_540);
    for (i, (seq, ifp)) in delivered.iter().enumerate() {
        assert_eq!(*seq, i as u16);
        assert_eq!(ifp, &(i as u32).to_be_bytes());
    }
    assert_eq!(rx.stats().recovered_redundancy, 3);
    assert_eq!(tx.next_tx_seq(), 4);
}

#[test]
fn far_end_restart_resynchronizes() {
    let mut rx = Udptl::default();
    for s in 5000..5003u16 {
        collect(&mut rx, &datagram(s, &[1], &[]));
    }
    // The far end starts again at 0: far behind, so the first few look stale.
    for s in 0..3u16 {
        assert!(collect(&mut rx, &datagram(s, &[2], &[])).is_empty());
    }
    assert_eq!(seqs(&collect(&mut rx, &datagram(3, &[2], &[]))), [3]);
    assert_eq!(seqs(&collect(&mut rx, &datagram(4, &[2], &[]))), [4]);
    assert_eq!((rx.stats().out_of_window, rx.stats().lost), (3, 0));
    // Stray packets far ahead or far behind, alone, change nothing.
    assert!(collect(&mut rx, &datagram(40_000, &[2], &[])).is_empty());
    assert!(collect(&mut rx, &datagram(4_000, &[2], &[])).is_empty());
    assert!(collect(&mut rx, &datagram(4_001, &[2], &[])).is_empty());
    assert_eq!(seqs(&collect(&mut rx, &datagram(5, &[2], &[]))), [5]);
    assert_eq!((rx.stats().out_of_window, rx.stats().lost), (6, 0));
    // Within the window behind: a duplicate, not a restart.
    for _ in 0..5 {
        assert!(collect(&mut rx, &datagram(5, &[2], &[])).is_empty());
    }
    assert_eq!(rx.stats().duplicates, 5);
}

#[test]
fn long_gap_uses_redundancy_beyond_the_window() {
    let mut rx = Udptl::default();
    assert_eq!(
        seqs(&collect(&mut rx, &datagram(9, &[9], &[]))),
        [9],
        "0..=8 lost before the first packet"
    );
    assert_eq!(rx.stats().lost, 9);
    // Next expected is 10; seq 50 carries 45 earlier IFPs (newest first: 49, 48, ..., 5).
    let older: Vec<Vec<u8>> = (0..45u8).map(|i| vec![49 - i]).collect();
    let refs: Vec<&[u8]> = older.iter().map(Vec::as_slice).collect();
    let got = collect(&mut rx, &datagram(50, &[50], &refs));
    assert_eq!(seqs(&got), (10..=50).collect::<Vec<u16>>());
    for (seq, ifp) in &got {
        assert_eq!(ifp, &[*seq as u8]);
    }
    let s = rx.stats();
    assert_eq!((s.recovered_redundancy, s.lost), (40, 9));
    // A jump beyond both the window and the list: the rest is lost, counted once.
    let got = collect(&mut rx, &datagram(550, &[1], &[&[2]]));
    assert_eq!(seqs(&got), [549, 550]);
    assert_eq!(rx.stats().lost, 9 + 498);
}

#[test]
fn malformed_datagrams_are_counted_and_harmless() {
    let mut rx = Udptl::default();
    assert_eq!(seqs(&collect(&mut rx, &datagram(0, &[1], &[]))), [0]);
    for bad in [FRAGMENTED, TRUNCATED, TRAILING, &[][..]] {
        assert!(rx.receive(bad).is_err());
    }
    assert_eq!(seqs(&collect(&mut rx, &datagram(1, &[1], &[]))), [1]);
    let s = rx.stats();
    assert_eq!((s.malformed, s.received, s.lost), (4, 2, 0));
}

/// xorshift64*: a fixed pseudo-random pattern (no dependency on a crate's RNG algorithm).
struct Pattern(u64);

impl Pattern {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Send `n` IFPs of varying length through `tx`, drop those `lost[i]` says, deliver the rest to
/// a fresh receiver; returns the receiver and everything it delivered.
fn simulate(mut tx: Udptl, ifps: &[Vec<u8>], lost: &[bool]) -> (Udptl, Vec<(u16, Vec<u8>)>) {
    let mut rx = Udptl::default();
    let mut out = Vec::new();
    for (ifp, &drop) in ifps.iter().zip(lost) {
        let d = tx.send(ifp).unwrap().to_vec();
        if !drop {
            out.extend(collect(&mut rx, &d));
        }
    }
    (rx, out)
}

#[test]
fn five_percent_loss_with_redundancy_three() {
    const N: usize = 2000;
    let mut rng = Pattern(0x0005_EED0_FFA7);
    let ifps: Vec<Vec<u8>> = (0..N)
        .map(|i| vec![(i % 251) as u8; 1 + (rng.next() % 60) as usize])
        .collect();
    let mut lost: Vec<bool> = (0..N).map(|_| rng.next() % 100 < 5).collect();
    lost[N - 1] = false; // something must arrive after the last loss
                         // A burst long enough to beat depth 3: four in a row.
    lost[1000..1004].fill(true);

    // Expected from the pattern alone: a lost packet comes back iff the next packet that
    // arrives is at most 3 later (it carries the last 3).
    let mut expect_recovered = 0u64;
    let mut expect_lost = Vec::new();
    for q in (0..N).filter(|&q| lost[q]) {
        let next = (q + 1..N).find(|&r| !lost[r]).unwrap();
        if next - q <= 3 {
            expect_recovered += 1;
        } else {
            expect_lost.push(q as u16);
        }
    }

    let (rx, out) = simulate(redundancy(3, 400), &ifps, &lost);
    let s = rx.stats();
    let dropped = lost.iter().filter(|&&l| l).count() as u64;
    assert_eq!(
        (dropped, s.recovered_redundancy, s.lost),
        (109, 108, 1),
        "the seeded pattern"
    );
    assert_eq!(s.recovered_redundancy, expect_recovered);
    assert_eq!(expect_lost, [1000]);
    assert_eq!(s.delivered, N as u64 - 1);
    let delivered: Vec<u16> = seqs(&out);
    let wanted: Vec<u16> = (0..N as u16).filter(|q| !expect_lost.contains(q)).collect();
    assert_eq!(delivered, wanted);
    for (seq, ifp) in &out {
        assert_eq!(ifp, &ifps[usize::from(*seq)], "seq {seq}");
    }
}

fn fec(span: u8, entries: u8) -> Udptl {
    Udptl::new(UdptlConfig {
        error_correction: ErrorCorrection::Fec { span, entries },
        max_datagram: 400,
    })
}

#[test]
fn fec_recovers_a_single_loss_in_a_span() {
    let ifps: Vec<Vec<u8>> = (0..40u8)
        .map(|i| vec![i, i.wrapping_mul(7), 0xA5 ^ i])
        .collect();
    let mut lost = vec![false; 40];
    lost[20] = true;
    let (rx, out) = simulate(fec(3, 3), &ifps, &lost);
    assert_eq!(seqs(&out), (0..40).collect::<Vec<u16>>());
    assert_eq!(out[20].1, ifps[20], "same-length group: exact");
    assert_eq!((rx.stats().recovered_fec, rx.stats().lost), (1, 0));
}

#[test]
fn fec_recovers_adjacent_losses_in_different_groups() {
    let ifps: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 4]).collect();
    let mut lost = vec![false; 40];
    for q in [20, 21, 22] {
        lost[q] = true;
    }
    let (rx, out) = simulate(fec(3, 3), &ifps, &lost);
    assert_eq!(seqs(&out), (0..40).collect::<Vec<u16>>());
    for (seq, ifp) in &out {
        assert_eq!(ifp, &ifps[usize::from(*seq)]);
    }
    assert_eq!(rx.stats().recovered_fec, 3);
}

#[test]
fn fec_rebuilt_packet_is_padded_to_its_group() {
    // The known limit of T.38 parity FEC: the rebuilt IFP has the group's longest length.
    let ifps: Vec<Vec<u8>> = (0..30u8)
        .map(|i| vec![i + 1; 1 + usize::from(i % 5)])
        .collect();
    let mut lost = vec![false; 30];
    lost[15] = true;
    let (rx, out) = simulate(fec(3, 3), &ifps, &lost);
    assert_eq!(rx.stats().recovered_fec, 1);
    let (_, got) = out.iter().find(|(s, _)| *s == 15).unwrap();
    assert!(
        got.starts_with(&ifps[15]) && got[ifps[15].len()..].iter().all(|&b| b == 0),
        "{got:?}"
    );
    // Rebuilt from 16's entry 2: the group 15, 12, 9 (lengths 1, 3, 5).
    assert_eq!(got.len(), 5);
}

#[test]
fn fec_cannot_rebuild_two_losses_of_one_group() {
    // Four in a row with entries 3: when 24 arrives its groups are {23,20,17}, {22,19,16},
    // {21,18,15}: 21 and 22 come back, 20 and 23 share a group and are lost.
    let ifps: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 2]).collect();
    let mut lost = vec![false; 40];
    lost[20..24].fill(true);
    let (rx, out) = simulate(fec(3, 3), &ifps, &lost);
    assert_eq!((rx.stats().lost, rx.stats().recovered_fec), (2, 2));
    let got = seqs(&out);
    assert!(got.contains(&21) && got.contains(&22) && !got.contains(&20) && !got.contains(&23));
    for (seq, ifp) in &out {
        assert_eq!(ifp, &ifps[usize::from(*seq)]);
    }
}

#[test]
fn fec_burst_longer_than_entries_is_lost() {
    // span 2, entries 1: each datagram's one entry is the XOR of the two before it.
    let ifps: Vec<Vec<u8>> = (0..30u8).map(|i| vec![i; 3]).collect();
    let mut lost = vec![false; 30];
    lost[10] = true;
    lost[11] = true;
    let (rx, _) = simulate(fec(2, 1), &ifps, &lost);
    assert_eq!((rx.stats().lost, rx.stats().recovered_fec), (2, 0));
    let mut lost = vec![false; 30];
    lost[10] = true;
    let (rx, _) = simulate(fec(2, 1), &ifps, &lost);
    assert_eq!((rx.stats().lost, rx.stats().recovered_fec), (0, 1));
}

#[test]
fn far_end_switching_from_redundancy_to_fec() {
    // spandsp notes some gear sends redundancy first and FEC later: history carries over.
    let ifps: Vec<Vec<u8>> = (0..30u8).map(|i| vec![i; 3]).collect();
    let mut tx = Udptl::default();
    let mut rx = Udptl::default();
    let mut out = Vec::new();
    for (i, ifp) in ifps.iter().enumerate() {
        if i == 10 {
            tx.set_config(UdptlConfig {
                error_correction: ErrorCorrection::Fec {
                    span: 3,
                    entries: 3,
                },
                max_datagram: 400,
            });
        }
        let d = tx.send(ifp).unwrap().to_vec();
        if i != 5 && i != 20 {
            out.extend(collect(&mut rx, &d));
        }
    }
    assert_eq!(seqs(&out), (0..30).collect::<Vec<u16>>());
    let s = rx.stats();
    assert_eq!((s.recovered_redundancy, s.recovered_fec, s.lost), (1, 1, 0));
}
