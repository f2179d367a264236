-- One row per call attempt handled by the B2BUA (a CDR). Quality columns
-- are per leg: A faces the caller, B the callee; MOS is an E-model
-- estimate (ITU-T G.107) from the leg's loss, jitter and round trip.
CREATE TABLE call_records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id      TEXT NOT NULL,
    direction    TEXT NOT NULL,          -- internal | inbound | outbound
    caller       TEXT NOT NULL,
    callee       TEXT NOT NULL,
    trunk        TEXT,
    started_at   INTEGER NOT NULL,       -- unix ms
    answered_at  INTEGER,
    ended_at     INTEGER,
    status       INTEGER,                -- final status sent to the caller
    hangup_by    TEXT,                   -- caller | callee | system
    a_packets    INTEGER,
    a_lost       INTEGER,
    a_jitter_ms  REAL,
    a_rtt_ms     REAL,
    a_mos        REAL,
    b_packets    INTEGER,
    b_lost       INTEGER,
    b_jitter_ms  REAL,
    b_rtt_ms     REAL,
    b_mos        REAL
);
CREATE INDEX call_records_started ON call_records (started_at);
CREATE INDEX call_records_call_id ON call_records (call_id);
