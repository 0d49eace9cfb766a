package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

const outboxColumns = `id, message_id, conversation_id, channel_id, idempotency_key, attempts, next_attempt_at, last_error, state, platform_id`

func scanOutbox(row pgx.Row) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	err := row.Scan(&e.ID, &e.MessageID, &e.ConversationID, &e.ChannelID, &e.IdempotencyKey, &e.Attempts, &e.NextAttemptAt, &e.LastError, &e.State, &e.PlatformID)
	return e, err
}

// ClaimOutbox leases due entries in one statement. FOR UPDATE SKIP LOCKED
// lets any number of workers on any number of instances claim at once: each
// passes over the rows another is claiming instead of waiting for them, and
// a row whose claim committed meanwhile is checked again against the WHERE
// clause (its lease now runs), so no entry is handed out twice. A crashed
// worker's lease runs out and the entry is claimed again, with the same
// idempotency key.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEntry, error) {
	// Counting the attempt at claim time means a crash mid-send still
	// counts towards the limit.
	rows, err := s.pool.Query(ctx, `UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE state = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumns, ts(now), ts(now.Add(lease)), limit)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboxEntry, error) { return scanOutbox(r) })
	if err != nil {
		return nil, err
	}
	// RETURNING keeps no order; the workers get the most overdue first.
	slices.SortFunc(out, func(a, b store.OutboxEntry) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeliverOutbox records a successful send on the entry and its message.
func (s *Store) DeliverOutbox(ctx context.Context, id int64, platformID string, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var msgID, channelID int64
		var state string
		if err := tx.QueryRow(ctx, `SELECT message_id, channel_id, state FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&msgID, &channelID, &state); err != nil {
			return notFound(err, "outbox entry", id)
		}
		if state == store.OutboxSent {
			return nil // a second report of the same send changes nothing
		}
		if err := lockDelivery(ctx, tx, channelID, platformID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'sent', platform_id = $1, last_error = '', claimed_until = NULL WHERE id = $2`, platformID, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET delivery = 'sent', delivery_error = '', platform_id = $1 WHERE id = $2`, nullString(platformID), msgID)
		if err != nil || platformID == "" {
			return conflict(err, "platform id "+platformID)
		}
		// A report that came before this record of the send.
		m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`, msgID))
		if err != nil {
			return err
		}
		var early, errText string
		err = tx.QueryRow(ctx, `DELETE FROM early_deliveries WHERE channel_id = $1 AND platform_id = $2 AND at >= $3 RETURNING state, error`,
			m.ChannelID, platformID, ts(now.Add(-earlyKeep))).Scan(&early, &errText)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = applyDelivery(ctx, tx, &m, store.Delivery(early), errText, now)
		return err
	})
}

// earlyKeep is how long a report on a reply not yet recorded is kept.
const earlyKeep = time.Hour

// lockDelivery serialises UpdateDelivery and DeliverOutbox on one reply
// until the transaction ends. Without it, under READ COMMITTED, a report
// could miss the send being recorded and the record miss the report kept
// meanwhile, each committing without the other. The statements after it
// see what the other committed.
func lockDelivery(ctx context.Context, tx pgx.Tx, channelID int64, platformID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, fmt.Sprintf("delivery:%d:%s", channelID, platformID))
	return err
}

// applyDelivery moves m's delivery state forward to state.
func applyDelivery(ctx context.Context, tx pgx.Tx, m *store.Message, state store.Delivery, errText string, now time.Time) (bool, error) {
	if !m.Delivery.Advances(state) {
		return false, nil
	}
	m.Delivery = state
	if state != store.Failed {
		_, err := tx.Exec(ctx, `UPDATE messages SET delivery = $1 WHERE id = $2`, string(state), m.ID)
		return true, err
	}
	m.DeliveryError = errText
	if _, err := tx.Exec(ctx, `UPDATE messages SET delivery = 'failed', delivery_error = $1 WHERE id = $2`, errText, m.ID); err != nil {
		return true, err
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET delivery_failed = true, updated_at = $1 WHERE id = $2`, ts(now), m.ConversationID); err != nil {
		return true, err
	}
	return true, audit(ctx, tx, store.Actor{Via: "system"}, "reply.failed", fmt.Sprintf("conversation/%d", m.ConversationID), fmt.Sprintf("message %d: %s", m.ID, errText))
}

// remember keeps a report on a reply not recorded yet, the furthest state
// when several come, and forgets reports older than earlyKeep.
func remember(ctx context.Context, tx pgx.Tx, channelID int64, platformID string, state store.Delivery, errText string, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM early_deliveries WHERE at < $1`, ts(now.Add(-earlyKeep))); err != nil {
		return err
	}
	old := string(store.Sent)
	err := tx.QueryRow(ctx, `SELECT state FROM early_deliveries WHERE channel_id = $1 AND platform_id = $2 FOR UPDATE`, channelID, platformID).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if store.Delivery(old).Advances(state) {
		if _, err := tx.Exec(ctx, `INSERT INTO early_deliveries (channel_id, platform_id, state, error, at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (channel_id, platform_id) DO UPDATE SET state = excluded.state, error = excluded.error, at = excluded.at`,
			channelID, platformID, string(state), errText, ts(now)); err != nil {
			return err
		}
	}
	return nil
}

// UpdateDelivery records a platform's report on a sent reply.
func (s *Store) UpdateDelivery(ctx context.Context, channelID int64, platformID string, state store.Delivery, errText string, now time.Time) (store.Message, bool, error) {
	var m store.Message
	changed, remembered := false, false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockDelivery(ctx, tx, channelID, platformID); err != nil {
			return err
		}
		var err error
		m, err = scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE channel_id = $1 AND platform_id = $2 AND direction = 'out' FOR UPDATE`, channelID, platformID))
		if errors.Is(err, pgx.ErrNoRows) {
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		var msgID int64
		var state string
		if err := tx.QueryRow(ctx, `SELECT message_id, state FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&msgID, &state); err != nil {
			return notFound(err, "outbox entry", id)
		}
		if state != store.OutboxPending {
			return fmt.Errorf("outbox entry %d is %s already: %w", id, state, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET last_error = $1, next_attempt_at = $2, claimed_until = NULL WHERE id = $3`, errText, ts(next), id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET delivery_error = $1 WHERE id = $2`, errText, msgID)
		return err
	})
}

// FailOutbox gives up: the message and its conversation show the failure.
func (s *Store) FailOutbox(ctx context.Context, id int64, errText string, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var msgID, convID int64
		var state string
		if err := tx.QueryRow(ctx, `SELECT message_id, conversation_id, state FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&msgID, &convID, &state); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'failed', last_error = $1, claimed_until = NULL WHERE id = $2`, errText, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET delivery = 'failed', delivery_error = $1 WHERE id = $2`, errText, msgID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET delivery_failed = true, updated_at = $1 WHERE id = $2`, ts(now), convID); err != nil {
			return err
		}
		return audit(ctx, tx, store.Actor{Via: "system"}, "reply.failed", fmt.Sprintf("conversation/%d", convID), fmt.Sprintf("message %d: %s", msgID, errText))
	})
}

// OutboxEntry returns one entry.
func (s *Store) OutboxEntry(ctx context.Context, id int64) (store.OutboxEntry, error) {
	e, err := scanOutbox(s.pool.QueryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	return e, notFound(err, "outbox entry", id)
}

// OutboxDepth counts entries still to deliver.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE state = 'pending'`).Scan(&n)
	return n, err
}
