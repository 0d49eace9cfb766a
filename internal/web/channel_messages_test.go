package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

func TestChannelIngest(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ch := ts.Channel
	url := path("/api/v1/channels/%d/messages", ch.ID)
	first := inbound{ID: "msg-1", From: author{ID: "cust-1", Handle: "@anna", Name: "Anna"}, Text: "My parcel never arrived", Language: "en"}

	var stored ingestAnswer
	t.Run("first delivery is stored", func(t *testing.T) {
		stored = ts.ingest(t, first)
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Run("same id again is a duplicate with the same ids", func(t *testing.T) {
		again := first
		again.Text = "a re-delivery must not change anything"
		r := ts.check(t, scenario{method: "POST", url: url, token: ts.ChannelToken, body: jsonBody(t, again),
			status: http.StatusOK, contains: []string{`"duplicate":true`}})
		got := decodeJSON[ingestAnswer](t, r.Body)
		want := stored
		want.Duplicate = true
		if got != want {
			t.Errorf("duplicate answer %+v, want %+v", got, want)
		}
	})

	disabled, disabledToken := ts.seedChannel(t, "switched off", true)
	valid := func(id string) inbound {
		return inbound{ID: id, From: author{ID: "cust-bad"}, Text: "hello"}
	}
	// Every request here must be refused and store nothing.
	t.Run("refused", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "unknown channel", method: "POST", url: "/api/v1/channels/999999/messages", token: ts.ChannelToken,
				body: jsonBody(t, valid("r-unknown")), status: http.StatusNotFound, contains: []string{"999999"}},
			{name: "channel id not a number", method: "POST", url: "/api/v1/channels/abc/messages", token: ts.ChannelToken,
				body: jsonBody(t, valid("r-abc")), status: http.StatusNotFound},
			{name: "no token", method: "POST", url: url, body: jsonBody(t, valid("r-notoken")), status: http.StatusUnauthorized},
			{name: "wrong token", method: "POST", url: url, token: "wch_wrong", body: jsonBody(t, valid("r-wrongtoken")), status: http.StatusUnauthorized},
			{name: "another channel's token", method: "POST", url: url, token: disabledToken, body: jsonBody(t, valid("r-othertoken")), status: http.StatusUnauthorized},
			{name: "an agent's API token", method: "POST", url: url, token: ts.Tokens[store.RoleAdmin], body: jsonBody(t, valid("r-agenttoken")), status: http.StatusUnauthorized},
			{name: "not a bearer token", method: "POST", url: url, headers: map[string]string{"Authorization": "Basic " + ts.ChannelToken},
				body: jsonBody(t, valid("r-basic")), status: http.StatusUnauthorized},
			{name: "malformed JSON", method: "POST", url: url, token: ts.ChannelToken, body: `{"id": "r-malformed", "from": {"id": "x"}, "text": "hi"`,
				status: http.StatusBadRequest, contains: []string{"JSON"}},
			{name: "empty body", method: "POST", url: url, token: ts.ChannelToken, status: http.StatusBadRequest, contains: []string{"empty"}},
			{name: "a language that is no language", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-lang", "from": {"id": "x"}, "text": "hi", "language": "<script>"}`, status: http.StatusUnprocessableEntity, contains: []string{"language tag"}},
			{name: "a field given twice", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-twice", "from": {"id": "x", "id": "y"}, "text": "hi"}`, status: http.StatusBadRequest, contains: []string{`id\" is given twice`}},
			{name: "a field given twice, once escaped", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-twice2", "from": {"id": "x"}, "text": "hi", "t\u0065xt": "smuggled"}`, status: http.StatusBadRequest, contains: []string{`text\" is given twice`}},
			{name: "no Content-Type", method: "POST", url: url, token: ts.ChannelToken, headers: map[string]string{"Content-Type": ""},
				body: jsonBody(t, valid("r-noct")), status: http.StatusUnsupportedMediaType},
			{name: "text over 64 KiB", method: "POST", url: url, token: ts.ChannelToken,
				body:   jsonBody(t, inbound{ID: "r-long", From: author{ID: "x"}, Text: strings.Repeat("a", 300<<10)}),
				status: http.StatusUnprocessableEntity, contains: []string{"65536"}},
			{name: "body over the limit for a message with its files", method: "POST", url: url, token: ts.ChannelToken,
				body:   jsonBody(t, inbound{ID: "r-huge", From: author{ID: "x"}, Text: strings.Repeat("a", 23<<20)}),
				status: http.StatusRequestEntityTooLarge, contains: []string{"bytes"}},
			{name: "invalid UTF-8", method: "POST", url: url, token: ts.ChannelToken,
				body: "{\"id\": \"r-utf8\", \"from\": {\"id\": \"x\"}, \"text\": \"caf\xe9 \xff\xfe\"}", status: http.StatusBadRequest, contains: []string{"UTF-8"}},
			{name: "invalid UTF-8 in a name", method: "POST", url: url, token: ts.ChannelToken,
				body: "{\"id\": \"r-utf8-name\", \"from\": {\"id\": \"x\", \"name\": \"\xc3\x28\"}, \"text\": \"hi\"}", status: http.StatusBadRequest, contains: []string{"UTF-8"}},
			{name: "text empty", method: "POST", url: url, token: ts.ChannelToken,
				body: jsonBody(t, inbound{ID: "r-empty", From: author{ID: "x"}}), status: http.StatusUnprocessableEntity, contains: []string{"text is required"}},
			{name: "text only spaces", method: "POST", url: url, token: ts.ChannelToken,
				body: jsonBody(t, inbound{ID: "r-spaces", From: author{ID: "x"}, Text: " \n\t "}), status: http.StatusUnprocessableEntity, contains: []string{"text is required"}},
			{name: "text over 64 KiB", method: "POST", url: url, token: ts.ChannelToken,
				body:   jsonBody(t, inbound{ID: "r-long", From: author{ID: "x"}, Text: strings.Repeat("b", 64<<10+1)}),
				status: http.StatusUnprocessableEntity, contains: []string{"text is 65537 bytes"}},
			{name: "text with NUL", method: "POST", url: url, token: ts.ChannelToken,
				body: jsonBody(t, inbound{ID: "r-nul", From: author{ID: "x"}, Text: "a\x00b"}), status: http.StatusUnprocessableEntity, contains: []string{"NUL"}},
			{name: "id missing", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"from": {"id": "x"}, "text": "hi"}`, status: http.StatusUnprocessableEntity, contains: []string{"id is required"}},
			{name: "author missing", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-noauthor", "text": "hi"}`, status: http.StatusUnprocessableEntity, contains: []string{"from.id is required"}},
			{name: "id too long", method: "POST", url: url, token: ts.ChannelToken,
				body: jsonBody(t, inbound{ID: strings.Repeat("i", 513), From: author{ID: "x"}, Text: "hi"}), status: http.StatusUnprocessableEntity, contains: []string{"id is 513 bytes"}},
			{name: "unknown field", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-field", "from": {"id": "x"}, "text": "hi", "colour": "red"}`, status: http.StatusBadRequest, contains: []string{"unknown field", "colour"}},
			{name: "unknown nested field", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-nested", "from": {"id": "x", "email": "a@b.c"}, "text": "hi"}`, status: http.StatusBadRequest, contains: []string{"unknown field", "email"}},
			{name: "array instead of object", method: "POST", url: url, token: ts.ChannelToken,
				body: `[{"id": "r-array", "from": {"id": "x"}, "text": "hi"}]`, status: http.StatusBadRequest,
				contains: []string{"JSON object"}, excludes: []string{"web.", "inboundMessage"}},
			{name: "a string instead of object", method: "POST", url: url, token: ts.ChannelToken,
				body: `"hello"`, status: http.StatusBadRequest, contains: []string{"JSON object"}},
			{name: "wrong field type", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-type", "from": {"id": "x"}, "text": 5}`, status: http.StatusBadRequest, contains: []string{"text", "must be a string, not number"}},
			{name: "author is not an object", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-from", "from": "anna", "text": "hi"}`, status: http.StatusBadRequest,
				contains: []string{"from", "must be an object, not string"}, excludes: []string{"struct"}},
			{name: "bad sent_at", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-time", "from": {"id": "x"}, "text": "hi", "sent_at": "yesterday"}`, status: http.StatusBadRequest},
			{name: "two JSON values", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-two", "from": {"id": "x"}, "text": "hi"} {"id": "r-three"}`, status: http.StatusBadRequest, contains: []string{"more than one"}},
			{name: "trailing bracket", method: "POST", url: url, token: ts.ChannelToken,
				body: `{"id": "r-trailing", "from": {"id": "x"}, "text": "hi"}]`, status: http.StatusBadRequest},
			{name: "content type text/plain", method: "POST", url: url, token: ts.ChannelToken, headers: map[string]string{"Content-Type": "text/plain"},
				body: jsonBody(t, valid("r-plain")), status: http.StatusUnsupportedMediaType, contains: []string{"application/json"}},
			{name: "content type form", method: "POST", url: url, token: ts.ChannelToken, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
				body: "id=r-form&text=hi", status: http.StatusUnsupportedMediaType},
			{name: "disabled channel", method: "POST", url: path("/api/v1/channels/%d/messages", disabled.ID), token: disabledToken,
				body: jsonBody(t, valid("r-disabled")), status: http.StatusConflict, contains: []string{"disabled"}},
			{name: "GET is no endpoint", method: "GET", url: url, token: ts.ChannelToken, status: http.StatusNotFound},
		})
	})

	t.Run("the stored message survived unchanged", func(t *testing.T) {
		d := ts.conversation(t, store.RoleAgent, stored.ConversationID)
		if len(d.Messages) != 1 || d.Conversation.MessageCount != 1 {
			t.Fatalf("conversation holds %d messages (count %d), want 1", len(d.Messages), d.Conversation.MessageCount)
		}
		m := d.Messages[0]
		if m.ID != stored.MessageID || m.Body != first.Text || m.PlatformID != first.ID || m.Direction != store.DirInbound {
			t.Errorf("message %+v, want the first delivery", m)
		}
		if d.Contact.ID != stored.ContactID || d.Conversation.Language != "en" {
			t.Errorf("contact %d, language %q; want %d, en", d.Contact.ID, d.Conversation.Language, stored.ContactID)
		}
		ctx := context.Background()
		for _, cid := range []int64{ch.ID, disabled.ID} {
			n, err := ts.Store.CountConversations(ctx, store.ConversationFilter{ChannelID: cid})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[int64]int{ch.ID: 1, disabled.ID: 0}[cid]; n != want {
				t.Errorf("channel %d has %d conversations, want %d", cid, n, want)
			}
		}
		contacts, err := ts.Store.Contacts(ctx, store.ContactFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(contacts) != 1 {
			t.Errorf("%d contacts stored, want 1: %+v", len(contacts), contacts)
		}
	})

	t.Run("threading and identities", func(t *testing.T) {
		// The same author continues the open conversation; another author
		// starts their own; a shared platform joins identities across channels.
		same := ts.ingest(t, inbound{ID: "msg-2", From: author{ID: "cust-1"}, Text: "Any news?"})
		if same.ConversationID != stored.ConversationID || same.ContactID != stored.ContactID {
			t.Errorf("second message from the same author: %+v, want conversation %d", same, stored.ConversationID)
		}
		other := ts.ingest(t, inbound{ID: "msg-3", From: author{ID: "cust-2"}, Text: "Hi"})
		if other.ConversationID == stored.ConversationID || other.ContactID == stored.ContactID {
			t.Errorf("another author joined the first conversation: %+v", other)
		}
		private := ts.ingest(t, inbound{ID: "msg-4", From: author{ID: "cust-1"}, Text: "my address is secret", Private: true})
		if private.ConversationID == stored.ConversationID || private.ContactID != stored.ContactID {
			t.Errorf("a private message should start its own conversation with the same contact: %+v", private)
		}
	})
}

// gatedStore holds commits until its gate opens: a disk that cannot keep
// up with the senders.
type gatedStore struct {
	store.Store
	gate    chan struct{}
	holding chan struct{} // told when a commit is held
}

func (s gatedStore) Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error) {
	select {
	case s.holding <- struct{}{}:
	default:
	}
	<-s.gate
	return s.Store.Ingest(ctx, batch)
}

// TestIngestShedsLoad: when more messages wait for the commit than the
// pipeline takes, a sender hears 503 with Retry-After at once, before its
// body is even read, instead of waiting in a queue without end; what was
// accepted is stored.
func TestIngestShedsLoad(t *testing.T) {
	gate, holding := make(chan struct{}), make(chan struct{}, 1)
	ts := newTestServer(t, func(o *web.Options) {
		o.Pipeline = ingest.New(gatedStore{Store: o.Store, gate: gate, holding: holding}, o.Bus, ingest.Options{MaxBatch: 1, ShedAt: 1})
	})
	t.Cleanup(ts.Pipeline.Close)
	url := path("/api/v1/channels/%d/messages", ts.Channel.ID)
	codes := make(chan int, 2)
	send := func(id string) {
		r := ts.do(t, scenario{method: "POST", url: url, token: ts.ChannelToken, body: jsonBody(t, inbound{ID: id, From: author{ID: "c"}, Text: "hi"})})
		codes <- r.StatusCode
	}
	go send("q-1")
	<-holding      // q-1 is being committed (held)
	go send("q-2") // and q-2 waits in the queue
	deadline := time.Now().Add(10 * time.Second)
	for !ts.Pipeline.Busy() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r := ts.check(t, scenario{method: "POST", url: url, token: ts.ChannelToken, body: jsonBody(t, inbound{ID: "shed", From: author{ID: "c"}, Text: "one too many"}),
		status: http.StatusServiceUnavailable, contains: []string{"send it again"}})
	if r.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.Header.Get("Retry-After"))
	}
	close(gate)
	for range 2 {
		if c := <-codes; c != http.StatusCreated {
			t.Errorf("an accepted message answered %d", c)
		}
	}
	ts.check(t, scenario{method: "POST", url: url, token: ts.ChannelToken, body: jsonBody(t, inbound{ID: "shed", From: author{ID: "c"}, Text: "one too many"}),
		status: http.StatusCreated})
}
