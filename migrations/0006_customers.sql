-- Customer table for the dialplan `lookup` app (by caller number or by
-- account number) and the `customer` admin commands.
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    account     TEXT UNIQUE,                 -- NULL = no account number (several allowed)
    tags        TEXT NOT NULL DEFAULT '',    -- free text, e.g. "vip,wholesale"
    notes       TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',  -- JSON object of extra fields (balance, ...)
    created_at  INTEGER NOT NULL             -- unix seconds
);

-- Phone numbers, normalized (digits with an optional leading +), so a lookup
-- by caller number is an indexed exact match. `last10` holds the last 10
-- digits of numbers with at least 10 digits: "+15551234567", "15551234567"
-- and "5551234567" all find the same customer. A number may belong to more
-- than one customer (a shared office line); lookups return the oldest.
CREATE TABLE customer_phones (
    number       TEXT NOT NULL,
    last10       TEXT,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (number, customer_id)
);
CREATE INDEX customer_phones_last10 ON customer_phones (last10);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);
