package postgres

import (
	"context"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// The search expressions: exactly those of the GIN indexes in migration
// 0002, or the planner would not use them.
const (
	messageVector  = `to_tsvector('simple', webcare_fold(m.body))`
	contactVector  = `to_tsvector('simple', webcare_fold(c.name))`
	identityVector = `to_tsvector('simple', webcare_fold(i.handle || ' ' || i.display_name || ' ' || i.external_id))`
)

// Search finds conversations through the index on message bodies and
// contacts through the indexes on contact names and identities. The typed
// text reaches the server only as a parameter of webcare_tsquery, which
// quotes every word: it is never query syntax.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResults, error) {
	res := store.SearchResults{Conversations: []store.SearchHit{}, Contacts: []store.Contact{}}
	text := searchText(q.Text)
	if text == "" {
		return res, nil
	}
	limit := q.Size()
	var err error
	if res.Conversations, err = s.searchConversations(ctx, text, q.AssigneeID, limit); err != nil {
		return res, err
	}
	if res.Contacts, err = s.searchContacts(ctx, text, limit); err != nil {
		return res, err
	}
	return res, nil
}

// searchText cleans typed text for the server: control characters (NUL is
// not even allowed in a text value) and invalid UTF-8 become spaces. Text
// without any letter or digit gives "": there is nothing to search for.
func searchText(text string) string {
	text = strings.ToValidUTF8(text, " ")
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	if strings.IndexFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) < 0 {
		return ""
	}
	return text
}

// qSearchConversations finds the newest matching message of each
// conversation, newest first, and in the same statement where in that
// message the first matching word is: the body split into runs of letters
// and digits (the same runs the index holds), each folded like the index
// and compared with the query's words, the last one as a prefix.
var qSearchConversations = `
WITH q AS (SELECT webcare_tsquery($1) AS query,
		regexp_split_to_array(btrim(webcare_fold($1)), ' +') AS words),
hits AS (
	SELECT m.conversation_id, MAX(m.id) AS message_id
	FROM messages m %s, q
	WHERE ` + messageVector + ` @@ q.query
	GROUP BY m.conversation_id
	ORDER BY MAX(m.id) DESC LIMIT $2)
SELECT ` + conversationColumnsC + `, m.id, m.body, COALESCE(w.start, -1), COALESCE(w.len, 0)
FROM hits h
JOIN conversations c ON c.id = h.conversation_id
JOIN messages m ON m.id = h.message_id
CROSS JOIN q
LEFT JOIN LATERAL (
	SELECT t.start, t.len FROM (
		SELECT r[2] AS word, n, char_length(r[2]) AS len,
			SUM(char_length(r[1]) + char_length(r[2])) OVER (ORDER BY n) - char_length(r[2]) AS start
		FROM regexp_matches(m.body, '([^[:alnum:]]*)([[:alnum:]]+)', 'g') WITH ORDINALITY AS x (r, n)) t
	WHERE btrim(webcare_fold(t.word)) = ANY (q.words[1:cardinality(q.words) - 1])
	   OR starts_with(btrim(webcare_fold(t.word)), q.words[cardinality(q.words)])
	ORDER BY t.n LIMIT 1) w ON true
ORDER BY h.message_id DESC`

// conversationColumnsC are conversationColumns of the table aliased c.
var conversationColumnsC = func() string {
	cols := strings.Split(conversationColumns, ",")
	for i, c := range cols {
		cols[i] = "c." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func (s *Store) searchConversations(ctx context.Context, text string, assigneeID int64, limit int) ([]store.SearchHit, error) {
	join, args := "", []any{text, limit}
	if assigneeID != 0 {
		join, args = "JOIN conversations a ON a.id = m.conversation_id AND a.assignee_id = $3", append(args, assigneeID)
	}
	rows, err := s.pool.Query(ctx, strings.Replace(qSearchConversations, "%s", join, 1), args...)
	if err != nil {
		return nil, err
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SearchHit, error) {
		var h store.SearchHit
		var body string
		var start, n int
		var assignee, team, linked *int64
		c := &h.Conversation
		err := r.Scan(&c.ID, &c.ChannelID, &c.ContactID, &c.Visibility, &c.Status, &c.Language, &c.Subject,
			&assignee, &team, &linked, &c.Priority, &c.Tags, &c.SnoozedUntil, &c.WaitingSince, &c.FirstResponseAt,
			&c.LastMessageAt, &c.LastPreview, &c.MessageCount, &c.DeliveryFailed, &c.CreatedAt, &c.UpdatedAt,
			&h.MessageID, &body, &start, &n)
		c.AssigneeID, c.TeamID, c.LinkedID, c.Tags = deref(assignee), deref(team), deref(linked), orEmpty(c.Tags)
		h.Snippet, h.MatchStart, h.MatchEnd = snippet(body, start, n)
		return h, err
	})
	return orEmpty(hits), err
}

// Snippet sizes, in words around the match, like the embedded engine's
// 16-token snippets.
const (
	snippetBefore = 5
	snippetAfter  = 10
)

// snippet cuts body around the match at character start, n characters
// long, with "…" where it cut, and reports where the match is in the
// snippet, in characters. A start below 0 (no word matched: the index and
// the body disagree, which folding rules could make happen in odd scripts)
// gives the start of the body and an empty match.
func snippet(body string, start, n int) (text string, matchStart, matchEnd int) {
	r := []rune(body)
	if start < 0 || start+n > len(r) {
		start, n = 0, 0
	}
	isSpace := func(i int) bool { return unicode.IsSpace(r[i]) }
	// Back to the start of the word snippetBefore words before the match.
	from, words := start, 0
	for from > 0 && words < snippetBefore {
		from--
		for from > 0 && isSpace(from) {
			from--
		}
		for from > 0 && !isSpace(from-1) {
			from--
		}
		words++
	}
	// On to the end of the word snippetAfter words after it.
	to, words := start+n, 0
	for to < len(r) && words < snippetAfter {
		for to < len(r) && isSpace(to) {
			to++
		}
		for to < len(r) && !isSpace(to) {
			to++
		}
		words++
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	b.WriteString(string(r[from:to]))
	if to < len(r) {
		b.WriteString("…")
	}
	matchStart = start - from
	if from > 0 {
		matchStart++
	}
	return b.String(), matchStart, matchStart + n
}

func (s *Store) searchContacts(ctx context.Context, text string, limit int) ([]store.Contact, error) {
	return s.queryContacts(ctx, `WITH q AS (SELECT webcare_tsquery($1) AS query)
		SELECT `+contactColumns+` FROM contacts WHERE id IN (
			SELECT c.id FROM contacts c, q WHERE `+contactVector+` @@ q.query
			UNION
			SELECT i.contact_id FROM identities i, q WHERE `+identityVector+` @@ q.query)
		ORDER BY id DESC LIMIT $2`, text, limit)
}
