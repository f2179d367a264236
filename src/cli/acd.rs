//! Handlers for `queue …`, `agent …` and `callbacks`: ACD configuration on
//! the database. Turns command-line options into store rows and tables;
//! syntax checks live in `switchboard::store` so the running ACD applies the
//! same rules. Must not change agent state (that is the running ACD's: a
//! command here would race it) or route calls.

use std::path::Path;

use anyhow::Result;
use switchboard::dialplan::Civil;
use switchboard::store::{format_skill_relax, parse_skill_relax, Agent, Overflow, Queue, Store, Strategy};

use super::admin::open;
use super::{AgentCmd, MemberCmd, QueueCmd, QueueOpts};

/// `''` and `none` both clear an optional text setting (an empty argument
/// is awkward to type in some shells and scripts).
fn cleared(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("none")
}

/// Applies the options given on the command line to `q`; the others keep
/// its current (or default) values.
fn apply(q: &mut Queue, o: QueueOpts) -> Result<()> {
    let set = |dst: &mut i64, v: Option<u32>| {
        if let Some(v) = v {
            *dst = i64::from(v);
        }
    };
    set(&mut q.ring_timeout_secs, o.ring_timeout);
    set(&mut q.retry_delay_secs, o.retry_delay);
    set(&mut q.wrapup_secs, o.wrapup);
    set(&mut q.announce_every_secs, o.announce_every);
    set(&mut q.service_level_secs, o.service_level);
    set(&mut q.callback_attempts, o.callback_attempts);
    set(&mut q.callback_retry_secs, o.callback_retry);
    // 0 reads as "no limit" so `queue set` can lift a limit again.
    if let Some(w) = o.max_wait {
        q.max_wait_secs = (w > 0).then_some(i64::from(w));
    }
    if let Some(c) = o.max_callers {
        q.max_callers = (c > 0).then_some(i64::from(c));
    }
    if o.join_empty {
        q.join_empty = true;
    }
    if o.no_join_empty {
        q.join_empty = false;
    }
    if o.leave_when_empty {
        q.leave_when_empty = true;
    }
    if o.no_leave_when_empty {
        q.leave_when_empty = false;
    }
    if let Some(m) = o.moh {
        q.moh_class = m;
    }
    if let Some(d) = o.overflow {
        q.overflow = if cleared(&d) { None } else { Some(d.parse::<Overflow>()?) };
    }
    if let Some(r) = o.skill_relax {
        q.skill_relax = if cleared(&r) { Vec::new() } else { parse_skill_relax(&r)? };
    }
    if let Some(k) = o.callback_key {
        q.callback_key = if cleared(&k) {
            None
        } else {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    switchboard::store::check_dtmf_key(c)?;
                    Some(c)
                }
                _ => anyhow::bail!("callback key must be one key (0-9, * or #), got '{k}'"),
            }
        };
    }
    Ok(())
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

pub async fn queue(cmd: QueueCmd, data: &Path) -> Result<()> {
    match cmd {
        QueueCmd::Add { name, strategy, opts } => {
            let mut q = Queue::new(&name, strategy.parse::<Strategy>()?);
            apply(&mut q, opts)?;
            open(data).await?.add_queue(&q).await?;
            println!("queue {name} added ({})", q.strategy);
            Ok(())
        }
        QueueCmd::Set { name, strategy, opts } => {
            let store = open(data).await?;
            let Some(mut q) = store.queue(&name).await? else {
                anyhow::bail!("queue {name} not found");
            };
            if let Some(s) = strategy {
                q.strategy = s.parse()?;
            }
            apply(&mut q, opts)?;
            store.update_queue(&q).await?;
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
            open(data).await?.remove_queue(&name).await?;
            println!("queue {name} removed with its members");
            Ok(())
        }
        QueueCmd::Member(MemberCmd::Add { queue, agent, penalty }) => {
            open(data).await?.set_member(&queue, &agent, i64::from(penalty)).await?;
            println!("agent {agent} is a member of queue {queue} (penalty {penalty})");
            Ok(())
        }
        QueueCmd::Member(MemberCmd::Rm { queue, agent }) => {
            open(data).await?.remove_member(&queue, &agent).await?;
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
            let mut a = Agent::new(&id);
            a.name = name;
            a.extensions = exts;
            if let Some(n) = no_answer_limit {
                a.no_answer_limit = i64::from(n);
            }
            a.state_since = switchboard::store::unix_ms();
            open(data).await?.add_agent(&a).await?;
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
            open(data).await?.remove_agent(&id).await?;
            println!("agent {id} removed with its skills and queue memberships");
            Ok(())
        }
        AgentCmd::Skill { id, skill, level, remove } => {
            let store = open(data).await?;
            match level.filter(|_| !remove) {
                Some(level) => {
                    store.set_skill(&id, &skill, level).await?;
                    println!("agent {id}: {skill} = {level}");
                }
                None => {
                    store.remove_skill(&id, &skill).await?;
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
        "{:<6} {:<16} {:<16} {:<20} {:<8} {:>8} {:<20} {:<20} {:<12} AGENT",
        "ID", "QUEUE", "NUMBER", "NAME", "STATE", "ATTEMPTS", "JOINED (UTC)", "REQUESTED (UTC)", "PRIORITY"
    );
    for c in list {
        println!(
            "{:<6} {:<16} {:<16} {:<20} {:<8} {:>8} {:<20} {:<20} {:<12} {}",
            c.id,
            c.queue,
            c.number,
            or_dash(c.name),
            c.state.as_str(),
            c.attempts,
            utc(c.joined_at_ms),
            utc(c.requested_at_ms),
            c.priority,
            c.agent.unwrap_or_else(|| "-".into())
        );
    }
    Ok(())
}
