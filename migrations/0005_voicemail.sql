-- Voicemail: one mailbox per extension or group, and the messages left in it.
-- PINs are stored only as salted SHA-256 (hex); the audio lives on disk at
-- `path`, the row is its index.
CREATE TABLE mailboxes (
    number           TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    pin_hash         TEXT NOT NULL,          -- hex sha256(salt || pin)
    pin_salt         TEXT NOT NULL,          -- hex, 16 random bytes
    email            TEXT,                   -- NULL: no e-mail notification
    greeting_path    TEXT,                   -- NULL: default spoken greeting
    max_message_secs INTEGER NOT NULL DEFAULT 180,
    kind             TEXT NOT NULL DEFAULT 'extension' CHECK (kind IN ('extension', 'group')),
    members          TEXT NOT NULL DEFAULT '', -- groups: comma separated extensions
    created_at       INTEGER NOT NULL        -- unix seconds
);

CREATE TABLE voicemail_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox     TEXT NOT NULL REFERENCES mailboxes (number) ON DELETE CASCADE,
    caller      TEXT NOT NULL,
    caller_name TEXT NOT NULL DEFAULT '',
    call_id     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,            -- unix seconds
    duration_ms INTEGER NOT NULL,
    path        TEXT NOT NULL,
    heard       INTEGER NOT NULL DEFAULT 0,
    emailed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX voicemail_messages_mailbox ON voicemail_messages (mailbox, heard, created_at);
