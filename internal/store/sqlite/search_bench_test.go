package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// BenchmarkSearchAsField: a search by field staff (who see one assigned
// conversation) against one by everyone else, over 60,000 messages that
// all match the word.
func BenchmarkSearchAsField(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "f.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ch := store.Channel{Kind: "api", Name: "feed"}
	if err := s.CreateChannel(b.Context(), &ch, store.Actor{}); err != nil {
		b.Fatal(err)
	}
	field := store.Agent{Email: "field@heron.example", Name: "Purser", Role: store.RoleField}
	if err := s.CreateAgent(b.Context(), &field, store.Actor{}); err != nil {
		b.Fatal(err)
	}
	for n := range 120 {
		batch := make([]store.Inbound, 500)
		for i := range batch {
			batch[i] = store.Inbound{ChannelID: ch.ID, PlatformID: fmt.Sprintf("m%d-%d", n, i), Platform: "api:1", ExternalID: fmt.Sprintf("u%d", n*500+i),
				Body: "mijn koffer is kwijt op schiphol", SentAt: time.Now(), ReceivedAt: time.Now()}
		}
		res, err := s.Ingest(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		if n == 3 {
			if _, err := s.AssignConversations(b.Context(), []int64{res[7].ConversationID}, field.ID, store.Actor{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, who := range []struct {
		name     string
		assignee int64
	}{{"everyone", 0}, {"field", field.ID}} {
		b.Run(who.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Search(b.Context(), store.SearchQuery{Text: "koffer", Limit: 20, AssigneeID: who.assignee}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
