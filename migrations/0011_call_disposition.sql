-- What the agent recorded after the call (wrap-up): a disposition code
-- (e.g. "sale", "callback", "complaint") and free-text notes.
ALTER TABLE call_records ADD COLUMN disposition TEXT;
ALTER TABLE call_records ADD COLUMN notes TEXT;
