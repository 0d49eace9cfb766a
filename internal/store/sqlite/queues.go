package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// openStatuses is the open work in SQL: what QueueStats counts.
const openStatuses = `('new', 'open', 'pending')`

// QueueStats counts the open work in three grouped queries (totals, teams,
// agents) inside one read transaction, so the figures agree with each other.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	st := store.QueueStats{Teams: []store.TeamQueue{}, Agents: []store.AgentLoad{}}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, err
	}
	defer tx.Rollback()

	var totalOldest, unassignedOldest sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(waiting_since), MIN(waiting_since),
			COUNT(CASE WHEN assignee_id IS NULL THEN 1 END),
			COUNT(CASE WHEN assignee_id IS NULL THEN waiting_since END),
			MIN(CASE WHEN assignee_id IS NULL THEN waiting_since END)
		FROM conversations WHERE status IN `+openStatuses).
		Scan(&st.Total.Open, &st.Total.Waiting, &totalOldest, &st.Unassigned.Open, &st.Unassigned.Waiting, &unassignedOldest)
	if err != nil {
		return st, err
	}
	st.Total.OldestWaiting, st.Unassigned.OldestWaiting = fromNullMS(totalOldest), fromNullMS(unassignedOldest)

	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.name, COUNT(c.id), COUNT(c.waiting_since), MIN(c.waiting_since)
		FROM teams t LEFT JOIN conversations c ON c.team_id = t.id AND c.status IN `+openStatuses+`
		GROUP BY t.id, t.name ORDER BY t.name, t.id`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var q store.TeamQueue
		var oldest sql.NullInt64
		if err := rows.Scan(&q.TeamID, &q.Name, &q.Open, &q.Waiting, &oldest); err != nil {
			rows.Close()
			return st, err
		}
		q.OldestWaiting = fromNullMS(oldest)
		st.Teams = append(st.Teams, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT a.id, a.name, a.presence, a.capacity, COUNT(c.id)
		FROM agents a LEFT JOIN conversations c ON c.assignee_id = a.id AND c.status IN `+openStatuses+`
		WHERE a.disabled = 0 GROUP BY a.id, a.name, a.presence, a.capacity ORDER BY a.name, a.id`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var l store.AgentLoad
		if err := rows.Scan(&l.AgentID, &l.Name, &l.Presence, &l.Capacity, &l.Open); err != nil {
			return st, err
		}
		st.Agents = append(st.Agents, l)
	}
	return st, rows.Err()
}

// AssignConversations assigns a batch in one transaction, with one audit
// entry per conversation that changed.
func (s *Store) AssignConversations(ctx context.Context, ids []int64, assigneeID int64, by store.Actor) ([]store.Conversation, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	changed := []store.Conversation{}
	if len(ids) == 0 {
		return changed, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, args...)
		if err != nil {
			return err
		}
		var found []store.Conversation
		for rows.Next() {
			c, err := scanConversation(rows)
			if err != nil {
				rows.Close()
				return err
			}
			found = append(found, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
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
		now := time.Now().UTC()
		for _, c := range found {
			if c.AssigneeID == assigneeID {
				continue
			}
			detail := fmt.Sprintf("assignee %d→%d", c.AssigneeID, assigneeID)
			if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = ?, updated_at = ? WHERE id = ?`, nullID(assigneeID), ms(now), c.ID); err != nil {
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

// ResolveIdle resolves up to limit conversations idle since idleSince. The
// conversations_status index finds them; no order is asked for, so no sort
// of a large idle set is needed per batch.
func (s *Store) ResolveIdle(ctx context.Context, statuses []store.Status, idleSince time.Time, limit int, by store.Actor) ([]int64, error) {
	statuses = slices.DeleteFunc(slices.Clone(statuses), func(st store.Status) bool { return st == store.StatusResolved })
	resolved := []int64{}
	if len(statuses) == 0 || limit < 1 {
		return resolved, nil
	}
	args := []any{}
	for _, st := range statuses {
		args = append(args, string(st))
	}
	args = append(args, ms(idleSince), limit)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		resolved = resolved[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, status FROM conversations WHERE status IN (`+placeholders(len(statuses))+`) AND last_message_at < ? LIMIT ?`, args...)
		if err != nil {
			return err
		}
		var was []store.Status
		for rows.Next() {
			var id int64
			var st store.Status
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			resolved, was = append(resolved, id), append(was, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := ms(time.Now())
		idle := idleSince.UTC().Format(time.RFC3339)
		for i, id := range resolved {
			if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = 'resolved', snoozed_until = NULL, waiting_since = NULL, updated_at = ? WHERE id = ?`, now, id); err != nil {
				return err
			}
			detail := fmt.Sprintf("status %s→resolved (idle since %s)", was[i], idle)
			if err := audit(ctx, tx, by, "conversation.update", fmt.Sprintf("conversation/%d", id), detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resolved, nil
}
