//! SIP trunks end to end: the appliance registers to a carrier (SIPp as the
//! registrar), probes it with OPTIONS, moves its registration when the trunk
//! is edited to another host and user (`trunk set`), accepts calls from it
//! by address and DID, and sends extension calls out through it answering
//! the carrier's proxy challenge.
//!
//! Every carrier here is a SIPp on 127.0.0.1 whose `-p` port is the trunk's
//! host port. The carrier is bound before the appliance starts, so the trunk
//! task's first OPTIONS/REGISTER (sent at start-up) reach it.

mod common;

use std::time::{Duration, Instant};

use common::baresip::{Baresip, BaresipConfig};
use common::ports;
use common::sip_trace::{digest_valid, received_requests, received_status, sent_status, traced, Traced};
use common::sipp::{Sipp, SippProcess};
use common::switchboard::Switchboard;

/// MD5 only (the default, spelled out: SIPp answers only MD5 and baresip
/// 1.0.0 fails when a SHA-256 challenge is offered too), OPTIONS every
/// `options_secs`.
fn config(options_secs: u64) -> String {
    format!("[sip]\ndigest_algorithms = [\"MD5\"]\n[trunks]\noptions_interval_secs = {options_secs}\nregister_expires = 60\n")
}

/// (OPTIONS, REGISTERED) of trunk `name` in `trunk list`: "up", "down",
/// "unknown", "n/a" or "off".
fn trunk_state(sb: &Switchboard, name: &str) -> (String, String) {
    let list = sb.admin_ok(&["trunk", "list"]);
    let line = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("trunk {name} not listed:\n{list}"));
    let states: Vec<&str> = line
        .split_whitespace()
        .filter(|t| matches!(*t, "up" | "down" | "unknown" | "n/a" | "off"))
        .collect();
    assert!(states.len() >= 2, "cannot parse trunk line: {line}");
    (states[0].to_string(), states[1].to_string())
}

/// Polls `trunk list` (every 200 ms, at most `timeout`) until `want`
/// holds; returns the last state either way.
fn wait_trunk(sb: &Switchboard, name: &str, timeout: Duration, want: impl Fn(&str, &str) -> bool) -> (String, String) {
    let deadline = Instant::now() + timeout;
    loop {
        let (o, r) = trunk_state(sb, name);
        if want(&o, &r) || Instant::now() >= deadline {
            return (o, r);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A SIPp carrier registrar (trunk_registrar.xml: expects `user`/`carrier_secret`,
/// grants 4 s, optionally ignores OPTIONS) and a running appliance whose trunk
/// registers to it with `trunk_secret`, OPTIONS every second.
fn registering_trunk(user: &str, carrier_secret: &str, trunk_secret: &str, ignore_options: bool) -> (Switchboard, SippProcess) {
    let carrier_ports = ports::alloc_sipp();
    let mut carrier = Sipp::scenario("trunk_registrar.xml")
        .ports(carrier_ports)
        .key("user", user)
        .key("secret", carrier_secret)
        .key("grant", "4")
        .key("ignore_options", if ignore_options { "1" } else { "0" })
        .timeout(Duration::from_secs(25))
        .spawn()
        .expect("spawn carrier registrar");
    carrier.wait_bound(Duration::from_secs(5)).expect("carrier bound");
    let mut sb = Switchboard::new(&config(1)).expect("prepare");
    let host = format!("127.0.0.1:{}", carrier_ports.sip);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--register", "--user", user, "--secret", trunk_secret]);
    sb.start().expect("start switchboard");
    (sb, carrier)
}

/// Test 1: digest registration to the carrier, refresh at half the granted
/// lifetime (the carrier grants 4 s and lists another device's binding
/// first), `trunk list` shows both OPTIONS and REGISTERED up.
#[test]
fn registers_with_digest_and_refreshes_at_half_the_granted_lifetime() {
    let (user, secret) = ("4420799990001", "carrier-secret-1");
    let (mut sb, carrier) = registering_trunk(user, secret, secret, false);

    let (opt, reg) = wait_trunk(&sb, "carrier", Duration::from_secs(15), |o, r| o == "up" && r == "up");
    assert_eq!((opt.as_str(), reg.as_str()), ("up", "up"), "trunk list after registering\n{}", sb.log());
    let line = sb.wait_log("trunk registered", Duration::from_secs(1)).expect("log line");
    assert!(line.contains("granted=4"), "took its own binding's lifetime (4 s), not another's: {line}");

    // The registrar's call ends after the authenticated refresh.
    let run = carrier.wait(Duration::from_secs(30)).expect("carrier finished");
    assert!(
        run.exit_code == Some(0) && run.failed() == 0,
        "carrier saw REGISTER, authenticated REGISTER, refresh within the granted time: exit {:?}, failed {}\n{}\n--- switchboard ---\n{}",
        run.exit_code,
        run.failed(),
        run.diagnostics(),
        sb.log()
    );
    let msgs = traced(&run);
    let registers = received_requests(&msgs, "REGISTER");
    assert_eq!(registers.len(), 4, "two rounds of REGISTER + authenticated REGISTER");
    let authed: Vec<&&Traced> = registers.iter().filter(|m| m.header("Authorization").is_some()).collect();
    assert_eq!(authed.len(), 2, "every round answered the challenge once");
    for m in &authed {
        digest_valid(m.header("Authorization").unwrap(), "REGISTER", user, secret).expect("valid digest");
    }
    assert!(sent_status(&msgs, 403).is_empty(), "carrier never refused");
    // All four REGISTERs share one Call-ID and raise the CSeq (RFC 3261 §10.2.4).
    let call_ids: std::collections::BTreeSet<&str> = registers.iter().filter_map(|m| m.header("Call-ID")).collect();
    assert_eq!(call_ids.len(), 1, "refreshes keep the Call-ID: {call_ids:?}");
    let cseqs: Vec<u32> = registers
        .iter()
        .filter_map(|m| m.header("CSeq")?.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(cseqs.windows(2).all(|w| w[0] < w[1]), "CSeq increases: {cseqs:?}");
}

/// Test 1, failure: the carrier refuses the credentials (403). The trunk
/// shows REGISTERED down and the next attempt waits for the backoff (the
/// carrier fails its call if another REGISTER arrives within 5 s).
#[test]
fn wrong_secret_shows_down_and_backs_off() {
    let user = "4420799990002";
    let (sb, carrier) = registering_trunk(user, "the-right-secret", "a-wrong-secret", false);

    let (opt, reg) = wait_trunk(&sb, "carrier", Duration::from_secs(15), |_, r| r == "down");
    assert_eq!(reg, "down", "REGISTERED after a 403\n{}", sb.log());
    assert_eq!(opt, "up", "the carrier still answers OPTIONS");

    let run = carrier.wait(Duration::from_secs(30)).expect("carrier finished");
    assert!(
        run.exit_code == Some(0) && run.failed() == 0,
        "carrier: challenge, refused credentials, then no REGISTER for 5 s: exit {:?}, failed {}\n{}",
        run.exit_code,
        run.failed(),
        run.diagnostics()
    );
    let msgs = traced(&run);
    assert_eq!(sent_status(&msgs, 403).len(), 1, "the carrier refused once");
    assert_eq!(received_requests(&msgs, "REGISTER").len(), 2, "one attempt (REGISTER + authenticated REGISTER) in 5 s");
    let log = sb.log();
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("registration failed")).collect();
    assert_eq!(failures.len(), 1, "one failed attempt so far: {failures:?}");
    assert!(failures[0].contains("403") && failures[0].contains("retry in 15s"), "{}", failures[0]);
    assert_eq!(trunk_state(&sb, "carrier").1, "down");
}

/// The registration does not wait for the OPTIONS probe: a carrier that
/// never answers OPTIONS (each probe takes Timer F, 32 s, to fail) still
/// gets its REGISTER and the refresh within the 4 s it granted.
#[test]
fn registration_not_held_up_by_unanswered_options() {
    let (user, secret) = ("4420799990003", "carrier-secret-3");
    let (sb, carrier) = registering_trunk(user, secret, secret, true);

    let run = carrier.wait(Duration::from_secs(30)).expect("carrier finished");
    assert!(
        run.exit_code == Some(0) && run.failed() == 0,
        "carrier saw the registration and its refresh although OPTIONS went unanswered: exit {:?}, failed {}\n{}\n--- switchboard ---\n{}",
        run.exit_code,
        run.failed(),
        run.diagnostics(),
        sb.log()
    );
    let msgs = traced(&run);
    assert!(!received_requests(&msgs, "OPTIONS").is_empty(), "the probe was sent");
    assert_eq!(sent_status(&msgs, 200).len(), 2, "only the two REGISTER rounds were answered");
    assert_eq!(received_requests(&msgs, "REGISTER").len(), 4);
    let (opt, reg) = trunk_state(&sb, "carrier");
    assert_ne!(opt, "up", "OPTIONS never answered");
    assert_eq!(reg, "up", "\n{}", sb.log());
}

/// An edited trunk (`trunk set`: another host, user and secret, the
/// secret from standard input) is picked up by the running appliance: it
/// removes its binding at the old carrier (REGISTER with `Expires: 0`, same
/// Call-ID, the old credentials) and registers at the new one with the new
/// credentials, refreshing there; `trunk list` shows the new host.
#[test]
fn an_edited_trunk_unregisters_from_the_old_host_and_registers_at_the_new_one() {
    let (old_user, old_secret) = ("4420799990011", "old-carrier-secret");
    let (new_user, new_secret) = ("4420799990012", "new-carrier-secret");
    let (old_ports, new_ports) = (ports::alloc_sipp(), ports::alloc_sipp());
    let spawn = |scenario: &str, p, user: &str, secret: &str, grant: &str| {
        let mut c = Sipp::scenario(scenario)
            .ports(p)
            .key("user", user)
            .key("secret", secret)
            .key("grant", grant)
            .key("ignore_options", "0")
            .timeout(Duration::from_secs(40))
            .spawn()
            .expect("spawn carrier registrar");
        c.wait_bound(Duration::from_secs(5)).expect("carrier bound");
        c
    };
    let old = spawn("trunk_registrar_moved.xml", old_ports, old_user, old_secret, "60");
    let new = spawn("trunk_registrar.xml", new_ports, new_user, new_secret, "4");
    let mut sb = Switchboard::new(&config(1)).expect("prepare");
    let (old_host, new_host) = (format!("127.0.0.1:{}", old_ports.sip), format!("127.0.0.1:{}", new_ports.sip));
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &old_host, "--register", "--user", old_user, "--secret", old_secret, "--did", "5550100=1001"]);
    sb.start().expect("start switchboard");
    let (_, reg) = wait_trunk(&sb, "carrier", Duration::from_secs(10), |_, r| r == "up");
    assert_eq!(reg, "up", "registered at the old carrier\n{}", sb.log());

    // A refused change names its flag and changes nothing.
    let bad = sb.admin(&["trunk", "set", "carrier", "--host", "127.0.0.1:notaport", "--user", ""]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("--host: '127.0.0.1:notaport'") && err.contains("--user: registering needs"), "{err}");
    let out = sb.admin_stdin(&["trunk", "set", "carrier", "--host", &new_host, "--user", new_user, "--secret-stdin"], &format!("{new_secret}\n"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains(&format!("host {old_host} → {new_host}")) && said.contains("secret changed") && !said.contains(new_secret), "{said}");

    let run = old.wait(Duration::from_secs(30)).expect("old carrier finished");
    assert!(
        run.exit_code == Some(0) && run.failed() == 0,
        "the old carrier saw the registration and its removal with the old credentials: exit {:?}, failed {}\n{}\n--- switchboard ---\n{}",
        run.exit_code,
        run.failed(),
        run.diagnostics(),
        sb.log()
    );
    let msgs = traced(&run);
    let registers = received_requests(&msgs, "REGISTER");
    assert_eq!(registers.len(), 4, "registration round, removal round");
    let expires: Vec<Option<&str>> = registers.iter().map(|m| m.header("Expires")).collect();
    assert_eq!(expires, [Some("60"), Some("60"), Some("0"), Some("0")], "the removal asks for Expires: 0");
    assert_eq!(registers[3].header("Contact"), registers[1].header("Contact"), "the same binding is removed");
    let call_ids: std::collections::BTreeSet<&str> = registers.iter().filter_map(|m| m.header("Call-ID")).collect();
    assert_eq!(call_ids.len(), 1, "the removal keeps the registration's Call-ID: {call_ids:?}");
    digest_valid(registers[3].header("Authorization").expect("answered the challenge"), "REGISTER", old_user, old_secret).expect("old credentials");

    let run = new.wait(Duration::from_secs(30)).expect("new carrier finished");
    assert!(
        run.exit_code == Some(0) && run.failed() == 0,
        "the new carrier saw a registration and its refresh with the new credentials: exit {:?}, failed {}\n{}\n--- switchboard ---\n{}",
        run.exit_code,
        run.failed(),
        run.diagnostics(),
        sb.log()
    );
    let msgs = traced(&run);
    for m in received_requests(&msgs, "REGISTER").iter().filter(|m| m.header("Authorization").is_some()) {
        digest_valid(m.header("Authorization").unwrap(), "REGISTER", new_user, new_secret).expect("new credentials");
    }
    let list = sb.admin_ok(&["trunk", "list"]);
    let line = list.lines().find(|l| l.starts_with("carrier")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains(&new_host) && line.contains(new_user) && line.contains("5550100=1001"), "new host and user, DIDs kept: {line}");
    assert_eq!(trunk_state(&sb, "carrier").1, "up", "registered at the new carrier");
    assert!(sb.log().contains("trunk unregistered"), "{}", sb.log());
}

/// Test 2: OPTIONS health over TCP: up while the carrier answers, down once
/// it is gone (TCP makes the failure immediate instead of Timer F's 32 s).
/// A registering trunk whose carrier does not answer at all shows
/// REGISTERED down (not "unknown").
#[test]
fn options_health_follows_the_carrier() {
    let carrier_ports = ports::alloc_sipp();
    let mut carrier = Sipp::scenario("trunk_options_uas.xml")
        .ports(carrier_ports)
        .transport("t1")
        .calls(2)
        .timeout(Duration::from_secs(15))
        .spawn()
        .expect("spawn carrier");
    carrier.wait_bound(Duration::from_secs(5)).expect("carrier bound");
    let dead = ports::alloc();

    let mut sb = Switchboard::new(&config(1)).expect("prepare");
    let host = format!("127.0.0.1:{}", carrier_ports.sip);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--transport", "tcp"]);
    sb.admin_ok(&[
        "trunk", "add", "nobody", "--host", &format!("127.0.0.1:{dead}"), "--transport", "tcp", "--register", "--user", "4420799990005",
        "--secret", "carrier-secret-5",
    ]);
    sb.start().expect("start switchboard");

    let (opt, reg) = wait_trunk(&sb, "carrier", Duration::from_secs(10), |o, _| o == "up");
    assert_eq!(opt, "up", "carrier answering OPTIONS\n{}", sb.log());
    assert_eq!(reg, "n/a", "no registration configured");
    let (opt, reg) = wait_trunk(&sb, "nobody", Duration::from_secs(10), |o, r| o == "down" && r == "down");
    assert_eq!((opt.as_str(), reg.as_str()), ("down", "down"), "nothing listening: no OPTIONS, no registration\n{}", sb.log());
    let failed = sb.wait_log("registration failed: no response", Duration::from_secs(1)).expect("failure logged");
    assert!(failed.contains("nobody"), "{failed}");

    let run = carrier.wait(Duration::from_secs(20)).expect("carrier finished");
    run.expect_success(2).expect("carrier answered two probes");
    assert_eq!(received_requests(&traced(&run), "OPTIONS").len(), 2);

    let (opt, _) = wait_trunk(&sb, "carrier", Duration::from_secs(10), |o, _| o == "down");
    assert_eq!(opt, "down", "carrier gone\n{}", sb.log());
    sb.wait_log("trunk OPTIONS health changed", Duration::from_secs(1)).expect("health change logged");
}

/// Test 3: calls from the trunk are recognised by address, routed by DID
/// without a challenge; unknown DIDs get 404; the DID from elsewhere needs
/// credentials.
#[test]
fn inbound_from_trunk_by_did() {
    let trunk_ports = ports::alloc_sipp();
    let mut sb = Switchboard::new(&config(3600)).expect("prepare");
    sb.add_extension("1002", "secret-of-1002");
    let host = format!("127.0.0.1:{}", trunk_ports.sip);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--did", "5550100=1002"]);
    sb.start().expect("start switchboard");

    let mut phone = Baresip::start(BaresipConfig::new("1002").registrar(&sb.sip_addr(), "1002", "secret-of-1002"))
        .expect("start baresip");
    phone.wait_registered(Duration::from_secs(10)).expect("1002 registered");

    // The call itself, from the trunk's address.
    let run = Sipp::scenario("trunk_uac_did.xml")
        .ports(trunk_ports)
        .remote(&sb.sip_addr())
        .service("5550100")
        .key("caller", "4420799990000")
        .pause(Duration::from_secs(1))
        .calls(1)
        .timeout(Duration::from_secs(15))
        .run()
        .expect("run carrier uac");
    run.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n--- switchboard ---\n{}", sb.log()));
    let msgs = traced(&run);
    assert!(received_status(&msgs, 407).is_empty() && received_status(&msgs, 401).is_empty(), "trunk not challenged");
    phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(5)).expect("1002 answered");
    let log = sb.log();
    assert!(log.contains("inbound call from trunk"), "{log}");
    assert!(log.contains("dialed=\"5550100\"") || log.contains("dialed=5550100"), "logged the DID");

    // An unknown DID from the trunk.
    let run = Sipp::scenario("trunk_uac_refused.xml")
        .ports(trunk_ports)
        .remote(&sb.sip_addr())
        .service("5559999")
        .key("caller", "4420799990000")
        .calls(1)
        .timeout(Duration::from_secs(10))
        .run()
        .expect("run unknown DID");
    run.expect_success(1).expect("refused");
    let msgs = traced(&run);
    assert_eq!(received_status(&msgs, 404).len(), 1, "unknown DID: 404\n{}", run.messages());

    // The DID from an address that is not the trunk's (another IP: on
    // 127.0.0.1 the trunk's IP plus its DID would count as the trunk).
    let run = Sipp::scenario("trunk_uac_refused.xml")
        .remote(&sb.sip_addr())
        .service("5550100")
        .key("caller", "4420799990000")
        .arg("-i")
        .arg("127.0.0.2")
        .calls(1)
        .timeout(Duration::from_secs(10))
        .run()
        .expect("run foreign caller");
    run.expect_success(1).expect("refused");
    let msgs = traced(&run);
    assert_eq!(received_status(&msgs, 407).len(), 1, "not the trunk: challenged\n{}", run.messages());
}

/// Test 4: an extension calls an external number; the default trunk's
/// carrier demands proxy digest; the appliance answers it once with the
/// trunk's credentials and the call connects and ends cleanly.
#[test]
fn outbound_through_trunk_answers_proxy_challenge() {
    let (user, secret) = ("4420799990004", "trunk-secret-4");
    let carrier_ports = ports::alloc_sipp();
    let mut carrier = Sipp::scenario("trunk_uas_challenge.xml")
        .ports(carrier_ports)
        .timeout(Duration::from_secs(20))
        .spawn()
        .expect("spawn carrier");
    carrier.wait_bound(Duration::from_secs(5)).expect("carrier bound");

    let mut sb = Switchboard::new(&config(3600)).expect("prepare");
    sb.add_extension("1001", "secret-of-1001");
    let host = format!("127.0.0.1:{}", carrier_ports.sip);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--user", user, "--secret", secret]);
    sb.start().expect("start switchboard");

    let caller = Sipp::scenario("trunk_uac_ext.xml")
        .remote(&sb.sip_addr())
        .service("5551234")
        .key("caller", "1001")
        .auth("1001", "secret-of-1001")
        .pause(Duration::from_secs(1))
        .calls(1)
        .timeout(Duration::from_secs(15))
        .run()
        .expect("run caller");
    let carrier = carrier.wait(Duration::from_secs(20)).expect("carrier finished");
    caller
        .expect_success(1)
        .unwrap_or_else(|e| panic!("{e:?}\n--- carrier ---\n{}\n--- switchboard ---\n{}", carrier.diagnostics(), sb.log()));
    assert!(
        carrier.exit_code == Some(0) && carrier.failed() == 0,
        "carrier: 407, ACK, authorized INVITE, 200, ACK, BYE: exit {:?}, failed {}\n{}\n--- switchboard ---\n{}",
        carrier.exit_code,
        carrier.failed(),
        carrier.diagnostics(),
        sb.log()
    );
    let msgs = traced(&carrier);
    let invites = received_requests(&msgs, "INVITE");
    assert_eq!(invites.len(), 2, "one INVITE, one authorized retry");
    assert!(invites[0].first_line().starts_with("INVITE sip:5551234@"), "{}", invites[0].first_line());
    let cred = invites[1].header("Proxy-Authorization").expect("retry carries Proxy-Authorization");
    digest_valid(cred, "INVITE", user, secret).expect("valid digest with the trunk's credentials");
    assert_eq!(received_requests(&msgs, "ACK").len(), 2, "ACK for the 407 and for the 200");
    assert_eq!(received_requests(&msgs, "BYE").len(), 1, "BYE relayed to the carrier");
}

/// A carrier with a minimum lifetime answers 423 with Min-Expires; the
/// appliance asks again with that lifetime (RFC 3261 §10.2.8). Probes off.
#[test]
fn interval_too_brief_is_retried_with_min_expires() {
    let carrier_ports = ports::alloc_sipp();
    let mut carrier = Sipp::scenario("trunk_registrar_423.xml")
        .ports(carrier_ports)
        .timeout(Duration::from_secs(20))
        .spawn()
        .expect("spawn carrier registrar");
    carrier.wait_bound(Duration::from_secs(5)).expect("carrier bound");
    let mut sb = Switchboard::new(&config(0)).expect("prepare");
    let host = format!("127.0.0.1:{}", carrier_ports.sip);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--register", "--user", "4420799990009", "--secret", "whatever-secret"]);
    sb.start().expect("start switchboard");
    let (opt, reg) = wait_trunk(&sb, "carrier", Duration::from_secs(10), |_, r| r == "up");
    assert_eq!((opt.as_str(), reg.as_str()), ("off", "up"), "{}", sb.log());
    let run = carrier.wait(Duration::from_secs(20)).expect("carrier finished");
    assert!(run.exit_code == Some(0) && run.failed() == 0, "second REGISTER asked for 900 s:\n{}", run.diagnostics());
    let msgs = traced(&run);
    let registers = received_requests(&msgs, "REGISTER");
    assert_eq!(registers.len(), 2);
    assert_eq!(registers[0].header("Expires"), Some("60"), "first attempt uses trunks.register_expires");
    assert_eq!(registers[1].header("Expires"), Some("900"), "retry uses Min-Expires");
    assert!(sb.log().contains("carrier wants a longer registration"));
}
