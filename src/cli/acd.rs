//! Handlers for `queue …`, `agent …` and `callbacks`: ACD configuration on
//! the database. Turns command-line options into the requests of
//! `switchboard::admin` (shared with the HTTP API, so both validate alike)
//! and rows into tables; value syntax lives in `switchboard::store`. Must
//! not change agent state (that is the running ACD's: a command here would
//! race it) or route calls.

use std::path::Path;

use anyhow::Result;
use switchboard::admin::{self, AgentInput, MemberInput, QueueInput, SkillInput};
use switchboard::dialplan::Civil;
use switchboard::store::{format_skill_relax, Store};

use super::admin::open;
use super::{AgentCmd, MemberCmd, QueueCmd, QueueOpts};

/// The options given on the command line as the shared partial update
/// (`switchboard::admin`); the API builds the same from JSON.
fn input(name: &str, strategy: Option<String>, o: QueueOpts) -> QueueInput {
    let secs = |v: Option<u32>| v.map(i64::from);
    // A flag pair: given one way, the other, or (clap forbids both) neither.
    let flag = |yes: bool, no: bool| if yes { Some(true) } else if no { Some(false) } else { None };
    QueueInput {
        name: Some(name.to_string()),
        strategy,
        ring_timeout_secs: secs(o.ring_timeout),
        retry_delay_secs: secs(o.retry_delay),
        wrapup_secs: secs(o.wrapup),
        // 0 lifts the limit; the shared code reads it so.
        max_wait_secs: o.max_wait.map(|w| Some(i64::from(w))),
        max_callers: o.max_callers.map(|c| Some(i64::from(c))),
        join_empty: flag(o.join_empty, o.no_join_empty),
        leave_when_empty: flag(o.leave_when_empty, o.no_leave_when_empty),
        moh_class: o.moh,
        announce_every_secs: secs(o.announce_every),
        service_level_secs: secs(o.service_level),
        overflow: o.overflow.map(Some),
        skill_relax: o.skill_relax.map(Some),
        callback_key: o.callback_key.map(Some),
        callback_attempts: secs(o.callback_attempts),
        callback_retry_secs: secs(o.callback_retry),
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

pub async fn queue(cmd: QueueCmd, data: &Path) -> Result<()> {
    match cmd {
        QueueCmd::Add { name, strategy, opts } => {
            let q = admin::create_queue(&open(data).await?, input(&name, Some(strategy), opts)).await?;
            println!("queue {name} added ({})", q.strategy);
            Ok(())
        }
        QueueCmd::Set { name, strategy, opts } => {
            admin::update_queue(&open(data).await?, &name, input(&name, strategy, opts)).await?;
            println!("queue {name} updated");
            Ok(())
        }
        QueueCmd::List => {
            let store = open(data).await?;
            println!(
                "{:<16} {:<12} {:>7} {:>4} {:>5} {:>6} {:>7} {:>7} {:<10} {:<10} {:<10} {:>8} {:>3} {:<20} {:<12} CALLBACK",
                "NAME",
                "STRATEGY",
                "MEMBERS",
                "RING",
                "RETRY",
                "WRAPUP",
                "MAXWAIT",
                "MAXCALL",
                "JOIN_EMPTY",
                "LEAVE_EMPTY",
                "MOH",
                "ANNOUNCE",
                "SL",
                "OVERFLOW",
                "SKILL_RELAX",
            );
            for q in store.list_queues().await? {
                let members = store.members(&q.name).await?.len();
                let callback = match q.callback_key {
                    Some(k) => format!("key {k}, {} x {}s", q.callback_attempts, q.callback_retry_secs),
                    None => "off".into(),
                };
                let relax = format_skill_relax(&q.skill_relax);
                println!(
                    "{:<16} {:<12} {:>7} {:>4} {:>5} {:>6} {:>7} {:>7} {:<10} {:<10} {:<10} {:>8} {:>3} {:<20} {:<12} {}",
                    q.name,
                    q.strategy.as_str(),
                    members,
                    q.ring_timeout_secs,
                    q.retry_delay_secs,
                    q.wrapup_secs,
                    opt(q.max_wait_secs),
                    opt(q.max_callers),
                    if q.join_empty { "yes" } else { "no" },
                    if q.leave_when_empty { "yes" } else { "no" },
                    q.moh_class,
                    if q.announce_every_secs == 0 { "off".to_string() } else { q.announce_every_secs.to_string() },
                    q.service_level_secs,
                    q.overflow.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                    if relax.is_empty() { "-".to_string() } else { relax },
                    callback
                );
            }
            Ok(())
        }
        QueueCmd::Rm { name } => {
            admin::delete_queue(&open(data).await?, &name).await?;
            println!("queue {name} removed with its members");
            Ok(())
        }
        QueueCmd::Member(MemberCmd::Add { queue, agent, penalty }) => {
            admin::set_member(&open(data).await?, &queue, &agent, MemberInput { penalty: Some(i64::from(penalty)) }).await?;
            println!("agent {agent} is a member of queue {queue} (penalty {penalty})");
            Ok(())
        }
        QueueCmd::Member(MemberCmd::Rm { queue, agent }) => {
            admin::remove_member(&open(data).await?, &queue, &agent).await?;
            println!("agent {agent} removed from queue {queue}");
            Ok(())
        }
        QueueCmd::Members { queue } => {
            let store = open(data).await?;
            if store.queue(&queue).await?.is_none() {
                anyhow::bail!("queue {queue} not found");
            }
            println!("{:<16} {:>7} {:<24} STATE", "AGENT", "PENALTY", "NAME");
            for m in store.members(&queue).await? {
                // The member row and the agent row are read separately; an
                // agent removed in between just shows no name.
                let agent = store.agent(&m.agent).await?;
                println!(
                    "{:<16} {:>7} {:<24} {}",
                    m.agent,
                    m.penalty,
                    agent.as_ref().map(|a| a.name.as_str()).unwrap_or("-"),
                    agent.as_ref().map(|a| a.state.as_str()).unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

/// Unix ms as "YYYY-MM-DD HH:MM:SS" UTC; "-" for 0 (never set).
fn utc(ms: i64) -> String {
    if ms <= 0 {
        return "-".into();
    }
    let t = Civil::from_unix(ms.div_euclid(1000), 0);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// A web request's message in one table cell: one line, at most 24
/// characters (`switchboard callbacks` is a list, not a reader).
fn note_cell(note: &str) -> String {
    let line = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 24 {
        format!("{}…", line.chars().take(23).collect::<String>())
    } else {
        or_dash(line)
    }
}

fn or_dash(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

pub async fn agent(cmd: AgentCmd, data: &Path) -> Result<()> {
    match cmd {
        AgentCmd::Add { id, name, exts, no_answer_limit } => {
            let a = AgentInput { id: Some(id.clone()), name: Some(name), extensions: Some(exts), no_answer_limit: no_answer_limit.map(i64::from) };
            admin::create_agent(&open(data).await?, a).await?;
            println!("agent {id} added (logged out)");
            Ok(())
        }
        AgentCmd::List => {
            let store = open(data).await?;
            println!(
                "{:<16} {:<20} {:<16} {:<12} {:<12} {:<20} {:<24} SKILLS",
                "ID", "NAME", "EXTENSIONS", "STATE", "REASON", "SINCE (UTC)", "QUEUES"
            );
            for a in store.list_agents().await? {
                let queues: Vec<String> = store
                    .queues_of(&a.id)
                    .await?
                    .into_iter()
                    .map(|m| if m.penalty == 0 { m.queue } else { format!("{}({})", m.queue, m.penalty) })
                    .collect();
                let skills: Vec<String> =
                    store.skills(&a.id).await?.into_iter().map(|s| format!("{}={}", s.skill, s.proficiency)).collect();
                println!(
                    "{:<16} {:<20} {:<16} {:<12} {:<12} {:<20} {:<24} {}",
                    a.id,
                    or_dash(a.name),
                    or_dash(a.extensions.join(",")),
                    a.state.as_str(),
                    a.pause_reason.unwrap_or_else(|| "-".into()),
                    utc(a.state_since),
                    or_dash(queues.join(",")),
                    or_dash(skills.join(","))
                );
            }
            Ok(())
        }
        AgentCmd::Rm { id } => {
            admin::delete_agent(&open(data).await?, &id).await?;
            println!("agent {id} removed with its skills and queue memberships");
            Ok(())
        }
        AgentCmd::Skill { id, skill, level, remove } => {
            let store = open(data).await?;
            match level.filter(|_| !remove) {
                Some(level) => {
                    admin::set_skill(&store, &id, &skill, SkillInput { proficiency: level }).await?;
                    println!("agent {id}: {skill} = {level}");
                }
                None => {
                    admin::remove_skill(&store, &id, &skill).await?;
                    println!("agent {id}: {skill} removed");
                }
            }
            Ok(())
        }
    }
}

pub async fn callbacks(queue: Option<&str>, all: bool, limit: i64, data: &Path) -> Result<()> {
    let store: Store = open(data).await?;
    if let Some(q) = queue {
        // Finished requests of a removed queue are still listed with --all.
        if !all && store.queue(q).await?.is_none() {
            anyhow::bail!("queue {q} not found");
        }
    }
    let list = if all { store.list_callbacks(queue, limit.clamp(1, 10_000)).await? } else { store.list_pending_callbacks(queue).await? };
    println!(
        "{:<6} {:<16} {:<16} {:<20} {:<8} {:>8} {:<20} {:<20} {:<8} {:<5} {:<24} AGENT",
        "ID", "QUEUE", "NUMBER", "NAME", "STATE", "ATTEMPTS", "JOINED (UTC)", "REQUESTED (UTC)", "PRIORITY", "FROM", "NOTE"
    );
    for c in list {
        println!(
            "{:<6} {:<16} {:<16} {:<20} {:<8} {:>8} {:<20} {:<20} {:<8} {:<5} {:<24} {}",
            c.id,
            c.queue,
            c.number,
            or_dash(c.name),
            c.state.as_str(),
            c.attempts,
            utc(c.joined_at_ms),
            utc(c.requested_at_ms),
            c.priority,
            or_dash(c.source),
            note_cell(&c.note),
            c.agent.unwrap_or_else(|| "-".into())
        );
    }
    Ok(())
}
