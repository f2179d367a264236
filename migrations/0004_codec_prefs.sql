-- Per-extension and per-trunk codec preference lists (e.g. "G722,PCMU");
-- NULL means the appliance default ([media] codecs).
ALTER TABLE extensions ADD COLUMN codecs TEXT;
ALTER TABLE trunks ADD COLUMN codecs TEXT;
