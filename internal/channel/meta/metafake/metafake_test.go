package metafake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/channel/meta/metafake"
	"github.com/webcare/webcare/internal/store"
)

// TestFakeChecksRequests: the fake refuses what Meta refuses, with Meta's
// error object, so that adapter tests against it mean something.
func TestFakeChecksRequests(t *testing.T) {
	f := metafake.New(meta.KindInstagram)
	defer f.Close()
	base := f.Settings()["api_base"]
	tests := []struct {
		name   string
		path   string
		token  string
		ctype  string
		body   string
		status int
		code   int
	}{
		{"no token", "/me/messages", "", "application/json", `{}`, 400, 104},
		{"wrong token", "/me/messages", "nope", "application/json", `{}`, 400, 190},
		{"not JSON", "/me/messages", f.Token, "application/json", `[`, 400, 100},
		{"text/plain body", "/me/messages", f.Token, "text/plain", `hi`, 400, 100},
		{"no recipient", "/me/messages", f.Token, "application/json", `{"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 400, 100},
		{"no messaging_type", "/me/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"message":{"text":"hi"}}`, 400, 100},
		{"tag without HUMAN_AGENT", "/me/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","message":{"text":"hi"}}`, 400, 100},
		{"text over 1000 bytes", "/me/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"text":"` + strings.Repeat("é", 501) + `"}}`, 400, 100},
		{"text and attachment", "/me/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"text":"a","attachment":{"type":"image","payload":{"url":"https://x/y.png"}}}}`, 400, 100},
		{"other page's node", "/123/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 400, 100},
		{"reply without message", "/1790/replies", f.Token, "application/x-www-form-urlencoded", ``, 400, 100},
		{"facebook edge on instagram", "/1790/comments", f.Token, "application/x-www-form-urlencoded", `message=hi`, 400, 100},
		{"ok", "/me/messages", f.Token, "application/json", `{"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Error *struct {
					Code      int    `json:"code"`
					Message   string `json:"message"`
					FBTraceID string `json:"fbtrace_id"`
				} `json:"error"`
				MessageID string `json:"message_id"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code != 0 && (out.Error == nil || out.Error.Code != tt.code || out.Error.Message == "" || out.Error.FBTraceID == "") {
				t.Fatalf("error %+v, want code %d", out.Error, tt.code)
			}
			if tt.code == 0 && out.MessageID == "" {
				t.Fatal("no message_id")
			}
		})
	}
	if n := len(f.Requests()); n != len(tests) {
		t.Errorf("recorded %d requests, want %d", n, len(tests))
	}
}

func TestFakeFailures(t *testing.T) {
	f := metafake.New(meta.KindFacebook)
	defer f.Close()
	f.FailNext(1, metafake.Error{Status: 429, Code: 4, Message: "(#4) Application request limit reached", Header: http.Header{"Retry-After": {"12"}}})
	f.RateLimit(1, 3)
	f.ServerError(1)
	get := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, f.Settings()["api_base"]+"/"+f.AccountID+"?fields=name", nil)
		req.Header.Set("Authorization", "Bearer "+f.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get(); r.StatusCode != 429 || r.Header.Get("Retry-After") != "12" {
		t.Errorf("first: %d %v", r.StatusCode, r.Header)
	}
	if r := get(); r.StatusCode != 400 || !strings.Contains(r.Header.Get("X-Business-Use-Case-Usage"), `"estimated_time_to_regain_access":3`) {
		t.Errorf("second: %d %v", r.StatusCode, r.Header)
	}
	if r := get(); r.StatusCode != 500 {
		t.Errorf("third: %d", r.StatusCode)
	}
	if r := get(); r.StatusCode != 200 {
		t.Errorf("fourth: %d", r.StatusCode)
	}
}

// TestPostSigns: a delivery arrives at /hooks/{id}, signed with the
// channel's app secret, and parses as the message that was posted.
func TestPostSigns(t *testing.T) {
	for _, kind := range []string{meta.KindFacebook, meta.KindInstagram} {
		t.Run(kind, func(t *testing.T) {
			f := metafake.New(kind)
			defer f.Close()
			ch := store.Channel{ID: 5, Kind: kind, Settings: f.Settings()}
			w := &meta.Webhook{Kind: kind}
			var got []channel.Message
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.URL.Path != "/hooks/5" || r.Header.Get("Content-Type") != "application/json" {
					http.Error(rw, "wrong request", 400)
					return
				}
				if err := w.Verify(ch, r.Header, body); err != nil {
					http.Error(rw, err.Error(), 403)
					return
				}
				b, err := w.Parse(ch, body)
				if err != nil {
					http.Error(rw, err.Error(), 400)
					return
				}
				got = append(got, b.Messages...)
			}))
			defer srv.Close()
			ctx := context.Background()
			first := channel.Message{PlatformID: "c1", From: channel.Author{ExternalID: "77", Name: "Ann", Handle: "ann"}, Text: "Eerste"}
			if err := f.Post(ctx, srv.URL, ch, first); err != nil {
				t.Fatal(err)
			}
			reply := channel.Message{From: channel.Author{ExternalID: "78"}, Text: "Tweede", ReplyTo: got[0].PlatformID}
			if err := f.Post(ctx, srv.URL, ch, reply); err != nil {
				t.Fatal(err)
			}
			dm := channel.Message{From: channel.Author{ExternalID: "77"}, Text: "Privé", Private: true}
			if err := f.Post(ctx, srv.URL, ch, dm); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[0].Private || got[1].Private || !got[2].Private {
				t.Fatalf("got %+v", got)
			}
			if got[1].ReplyTo != got[0].PlatformID {
				t.Errorf("reply answers %q, want %q", got[1].ReplyTo, got[0].PlatformID)
			}
			if kind == meta.KindInstagram && got[0].From.Handle != "ann" {
				t.Errorf("handle %q", got[0].From.Handle)
			}
		})
	}
}
