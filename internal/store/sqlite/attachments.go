package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

const qInsertAttachment = `INSERT INTO attachments (message_id, name, content_type, size, sha256, data) VALUES (?, ?, ?, ?, ?, ?)`

// insertAttachments stores a message's files with the statement given (the
// ingest's prepared one, or the transaction's) and returns them without
// their bytes, as reads give them.
func insertAttachments(ctx context.Context, exec func(ctx context.Context, args ...any) (sql.Result, error), messageID int64, atts []store.Attachment) ([]store.Attachment, error) {
	var out []store.Attachment
	for _, a := range atts {
		sum := sha256.Sum256(a.Data)
		m := store.Attachment{MessageID: messageID, Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Data)), SHA256: hex.EncodeToString(sum[:])}
		res, err := exec(ctx, messageID, m.Name, m.ContentType, m.Size, m.SHA256, a.Data)
		if err != nil {
			return nil, err
		}
		m.ID, _ = res.LastInsertId()
		out = append(out, m)
	}
	return out, nil
}

// withAttachments fills in the files of the messages, without their bytes,
// in one query.
func (s *Store) withAttachments(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(msgs))
	args := make([]any, len(msgs))
	for i, m := range msgs {
		at[m.ID] = i
		args[i] = m.ID
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, message_id, name, content_type, size, sha256 FROM attachments
		WHERE message_id IN (?`+strings.Repeat(", ?", len(msgs)-1)+`) ORDER BY id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a store.Attachment
		if err := rows.Scan(&a.ID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return err
		}
		m := &msgs[at[a.MessageID]]
		m.Attachments = append(m.Attachments, a)
	}
	return rows.Err()
}

// Attachment returns one file with its bytes.
func (s *Store) Attachment(ctx context.Context, id int64) (store.Attachment, error) {
	var a store.Attachment
	err := s.r.QueryRowContext(ctx, `SELECT id, message_id, name, content_type, size, sha256, data FROM attachments WHERE id = ?`, id).
		Scan(&a.ID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.Data)
	return a, notFound(err, "attachment", id)
}
