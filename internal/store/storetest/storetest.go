// Package storetest is the contract suite of store.Store: every storage
// engine runs the very same tests, so that SQLite and PostgreSQL behave
// alike wherever webcare can tell the difference.
//
// An engine's own test calls Run with a function that opens a fresh store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { … })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// Run runs the contract suite against one engine. open must return a fresh,
// empty, migrated store each time it is called and close it with t.Cleanup;
// every subtest calls it exactly once, so no test sees another's data.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, g := range suite {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					c.run(&fixture{t: t, ctx: t.Context(), s: open(t)})
				})
			}
		})
	}
}

// testCase is one subtest; it gets a fixture on its own fresh store.
type testCase struct {
	name string
	run  func(f *fixture)
}

// suite lists the groups of the contract, one t.Run each.
var suite = []struct {
	name  string
	cases []testCase
}{
	{"Ingest", ingestTests},
	{"Conversations", conversationTests},
	{"Replies", replyTests},
	{"Move to private", privateTests},
	{"Attachments", attachmentTests},
	{"Outbox", outboxTests},
	{"Contacts", contactTests},
	{"Search", searchTests},
	{"Directory", directoryTests},
	{"Queues", queueTests},
	{"Invites", inviteTests},
	{"Access", accessTests},
	{"Identity", identityTests},
	{"NotFound", notFoundTests},
	{"Concurrency", concurrencyTests},
}

// base is the fixed time every test counts from; the store keeps
// milliseconds, so all times here are whole milliseconds.
var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// at is base plus the given number of minutes.
func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

// system is the actor of changes made by the tests.
var system = store.Actor{Via: "test"}

// fixture bundles what a test needs and the helpers that fail it.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

// sub returns the fixture for a nested t.Run on the same store.
func (f *fixture) sub(t *testing.T) *fixture { return &fixture{t: t, ctx: f.ctx, s: f.s} }

func (f *fixture) check(err error, what string, args ...any) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// channel creates a channel of the given kind; its kind is also the
// identity platform msg uses.
func (f *fixture) channel(kind, name string) store.Channel {
	f.t.Helper()
	c := store.Channel{Kind: kind, Name: name, Locale: "nl", CreatedAt: base}
	f.check(f.s.CreateChannel(f.ctx, &c, system), "create channel %s", name)
	if c.ID == 0 {
		f.t.Fatalf("CreateChannel(%s) left ID 0", name)
	}
	return c
}

// agent creates an enabled agent.
func (f *fixture) agent(email string) store.Agent {
	f.t.Helper()
	a := store.Agent{Email: email, Name: email, Role: store.RoleAgent, Presence: store.Online, CreatedAt: base}
	f.check(f.s.CreateAgent(f.ctx, &a, system), "create agent %s", email)
	if a.ID == 0 {
		f.t.Fatalf("CreateAgent(%s) left ID 0", email)
	}
	return a
}

// team creates a team with the given members.
func (f *fixture) team(name string, agentIDs ...int64) store.Team {
	f.t.Helper()
	tm := store.Team{Name: name, AgentIDs: agentIDs, CreatedAt: base}
	f.check(f.s.CreateTeam(f.ctx, &tm, system), "create team %s", name)
	return tm
}

// msg builds a public inbound message by author on ch, sent at sent.
func msg(ch store.Channel, platformID, author string, sent time.Time) store.Inbound {
	return store.Inbound{
		ChannelID:  ch.ID,
		PlatformID: platformID,
		Platform:   ch.Kind,
		ExternalID: author,
		Handle:     "@" + author,
		Name:       "Name " + author,
		Body:       "body of " + platformID,
		Language:   "nl",
		SentAt:     sent,
		ReceivedAt: sent.Add(2 * time.Second),
		Processed:  true,
	}
}

// ingest stores a batch and checks that there is one result per message.
func (f *fixture) ingest(batch ...store.Inbound) []store.IngestResult {
	f.t.Helper()
	res, err := f.s.Ingest(f.ctx, batch)
	f.check(err, "ingest %d messages", len(batch))
	if len(res) != len(batch) {
		f.t.Fatalf("Ingest gave %d results for %d messages", len(res), len(batch))
	}
	return res
}

func (f *fixture) ingestOne(in store.Inbound) store.IngestResult {
	f.t.Helper()
	return f.ingest(in)[0]
}

func (f *fixture) conversation(id int64) store.Conversation {
	f.t.Helper()
	c, err := f.s.Conversation(f.ctx, id)
	f.check(err, "conversation %d", id)
	return c
}

func (f *fixture) message(id int64) store.Message {
	f.t.Helper()
	m, err := f.s.Message(f.ctx, id)
	f.check(err, "message %d", id)
	return m
}

func (f *fixture) messages(conversationID int64) []store.Message {
	f.t.Helper()
	ms, err := f.s.Messages(f.ctx, conversationID, 0, 1000)
	f.check(err, "messages of conversation %d", conversationID)
	return ms
}

func (f *fixture) contact(id int64) store.Contact {
	f.t.Helper()
	c, err := f.s.Contact(f.ctx, id)
	f.check(err, "contact %d", id)
	return c
}

func (f *fixture) outboxEntry(id int64) store.OutboxEntry {
	f.t.Helper()
	e, err := f.s.OutboxEntry(f.ctx, id)
	f.check(err, "outbox entry %d", id)
	return e
}

func (f *fixture) update(id int64, ch store.ConversationChange) store.Conversation {
	f.t.Helper()
	c, err := f.s.UpdateConversation(f.ctx, id, ch, system)
	f.check(err, "update conversation %d", id)
	return c
}

func (f *fixture) resolve(id int64) {
	f.t.Helper()
	f.update(id, store.ConversationChange{Status: ptr(store.StatusResolved)})
}

// reply queues an agent's reply with a key unique to the conversation and
// moment.
func (f *fixture) reply(conversationID, agentID int64, now time.Time) (store.Message, store.OutboxEntry) {
	f.t.Helper()
	key := fmt.Sprintf("reply-%d-%d", conversationID, now.UnixMilli())
	m, e, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: conversationID, AgentID: agentID, Body: "answer " + key, IdempotencyKey: key, Now: now})
	f.check(err, "queue reply %s", key)
	return m, e
}

func (f *fixture) audits(subject string) []store.AuditEntry {
	f.t.Helper()
	a, err := f.s.Audits(f.ctx, subject, 0, 100)
	f.check(err, "audits of %s", subject)
	return a
}

func (f *fixture) depth() int {
	f.t.Helper()
	n, err := f.s.OutboxDepth(f.ctx)
	f.check(err, "outbox depth")
	return n
}

// sameTime reports whether got and want name the same millisecond.
func sameTime(got, want time.Time) bool {
	return got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond))
}

func (f *fixture) wantTime(what string, got, want time.Time) {
	f.t.Helper()
	if !sameTime(got, want) {
		f.t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantTimePtr checks an optional time; want nil means it must be unset.
func (f *fixture) wantTimePtr(what string, got, want *time.Time) {
	f.t.Helper()
	switch {
	case want == nil && got != nil:
		f.t.Errorf("%s = %v, want unset", what, *got)
	case want != nil && got == nil:
		f.t.Errorf("%s unset, want %v", what, *want)
	case want != nil && !sameTime(*got, *want):
		f.t.Errorf("%s = %v, want %v", what, *got, *want)
	}
}

// wantErr checks that err wraps target.
func (f *fixture) wantErr(what string, err, target error) {
	f.t.Helper()
	if !errors.Is(err, target) {
		f.t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// ids lists the ids of conversations in order.
func ids(cs []store.Conversation) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }
