-- "Waiting longest first" reads the waiting conversations in order from
-- this index instead of sorting every open conversation. Ingest writes
-- waiting_since only when it changes (the first unanswered message, an
-- older one arriving late), so the index costs the hot path almost nothing;
-- a reply clears it.
CREATE INDEX conversations_waiting ON conversations (waiting_since, id) WHERE waiting_since IS NOT NULL;
