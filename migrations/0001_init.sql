-- Extensions: agents' and users' SIP accounts. Secrets are kept only as
-- digest HA1 values for the configured realm (RFC 7616 §3.4.2).
CREATE TABLE extensions (
    number      TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    realm       TEXT NOT NULL,
    ha1_md5     TEXT NOT NULL,
    ha1_sha256  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Registrar bindings (RFC 3261 §10.3); one row per contact.
CREATE TABLE registrations (
    aor         TEXT NOT NULL,
    contact     TEXT NOT NULL,
    source      TEXT NOT NULL,
    transport   TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    cseq        INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    q           REAL,
    user_agent  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (aor, contact)
);

-- SIP trunks toward carriers. The secret is kept in clear because the
-- appliance must answer the carrier's digest challenges with it.
CREATE TABLE trunks (
    name        TEXT PRIMARY KEY NOT NULL,
    host        TEXT NOT NULL,
    transport   TEXT NOT NULL DEFAULT 'udp',
    register    INTEGER NOT NULL DEFAULT 0,
    username    TEXT,
    secret      TEXT,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- Direct DID map (the dialplan engine replaces it later).
CREATE TABLE trunk_dids (
    did         TEXT PRIMARY KEY NOT NULL,
    trunk       TEXT NOT NULL REFERENCES trunks(name) ON DELETE CASCADE,
    extension   TEXT NOT NULL
);

-- Trunk health as last seen by the running appliance, shown by `trunk list`.
CREATE TABLE trunk_status (
    trunk       TEXT PRIMARY KEY NOT NULL REFERENCES trunks(name) ON DELETE CASCADE,
    options_ok  INTEGER,
    registered  INTEGER,
    detail      TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);

-- Secrets of the appliance itself (the digest nonce key), generated on
-- first start so nonces stay valid across restarts.
CREATE TABLE settings (
    name        TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL
);
