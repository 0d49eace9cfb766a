package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/store"
)

const conversationColumns = `id, channel_id, contact_id, visibility, status, language, subject,
	assignee_id, team_id, linked_id, priority, tags, snoozed_until, waiting_since, first_response_at,
	last_message_at, last_preview, message_count, delivery_failed, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanConversation(row scanner) (store.Conversation, error) {
	var c store.Conversation
	var assignee, team, linked, snoozed, waiting, first sql.NullInt64
	var tags string
	var last, created, updated int64
	var failed int
	err := row.Scan(&c.ID, &c.ChannelID, &c.ContactID, &c.Visibility, &c.Status, &c.Language, &c.Subject,
		&assignee, &team, &linked, &c.Priority, &tags, &snoozed, &waiting, &first,
		&last, &c.LastPreview, &c.MessageCount, &failed, &created, &updated)
	if err != nil {
		return c, err
	}
	c.AssigneeID, c.TeamID, c.LinkedID = assignee.Int64, team.Int64, linked.Int64
	c.Tags = strList(tags)
	c.SnoozedUntil, c.WaitingSince, c.FirstResponseAt = fromNullMS(snoozed), fromNullMS(waiting), fromNullMS(first)
	c.LastMessageAt, c.CreatedAt, c.UpdatedAt = fromMS(last), fromMS(created), fromMS(updated)
	c.DeliveryFailed = failed != 0
	return c, nil
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
	return c, notFound(err, "conversation", id)
}

func conversationWhere(f store.ConversationFilter) (string, []any) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ChannelID != 0 {
		add("channel_id = ?", f.ChannelID)
	}
	if f.Language != "" {
		add("language = ?", f.Language)
	}
	if f.ContactID != 0 {
		add("contact_id = ?", f.ContactID)
	}
	switch {
	case f.AssigneeID < 0:
		// The unary + keeps SQLite off conversations_assignee, which it
		// would otherwise prefer for IS NULL; most of a large store's
		// history is unassigned, so that index would read nearly every row,
		// where the status index reads only the few open ones.
		where = append(where, "+assignee_id IS NULL")
	case f.AssigneeID > 0:
		add("assignee_id = ?", f.AssigneeID)
	}
	switch {
	case f.TeamID < 0:
		where = append(where, "team_id IS NULL")
	case f.TeamID > 0:
		add("team_id = ?", f.TeamID)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Conversations lists conversations in the filter's order.
func (s *Store) Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	if f.Order == store.OrderWaiting {
		return s.waitingFirst(ctx, f)
	}
	var cond string
	var args []any
	if f.Before.ID != 0 {
		cond, args = newerThan(f.Before)
	}
	return s.newestFirst(ctx, f, cond, args, pageSize(f))
}

// newerThan is the cursor condition of the newest-first order: exactly
// "comes after the cursor", so pages neither repeat nor skip a
// conversation (the order is total: the id breaks ties). As a row value
// it bounds the index range, so each status's scan starts at the cursor;
// "last_message_at < ? OR (last_message_at = ? AND id < ?)" did not, with
// bound parameters: SQLite read every older conversation of each status
// (MULTI-INDEX OR) and sorted them, 6 ms for the tenth page of the inbox at
// a million conversations.
func newerThan(c store.Cursor) (string, []any) {
	return "(last_message_at, id) < (?, ?)", []any{ms(c.At), c.ID}
}

// newestFirst lists one page, by last message newest first (ties by id,
// highest first), of the conversations that meet f and cond (with its
// args; "" for none). A filter of several statuses is one SELECT per
// status, merged (UNION ALL under the ORDER BY, which SQLite runs as a
// merge of the branches, reading each only as far as the page needs): each
// branch is one range of an index that ends with the order, read in order,
// conversations_team (migration 0010) for a team's queue and
// conversations_status otherwise. With "status IN (…)" SQLite reads each
// status's range in turn into a sorter instead, and stops a range early only
// once it has a page: a team with no new conversations had every new one
// of the other teams read, row by row, to find that out (13 ms at a
// million conversations).
//
// An agent's or a contact's list stays one query: for "status IN (…)"
// SQLite reads their conversations from conversations_assignee or
// conversations_thread and sorts them, while each status on its own would
// be read in order from conversations_status, every other conversation of
// it passed over until a page is found, slower for an agent or contact
// with only a few.
func (s *Store) newestFirst(ctx context.Context, f store.ConversationFilter, cond string, condArgs []any, limit int) ([]store.Conversation, error) {
	statuses := slices.Compact(slices.Sorted(slices.Values(f.Statuses)))
	each := [][]store.Status{statuses}
	if len(statuses) > 1 && f.AssigneeID <= 0 && f.ContactID == 0 {
		each = each[:0]
		for _, st := range statuses {
			each = append(each, []store.Status{st})
		}
	}
	var branches []string
	var args []any
	for _, sts := range each {
		f.Statuses = sts
		where, a := conversationWhere(f)
		if cond != "" {
			where = andWhere(where, cond)
			a = append(a, condArgs...)
		}
		branches = append(branches, `SELECT `+conversationColumns+` FROM conversations`+where)
		args = append(args, a...)
	}
	q := strings.Join(branches, ` UNION ALL `) + ` ORDER BY last_message_at DESC, id DESC LIMIT ?`
	return s.listConversations(ctx, q, append(args, limit)...)
}

// waitingFirst lists the conversations whose customer waits, longest
// waiting first (ties by id), then the rest by last message, newest first:
// two queries, the first read in order from conversations_waiting, the
// second as newestFirst reads any list. Both orders are total, and the
// cursor condition is exactly "comes after the cursor", so pages neither
// repeat nor skip a conversation.
func (s *Store) waitingFirst(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	limit := pageSize(f)
	at := ms(f.Before.At)
	out := []store.Conversation{}
	if f.Before.ID == 0 || f.Before.Waiting {
		where, args := conversationWhere(f)
		where = andWhere(where, "waiting_since IS NOT NULL")
		if f.Before.ID != 0 {
			where = andWhere(where, "(waiting_since > ? OR (waiting_since = ? AND id > ?))")
			args = append(args, at, at, f.Before.ID)
		}
		// Without statistics SQLite would pick the status index and sort
		// every open conversation; the waiting index holds only the few
		// that wait, already in order.
		waiting, err := s.listConversations(ctx, `SELECT `+conversationColumns+` FROM conversations INDEXED BY conversations_waiting`+where+
			` ORDER BY waiting_since, id LIMIT ?`, append(args, limit)...)
		if err != nil {
			return nil, err
		}
		out = append(out, waiting...)
	}
	if len(out) == limit {
		return out, nil
	}
	cond, args := "waiting_since IS NULL", []any(nil)
	if f.Before.ID != 0 && !f.Before.Waiting {
		after, a := newerThan(f.Before)
		cond, args = cond+" AND "+after, a
	}
	rest, err := s.newestFirst(ctx, f, cond, args, limit-len(out))
	return append(out, rest...), err
}

func andWhere(where, cond string) string {
	if where == "" {
		return " WHERE " + cond
	}
	return where + " AND " + cond
}

func pageSize(f store.ConversationFilter) int {
	if f.Limit <= 0 {
		return 50
	}
	return min(f.Limit, 500)
}

// listConversations runs a query of conversationColumns.
func (s *Store) listConversations(ctx context.Context, q string, args ...any) ([]store.Conversation, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountConversations counts what Conversations would list without a limit.
func (s *Store) CountConversations(ctx context.Context, f store.ConversationFilter) (int, error) {
	where, args := conversationWhere(f)
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations`+where, args...).Scan(&n)
	return n, err
}

const messageColumns = `id, conversation_id, channel_id, direction, agent_id, body, platform_id, reply_to, delivery, delivery_error, sent_at, created_at`

func scanMessage(row scanner) (store.Message, error) {
	var m store.Message
	var agent sql.NullInt64
	var platformID sql.NullString
	var sent, created int64
	err := row.Scan(&m.ID, &m.ConversationID, &m.ChannelID, &m.Direction, &agent, &m.Body, &platformID, &m.ReplyTo, &m.Delivery, &m.DeliveryError, &sent, &created)
	m.AgentID, m.PlatformID = agent.Int64, platformID.String
	m.SentAt, m.CreatedAt = fromMS(sent), fromMS(created)
	return m, err
}

func (s *Store) queryMessages(ctx context.Context, q string, args ...any) ([]store.Message, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.withAttachments(ctx, out)
}

// Messages lists a conversation's messages oldest first.
func (s *Store) Messages(ctx context.Context, conversationID, after int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.queryMessages(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?`, conversationID, after, limit)
}

// Message returns one message.
func (s *Store) Message(ctx context.Context, id int64) (store.Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return m, notFound(err, "message", id)
	}
	one := []store.Message{m}
	err = s.withAttachments(ctx, one)
	return one[0], err
}

// UpdateConversation applies an agent's change and records it in the trail.
func (s *Store) UpdateConversation(ctx context.Context, id int64, ch store.ConversationChange, by store.Actor) (store.Conversation, error) {
	var out store.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "conversation", id)
		}
		details := c.Apply(ch)
		if len(details) == 0 {
			out = c
			return nil
		}
		c.UpdatedAt = time.Now().UTC()
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET status = ?, snoozed_until = ?, waiting_since = ?, assignee_id = ?, team_id = ?,
			priority = ?, tags = ?, linked_id = ?, updated_at = ? WHERE id = ?`,
			c.Status, nullMS(c.SnoozedUntil), nullMS(c.WaitingSince), nullID(c.AssigneeID), nullID(c.TeamID),
			c.Priority, toJSON(c.Tags), nullID(c.LinkedID), ms(c.UpdatedAt), id)
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
	m := store.Message{ConversationID: conversationID, Direction: store.DirNote, AgentID: agentID, Body: body,
		Delivery: store.Internal, SentAt: now.UTC(), CreatedAt: now.UTC()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT channel_id FROM conversations WHERE id = ?`, conversationID).Scan(&m.ChannelID); err != nil {
			return notFound(err, "conversation", conversationID)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, channel_id, direction, agent_id, body, delivery, sent_at, created_at) VALUES (?, ?, 'note', ?, ?, 'internal', ?, ?)`,
			conversationID, m.ChannelID, nullID(agentID), body, ms(now), ms(now))
		if err != nil {
			return err
		}
		m.ID, _ = res.LastInsertId()
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET message_count = message_count + 1, updated_at = ? WHERE id = ?`, ms(now), conversationID)
		return err
	})
	return m, err
}

// QueueReply stores the reply and its outbox entry in one transaction.
func (s *Store) QueueReply(ctx context.Context, r store.Reply) (m store.Message, e store.OutboxEntry, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		m, e, err = queueReply(ctx, tx, r)
		return err
	})
	return m, e, err
}

func queueReply(ctx context.Context, tx *sql.Tx, r store.Reply) (store.Message, store.OutboxEntry, error) {
	now := r.Now.UTC()
	m := store.Message{ConversationID: r.ConversationID, Direction: store.DirOutbound, AgentID: r.AgentID, Body: r.Body,
		Delivery: store.Queued, SentAt: now, CreatedAt: now}
	e := store.OutboxEntry{ConversationID: r.ConversationID, IdempotencyKey: r.IdempotencyKey, NextAttemptAt: now, State: store.OutboxPending}
	err := func() error {
		var status store.Status
		if err := tx.QueryRowContext(ctx, `SELECT channel_id, status FROM conversations WHERE id = ?`, r.ConversationID).Scan(&m.ChannelID, &status); err != nil {
			return notFound(err, "conversation", r.ConversationID)
		}
		if status == store.StatusResolved {
			return fmt.Errorf("conversation %d is resolved; reopen it to reply: %w", r.ConversationID, store.ErrConflict)
		}
		// Answer the customer's latest message, so the platform threads it.
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(platform_id, '') FROM messages WHERE conversation_id = ? AND direction = 'in' ORDER BY id DESC LIMIT 1`, r.ConversationID).Scan(&m.ReplyTo)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		e.ChannelID = m.ChannelID
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, channel_id, direction, agent_id, body, reply_to, delivery, sent_at, created_at) VALUES (?, ?, 'out', ?, ?, ?, 'queued', ?, ?)`,
			r.ConversationID, m.ChannelID, nullID(r.AgentID), r.Body, m.ReplyTo, ms(now), ms(now))
		if err != nil {
			return err
		}
		m.ID, _ = res.LastInsertId()
		e.MessageID = m.ID
		if m.Attachments, err = insertAttachments(ctx, func(ctx context.Context, args ...any) (sql.Result, error) {
			return tx.ExecContext(ctx, qInsertAttachment, args...)
		}, m.ID, r.Attachments); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO outbox (message_id, conversation_id, channel_id, idempotency_key, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			m.ID, r.ConversationID, m.ChannelID, r.IdempotencyKey, ms(now), ms(now))
		if err != nil {
			return conflict(err, "outbox entry "+r.IdempotencyKey)
		}
		e.ID, _ = res.LastInsertId()
		// The customer has an answer: the wait clock stops, and the first
		// response time is recorded once.
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET waiting_since = NULL, first_response_at = COALESCE(first_response_at, ?),
			status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
			message_count = message_count + 1, last_message_at = ?, last_preview = ?, assignee_id = COALESCE(assignee_id, ?), updated_at = ? WHERE id = ?`,
			ms(now), ms(now), preview(r.Body, r.Attachments), nullID(r.AgentID), ms(now), r.ConversationID)
		return err
	}()
	return m, e, err
}

// Stats gives the live figures for metrics.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM conversations WHERE status <> 'resolved'),
		(SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
		(SELECT COUNT(*) FROM outbox WHERE state = 'failed')`).Scan(&st.OpenConversations, &st.OutboxDepth, &st.OutboxFailed)
	return st, err
}
