-- Faxes (issue 7): every fax received or sent, and outbound send jobs with
-- their retries. Paths are relative to the data directory so a restore
-- into another directory still finds the files. Times are unix ms.
CREATE TABLE faxes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    -- in: receiving -> received | failed
    -- out: queued -> sending -> sent | retry (-> sending ...) | failed | cancelled
    status          TEXT NOT NULL CHECK (status IN ('receiving', 'received', 'queued', 'sending', 'retry', 'sent', 'failed', 'cancelled')),
    call_id         TEXT,
    remote_number   TEXT NOT NULL DEFAULT '',   -- the caller (in) or the number dialled (out)
    local_number    TEXT NOT NULL DEFAULT '',   -- the DID it came in on (in)
    remote_ident    TEXT NOT NULL DEFAULT '',   -- the far end's T.30 TSI/CSI
    local_ident     TEXT NOT NULL DEFAULT '',
    header          TEXT NOT NULL DEFAULT '',
    pages           INTEGER NOT NULL DEFAULT 0,
    bit_rate        INTEGER NOT NULL DEFAULT 0,
    ecm             INTEGER NOT NULL DEFAULT 0,
    transport       TEXT CHECK (transport IN ('t38', 'g711')),
    resolution      TEXT NOT NULL DEFAULT '',   -- dpi, e.g. 204x98
    t30_code        INTEGER,
    t30_reason      TEXT NOT NULL DEFAULT '',
    tiff_path       TEXT,                       -- received TIFF, or the TIFF sent
    pdf_path        TEXT,                       -- received PDF
    document        TEXT NOT NULL DEFAULT '',   -- what was asked to be sent (out)
    email           TEXT NOT NULL DEFAULT '',   -- where the PDF goes (in)
    emailed_at_ms   INTEGER,
    email_error     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 1,
    next_attempt_ms INTEGER,
    requested_by    TEXT NOT NULL DEFAULT '',   -- dialplan, api:<key>, user:<name>
    created_at_ms   INTEGER NOT NULL,
    started_at_ms   INTEGER,
    ended_at_ms     INTEGER
);
CREATE INDEX faxes_created ON faxes (created_at_ms);
CREATE INDEX faxes_due ON faxes (status, next_attempt_ms);
