-- API keys for programs (CTI screens, wallboards, Prometheus-style
-- scrapers that need more than /metrics). Only a SHA-256 of the secret is
-- stored; `key_prefix` (the first 8 characters of the clear key, e.g.
-- "sb_Ab3xY") identifies a key in lists and narrows the lookup when a key
-- is presented. `scopes` is a comma separated subset of
-- events, stats, calls, admin. Times are unix seconds.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,                 -- lowercase hex SHA-256 of the clear key
    key_prefix    TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER                        -- NULL: never used
);

CREATE INDEX api_keys_prefix ON api_keys (key_prefix);
