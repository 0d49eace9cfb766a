package blueskyfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/webcare/webcare/internal/channel"
)

func call(t *testing.T, f *Fake, method, nsid, token string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, f.URL()+"/xrpc/"+nsid, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// Paging backwards with the cursor, and a second record under one key
// refused, as the adapter expects of a PDS.
func TestPDS(t *testing.T) {
	f := New()
	defer f.Close()
	var s struct{ AccessJwt string }
	if code := call(t, f, "POST", "com.atproto.server.createSession", "", map[string]string{"identifier": OwnHandle, "password": AppPassword}, &s); code != 200 {
		t.Fatalf("createSession %d", code)
	}
	for i := range 5 {
		f.Mention(channel.Message{Text: fmt.Sprint(i)})
	}
	f.Like()
	var seen []string
	cursor := ""
	for range 10 {
		var page struct {
			Cursor        string
			Notifications []struct{ URI, Reason, IndexedAt string }
		}
		q := "app.bsky.notification.listNotifications?limit=2&reasons=mention"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		if code := call(t, f, "GET", q, s.AccessJwt, nil, &page); code != 200 {
			t.Fatalf("list %d", code)
		}
		for _, n := range page.Notifications {
			if n.Reason != "mention" {
				t.Errorf("reason %s", n.Reason)
			}
			if len(seen) > 0 && n.IndexedAt >= seen[len(seen)-1] {
				t.Errorf("not newest first")
			}
			seen = append(seen, n.IndexedAt)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	if len(seen) != 5 {
		t.Errorf("%d notifications paged", len(seen))
	}
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-01T00:00:00.000Z"}
	in := map[string]any{"repo": OwnDID, "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a", "record": rec}
	if code := call(t, f, "POST", "com.atproto.repo.createRecord", s.AccessJwt, in, nil); code != 200 {
		t.Fatalf("createRecord %d", code)
	}
	var e struct{ Error string }
	if code := call(t, f, "POST", "com.atproto.repo.createRecord", s.AccessJwt, in, &e); code != 500 || e.Error != "InternalServerError" {
		t.Errorf("second record under one key: %d %s", code, e.Error)
	}
	in["rkey"] = "not-a-tid"
	if code := call(t, f, "POST", "com.atproto.repo.createRecord", s.AccessJwt, in, &e); code != 400 || e.Error != "InvalidRequest" {
		t.Errorf("bad rkey: %d %s", code, e.Error)
	}
	if code := call(t, f, "GET", "app.bsky.notification.listNotifications", "", nil, &e); code != 401 {
		t.Errorf("no token: %d", code)
	}
}
