package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// Contact returns a contact with all its identities.
func (s *Store) Contact(ctx context.Context, id int64) (store.Contact, error) {
	var c store.Contact
	var created, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, language, created_at, updated_at FROM contacts WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.Language, &created, &updated)
	if err != nil {
		return c, notFound(err, "contact", id)
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	ids, err := s.identities(ctx, `WHERE contact_id = ? ORDER BY id`, id)
	c.Identities = ids
	return c, err
}

func (s *Store) identities(ctx context.Context, where string, args ...any) ([]store.Identity, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, contact_id, platform, external_id, handle, display_name, created_at FROM identities `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Identity{}
	for rows.Next() {
		var i store.Identity
		var created int64
		if err := rows.Scan(&i.ID, &i.ContactID, &i.Platform, &i.ExternalID, &i.Handle, &i.DisplayName, &created); err != nil {
			return nil, err
		}
		i.CreatedAt = fromMS(created)
		out = append(out, i)
	}
	return out, rows.Err()
}

// Contacts lists contacts newest first, optionally matching a query against
// name, handle and external id.
func (s *Store) Contacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT id, name, language, created_at, updated_at FROM contacts c WHERE 1 = 1`
	var args []any
	if f.After > 0 {
		q += ` AND id < ?`
		args = append(args, f.After)
	}
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		q += ` AND (lower(name) LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = c.id AND (lower(i.handle) LIKE ? ESCAPE '\' OR lower(i.external_id) LIKE ? ESCAPE '\' OR lower(i.display_name) LIKE ? ESCAPE '\')))`
		args = append(args, like, like, like, like)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := []store.Contact{}
	for rows.Next() {
		var c store.Contact
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Language, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Identities, err = s.identities(ctx, `WHERE contact_id = ? ORDER BY id`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// MergeContacts moves from's identities and conversations to into.
func (s *Store) MergeContacts(ctx context.Context, into, from int64, by store.Actor) error {
	if into == from {
		return fmt.Errorf("cannot merge contact %d into itself: %w", into, store.ErrConflict)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts WHERE id IN (?, ?)`, into, from).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("contacts %d and %d: %w", into, from, store.ErrNotFound)
		}
		for _, q := range []string{
			`UPDATE identities SET contact_id = ? WHERE contact_id = ?`,
			`UPDATE conversations SET contact_id = ? WHERE contact_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, into, from); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET
			name = CASE WHEN name = '' THEN (SELECT name FROM contacts WHERE id = ?) ELSE name END,
			language = CASE WHEN language = '' THEN (SELECT language FROM contacts WHERE id = ?) ELSE language END,
			updated_at = ? WHERE id = ?`, from, from, ms(time.Now()), into); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, from); err != nil {
			return err
		}
		return audit(ctx, tx, by, "contact.merge", fmt.Sprintf("contact/%d", into), fmt.Sprintf("merged contact %d", from))
	})
}
