-- Outbound class of service per extension (issue 9, toll fraud):
-- internal, national, international or premium. Existing and new
-- extensions get "national": international and premium numbers are
-- refused until an admin raises an extension's class.
ALTER TABLE extensions ADD COLUMN dial_class TEXT NOT NULL DEFAULT 'national';
