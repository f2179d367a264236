//! Statistics on a scripted day.

use super::harness::{finished, H};
use crate::acd::{AgentState, Input, Outcome, Strategy};

#[test]
fn scripted_day_numbers() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.service_level_ms = 20_000;
        q.wrap_up_ms = 10_000;
    });
    h.agents("q", &["a"]);
    h.input(Input::ResetStats);
    let t0 = h.now;
    // c1: answered after 5 s, talks 100 s.
    h.join("c1", "q");
    h.advance(5_000);
    let o1 = h.answer("a");
    h.advance(100_000);
    h.input(Input::CallEnded { offer: o1 });
    // c2 joins during wrap-up: answered after 10 s (wrap) + 30 s ring = 40 s, talks 200 s.
    h.join("c2", "q");
    h.advance(10_000);
    h.advance(30_000);
    let o2 = h.answer("a");
    // c3 joins while a talks and abandons after 50 s.
    h.join("c3", "q");
    h.advance(50_000);
    assert_eq!(
        finished(
            &h.input(Input::Abandon {
                caller: "c3".into()
            }),
            "c3"
        ),
        [Outcome::Abandoned]
    );
    h.advance(150_000);
    h.input(Input::CallEnded { offer: o2 });
    // a pauses 60 s for lunch.
    h.advance(10_000);
    h.input(Input::Pause {
        agent: "a".into(),
        reason: "lunch".into(),
    });
    h.advance(60_000);
    // c4 still waiting, 20 s.
    h.join("c4", "q");
    h.advance(20_000);
    let st = h.acd.stats(h.now);
    let q = &st.queues[0];
    assert_eq!(st.since_ms, t0);
    assert_eq!(
        (q.joined, q.answered, q.abandoned, q.answered_within_sl),
        (4, 2, 1, 1)
    );
    assert_eq!((q.waiting, q.longest_wait_ms), (1, 20_000));
    assert_eq!(q.agents.paused, 1);
    assert_eq!(q.asa_ms, Some(22_500)); // (5 + 40) / 2
    assert_eq!(q.aht_ms, Some(160_000)); // ((100 + 10) + (200 + 10)) / 2
    let sl = q.service_level_pct.unwrap();
    assert!((sl - 100.0 / 3.0).abs() < 1e-9, "{sl}"); // 1 of (2 answered + 1 abandoned)
    let ar = q.abandon_rate_pct.unwrap();
    assert!((ar - 100.0 / 3.0).abs() < 1e-9, "{ar}");
    let a = &st.agents[0];
    assert_eq!((a.calls, a.talk_ms), (2, 300_000));
    assert_eq!(
        a.pause_ms.get("lunch"),
        Some(&80_000),
        "running pause included"
    );
    assert_eq!(
        a.state,
        AgentState::Paused {
            reason: "lunch".into()
        }
    );
    // Midnight: counters restart, live state stays.
    h.input(Input::ResetStats);
    let q = &h.acd.stats(h.now).queues[0];
    assert_eq!((q.joined, q.answered, q.waiting), (0, 0, 1));
    assert_eq!((q.service_level_pct, q.asa_ms), (None, None));
    // Serializable for the API.
    let json = serde_json::to_string(&h.acd.stats(h.now)).unwrap();
    assert!(json.contains("\"service_level_pct\""));
}
