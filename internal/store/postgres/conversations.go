package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

const conversationColumns = `id, channel_id, contact_id, visibility, status, language, subject,
	assignee_id, team_id, linked_id, priority, tags, snoozed_until, waiting_since, first_response_at,
	last_message_at, last_preview, message_count, delivery_failed, created_at, updated_at`

func scanConversation(row pgx.Row) (store.Conversation, error) {
	var c store.Conversation
	var assignee, team, linked *int64
	err := row.Scan(&c.ID, &c.ChannelID, &c.ContactID, &c.Visibility, &c.Status, &c.Language, &c.Subject,
		&assignee, &team, &linked, &c.Priority, &c.Tags, &c.SnoozedUntil, &c.WaitingSince, &c.FirstResponseAt,
		&c.LastMessageAt, &c.LastPreview, &c.MessageCount, &c.DeliveryFailed, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	c.AssigneeID, c.TeamID, c.LinkedID = deref(assignee), deref(team), deref(linked)
	c.Tags = orEmpty(c.Tags)
	return c, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func collectConversations(rows pgx.Rows) ([]store.Conversation, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Conversation, error) { return scanConversation(r) })
	return orEmpty(out), err
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, id))
	return c, notFound(err, "conversation", id)
}

// conds gathers WHERE conditions with numbered placeholders.
type conds struct {
	where []string
	args  []any
}

// add appends a condition; each "?" in it becomes the next $n.
func (c *conds) add(cond string, args ...any) {
	for _, a := range args {
		c.args = append(c.args, a)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(c.args)), 1)
	}
	c.where = append(c.where, cond)
}

// arg adds a value without a condition and returns its placeholder.
func (c *conds) arg(v any) string {
	c.args = append(c.args, v)
	return fmt.Sprintf("$%d", len(c.args))
}

func (c *conds) sql() string {
	if len(c.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.where, " AND ")
}

func conversationWhere(f store.ConversationFilter) *conds {
	c := &conds{}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			st[i] = string(s)
		}
		c.add("status = ANY(?)", st)
	}
	if f.ChannelID != 0 {
		c.add("channel_id = ?", f.ChannelID)
	}
	if f.Language != "" {
		c.add("language = ?", f.Language)
	}
	if f.ContactID != 0 {
		c.add("contact_id = ?", f.ContactID)
	}
	switch {
	case f.AssigneeID < 0:
		c.add("assignee_id IS NULL")
	case f.AssigneeID > 0:
		c.add("assignee_id = ?", f.AssigneeID)
	}
	switch {
	case f.TeamID < 0:
		c.add("team_id IS NULL")
	case f.TeamID > 0:
		c.add("team_id = ?", f.TeamID)
	}
	return c
}

// The two list orders; each is total (the id breaks ties), and each
// cursor condition below is exactly "comes after the cursor in that order",
// so pages neither repeat nor skip a conversation.
const (
	newestOrder  = `last_message_at DESC, id DESC`
	waitingOrder = `waiting_since, id`
)

// Conversations lists conversations in the filter's order.
func (s *Store) Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	if f.Order == store.OrderWaiting {
		return s.waitingFirst(ctx, f, limit)
	}
	c := listWhere(f)
	if f.Before.ID != 0 {
		at := ts(f.Before.At)
		c.add("(last_message_at < ? OR (last_message_at = ? AND id < ?))", at, at, f.Before.ID)
	}
	return s.listConversations(ctx, eachStatus(f.Statuses, c, newestOrder, limit), c.args)
}

// waitingFirst lists the conversations whose customer waits, longest
// waiting first (ties by id), then the rest by last message, newest first,
// as the embedded engine does: two queries, the first read in order from
// conversations_waiting (migration 0007), which holds only the waiting
// conversations, the second newest first like any list. One query sorted
// on "waiting_since IS NULL" had no index to follow, so it read and sorted
// every conversation of the statuses asked for (30–70 ms at a million
// conversations).
func (s *Store) waitingFirst(ctx context.Context, f store.ConversationFilter, limit int) ([]store.Conversation, error) {
	at := ts(f.Before.At)
	out := []store.Conversation{}
	if f.Before.ID == 0 || f.Before.Waiting {
		c := listWhere(f)
		c.add("waiting_since IS NOT NULL")
		if f.Before.ID != 0 {
			// A row comparison, so that the index scan starts at the cursor.
			c.add("(waiting_since, id) > (?, ?)", at, f.Before.ID)
		}
		waiting, err := s.listConversations(ctx, eachStatus(f.Statuses, c, waitingOrder, limit), c.args)
		if err != nil {
			return nil, err
		}
		out = append(out, waiting...)
	}
	if len(out) == limit {
		return out, nil
	}
	c := listWhere(f)
	c.add("waiting_since IS NULL")
	if f.Before.ID != 0 && !f.Before.Waiting {
		c.add("(last_message_at < ? OR (last_message_at = ? AND id < ?))", at, at, f.Before.ID)
	}
	rest, err := s.listConversations(ctx, eachStatus(f.Statuses, c, newestOrder, limit-len(out)), c.args)
	return append(out, rest...), err
}

// listWhere is the filter's conditions but its statuses, which eachStatus
// puts in.
func listWhere(f store.ConversationFilter) *conds {
	f.Statuses = nil
	return conversationWhere(f)
}

// eachStatus is the query of one page in the given order of the
// conversations that meet c and have one of statuses (any status when
// there are none): one index scan per status, merged. In the indexes for
// these lists the status comes right before the order's columns
// (conversations_status and conversations_waiting start with it,
// conversations_team_status with the team and then it), so each scan
// reads its status's rows in order and stops at the page's end, where
// "status = ANY(…) ORDER BY …" made PostgreSQL read every row of those
// statuses and sort them (120 ms at 136,000 conversations). The status is
// an equality in each scan, not also "= ANY": PostgreSQL 15 does not keep
// an index's order for "= ANY" on a column after the first, and took the
// two conditions for independent, expecting almost no rows. c takes the
// new arguments.
func eachStatus(statuses []store.Status, c *conds, order string, limit int) string {
	lim := c.arg(limit)
	var branches []string
	seen := map[store.Status]bool{}
	for _, st := range statuses {
		if seen[st] {
			continue // the same status twice would list its rows twice
		}
		seen[st] = true
		where := append([]string{"status = " + c.arg(string(st))}, c.where...)
		branches = append(branches, `SELECT `+conversationColumns+` FROM conversations WHERE `+strings.Join(where, " AND ")+
			` ORDER BY `+order+` LIMIT `+lim)
	}
	switch len(branches) {
	case 0:
		return `SELECT ` + conversationColumns + ` FROM conversations` + c.sql() + ` ORDER BY ` + order + ` LIMIT ` + lim
	case 1:
		return branches[0]
	}
	return `SELECT * FROM ((` + strings.Join(branches, `) UNION ALL (`) + `)) page ORDER BY ` + order + ` LIMIT ` + lim
}

// listConversations runs one page of a conversation list.
func (s *Store) listConversations(ctx context.Context, q string, args []any) ([]store.Conversation, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectConversations(rows)
}

// CountConversations counts what Conversations would list without a limit.
func (s *Store) CountConversations(ctx context.Context, f store.ConversationFilter) (int, error) {
	c := conversationWhere(f)
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM conversations`+c.sql(), c.args...).Scan(&n)
	return n, err
}

const messageColumns = `id, conversation_id, channel_id, direction, agent_id, body, platform_id, reply_to, delivery, delivery_error, sent_at, created_at`

func scanMessage(row pgx.Row) (store.Message, error) {
	var m store.Message
	var agent *int64
	var platformID *string
	err := row.Scan(&m.ID, &m.ConversationID, &m.ChannelID, &m.Direction, &agent, &m.Body, &platformID, &m.ReplyTo, &m.Delivery, &m.DeliveryError, &m.SentAt, &m.CreatedAt)
	m.AgentID = deref(agent)
	if platformID != nil {
		m.PlatformID = *platformID
	}
	return m, err
}

func (s *Store) queryMessages(ctx context.Context, q string, args ...any) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, err
	}
	out = orEmpty(out)
	return out, s.withAttachments(ctx, out)
}

// Messages lists a conversation's messages oldest first.
func (s *Store) Messages(ctx context.Context, conversationID, after int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.queryMessages(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3`, conversationID, after, limit)
}

// Message returns one message.
func (s *Store) Message(ctx context.Context, id int64) (store.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return m, notFound(err, "message", id)
	}
	one := []store.Message{m}
	err = s.withAttachments(ctx, one)
	return one[0], err
}

// UpdateConversation applies an agent's change and records it in the trail.
// The row is locked while the change is worked out, so that a message
// ingested meanwhile (which moves the wait clock) is not overwritten.
func (s *Store) UpdateConversation(ctx context.Context, id int64, ch store.ConversationChange, by store.Actor) (store.Conversation, error) {
	var out store.Conversation
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err, "conversation", id)
		}
		details := c.Apply(ch)
		c.SnoozedUntil = nullTS(c.SnoozedUntil) // whole milliseconds, as stored
		if len(details) == 0 {
			out = c
			return nil
		}
		c.UpdatedAt = ts(time.Now())
		_, err = tx.Exec(ctx, `UPDATE conversations SET status = $1, snoozed_until = $2, waiting_since = $3, assignee_id = $4, team_id = $5,
			priority = $6, tags = $7, linked_id = $8, updated_at = $9 WHERE id = $10`,
			c.Status, nullTS(c.SnoozedUntil), nullTS(c.WaitingSince), nullID(c.AssigneeID), nullID(c.TeamID),
			c.Priority, c.Tags, nullID(c.LinkedID), c.UpdatedAt, id)
		if err != nil {
			return conflict(err, "conversation change")
		}
		out = c
		return audit(ctx, tx, by, "conversation.update", fmt.Sprintf("conversation/%d", id), strings.Join(details, "; "))
	})
	return out, err
}

// AddNote stores an internal note; it is never sent.
func (s *Store) AddNote(ctx context.Context, conversationID, agentID int64, body string, now time.Time) (store.Message, error) {
	now = ts(now)
	m := store.Message{ConversationID: conversationID, Direction: store.DirNote, AgentID: agentID, Body: body,
		Delivery: store.Internal, SentAt: now, CreatedAt: now}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT channel_id FROM conversations WHERE id = $1`, conversationID).Scan(&m.ChannelID); err != nil {
			return notFound(err, "conversation", conversationID)
		}
		err := tx.QueryRow(ctx, `INSERT INTO messages (conversation_id, channel_id, direction, agent_id, body, delivery, sent_at, created_at) VALUES ($1, $2, 'note', $3, $4, 'internal', $5, $5) RETURNING id`,
			conversationID, m.ChannelID, nullID(agentID), body, now).Scan(&m.ID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE conversations SET message_count = message_count + 1, updated_at = $1 WHERE id = $2`, now, conversationID)
		return err
	})
	return m, err
}

// QueueReply stores the reply and its outbox entry in one transaction.
func (s *Store) QueueReply(ctx context.Context, r store.Reply) (m store.Message, e store.OutboxEntry, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		m, e, err = queueReply(ctx, tx, r)
		return err
	})
	return m, e, err
}

func queueReply(ctx context.Context, tx pgx.Tx, r store.Reply) (store.Message, store.OutboxEntry, error) {
	now := ts(r.Now)
	m := store.Message{ConversationID: r.ConversationID, Direction: store.DirOutbound, AgentID: r.AgentID, Body: r.Body,
		Delivery: store.Queued, SentAt: now, CreatedAt: now}
	e := store.OutboxEntry{ConversationID: r.ConversationID, IdempotencyKey: r.IdempotencyKey, NextAttemptAt: now, State: store.OutboxPending}
	err := func() error {
		var status store.Status
		if err := tx.QueryRow(ctx, `SELECT channel_id, status FROM conversations WHERE id = $1 FOR UPDATE`, r.ConversationID).Scan(&m.ChannelID, &status); err != nil {
			return notFound(err, "conversation", r.ConversationID)
		}
		if status == store.StatusResolved {
			return fmt.Errorf("conversation %d is resolved; reopen it to reply: %w", r.ConversationID, store.ErrConflict)
		}
		// Answer the customer's latest message, so the platform threads it.
		err := tx.QueryRow(ctx, `SELECT COALESCE(platform_id, '') FROM messages WHERE conversation_id = $1 AND direction = 'in' ORDER BY id DESC LIMIT 1`, r.ConversationID).Scan(&m.ReplyTo)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		e.ChannelID = m.ChannelID
		err = tx.QueryRow(ctx, `INSERT INTO messages (conversation_id, channel_id, direction, agent_id, body, reply_to, delivery, sent_at, created_at) VALUES ($1, $2, 'out', $3, $4, $5, 'queued', $6, $6) RETURNING id`,
			r.ConversationID, m.ChannelID, nullID(r.AgentID), r.Body, m.ReplyTo, now).Scan(&m.ID)
		if err != nil {
			return err
		}
		e.MessageID = m.ID
		if m.Attachments, err = insertAttachments(ctx, tx, m.ID, r.Attachments); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO outbox (message_id, conversation_id, channel_id, idempotency_key, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
			m.ID, r.ConversationID, m.ChannelID, r.IdempotencyKey, now).Scan(&e.ID)
		if err != nil {
			return conflict(err, "outbox entry "+r.IdempotencyKey)
		}
		// The customer has an answer: the wait clock stops, and the first
		// response time is recorded once.
		_, err = tx.Exec(ctx, `UPDATE conversations SET waiting_since = NULL, first_response_at = COALESCE(first_response_at, $1),
			status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
			message_count = message_count + 1, last_message_at = $1, last_preview = $2, assignee_id = COALESCE(assignee_id, $3), updated_at = $1 WHERE id = $4`,
			now, preview(r.Body, r.Attachments), nullID(r.AgentID), r.ConversationID)
		return conflict(err, fmt.Sprintf("agent %d", r.AgentID))
	}()
	return m, e, err
}

// Stats gives the live figures for metrics.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM conversations WHERE status <> 'resolved'),
		(SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
		(SELECT COUNT(*) FROM outbox WHERE state = 'failed')`).Scan(&st.OpenConversations, &st.OutboxDepth, &st.OutboxFailed)
	return st, err
}
