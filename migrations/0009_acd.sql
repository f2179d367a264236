-- ACD: agents and their skills, queues and their members, the queue event
-- log and callback requests. Times ending in _ms / state_since are unix
-- milliseconds (queue timing is finer than seconds); created_at is unix
-- seconds like every other table. Kept to SQL that PostgreSQL also accepts,
-- apart from the AUTOINCREMENT keys every migration here uses.

-- One row per agent login. `extensions` is a comma separated list of the
-- extension numbers the agent's phones register as (not a foreign key:
-- extensions may be created after the agent). `state` is persisted by the
-- running ACD so it survives a restart.
CREATE TABLE agents (
    id               TEXT PRIMARY KEY NOT NULL,      -- login name, e.g. "alice"
    name             TEXT NOT NULL DEFAULT '',
    extensions       TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT 'logged_out'
                     CHECK (state IN ('logged_out', 'available', 'paused', 'on_call', 'wrap_up', 'ringing', 'unavailable')),
    pause_reason     TEXT,                           -- NULL: none given
    state_since      INTEGER NOT NULL,               -- unix ms
    no_answer_limit  INTEGER NOT NULL DEFAULT 3 CHECK (no_answer_limit >= 0),  -- 0: never
    created_at       INTEGER NOT NULL
);

CREATE TABLE agent_skills (
    agent        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    skill        TEXT NOT NULL,
    proficiency  INTEGER NOT NULL CHECK (proficiency BETWEEN 1 AND 10),
    PRIMARY KEY (agent, skill)
);

CREATE TABLE queues (
    name                 TEXT PRIMARY KEY NOT NULL,
    strategy             TEXT NOT NULL
                         CHECK (strategy IN ('ring_all', 'longest_idle', 'round_robin', 'fewest_calls', 'random', 'linear', 'skills')),
    ring_timeout_secs    INTEGER NOT NULL DEFAULT 20,
    retry_delay_secs     INTEGER NOT NULL DEFAULT 5,
    wrapup_secs          INTEGER NOT NULL DEFAULT 10,
    max_wait_secs        INTEGER,                    -- NULL: no limit
    max_callers          INTEGER,                    -- NULL: no limit
    join_empty           INTEGER NOT NULL DEFAULT 0, -- 0: refuse callers when no agent is logged in
    leave_when_empty     INTEGER NOT NULL DEFAULT 1, -- 1: waiting callers leave when the last agent logs out
    moh_class            TEXT NOT NULL DEFAULT 'default',
    announce_every_secs  INTEGER NOT NULL DEFAULT 30, -- 0: no position/wait announcements
    service_level_secs   INTEGER NOT NULL DEFAULT 20,
    overflow             TEXT,                       -- NULL, "queue:NAME", "voicemail:BOX" or "context:NAME"
    skill_relax          TEXT NOT NULL DEFAULT '',   -- "30:1,60:2": after 30 s lower skill minimums by 1, after 60 s by 2
    callback_key         TEXT NOT NULL DEFAULT '',   -- DTMF key asking for a callback; '' = off
    callback_attempts    INTEGER NOT NULL DEFAULT 3,
    callback_retry_secs  INTEGER NOT NULL DEFAULT 120,
    created_at           INTEGER NOT NULL
);

CREATE TABLE queue_members (
    queue    TEXT NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    agent    TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    penalty  INTEGER NOT NULL DEFAULT 0 CHECK (penalty >= 0),
    PRIMARY KEY (queue, agent)
);
CREATE INDEX queue_members_agent ON queue_members (agent);

-- Append-only event log for reports (service level, abandon rate, ...).
-- No foreign keys: the history outlives removed queues and agents.
CREATE TABLE queue_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    queue    TEXT NOT NULL,
    call_id  TEXT NOT NULL,
    agent    TEXT,
    event    TEXT NOT NULL,
    data     TEXT NOT NULL DEFAULT ''               -- JSON, or '' for none
);
CREATE INDEX queue_log_queue_at ON queue_log (queue, at_ms);

-- Callers who pressed the callback key: they keep their original place
-- (joined_at_ms) and are dialled back when an agent is free. No foreign key
-- on queue: removing a queue fails its pending callbacks but keeps the rows.
CREATE TABLE callbacks (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    queue               TEXT NOT NULL,
    number              TEXT NOT NULL,
    name                TEXT NOT NULL DEFAULT '',
    call_id             TEXT NOT NULL,              -- the original call
    priority            INTEGER NOT NULL DEFAULT 0,
    joined_at_ms        INTEGER NOT NULL,
    requested_at_ms     INTEGER NOT NULL,
    state               TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'dialing', 'done', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_attempt_at_ms  INTEGER,
    finished_at_ms      INTEGER,
    agent               TEXT
);
CREATE INDEX callbacks_state ON callbacks (state, joined_at_ms);
