//! A chat from `/contact` reaches the agent panel, in real browsers
//! (headless Chromium over WebDriver) against the real binary: a visitor's
//! browser starts a chat on the public page, the logged-in agent's panel in
//! a second browser shows the offer with the visitor's first message and
//! customer record, the agent accepts, they exchange a message each way,
//! the agent ends the chat and saves the wrap-up. Screenshots of both sides
//! (`visitor-*`, `agent-*`) go to `target/test-artifacts/<test>/`.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::ports;
use common::sipp::Sipp;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(15);
const PW: &str = "a long passphrase";

#[test]
fn a_chat_from_contact_reaches_the_agent_panel() {
    let sb = Switchboard::start_with("").expect("start");
    let base = format!("http://127.0.0.1:{}", sb.http_port);
    sb.admin_ok(&["queue", "add", "chat", "--strategy", "longest_idle", "--wrapup", "60"]);
    sb.admin_ok(&["customer", "add", "--name", "Grace Hopper", "--account", "A-1906", "--phone", "2704", "--field", "tier=gold"]);
    // The agent's phone is registered (the ACD pauses agents without one); a chat never rings it.
    sb.add_extension("2811", "secret-of-2811");
    Sipp::scenario("register_auth.xml")
        .remote(&sb.sip_addr())
        .ports(ports::alloc_sipp())
        .service("2811")
        .auth("2811", "secret-of-2811")
        .calls(1)
        .run()
        .expect("register")
        .expect_success(1)
        .expect("phone registered");
    sb.admin_ok(&["agent", "add", "alice", "--name", "Alice", "--ext", "2811"]);
    sb.admin_ok(&["agent", "skill", "alice", "chat", "5"]);
    sb.admin_ok(&["queue", "member", "add", "chat", "alice"]);
    let made = sb.admin_stdin(&["user", "add", "alice", "--role", "agent", "--agent", "alice"], &format!("{PW}\n"));
    assert!(made.status.success(), "{made:?}");

    // The agent logs in to the console and to the queues.
    let agent = Browser::start().expect("agent's browser");
    agent.goto(&format!("{base}/login")).unwrap();
    agent.fill("#username", "alice").unwrap();
    agent.fill("#password", PW).unwrap();
    agent.click("#login").unwrap();
    agent.wait_url("/agent", T).expect("agents land on their panel");
    agent.wait_for("#panel[data-connected]", T).expect("event stream connected");
    agent.click("#login").unwrap();
    agent.wait_text("#agent-state", "available", T).expect("agent available");
    agent.screenshot("agent-01-ready").unwrap();

    // The visitor starts a chat on the public page.
    let visitor = Browser::start().expect("visitor's browser");
    visitor.goto(&format!("{base}/contact")).unwrap();
    visitor.wait_for("#chat-start-form", T).expect("contact page");
    visitor.screenshot("visitor-01-contact-page").unwrap();
    visitor.fill("#chat_name", "Vera").unwrap();
    visitor.fill("#chat_phone", "2704").unwrap();
    visitor.fill("#chat_message", "Hello, my router is down").unwrap();
    visitor.click("#start-chat").unwrap();
    visitor.wait_url("/contact/chat/", T).expect("the chat page");
    visitor.wait_for("#chat[data-connected]", T).expect("chat socket connected");
    assert!(visitor.text("#chat-log").unwrap().contains("Hello, my router is down"));
    assert!(visitor.cookie("sb_chat").unwrap().is_some_and(|c| c.http_only), "the chat token is an HttpOnly cookie");

    // The panel shows the offer with the first message and the customer record.
    agent.wait_for("#chat-card:not([hidden])", T).expect("chat offered on the panel");
    let info = agent.text("#chat-info").unwrap();
    assert!(info.contains("Vera") && info.contains("Hello, my router is down"), "{info}");
    agent.wait_text("#customer-record", "Grace Hopper", T).expect("customer matched by phone");
    assert!(agent.text("#chat-summary .badge").unwrap().contains("offered"));
    agent.screenshot("agent-02-chat-offered").unwrap();
    visitor.screenshot("visitor-02-waiting").unwrap();

    agent.click("#chat-accept").unwrap();
    agent.wait_text("#chat-summary .badge", "Chatting", T).expect("accepted");
    visitor.wait_text("#chat-status", "Connected", T).expect("the visitor sees the agent join");
    visitor.wait_text("#chat-log", "Alice joined the chat", T).unwrap();
    agent.wait_text("#chat-log", "Hello, my router is down", T).expect("the panel has the conversation so far");
    agent.wait_text("#agent-state", "on_call", T).expect("the ACD counts the agent busy");

    // One message each way.
    agent.fill("#chat-text", "Hi Vera, I can help with that.").unwrap();
    agent.click("#chat-send").unwrap();
    visitor.wait_text("#chat-log li.agent", "Hi Vera, I can help with that.", T).expect("agent's message reaches the visitor");
    visitor.fill("#chat-text", "Thank you! It blinks red.").unwrap();
    visitor.click("#chat-send").unwrap();
    agent.wait_text("#chat-log li.visitor:last-child", "It blinks red", T).expect("visitor's message reaches the panel");
    visitor.wait_text("#chat-log li.visitor:last-child", "It blinks red", T).unwrap();
    agent.screenshot("agent-03-chatting").unwrap();
    visitor.screenshot("visitor-03-chatting").unwrap();

    // The agent ends the chat: the visitor is told, the agent wraps up.
    agent.click("#chat-end").unwrap();
    visitor.wait_text("#chat-status", "Ended", T).expect("the visitor sees the end");
    assert!(visitor.prop("#chat-text", "disabled").unwrap().as_bool().unwrap_or(false), "no more typing");
    agent.wait_for("#wrapup:not([hidden])", T).expect("wrap-up form");
    agent.wait_text("#agent-state", "wrap_up", T).expect("wrap-up after the chat");
    agent.fill("#disposition", "support").unwrap();
    agent.fill("#notes", "router reset").unwrap();
    agent.click("#save-wrapup").unwrap();
    agent.wait_text("#panel-status", "Wrap-up saved", T).expect("saved");
    agent.screenshot("agent-04-wrapped-up").unwrap();
    visitor.screenshot("visitor-04-ended").unwrap();

    // The transcript is in the customer's history on the panel.
    let h = agent.exec("return fetch('/agent/history?number=2704').then(r => r.text())").unwrap();
    let html = h.as_str().unwrap_or_default().to_string();
    assert!(html.contains("chat-history") && html.contains("support") && html.contains("router reset"), "{html}");
}
