package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// wait bounds how long a test waits for something that should happen
// promptly; it only keeps a broken pipeline from hanging the test.
const wait = 15 * time.Second

// t0 is the pipeline's clock in tests that look at times: whole seconds,
// so stored milliseconds compare exactly.
var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newStore(t *testing.T) *sqlite.Store {
	return openStore(t, filepath.Join(t.TempDir(), "t.db"))
}

func newChannel(t *testing.T, st store.Store, c store.Channel) store.Channel {
	t.Helper()
	if c.Name == "" {
		c.Name = "test " + c.Kind
	}
	if err := st.CreateChannel(t.Context(), &c, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// newPipeline starts a pipeline that is closed (before the store) when the
// test ends.
func newPipeline(t *testing.T, st store.Store, b bus.Bus, o ingest.Options) *ingest.Pipeline {
	t.Helper()
	if b == nil {
		b = bus.NewMemory()
	}
	p := ingest.New(st, b, o)
	t.Cleanup(p.Close)
	return p
}

func msg(ch int64, id, from, text string) channel.Message {
	return channel.Message{ChannelID: ch, PlatformID: id, From: channel.Author{ExternalID: from}, Text: text}
}

func mustIngest(t *testing.T, p *ingest.Pipeline, m channel.Message) store.IngestResult {
	t.Helper()
	res, err := p.Ingest(t.Context(), m)
	if err != nil {
		t.Fatalf("Ingest(%q): %v", m.PlatformID, err)
	}
	return res
}

// eventually polls cond until it holds; the deadline only stops a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func unprocessed(t *testing.T, st store.Store) []int64 {
	t.Helper()
	msgs, err := st.Unprocessed(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

// storedMessages counts every message in every conversation.
func storedMessages(t *testing.T, st store.Store) (conversations, messages int) {
	t.Helper()
	ctx := t.Context()
	convs, err := st.Conversations(ctx, store.ConversationFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountConversations(ctx, store.ConversationFilter{}); err != nil || n != len(convs) {
		t.Fatalf("CountConversations = %d, %v; listed %d", n, err, len(convs))
	}
	for _, c := range convs {
		for after := int64(0); ; {
			ms, err := st.Messages(ctx, c.ID, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			messages += len(ms)
			after = ms[len(ms)-1].ID
		}
	}
	return len(convs), messages
}

func TestIngestRefusesInvalid(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	off := newChannel(t, st, store.Channel{Kind: "x", Disabled: true})
	b := bus.NewMemory()
	events, cancel, _ := b.Subscribe(t.Context(), 0)
	defer cancel()
	p := newPipeline(t, st, b, ingest.Options{})

	valid := func(change func(*channel.Message)) channel.Message {
		m := channel.Message{ChannelID: ch.ID, PlatformID: "m1", From: channel.Author{ExternalID: "u1", Name: "Ann", Handle: "@ann"}, Text: "hello"}
		change(&m)
		return m
	}
	tests := []struct {
		name    string
		m       channel.Message
		wantErr error
		field   string // the field the message must name
		detail  string
	}{
		{"missing id", valid(func(m *channel.Message) { m.PlatformID = "" }), ingest.ErrInvalid, "id", "is required"},
		{"blank id", valid(func(m *channel.Message) { m.PlatformID = " \t " }), ingest.ErrInvalid, "id", "is required"},
		{"missing from.id", valid(func(m *channel.Message) { m.From.ExternalID = "" }), ingest.ErrInvalid, "from.id", "is required"},
		{"missing text", valid(func(m *channel.Message) { m.Text = "" }), ingest.ErrInvalid, "text", "is required"},
		{"blank text", valid(func(m *channel.Message) { m.Text = " \r\n\t " }), ingest.ErrInvalid, "text", "is required"},
		{"invalid UTF-8 in text", valid(func(m *channel.Message) { m.Text = "caf\xe9" }), ingest.ErrInvalid, "text", "not valid UTF-8"},
		{"invalid UTF-8 in name", valid(func(m *channel.Message) { m.From.Name = "\xff\xfe" }), ingest.ErrInvalid, "from.name", "not valid UTF-8"},
		{"invalid UTF-8 in id", valid(func(m *channel.Message) { m.PlatformID = "m\xc3" }), ingest.ErrInvalid, "id", "not valid UTF-8"},
		{"NUL in text", valid(func(m *channel.Message) { m.Text = "hello\x00world" }), ingest.ErrInvalid, "text", "NUL"},
		{"NUL in id", valid(func(m *channel.Message) { m.PlatformID = "m\x001" }), ingest.ErrInvalid, "id", "NUL"},
		{"NUL in handle", valid(func(m *channel.Message) { m.From.Handle = "@a\x00" }), ingest.ErrInvalid, "from.handle", "NUL"},
		{"text too long", valid(func(m *channel.Message) { m.Text = strings.Repeat("a", ingest.MaxBodyBytes+1) }), ingest.ErrInvalid, "text",
			fmt.Sprintf("is %d bytes; the limit is %d", ingest.MaxBodyBytes+1, ingest.MaxBodyBytes)},
		{"text too long in multi-byte runes", valid(func(m *channel.Message) { m.Text = strings.Repeat("é", ingest.MaxBodyBytes/2+1) }), ingest.ErrInvalid, "text", "the limit is"},
		{"id too long", valid(func(m *channel.Message) { m.PlatformID = strings.Repeat("1", channel.MaxIDBytes+1) }), ingest.ErrInvalid, "id", "the limit is"},
		{"from.id too long", valid(func(m *channel.Message) { m.From.ExternalID = strings.Repeat("1", channel.MaxIDBytes+1) }), ingest.ErrInvalid, "from.id", "the limit is"},
		{"name too long", valid(func(m *channel.Message) { m.From.Name = strings.Repeat("n", ingest.MaxNameBytes+1) }), ingest.ErrInvalid, "from.name", "the limit is"},
		{"reply_to too long", valid(func(m *channel.Message) { m.ReplyTo = strings.Repeat("r", channel.MaxIDBytes+1) }), ingest.ErrInvalid, "reply_to", "the limit is"},
		{"subject too long", valid(func(m *channel.Message) { m.Subject = strings.Repeat("s", ingest.MaxSubjectLen+1) }), ingest.ErrInvalid, "subject", "the limit is"},
		{"language too long", valid(func(m *channel.Message) { m.Language = strings.Repeat("x", 17) }), ingest.ErrInvalid, "language", "the limit is"},
		{"unknown channel", valid(func(m *channel.Message) { m.ChannelID = 9999 }), ingest.ErrUnknownChannel, "", ""},
		{"no channel", valid(func(m *channel.Message) { m.ChannelID = 0 }), ingest.ErrUnknownChannel, "", ""},
		{"disabled channel", valid(func(m *channel.Message) { m.ChannelID = off.ID }), ingest.ErrUnknownChannel, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Ingest(t.Context(), tt.m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ingest.ErrUnknownChannel && errors.Is(err, ingest.ErrInvalid) {
				t.Errorf("err = %v is also ErrInvalid", err)
			}
			if tt.field != "" {
				prefix := ingest.ErrInvalid.Error() + ": " + tt.field + " "
				if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.detail) {
					t.Errorf("err = %q, want it to start %q and say %q", err, prefix, tt.detail)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error message is %d bytes: it must not echo the input", len(err.Error()))
				}
				var ie *ingest.InvalidError
				if !errors.As(err, &ie) || err.Error() != ingest.ErrInvalid.Error()+": "+ie.Reason {
					t.Errorf("err = %q is not an *ingest.InvalidError with its reason", err)
				}
			}
			if res != (store.IngestResult{}) {
				t.Errorf("result %+v for a refused message", res)
			}
		})
	}

	ctx := t.Context()
	if convs, msgs := storedMessages(t, st); convs != 0 || msgs != 0 {
		t.Errorf("stored %d conversations, %d messages from refused input", convs, msgs)
	}
	if cs, err := st.Contacts(ctx, store.ContactFilter{}); err != nil || len(cs) != 0 {
		t.Errorf("contacts %d, %v", len(cs), err)
	}
	if b.Seq() != 0 {
		t.Errorf("%d events published for refused input", b.Seq())
	}
	select {
	case e := <-events:
		t.Errorf("event %+v", e)
	default:
	}

	t.Run("limits are inclusive", func(t *testing.T) {
		m := valid(func(m *channel.Message) {
			m.PlatformID = strings.Repeat("1", channel.MaxIDBytes)
			m.Text = strings.Repeat("a", ingest.MaxBodyBytes)
			m.From.Name = strings.Repeat("n", ingest.MaxNameBytes)
		})
		res := mustIngest(t, p, m)
		got, err := st.Message(ctx, res.MessageID)
		if err != nil || len(got.Body) != ingest.MaxBodyBytes {
			t.Errorf("stored body %d bytes, %v", len(got.Body), err)
		}
	})
}

func TestForgetChannel(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := newPipeline(t, st, nil, ingest.Options{})
	mustIngest(t, p, msg(ch.ID, "m1", "u1", "hi"))

	ch.Disabled = true
	if err := st.UpdateChannel(ctx, &ch, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	p.ForgetChannel(ch.ID)
	if _, err := p.Ingest(ctx, msg(ch.ID, "m2", "u1", "hi")); !errors.Is(err, ingest.ErrUnknownChannel) {
		t.Fatalf("after disabling and ForgetChannel: err = %v, want ErrUnknownChannel", err)
	}
	ch.Disabled = false
	if err := st.UpdateChannel(ctx, &ch, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	// A refused channel is not cached: enabling it again works at once.
	mustIngest(t, p, msg(ch.ID, "m3", "u1", "hi"))
}

func TestIngestNormalises(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	x := newChannel(t, st, store.Channel{Kind: "x", Locale: "nl"})
	bare := newChannel(t, st, store.Channel{Kind: "facebook"})
	api1 := newChannel(t, st, store.Channel{Kind: "api", Locale: "en"})
	api2 := newChannel(t, st, store.Channel{Kind: "api"})
	p := newPipeline(t, st, nil, ingest.Options{Now: func() time.Time { return t0 }})

	t.Run("names lose control characters", func(t *testing.T) {
		res := mustIngest(t, p, channel.Message{ChannelID: x.ID, PlatformID: "n1", Text: "hi", Subject: "Lost\r\nbag\x07",
			From: channel.Author{ExternalID: " u-names ", Name: " Ann\x07 Smith\r\n", Handle: "@ann\x1b[31m"}})
		c, err := st.Contact(ctx, res.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Ann Smith" {
			t.Errorf("contact name %q", c.Name)
		}
		if len(c.Identities) != 1 {
			t.Fatalf("identities %+v", c.Identities)
		}
		id := c.Identities[0]
		if id.DisplayName != "Ann Smith" || id.Handle != "@ann[31m" || id.ExternalID != "u-names" {
			t.Errorf("identity %+v", id)
		}
		conv, err := st.Conversation(ctx, res.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if conv.Subject != "Lostbag" {
			t.Errorf("subject %q", conv.Subject)
		}
	})

	t.Run("text keeps lines and tabs, in LF", func(t *testing.T) {
		res := mustIngest(t, p, msg(x.ID, "t1", "u-text", "line one\r\nline two\rline three\n\tindented\x1b[0m\x7f end"))
		m, err := st.Message(ctx, res.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if want := "line one\nline two\nline three\n\tindented[0m end"; m.Body != want {
			t.Errorf("body %q, want %q", m.Body, want)
		}
		if m.PlatformID != "t1" || m.Direction != store.DirInbound || m.Delivery != store.Received {
			t.Errorf("message %+v", m)
		}
	})

	t.Run("sent_at", func(t *testing.T) {
		tests := []struct {
			name string
			sent time.Time
			want time.Time
		}{
			{"zero is now", time.Time{}, t0},
			{"past kept", t0.Add(-3 * time.Hour), t0.Add(-3 * time.Hour)},
			{"slightly ahead kept", t0.Add(4 * time.Minute), t0.Add(4 * time.Minute)},
			{"far future clamped", t0.Add(48 * time.Hour), t0},
			{"year 9999 clamped", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), t0},
			{"other zone", t0.Add(-time.Hour).In(time.FixedZone("CET", 3600)), t0.Add(-time.Hour)},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := msg(x.ID, fmt.Sprint("s", i), "u-sent", "hi")
				m.SentAt = tt.sent
				res := mustIngest(t, p, m)
				got, err := st.Message(ctx, res.MessageID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.SentAt.Equal(tt.want) {
					t.Errorf("sent_at %v, want %v", got.SentAt, tt.want)
				}
				if !got.CreatedAt.Equal(t0) {
					t.Errorf("created_at %v, want the pipeline's now %v", got.CreatedAt, t0)
				}
			})
		}
	})

	t.Run("language", func(t *testing.T) {
		tests := []struct {
			name     string
			ch       store.Channel
			language string
			want     string
		}{
			{"lowercased", x, " EN-GB ", "en-gb"},
			{"channel locale by default", x, "", "nl"},
			{"nothing known", bare, "", ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := msg(tt.ch.ID, fmt.Sprint("l", i), fmt.Sprint("u-lang-", i), "hi")
				m.Language = tt.language
				res := mustIngest(t, p, m)
				conv, err := st.Conversation(ctx, res.ConversationID)
				if err != nil {
					t.Fatal(err)
				}
				c, err := st.Contact(ctx, res.ContactID)
				if err != nil {
					t.Fatal(err)
				}
				if conv.Language != tt.want || c.Language != tt.want {
					t.Errorf("conversation language %q, contact language %q; want %q", conv.Language, c.Language, tt.want)
				}
			})
		}
	})

	t.Run("identity platform", func(t *testing.T) {
		tests := []struct {
			name     string
			ch       store.Channel
			platform string
			want     string
		}{
			{"channel kind", x, "", "x"},
			{"api channel's own namespace", api1, "", fmt.Sprintf("api:%d", api1.ID)},
			{"explicit wins, lowercased", api1, "EMail", "email"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := msg(tt.ch.ID, fmt.Sprint("p", i), fmt.Sprint("u-platform-", i), "hi")
				m.From.Platform = tt.platform
				res := mustIngest(t, p, m)
				c, err := st.Contact(ctx, res.ContactID)
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Identities) != 1 || c.Identities[0].Platform != tt.want {
					t.Errorf("identities %+v, want platform %q", c.Identities, tt.want)
				}
			})
		}
	})

	t.Run("one person across api channels", func(t *testing.T) {
		// The same id on two integrations is two people, unless the
		// integration says the id is an e-mail address.
		a := mustIngest(t, p, msg(api1.ID, "same-1", "1001", "hi"))
		b := mustIngest(t, p, msg(api2.ID, "same-1", "1001", "hi"))
		if a.ContactID == b.ContactID {
			t.Error("an integration's user 1001 is the other integration's user 1001")
		}
		m1 := msg(api1.ID, "mail-1", "ann@example.com", "hi")
		m1.From.Platform = "email"
		m2 := msg(api2.ID, "mail-1", "ann@example.com", "hi again")
		m2.From.Platform = "Email"
		a, b = mustIngest(t, p, m1), mustIngest(t, p, m2)
		if a.ContactID != b.ContactID || !a.NewContact || b.NewContact {
			t.Errorf("contacts %d (new %v) and %d (new %v): want one", a.ContactID, a.NewContact, b.ContactID, b.NewContact)
		}
		if a.ConversationID == b.ConversationID || b.Duplicate {
			t.Error("a message on another channel is its own conversation and not a duplicate")
		}
	})
}

func TestIngestDedupes(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	var dups atomic.Int64
	p := newPipeline(t, st, nil, ingest.Options{Metrics: ingest.Metrics{Duplicates: func(n int) { dups.Add(int64(n)) }}})

	t.Run("sequential", func(t *testing.T) {
		first := mustIngest(t, p, msg(ch.ID, "seq-1", "u1", "original"))
		again := mustIngest(t, p, msg(ch.ID, " seq-1 ", "u1", "edited on re-delivery"))
		if first.Duplicate || !again.Duplicate {
			t.Fatalf("duplicate flags %v, %v", first.Duplicate, again.Duplicate)
		}
		if first.MessageID != again.MessageID || first.ConversationID != again.ConversationID || first.ContactID != again.ContactID {
			t.Errorf("ids differ: %+v vs %+v", first, again)
		}
		m, err := st.Message(ctx, first.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Body != "original" {
			t.Errorf("re-delivery changed the body to %q", m.Body)
		}
		conv, err := st.Conversation(ctx, first.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if conv.MessageCount != 1 {
			t.Errorf("conversation counts %d messages", conv.MessageCount)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		const n = 50
		results := make([]store.IngestResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = p.Ingest(ctx, msg(ch.ID, "conc-1", "u2", "once"))
			}()
		}
		close(start)
		wg.Wait()
		fresh := 0
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if !results[i].Duplicate {
				fresh++
			}
			if results[i].MessageID != results[0].MessageID || results[i].ConversationID != results[0].ConversationID {
				t.Errorf("caller %d got %+v, caller 0 %+v", i, results[i], results[0])
			}
		}
		if fresh != 1 {
			t.Errorf("%d callers were told the message is new, want 1", fresh)
		}
		ms, err := st.Messages(ctx, results[0].ConversationID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Errorf("stored %d messages, want 1", len(ms))
		}
	})

	t.Run("per channel", func(t *testing.T) {
		other := newChannel(t, st, store.Channel{Kind: "x"})
		a := mustIngest(t, p, msg(ch.ID, "shared-id", "u3", "hi"))
		b := mustIngest(t, p, msg(other.ID, "shared-id", "u3", "hi"))
		if b.Duplicate || a.MessageID == b.MessageID {
			t.Errorf("the same id on another channel is a duplicate: %+v", b)
		}
	})

	if got := dups.Load(); got != 1+49 {
		t.Errorf("Duplicates metric counted %d, want 50", got)
	}
}

func TestIngestThreads(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := newPipeline(t, st, nil, ingest.Options{})

	first := mustIngest(t, p, msg(ch.ID, "t1", "u1", "My bag is lost"))
	if !first.NewConversation || !first.NewContact {
		t.Fatalf("first message: %+v", first)
	}
	reply := msg(ch.ID, "t2", "u1", "Any news?")
	reply.ReplyTo = "t1"
	second := mustIngest(t, p, reply)
	if second.ConversationID != first.ConversationID || second.NewConversation || second.NewContact {
		t.Errorf("reply_to: %+v, want conversation %d", second, first.ConversationID)
	}
	third := mustIngest(t, p, msg(ch.ID, "t3", "u1", "Hello??"))
	if third.ConversationID != first.ConversationID || third.NewConversation {
		t.Errorf("open conversation not reused: %+v", third)
	}
	// Someone else answering the same post starts their own thread.
	bystander := msg(ch.ID, "t4", "u2", "Same here")
	bystander.ReplyTo = "t1"
	if r := mustIngest(t, p, bystander); r.ConversationID == first.ConversationID || !r.NewConversation {
		t.Errorf("a bystander's reply joined the conversation: %+v", r)
	}
	// A private message is not the public thread.
	dm := msg(ch.ID, "t5", "u1", "DM: booking ref ABC123")
	dm.Private = true
	if r := mustIngest(t, p, dm); r.ConversationID == first.ConversationID || !r.NewConversation {
		t.Errorf("a DM joined the public conversation: %+v", r)
	}

	resolved := store.StatusResolved
	if _, err := st.UpdateConversation(ctx, first.ConversationID, store.ConversationChange{Status: &resolved}, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	after := mustIngest(t, p, msg(ch.ID, "t6", "u1", "New problem"))
	if after.ConversationID == first.ConversationID || !after.NewConversation || after.NewContact {
		t.Errorf("after resolve: %+v, want a new conversation for the same contact", after)
	}
	// An answer to a message in the resolved thread reopens that thread.
	late := msg(ch.ID, "t7", "u1", "About that bag: found it, thanks")
	late.ReplyTo = "t2"
	r := mustIngest(t, p, late)
	if r.ConversationID != first.ConversationID {
		t.Errorf("late reply went to %d, want %d", r.ConversationID, first.ConversationID)
	}
	conv, err := st.Conversation(ctx, first.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.Status != store.StatusOpen || conv.MessageCount != 4 {
		t.Errorf("reopened conversation: status %s, %d messages", conv.Status, conv.MessageCount)
	}
}

func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	var batches, biggest, ingested atomic.Int64
	p := newPipeline(t, st, nil, ingest.Options{Metrics: ingest.Metrics{
		BatchSize: func(n int) {
			batches.Add(1)
			for {
				b := biggest.Load()
				if int64(n) <= b || biggest.CompareAndSwap(b, int64(n)) {
					break
				}
			}
		},
		Ingested: func(n int) { ingested.Add(int64(n)) },
	}})

	const senders, each = 200, 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	var failed atomic.Int64
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				res, err := p.Ingest(ctx, msg(ch.ID, fmt.Sprintf("g%d-%d", g, i), fmt.Sprint("user-", g), "Where is my bag?"))
				if err != nil || res.Duplicate || res.MessageID == 0 {
					failed.Add(1)
					t.Errorf("sender %d message %d: %+v, %v", g, i, res, err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}

	convs, msgs := storedMessages(t, st)
	if convs != senders || msgs != senders*each {
		t.Errorf("stored %d conversations, %d messages; want %d, %d", convs, msgs, senders, senders*each)
	}
	if ingested.Load() != senders*each {
		t.Errorf("Ingested metric %d", ingested.Load())
	}
	t.Logf("%d messages in %d transactions, the biggest %d", senders*each, batches.Load(), biggest.Load())
	if biggest.Load() <= 1 || batches.Load() >= senders*each {
		t.Errorf("no batching: %d transactions, the biggest %d", batches.Load(), biggest.Load())
	}
}

func TestMaxBatch(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	var over atomic.Int64
	p := newPipeline(t, st, nil, ingest.Options{MaxBatch: 4, Metrics: ingest.Metrics{BatchSize: func(n int) {
		if n > 4 {
			over.Add(1)
		}
	}}})
	var wg sync.WaitGroup
	for g := 0; g < 40; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := p.Ingest(t.Context(), msg(ch.ID, fmt.Sprintf("b%d-%d", g, i), "u", "hi")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if over.Load() > 0 {
		t.Errorf("%d transactions bigger than MaxBatch", over.Load())
	}
	if _, msgs := storedMessages(t, st); msgs != 200 {
		t.Errorf("stored %d messages, want 200", msgs)
	}
}

func TestEventsAfterCommit(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	b := bus.NewMemory()
	events, cancel, _ := b.Subscribe(ctx, 0)
	defer cancel()
	p := newPipeline(t, st, b, ingest.Options{})

	// The subscriber looks each message up as soon as it hears of it.
	type seen struct {
		e   bus.Event
		err error
	}
	seenc := make(chan seen, 100)
	go func() {
		for e := range events {
			_, err := st.Message(context.Background(), e.MessageID)
			seenc <- seen{e, err}
		}
	}()

	want := map[int64]store.IngestResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Ingest(ctx, msg(ch.ID, fmt.Sprint("e", i), fmt.Sprint("u", i%3), "hi"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want[res.MessageID] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Re-deliveries are no news.
	for i := 0; i < 5; i++ {
		if res := mustIngest(t, p, msg(ch.ID, fmt.Sprint("e", i), fmt.Sprint("u", i%3), "hi")); !res.Duplicate {
			t.Fatalf("e%d not a duplicate", i)
		}
	}
	// Events come in commit order, so once the sentinel's arrives any event
	// for the duplicates would have too.
	sentinel := mustIngest(t, p, msg(ch.ID, "sentinel", "u9", "last"))
	want[sentinel.MessageID] = sentinel

	got := map[int64]int{}
	deadline := time.After(wait)
	for got[sentinel.MessageID] == 0 {
		select {
		case s := <-seenc:
			if s.e.Type != bus.MessageReceived {
				t.Errorf("event type %q", s.e.Type)
			}
			if s.err != nil {
				t.Errorf("message %d announced before it could be read: %v", s.e.MessageID, s.err)
			}
			res, ok := want[s.e.MessageID]
			if !ok {
				t.Errorf("event for unknown message %d", s.e.MessageID)
			} else if s.e.ConversationID != res.ConversationID || s.e.ContactID != res.ContactID || s.e.ChannelID != ch.ID || s.e.At.IsZero() {
				t.Errorf("event %+v for %+v", s.e, res)
			}
			got[s.e.MessageID]++
		case <-deadline:
			t.Fatalf("sentinel's event not received; got %d events", len(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("events for %d messages, want %d", len(got), len(want))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("message %d announced %d times", id, n)
		}
	}
	if b.Seq() != uint64(len(want)) {
		t.Errorf("bus carried %d events, want %d", b.Seq(), len(want))
	}
}

// recordingStage remembers which messages it processed and how often.
type recordingStage struct {
	name string
	mu   sync.Mutex
	seen map[int64]int
	fail func(m store.Message) error // nil: never fails
	note chan int64                  // gets each processed id, if not nil
}

func newRecordingStage(name string) *recordingStage {
	return &recordingStage{name: name, seen: map[int64]int{}, note: make(chan int64, 10_000)}
}

func (s *recordingStage) Name() string { return s.name }

func (s *recordingStage) Process(_ context.Context, m store.Message) error {
	if s.fail != nil {
		if err := s.fail(m); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.seen[m.ID]++
	s.mu.Unlock()
	s.note <- m.ID
	return nil
}

func (s *recordingStage) count(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// waitFor reads the stage's notes until every id has been seen.
func (s *recordingStage) waitFor(t *testing.T, ids ...int64) {
	t.Helper()
	missing := map[int64]bool{}
	for _, id := range ids {
		if s.count(id) == 0 {
			missing[id] = true
		}
	}
	deadline := time.After(wait)
	for len(missing) > 0 {
		select {
		case id := <-s.note:
			delete(missing, id)
		case <-deadline:
			t.Fatalf("stage %s never processed %v", s.name, slices.Sorted(maps.Keys(missing)))
		}
	}
}

func TestStagesProcessEveryMessageOnce(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	first, second := newRecordingStage("understand"), newRecordingStage("route")
	p := newPipeline(t, st, nil, ingest.Options{Stages: []ingest.Stage{first, second}})

	var ids []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Ingest(t.Context(), msg(ch.ID, fmt.Sprint("s", i), fmt.Sprint("u", i%7), "hi"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids = append(ids, res.MessageID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// A duplicate is not processed again.
	mustIngest(t, p, msg(ch.ID, "s0", "u0", "hi"))
	second.waitFor(t, ids...)
	eventually(t, "all messages marked processed", func() bool { return len(unprocessed(t, st)) == 0 })
	// One more round: nothing already done may come back.
	last := mustIngest(t, p, msg(ch.ID, "last", "u1", "hi"))
	second.waitFor(t, last.MessageID)
	eventually(t, "last message marked processed", func() bool { return len(unprocessed(t, st)) == 0 })
	for _, s := range []*recordingStage{first, second} {
		s.mu.Lock()
		if len(s.seen) != len(ids)+1 {
			t.Errorf("stage %s saw %d messages, want %d", s.name, len(s.seen), len(ids)+1)
		}
		for id, n := range s.seen {
			if n != 1 {
				t.Errorf("stage %s processed message %d %d times", s.name, id, n)
			}
		}
		s.mu.Unlock()
	}
}

func TestStageFailureIsRetried(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	allow := make(chan struct{})
	failed := make(chan int64, 100)
	var failures atomic.Int64
	flaky := newRecordingStage("flaky")
	flaky.fail = func(m store.Message) error {
		if m.PlatformID != "bad" {
			return nil
		}
		select {
		case <-allow:
			return nil
		default:
			failures.Add(1)
			failed <- m.ID
			return errors.New("classifier unavailable")
		}
	}
	after := newRecordingStage("after")
	p := newPipeline(t, st, nil, ingest.Options{Stages: []ingest.Stage{flaky, after}})

	bad := mustIngest(t, p, msg(ch.ID, "bad", "u1", "hi"))
	select {
	case id := <-failed:
		if id != bad.MessageID {
			t.Fatalf("failed on %d, want %d", id, bad.MessageID)
		}
	case <-time.After(wait):
		t.Fatal("stage never ran")
	}
	// A message alongside the failing one is not held up by it.
	good := mustIngest(t, p, msg(ch.ID, "good", "u2", "hi"))
	after.waitFor(t, good.MessageID)
	eventually(t, "the good message marked processed", func() bool {
		return !slices.Contains(unprocessed(t, st), good.MessageID)
	})
	if !slices.Contains(unprocessed(t, st), bad.MessageID) {
		t.Fatal("a message whose stage failed is marked processed")
	}
	if after.count(bad.MessageID) != 0 {
		t.Fatal("the next stage ran although an earlier one failed")
	}

	// Once the stage recovers, the next nudge (any new message) retries.
	close(allow)
	nudge := mustIngest(t, p, msg(ch.ID, "nudge", "u3", "hi"))
	after.waitFor(t, bad.MessageID, nudge.MessageID)
	eventually(t, "the retried message marked processed", func() bool { return len(unprocessed(t, st)) == 0 })
	if n := after.count(bad.MessageID); n != 1 {
		t.Errorf("the retried message went through the later stage %d times", n)
	}
	if n := flaky.count(good.MessageID); n != 1 {
		t.Errorf("the good message was processed %d times", n)
	}
	if failures.Load() < 1 {
		t.Error("no failure recorded")
	}
}

// blockingStage holds the first message it gets until released, like a
// process that dies in the middle of routing.
type blockingStage struct {
	started chan int64
	release chan struct{}
}

func (s *blockingStage) Name() string { return "blocking" }

func (s *blockingStage) Process(_ context.Context, m store.Message) error {
	select {
	case s.started <- m.ID:
	default:
	}
	<-s.release
	return nil
}

func TestStagesRecoverAfterCrash(t *testing.T) {
	t.Run("pipeline died mid-stage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "t.db")
		st1 := openStore(t, path)
		ch := newChannel(t, st1, store.Channel{Kind: "x"})
		stuck := &blockingStage{started: make(chan int64, 1), release: make(chan struct{})}
		p1 := ingest.New(st1, bus.NewMemory(), ingest.Options{Stages: []ingest.Stage{stuck}})
		// The first process is never closed while the second runs: it
		// "died". Cleanup lets it go before its store closes.
		t.Cleanup(func() { close(stuck.release); p1.Close() })

		var ids []int64
		for i := 0; i < 3; i++ {
			ids = append(ids, mustIngest(t, p1, msg(ch.ID, fmt.Sprint("c", i), "u1", "hi")).MessageID)
		}
		select {
		case <-stuck.started:
		case <-time.After(wait):
			t.Fatal("stage never started")
		}

		// A new process on the same file.
		st2 := openStore(t, path)
		rec := newRecordingStage("route")
		newPipeline(t, st2, nil, ingest.Options{Stages: []ingest.Stage{rec}})
		rec.waitFor(t, ids...)
		eventually(t, "recovered messages marked processed", func() bool { return len(unprocessed(t, st2)) == 0 })
	})

	t.Run("unprocessed rows at start", func(t *testing.T) {
		st := newStore(t)
		ch := newChannel(t, st, store.Channel{Kind: "x"})
		var batch []store.Inbound
		for i := 0; i < 700; i++ { // more than one page of the stage runner
			batch = append(batch, store.Inbound{ChannelID: ch.ID, PlatformID: fmt.Sprint("old", i), Platform: "x",
				ExternalID: fmt.Sprint("u", i%10), Body: "hi", SentAt: t0, ReceivedAt: t0, Processed: false})
		}
		res, err := st.Ingest(t.Context(), batch)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range res {
			ids = append(ids, r.MessageID)
		}
		rec := newRecordingStage("route")
		newPipeline(t, st, nil, ingest.Options{Stages: []ingest.Stage{rec}})
		rec.waitFor(t, ids...)
		eventually(t, "old messages marked processed", func() bool { return len(unprocessed(t, st)) == 0 })
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for id, n := range rec.seen {
			if n != 1 {
				t.Errorf("message %d processed %d times", id, n)
			}
		}
	})
}

func TestNoStagesMeansProcessed(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := newPipeline(t, st, nil, ingest.Options{})
	mustIngest(t, p, msg(ch.ID, "m1", "u1", "hi"))
	if ids := unprocessed(t, st); len(ids) != 0 {
		t.Errorf("without stages, %d messages are left unprocessed", len(ids))
	}
}

func TestCloseDrains(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})

	const n = 300
	type outcome struct {
		id  string
		res store.IngestResult
		err error
	}
	out := make(chan outcome, n)
	returned := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() {
			id := fmt.Sprint("d", i)
			res, err := p.Ingest(ctx, msg(ch.ID, id, fmt.Sprint("u", i%20), "hi"))
			out <- outcome{id, res, err}
			returned <- struct{}{}
		}()
	}
	// Close while most callers are still in flight.
	for i := 0; i < 10; i++ {
		<-returned
	}
	p.Close()
	p.Close() // twice is fine

	ok := 0
	for i := 0; i < n; i++ {
		var o outcome
		select {
		case o = <-out:
		case <-time.After(wait):
			t.Fatalf("%d callers still waiting after Close", n-i)
		}
		if o.err != nil {
			continue
		}
		ok++
		m, err := st.Message(ctx, o.res.MessageID)
		if err != nil || m.PlatformID != o.id {
			t.Errorf("%s acknowledged as message %d but not stored: %+v, %v", o.id, o.res.MessageID, m, err)
		}
	}
	if ok < 10 {
		t.Errorf("only %d messages acknowledged", ok)
	}
	// Nothing is stored that its sender was told failed.
	if _, msgs := storedMessages(t, st); msgs != ok {
		t.Errorf("stored %d messages, acknowledged %d", msgs, ok)
	}
}

func TestIngestAfterClose(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})
	mustIngest(t, p, msg(ch.ID, "before", "u1", "hi"))
	p.Close()
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		_, err := p.Ingest(ctx, msg(ch.ID, fmt.Sprint("after", i), "u1", "hi"))
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Ingest after Close: err = %v, want a prompt refusal", err)
		}
	}
	if _, msgs := storedMessages(t, st); msgs != 1 {
		t.Errorf("stored %d messages, want only the one from before Close", msgs)
	}
}

func TestIngestHonoursContext(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := newPipeline(t, st, nil, ingest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A caller that gave up gets its context's error or, if the message
	// made it into a batch first, the stored result; never a hang.
	res, err := p.Ingest(ctx, msg(ch.ID, "m1", "u1", "hi"))
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if err == nil && res.MessageID == 0 {
		t.Fatalf("no error and no message")
	}
}

// TestChannelChangeOnTheBus: a change announced by another instance (here:
// published on the shared bus, bypassing this pipeline) empties the cache,
// so a disabled channel is refused without waiting for the cache to age.
func TestChannelChangeOnTheBus(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	b := bus.NewMemory()
	ch := newChannel(t, st, store.Channel{Kind: "x"})
	p := newPipeline(t, st, b, ingest.Options{})
	mustIngest(t, p, msg(ch.ID, "m1", "u1", "hi")) // cached now

	ch.Disabled = true
	if err := st.UpdateChannel(ctx, &ch, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Type: bus.ChannelUpdated, ChannelID: ch.ID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := p.Ingest(ctx, msg(ch.ID, fmt.Sprintf("m-%d", time.Now().UnixNano()), "u1", "hi"))
		if errors.Is(err, ingest.ErrUnknownChannel) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline still takes messages for a channel disabled elsewhere: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// gatedStore holds every commit until the gate opens, like a disk that
// cannot keep up.
type gatedStore struct {
	*sqlite.Store
	gate    chan struct{}
	waiting chan struct{} // a commit is being held
}

func (s gatedStore) Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error) {
	select {
	case s.waiting <- struct{}{}:
	default:
	}
	<-s.gate
	return s.Store.Ingest(ctx, batch)
}

// TestShedsLoadWhenTheQueueIsDeep: once more messages wait for the
// commit than ShedAt, Ingest answers ErrBusy at once (the front end says
// 503 with Retry-After) instead of queueing without end; what it took is
// committed, and it takes messages again once the queue drains.
func TestShedsLoadWhenTheQueueIsDeep(t *testing.T) {
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "api"})
	gated := gatedStore{Store: st, gate: make(chan struct{}), waiting: make(chan struct{}, 1)}
	p := newPipeline(t, gated, nil, ingest.Options{MaxBatch: 2, ShedAt: 4})

	results := make(chan error, 10)
	send := func(i int) {
		_, err := p.Ingest(context.Background(), msg(ch.ID, fmt.Sprintf("m%d", i), "u", "hello"))
		results <- err
	}
	go send(0)
	<-gated.waiting // the first batch holds the committer
	for i := 1; i <= 4; i++ {
		go send(i)
	}
	eventually(t, "four messages queued", p.Busy)
	if _, err := p.Ingest(t.Context(), msg(ch.ID, "m5", "u", "one too many")); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("with the queue full: %v, want ErrBusy", err)
	}
	close(gated.gate)
	for range 5 {
		if err := <-results; err != nil {
			t.Errorf("a queued message: %v", err)
		}
	}
	if p.Busy() {
		t.Error("still busy after the queue drained")
	}
	mustIngest(t, p, msg(ch.ID, "m5", "u", "now it fits"))
	if _, n := storedMessages(t, st); n != 6 {
		t.Errorf("%d messages stored, want the 5 queued and the one sent again", n)
	}
}

// TestJunkIsNotKept: a language that is no language tag is not made the
// conversation's language (the channel's locale is used), and names lose
// the characters that make them look like someone else's.
func TestJunkIsNotKept(t *testing.T) {
	for in, want := range map[string]string{"nl": "nl", " EN_gb ": "en-gb", "pt-BR": "pt-br", "<script>": "", "english": "", "e": "", "zh-hant-tw": "zh-hant-tw"} {
		if got := ingest.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
	st := newStore(t)
	ch := newChannel(t, st, store.Channel{Kind: "api", Locale: "nl"})
	p := newPipeline(t, st, nil, ingest.Options{})
	m := msg(ch.ID, "j1", "u1", "hallo")
	m.Language = "<script>"
	m.From.Name = "Anna\u202egnp.exe\u200b\u2066"
	m.From.Handle = "@an\ufeffna"
	res := mustIngest(t, p, m)
	c, err := st.Conversation(t.Context(), res.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Language != "nl" {
		t.Errorf("conversation language %q; want the channel's nl, not the junk", c.Language)
	}
	contact, err := st.Contact(t.Context(), res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if contact.Name != "Annagnp.exe" || contact.Identities[0].Handle != "@anna" {
		t.Errorf("name %q, handle %q: direction overrides and invisible characters kept", contact.Name, contact.Identities[0].Handle)
	}
}
