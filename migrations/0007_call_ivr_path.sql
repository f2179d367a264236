-- The path a call took through the dialplan (contexts and menu choices,
-- e.g. "main > choice=3 > account"), for reporting which IVR branches
-- callers use. NULL for calls that ran no dialplan.
ALTER TABLE call_records ADD COLUMN ivr_path TEXT;
