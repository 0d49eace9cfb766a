package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

type conversationPage struct {
	Conversations []store.Conversation `json:"conversations"`
	NextCursor    string               `json:"next_cursor"`
}

// listIDs lists conversations as role with the query and returns their ids.
func (ts *testServer) listIDs(t *testing.T, role store.Role, query string) []int64 {
	t.Helper()
	r := ts.check(t, scenario{method: "GET", url: "/api/v1/conversations?" + query, token: ts.Tokens[role], status: http.StatusOK})
	return ids(decodeJSON[conversationPage](t, r.Body).Conversations)
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestConversationFilters(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	other, otherToken := ts.seedChannel(t, "second feed", false)
	agent, sup := ts.Agents[store.RoleAgent], ts.Agents[store.RoleSupervisor]

	c1 := ts.ingest(t, inbound{ID: "f-1", From: author{ID: "u1"}, Text: "hallo", Language: "nl"}).ConversationID
	c2 := ts.ingest(t, inbound{ID: "f-2", From: author{ID: "u2"}, Text: "hello", Language: "en"}).ConversationID
	c3 := ts.ingestTo(t, other.ID, otherToken, inbound{ID: "f-3", From: author{ID: "u3"}, Text: "guten tag", Language: "de"}).ConversationID
	c4 := ts.ingestTo(t, other.ID, otherToken, inbound{ID: "f-4", From: author{ID: "u4"}, Text: "hi again", Language: "en"}).ConversationID
	ts.patch(t, store.RoleSupervisor, c1, path(`{"assignee_id": %d}`, agent.ID))
	ts.patch(t, store.RoleSupervisor, c2, path(`{"status": "open", "team_id": %d}`, ts.Team.ID))
	ts.patch(t, store.RoleSupervisor, c4, path(`{"status": "resolved", "assignee_id": %d}`, sup.ID))

	tests := []struct {
		query string
		role  store.Role
		want  []int64
	}{
		{"", store.RoleAgent, []int64{c1, c2, c3, c4}},
		{"status=new", store.RoleAgent, []int64{c1, c3}},
		{"status=open", store.RoleAgent, []int64{c2}},
		{"status=new,open", store.RoleAgent, []int64{c1, c2, c3}},
		{"status=new,+resolved", store.RoleAgent, []int64{c1, c3, c4}},
		{"status=pending", store.RoleAgent, nil},
		{path("channel=%d", other.ID), store.RoleAgent, []int64{c3, c4}},
		{path("channel=%d", ts.Channel.ID), store.RoleAgent, []int64{c1, c2}},
		{"language=nl", store.RoleAgent, []int64{c1}},
		{"language=EN", store.RoleAgent, []int64{c2, c4}},
		{"assignee=me", store.RoleAgent, []int64{c1}},
		{"assignee=me", store.RoleSupervisor, []int64{c4}},
		{"assignee=me", store.RoleVolunteer, nil},
		{"assignee=none", store.RoleAgent, []int64{c2, c3}},
		{path("assignee=%d", agent.ID), store.RoleVolunteer, []int64{c1}},
		{path("team=%d", ts.Team.ID), store.RoleAgent, []int64{c2}},
		{"team=none", store.RoleAgent, []int64{c1, c3, c4}},
		{path("status=new&channel=%d&language=de&assignee=none&team=none", other.ID), store.RoleAgent, []int64{c3}},
		{path("contact=%d", ts.conversation(t, store.RoleAgent, c2).Contact.ID), store.RoleAgent, []int64{c2}},
	}
	t.Run("filters", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(string(tt.role)+" "+tt.query, func(t *testing.T) {
				t.Parallel()
				if got := ts.listIDs(t, tt.role, tt.query); !sameIDs(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})

	tok := ts.Tokens[store.RoleAgent]
	t.Run("bad queries", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "bad status", method: "GET", url: "/api/v1/conversations?status=open,closed", token: tok, status: http.StatusBadRequest, contains: []string{"closed"}},
			{name: "bad cursor", method: "GET", url: "/api/v1/conversations?cursor=not-a-cursor", token: tok, status: http.StatusBadRequest, contains: []string{"cursor"}},
			{name: "forged cursor", method: "GET", url: "/api/v1/conversations?cursor=MTIzLi0x", token: tok, status: http.StatusBadRequest}, // "123.-1"
			{name: "bad channel", method: "GET", url: "/api/v1/conversations?channel=x", token: tok, status: http.StatusBadRequest},
			{name: "bad assignee", method: "GET", url: "/api/v1/conversations?assignee=someone", token: tok, status: http.StatusBadRequest},
			{name: "negative assignee", method: "GET", url: "/api/v1/conversations?assignee=-3", token: tok, status: http.StatusBadRequest},
			{name: "team me is no team", method: "GET", url: "/api/v1/conversations?team=me", token: tok, status: http.StatusBadRequest},
			{name: "limit zero", method: "GET", url: "/api/v1/conversations?limit=0", token: tok, status: http.StatusBadRequest},
			{name: "limit too high", method: "GET", url: "/api/v1/conversations?limit=201", token: tok, status: http.StatusBadRequest},
			{name: "limit not a number", method: "GET", url: "/api/v1/conversations?limit=ten", token: tok, status: http.StatusBadRequest},
			{name: "unknown conversation", method: "GET", url: "/api/v1/conversations/999999", token: tok, status: http.StatusNotFound},
			{name: "conversation id not a number", method: "GET", url: "/api/v1/conversations/first", token: tok, status: http.StatusNotFound},
			{name: "messages of unknown conversation", method: "GET", url: "/api/v1/conversations/999999/messages", token: tok, status: http.StatusNotFound},
			{name: "messages after not a number", method: "GET", url: path("/api/v1/conversations/%d/messages?after=x", c1), token: tok, status: http.StatusBadRequest},
		})
	})
}

func TestConversationPagination(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const total = 123
	// Seed through the pipeline, in parallel, so that batches commit
	// together; many conversations share a timestamp, which the cursor
	// must break by id.
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for i := range total {
		wg.Go(func() {
			_, err := ts.Pipeline.Ingest(context.Background(), channel.Message{ChannelID: ts.Channel.ID, PlatformID: path("p-%d", i),
				From: channel.Author{ExternalID: path("author-%d", i)}, Text: "page me", SentAt: base.Add(time.Duration(i%7) * time.Second)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	for _, limit := range []int{0, 7, 50, 123, 200} {
		t.Run(path("limit %d", limit), func(t *testing.T) {
			t.Parallel()
			seen := map[int64]bool{}
			var order []store.Conversation
			q := url.Values{}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			pageSize := limit
			if pageSize == 0 {
				pageSize = 50
			}
			for pages := 0; ; pages++ {
				if pages > total {
					t.Fatal("pagination does not end")
				}
				r := ts.check(t, scenario{method: "GET", url: "/api/v1/conversations?" + q.Encode(), token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK})
				page := decodeJSON[conversationPage](t, r.Body)
				if len(page.Conversations) > pageSize {
					t.Fatalf("page of %d, limit %d", len(page.Conversations), pageSize)
				}
				for _, c := range page.Conversations {
					if seen[c.ID] {
						t.Fatalf("conversation %d listed twice", c.ID)
					}
					seen[c.ID] = true
					order = append(order, c)
				}
				if page.NextCursor == "" {
					if len(page.Conversations) == pageSize {
						t.Errorf("a full page without next_cursor")
					}
					break
				}
				q.Set("cursor", page.NextCursor)
			}
			if len(seen) != total {
				t.Errorf("walked %d conversations, want %d", len(seen), total)
			}
			sorted := slices.IsSortedFunc(order, func(a, b store.Conversation) int {
				if c := b.LastMessageAt.Compare(a.LastMessageAt); c != 0 {
					return c
				}
				return int(b.ID - a.ID)
			})
			if !sorted {
				t.Error("conversations are not newest first (ties by id)")
			}
		})
	}
}

func TestConversationWork(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent, agent2, sup, vol := ts.Tokens[store.RoleAgent], ts.Agent2, ts.Tokens[store.RoleSupervisor], ts.Tokens[store.RoleVolunteer]
	first := ts.ingest(t, inbound{ID: "w-1", From: author{ID: "anna-1", Handle: "@anna", Name: "Anna"}, Text: "Where is my refund?", Subject: "Refund"})
	conv := first.ConversationID
	url := path("/api/v1/conversations/%d", conv)

	t.Run("detail", func(t *testing.T) {
		d := ts.conversation(t, store.RoleAgent, conv)
		if d.Conversation.ID != conv || d.Conversation.Status != store.StatusNew || d.Conversation.Subject != "Refund" || d.Conversation.WaitingSince == nil {
			t.Errorf("conversation %+v", d.Conversation)
		}
		if len(d.Messages) != 1 || d.Messages[0].Body != "Where is my refund?" {
			t.Errorf("messages %+v", d.Messages)
		}
		if d.Contact.ID != first.ContactID || d.Contact.Name != "Anna" || len(d.Contact.Identities) != 1 ||
			d.Contact.Identities[0].ExternalID != "anna-1" || d.Contact.Identities[0].Handle != "@anna" {
			t.Errorf("contact %+v", d.Contact)
		}
		if d.Channel.ID != ts.Channel.ID || d.History == nil || len(d.History) != 0 {
			t.Errorf("channel %d, history %v", d.Channel.ID, d.History)
		}
	})

	ts.run(t, []scenario{
		{name: "note", method: "POST", url: url + "/notes", token: agent, body: `{"body": "customer called too"}`, status: http.StatusCreated,
			contains: []string{`"direction":"note"`, `"delivery":"internal"`}},
		{name: "empty note", method: "POST", url: url + "/notes", token: agent, body: `{"body": "  "}`, status: http.StatusUnprocessableEntity},
		{name: "note too long", method: "POST", url: url + "/notes", token: agent, body: jsonBody(t, map[string]string{"body": strings.Repeat("n", 10001)}),
			status: http.StatusUnprocessableEntity},
		{name: "reply is queued", method: "POST", url: url + "/replies", token: agent, body: `{"body": "We are on it, Anna."}`, status: http.StatusAccepted,
			contains: []string{`"direction":"out"`, `"delivery":"queued"`, `"reply_to":"w-1"`, `"state":"pending"`, `"outbox"`}},
		{name: "empty reply", method: "POST", url: url + "/replies", token: agent, body: `{"body": ""}`, status: http.StatusUnprocessableEntity},
		{name: "reply with unknown field", method: "POST", url: url + "/replies", token: agent, body: `{"message": "hi"}`, status: http.StatusBadRequest},
		{name: "reply with text and body saying different things", method: "POST", url: url + "/replies", token: agent, body: `{"text": "hi", "body": "bye"}`, status: http.StatusBadRequest},
		{name: "reply to unknown conversation", method: "POST", url: "/api/v1/conversations/999999/replies", token: agent, body: `{"body": "hi"}`, status: http.StatusNotFound},
	})

	t.Run("after the reply", func(t *testing.T) {
		d := ts.conversation(t, store.RoleAgent, conv)
		c := d.Conversation
		if c.Status != store.StatusOpen || c.WaitingSince != nil || c.FirstResponseAt == nil || c.AssigneeID != ts.Agents[store.RoleAgent].ID || c.MessageCount != 3 {
			t.Errorf("conversation after reply: %+v", c)
		}
		entries, err := ts.Store.ClaimOutbox(context.Background(), time.Now().Add(time.Minute), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].ConversationID != conv {
			t.Errorf("outbox %+v: want one entry for conversation %d", entries, conv)
		}
	})

	patches := []scenario{
		{name: "pending", method: "PATCH", url: url, token: agent, body: `{"status": "pending"}`, status: http.StatusOK, contains: []string{`"status":"pending"`}},
		{name: "unknown status", method: "PATCH", url: url, token: agent, body: `{"status": "closed"}`, status: http.StatusUnprocessableEntity},
		{name: "snooze without until", method: "PATCH", url: url, token: agent, body: `{"status": "snoozed"}`, status: http.StatusUnprocessableEntity, contains: []string{"snoozed_until"}},
		{name: "snooze into the past", method: "PATCH", url: url, token: agent,
			body: jsonBody(t, map[string]any{"status": "snoozed", "snoozed_until": time.Now().Add(-time.Hour)}), status: http.StatusUnprocessableEntity},
		{name: "snooze", method: "PATCH", url: url, token: agent,
			body: jsonBody(t, map[string]any{"status": "snoozed", "snoozed_until": time.Now().Add(time.Hour)}), status: http.StatusOK,
			contains: []string{`"status":"snoozed"`, `"snoozed_until"`}},
		{name: "moving the snooze into the past", method: "PATCH", url: url, token: agent,
			body: jsonBody(t, map[string]any{"snoozed_until": time.Now().Add(-time.Minute)}), status: http.StatusUnprocessableEntity},
		{name: "moving the snooze later", method: "PATCH", url: url, token: agent,
			body: jsonBody(t, map[string]any{"snoozed_until": time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)}), status: http.StatusOK,
			contains: []string{`"status":"snoozed"`, `"snoozed_until":"2099-01-02T03:04:05Z"`}},
		{name: "open again clears the snooze", method: "PATCH", url: url, token: agent, body: `{"status": "open"}`, status: http.StatusOK,
			excludes: []string{"snoozed_until"}},
		{name: "priority", method: "PATCH", url: url, token: agent, body: `{"priority": 2}`, status: http.StatusOK, contains: []string{`"priority":2`}},
		{name: "priority out of range", method: "PATCH", url: url, token: agent, body: `{"priority": 4}`, status: http.StatusUnprocessableEntity},
		{name: "tags, deduplicated", method: "PATCH", url: url, token: agent, body: `{"tags": ["refund", " vip ", "refund"]}`, status: http.StatusOK,
			contains: []string{`"tags":["refund","vip"]`}},
		{name: "empty tag", method: "PATCH", url: url, token: agent, body: `{"tags": ["ok", ""]}`, status: http.StatusUnprocessableEntity},
		{name: "tag too long", method: "PATCH", url: url, token: agent, body: jsonBody(t, map[string]any{"tags": []string{strings.Repeat("t", 51)}}), status: http.StatusUnprocessableEntity},
		{name: "agent gives it to someone else", method: "PATCH", url: url, token: agent, body: path(`{"assignee_id": %d}`, agent2.ID), status: http.StatusForbidden},
		{name: "agent moves it to a team", method: "PATCH", url: url, token: agent, body: path(`{"team_id": %d}`, ts.Team.ID), status: http.StatusForbidden},
		{name: "agent releases their own", method: "PATCH", url: url, token: agent, body: `{"assignee_id": 0}`, status: http.StatusOK, excludes: []string{"assignee_id"}},
		{name: "volunteer takes it", method: "PATCH", url: url, token: vol, body: path(`{"assignee_id": %d}`, ts.Agents[store.RoleVolunteer].ID), status: http.StatusOK,
			contains: []string{path(`"assignee_id":%d`, ts.Agents[store.RoleVolunteer].ID)}},
		{name: "agent cannot release someone else's", method: "PATCH", url: url, token: agent, body: `{"assignee_id": 0}`, status: http.StatusForbidden},
		{name: "supervisor assigns to an agent", method: "PATCH", url: url, token: sup, body: path(`{"assignee_id": %d}`, agent2.ID), status: http.StatusOK,
			contains: []string{path(`"assignee_id":%d`, agent2.ID)}},
		{name: "supervisor assigns to a disabled agent", method: "PATCH", url: url, token: sup, body: path(`{"assignee_id": %d}`, ts.Disabled.ID), status: http.StatusUnprocessableEntity},
		{name: "supervisor assigns to an unknown agent", method: "PATCH", url: url, token: sup, body: `{"assignee_id": 999999}`, status: http.StatusUnprocessableEntity},
		{name: "supervisor assigns to a negative id", method: "PATCH", url: url, token: sup, body: `{"assignee_id": -1}`, status: http.StatusUnprocessableEntity},
		{name: "supervisor sets the team", method: "PATCH", url: url, token: sup, body: path(`{"team_id": %d}`, ts.Team.ID), status: http.StatusOK,
			contains: []string{path(`"team_id":%d`, ts.Team.ID)}},
		{name: "supervisor sets an unknown team", method: "PATCH", url: url, token: sup, body: `{"team_id": 999999}`, status: http.StatusUnprocessableEntity},
		{name: "assignee as a string", method: "PATCH", url: url, token: sup, body: `{"assignee_id": "7"}`, status: http.StatusBadRequest},
		{name: "resolve", method: "PATCH", url: url, token: agent, body: `{"status": "resolved"}`, status: http.StatusOK, contains: []string{`"status":"resolved"`}},
		{name: "reply to a resolved conversation", method: "POST", url: url + "/replies", token: agent, body: `{"body": "one more thing"}`, status: http.StatusConflict,
			contains: []string{"resolved"}},
		{name: "a note on a resolved conversation is fine", method: "POST", url: url + "/notes", token: agent, body: `{"body": "closed after refund"}`, status: http.StatusCreated},
	}
	t.Run("changes", func(t *testing.T) { ts.run(t, patches) })

	t.Run("audit trail", func(t *testing.T) {
		subject := path("conversation/%d", conv)
		r := ts.check(t, scenario{method: "GET", url: "/api/v1/audit?subject=" + subject, token: sup, status: http.StatusOK,
			contains: []string{"conversation.update", "status open→pending", "status pending→snoozed", "snoozed until", "priority 0→2", "tags refund,vip",
				path("assignee %d→0", ts.Agents[store.RoleAgent].ID), path("assignee %d→%d", ts.Agents[store.RoleVolunteer].ID, agent2.ID),
				path("team 0→%d", ts.Team.ID), "status open→resolved"},
			excludes: []string{"closed", "999999"}})
		entries := decodeJSON[struct {
			Entries []store.AuditEntry `json:"entries"`
		}](t, r.Body).Entries
		byAgent := map[int64]int{}
		for _, e := range entries {
			if e.Subject != subject {
				t.Errorf("entry for %q in the trail of %q", e.Subject, subject)
			}
			byAgent[e.AgentID]++
		}
		if byAgent[ts.Agents[store.RoleSupervisor].ID] != 2 || byAgent[ts.Agents[store.RoleVolunteer].ID] != 1 {
			t.Errorf("entries by agent %v: want 2 by the supervisor, 1 by the volunteer", byAgent)
		}
		ts.check(t, scenario{method: "GET", url: "/api/v1/audit?subject=" + subject, token: agent, status: http.StatusForbidden})
		ts.check(t, scenario{method: "GET", url: "/api/v1/audit?before=x", token: sup, status: http.StatusBadRequest})
	})

	t.Run("a new message after resolving starts a new conversation with history", func(t *testing.T) {
		again := ts.ingest(t, inbound{ID: "w-2", From: author{ID: "anna-1"}, Text: "The refund is wrong"})
		if again.ConversationID == conv || again.ContactID != first.ContactID {
			t.Fatalf("answer %+v: want a new conversation for contact %d", again, first.ContactID)
		}
		d := ts.conversation(t, store.RoleAgent, again.ConversationID)
		if got := ids(d.History); !slices.Equal(got, []int64{conv}) {
			t.Errorf("history %v, want [%d]", got, conv)
		}
		if len(d.Messages) != 1 || d.Messages[0].Body != "The refund is wrong" {
			t.Errorf("messages %+v", d.Messages)
		}
		old := ts.conversation(t, store.RoleAgent, conv)
		if got := ids(old.History); !slices.Equal(got, []int64{again.ConversationID}) {
			t.Errorf("old conversation's history %v, want [%d]", got, again.ConversationID)
		}
	})

	t.Run("messages page", func(t *testing.T) {
		r := ts.check(t, scenario{method: "GET", url: url + "/messages", token: agent, status: http.StatusOK})
		msgs := decodeJSON[struct {
			Messages []store.Message `json:"messages"`
		}](t, r.Body).Messages
		var dirs []store.Direction
		for _, m := range msgs {
			dirs = append(dirs, m.Direction)
		}
		if want := []store.Direction{store.DirInbound, store.DirNote, store.DirOutbound, store.DirNote}; !slices.Equal(dirs, want) {
			t.Fatalf("directions %v, want %v", dirs, want)
		}
		r = ts.check(t, scenario{method: "GET", url: path("%s/messages?after=%d", url, msgs[1].ID), token: agent, status: http.StatusOK})
		rest := decodeJSON[struct {
			Messages []store.Message `json:"messages"`
		}](t, r.Body).Messages
		if len(rest) != 2 || rest[0].ID != msgs[2].ID {
			t.Errorf("after %d: %+v", msgs[1].ID, rest)
		}
	})
}

func TestReplyIdempotency(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "i-1", From: author{ID: "c1"}, Text: "hello"}).ConversationID
	other := ts.ingest(t, inbound{ID: "i-2", From: author{ID: "c2"}, Text: "hello"}).ConversationID
	tok := ts.Tokens[store.RoleAgent]
	replies := path("/api/v1/conversations/%d/replies", conv)
	key := map[string]string{"Idempotency-Key": "retry-1f3a"}

	ts.run(t, []scenario{
		{name: "first", method: "POST", url: replies, token: tok, headers: key, body: `{"body": "Thanks!"}`, status: http.StatusAccepted,
			contains: []string{path(`"idempotency_key":"c%d:retry-1f3a"`, conv)}},
		{name: "the retry", method: "POST", url: replies, token: tok, headers: key, body: `{"body": "Thanks!"}`, status: http.StatusConflict,
			contains: []string{"Idempotency-Key"}},
		{name: "the same key by someone else", method: "POST", url: replies, token: ts.Tokens[store.RoleSupervisor], headers: key, body: `{"body": "Thanks!"}`,
			status: http.StatusConflict},
		{name: "the same key on another conversation", method: "POST", url: path("/api/v1/conversations/%d/replies", other), token: tok, headers: key,
			body: `{"body": "Thanks!"}`, status: http.StatusAccepted},
		{name: "another key", method: "POST", url: replies, token: tok, headers: map[string]string{"Idempotency-Key": "retry-2"}, body: `{"body": "And more"}`,
			status: http.StatusAccepted},
		{name: "no key", method: "POST", url: replies, token: tok, body: `{"body": "And more"}`, status: http.StatusAccepted},
		{name: "key too long", method: "POST", url: replies, token: tok, headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 201)},
			body: `{"body": "long key"}`, status: http.StatusBadRequest},
	})

	t.Run("one outbound message per key", func(t *testing.T) {
		d := ts.conversation(t, store.RoleAgent, conv)
		var bodies []string
		for _, m := range d.Messages {
			if m.Direction == store.DirOutbound {
				bodies = append(bodies, m.Body)
			}
		}
		if want := []string{"Thanks!", "And more", "And more"}; !slices.Equal(bodies, want) {
			t.Errorf("outbound messages %q, want %q", bodies, want)
		}
		if d.Conversation.MessageCount != 4 {
			t.Errorf("message_count %d, want 4", d.Conversation.MessageCount)
		}
		depth, err := ts.Store.OutboxDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if depth != 4 {
			t.Errorf("outbox depth %d, want 4", depth)
		}
	})
}

func TestFieldStaffSeeOnlyTheirs(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	field := ts.Agents[store.RoleField]
	tok := ts.Tokens[store.RoleField]
	mine := ts.ingest(t, inbound{ID: "fs-1", From: author{ID: "pax-1"}, Text: "cabin 12 is cold"}).ConversationID
	notMine := ts.ingest(t, inbound{ID: "fs-2", From: author{ID: "pax-2"}, Text: "lost luggage"}).ConversationID
	alsoMine := ts.ingest(t, inbound{ID: "fs-3", From: author{ID: "pax-1"}, Text: "privately: my phone number", Private: true}).ConversationID
	ts.patch(t, store.RoleSupervisor, mine, path(`{"assignee_id": %d}`, field.ID))

	t.Run("before the second assignment", func(t *testing.T) {
		for _, q := range []string{"", "assignee=none", path("assignee=%d", ts.Agents[store.RoleAgent].ID), "status=new"} {
			if got := ts.listIDs(t, store.RoleField, q); !slices.Equal(got, []int64{mine}) {
				t.Errorf("field list %q: %v, want only %d", q, got, mine)
			}
		}
	})
	ts.patch(t, store.RoleSupervisor, alsoMine, path(`{"assignee_id": %d}`, field.ID))
	if got := ts.listIDs(t, store.RoleField, ""); !sameIDs(got, []int64{mine, alsoMine}) {
		t.Errorf("field list: %v, want %d and %d", got, mine, alsoMine)
	}

	t.Run("detail of their own has no history", func(t *testing.T) {
		d := ts.conversation(t, store.RoleField, mine)
		if len(d.History) != 0 {
			t.Errorf("field staff see the contact's other conversations: %v", ids(d.History))
		}
	})
	other := path("/api/v1/conversations/%d", notMine)
	own := path("/api/v1/conversations/%d", mine)
	ts.run(t, []scenario{
		{name: "another conversation is not found", method: "GET", url: other, token: tok, status: http.StatusNotFound, excludes: []string{"lost luggage"}},
		{name: "its messages neither", method: "GET", url: other + "/messages", token: tok, status: http.StatusNotFound},
		{name: "no reply to it", method: "POST", url: other + "/replies", token: tok, body: `{"body": "hi"}`, status: http.StatusNotFound},
		{name: "no note on it", method: "POST", url: other + "/notes", token: tok, body: `{"body": "hi"}`, status: http.StatusNotFound},
		{name: "cannot take it", method: "PATCH", url: other, token: tok, body: path(`{"assignee_id": %d}`, field.ID), status: http.StatusNotFound},
		{name: "their own messages", method: "GET", url: own + "/messages", token: tok, status: http.StatusOK, contains: []string{"cabin 12 is cold"}},
		{name: "a note on their own", method: "POST", url: own + "/notes", token: tok, body: `{"body": "heater fixed"}`, status: http.StatusCreated},
		{name: "a reply on their own", method: "POST", url: own + "/replies", token: tok, body: `{"body": "We fixed the heater."}`, status: http.StatusAccepted},
		{name: "cannot hand it on", method: "PATCH", url: own, token: tok, body: path(`{"assignee_id": %d}`, ts.Agents[store.RoleAgent].ID), status: http.StatusForbidden},
		{name: "cannot move it to a team", method: "PATCH", url: own, token: tok, body: path(`{"team_id": %d}`, ts.Team.ID), status: http.StatusForbidden},
		{name: "can resolve it", method: "PATCH", url: own, token: tok, body: `{"status": "resolved"}`, status: http.StatusOK},
		{name: "can release it", method: "PATCH", url: own, token: tok, body: `{"assignee_id": 0}`, status: http.StatusOK},
		{name: "and then it is gone", method: "GET", url: own, token: tok, status: http.StatusNotFound},
	})
}

func TestConversationWaitingOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var convs []int64
	for i := range 9 {
		a := ts.ingest(t, inbound{ID: path("wo-%d", i), From: author{ID: path("wo-author-%d", i)}, Text: "waiting?", SentAt: base.Add(time.Duration(i/2) * time.Minute)})
		convs = append(convs, a.ConversationID)
	}
	// Answered ones wait no longer and go to the end, newest first.
	for _, i := range []int{0, 3, 8} {
		ts.check(t, scenario{method: "POST", url: path("/api/v1/conversations/%d/replies", convs[i]), token: ts.Tokens[store.RoleAgent],
			body: `{"body": "on it"}`, status: http.StatusAccepted})
	}
	want := []int64{convs[1], convs[2], convs[4], convs[5], convs[6], convs[7], convs[8], convs[3], convs[0]}

	for _, limit := range []int{1, 2, 4, 50} {
		t.Run(path("limit %d", limit), func(t *testing.T) {
			t.Parallel()
			var walked []int64
			q := url.Values{"order": {"waiting"}, "limit": {fmt.Sprint(limit)}}
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatal("pagination does not end")
				}
				r := ts.check(t, scenario{method: "GET", url: "/api/v1/conversations?" + q.Encode(), token: ts.Tokens[store.RoleAgent], status: http.StatusOK})
				page := decodeJSON[conversationPage](t, r.Body)
				walked = append(walked, ids(page.Conversations)...)
				if page.NextCursor == "" {
					break
				}
				q.Set("cursor", page.NextCursor)
			}
			if !slices.Equal(walked, want) {
				t.Errorf("walked %v, want %v", walked, want)
			}
		})
	}

	r := ts.check(t, scenario{method: "GET", url: "/api/v1/conversations?order=waiting&limit=1", token: ts.Tokens[store.RoleAgent], status: http.StatusOK})
	waitingCursor := decodeJSON[conversationPage](t, r.Body).NextCursor
	ts.runParallel(t, []scenario{
		{name: "newest is the default", method: "GET", url: "/api/v1/conversations?order=newest&limit=1", token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
			contains: []string{path(`"id":%d,`, convs[8])}},
		{name: "unknown order", method: "GET", url: "/api/v1/conversations?order=oldest", token: ts.Tokens[store.RoleAgent], status: http.StatusBadRequest,
			contains: []string{"order must be newest or waiting"}},
		{name: "a waiting cursor in the newest order", method: "GET", url: "/api/v1/conversations?cursor=" + waitingCursor, token: ts.Tokens[store.RoleAgent],
			status: http.StatusBadRequest},
	})
}
