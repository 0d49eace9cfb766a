package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// openStatuses is the open work in SQL: what QueueStats counts.
const openStatuses = `('new', 'open', 'pending')`

// QueueStats counts the open work in three grouped queries (totals, teams,
// agents) inside one repeatable-read transaction, so the figures agree with
// each other. Names sort bytewise (COLLATE "C"), as in the embedded engine.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	st := store.QueueStats{Teams: []store.TeamQueue{}, Agents: []store.AgentLoad{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(waiting_since), MIN(waiting_since),
				COUNT(*) FILTER (WHERE assignee_id IS NULL),
				COUNT(waiting_since) FILTER (WHERE assignee_id IS NULL),
				MIN(waiting_since) FILTER (WHERE assignee_id IS NULL)
			FROM conversations WHERE status IN `+openStatuses).
			Scan(&st.Total.Open, &st.Total.Waiting, &st.Total.OldestWaiting, &st.Unassigned.Open, &st.Unassigned.Waiting, &st.Unassigned.OldestWaiting)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT t.id, t.name, COUNT(c.id), COUNT(c.waiting_since), MIN(c.waiting_since)
			FROM teams t LEFT JOIN conversations c ON c.team_id = t.id AND c.status IN `+openStatuses+`
			GROUP BY t.id, t.name ORDER BY t.name COLLATE "C", t.id`)
		if err != nil {
			return err
		}
		st.Teams, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.TeamQueue, error) {
			var q store.TeamQueue
			err := r.Scan(&q.TeamID, &q.Name, &q.Open, &q.Waiting, &q.OldestWaiting)
			return q, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT a.id, a.name, a.presence, a.capacity, COUNT(c.id)
			FROM agents a LEFT JOIN conversations c ON c.assignee_id = a.id AND c.status IN `+openStatuses+`
			WHERE NOT a.disabled GROUP BY a.id, a.name, a.presence, a.capacity ORDER BY a.name COLLATE "C", a.id`)
		if err != nil {
			return err
		}
		st.Agents, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AgentLoad, error) {
			var l store.AgentLoad
			err := r.Scan(&l.AgentID, &l.Name, &l.Presence, &l.Capacity, &l.Open)
			return l, err
		})
		return err
	})
	st.Teams, st.Agents = orEmpty(st.Teams), orEmpty(st.Agents)
	return st, err
}

// AssignConversations assigns a batch in one transaction, with one audit
// entry per conversation that changed. The rows are locked in id order.
func (s *Store) AssignConversations(ctx context.Context, ids []int64, assigneeID int64, by store.Actor) ([]store.Conversation, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return []store.Conversation{}, nil
	}
	var changed []store.Conversation
	err := s.tx(ctx, func(tx pgx.Tx) error {
		changed = []store.Conversation{}
		rows, err := tx.Query(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return err
		}
		found, err := collectConversations(rows)
		if err != nil {
			return err
		}
		if len(found) != len(ids) {
			var missing []int64
			for _, id := range ids {
				if !slices.ContainsFunc(found, func(c store.Conversation) bool { return c.ID == id }) {
					missing = append(missing, id)
				}
			}
			return &store.UnknownIDsError{What: "conversation", IDs: missing}
		}
		now := ts(time.Now())
		for _, c := range found {
			if c.AssigneeID == assigneeID {
				continue
			}
			detail := fmt.Sprintf("assignee %d→%d", c.AssigneeID, assigneeID)
			if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = $1, updated_at = $2 WHERE id = $3`, nullID(assigneeID), now, c.ID); err != nil {
				return conflict(err, fmt.Sprintf("agent %d", assigneeID))
			}
			if err := audit(ctx, tx, by, "conversation.update", fmt.Sprintf("conversation/%d", c.ID), detail+" (bulk)"); err != nil {
				return err
			}
			c.AssigneeID, c.UpdatedAt = assigneeID, now
			changed = append(changed, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// qResolveIdle resolves a batch of idle conversations in one statement and
// returns each with the status it had. Rows an agent is changing right now
// are skipped, not waited for: the next batch takes them if still idle.
const qResolveIdle = `
WITH idle AS (
	SELECT id, status FROM conversations
	WHERE status = ANY($1) AND last_message_at < $2
	LIMIT $3 FOR UPDATE SKIP LOCKED)
UPDATE conversations c SET status = 'resolved', snoozed_until = NULL, waiting_since = NULL, updated_at = $4
FROM idle WHERE c.id = idle.id
RETURNING c.id, idle.status`

// ResolveIdle resolves up to limit conversations idle since idleSince, and
// audits them with one statement.
func (s *Store) ResolveIdle(ctx context.Context, statuses []store.Status, idleSince time.Time, limit int, by store.Actor) ([]int64, error) {
	var sts []string
	for _, st := range statuses {
		if st != store.StatusResolved {
			sts = append(sts, string(st))
		}
	}
	resolved := []int64{}
	if len(sts) == 0 || limit < 1 {
		return resolved, nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		resolved = resolved[:0]
		rows, err := tx.Query(ctx, qResolveIdle, sts, ts(idleSince), limit, ts(time.Now()))
		if err != nil {
			return err
		}
		var subjects, details []string
		idle := idleSince.UTC().Format(time.RFC3339)
		var id int64
		var was string
		if _, err := pgx.ForEachRow(rows, []any{&id, &was}, func() error {
			resolved = append(resolved, id)
			subjects = append(subjects, fmt.Sprintf("conversation/%d", id))
			details = append(details, withVia(by, fmt.Sprintf("status %s→resolved (idle since %s)", was, idle)))
			return nil
		}); err != nil {
			return err
		}
		if len(resolved) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit (at, agent_id, action, subject, detail)
			SELECT $1, $2, 'conversation.update', s, d FROM unnest($3::text[], $4::text[]) AS u (s, d)`,
			ts(time.Now()), nullID(by.AgentID), subjects, details)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resolved, nil
}
