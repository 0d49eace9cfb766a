package mastodonfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel"
)

func get(t *testing.T, f *Fake, query string) ([]notification, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.URL()+"/api/v1/notifications?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+f.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page []notification
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page, resp.Header
}

// The paging the adapter relies on, as Mastodon documents it.
func TestPaging(t *testing.T) {
	f := New()
	defer f.Close()
	for i := range 10 {
		f.Mention(channel.Message{Text: fmt.Sprint(i)})
	}
	all, _ := get(t, f, "limit=40")
	if len(all) != 10 || !idLess(all[1].ID, all[0].ID) {
		t.Fatalf("newest first: %d", len(all))
	}
	oldest := all[9].ID
	tests := []struct {
		name, query string
		first, last int // indexes into all
	}{
		{"since_id: the newest page above", "limit=3&since_id=" + oldest, 0, 2},
		{"min_id: the page just above", "limit=3&min_id=" + oldest, 6, 8},
		{"max_id: below", "limit=3&max_id=" + all[0].ID, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, h := get(t, f, tt.query)
			if len(page) != 3 || page[0].ID != all[tt.first].ID || page[2].ID != all[tt.last].ID {
				t.Errorf("got %v", page)
			}
			link := h.Get("Link")
			if !strings.Contains(link, "min_id="+page[0].ID) || !strings.Contains(link, "max_id="+page[2].ID) {
				t.Errorf("Link %q", link)
			}
		})
	}
	req, _ := http.NewRequest("GET", f.URL()+"/api/v1/notifications", nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}
