package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

const contactColumns = `id, name, language, created_at, updated_at`

func scanContact(row pgx.Row) (store.Contact, error) {
	var c store.Contact
	err := row.Scan(&c.ID, &c.Name, &c.Language, &c.CreatedAt, &c.UpdatedAt)
	c.Identities = []store.Identity{}
	return c, err
}

// Contact returns a contact with all its identities.
func (s *Store) Contact(ctx context.Context, id int64) (store.Contact, error) {
	c, err := scanContact(s.pool.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1`, id))
	if err != nil {
		return c, notFound(err, "contact", id)
	}
	out := []store.Contact{c}
	err = s.withIdentities(ctx, out)
	return out[0], err
}

// withIdentities loads the identities of every listed contact in one query.
func (s *Store) withIdentities(ctx context.Context, cs []store.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]int64, len(cs))
	at := make(map[int64]int, len(cs))
	for i, c := range cs {
		ids[i], at[c.ID] = c.ID, i
	}
	rows, err := s.pool.Query(ctx, `SELECT id, contact_id, platform, external_id, handle, display_name, created_at FROM identities WHERE contact_id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return err
	}
	idents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Identity, error) {
		var i store.Identity
		err := r.Scan(&i.ID, &i.ContactID, &i.Platform, &i.ExternalID, &i.Handle, &i.DisplayName, &i.CreatedAt)
		return i, err
	})
	if err != nil {
		return err
	}
	for _, id := range idents {
		c := &cs[at[id.ContactID]]
		c.Identities = append(c.Identities, id)
	}
	return nil
}

func (s *Store) queryContacts(ctx context.Context, q string, args ...any) ([]store.Contact, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, err
	}
	out = orEmpty(out)
	return out, s.withIdentities(ctx, out)
}

// Contacts lists contacts newest first, optionally matching a query against
// name, handle and external id.
func (s *Store) Contacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	c := &conds{}
	if f.After > 0 {
		c.add("id < ?", f.After)
	}
	if f.Query != "" {
		like := c.arg("%" + escapeLike(strings.ToLower(f.Query)) + "%")
		c.add(`(lower(name) LIKE ` + like + ` OR EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = contacts.id AND (lower(i.handle) LIKE ` + like +
			` OR lower(i.external_id) LIKE ` + like + ` OR lower(i.display_name) LIKE ` + like + `)))`)
	}
	return s.queryContacts(ctx, `SELECT `+contactColumns+` FROM contacts`+c.sql()+` ORDER BY id DESC LIMIT `+c.arg(limit), c.args...)
}

// escapeLike makes s literal in a LIKE pattern (backslash is the default
// escape character in PostgreSQL).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// MergeContacts moves from's identities and conversations to into.
func (s *Store) MergeContacts(ctx context.Context, into, from int64, by store.Actor) error {
	if into == from {
		return fmt.Errorf("cannot merge contact %d into itself: %w", into, store.ErrConflict)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Both rows locked, in id order, so that two merges cannot
		// deadlock or merge the same contact away twice.
		rows, err := tx.Query(ctx, `SELECT id FROM contacts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, into, from)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if len(found) != 2 {
			return fmt.Errorf("contacts %d and %d: %w", into, from, store.ErrNotFound)
		}
		for _, q := range []string{
			`UPDATE identities SET contact_id = $1 WHERE contact_id = $2`,
			`UPDATE conversations SET contact_id = $1 WHERE contact_id = $2`,
		} {
			if _, err := tx.Exec(ctx, q, into, from); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE contacts c SET
			name = CASE WHEN c.name = '' THEN f.name ELSE c.name END,
			language = CASE WHEN c.language = '' THEN f.language ELSE c.language END,
			updated_at = $3 FROM contacts f WHERE c.id = $1 AND f.id = $2`, into, from, ts(time.Now())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contacts WHERE id = $1`, from); err != nil {
			return err
		}
		return audit(ctx, tx, by, "contact.merge", fmt.Sprintf("contact/%d", into), fmt.Sprintf("merged contact %d", from))
	})
}
