package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

// The statements of the ingest transaction, prepared once per batch.
const (
	qFindMessage = `SELECT m.id, m.conversation_id, c.contact_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.channel_id = ? AND m.platform_id = ?`
	// The thread a reply continues, with its status: only the same person's
	// and only as public or private as the reply (a DM answering a public
	// post is a private conversation; a bystander's reply is their own).
	qReplyThread = `SELECT c.id, c.status, c.waiting_since FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.channel_id = ? AND m.platform_id = ? AND c.contact_id = ? AND c.visibility = ?`
	// The author's identity and, in the same lookup, their open
	// conversation on this channel with this visibility.
	qFindIdentity = `SELECT i.id, i.contact_id, i.handle, i.display_name, c.id, c.status, c.waiting_since
		FROM identities i
		LEFT JOIN conversations c ON c.id = (SELECT id FROM conversations
			WHERE contact_id = i.contact_id AND channel_id = ? AND visibility = ? AND status <> 'resolved' ORDER BY id DESC LIMIT 1)
		WHERE i.platform = ? AND i.external_id = ?`
	qInsertContact  = `INSERT INTO contacts (name, language, created_at, updated_at) VALUES (?, ?, ?, ?)`
	qInsertIdentity = `INSERT INTO identities (contact_id, platform, external_id, handle, display_name, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateIdentity = `UPDATE identities SET handle = ?, display_name = ? WHERE id = ?`
	qInsertConv     = `INSERT INTO conversations (channel_id, contact_id, visibility, status, language, subject, waiting_since,
		last_message_at, last_preview, message_count, created_at, updated_at) VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?, 1, ?, ?)`
	qInsertMessage = `INSERT INTO messages (conversation_id, channel_id, direction, body, platform_id, reply_to, delivery, sent_at, created_at, processed) VALUES (?, ?, 'in', ?, ?, ?, 'received', ?, ?, ?)`
	// A customer's message starts the wait clock if nobody owes them an
	// answer yet. Messages may arrive out of order (polled platforms page
	// newest first): an older one never moves the conversation back, and
	// the wait counts from the oldest unanswered message. Status is left out
	// of the SET list unless it changes: naming it makes SQLite rewrite both
	// indexes that hold it. (SET expressions all see the old row.)
	// waiting_since likewise is named only when it moves: when nobody owes
	// an answer yet, or an older message arrives late. Every index holding
	// a named column is rewritten, and conversations_waiting holds it.
	qTouchConv = `UPDATE conversations SET ` + touchSet + ` WHERE id = ?`
	qTouchWait = `UPDATE conversations SET ` + touchSet + `, ` + waitSet + ` WHERE id = ?`
	// A resolved, pending or snoozed conversation reopens.
	qReopenConv = `UPDATE conversations SET ` + touchSet + `, ` + waitSet + `, status = 'open', snoozed_until = NULL WHERE id = ?`
	touchSet    = `last_message_at = MAX(last_message_at, ?1), last_preview = CASE WHEN ?1 >= last_message_at THEN ?2 ELSE last_preview END,
		message_count = message_count + 1,
		language = CASE WHEN language = '' THEN ?3 ELSE language END,
		updated_at = ?4`
	waitSet = `waiting_since = MIN(COALESCE(waiting_since, ?1), ?1)`
)

// The batch's new rows join the search indexes in one statement each,
// after every row is in (see migration 0006): rows above the high-water
// marks taken when the transaction began are this batch's, because the
// single writer lets nobody else insert meanwhile.
const (
	qHighWater     = `SELECT (SELECT COALESCE(MAX(id), 0) FROM messages), (SELECT COALESCE(MAX(id), 0) FROM contacts), (SELECT COALESCE(MAX(id), 0) FROM identities)`
	qIndexMessages = `INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE id > ? AND direction = 'in'`
	qIndexContacts = `INSERT INTO contacts_fts (rowid, name) SELECT id, name FROM contacts WHERE id > ?`
	qIndexIdents   = `INSERT INTO identities_fts (rowid, handle, display_name, external_id) SELECT id, handle, display_name, external_id FROM identities WHERE id > ?`
)

type ingestStmts struct {
	findMessage, replyThread, findIdentity, insertContact, insertIdentity, updateIdentity,
	insertConv, insertMessage, touchConv, touchWait, reopenConv, insertAttachment,
	highWater, indexMessages, indexContacts, indexIdents *sql.Stmt
}

// prepareIngest prepares the statements once, on the writer's only
// connection; each transaction reuses them.
func prepareIngest(ctx context.Context, db *sql.DB) (*ingestStmts, error) {
	var st ingestStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.PrepareContext(ctx, q)
		return s
	}
	st.findMessage = prep(qFindMessage)
	st.replyThread = prep(qReplyThread)
	st.findIdentity = prep(qFindIdentity)
	st.insertContact = prep(qInsertContact)
	st.insertIdentity = prep(qInsertIdentity)
	st.updateIdentity = prep(qUpdateIdentity)
	st.insertConv = prep(qInsertConv)
	st.insertMessage = prep(qInsertMessage)
	st.touchConv = prep(qTouchConv)
	st.touchWait = prep(qTouchWait)
	st.reopenConv = prep(qReopenConv)
	st.insertAttachment = prep(qInsertAttachment)
	st.highWater = prep(qHighWater)
	st.indexMessages = prep(qIndexMessages)
	st.indexContacts = prep(qIndexContacts)
	st.indexIdents = prep(qIndexIdents)
	return &st, err
}

// in binds the prepared statements to a transaction.
func (st *ingestStmts) in(ctx context.Context, tx *sql.Tx) *ingestStmts {
	return &ingestStmts{
		findMessage: tx.StmtContext(ctx, st.findMessage), replyThread: tx.StmtContext(ctx, st.replyThread),
		findIdentity: tx.StmtContext(ctx, st.findIdentity), insertContact: tx.StmtContext(ctx, st.insertContact),
		insertIdentity: tx.StmtContext(ctx, st.insertIdentity), updateIdentity: tx.StmtContext(ctx, st.updateIdentity),
		insertConv: tx.StmtContext(ctx, st.insertConv), insertMessage: tx.StmtContext(ctx, st.insertMessage),
		touchConv: tx.StmtContext(ctx, st.touchConv), touchWait: tx.StmtContext(ctx, st.touchWait), reopenConv: tx.StmtContext(ctx, st.reopenConv),
		insertAttachment: tx.StmtContext(ctx, st.insertAttachment),
		highWater:        tx.StmtContext(ctx, st.highWater), indexMessages: tx.StmtContext(ctx, st.indexMessages),
		indexContacts: tx.StmtContext(ctx, st.indexContacts), indexIdents: tx.StmtContext(ctx, st.indexIdents),
	}
}

// Ingest stores the batch in one transaction: one fsync however many
// messages it holds.
func (s *Store) Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error) {
	results := make([]store.IngestResult, len(batch))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st := s.ingest.in(ctx, tx)
		var msgs, contacts, idents int64
		if err := st.highWater.QueryRowContext(ctx).Scan(&msgs, &contacts, &idents); err != nil {
			return err
		}
		for i := range batch {
			r, err := ingestOne(ctx, st, &batch[i])
			if err != nil {
				return fmt.Errorf("message %d (%q): %w", i, batch[i].PlatformID, err)
			}
			results[i] = r
		}
		for _, ix := range []struct {
			st    *sql.Stmt
			after int64
		}{{st.indexMessages, msgs}, {st.indexContacts, contacts}, {st.indexIdents, idents}} {
			if _, err := ix.st.ExecContext(ctx, ix.after); err != nil {
				return fmt.Errorf("search index: %w", err)
			}
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
	err := st.findMessage.QueryRowContext(ctx, in.ChannelID, in.PlatformID).Scan(&r.MessageID, &r.ConversationID, &r.ContactID)
	if err == nil {
		r.Duplicate = true
		return r, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	now := ms(in.ReceivedAt)
	sent := ms(in.SentAt)
	visibility := store.Public
	if in.Private {
		visibility = store.Private
	}

	// 2. The contact, found by identity (with their open conversation) or
	// created with it.
	var identityID int64
	var handle, display string
	var openID, waiting sql.NullInt64
	var status sql.NullString
	err = st.findIdentity.QueryRowContext(ctx, in.ChannelID, visibility, in.Platform, in.ExternalID).
		Scan(&identityID, &r.ContactID, &handle, &display, &openID, &status, &waiting)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		name := or(in.Name, in.Handle)
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
	if in.ReplyTo != "" {
		var replyConv int64
		var replyStatus string
		var replyWaiting sql.NullInt64
		err = st.replyThread.QueryRowContext(ctx, in.ChannelID, in.ReplyTo, r.ContactID, visibility).Scan(&replyConv, &replyStatus, &replyWaiting)
		switch {
		case err == nil:
			openID = sql.NullInt64{Int64: replyConv, Valid: true}
			status = sql.NullString{String: replyStatus, Valid: true}
			waiting = replyWaiting
		case !errors.Is(err, sql.ErrNoRows):
			return r, err
		}
	}
	r.ConversationID = openID.Int64
	if !openID.Valid {
		r.ConversationID, err = insertID(ctx, st.insertConv, in.ChannelID, r.ContactID, visibility, in.Language, in.Subject, sent, sent, preview(in.Body, in.Attachments), now, now)
		if err != nil {
			return r, err
		}
		r.NewConversation = true
	}

	// 4. The message itself, and the conversation's summary.
	if r.MessageID, err = insertID(ctx, st.insertMessage, r.ConversationID, in.ChannelID, in.Body, nullString(in.PlatformID), in.ReplyTo, sent, now, boolInt(in.Processed)); err != nil {
		return r, err
	}
	if _, err := insertAttachments(ctx, st.insertAttachment.ExecContext, r.MessageID, in.Attachments); err != nil {
		return r, err
	}
	if r.NewConversation {
		return r, nil
	}
	touch := st.touchConv
	if !waiting.Valid || sent < waiting.Int64 {
		touch = st.touchWait
	}
	switch store.Status(status.String) {
	case store.StatusResolved, store.StatusPending, store.StatusSnoozed:
		touch = st.reopenConv
	}
	_, err = touch.ExecContext(ctx, sent, preview(in.Body, in.Attachments), in.Language, now, r.ConversationID)
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
// preview is the line an inbox row shows: the text, else the first file.
func preview(body string, files []store.Attachment) string {
	const limit = 140
	if strings.TrimSpace(body) == "" && len(files) > 0 {
		body = "📎 " + files[0].Name
	}
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
