package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	ID, Type, Data string
	Event          bus.Event // Data decoded
}

// eventStream reads a server-sent event stream until its deadline.
type eventStream struct {
	resp     *http.Response
	lines    *bufio.Scanner
	retry    string
	comments []string
}

// openEvents connects to /api/v1/events; the stream gives up after 5 s,
// so a missing event fails the test instead of hanging it.
func (ts *testServer) openEvents(t *testing.T, token, lastEventID string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // before the server closes: it waits for open streams
		resp.Body.Close()
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	return &eventStream{resp: resp, lines: bufio.NewScanner(resp.Body)}
}

// next returns the next event, skipping comments and the retry hint.
func (s *eventStream) next(t *testing.T) sseEvent {
	t.Helper()
	var e sseEvent
	for s.lines.Scan() {
		line := s.lines.Text()
		switch {
		case line == "":
			if e.Type == "" && e.Data == "" {
				continue // the end of a retry hint or a comment
			}
			if e.Type != "reset" {
				if err := json.Unmarshal([]byte(e.Data), &e.Event); err != nil {
					t.Fatalf("event data %q: %v", e.Data, err)
				}
				if strconv.FormatUint(e.Event.Seq, 10) != e.ID || e.Event.Type != e.Type {
					t.Fatalf("event id %q type %q disagree with data %s", e.ID, e.Type, e.Data)
				}
			}
			return e
		case strings.HasPrefix(line, ":"):
			s.comments = append(s.comments, line)
		case strings.HasPrefix(line, "retry: "):
			s.retry = strings.TrimPrefix(line, "retry: ")
		case strings.HasPrefix(line, "id: "):
			e.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			e.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e.Data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected line %q in the event stream", line)
		}
	}
	t.Fatalf("event stream ended before the event arrived: %v", s.lines.Err())
	return e
}

// nextComment reads up to the next comment line (a keep-alive).
func (s *eventStream) nextComment(t *testing.T) string {
	t.Helper()
	if len(s.comments) > 0 {
		return s.comments[0]
	}
	for s.lines.Scan() {
		if line := s.lines.Text(); strings.HasPrefix(line, ":") {
			return line
		}
	}
	t.Fatalf("event stream ended before a comment arrived: %v", s.lines.Err())
	return ""
}

// waitFor reads events until one matches.
func (s *eventStream) waitFor(t *testing.T, what string, match func(sseEvent) bool) sseEvent {
	t.Helper()
	for {
		if e := s.next(t); match(e) {
			return e
		} else if testing.Verbose() {
			t.Logf("skipping %s %s while waiting for %s", e.Type, e.Data, what)
		}
	}
}

func received(conversationID int64) func(sseEvent) bool {
	return func(e sseEvent) bool {
		return e.Type == bus.MessageReceived && e.Event.ConversationID == conversationID
	}
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(o *web.Options) { o.Heartbeat = 10 * time.Millisecond })
	tok := ts.Tokens[store.RoleVolunteer]

	live := ts.openEvents(t, tok, "")
	first := ts.ingest(t, inbound{ID: "e-1", From: author{ID: "c1"}, Text: "hello"})
	e1 := live.waitFor(t, "the first message", received(first.ConversationID))
	if e1.Event.MessageID != first.MessageID || e1.Event.ContactID != first.ContactID || e1.Event.ChannelID != ts.Channel.ID {
		t.Errorf("event %+v for message %+v", e1.Event, first)
	}
	if live.retry != "2000" {
		t.Errorf("retry hint %q, want 2000", live.retry)
	}

	second := ts.ingest(t, inbound{ID: "e-2", From: author{ID: "c2"}, Text: "hello again"})
	e2 := live.waitFor(t, "the second message", received(second.ConversationID))
	ts.check(t, scenario{method: "POST", url: path("/api/v1/conversations/%d/notes", second.ConversationID), token: tok,
		body: `{"body": "noted"}`, status: http.StatusCreated})
	e3 := live.waitFor(t, "the note", func(e sseEvent) bool {
		return e.Type == bus.MessageCreated && e.Event.ConversationID == second.ConversationID
	})
	ts.patch(t, store.RoleVolunteer, second.ConversationID, `{"priority": 1}`)
	live.waitFor(t, "the change", func(e sseEvent) bool {
		return e.Type == bus.ConversationUpdated && e.Event.ConversationID == second.ConversationID && e.Event.AgentID == ts.Agents[store.RoleVolunteer].ID
	})
	if c := live.nextComment(t); c != ": keep-alive" {
		t.Errorf("comment %q, want a keep-alive", c)
	}

	t.Run("reconnect replays what came after Last-Event-ID", func(t *testing.T) {
		again := ts.openEvents(t, tok, e1.ID)
		if got := again.next(t); got.ID != e2.ID || got.Event.ConversationID != second.ConversationID {
			t.Fatalf("first replayed event %+v, want %s", got, e2.ID)
		}
		if got := again.next(t); got.ID != e3.ID || got.Type != bus.MessageCreated {
			t.Fatalf("second replayed event %+v, want %s", got, e3.ID)
		}
		// And it goes on live.
		third := ts.ingest(t, inbound{ID: "e-3", From: author{ID: "c3"}, Text: "live again"})
		again.waitFor(t, "the third message", received(third.ConversationID))
	})

	t.Run("Last-Event-ID from the future resets", func(t *testing.T) {
		s := ts.openEvents(t, tok, "1000000")
		if e := s.next(t); e.Type != "reset" || e.Data != "{}" {
			t.Fatalf("first event %+v, want reset", e)
		}
		// The stream still delivers what happens next.
		fourth := ts.ingest(t, inbound{ID: "e-4", From: author{ID: "c4"}, Text: "after reset"})
		s.waitFor(t, "the fourth message", received(fourth.ConversationID))
	})

	t.Run("up to date Last-Event-ID replays nothing", func(t *testing.T) {
		s := ts.openEvents(t, tok, strconv.FormatUint(ts.Bus.Seq(), 10))
		fifth := ts.ingest(t, inbound{ID: "e-5", From: author{ID: "c5"}, Text: "only this"})
		if e := s.next(t); !received(fifth.ConversationID)(e) {
			t.Fatalf("first event %+v, want the fifth message", e)
		}
	})

	ts.run(t, []scenario{
		{name: "bad Last-Event-ID", method: "GET", url: "/api/v1/events", token: tok, headers: map[string]string{"Last-Event-ID": "yesterday"}, status: http.StatusBadRequest},
		{name: "field staff get no stream", method: "GET", url: "/api/v1/events", token: ts.Tokens[store.RoleField], status: http.StatusForbidden},
		{name: "anonymous gets no stream", method: "GET", url: "/api/v1/events", status: http.StatusUnauthorized},
	})
}
