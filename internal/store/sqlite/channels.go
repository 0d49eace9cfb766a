package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/webcare/webcare/internal/store"
)

const channelColumns = `id, kind, name, locale, settings, token_hash, disabled, created_at`

func scanChannel(row scanner) (store.Channel, error) {
	var c store.Channel
	var settings string
	var disabled int
	var created int64
	err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.Locale, &settings, &c.TokenHash, &disabled, &created)
	c.Disabled, c.CreatedAt = disabled != 0, fromMS(created)
	if settings != "" && settings != "{}" {
		_ = json.Unmarshal([]byte(settings), &c.Settings)
	}
	return c, err
}

// CreateChannel stores a new channel and sets its ID.
func (s *Store) CreateChannel(ctx context.Context, c *store.Channel, by store.Actor) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO channels (kind, name, locale, settings, token_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.Kind, c.Name, c.Locale, toJSON(c.Settings), c.TokenHash, boolInt(c.Disabled), ms(c.CreatedAt))
		if err != nil {
			return err
		}
		c.ID, _ = res.LastInsertId()
		return audit(ctx, tx, by, "channel.create", fmt.Sprintf("channel/%d", c.ID), c.Kind+" "+c.Name)
	})
}

// UpdateChannel saves a channel's name, locale, settings, token and state.
func (s *Store) UpdateChannel(ctx context.Context, c *store.Channel, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channels SET name = ?, locale = ?, settings = ?, token_hash = ?, disabled = ? WHERE id = ?`,
			c.Name, c.Locale, toJSON(c.Settings), c.TokenHash, boolInt(c.Disabled), c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("channel %d: %w", c.ID, store.ErrNotFound)
		}
		return audit(ctx, tx, by, "channel.update", fmt.Sprintf("channel/%d", c.ID), c.Name)
	})
}

// Channel returns one channel.
func (s *Store) Channel(ctx context.Context, id int64) (store.Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ?`, id))
	return c, notFound(err, "channel", id)
}

// Channels lists every channel.
func (s *Store) Channels(ctx context.Context) ([]store.Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
