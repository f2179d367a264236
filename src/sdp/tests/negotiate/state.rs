//! Requirements: one offer outstanding at a time (RFC 3264 §4); glare → 491 and an offer before
//! we answered → 500 (RFC 3261 §14.2); a failed offer leaves the session as it was (§14.1).

use crate::sdp::negotiate::{NegotiationError, OfferAnswer, OfferAnswerState};

#[test]
fn initial_exchange_then_glare() {
    let mut oa = OfferAnswer::new();
    assert_eq!(oa.state(), OfferAnswerState::Idle);
    oa.send_offer().expect("first offer");
    assert_eq!(oa.state(), OfferAnswerState::OfferSent);
    // Their re-INVITE crosses ours.
    let err = oa.receive_offer().expect_err("glare");
    assert_eq!(
        (err.clone(), err.sip_status()),
        (NegotiationError::Glare, Some(491))
    );
    assert_eq!(
        oa.state(),
        OfferAnswerState::OfferSent,
        "refusal changes nothing"
    );
    assert_eq!(oa.send_offer(), Err(NegotiationError::OfferPending));
    oa.receive_answer().expect("answer");
    assert_eq!(oa.state(), OfferAnswerState::Stable);
}

#[test]
fn received_offer_must_be_answered_first() {
    let mut oa = OfferAnswer::new();
    oa.receive_offer().expect("offer");
    let err = oa.receive_offer().expect_err("second offer");
    assert_eq!(
        (err.clone(), err.sip_status()),
        (NegotiationError::OfferInProgress, Some(500))
    );
    assert_eq!(oa.send_offer(), Err(NegotiationError::OfferPending));
    assert_eq!(oa.receive_answer(), Err(NegotiationError::NoOfferPending));
    oa.send_answer().expect("answer");
    assert_eq!(oa.state(), OfferAnswerState::Stable);
    assert_eq!(oa.send_answer(), Err(NegotiationError::NoOfferPending));
}

#[test]
fn rollback_restores_previous_state() {
    let mut oa = OfferAnswer::new();
    oa.receive_offer().expect("offer");
    oa.rollback(); // we answered 488
    assert_eq!(oa.state(), OfferAnswerState::Idle);

    oa.send_offer().expect("offer");
    oa.receive_answer().expect("answer");
    oa.send_offer().expect("re-offer");
    oa.rollback(); // our re-INVITE got 491
    assert_eq!(oa.state(), OfferAnswerState::Stable);
    oa.receive_offer()
        .expect("their re-INVITE after the back-off");
    oa.send_answer().expect("answer");
    assert_eq!(oa.state(), OfferAnswerState::Stable);
}
