-- The public contact channel (/contact): web callback requests carry the
-- visitor's message and say where they came from; live chats and their
-- transcripts, linked to the customer when one matched the visitor's
-- phone number or e-mail. Times are unix milliseconds.
ALTER TABLE callbacks ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE callbacks ADD COLUMN source TEXT NOT NULL DEFAULT 'phone' CHECK (source IN ('phone', 'web'));

CREATE TABLE chats (
    id              TEXT PRIMARY KEY,                 -- random public id
    queue           TEXT NOT NULL,
    visitor_name    TEXT NOT NULL,
    visitor_phone   TEXT NOT NULL DEFAULT '',
    visitor_email   TEXT NOT NULL DEFAULT '',
    customer_id     INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    ip              TEXT NOT NULL DEFAULT '',
    agent           TEXT,                             -- the agent who took it
    started_at_ms   INTEGER NOT NULL,
    answered_at_ms  INTEGER,
    ended_at_ms     INTEGER,
    ended_by        TEXT,                             -- visitor, agent, idle, no-agent, shutdown
    disposition     TEXT,
    notes           TEXT
);
CREATE INDEX chats_customer ON chats (customer_id, started_at_ms);
CREATE INDEX chats_started ON chats (started_at_ms);

CREATE TABLE chat_messages (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id  TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    at_ms    INTEGER NOT NULL,
    sender   TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent    TEXT,
    body     TEXT NOT NULL
);
CREATE INDEX chat_messages_chat ON chat_messages (chat_id, id);
