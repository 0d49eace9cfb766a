package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/webcare/webcare/internal/store"
)

// The statements of the ingest transaction, prepared once per batch.
const (
	qFindMessage    = `SELECT id, conversation_id FROM messages WHERE channel_id = ? AND platform_id = ?`
	qFindIdentity   = `SELECT id, contact_id, handle, display_name FROM identities WHERE platform = ? AND external_id = ?`
	qInsertContact  = `INSERT INTO contacts (name, language, created_at, updated_at) VALUES (?, ?, ?, ?)`
	qInsertIdentity = `INSERT INTO identities (contact_id, platform, external_id, handle, display_name, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateIdentity = `UPDATE identities SET handle = ?, display_name = ? WHERE id = ?`
	qOpenThread     = `SELECT id FROM conversations WHERE contact_id = ? AND channel_id = ? AND visibility = ? AND status <> 'resolved' ORDER BY id DESC LIMIT 1`
	qInsertConv     = `INSERT INTO conversations (channel_id, contact_id, visibility, status, language, subject, last_message_at, created_at, updated_at) VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?)`
	qInsertMessage  = `INSERT INTO messages (conversation_id, channel_id, direction, body, platform_id, reply_to, delivery, sent_at, created_at, processed) VALUES (?, ?, 'in', ?, ?, ?, 'received', ?, ?, ?)`
	// A customer's message reopens a conversation and starts the wait clock
	// if nobody owes them an answer yet.
	qTouchConv = `UPDATE conversations SET
		last_message_at = ?, last_preview = ?, message_count = message_count + 1,
		status = CASE WHEN status IN ('resolved', 'pending', 'snoozed') THEN 'open' ELSE status END,
		snoozed_until = NULL,
		waiting_since = COALESCE(waiting_since, ?),
		language = CASE WHEN language = '' THEN ? ELSE language END,
		updated_at = ?
		WHERE id = ?`
)

type ingestStmts struct {
	findMessage, findIdentity, insertContact, insertIdentity, updateIdentity,
	openThread, insertConv, insertMessage, touchConv *sql.Stmt
}

func prepareIngest(ctx context.Context, tx *sql.Tx) (*ingestStmts, error) {
	var st ingestStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.PrepareContext(ctx, q)
		return s
	}
	st.findMessage = prep(qFindMessage)
	st.findIdentity = prep(qFindIdentity)
	st.insertContact = prep(qInsertContact)
	st.insertIdentity = prep(qInsertIdentity)
	st.updateIdentity = prep(qUpdateIdentity)
	st.openThread = prep(qOpenThread)
	st.insertConv = prep(qInsertConv)
	st.insertMessage = prep(qInsertMessage)
	st.touchConv = prep(qTouchConv)
	return &st, err
}

// Ingest stores the batch in one transaction: one fsync however many
// messages it holds.
func (s *Store) Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error) {
	results := make([]store.IngestResult, len(batch))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := prepareIngest(ctx, tx)
		if err != nil {
			return err
		}
		for i := range batch {
			r, err := ingestOne(ctx, st, &batch[i])
			if err != nil {
				return fmt.Errorf("message %d (%q): %w", i, batch[i].PlatformID, err)
			}
			results[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func ingestOne(ctx context.Context, st *ingestStmts, in *store.Inbound) (store.IngestResult, error) {
	var r store.IngestResult
	// 1. Dedupe: a re-delivered webhook finds the message it already made.
	err := st.findMessage.QueryRowContext(ctx, in.ChannelID, in.PlatformID).Scan(&r.MessageID, &r.ConversationID)
	if err == nil {
		r.Duplicate = true
		return r, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	now := ms(in.ReceivedAt)

	// 2. The contact, found by identity or created with it.
	var identityID int64
	var handle, display string
	err = st.findIdentity.QueryRowContext(ctx, in.Platform, in.ExternalID).Scan(&identityID, &r.ContactID, &handle, &display)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		name := in.Name
		if name == "" {
			name = in.Handle
		}
		if r.ContactID, err = insertID(ctx, st.insertContact, name, in.Language, now, now); err != nil {
			return r, err
		}
		if _, err = st.insertIdentity.ExecContext(ctx, r.ContactID, in.Platform, in.ExternalID, in.Handle, in.Name, now); err != nil {
			return r, err
		}
		r.NewContact = true
	case err != nil:
		return r, err
	case (in.Handle != "" && in.Handle != handle) || (in.Name != "" && in.Name != display):
		// People rename themselves; the identity follows.
		if _, err = st.updateIdentity.ExecContext(ctx, or(in.Handle, handle), or(in.Name, display), identityID); err != nil {
			return r, err
		}
	}

	// 3. Threading: the message it replies to, else the contact's open
	// conversation on this channel, else a new one.
	visibility := store.Public
	if in.Private {
		visibility = store.Private
	}
	if in.ReplyTo != "" {
		var ignored int64
		err = st.findMessage.QueryRowContext(ctx, in.ChannelID, in.ReplyTo).Scan(&ignored, &r.ConversationID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
	}
	if r.ConversationID == 0 {
		err = st.openThread.QueryRowContext(ctx, r.ContactID, in.ChannelID, visibility).Scan(&r.ConversationID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
	}
	if r.ConversationID == 0 {
		if r.ConversationID, err = insertID(ctx, st.insertConv, in.ChannelID, r.ContactID, visibility, in.Language, in.Subject, ms(in.SentAt), now, now); err != nil {
			return r, err
		}
		r.NewConversation = true
	}

	// 4. The message itself, and the conversation's summary.
	if r.MessageID, err = insertID(ctx, st.insertMessage, r.ConversationID, in.ChannelID, in.Body, in.PlatformID, in.ReplyTo, ms(in.SentAt), now, boolInt(in.Processed)); err != nil {
		return r, err
	}
	_, err = st.touchConv.ExecContext(ctx, ms(in.SentAt), preview(in.Body), ms(in.SentAt), in.Language, now, r.ConversationID)
	return r, err
}

func insertID(ctx context.Context, st *sql.Stmt, args ...any) (int64, error) {
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// preview is the start of a message as the inbox shows it.
func preview(body string) string {
	const limit = 140
	r := []rune(body)
	if len(r) <= limit {
		return body
	}
	return string(r[:limit-1]) + "…"
}

// Unprocessed lists inbound messages the post-commit stages have not seen.
func (s *Store) Unprocessed(ctx context.Context, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, `SELECT `+messageColumns+` FROM messages WHERE processed = 0 ORDER BY id LIMIT ?`, limit)
}

// MarkProcessed records that the stages have seen these messages.
func (s *Store) MarkProcessed(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE messages SET processed = 1 WHERE id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
}
