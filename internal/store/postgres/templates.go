package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// CreateTemplate stores a template with its variants.
func (s *Store) CreateTemplate(ctx context.Context, t *store.Template, by store.Actor) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO templates (name, shortcut, created_at) VALUES ($1, $2, $3) RETURNING id`, t.Name, t.Shortcut, ts(t.CreatedAt)).Scan(&t.ID); err != nil {
			return conflict(err, "template shortcut "+t.Shortcut)
		}
		if err := setVariants(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "template.create", fmt.Sprintf("template/%d", t.ID), t.Shortcut)
	})
}

// UpdateTemplate replaces a template's name, shortcut and variants.
func (s *Store) UpdateTemplate(ctx context.Context, t *store.Template, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE templates SET name = $1, shortcut = $2 WHERE id = $3`, t.Name, t.Shortcut, t.ID)
		if err != nil {
			return conflict(err, "template shortcut "+t.Shortcut)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("template %d: %w", t.ID, store.ErrNotFound)
		}
		if err := setVariants(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "template.update", fmt.Sprintf("template/%d", t.ID), t.Shortcut)
	})
}

func setVariants(ctx context.Context, tx pgx.Tx, t *store.Template) error {
	if _, err := tx.Exec(ctx, `DELETE FROM template_variants WHERE template_id = $1`, t.ID); err != nil {
		return err
	}
	for _, v := range t.Variants {
		if _, err := tx.Exec(ctx, `INSERT INTO template_variants (template_id, language, tone, body) VALUES ($1, $2, $3, $4)`, t.ID, v.Language, v.Tone, v.Body); err != nil {
			return conflict(err, fmt.Sprintf("variant %s/%s", v.Language, v.Tone))
		}
	}
	return nil
}

// DeleteTemplate removes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM templates WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("template %d: %w", id, store.ErrNotFound)
		}
		return audit(ctx, tx, by, "template.delete", fmt.Sprintf("template/%d", id), "")
	})
}

// Template returns one template with its variants.
func (s *Store) Template(ctx context.Context, id int64) (store.Template, error) {
	ts, err := s.templates(ctx, `WHERE t.id = $1`, id)
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
	rows, err := s.pool.Query(ctx, `SELECT t.id, t.name, t.shortcut, t.created_at, v.language, v.tone, v.body
		FROM templates t LEFT JOIN template_variants v ON v.template_id = t.id `+where+` ORDER BY t.shortcut COLLATE "C", t.id, v.language COLLATE "C", v.tone COLLATE "C"`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Template{}
	for rows.Next() {
		var t store.Template
		var lang, tone, body *string
		if err := rows.Scan(&t.ID, &t.Name, &t.Shortcut, &t.CreatedAt, &lang, &tone, &body); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != t.ID {
			t.Variants = []store.TemplateVariant{}
			out = append(out, t)
		}
		if lang != nil {
			last := &out[len(out)-1]
			last.Variants = append(last.Variants, store.TemplateVariant{Language: *lang, Tone: *tone, Body: *body})
		}
	}
	return out, rows.Err()
}
