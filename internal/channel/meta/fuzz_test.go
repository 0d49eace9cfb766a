package meta_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
)

// FuzzParse feeds both parsers arbitrary bodies, seeded with the fixtures:
// they must never panic, and either give an ErrPayload or messages that
// carry the ids ingest needs.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"object":"page","entry":[{"id":1,"messaging":[{"sender":{"id":2},"message":{"mid":"m","attachments":[{"type":"image","payload":{"url":"http://x/y.png"}}]}}]}]}`))
	f.Add([]byte(`{"object":"instagram","entry":[{"id":"1","changes":[{"field":"messages","value":{"sender":{"id":"2"},"read":{"mid":"m"}}}]}]}`))
	hooks := []*meta.Webhook{{Kind: meta.KindFacebook}, {Kind: meta.KindInstagram}}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, w := range hooks {
			b, err := w.Parse(chFor(w.Kind, "448242228374517"), body)
			if err != nil {
				if !errors.Is(err, channel.ErrPayload) {
					t.Fatalf("error not ErrPayload: %v", err)
				}
				continue
			}
			for _, m := range b.Messages {
				if m.PlatformID == "" || m.From.ExternalID == "" || m.Account == "" {
					t.Fatalf("message without ids: %+v", m)
				}
				for _, file := range m.Files {
					if file.Ref == "" {
						t.Fatalf("file without ref: %+v", m)
					}
				}
			}
			for _, s := range b.Statuses {
				if s.PlatformID == "" {
					t.Fatalf("status without id: %+v", s)
				}
			}
		}
	})
}
