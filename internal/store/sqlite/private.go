package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/webcare/webcare/internal/store"
)

// MoveToPrivate queues the public invitation and links the contact's
// private conversation on the same channel to the public one, creating it
// (pending, waiting for the customer) when there is none; all in one
// transaction, so there is never an invitation without its private thread.
func (s *Store) MoveToPrivate(ctx context.Context, r store.Reply) (private store.Conversation, m store.Message, e store.OutboxEntry, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		pub, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, r.ConversationID))
		if err != nil {
			return notFound(err, "conversation", r.ConversationID)
		}
		if pub.Visibility != store.Public {
			return fmt.Errorf("conversation %d is already private: %w", pub.ID, store.ErrConflict)
		}
		if m, e, err = queueReply(ctx, tx, r); err != nil {
			return err
		}
		now := ms(r.Now.UTC())
		var id int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE contact_id = ? AND channel_id = ? AND visibility = 'private' AND status <> 'resolved' ORDER BY id DESC LIMIT 1`,
			pub.ContactID, pub.ChannelID).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO conversations (channel_id, contact_id, visibility, status, language, subject, assignee_id, team_id, linked_id, priority,
				last_message_at, last_preview, message_count, created_at, updated_at) VALUES (?, ?, 'private', 'pending', ?, ?, ?, ?, ?, ?, ?, '', 0, ?, ?)`,
				pub.ChannelID, pub.ContactID, pub.Language, pub.Subject, nullID(pub.AssigneeID), nullID(pub.TeamID), pub.ID, pub.Priority, now, now, now)
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE conversations SET linked_id = ?, updated_at = ? WHERE id = ?`, pub.ID, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET linked_id = ?, updated_at = ? WHERE id = ?`, id, now, pub.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, store.Actor{AgentID: r.AgentID, Via: "web"}, "conversation.move_private", fmt.Sprintf("conversation/%d", pub.ID), fmt.Sprintf("private conversation %d", id)); err != nil {
			return err
		}
		private, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
		return err
	})
	return private, m, e, err
}
