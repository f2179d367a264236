//! The session against a scripted ACD: the test holds the ACD's end of the
//! handle and answers like the ACD task would.

use std::time::Duration;

use tokio::sync::mpsc;

use super::*;
use crate::call::acd::{CallerDirective, Msg, QueueInfo};
use crate::cti::CtiKind;

async fn next_msg(rx: &mut mpsc::UnboundedReceiver<Msg>) -> Msg {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("the session asked the ACD").expect("open")
}

async fn next_event(ev: &mut tokio::sync::broadcast::Receiver<Arc<crate::cti::CtiEvent>>) -> CtiKind {
    let e = tokio::time::timeout(Duration::from_secs(5), ev.recv()).await.expect("an event").expect("bus open");
    e.kind.clone()
}

async fn chat_queue(store: &crate::store::Store) {
    let q = crate::store::Queue { name: "chat".into(), ..crate::store::Queue::default() };
    store.add_queue(&q).await.expect("chat queue");
}

#[tokio::test]
async fn offer_accept_messages_and_end_follow_the_acd() {
    let (_dir, store) = crate::store::test_store().await;
    chat_queue(&store).await;
    let (acd, mut acd_rx) = crate::call::acd::channel();
    let events = EventBus::default();
    let mut ev = events.subscribe();
    let hub = ChatHub::new(ContactConfig { max_messages: 4, ..ContactConfig::default() }, store.clone(), events, Some(acd));
    let started = hub
        .start(NewVisitor { name: "Vera".into(), phone: "555 0101".into(), message: "Hello?".into(), ..NewVisitor::default() })
        .await
        .unwrap();
    assert!(hub.visitor(&started.id, "wrong").is_none(), "the token guards the visitor side");
    let visitor = hub.visitor(&started.id, &started.token).expect("visitor");
    let mut updates = visitor.subscribe();
    // The session joins the chat queue with the chat skill, as a chat.
    let Msg::Join { req, directives, reply } = next_msg(&mut acd_rx).await else { panic!("join expected") };
    assert_eq!((req.queue.as_str(), req.chat, req.skills.get("chat")), ("chat", true, Some(&1)));
    assert_eq!(req.caller, started.id);
    reply.send(Ok(QueueInfo { queue: "chat".into(), moh_class: String::new(), callback_key: None })).unwrap();

    // Offered to alice: a CTI event, reported as ringing; bob may not take it.
    directives.send(CallerDirective::Offer { offer: 7, agent: "alice".into(), extensions: vec![] }).unwrap();
    match next_event(&mut ev).await {
        CtiKind::ChatOffered { agent, chat } => {
            assert_eq!((agent.as_str(), chat.visitor_name.as_str(), chat.first_message.as_str()), ("alice", "Vera", "Hello?"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::OfferRinging { offer: 7 }));
    assert!(hub.involves(&started.id, "alice") && !hub.involves(&started.id, "bob"));
    assert!(matches!(hub.accept(&started.id, "bob").await, Err(ChatError::Forbidden(_))));
    assert!(matches!(hub.say(&started.id, "alice", "not yet").await, Err(ChatError::Forbidden(_))), "no talking before connect");

    // alice accepts: the ACD hears the answer; accept returns once connected.
    let h2 = hub.clone();
    let id = started.id.clone();
    let accept = tokio::spawn(async move { h2.accept(&id, "alice").await });
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::OfferAnswered { offer: 7 }));
    directives.send(CallerDirective::Connect { offer: 7, agent: "alice".into() }).unwrap();
    accept.await.unwrap().expect("accepted");
    assert!(matches!(next_event(&mut ev).await, CtiKind::ChatAnswered { .. }));
    // The ACD drops the caller's channel once answered: the chat goes on.
    drop(directives);

    match next_event(&mut ev).await {
        CtiKind::ChatMessage { from, text, .. } => assert_eq!((from.as_str(), text.as_str()), ("system", "alice joined the chat.")),
        other => panic!("{other:?}"),
    }
    hub.say(&started.id, "alice", "How can I help?").await.unwrap();
    match next_event(&mut ev).await {
        CtiKind::ChatMessage { agent, from, text, .. } => assert_eq!((agent.as_str(), from.as_str(), text.as_str()), ("alice", "agent", "How can I help?")),
        other => panic!("{other:?}"),
    }
    visitor.say("My bill", 2000).await.unwrap();
    assert!(matches!(next_event(&mut ev).await, CtiKind::ChatMessage { from, .. } if from == "visitor"));
    assert!(matches!(visitor.say("", 2000).await, Err(ChatError::Invalid(_))));
    // The visitor's page saw the lines in order.
    let mut seen = Vec::new();
    while let Ok(u) = updates.try_recv() {
        if let Update::Message { from, text, .. } = u {
            seen.push(format!("{from}: {text}"));
        }
    }
    assert_eq!(seen, ["system: alice joined the chat.", "agent: How can I help?", "visitor: My bill"]);

    // Message limit (4: the first, two above, one more) ends the chat.
    hub.say(&started.id, "alice", "one more").await.unwrap();
    assert!(matches!(hub.say(&started.id, "alice", "too many").await, Err(ChatError::Unavailable(_))));
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::CallEnded { offer: 7 }), "the agent goes to wrap-up");
    loop {
        if let CtiKind::ChatEnded { by, .. } = next_event(&mut ev).await {
            assert_eq!(by, "limit");
            break;
        }
    }
    assert_eq!(hub.live_count(), 0);
    let row = store.chat(&started.id).await.unwrap().unwrap();
    assert_eq!((row.agent.as_deref(), row.ended_by.as_deref()), (Some("alice"), Some("limit")));
    let lines: Vec<String> = store.chat_messages(&started.id).await.unwrap().into_iter().map(|m| m.sender).collect();
    assert_eq!(lines, ["visitor", "system", "agent", "visitor", "agent", "system"]);
}

#[tokio::test]
async fn decline_and_visitor_leaving_while_waiting() {
    let (_dir, store) = crate::store::test_store().await;
    let (acd0, _rx0) = crate::call::acd::channel();
    let off = ChatHub::new(ContactConfig::default(), store.clone(), EventBus::default(), Some(acd0));
    let refused = off.start(NewVisitor { name: "X".into(), message: "hi".into(), ..NewVisitor::default() }).await;
    assert!(matches!(refused, Err(ChatError::Unavailable(_))), "no chat queue: no chat");
    chat_queue(&store).await;
    let (acd, mut acd_rx) = crate::call::acd::channel();
    let events = EventBus::default();
    let mut ev = events.subscribe();
    let hub = ChatHub::new(ContactConfig::default(), store.clone(), events, Some(acd));
    let s = hub.start(NewVisitor { name: "Wes".into(), message: "hi".into(), ..NewVisitor::default() }).await.unwrap();
    let Msg::Join { directives, reply, .. } = next_msg(&mut acd_rx).await else { panic!() };
    reply.send(Ok(QueueInfo { queue: "chat".into(), moh_class: String::new(), callback_key: None })).unwrap();
    directives.send(CallerDirective::Offer { offer: 1, agent: "bob".into(), extensions: vec![] }).unwrap();
    assert!(matches!(next_event(&mut ev).await, CtiKind::ChatOffered { .. }));
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::OfferRinging { offer: 1 }));
    hub.decline(&s.id, "bob").await.unwrap();
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::OfferFailed { offer: 1, why: crate::call::acd::OfferFailure::Rejected }), "the ACD offers the next agent");
    assert!(matches!(next_event(&mut ev).await, CtiKind::ChatOfferCancelled { .. }));
    hub.visitor(&s.id, &s.token).unwrap().end().await.unwrap();
    assert!(matches!(next_msg(&mut acd_rx).await, Msg::Abandon { .. }), "a waiting chat abandons the queue");
    // The row is closed right after the ACD is told.
    let mut ended_by = None;
    for _ in 0..100 {
        ended_by = store.chat(&s.id).await.unwrap().unwrap().ended_by;
        if ended_by.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ended_by.as_deref(), Some("visitor"));
    assert!(matches!(hub.accept(&s.id, "bob").await, Err(ChatError::NotFound)));
    // Too long a first message is refused before anything starts.
    let long = "x".repeat(ContactConfig::default().max_message_chars + 1);
    assert!(matches!(hub.start(NewVisitor { name: "X".into(), message: long, ..NewVisitor::default() }).await, Err(ChatError::Invalid(_))));
}
