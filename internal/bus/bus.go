// Package bus carries committed events (a message arrived, a conversation
// changed, a reply was delivered) to whoever listens: the agents' live
// streams, metrics, later stages. Only committed data is ever published.
package bus

import (
	"context"
	"sync"
	"time"
)

// Event types.
const (
	MessageReceived     = "message.received"     // an inbound message was stored
	MessageCreated      = "message.created"      // an agent wrote a reply or note
	ConversationUpdated = "conversation.updated" // status, assignee, team, tags… changed
	ReplyDelivered      = "reply.delivered"
	ReplyRetrying       = "reply.retrying"
	ReplyFailed         = "reply.failed"
	// ChannelUpdated says a channel's settings or token changed, so that
	// every instance forgets its cached copy.
	ChannelUpdated = "channel.updated"
	// AgentActivity says an agent views, types in or left a conversation;
	// it is fleeting and stored nowhere. Detail is {"name","state"}.
	AgentActivity = "agent.activity"
	// Reset says events were lost on the way (a bus that could not reach
	// its server for too long); listeners reload what they show.
	Reset = "reset"
)

// Event is one committed change. Seq orders events on one bus and lets a
// reconnecting client ask for what it missed.
type Event struct {
	Seq            uint64    `json:"seq"`
	Type           string    `json:"type"`
	At             time.Time `json:"at"`
	ConversationID int64     `json:"conversation_id,omitempty"`
	MessageID      int64     `json:"message_id,omitempty"`
	ContactID      int64     `json:"contact_id,omitempty"`
	ChannelID      int64     `json:"channel_id,omitempty"`
	AgentID        int64     `json:"agent_id,omitempty"`
	Detail         string    `json:"detail,omitempty"`
}

// Bus publishes events to subscribers.
type Bus interface {
	// Publish delivers the events to every subscriber. It never blocks on a
	// slow subscriber.
	Publish(ctx context.Context, events ...Event) error
	// Subscribe returns a channel of events published after seq (0: only
	// new ones) and a function to stop. The channel is closed when the
	// subscriber falls too far behind or after cancel; a client then
	// resubscribes from its last seq. ok is false when events after seq are
	// no longer kept, so the client must reload instead of replaying.
	Subscribe(ctx context.Context, after uint64) (events <-chan Event, cancel func(), ok bool)
}

// Memory is the in-process bus for a single instance.
type Memory struct {
	mu   sync.Mutex
	seq  uint64
	ring []Event // the last len(ring) events, for replay
	next int     // where the next event goes in ring
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch     chan Event
	closed bool
}

var _ Bus = (*Memory)(nil)

// Buffer sizes: replay history and a subscriber's backlog.
const (
	ringSize   = 8192
	subBacklog = 1024
)

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory {
	return &Memory{ring: make([]Event, 0, ringSize), subs: map[*subscriber]struct{}{}}
}

// Publish stamps and delivers events; subscribers that cannot keep up are
// dropped (they reconnect and replay) rather than slowing everyone down.
func (m *Memory) Publish(_ context.Context, events ...Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		m.seq++
		e.Seq = m.seq
		if e.At.IsZero() {
			e.At = time.Now().UTC()
		}
		if len(m.ring) < ringSize {
			m.ring = append(m.ring, e)
		} else {
			m.ring[m.next] = e
		}
		m.next = (m.next + 1) % ringSize
		for s := range m.subs {
			select {
			case s.ch <- e:
			default:
				m.drop(s)
			}
		}
	}
	return nil
}

func (m *Memory) drop(s *subscriber) {
	if !s.closed {
		s.closed = true
		close(s.ch)
		delete(m.subs, s)
	}
}

// Subscribe starts a subscription after seq.
func (m *Memory) Subscribe(ctx context.Context, after uint64) (<-chan Event, func(), bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &subscriber{ch: make(chan Event, subBacklog)}
	ok := true
	if after > m.seq {
		ok = false // from before a restart: the client must reload
	} else if after > 0 && after < m.seq {
		missed := m.since(after)
		oldest := m.seq - uint64(len(m.ring)) + 1
		if after+1 < oldest || len(missed) > subBacklog {
			ok = false
		} else {
			for _, e := range missed {
				s.ch <- e
			}
		}
	}
	m.subs[s] = struct{}{}
	cancel := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.drop(s)
	}
	context.AfterFunc(ctx, cancel)
	return s.ch, cancel, ok
}

// since returns the kept events with Seq > after, oldest first.
func (m *Memory) since(after uint64) []Event {
	var out []Event
	n := len(m.ring)
	start := 0
	if n == ringSize {
		start = m.next
	}
	for i := 0; i < n; i++ {
		e := m.ring[(start+i)%n]
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

// Seq returns the sequence number of the newest event.
func (m *Memory) Seq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}
