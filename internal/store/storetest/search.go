package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var searchTests = []testCase{
	{"finds conversations by the words of their messages", testSearchMessages},
	{"finds contacts by name, handle, display name and external id", testSearchContacts},
	{"typed syntax is text, never an error", testSearchHostile},
	{"empty text finds nothing", testSearchEmpty},
	{"after a merge and a rename", testSearchMerge},
	{"limit and assignee", testSearchLimit},
}

// search runs a query that must not fail.
func (f *fixture) search(q store.SearchQuery) store.SearchResults {
	f.t.Helper()
	res, err := f.s.Search(f.ctx, q)
	f.check(err, "search %q", q.Text)
	if res.Conversations == nil || res.Contacts == nil {
		f.t.Fatalf("search %q: nil list in %+v; want empty lists", q.Text, res)
	}
	return res
}

func hitIDs(hs []store.SearchHit) []int64 {
	out := []int64{}
	for _, h := range hs {
		out = append(out, h.Conversation.ID)
	}
	return out
}

func testSearchMessages(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	bodies := []string{
		"Mijn koffer is kwijt op Schiphol",
		"Where is my suitcase? Flight KL1234 from Zürich",
		"Ik wil mijn boeking wijzigen, koffer te zwaar",
		"Crème brûlée served on the flight was cold",
	}
	var rs []store.IngestResult
	for i, b := range bodies {
		in := msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))
		in.Body = b
		rs = append(rs, f.ingestOne(in))
	}
	// An agent's reply is found too, and is the newest match of its thread.
	reply, _ := f.reply(rs[1].ConversationID, ag.ID, at(10))

	tests := []struct {
		text      string
		want      []int // indexes into rs, newest match first
		wantMatch string
	}{
		{"koffer", []int{2, 0}, "koffer"},
		{"KOFFER", []int{2, 0}, "koffer"},
		{"koffer schiphol", []int{0}, ""},
		{"kof", []int{2, 0}, "koffer"}, // the last word is a prefix
		{"zurich", []int{1}, "Zürich"},
		{"creme brulee", []int{3}, ""},
		{"kl1234", []int{1}, "KL1234"},
		{"answer", []int{1}, "answer"}, // the reply's body
		{"flight", []int{3, 1}, ""},
		{"koffer zürich", []int{}, ""},
		{"bagage", []int{}, ""},
	}
	for _, tt := range tests {
		f.t.Run(tt.text, func(t *testing.T) {
			f := f.sub(t)
			res := f.search(store.SearchQuery{Text: tt.text})
			var wantIDs []int64
			for _, i := range tt.want {
				wantIDs = append(wantIDs, rs[i].ConversationID)
			}
			wantSlice(t, "conversations", hitIDs(res.Conversations), append([]int64{}, wantIDs...))
			for _, h := range res.Conversations {
				if h.Conversation.ChannelID != ch.ID || h.Conversation.MessageCount == 0 {
					t.Errorf("hit %+v: conversation not loaded", h.Conversation)
				}
				if h.MessageID == 0 || h.Snippet == "" {
					t.Errorf("hit %+v: no message or snippet", h)
				}
				if strings.ContainsAny(h.Snippet, "\x02\x03<>") {
					t.Errorf("snippet %q holds markup", h.Snippet)
				}
				r := []rune(h.Snippet)
				if h.MatchStart < 0 || h.MatchEnd > len(r) || h.MatchStart >= h.MatchEnd {
					t.Errorf("match %d–%d outside snippet %q", h.MatchStart, h.MatchEnd, h.Snippet)
					continue
				}
				if tt.wantMatch != "" {
					want(t, "match", string(r[h.MatchStart:h.MatchEnd]), tt.wantMatch)
				}
			}
		})
	}
	res := f.search(store.SearchQuery{Text: "answer"})
	if len(res.Conversations) == 1 {
		want(f.t, "matching message", res.Conversations[0].MessageID, reply.ID)
	}
}

func testSearchContacts(f *fixture) {
	ch := f.channel("x", "X")
	c := people(f, ch, []struct{ ext, handle, name string }{
		{"id1", "@anna_dv", "Anna de Vries"},
		{"id2", "@annaXdv", "Annabel"},
		{"id3", "@bert", "Bért Müller"},
		{"ext-carla", "@carla", "Carla"},
		{"4711", "@dirk", "Dirk"},
	})
	tests := []struct {
		text string
		want []int64 // newest first
	}{
		{"anna", []int64{c[1], c[0]}},
		{"ANNA", []int64{c[1], c[0]}},
		{"@anna_dv", []int64{c[0]}},
		{"annaxdv", []int64{c[1]}},
		{"de vries", []int64{c[0]}},
		{"vries anna", []int64{c[0]}}, // words in any order
		{"bert muller", []int64{c[2]}},
		{"BÉRT", []int64{c[2]}},
		{"mull", []int64{c[2]}},
		{"ext-car", []int64{c[3]}},
		{"471", []int64{c[4]}},
		{"zoltan", []int64{}},
	}
	for _, tt := range tests {
		f.t.Run(tt.text, func(t *testing.T) {
			res := f.sub(t).search(store.SearchQuery{Text: tt.text})
			wantSlice(t, "contacts", contactIDs(res.Contacts), tt.want)
			for _, c := range res.Contacts {
				if len(c.Identities) != 1 || c.Identities[0].ContactID != c.ID {
					t.Errorf("contact %d listed with identities %+v", c.ID, c.Identities)
				}
			}
		})
	}
	// The customer's own message text does not make them a contact match.
	res := f.search(store.SearchQuery{Text: "body"})
	want(f.t, "contacts matching message text", len(res.Contacts), 0)
}

func testSearchHostile(f *fixture) {
	ch := f.channel("x", "X")
	in := msg(ch, "p1", "anna", at(0))
	in.Body = `He said "NEAR" the gate: OR not? -refund* (urgent) col:value ^start {a b} 50% \path`
	r := f.ingestOne(in)
	texts := []string{
		`"`, `""`, `"unclosed`, `*`, `**`, `-`, `-refund`, `OR`, `AND`, `NOT`, `NEAR`, `NEAR(a b)`, `a OR b`,
		`body:refund`, `col:value`, `:`, `(`, `)`, `(urgent`, `^`, `^start`, `{a b}`, `a + b`, `'`, `%`, `_`, `\`,
		`'; DROP TABLE messages; --`, "a\x00b", "tab\tand\nnewline", "🙂", `refund*`, `"NEAR"`, `near/3`,
		strings.Repeat("long ", 500),
	}
	for _, text := range texts {
		f.t.Run(fmt.Sprintf("%.20q", text), func(t *testing.T) {
			f.sub(t).search(store.SearchQuery{Text: text})
		})
	}
	// The words among the syntax are still found.
	for _, text := range []string{`"NEAR"`, `-refund`, `col:value`, `(urgent)`, `OR not`} {
		res := f.search(store.SearchQuery{Text: text})
		wantSlice(f.t, "found by "+text, hitIDs(res.Conversations), []int64{r.ConversationID})
	}
	_, err := f.s.Conversation(f.ctx, r.ConversationID)
	f.check(err, "conversation after hostile searches")
}

func testSearchEmpty(f *fixture) {
	ch := f.channel("x", "X")
	f.ingestOne(msg(ch, "p1", "anna", at(0)))
	for _, text := range []string{"", " ", "\t\n", "- * :", `"" ""`} {
		res := f.search(store.SearchQuery{Text: text})
		if len(res.Conversations)+len(res.Contacts) != 0 {
			f.t.Errorf("search %q found %+v, want nothing", text, res)
		}
	}
}

func testSearchMerge(f *fixture) {
	x := f.channel("x", "X")
	mail := f.channel("email", "Mail")
	in := msg(x, "p1", "anna", at(0))
	in.Handle, in.Name, in.Body = "@anna_x", "Anna de Vries", "Waar is mijn koffer?"
	a := f.ingestOne(in)
	in = msg(mail, "m1", "anna@example.com", at(1))
	in.Handle, in.Name, in.Body = "", "Annie Mail", "Suitcase still missing"
	b := f.ingestOne(in)

	f.check(f.s.MergeContacts(f.ctx, a.ContactID, b.ContactID, system), "merge")
	for _, text := range []string{"annie", "anna@example", "anna_x", "vries"} {
		res := f.search(store.SearchQuery{Text: text})
		wantSlice(f.t, "contacts found by "+text, contactIDs(res.Contacts), []int64{a.ContactID})
		if len(res.Contacts) == 1 {
			want(f.t, "identities of the merged contact", len(res.Contacts[0].Identities), 2)
		}
	}
	res := f.search(store.SearchQuery{Text: "suitcase"})
	wantSlice(f.t, "conversation of the merged contact", hitIDs(res.Conversations), []int64{b.ConversationID})
	if len(res.Conversations) == 1 {
		want(f.t, "its contact", res.Conversations[0].Conversation.ContactID, a.ContactID)
	}

	// People rename themselves: the new handle is found, the old one not.
	in = msg(x, "p2", "anna", at(2))
	in.Handle, in.Name = "@anna_new", "Anna Bakker"
	f.ingestOne(in)
	for text, wantIDs := range map[string][]int64{"anna_new": {a.ContactID}, "bakker": {a.ContactID}, "anna_x": {}} {
		res := f.search(store.SearchQuery{Text: text})
		wantSlice(f.t, "contacts found by "+text+" after the rename", contactIDs(res.Contacts), wantIDs)
	}
}

func testSearchLimit(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	var convs []int64
	for i := range 30 {
		in := msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))
		in.Body = fmt.Sprintf("delayed flight number %d", i)
		convs = append(convs, f.ingestOne(in).ConversationID)
	}
	for _, i := range []int{3, 7} {
		f.update(convs[i], store.ConversationChange{AssigneeID: &ag.ID})
	}
	tests := []struct {
		name string
		q    store.SearchQuery
		want int
	}{
		{"default 20", store.SearchQuery{Text: "delayed"}, 20},
		{"asked 5", store.SearchQuery{Text: "delayed", Limit: 5}, 5},
		{"above the maximum", store.SearchQuery{Text: "delayed", Limit: 1000}, 30},
		{"assigned only", store.SearchQuery{Text: "delayed", AssigneeID: ag.ID}, 2},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			res := f.sub(t).search(tt.q)
			want(t, "hits", len(res.Conversations), tt.want)
		})
	}
	res := f.search(store.SearchQuery{Text: "delayed", AssigneeID: ag.ID})
	wantSlice(f.t, "assigned hits", hitIDs(res.Conversations), []int64{convs[7], convs[3]})
	res = f.search(store.SearchQuery{Text: "delayed", Limit: 3})
	wantSlice(f.t, "newest first", hitIDs(res.Conversations), []int64{convs[29], convs[28], convs[27]})
}
