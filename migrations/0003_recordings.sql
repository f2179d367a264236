-- Call recordings: one row per recording, inserted when it starts and
-- completed from the writer's summary when it ends.
CREATE TABLE recordings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id      TEXT NOT NULL,
    path         TEXT NOT NULL UNIQUE,
    format       TEXT NOT NULL,          -- wav | opus
    layout       TEXT NOT NULL,          -- mono | stereo
    rate         INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,       -- unix ms
    ended_at     INTEGER,
    duration_ms  INTEGER,
    bytes        INTEGER,
    paused_ms    INTEGER NOT NULL DEFAULT 0,
    pauses       TEXT,                   -- JSON [[start_ms, end_ms], ...]
    dropped_ms   INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL           -- recording | done | failed
);
CREATE INDEX recordings_call_id ON recordings (call_id);
