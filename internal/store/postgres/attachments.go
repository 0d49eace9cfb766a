package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

const qInsertAttachment = `INSERT INTO attachments (message_id, name, content_type, size, sha256, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`

// queueAttachments adds the inserts of a message's files to a batch and
// returns them without their bytes, as reads give them; their IDs are set
// as the batch's results are read (see readAttachmentIDs).
func queueAttachments(b *pgx.Batch, messageID int64, atts []store.Attachment) []store.Attachment {
	out := make([]store.Attachment, 0, len(atts))
	for _, a := range atts {
		sum := sha256.Sum256(a.Data)
		m := store.Attachment{MessageID: messageID, Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Data)), SHA256: hex.EncodeToString(sum[:])}
		b.Queue(qInsertAttachment, messageID, m.Name, m.ContentType, m.Size, m.SHA256, a.Data)
		out = append(out, m)
	}
	return out
}

// insertAttachments stores a message's files in the transaction, in one
// round trip, and returns them without their bytes.
func insertAttachments(ctx context.Context, tx pgx.Tx, messageID int64, atts []store.Attachment) ([]store.Attachment, error) {
	if len(atts) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	out := queueAttachments(b, messageID, atts)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i := range out {
		if err := br.QueryRow().Scan(&out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, br.Close()
}

// withAttachments fills in the files of the messages, without their bytes,
// in one query.
func (s *Store) withAttachments(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(msgs))
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		at[m.ID], ids[i] = i, m.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT id, message_id, name, content_type, size, sha256 FROM attachments WHERE message_id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return err
	}
	atts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Attachment, error) {
		var a store.Attachment
		err := r.Scan(&a.ID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256)
		return a, err
	})
	if err != nil {
		return err
	}
	for _, a := range atts {
		m := &msgs[at[a.MessageID]]
		m.Attachments = append(m.Attachments, a)
	}
	return nil
}

// Attachment returns one file with its bytes.
func (s *Store) Attachment(ctx context.Context, id int64) (store.Attachment, error) {
	var a store.Attachment
	err := s.pool.QueryRow(ctx, `SELECT id, message_id, name, content_type, size, sha256, data FROM attachments WHERE id = $1`, id).
		Scan(&a.ID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.Data)
	return a, notFound(err, "attachment", id)
}
