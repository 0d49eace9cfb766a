package storetest

import (
	"context"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var notFoundTests = []testCase{
	{"lookups of unknown records", testNotFoundLookups},
	{"changes to unknown records", testNotFoundChanges},
}

// unknown is an id no test record has: the stores in these tests hold one
// record of each kind, with small ids.
const unknown int64 = 4242

// populate gives the store one record of every kind, so that not finding
// an unknown id cannot be put down to an empty table.
func populate(f *fixture) {
	f.t.Helper()
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	f.team("Baggage", ag.ID)
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.reply(r.ConversationID, ag.ID, at(1))
	t := store.Template{Name: "Bag", Shortcut: "bag"}
	f.check(f.s.CreateTemplate(f.ctx, &t, system), "create template")
	f.check(f.s.SetSetting(f.ctx, "known", "yes"), "set setting")
	f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: []byte("known"), AgentID: ag.ID, ExpiresAt: at(600)}), "create session")
	tok := store.APIToken{AgentID: ag.ID, Name: "crm", Hash: []byte("known")}
	f.check(f.s.CreateAPIToken(f.ctx, &tok, system), "create token")
}

func testNotFoundLookups(f *fixture) {
	populate(f)
	tests := []struct {
		name   string
		lookup func(ctx context.Context, s store.Store) error
	}{
		{"Channel", func(ctx context.Context, s store.Store) error { _, err := s.Channel(ctx, unknown); return err }},
		{"Contact", func(ctx context.Context, s store.Store) error { _, err := s.Contact(ctx, unknown); return err }},
		{"Conversation", func(ctx context.Context, s store.Store) error { _, err := s.Conversation(ctx, unknown); return err }},
		{"Message", func(ctx context.Context, s store.Store) error { _, err := s.Message(ctx, unknown); return err }},
		{"OutboxEntry", func(ctx context.Context, s store.Store) error { _, err := s.OutboxEntry(ctx, unknown); return err }},
		{"Agent", func(ctx context.Context, s store.Store) error { _, err := s.Agent(ctx, unknown); return err }},
		{"AgentByEmail", func(ctx context.Context, s store.Store) error {
			_, err := s.AgentByEmail(ctx, "nobody@example.com")
			return err
		}},
		{"Team", func(ctx context.Context, s store.Store) error { _, err := s.Team(ctx, unknown); return err }},
		{"Template", func(ctx context.Context, s store.Store) error { _, err := s.Template(ctx, unknown); return err }},
		{"Setting", func(ctx context.Context, s store.Store) error { _, err := s.Setting(ctx, "unknown"); return err }},
		{"SessionAgent", func(ctx context.Context, s store.Store) error {
			_, err := s.SessionAgent(ctx, []byte("unknown"), at(0))
			return err
		}},
		{"APITokenAgent", func(ctx context.Context, s store.Store) error {
			_, err := s.APITokenAgent(ctx, []byte("unknown"), at(0))
			return err
		}},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f.sub(t).wantErr(tt.name, tt.lookup(f.ctx, f.s), store.ErrNotFound)
		})
	}
}

func testNotFoundChanges(f *fixture) {
	populate(f)
	tests := []struct {
		name   string
		change func(ctx context.Context, s store.Store) error
	}{
		{"UpdateChannel", func(ctx context.Context, s store.Store) error {
			return s.UpdateChannel(ctx, &store.Channel{ID: unknown, Kind: "x", Name: "ghost"}, system)
		}},
		{"UpdateAgent", func(ctx context.Context, s store.Store) error {
			return s.UpdateAgent(ctx, &store.Agent{ID: unknown, Email: "ghost@example.com", Role: store.RoleAgent}, system)
		}},
		{"UpdateTeam", func(ctx context.Context, s store.Store) error {
			return s.UpdateTeam(ctx, &store.Team{ID: unknown, Name: "Ghosts"}, system)
		}},
		{"UpdateTemplate", func(ctx context.Context, s store.Store) error {
			return s.UpdateTemplate(ctx, &store.Template{ID: unknown, Name: "Ghost", Shortcut: "ghost"}, system)
		}},
		{"DeleteTemplate", func(ctx context.Context, s store.Store) error { return s.DeleteTemplate(ctx, unknown, system) }},
		{"DeleteAPIToken", func(ctx context.Context, s store.Store) error { return s.DeleteAPIToken(ctx, unknown, system) }},
		{"UpdateConversation", func(ctx context.Context, s store.Store) error {
			_, err := s.UpdateConversation(ctx, unknown, store.ConversationChange{Priority: ptr(1)}, system)
			return err
		}},
		{"AddNote", func(ctx context.Context, s store.Store) error {
			_, err := s.AddNote(ctx, unknown, 0, "note", at(0))
			return err
		}},
		{"QueueReply", func(ctx context.Context, s store.Store) error {
			_, _, err := s.QueueReply(ctx, store.Reply{ConversationID: unknown, Body: "reply", IdempotencyKey: "ghost", Now: at(0)})
			return err
		}},
		{"DeliverOutbox", func(ctx context.Context, s store.Store) error { return s.DeliverOutbox(ctx, unknown, "x-1", at(0)) }},
		{"RetryOutbox", func(ctx context.Context, s store.Store) error { return s.RetryOutbox(ctx, unknown, "timeout", at(1)) }},
		{"FailOutbox", func(ctx context.Context, s store.Store) error { return s.FailOutbox(ctx, unknown, "gone", at(0)) }},
		{"MergeContacts", func(ctx context.Context, s store.Store) error {
			return s.MergeContacts(ctx, unknown, unknown+1, system)
		}},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f.sub(t).wantErr(tt.name, tt.change(f.ctx, f.s), store.ErrNotFound)
		})
	}
	// None of it left a trace.
	want(f.t, "outbox depth", f.depth(), 1)
	if _, err := f.s.Template(f.ctx, unknown); err == nil {
		f.t.Error("UpdateTemplate of an unknown id created it")
	}
}
