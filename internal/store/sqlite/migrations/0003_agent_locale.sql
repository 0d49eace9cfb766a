-- The language of an agent's own screens ("en", "nl"); empty means "en".
ALTER TABLE agents ADD COLUMN locale TEXT NOT NULL DEFAULT '';
