package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// CreateTemplate stores a template with its variants.
func (s *Store) CreateTemplate(ctx context.Context, t *store.Template, by store.Actor) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO templates (name, shortcut, created_at) VALUES (?, ?, ?)`, t.Name, t.Shortcut, ms(t.CreatedAt))
		if err != nil {
			return conflict(err, "template shortcut "+t.Shortcut)
		}
		t.ID, _ = res.LastInsertId()
		if err := setVariants(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "template.create", fmt.Sprintf("template/%d", t.ID), t.Shortcut)
	})
}

// UpdateTemplate replaces a template's name, shortcut and variants.
func (s *Store) UpdateTemplate(ctx context.Context, t *store.Template, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE templates SET name = ?, shortcut = ? WHERE id = ?`, t.Name, t.Shortcut, t.ID)
		if err != nil {
			return conflict(err, "template shortcut "+t.Shortcut)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("template %d: %w", t.ID, store.ErrNotFound)
		}
		if err := setVariants(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "template.update", fmt.Sprintf("template/%d", t.ID), t.Shortcut)
	})
}

func setVariants(ctx context.Context, tx *sql.Tx, t *store.Template) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM template_variants WHERE template_id = ?`, t.ID); err != nil {
		return err
	}
	for _, v := range t.Variants {
		if _, err := tx.ExecContext(ctx, `INSERT INTO template_variants (template_id, language, tone, body) VALUES (?, ?, ?, ?)`, t.ID, v.Language, v.Tone, v.Body); err != nil {
			return conflict(err, fmt.Sprintf("variant %s/%s", v.Language, v.Tone))
		}
	}
	return nil
}

// DeleteTemplate removes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("template %d: %w", id, store.ErrNotFound)
		}
		return audit(ctx, tx, by, "template.delete", fmt.Sprintf("template/%d", id), "")
	})
}

// Template returns one template with its variants.
func (s *Store) Template(ctx context.Context, id int64) (store.Template, error) {
	ts, err := s.templates(ctx, `WHERE t.id = ?`, id)
	if err != nil {
		return store.Template{}, err
	}
	if len(ts) == 0 {
		return store.Template{}, fmt.Errorf("template %d: %w", id, store.ErrNotFound)
	}
	return ts[0], nil
}

// Templates lists every template by shortcut.
func (s *Store) Templates(ctx context.Context) ([]store.Template, error) { return s.templates(ctx, ``) }

func (s *Store) templates(ctx context.Context, where string, args ...any) ([]store.Template, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, t.name, t.shortcut, t.created_at, v.language, v.tone, v.body
		FROM templates t LEFT JOIN template_variants v ON v.template_id = t.id `+where+` ORDER BY t.shortcut, t.id, v.language, v.tone`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Template{}
	for rows.Next() {
		var t store.Template
		var created int64
		var lang, tone, body sql.NullString
		if err := rows.Scan(&t.ID, &t.Name, &t.Shortcut, &created, &lang, &tone, &body); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != t.ID {
			t.CreatedAt = fromMS(created)
			t.Variants = []store.TemplateVariant{}
			out = append(out, t)
		}
		if lang.Valid {
			last := &out[len(out)-1]
			last.Variants = append(last.Variants, store.TemplateVariant{Language: lang.String, Tone: tone.String, Body: body.String})
		}
	}
	return out, rows.Err()
}
