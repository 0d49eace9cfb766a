package sqlite

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/store"
)

// Snippet markers: control characters that do not occur in customer text,
// taken out again before the snippet leaves the store.
const (
	markStart = "\x02"
	markEnd   = "\x03"
)

// Search finds conversations through the FTS5 index on message bodies and
// contacts through the indexes on contact names and identities.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResults, error) {
	res := store.SearchResults{Conversations: []store.SearchHit{}, Contacts: []store.Contact{}}
	match := ftsQuery(q.Text)
	if match == "" {
		return res, nil
	}
	limit := q.Size()
	var err error
	if res.Conversations, err = s.searchConversations(ctx, match, q.AssigneeID, limit); err != nil {
		return res, err
	}
	if res.Contacts, err = s.searchContacts(ctx, match, limit); err != nil {
		return res, err
	}
	return res, nil
}

// ftsQuery turns typed text into an FTS5 query that cannot fail to parse:
// each word becomes a quoted string (a quote inside doubled), so operators
// and column filters are just text; the tokenizer splits "anna_dv" or
// "ext-carla" inside the quotes the same way it split the indexed text. The
// last word matches as a prefix. Words without a letter or digit index to
// nothing and are left out; "" means there is nothing to search for.
func ftsQuery(text string) string {
	var terms []string
	// Control characters separate words too: FTS5 would read a NUL as the
	// end of the query, leaving a quote open.
	split := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
	for _, w := range strings.FieldsFunc(text, split) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) < 0 {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	if len(terms) == 0 {
		return ""
	}
	return strings.Join(terms, " ") + "*"
}

func (s *Store) searchConversations(ctx context.Context, match string, assigneeID int64, limit int) ([]store.SearchHit, error) {
	// Whole words first: a prefix of a common word (or of a flight number)
	// expands to many terms whose matches must all be merged, while a whole
	// word's matches come newest first at once. Only when whole words do
	// not fill the page does the last word count as a prefix too.
	exact := strings.TrimSuffix(match, "*")
	seen := map[int64]bool{}
	hits, err := s.matchConversations(ctx, exact, assigneeID, limit, seen)
	if err != nil {
		return nil, err
	}
	snippetMatch := exact
	if len(hits) < limit && exact != match {
		more, err := s.matchConversations(ctx, match, assigneeID, limit-len(hits), seen)
		if err != nil {
			return nil, err
		}
		if len(more) > 0 {
			hits, snippetMatch = append(hits, more...), match
		}
	}
	if len(hits) == 0 {
		return hits, nil
	}
	match = snippetMatch
	var convIDs, msgIDs []any
	for _, h := range hits {
		convIDs, msgIDs = append(convIDs, h.Conversation.ID), append(msgIDs, h.MessageID)
	}

	// snippet() works only in a query that matches, one row per message.
	snippets := map[int64]string{}
	rows, err := s.r.QueryContext(ctx, `SELECT rowid, snippet(messages_fts, 0, ?, ?, '…', 16) FROM messages_fts
		WHERE messages_fts MATCH ? AND rowid IN (`+placeholders(len(msgIDs))+`)`,
		append([]any{markStart, markEnd, match}, msgIDs...)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var snip string
		if err := rows.Scan(&id, &snip); err != nil {
			rows.Close()
			return nil, err
		}
		snippets[id] = snip
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	convs := map[int64]store.Conversation{}
	rows, err = s.r.QueryContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id IN (`+placeholders(len(convIDs))+`)`, convIDs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		convs[c.ID] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range hits {
		hits[i].Conversation = convs[hits[i].Conversation.ID]
		hits[i].Snippet, hits[i].MatchStart, hits[i].MatchEnd = unmark(snippets[hits[i].MessageID])
	}
	return hits, nil
}

// unmark takes the markers out of a snippet and reports where the first
// match was, in characters.
func unmark(snip string) (text string, start, end int) {
	var b strings.Builder
	start, end = -1, -1
	for i := 0; i < len(snip); {
		switch {
		case strings.HasPrefix(snip[i:], markStart):
			if start < 0 {
				start = utf8.RuneCountInString(b.String())
			}
			i += len(markStart)
		case strings.HasPrefix(snip[i:], markEnd):
			if end < 0 && start >= 0 {
				end = utf8.RuneCountInString(b.String())
			}
			i += len(markEnd)
		default:
			r, n := utf8.DecodeRuneInString(snip[i:])
			b.WriteRune(r)
			i += n
		}
	}
	if start < 0 || end < 0 {
		return b.String(), 0, 0
	}
	return b.String(), start, end
}

func (s *Store) searchContacts(ctx context.Context, match string, limit int) ([]store.Contact, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, language, created_at, updated_at FROM contacts WHERE id IN (
			SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?1
			UNION
			SELECT i.contact_id FROM identities_fts JOIN identities i ON i.id = identities_fts.rowid WHERE identities_fts MATCH ?1)
		ORDER BY id DESC LIMIT ?2`, match, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Contact{}
	var ids []any
	for rows.Next() {
		var c store.Contact
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Language, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		c.Identities = []store.Identity{}
		out = append(out, c)
		ids = append(ids, c.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	idents, err := s.identities(ctx, `WHERE contact_id IN (`+placeholders(len(ids))+`) ORDER BY id`, ids...)
	if err != nil {
		return nil, err
	}
	at := map[int64]int{}
	for i, c := range out {
		at[c.ID] = i
	}
	for _, id := range idents {
		c := &out[at[id.ContactID]]
		c.Identities = append(c.Identities, id)
	}
	return out, nil
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// matchConversations reads the newest matching message of up to limit
// conversations not yet seen, newest first: the index hands out matches
// newest first (rowid order), so the first match of a conversation is its
// newest, and reading stops at the limit-th conversation. A GROUP BY would
// read every match first: all of a common word's hundreds of thousands in
// a large store.
func (s *Store) matchConversations(ctx context.Context, match string, assigneeID int64, limit int, seen map[int64]bool) ([]store.SearchHit, error) {
	q := `SELECT m.conversation_id, m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
		WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC`
	args := []any{match}
	if assigneeID != 0 {
		// Field staff have a handful of conversations: look their messages
		// up in the index one by one (a rowid lookup each), rather than
		// walk every match of the words and throw away nearly all of it
		// (184 ms against 9 ms for everyone else at 60,000 matches).
		q = `SELECT m.conversation_id, m.id FROM messages m
			WHERE m.conversation_id IN (SELECT id FROM conversations WHERE assignee_id = ?)
			AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid = m.id)
			ORDER BY m.id DESC`
		args = []any{assigneeID, match}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hits := []store.SearchHit{}
	for len(hits) < limit && rows.Next() {
		var h store.SearchHit
		if err := rows.Scan(&h.Conversation.ID, &h.MessageID); err != nil {
			return nil, err
		}
		if seen[h.Conversation.ID] {
			continue
		}
		seen[h.Conversation.ID] = true
		hits = append(hits, h)
	}
	return hits, rows.Err()
}
