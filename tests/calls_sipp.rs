//! Calls through the appliance driven by SIPp: an authenticated extension
//! calling out through a trunk whose far end is a SIPp carrier. Covers the
//! bulk run (500 calls, zero failures) and the appliance hanging up both
//! legs when RTP stops.

mod common;

use std::time::{Duration, Instant};

use common::sipp::Sipp;
use common::switchboard::Switchboard;

const SECRET: &str = "secret-1001-x";

/// A carrier SIPp answering `calls` calls, and the appliance pointed at it.
/// OPTIONS probes are turned off: SIPp would count each as a call.
fn appliance_with_carrier(config: &str, calls: u32) -> (Switchboard, common::sipp::SippProcess) {
    let carrier = Sipp::scenario("uas_carrier.xml").calls(calls).timeout(Duration::from_secs(120)).no_trace_msg().spawn().expect("start carrier");
    let sb = Switchboard::start_with(&format!("[trunks]\noptions_interval_secs = 0\n{config}")).expect("start switchboard");
    sb.add_extension("1001", SECRET);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &carrier.addr()]);
    let list = sb.admin_ok(&["trunk", "list"]);
    assert!(list.contains(" off "), "health probes shown as off: {list}");
    (sb, carrier)
}

fn wait_ports_free(sb: &Switchboard) -> Vec<u16> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let used = sb.rtp_ports_in_use();
        if used.is_empty() || Instant::now() > deadline {
            return used;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn five_hundred_calls_extension_to_trunk_without_failure() {
    let (sb, carrier) = appliance_with_carrier("", 500);
    let caller = Sipp::scenario("call_ext_uac.xml")
        .remote(&sb.sip_addr())
        .service("5551234")
        .key("caller", "1001")
        .auth("1001", SECRET)
        .calls(500)
        .rate(25.0)
        .limit(10)
        .timeout(Duration::from_secs(120))
        .no_trace_msg()
        .run()
        .expect("run caller");
    caller.expect_success(500).expect("all 500 calls succeed on the caller side");
    assert_eq!(caller.failed(), 0);
    let carrier = carrier.wait(Duration::from_secs(30)).expect("carrier ends");
    carrier.expect_success(500).expect("the carrier answered and saw BYE for all 500 calls");
    assert_eq!(wait_ports_free(&sb), Vec::<u16>::new(), "every call released its media ports");
}

#[test]
fn rtp_inactivity_hangs_up_both_legs() {
    let (mut sb, carrier) = appliance_with_carrier("[rtp]\ninactivity_timeout_secs = 2\n", 1);
    // Neither SIPp sends RTP: after 2 s the appliance must BYE both sides.
    let caller = Sipp::scenario("call_ext_uac_wait_bye.xml")
        .remote(&sb.sip_addr())
        .service("5551234")
        .key("caller", "1001")
        .auth("1001", SECRET)
        .calls(1)
        .timeout(Duration::from_secs(30))
        .run()
        .expect("run caller");
    caller.expect_success(1).expect("caller received BYE from the appliance");
    carrier.wait(Duration::from_secs(30)).expect("carrier ends").expect_success(1).expect("carrier received BYE");
    sb.wait_log("no RTP", Duration::from_secs(5)).expect("inactivity logged");
    assert_eq!(wait_ports_free(&sb), Vec::<u16>::new(), "ports released after the timeout");
}

/// A PCMU caller through a trunk allowed only PCMA is transcoded. The
/// carrier rings with early media (183 with SDP, no 180), which the media
/// engine cannot carry before the answer: the caller gets 180 Ringing, so
/// its phone rings back instead of staying silent on a bare 183.
#[test]
fn early_media_on_a_transcoded_call_reaches_the_caller_as_ringing() {
    let carrier = Sipp::scenario("uas_carrier_early_pcma.xml").calls(1).timeout(Duration::from_secs(60)).spawn().expect("start carrier");
    let mut sb = Switchboard::start_with("[trunks]\noptions_interval_secs = 0\n").expect("start switchboard");
    sb.add_extension("1001", SECRET);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &carrier.addr(), "--codecs", "PCMA"]);
    let caller = Sipp::scenario("call_ext_uac.xml")
        .remote(&sb.sip_addr())
        .service("5551234")
        .key("caller", "1001")
        .auth("1001", SECRET)
        .calls(1)
        .pause(Duration::from_millis(500))
        .timeout(Duration::from_secs(60))
        .run()
        .expect("run caller");
    caller.expect_success(1).expect("the call completes");
    carrier.wait(Duration::from_secs(30)).expect("carrier ends").expect_success(1).expect("carrier answered and saw BYE");
    sb.wait_log("bridging through the media engine", Duration::from_secs(5)).expect("transcoded");
    let log = sb.log();
    assert!(log.contains("caller_codec=PCMU") && log.contains("callee_codec=PCMA"), "PCMU caller, PCMA carrier");
    let seen = caller.messages();
    assert!(seen.contains("SIP/2.0 180 Ringing"), "the caller is told the callee rings:\n{seen}");
    assert!(!seen.contains("SIP/2.0 183"), "no 183 without media:\n{seen}");
}
