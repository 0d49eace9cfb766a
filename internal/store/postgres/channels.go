package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

const channelColumns = `id, kind, name, locale, settings, token_hash, disabled, created_at`

func scanChannel(row pgx.Row) (store.Channel, error) {
	var c store.Channel
	var settings []byte
	err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.Locale, &settings, &c.TokenHash, &c.Disabled, &c.CreatedAt)
	if s := string(settings); s != "" && s != "{}" && s != "null" {
		_ = json.Unmarshal(settings, &c.Settings)
	}
	return c, err
}

// settingsJSON is a channel's settings as the jsonb column holds them.
func settingsJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// CreateChannel stores a new channel and sets its ID.
func (s *Store) CreateChannel(ctx context.Context, c *store.Channel, by store.Actor) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO channels (kind, name, locale, settings, token_hash, disabled, created_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7) RETURNING id`,
			c.Kind, c.Name, c.Locale, settingsJSON(c.Settings), c.TokenHash, c.Disabled, ts(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, by, "channel.create", fmt.Sprintf("channel/%d", c.ID), c.Kind+" "+c.Name)
	})
}

// UpdateChannel saves a channel's name, locale, settings, token and state.
func (s *Store) UpdateChannel(ctx context.Context, c *store.Channel, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE channels SET name = $1, locale = $2, settings = $3::jsonb, token_hash = $4, disabled = $5 WHERE id = $6`,
			c.Name, c.Locale, settingsJSON(c.Settings), c.TokenHash, c.Disabled, c.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("channel %d: %w", c.ID, store.ErrNotFound)
		}
		return audit(ctx, tx, by, "channel.update", fmt.Sprintf("channel/%d", c.ID), c.Name)
	})
}

// Channel returns one channel.
func (s *Store) Channel(ctx context.Context, id int64) (store.Channel, error) {
	c, err := scanChannel(s.pool.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1`, id))
	return c, notFound(err, "channel", id)
}

// Channels lists every channel.
func (s *Store) Channels(ctx context.Context) ([]store.Channel, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+channelColumns+` FROM channels ORDER BY id`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Channel, error) { return scanChannel(r) })
	return orEmpty(out), err
}
