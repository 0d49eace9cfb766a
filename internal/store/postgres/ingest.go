package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// ingestLockClass marks the advisory locks of the ingest path.
const ingestLockClass = "webcare.ingest"

// qIngest calls the migration's webcare_ingest for one message.
const qIngest = `SELECT o_message_id, o_conversation_id, o_contact_id, o_duplicate, o_new_conversation, o_new_contact
	FROM webcare_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

// Ingest stores the batch in one transaction (one WAL flush however many
// messages it holds), sent to the server as one pipelined batch: first the
// advisory locks, then one webcare_ingest call per message, in order.
//
// The locks are on every message's dedupe key and every author's identity,
// taken in sorted order so that two batches never wait on each other in a
// circle. Instances that receive the same webhook, or messages of the same
// new customer, take turns; the second finds what the first stored. A race
// the locks do not cover (a unique violation, a deadlock with an agent's
// bulk change) runs the batch again.
func (s *Store) Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error) {
	results := make([]store.IngestResult, len(batch))
	if len(batch) == 0 {
		return results, nil
	}
	keys := lockKeys(batch)
	err := s.txRetry(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS l (k, n) ORDER BY n`, keys)
		for i := range batch {
			in := &batch[i]
			b.Queue(qIngest, in.ChannelID, in.PlatformID, in.Platform, in.ExternalID, in.Handle, in.Name,
				in.Body, preview(in.Body, in.Attachments), in.ReplyTo, in.Private, in.Language, in.Subject,
				ts(in.SentAt), ts(in.ReceivedAt), in.Processed)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		for i := range batch {
			r := &results[i]
			*r = store.IngestResult{}
			err := br.QueryRow().Scan(&r.MessageID, &r.ConversationID, &r.ContactID, &r.Duplicate, &r.NewConversation, &r.NewContact)
			if err != nil {
				return fmt.Errorf("message %d (%q): %w", i, batch[i].PlatformID, err)
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		// The files of the messages stored now (not of duplicates: they
		// have theirs), in a second round trip.
		files := &pgx.Batch{}
		for i, r := range results {
			if !r.Duplicate {
				queueAttachments(files, r.MessageID, batch[i].Attachments)
			}
		}
		if files.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, files).Close()
	}, codeSerialization, codeDeadlock, codeUnique)
	if err != nil {
		return nil, err
	}
	return results, nil
}

// lockKeys lists the advisory lock keys of a batch, sorted and distinct.
func lockKeys(batch []store.Inbound) []int64 {
	keys := make([]int64, 0, 2*len(batch))
	key := func(parts ...string) int64 {
		h := fnv.New64a()
		h.Write([]byte(ingestLockClass))
		for _, p := range parts {
			h.Write([]byte{0})
			h.Write([]byte(p))
		}
		return int64(h.Sum64())
	}
	for _, in := range batch {
		if in.PlatformID != "" {
			keys = append(keys, key("message", fmt.Sprint(in.ChannelID), in.PlatformID))
		}
		keys = append(keys, key("identity", in.Platform, in.ExternalID))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// preview is the line an inbox row shows: the start of the text, else the
// first file.
func preview(body string, files []store.Attachment) string {
	const limit = 140
	if strings.TrimSpace(body) == "" && len(files) > 0 {
		body = "📎 " + files[0].Name
	}
	r := []rune(body)
	if len(r) <= limit {
		return body
	}
	return string(r[:limit-1]) + "…"
}

// Unprocessed lists inbound messages the post-commit stages have not seen.
func (s *Store) Unprocessed(ctx context.Context, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, `SELECT `+messageColumns+` FROM messages WHERE NOT processed ORDER BY id LIMIT $1`, limit)
}

// MarkProcessed records that the stages have seen these messages.
func (s *Store) MarkProcessed(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE messages SET processed = true WHERE id = ANY($1) AND NOT processed`, ids)
	return err
}
