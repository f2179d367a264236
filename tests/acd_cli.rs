//! `switchboard queue …`, `agent …` and `callbacks` against a real data
//! directory: settings round-trip through add/set/list, validation errors
//! are one line with exit code 1 (usage errors 2), removal cascades, and
//! callback rows written through the library's store (as the ACD will) list.

mod common;

use common::switchboard::Switchboard;
use switchboard::store::{Callback, CallbackState, Overflow, SkillRelax, Store, Strategy};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must fail with `code` and a one-line error containing `want`.
fn fails(sb: &Switchboard, args: &[&str], code: i32, want: &str) {
    let out = sb.admin(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: expected {want:?} in {err}");
    if code == 1 {
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
}

/// The table row of `list` whose first column is `key`.
fn row(list: &str, key: &str) -> String {
    list.lines().find(|l| l.split_whitespace().next() == Some(key)).unwrap_or_else(|| panic!("{key} in {list}")).to_string()
}

fn store(sb: &Switchboard, rt: &tokio::runtime::Runtime) -> Store {
    rt.block_on(Store::open(&sb.data_dir())).expect("open store")
}

#[test]
fn queue_add_set_list_rm_and_validation() {
    let sb = Switchboard::new("").expect("prepare");
    let out = sb.admin_ok(&[
        "queue", "add", "sales", "--strategy", "skills", "--ring-timeout", "15", "--retry-delay", "0", "--wrapup", "30",
        "--max-wait", "600", "--max-callers", "25", "--join-empty", "--no-leave-when-empty", "--moh", "jazz",
        "--announce-every", "0", "--service-level", "45", "--overflow", "voicemail:600", "--skill-relax", "30:1,60:2",
        "--callback-key", "*", "--callback-attempts", "5", "--callback-retry", "300",
    ]);
    assert!(out.contains("queue sales added"), "{out}");
    sb.admin_ok(&["queue", "add", "support", "--strategy", "longest_idle"]);

    // Every option reaches the row.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let st = store(&sb, &rt);
    let q = rt.block_on(st.queue("sales")).unwrap().expect("sales stored");
    assert_eq!(
        (q.strategy, q.ring_timeout_secs, q.retry_delay_secs, q.wrapup_secs, q.max_wait_secs, q.max_callers),
        (Strategy::Skills, 15, 0, 30, Some(600), Some(25))
    );
    assert_eq!((q.join_empty, q.leave_when_empty, q.moh_class.as_str(), q.announce_every_secs, q.service_level_secs), (true, false, "jazz", 0, 45));
    assert_eq!(q.overflow, Some(Overflow::Voicemail("600".into())));
    assert_eq!(q.skill_relax, [SkillRelax { after_secs: 30, lower_by: 1 }, SkillRelax { after_secs: 60, lower_by: 2 }]);
    assert_eq!((q.callback_key, q.callback_attempts, q.callback_retry_secs), (Some('*'), 5, 300));
    let d = rt.block_on(st.queue("support")).unwrap().expect("support stored");
    assert_eq!((d.strategy, d.ring_timeout_secs, d.join_empty, d.leave_when_empty, d.max_wait_secs, d.callback_key), (Strategy::LongestIdle, 20, false, true, None, None));

    let list = sb.admin_ok(&["queue", "list"]);
    assert!(list.lines().next().unwrap_or_default().starts_with("NAME"), "{list}");
    let sales = row(&list, "sales");
    for want in ["skills", " 600 ", " 25 ", "jazz", " off ", "voicemail:600", "30:1,60:2", "key *, 5 x 300s"] {
        assert!(sales.contains(want), "{want:?} in {sales}");
    }
    let support = row(&list, "support");
    assert!(support.contains("longest_idle") && support.ends_with("off"), "{support}");

    // `set` changes only what it is given; 0 / none lift limits and targets.
    sb.admin_ok(&["queue", "set", "sales", "--strategy", "round_robin", "--max-wait", "0", "--overflow", "none", "--callback-key", "", "--leave-when-empty"]);
    let q2 = rt.block_on(st.queue("sales")).unwrap().unwrap();
    assert_eq!((q2.strategy, q2.max_wait_secs, q2.overflow.clone(), q2.callback_key, q2.leave_when_empty), (Strategy::RoundRobin, None, None, None, true));
    assert_eq!((q2.max_callers, q2.wrapup_secs, q2.moh_class.as_str(), q2.created_at), (Some(25), 30, "jazz", q.created_at), "untouched settings kept");
    sb.admin_ok(&["queue", "set", "sales", "--overflow", "queue:support", "--skill-relax", "none"]);
    let q3 = rt.block_on(st.queue("sales")).unwrap().unwrap();
    assert_eq!((q3.overflow, q3.skill_relax.len()), (Some(Overflow::Queue("support".into())), 0));

    // Validation: one line, exit code 1, nothing written.
    fails(&sb, &["queue", "add", "sales", "--strategy", "ring_all"], 1, "queue sales already exists");
    fails(&sb, &["queue", "add", "x", "--strategy", "roundrobin"], 1, "unknown strategy 'roundrobin'");
    fails(&sb, &["queue", "add", "bad name", "--strategy", "ring_all"], 1, "queue name must be");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--overflow", "dial:1001"], 1, "overflow 'dial:1001'");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--overflow", "voicemail:abc"], 1, "mailbox must be 1 to 20 digits");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--overflow", "queue:x"], 1, "cannot overflow to itself");
    fails(&sb, &["queue", "add", "x", "--strategy", "skills", "--skill-relax", "60:1,30:2"], 1, "skill relax '60:1,30:2'");
    fails(&sb, &["queue", "add", "x", "--strategy", "skills", "--skill-relax", "30"], 1, "skill relax '30'");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--callback-key", "A"], 1, "callback key must be");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--callback-key", "12"], 1, "callback key must be one key");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--ring-timeout", "0"], 1, "ring timeout must be 1 to 600");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--moh", "a/b"], 1, "music-on-hold class");
    fails(&sb, &["queue", "set", "nope", "--wrapup", "5"], 1, "queue nope not found");
    fails(&sb, &["queue", "set", "sales", "--strategy", "fifo"], 1, "unknown strategy 'fifo'");
    // Usage errors: exit code 2.
    fails(&sb, &["queue", "add", "x"], 2, "--strategy");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--ring-timeout", "soon"], 2, "--ring-timeout");
    fails(&sb, &["queue", "add", "x", "--strategy", "ring_all", "--join-empty", "--no-join-empty"], 2, "cannot be used with");
    assert_eq!(rt.block_on(st.queue("x")).unwrap(), None, "refused queues are not stored");
    assert_eq!(rt.block_on(st.queue("sales")).unwrap().unwrap().strategy, Strategy::RoundRobin, "refused set leaves the queue");

    let out = sb.admin_ok(&["queue", "rm", "support"]);
    assert!(out.contains("queue support removed"), "{out}");
    fails(&sb, &["queue", "rm", "support"], 1, "queue support not found");
    let list = sb.admin_ok(&["queue", "list"]);
    assert!(!list.lines().any(|l| l.starts_with("support ")), "{list}");
    assert_eq!(list.lines().count(), 2, "header and sales: {list}");
}

#[test]
fn agents_skills_members_and_cascades() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    sb.admin_ok(&["queue", "add", "support", "--strategy", "linear"]);
    let out = sb.admin_ok(&["agent", "add", "alice", "--name", "Alice Liddell", "--ext", "1001", "--ext", "1002"]);
    assert!(out.contains("agent alice added"), "{out}");
    sb.admin_ok(&["agent", "add", "bob", "--ext", "2001", "--no-answer-limit", "0"]);

    fails(&sb, &["agent", "add", "alice", "--ext", "3001"], 1, "agent alice already exists");
    fails(&sb, &["agent", "add", "carol", "--ext", "1002"], 1, "extension 1002 already belongs to agent alice");
    fails(&sb, &["agent", "add", "carol", "--ext", "10a"], 1, "extension must be 1 to 20 digits, got '10a'");
    fails(&sb, &["agent", "add", "carol", "--ext", "3001", "--ext", "3001"], 1, "extension 3001 listed twice");
    fails(&sb, &["agent", "add", "carol smith", "--ext", "3001"], 1, "agent id must be");
    fails(&sb, &["agent", "add", "carol"], 2, "--ext");
    fails(&sb, &["agent", "add", "carol", "--ext", "3001", "--no-answer-limit", "-1"], 2, "");

    sb.admin_ok(&["agent", "skill", "alice", "spanish", "8"]);
    sb.admin_ok(&["agent", "skill", "alice", "billing", "3"]);
    sb.admin_ok(&["agent", "skill", "alice", "billing", "4"]);
    fails(&sb, &["agent", "skill", "alice", "billing", "11"], 1, "skill level must be 1 to 10, got 11");
    fails(&sb, &["agent", "skill", "alice", "billing", "0"], 1, "skill level must be 1 to 10, got 0");
    fails(&sb, &["agent", "skill", "alice", "bad skill", "5"], 1, "skill must be");
    fails(&sb, &["agent", "skill", "nobody", "billing", "5"], 1, "agent nobody not found");
    fails(&sb, &["agent", "skill", "alice", "billing"], 2, "LEVEL");
    fails(&sb, &["agent", "skill", "alice", "billing", "5", "--remove"], 2, "cannot be used with");
    fails(&sb, &["agent", "skill", "alice", "french", "--remove"], 1, "skill french of agent alice not found");

    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "bob", "--penalty", "3"]);
    sb.admin_ok(&["queue", "member", "add", "support", "alice", "--penalty", "1"]);
    fails(&sb, &["queue", "member", "add", "nope", "alice"], 1, "queue nope not found");
    fails(&sb, &["queue", "member", "add", "sales", "carol"], 1, "agent carol not found");
    fails(&sb, &["queue", "member", "add", "sales", "bob", "--penalty", "1001"], 1, "penalty must be 0 to 1000");
    fails(&sb, &["queue", "members", "nope"], 1, "queue nope not found");

    let list = sb.admin_ok(&["agent", "list"]);
    let header = list.lines().next().unwrap_or_default();
    for col in ["ID", "NAME", "EXTENSIONS", "STATE", "REASON", "SINCE", "QUEUES", "SKILLS"] {
        assert!(header.contains(col), "{col} in {header}");
    }
    let alice = row(&list, "alice");
    for want in ["Alice Liddell", "1001,1002", "logged_out", "sales,support(1)", "billing=4,spanish=8"] {
        assert!(alice.contains(want), "{want:?} in {alice}");
    }
    let bob = row(&list, "bob");
    assert!(bob.contains("2001") && bob.contains("sales(3)") && bob.ends_with(" -"), "{bob}");

    let members = sb.admin_ok(&["queue", "members", "sales"]);
    let order: Vec<&str> = members.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(order, ["alice", "bob"], "lowest penalty first: {members}");
    assert!(row(&members, "bob").contains(" 3 "), "{members}");
    assert_eq!(row(&sb.admin_ok(&["queue", "list"]), "sales").split_whitespace().nth(2), Some("2"), "member count");

    // State written by the ACD shows in the listing.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let st = store(&sb, &rt);
    rt.block_on(st.set_agent_state("bob", switchboard::store::AgentState::Paused, Some("lunch"), 1_800_000_000_000)).unwrap();
    let bob = row(&sb.admin_ok(&["agent", "list"]), "bob");
    assert!(bob.contains("paused") && bob.contains("lunch") && bob.contains("2027-01-15 08:00:00"), "{bob}");

    // Removing a member, a skill, a queue and an agent; the rows they own go with them.
    sb.admin_ok(&["queue", "member", "rm", "sales", "bob"]);
    fails(&sb, &["queue", "member", "rm", "sales", "bob"], 1, "agent bob in queue sales not found");
    sb.admin_ok(&["agent", "skill", "alice", "billing", "--remove"]);
    assert!(row(&sb.admin_ok(&["agent", "list"]), "alice").ends_with("spanish=8"));

    sb.admin_ok(&["queue", "rm", "sales"]);
    assert!(rt.block_on(st.members("sales")).unwrap().is_empty(), "queue rm cascades members");
    assert!(row(&sb.admin_ok(&["agent", "list"]), "alice").contains(" support(1) "));

    let out = sb.admin_ok(&["agent", "rm", "alice"]);
    assert!(out.contains("agent alice removed"), "{out}");
    fails(&sb, &["agent", "rm", "alice"], 1, "agent alice not found");
    assert!(rt.block_on(st.members("support")).unwrap().is_empty(), "agent rm cascades memberships");
    assert!(rt.block_on(st.skills("alice")).unwrap().is_empty(), "agent rm cascades skills");
    let members = sb.admin_ok(&["queue", "members", "support"]);
    assert_eq!(members.lines().count(), 1, "header only: {members}");
    // The freed extension can be given to another agent.
    sb.admin_ok(&["agent", "add", "carol", "--ext", "1002"]);
}

#[test]
fn callbacks_list_pending_and_all() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all", "--callback-key", "5"]);
    sb.admin_ok(&["queue", "add", "support", "--strategy", "ring_all"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let st = store(&sb, &rt);
    let add = |queue: &str, number: &str, name: &str, joined: i64| {
        let cb = Callback {
            queue: queue.into(),
            number: number.into(),
            name: name.into(),
            call_id: format!("call-{joined}"),
            joined_at_ms: joined,
            requested_at_ms: joined + 60_000,
            ..Callback::default()
        };
        rt.block_on(st.insert_callback(&cb)).unwrap()
    };
    let later = add("sales", "+1 555 010 0002", "Bea", 1_800_000_100_000);
    let first = add("sales", "5550001", "Al", 1_800_000_000_000);
    let other = add("support", "5550003", "", 1_800_000_050_000);
    rt.block_on(st.update_callback(other, CallbackState::Done, 1, 1_800_000_200_000, Some("bob"))).unwrap();

    let pending = sb.admin_ok(&["callbacks"]);
    assert!(pending.lines().next().unwrap_or_default().starts_with("ID"), "{pending}");
    let ids: Vec<String> = pending.lines().skip(1).filter_map(|l| l.split_whitespace().next().map(String::from)).collect();
    assert_eq!(ids, [first.to_string(), later.to_string()], "pending only, in queue order: {pending}");
    let bea = row(&pending, &later.to_string());
    assert!(bea.contains("+15550100002") && bea.contains("Bea") && bea.contains("waiting") && bea.contains("2027-01-15 08:01:40"), "{bea}");

    let support = sb.admin_ok(&["callbacks", "--queue", "support"]);
    assert_eq!(support.lines().count(), 1, "finished requests hidden: {support}");
    let all = sb.admin_ok(&["callbacks", "--queue", "support", "--all"]);
    let done = row(&all, &other.to_string());
    assert!(done.contains("done") && done.ends_with("bob"), "{done}");
    let all = sb.admin_ok(&["callbacks", "--all", "--limit", "2"]);
    assert_eq!(all.lines().count(), 3, "limit 2 plus header: {all}");

    fails(&sb, &["callbacks", "--queue", "nope"], 1, "queue nope not found");
    fails(&sb, &["callbacks", "--limit", "5"], 2, "--all");

    // Removing the queue fails its pending callbacks; they stay listed with --all.
    sb.admin_ok(&["queue", "rm", "sales"]);
    assert_eq!(sb.admin_ok(&["callbacks"]).lines().count(), 1, "nothing pending");
    let all = sb.admin_ok(&["callbacks", "--queue", "sales", "--all"]);
    assert!(row(&all, &first.to_string()).contains("failed"), "{all}");
}
