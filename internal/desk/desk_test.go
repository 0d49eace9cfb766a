package desk_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// fixture is a desk on a real embedded store and the in-process bus,
// with what it announced.
type fixture struct {
	st     *sqlite.Store
	desk   *desk.Desk
	events <-chan bus.Event
	cache  *countingCache
}

// countingCache stands in for the ingest pipeline's channel cache and
// counts what the desk asks it to forget.
type countingCache struct {
	st      *sqlite.Store
	mu      sync.Mutex
	forgets []int64
}

func (c *countingCache) Channel(ctx context.Context, id int64) (store.Channel, error) {
	return c.st.Channel(ctx, id)
}

func (c *countingCache) ForgetChannel(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets = append(c.forgets, id)
}

func newFixture(t *testing.T, adapters ...channel.Adapter) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "desk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := bus.NewMemory()
	events, cancel, _ := b.Subscribe(t.Context(), 0)
	t.Cleanup(cancel)
	cache := &countingCache{st: st}
	adapters = append(adapters, channel.Adapter{Kind: "x", TextLimit: 280}, channel.Adapter{Kind: "api",
		Files: channel.FileRule{MaxFiles: 1, MaxBytes: 1 << 20, Types: channel.Images}})
	d := desk.New(desk.Options{Store: st, Bus: b, Adapters: channel.NewRegistry(adapters...), Channels: cache})
	return &fixture{st: st, desk: d, events: events, cache: cache}
}

// next is the next event announced, or a failure after a second.
func (f *fixture) next(t *testing.T) bus.Event {
	t.Helper()
	select {
	case e := <-f.events:
		return e
	case <-time.After(time.Second):
		t.Fatal("no event announced")
		return bus.Event{}
	}
}

// conversation stores a customer's message on a new channel of kind and
// returns its conversation.
func (f *fixture) conversation(t *testing.T, kind string, at time.Time) store.Conversation {
	t.Helper()
	ch := store.Channel{Kind: kind, Name: kind}
	if err := f.st.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.st.Ingest(t.Context(), []store.Inbound{{ChannelID: ch.ID, PlatformID: "m-" + kind, Platform: kind, ExternalID: "u-" + kind,
		Body: "Where is my bag?", SentAt: at, ReceivedAt: at}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.st.Conversation(t.Context(), res[0].ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) agent(t *testing.T, role store.Role) store.Agent {
	t.Helper()
	a := store.Agent{Email: string(role) + "@heron.example", Name: string(role), Role: role, Capacity: 10}
	if err := f.st.CreateAgent(t.Context(), &a, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	return a
}

// refusal checks that err is a desk refusal of the kind, and returns it.
func refusal(t *testing.T, err, kind error) *desk.Error {
	t.Helper()
	var de *desk.Error
	if !errors.As(err, &de) || !errors.Is(err, kind) {
		t.Fatalf("err = %v (%T), want a *desk.Error of kind %v", err, err, kind)
	}
	if de.Msg == "" {
		t.Errorf("refusal %v has no message to show", err)
	}
	return de
}

func TestResolveIdleAnnouncesEveryConversation(t *testing.T) {
	f := newFixture(t)
	old := f.conversation(t, "x", time.Now().Add(-30*24*time.Hour))
	recent := f.conversation(t, "api", time.Now().Add(-2*time.Hour))
	for _, c := range []store.Conversation{old, recent} {
		pending := store.StatusPending
		if _, err := f.st.UpdateConversation(t.Context(), c.ID, store.ConversationChange{Status: &pending}, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.desk.ResolveIdle(t.Context(), desk.System("timer"), []store.Status{store.StatusPending}, 10*time.Minute); err == nil {
		t.Fatal("an idle time under an hour must be refused")
	}
	_, err := f.desk.ResolveIdle(t.Context(), desk.System("timer"), []store.Status{store.StatusResolved}, 7*24*time.Hour)
	refusal(t, err, desk.ErrInvalid)

	n, err := f.desk.ResolveIdle(t.Context(), desk.System("timer"), []store.Status{store.StatusPending}, 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("ResolveIdle = %d, %v; want 1", n, err)
	}
	if e := f.next(t); e.Type != bus.ConversationUpdated || e.ConversationID != old.ID {
		t.Errorf("announced %+v, want conversation.updated of %d", e, old.ID)
	}
	got, _ := f.st.Conversation(t.Context(), old.ID)
	if got.Status != store.StatusResolved {
		t.Errorf("old conversation is %s, want resolved", got.Status)
	}
	entries, err := f.st.Audits(t.Context(), fmt.Sprintf("conversation/%d", old.ID), 0, 10)
	if err != nil || len(entries) == 0 || entries[0].AgentID != 0 {
		t.Errorf("audit of the resolved conversation: %+v, %v; want an entry by webcare itself", entries, err)
	}
}

// TestTestChannelKeepsEditsMadeMeanwhile: what the platform taught
// ("connect") is added to the channel as it is after the platform
// answered, so an admin's edit in the meantime stays; the change is
// announced and the cache forgets the channel.
func TestTestChannelKeepsEditsMadeMeanwhile(t *testing.T) {
	var f *fixture
	var id int64
	hooked := ""
	connect := channel.Adapter{Kind: "telegram", Fields: []channel.Field{{Key: "bot_token", Secret: true}, {Key: "greeting"}},
		Webhook: struct{ channel.Webhook }{},
		Connect: func(ctx context.Context, ch store.Channel, hookURL string) (map[string]string, error) {
			hooked = hookURL
			// An admin saves the channel while the platform answers.
			fresh, err := f.st.Channel(ctx, id)
			if err != nil {
				return nil, err
			}
			fresh.Settings["greeting"] = "Hallo!"
			if err := f.st.UpdateChannel(ctx, &fresh, store.Actor{Via: "test"}); err != nil {
				return nil, err
			}
			return map[string]string{"account_id": "42"}, nil
		}}
	f = newFixture(t, connect)
	name := "Heron bot"
	made, err := f.desk.AddChannel(t.Context(), desk.System("cli"), desk.ChannelInput{Kind: "telegram", Name: &name, Settings: map[string]string{"bot_token": "123:abc"}})
	if err != nil {
		t.Fatal(err)
	}
	id = made.Channel.ID
	res, err := f.desk.TestChannel(t.Context(), desk.System("cli"), id, "https://care.example")
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || hooked != "https://care.example/hooks/1" {
		t.Errorf("test = %+v, hook %q", res, hooked)
	}
	got, _ := f.st.Channel(t.Context(), id)
	if got.Settings["account_id"] != "42" || got.Settings["greeting"] != "Hallo!" || got.Settings["bot_token"] != "123:abc" {
		t.Errorf("settings after the test: %v; want the learned id, the edit made meanwhile and the token", got.Settings)
	}
	if e := f.next(t); e.Type != bus.ChannelUpdated || e.ChannelID != id {
		t.Errorf("announced %+v, want channel.updated of %d", e, id)
	}
	if len(f.cache.forgets) != 1 || f.cache.forgets[0] != id {
		t.Errorf("cache forgot %v, want [%d]", f.cache.forgets, id)
	}
	if m := f.desk.Masked(got); m.Settings["bot_token"] != "********" || m.Settings["account_id"] != "42" {
		t.Errorf("masked settings %v", m.Settings)
	}
}

func TestRolesAndRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.conversation(t, "x", time.Now())
	agent, field := f.agent(t, store.RoleAgent), f.agent(t, store.RoleField)
	ctx := t.Context()

	name := "Shop"
	_, err := f.desk.AddChannel(ctx, desk.Agent(agent, "api"), desk.ChannelInput{Kind: "api", Name: &name})
	refusal(t, err, desk.ErrForbidden)
	_, err = f.desk.Note(ctx, desk.Agent(field, "api"), c.ID, "hello")
	refusal(t, err, store.ErrNotFound) // field staff do not learn that it exists
	other := agent.ID + field.ID + 1000
	_, err = f.desk.ChangeConversation(ctx, desk.Agent(agent, "api"), c.ID, desk.Change{AssigneeID: &other})
	refusal(t, err, desk.ErrForbidden)
	_, err = f.desk.ChangeConversation(ctx, desk.System("cli"), c.ID, desk.Change{AssigneeID: &other})
	refusal(t, err, desk.ErrInvalid) // allowed, but nobody has that id
	mine, err := f.desk.ChangeConversation(ctx, desk.Agent(agent, "api"), c.ID, desk.Change{AssigneeID: &agent.ID})
	if err != nil || mine.AssigneeID != agent.ID {
		t.Fatalf("an agent takes a conversation: %v, assignee %d", err, mine.AssigneeID)
	}
	if e := f.next(t); e.Type != bus.ConversationUpdated || e.AgentID != agent.ID {
		t.Errorf("announced %+v", e)
	}
	// Handed to the agent, not to the field user: still hidden from them.
	_, err = f.desk.Conversation(ctx, desk.Agent(field, "api"), c.ID)
	refusal(t, err, store.ErrNotFound)

	// Nobody (a request without an agent) may do nothing; not even read.
	_, err = f.desk.AddChannel(ctx, desk.Agent(store.Agent{}, "api"), desk.ChannelInput{Kind: "api", Name: &name})
	refusal(t, err, desk.ErrForbidden)
	_, err = f.desk.Conversation(ctx, desk.Actor{}, c.ID)
	refusal(t, err, store.ErrNotFound)
	unassigned := f.conversation(t, "api", time.Now())
	_, err = f.desk.Conversation(ctx, desk.Agent(store.Agent{}, "api"), unassigned.ID)
	refusal(t, err, store.ErrNotFound)

	_, err = f.desk.AddChannel(ctx, desk.System("cli"), desk.ChannelInput{Kind: "fax", Name: &name})
	refusal(t, err, desk.ErrInvalid)
	_, err = f.desk.UpdateAgent(ctx, desk.Agent(agent, "api"), agent.ID, desk.AgentInput{})
	refusal(t, err, desk.ErrForbidden)
}

func TestReplyRules(t *testing.T) {
	f := newFixture(t)
	c := f.conversation(t, "x", time.Now())
	a := desk.System("test")
	long := ""
	for range 281 {
		long += "a"
	}
	_, _, err := f.desk.Reply(t.Context(), a, c.ID, desk.ReplyInput{Body: long})
	refusal(t, err, desk.ErrInvalid)
	_, _, err = f.desk.Reply(t.Context(), a, c.ID, desk.ReplyInput{Body: "Look", Files: []desk.File{{Name: "a.png", Data: []byte("\x89PNG\r\n\x1a\n")}}})
	de := refusal(t, err, desk.ErrInvalid)
	if de.Key != "files.notallowed" || len(de.Args) != 1 || de.Args[0] != desk.Term("kind.x") {
		t.Errorf("files on X: key %q args %v; want files.notallowed with the kind's term", de.Key, de.Args)
	}
	m, e, err := f.desk.Reply(t.Context(), a, c.ID, desk.ReplyInput{Body: "Your bag is in Amsterdam.", Key: "k1"})
	if err != nil || m.ID == 0 || e.ID == 0 {
		t.Fatalf("reply: %v", err)
	}
	if ev := f.next(t); ev.Type != bus.MessageCreated || ev.MessageID != m.ID {
		t.Errorf("announced %+v", ev)
	}
	_, _, err = f.desk.Reply(t.Context(), a, c.ID, desk.ReplyInput{Body: "again", Key: "k1"})
	refusal(t, err, store.ErrConflict)
}
