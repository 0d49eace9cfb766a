package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/webcare/webcare/internal/store"
)

const outboxColumns = `id, message_id, conversation_id, channel_id, idempotency_key, attempts, next_attempt_at, last_error, state, platform_id`

func scanOutbox(row scanner) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var next int64
	err := row.Scan(&e.ID, &e.MessageID, &e.ConversationID, &e.ChannelID, &e.IdempotencyKey, &e.Attempts, &next, &e.LastError, &e.State, &e.PlatformID)
	e.NextAttemptAt = fromMS(next)
	return e, err
}

// ClaimOutbox leases due entries. A crashed worker's lease runs out and the
// entry is claimed again, with the same idempotency key.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEntry, error) {
	var out []store.OutboxEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
			WHERE state = 'pending' AND next_attempt_at <= ? AND claimed_until <= ? ORDER BY next_attempt_at, id LIMIT ?`, ms(now), ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanOutbox(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			// Counting the attempt at claim time means a crash mid-send
			// still counts towards the limit.
			out[i].Attempts++
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = ?, attempts = ? WHERE id = ?`, ms(now.Add(lease)), out[i].Attempts, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// DeliverOutbox records a successful send on the entry and its message.
func (s *Store) DeliverOutbox(ctx context.Context, id int64, platformID string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var msgID int64
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT message_id, state FROM outbox WHERE id = ?`, id).Scan(&msgID, &state); err != nil {
			return notFound(err, "outbox entry", id)
		}
		if state == store.OutboxSent {
			return nil // a second report of the same send changes nothing
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', platform_id = ?, last_error = '', claimed_until = 0 WHERE id = ?`, platformID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET delivery = 'sent', delivery_error = '', platform_id = ? WHERE id = ?`, nullString(platformID), msgID)
		if err != nil || platformID == "" {
			return conflict(err, "platform id "+platformID)
		}
		// A report that came before this record of the send.
		m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, msgID))
		if err != nil {
			return err
		}
		var early store.Delivery
		var errText string
		err = tx.QueryRowContext(ctx, `DELETE FROM early_deliveries WHERE channel_id = ? AND platform_id = ? AND at >= ? RETURNING state, error`,
			m.ChannelID, platformID, ms(now.Add(-earlyKeep))).Scan(&early, &errText)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = applyDelivery(ctx, tx, &m, early, errText, now)
		return err
	})
}

// earlyKeep is how long a report on a reply not yet recorded is kept.
const earlyKeep = time.Hour

// applyDelivery moves m's delivery state forward to state.
func applyDelivery(ctx context.Context, tx *sql.Tx, m *store.Message, state store.Delivery, errText string, now time.Time) (bool, error) {
	if !m.Delivery.Advances(state) {
		return false, nil
	}
	m.Delivery = state
	if state != store.Failed {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET delivery = ? WHERE id = ?`, state, m.ID)
		return true, err
	}
	m.DeliveryError = errText
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET delivery = 'failed', delivery_error = ? WHERE id = ?`, errText, m.ID); err != nil {
		return true, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET delivery_failed = 1, updated_at = ? WHERE id = ?`, ms(now), m.ConversationID); err != nil {
		return true, err
	}
	return true, audit(ctx, tx, store.Actor{Via: "system"}, "reply.failed", fmt.Sprintf("conversation/%d", m.ConversationID), fmt.Sprintf("message %d: %s", m.ID, errText))
}

// UpdateDelivery records a platform's report on a sent reply.
func (s *Store) UpdateDelivery(ctx context.Context, channelID int64, platformID string, state store.Delivery, errText string, now time.Time) (store.Message, bool, error) {
	var m store.Message
	changed, remembered := false, false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE channel_id = ? AND platform_id = ? AND direction = 'out'`, channelID, platformID))
		if errors.Is(err, sql.ErrNoRows) {
			remembered = true
			return remember(ctx, tx, channelID, platformID, state, errText, now)
		}
		if err != nil {
			return err
		}
		changed, err = applyDelivery(ctx, tx, &m, state, errText, now)
		return err
	})
	if err == nil && remembered {
		err = fmt.Errorf("reply with platform id %q: %w (kept an hour, for a send not recorded yet)", platformID, store.ErrNotFound)
	}
	return m, changed, err
}

// RetryOutbox records a failed attempt and schedules the next.
func (s *Store) RetryOutbox(ctx context.Context, id int64, errText string, next time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var msgID int64
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT message_id, state FROM outbox WHERE id = ?`, id).Scan(&msgID, &state); err != nil {
			return notFound(err, "outbox entry", id)
		}
		if state != store.OutboxPending {
			return fmt.Errorf("outbox entry %d is %s already: %w", id, state, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET last_error = ?, next_attempt_at = ?, claimed_until = 0 WHERE id = ?`, errText, ms(next), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET delivery_error = ? WHERE id = ?`, errText, msgID)
		return err
	})
}

// FailOutbox gives up: the message and its conversation show the failure.
func (s *Store) FailOutbox(ctx context.Context, id int64, errText string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var msgID, convID int64
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT message_id, conversation_id, state FROM outbox WHERE id = ?`, id).Scan(&msgID, &convID, &state); err != nil {
			return notFound(err, "outbox entry", id)
		}
		switch state {
		case store.OutboxFailed:
			return nil // a second report of the same failure changes nothing
		case store.OutboxSent:
			// A worker whose lease ran out reports after another delivered:
			// the reply did reach the customer.
			return fmt.Errorf("outbox entry %d was sent already: %w", id, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', last_error = ?, claimed_until = 0 WHERE id = ?`, errText, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET delivery = 'failed', delivery_error = ? WHERE id = ?`, errText, msgID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE conversations SET delivery_failed = 1, updated_at = ? WHERE id = ?`, ms(now), convID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, store.Actor{Via: "system"}, "reply.failed", fmt.Sprintf("conversation/%d", convID), fmt.Sprintf("message %d: %s", msgID, errText))
	})
}

// OutboxEntry returns one entry.
func (s *Store) OutboxEntry(ctx context.Context, id int64) (store.OutboxEntry, error) {
	e, err := scanOutbox(s.r.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	return e, notFound(err, "outbox entry", id)
}

// OutboxDepth counts entries still to deliver.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE state = 'pending'`).Scan(&n)
	return n, err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// remember keeps a report on a reply not recorded yet, the furthest state
// when several come, and forgets reports older than earlyKeep.
func remember(ctx context.Context, tx *sql.Tx, channelID int64, platformID string, state store.Delivery, errText string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM early_deliveries WHERE at < ?`, ms(now.Add(-earlyKeep))); err != nil {
		return err
	}
	var old store.Delivery
	err := tx.QueryRowContext(ctx, `SELECT state FROM early_deliveries WHERE channel_id = ? AND platform_id = ?`, channelID, platformID).Scan(&old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		old = store.Sent
	case err != nil:
		return err
	}
	if old.Advances(state) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO early_deliveries (channel_id, platform_id, state, error, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, platform_id) DO UPDATE SET state = excluded.state, error = excluded.error, at = excluded.at`,
			channelID, platformID, state, errText, ms(now)); err != nil {
			return err
		}
	}
	return nil
}
