//! Conference mixer requirements (issue "Conference mixer"): mix-minus, mute, deaf, listen, whisper,
//! barge, loudest-N, clipping safety, large rooms, tones. Tones are told apart with Goertzel.

use std::sync::Arc;

use super::testutil::{goertzel_amp, tone_frame};
use super::*;
use crate::media::AudioFrame;

const RATE: u32 = 16_000;
const AMP: f32 = 8_000.0;
/// Frequencies chosen on exact 50 Hz bins of a 20 ms frame so Goertzel has no leakage between them.
const FREQS: [f32; 10] = [
    400.0, 600.0, 850.0, 1100.0, 1350.0, 1600.0, 1900.0, 2200.0, 2500.0, 2800.0,
];

fn quiet_conf(max_talkers: usize) -> Conference {
    let mut c = Conference::new(RATE, max_talkers).expect("valid rate");
    c.set_join_leave_tones(false);
    c
}

/// Runs `ticks` ticks where party i sends FREQS[i] (None = sends nothing); returns what each party
/// heard on the last tick.
fn run(c: &mut Conference, parties: &[(PartyId, Option<f32>)], ticks: u64) -> Vec<AudioFrame> {
    let mut heard = vec![AudioFrame::silence(RATE); parties.len()];
    for n in 0..ticks {
        for &(p, f) in parties {
            if let Some(f) = f {
                c.put(p, &tone_frame(RATE, f, AMP, n)).expect("put");
            }
        }
        c.mix();
        for (i, &(p, _)) in parties.iter().enumerate() {
            c.get(p, &mut heard[i]).expect("get");
        }
    }
    heard
}

fn hears(frame: &AudioFrame, f: f32) -> bool {
    goertzel_amp(frame.pcm(), RATE, f) > AMP / 2.0
}

fn silent_at(frame: &AudioFrame, f: f32) -> bool {
    goertzel_amp(frame.pcm(), RATE, f) < AMP / 100.0
}

#[test]
fn mix_minus_each_hears_the_others_not_itself() {
    let mut c = quiet_conf(3);
    let ps: Vec<_> = (0..3)
        .map(|i| (c.add_party(Role::Normal).expect("add"), Some(FREQS[i])))
        .collect();
    let heard = run(&mut c, &ps, 3);
    for (i, frame) in heard.iter().enumerate() {
        for (j, &f) in FREQS[..3].iter().enumerate() {
            if i == j {
                assert!(silent_at(frame, f), "party {i} hears itself");
            } else {
                assert!(hears(frame, f), "party {i} misses party {j}");
            }
        }
    }
}

#[test]
fn muted_party_is_heard_by_nobody_but_still_hears() {
    let mut c = quiet_conf(3);
    let ps: Vec<_> = (0..3)
        .map(|i| (c.add_party(Role::Normal).expect("add"), Some(FREQS[i])))
        .collect();
    c.set_muted(ps[0].0, true).expect("mute");
    let heard = run(&mut c, &ps, 3);
    assert!(silent_at(&heard[1], FREQS[0]) && silent_at(&heard[2], FREQS[0]));
    assert!(hears(&heard[0], FREQS[1]) && hears(&heard[0], FREQS[2]));
    assert!(hears(&heard[1], FREQS[2]));
}

#[test]
fn deaf_party_gets_silence_and_is_still_heard() {
    let mut c = quiet_conf(3);
    let ps: Vec<_> = (0..3)
        .map(|i| (c.add_party(Role::Normal).expect("add"), Some(FREQS[i])))
        .collect();
    c.set_deaf(ps[0].0, true).expect("deaf");
    c.play_beep(Beep::Join);
    let heard = run(&mut c, &ps, 1);
    assert!(
        heard[0].pcm().iter().all(|&s| s == 0),
        "deaf hears nothing, tones included"
    );
    assert!(hears(&heard[1], FREQS[0]));
}

#[test]
fn listen_hears_both_and_is_heard_by_nobody() {
    let mut c = quiet_conf(3);
    let caller = c.add_party(Role::Normal).expect("add");
    let agent = c.add_party(Role::Normal).expect("add");
    let sup = c.add_party(Role::Listen).expect("add");
    let ps = [
        (caller, Some(FREQS[0])),
        (agent, Some(FREQS[1])),
        (sup, Some(FREQS[2])),
    ];
    let heard = run(&mut c, &ps, 3);
    assert!(hears(&heard[2], FREQS[0]) && hears(&heard[2], FREQS[1]));
    assert!(silent_at(&heard[0], FREQS[2]) && silent_at(&heard[1], FREQS[2]));
    assert!(hears(&heard[0], FREQS[1]) && hears(&heard[1], FREQS[0]));
}

#[test]
fn whisper_reaches_only_the_agent() {
    let mut c = quiet_conf(3);
    let caller = c.add_party(Role::Normal).expect("add");
    let agent = c.add_party(Role::Normal).expect("add");
    let sup = c.add_party(Role::Whisper { to: agent }).expect("add");
    let ps = [
        (caller, Some(FREQS[0])),
        (agent, Some(FREQS[1])),
        (sup, Some(FREQS[2])),
    ];
    let heard = run(&mut c, &ps, 3);
    assert!(hears(&heard[1], FREQS[2]), "agent hears the coach");
    assert!(silent_at(&heard[0], FREQS[2]), "caller does not");
    assert!(
        hears(&heard[2], FREQS[0]) && hears(&heard[2], FREQS[1]),
        "coach hears both"
    );
    assert!(silent_at(&heard[2], FREQS[2]), "coach does not hear itself");
    assert!(c.is_talking(sup));
}

#[test]
fn barge_is_heard_by_everyone_and_roles_change_in_place() {
    let mut c = quiet_conf(3);
    let caller = c.add_party(Role::Normal).expect("add");
    let agent = c.add_party(Role::Normal).expect("add");
    let sup = c.add_party(Role::Listen).expect("add");
    let ps = [
        (caller, Some(FREQS[0])),
        (agent, Some(FREQS[1])),
        (sup, Some(FREQS[2])),
    ];
    run(&mut c, &ps, 2);
    c.set_role(sup, Role::Barge).expect("barge");
    let heard = run(&mut c, &ps, 3);
    assert!(hears(&heard[0], FREQS[2]) && hears(&heard[1], FREQS[2]));
    assert!(hears(&heard[2], FREQS[0]) && hears(&heard[2], FREQS[1]));
    assert_eq!(
        c.set_role(sup, Role::Whisper { to: sup }),
        Err(MixerError::BadWhisperTarget(sup))
    );
}

#[test]
fn loudest_n_of_ten_talkers() {
    let mut c = quiet_conf(3);
    let listener = c.add_party(Role::Normal).expect("add");
    let mut ps = vec![(listener, None)];
    let mut talkers = Vec::new();
    for &f in FREQS.iter() {
        let p = c.add_party(Role::Normal).expect("add");
        talkers.push(p);
        ps.push((p, Some(f)));
    }
    // Talkers 7, 8, 9 are louder (×3); they must be the ones mixed. (Three at AMP stay below the soft
    // clipper's knee, so the check is not blurred by intermodulation.)
    for n in 0..10u64 {
        for (i, &p) in talkers.iter().enumerate() {
            let amp = if i >= 7 { AMP } else { AMP / 3.0 };
            c.put(p, &tone_frame(RATE, FREQS[i], amp, n)).expect("put");
        }
        c.mix();
    }
    let mut heard = AudioFrame::silence(RATE);
    c.get(listener, &mut heard).expect("get");
    for (i, &f) in FREQS.iter().enumerate() {
        let a = goertzel_amp(heard.pcm(), RATE, f);
        if i >= 7 {
            assert!(a > AMP / 2.0, "loud talker {i} missing ({a})");
        } else {
            assert!(a < AMP / 100.0, "quiet talker {i} mixed ({a})");
        }
    }
    assert_eq!(talkers.iter().filter(|&&p| c.is_talking(p)).count(), 3);
    let _ = ps;
}

#[test]
fn hangover_keeps_a_talker_through_a_short_pause() {
    let mut c = quiet_conf(1);
    let listener = c.add_party(Role::Normal).expect("add");
    let a = c.add_party(Role::Normal).expect("add");
    let b = c.add_party(Role::Normal).expect("add");
    // `a` talks; then pauses for 100 ms while `b` (slightly quieter) talks; `a` keeps the floor.
    for n in 0..10 {
        c.put(a, &tone_frame(RATE, FREQS[0], AMP, n)).expect("put");
        c.put(b, &tone_frame(RATE, FREQS[1], AMP * 0.8, n))
            .expect("put");
        c.mix();
    }
    for n in 10..15 {
        c.put(a, &AudioFrame::silence(RATE)).expect("put");
        c.put(b, &tone_frame(RATE, FREQS[1], AMP * 0.8, n))
            .expect("put");
        c.mix();
        let mut heard = AudioFrame::silence(RATE);
        c.get(listener, &mut heard).expect("get");
        assert!(
            silent_at(&heard, FREQS[1]),
            "b took the floor during a's pause at tick {n}"
        );
    }
}

#[test]
fn many_loud_parties_never_wrap() {
    let mut c = quiet_conf(0); // no talker limit: the worst case for the sum
    let ps: Vec<(PartyId, Option<f32>)> = (0..40)
        .map(|_| (c.add_party(Role::Normal).expect("add"), None))
        .collect();
    let mut loud = AudioFrame::silence(RATE);
    loud.pcm_mut().fill(i16::MAX);
    for &(p, _) in &ps[1..] {
        c.put(p, &loud).expect("put");
    }
    c.mix();
    let mut heard = AudioFrame::silence(RATE);
    c.get(ps[0].0, &mut heard).expect("get");
    assert!(
        heard.pcm().iter().all(|&s| s > 30_000),
        "saturates high, never wraps negative"
    );
    let mut neg = loud.clone();
    neg.pcm_mut().fill(i16::MIN);
    for &(p, _) in &ps[1..] {
        c.put(p, &neg).expect("put");
    }
    c.mix();
    c.get(ps[0].0, &mut heard).expect("get");
    assert!(heard.pcm().iter().all(|&s| s < -30_000));
}

#[test]
fn hundred_parties_tick() {
    let mut c = quiet_conf(3);
    let ps: Vec<_> = (0..100)
        .map(|_| c.add_party(Role::Normal).expect("add"))
        .collect();
    let mut out = AudioFrame::silence(RATE);
    for n in 0..50 {
        for (i, &p) in ps.iter().enumerate() {
            c.put(p, &tone_frame(RATE, FREQS[i % 10], AMP / 4.0, n))
                .expect("put");
        }
        c.mix();
        for &p in &ps {
            c.get(p, &mut out).expect("get");
        }
    }
    assert_eq!(c.len(), 100);
    assert_eq!(ps.iter().filter(|&&p| c.is_talking(p)).count(), 3);
}

#[test]
fn frames_at_the_wrong_rate_are_refused() {
    let mut c = quiet_conf(3);
    let p = c.add_party(Role::Normal).expect("add");
    let err = c.put(p, &AudioFrame::silence(8_000));
    assert_eq!(
        err,
        Err(MixerError::RateMismatch {
            expected: RATE,
            got: 8_000
        })
    );
    let mut short = AudioFrame::silence(RATE);
    short.len = 100;
    assert_eq!(
        c.put(p, &short),
        Err(MixerError::LengthMismatch {
            expected: 320,
            got: 100
        })
    );
}

#[test]
fn removed_ids_go_stale_and_slots_are_reused() {
    let mut c = quiet_conf(3);
    let a = c.add_party(Role::Normal).expect("add");
    c.remove_party(a).expect("remove");
    let b = c.add_party(Role::Normal).expect("add");
    assert_ne!(a, b);
    assert_eq!(c.set_muted(a, true), Err(MixerError::UnknownParty(a)));
    assert!(c.set_muted(b, true).is_ok());
    assert_eq!(c.len(), 1);
}

#[test]
fn join_tone_for_participants_not_for_monitors() {
    let mut c = Conference::new(RATE, 3).expect("rate");
    let a = c.add_party(Role::Normal).expect("add");
    let mut heard = AudioFrame::silence(RATE);
    c.mix(); // consume the join beep started by `a`
    for _ in 0..20 {
        c.mix();
    }
    c.add_party(Role::Listen).expect("add");
    c.mix();
    c.get(a, &mut heard).expect("get");
    assert!(
        heard.pcm().iter().all(|&s| s == 0),
        "a supervisor's listen must be inaudible"
    );
    c.add_party(Role::Normal).expect("add");
    c.mix();
    c.mix(); // second frame: past the fade-in
    c.get(a, &mut heard).expect("get");
    assert!(
        goertzel_amp(heard.pcm(), RATE, 523.25) > 3_000.0,
        "join beep (C5) heard"
    );
}

#[test]
fn announcement_plays_to_everyone() {
    let mut c = quiet_conf(3);
    let a = c.add_party(Role::Normal).expect("add");
    let prompt: Arc<[i16]> = tone_frame(RATE, 1000.0, AMP, 0).pcm().into();
    c.play_to_all(prompt);
    c.mix();
    let mut heard = AudioFrame::silence(RATE);
    c.get(a, &mut heard).expect("get");
    assert!(hears(&heard, 1000.0));
    c.mix();
    c.get(a, &mut heard).expect("get");
    assert!(heard.pcm().iter().all(|&s| s == 0), "played once");
}

#[test]
fn internal_rate_is_the_highest_party_rate() {
    assert_eq!(internal_rate_for([8_000, 16_000]), 16_000);
    assert_eq!(internal_rate_for([8_000]), 8_000);
    assert_eq!(internal_rate_for([]), DEFAULT_INTERNAL_RATE);
    assert_eq!(internal_rate_for([12_000]), 16_000);
    assert!(Conference::new(11_025, 3).is_err());
}

#[test]
fn whisper_to_a_departed_party_reaches_nobody() {
    let mut c = quiet_conf(3);
    let caller = c.add_party(Role::Normal).expect("add");
    let agent = c.add_party(Role::Normal).expect("add");
    let sup = c.add_party(Role::Whisper { to: agent }).expect("add");
    c.remove_party(agent).expect("remove");
    let heard = run(
        &mut c,
        &[(caller, Some(FREQS[0])), (sup, Some(FREQS[2]))],
        2,
    );
    assert!(
        silent_at(&heard[0], FREQS[2]),
        "the caller never hears the coach"
    );
    assert!(hears(&heard[1], FREQS[0]));
    assert_eq!(
        c.add_party(Role::Whisper { to: agent }),
        Err(MixerError::UnknownParty(agent))
    );
}
