package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// MoveToPrivate queues the public invitation and links the contact's
// private conversation on the same channel to the public one, creating it
// (pending, waiting for the customer) when there is none; all in one
// transaction, so there is never an invitation without its private thread.
func (s *Store) MoveToPrivate(ctx context.Context, r store.Reply) (private store.Conversation, m store.Message, e store.OutboxEntry, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		pub, err := scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 FOR UPDATE`, r.ConversationID))
		if err != nil {
			return notFound(err, "conversation", r.ConversationID)
		}
		if pub.Visibility != store.Public {
			return fmt.Errorf("conversation %d is already private: %w", pub.ID, store.ErrConflict)
		}
		if m, e, err = queueReply(ctx, tx, r); err != nil {
			return err
		}
		now := ts(r.Now)
		var id int64
		err = tx.QueryRow(ctx, `SELECT id FROM conversations WHERE contact_id = $1 AND channel_id = $2 AND visibility = 'private' AND status <> 'resolved' ORDER BY id DESC LIMIT 1`,
			pub.ContactID, pub.ChannelID).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err := tx.QueryRow(ctx, `INSERT INTO conversations (channel_id, contact_id, visibility, status, language, subject, assignee_id, team_id, linked_id, priority,
				last_message_at, last_preview, message_count, created_at, updated_at) VALUES ($1, $2, 'private', 'pending', $3, $4, $5, $6, $7, $8, $9, '', 0, $9, $9) RETURNING id`,
				pub.ChannelID, pub.ContactID, pub.Language, pub.Subject, nullID(pub.AssigneeID), nullID(pub.TeamID), pub.ID, pub.Priority, now).Scan(&id)
			if err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := tx.Exec(ctx, `UPDATE conversations SET linked_id = $1, updated_at = $2 WHERE id = $3`, pub.ID, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET linked_id = $1, updated_at = $2 WHERE id = $3`, id, now, pub.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, store.Actor{AgentID: r.AgentID, Via: "web"}, "conversation.move_private", fmt.Sprintf("conversation/%d", pub.ID), fmt.Sprintf("private conversation %d", id)); err != nil {
			return err
		}
		private, err = scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, id))
		return err
	})
	return private, m, e, err
}
