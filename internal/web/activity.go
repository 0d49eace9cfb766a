package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
)

// activity is who views or types in which conversation, for collision
// warnings. It is fleeting and per instance; the event it publishes goes
// over the bus, so agents on other instances see it too.
type activity struct {
	mu    sync.Mutex
	convs map[int64]map[int64]presenceMark // conversation → agent → mark
}

type presenceMark struct {
	name   string
	typing bool
	at     time.Time
}

// Marks older than this are gone: the browser repeats them while the
// agent stays.
const (
	viewingTTL = 30 * time.Second
	typingTTL  = 8 * time.Second
)

func newActivity() *activity { return &activity{convs: map[int64]map[int64]presenceMark{}} }

func (a *activity) set(conv, agent int64, name string, typing bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.convs[conv]
	if m == nil {
		m = map[int64]presenceMark{}
		a.convs[conv] = m
	}
	m[agent] = presenceMark{name: name, typing: typing, at: now}
	// A closed tab never says it left: sweep stale marks, of this
	// conversation always and of all when many have gathered, so the map
	// stays as small as the number of conversations open right now.
	sweep := map[int64]map[int64]presenceMark{conv: m}
	if len(a.convs) > 256 {
		sweep = a.convs
	}
	for c, marks := range sweep {
		for id, mk := range marks {
			if now.Sub(mk.at) > viewingTTL {
				delete(marks, id)
			}
		}
		if len(marks) == 0 {
			delete(a.convs, c)
		}
	}
}

func (a *activity) leave(conv, agent int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.convs[conv], agent)
	if len(a.convs[conv]) == 0 {
		delete(a.convs, conv)
	}
}

// typing lists the other agents typing in conv right now.
func (a *activity) typing(conv, me int64, now time.Time) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for id, mk := range a.convs[conv] {
		if id != me && mk.typing && now.Sub(mk.at) <= typingTTL {
			out = append(out, mk.name)
		}
	}
	slices.Sort(out)
	return out
}

// activityDetail is the Detail of an agent.activity event.
type activityDetail struct {
	Name  string `json:"name"`
	State string `json:"state"` // viewing, typing, left
}

func (s *Server) publishActivity(r *http.Request, c store.Conversation, me store.Agent, state string) {
	d, _ := json.Marshal(activityDetail{Name: me.Name, State: state})
	e := bus.Event{Type: bus.AgentActivity, ConversationID: c.ID, AgentID: me.ID, Detail: string(d)}
	if err := s.bus.Publish(r.Context(), e); err != nil {
		s.log.Warn("publish failed", "type", e.Type, "conversation_id", e.ConversationID, "err", err)
	}
}

// followActivity keeps the marks of agents on other instances too: their
// activity arrives over the bus. It runs until the server closes.
func (s *Server) followActivity() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closing
		cancel()
	}()
	for ctx.Err() == nil {
		events, stop, _ := s.bus.Subscribe(ctx, 0)
		for e := range events {
			if e.Type != bus.AgentActivity {
				continue
			}
			var d activityDetail
			if json.Unmarshal([]byte(e.Detail), &d) != nil {
				continue
			}
			switch d.State {
			case "left":
				s.activity.leave(e.ConversationID, e.AgentID)
			case "viewing", "typing":
				s.activity.set(e.ConversationID, e.AgentID, d.Name, d.State == "typing", s.now())
			}
		}
		stop()
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
