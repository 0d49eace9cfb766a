// Package desk is every operation a person or a part of webcare performs on
// the work: an agent replies, notes, takes, parks or resolves a
// conversation; a supervisor assigns many at once; an admin adds agents,
// teams, templates and channels; the command line resolves idle
// conversations; later, timers, routing and simulators do the same through
// the same calls.
//
// Each operation takes the caller's context, the Actor and plain values. It
// checks the rules (what is valid, what the actor's role allows), commits
// through the store, and only then does its side effects, once: the bus
// event that keeps every open inbox current, the outbox wake-up, dropping
// cached copies of a changed channel. The audit entry is written by the
// store in the same transaction as the change.
//
// Refusals are *Error values whose Kind is ErrInvalid, ErrForbidden,
// store.ErrNotFound or store.ErrConflict, with a message safe to show; the
// store's own ErrNotFound and ErrConflict (an unknown id, a taken e-mail
// address) pass through as they are; anything else is a failure of the
// machinery. Only package web turns them into HTTP statuses.
package desk

import (
	"context"
	"log/slog"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Store is what the desk reads and changes.
type Store interface {
	Conversation(ctx context.Context, id int64) (store.Conversation, error)
	UpdateConversation(ctx context.Context, id int64, ch store.ConversationChange, by store.Actor) (store.Conversation, error)
	AssignConversations(ctx context.Context, ids []int64, assigneeID int64, by store.Actor) ([]store.Conversation, error)
	ResolveIdle(ctx context.Context, statuses []store.Status, idleSince time.Time, limit int, by store.Actor) ([]int64, error)
	AddNote(ctx context.Context, conversationID, agentID int64, body string, now time.Time) (store.Message, error)
	QueueReply(ctx context.Context, r store.Reply) (store.Message, store.OutboxEntry, error)
	MoveToPrivate(ctx context.Context, r store.Reply) (store.Conversation, store.Message, store.OutboxEntry, error)

	Channel(ctx context.Context, id int64) (store.Channel, error)
	CreateChannel(ctx context.Context, c *store.Channel, by store.Actor) error
	UpdateChannel(ctx context.Context, c *store.Channel, by store.Actor) error

	Agent(ctx context.Context, id int64) (store.Agent, error)
	Agents(ctx context.Context) ([]store.Agent, error)
	CreateAgent(ctx context.Context, a *store.Agent, by store.Actor) error
	UpdateAgent(ctx context.Context, a *store.Agent, by store.Actor) error
	EndSessions(ctx context.Context, agentID int64, keep []byte, tokens bool, by store.Actor) (int, error)
	SetTwoFactor(ctx context.Context, agentID int64, secret string, codes [][]byte, by store.Actor) error

	Team(ctx context.Context, id int64) (store.Team, error)
	CreateTeam(ctx context.Context, t *store.Team, by store.Actor) error
	UpdateTeam(ctx context.Context, t *store.Team, by store.Actor) error

	Template(ctx context.Context, id int64) (store.Template, error)
	CreateTemplate(ctx context.Context, t *store.Template, by store.Actor) error
	UpdateTemplate(ctx context.Context, t *store.Template, by store.Actor) error
	DeleteTemplate(ctx context.Context, id int64, by store.Actor) error

	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
	Audit(ctx context.Context, e store.AuditEntry) error
}

// ChannelCache is a cache of channels kept by the ingest pipeline of this
// instance; (*ingest.Pipeline) is one.
type ChannelCache interface {
	Channel(ctx context.Context, id int64) (store.Channel, error)
	ForgetChannel(id int64)
}

// Desk performs the operations. It is safe for concurrent use.
type Desk struct {
	store    Store
	bus      bus.Bus
	adapters *channel.Registry
	cache    ChannelCache
	wake     func()
	now      func() time.Time
	log      *slog.Logger
}

// Options are the Desk's parts. Store, Bus and Adapters are required.
type Options struct {
	Store    Store
	Bus      bus.Bus
	Adapters *channel.Registry
	// Channels is this instance's channel cache, emptied at once when a
	// channel changes (other instances hear of it through the bus). Nil:
	// channels are read from the store (the command line).
	Channels ChannelCache
	// WakeOutbox is called after a reply is queued; nil: the outbox finds
	// it at its next turn.
	WakeOutbox func()
	Now        func() time.Time
	Log        *slog.Logger
}

// New builds a Desk. Missing required parts are a wiring defect: it
// panics rather than fail after a commit.
func New(o Options) *Desk {
	if o.Store == nil || o.Bus == nil || o.Adapters == nil {
		panic("desk: Store, Bus and Adapters are required")
	}
	d := &Desk{store: o.Store, bus: o.Bus, adapters: o.Adapters, cache: o.Channels, wake: o.WakeOutbox, now: o.Now, log: o.Log}
	if d.wake == nil {
		d.wake = func() {}
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Adapters are the platforms this desk knows, by kind.
func (d *Desk) Adapters() *channel.Registry { return d.adapters }

// Actor is who performs an operation: an agent, with the rights of their
// role, or webcare itself (the command line, a timer), which may do
// everything an admin may. The zero Actor may do nothing.
type Actor struct {
	Agent  store.Agent // who; the zero Agent for webcare itself
	Via    string      // how: "api", "cli", "timer"; it goes into the audit trail
	system bool
}

// System is webcare itself acting, through via ("cli", "timer", …).
func System(via string) Actor { return Actor{Via: via, system: true} }

// Agent is an agent acting through via. An agent that is not stored (id
// 0, as when a request carries nobody) may do nothing.
func Agent(a store.Agent, via string) Actor { return Actor{Agent: a, Via: via} }

// Can reports whether the actor's role allows p; webcare itself may do
// everything.
func (a Actor) Can(p auth.Permission) bool {
	return a.system || (a.Agent.ID != 0 && !a.Agent.Disabled && auth.Can(a.Agent.Role, p))
}

func (a Actor) record() store.Actor { return store.Actor{AgentID: a.Agent.ID, Via: a.Via} }

// require refuses the actor unless the role allows p.
func (a Actor) require(p auth.Permission) error {
	if a.Can(p) {
		return nil
	}
	return forbidden("your role (%s) may not do this", a.Agent.Role)
}

// publish announces committed changes. A lost event costs an open page a
// reload, never data, so a failure is logged, not returned.
func (d *Desk) publish(ctx context.Context, events ...bus.Event) {
	if len(events) == 0 {
		return
	}
	if err := d.bus.Publish(context.WithoutCancel(ctx), events...); err != nil {
		d.log.Warn("publish failed", "type", events[0].Type, "conversation_id", events[0].ConversationID, "events", len(events), "err", err)
	}
}

// channel reads a channel through this instance's cache when there is one.
func (d *Desk) channel(ctx context.Context, id int64) (store.Channel, error) {
	if d.cache != nil {
		return d.cache.Channel(ctx, id)
	}
	return d.store.Channel(ctx, id)
}

// channelChanged makes every instance forget its cached copy of a
// channel: this one at once, the others through the bus.
func (d *Desk) channelChanged(ctx context.Context, id int64) {
	if d.cache != nil {
		d.cache.ForgetChannel(id)
	}
	d.publish(ctx, bus.Event{Type: bus.ChannelUpdated, ChannelID: id})
}
