-- Inbox lists at a million conversations (issue 11; docs/benchmarks.md,
-- "PostgreSQL waiting-first inbox"). Each list is one index scan per
-- status, merged (eachStatus in conversations.go), so every index here
-- starts with what the query fixes by equality and ends with its order.

-- "Waiting longest first" reads the waiting conversations of each status
-- in order from this index instead of sorting every conversation of the
-- statuses asked for (30–70 ms before). It holds only the conversations
-- whose customer waits: a reply or resolving clears waiting_since. Unlike
-- the embedded engine's (waiting_since, id), the status leads: with that
-- one, the planner took "waiting" and the status for independent, expected
-- a few hundred of the 25,849 waiting new and open conversations, and
-- combined both indexes and sorted them all (44 ms); here each status's
-- waiting conversations are one range, in order.
CREATE INDEX IF NOT EXISTS conversations_waiting ON conversations (status, waiting_since, id) WHERE waiting_since IS NOT NULL;

-- A team's queue, newest first, is one range of this index per status.
-- With team_id alone, the team's conversations of a status were found by
-- combining two bitmaps and sorted (5–12 ms), or by walking the status
-- index past every other team's (all of a status the team has none of).
-- It replaces conversations_team, which it serves too (team_id leads):
-- a change to a conversation writes no more index entries than before in
-- it, only wider ones.
CREATE INDEX IF NOT EXISTS conversations_team_status ON conversations (team_id, status, last_message_at DESC, id DESC);
DROP INDEX IF EXISTS conversations_team;

-- Teams and statuses go together (a conversation is given to a team when it
-- is opened; the resolved history keeps its team), so counting them apart
-- misjudges a team's share of a status by orders of magnitude. With their
-- common values counted together, the planner walks conversations_waiting
-- for a big team's waiting queue (0.1 ms) and sorts a small team's few.
CREATE STATISTICS IF NOT EXISTS conversations_team_status_stats (mcv) ON team_id, status FROM conversations;
-- The statistics object stays empty until the table is analysed, and
-- autovacuum analyses a big table only after a tenth of its rows changed
-- (100,000 changes at a million conversations); ANALYZE reads a sample of
-- 30,000 rows, 0.7 s at a million. Not an empty table, though: analysed
-- empty, it is planned as empty until analysed again (a table never
-- analysed is taken for ten pages at least), and each session keeps its
-- plans, so without autovacuum every insert went on to scan it whole
-- (ingest of a fresh store fell from 3,600 to 300 messages a second).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM conversations) THEN
        ANALYZE conversations;
    END IF;
END
$$;
