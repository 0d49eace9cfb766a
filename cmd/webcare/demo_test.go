package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer the demo prints to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoAnswersEveryPlatform is the newcomer's tour: run the demo, see
// messages from every channel in the one inbox, reply on each, and every
// reply reaches its (fake) platform through the real adapter. The fakes
// refuse requests that break the platform's documented format, so a reply
// marked sent went out in that format.
func TestDemoAnswersEveryPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for up to a minute")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--rate", "20"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	})

	var base string
	waitFor(t, 30*time.Second, "the demo's URL", func() bool {
		m := regexp.MustCompile(`open\s+(http://\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"email":"admin@heron.example","password":"heron-demo-2026"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func(path string, v any) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	var chs struct {
		Channels []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"channels"`
	}
	get("/api/v1/channels", &chs)
	type conv struct {
		ID         int64  `json:"id"`
		Visibility string `json:"visibility"`
		Status     string `json:"status"`
	}
	// A message the simulator sent through each platform (not only the
	// seeded history) arrives in the inbox.
	newest := map[string]conv{}
	waitFor(t, 45*time.Second, "a new message on every channel", func() bool {
		for _, ch := range chs.Channels {
			var list struct {
				Conversations []conv `json:"conversations"`
			}
			get(fmt.Sprintf("/api/v1/conversations?channel=%d&status=new&limit=1", ch.ID), &list)
			if len(list.Conversations) > 0 {
				newest[ch.Kind] = list.Conversations[0]
			}
		}
		return len(newest) == len(chs.Channels)
	})

	replies := map[string]int64{}
	for kind, cv := range newest {
		resp, err := c.Post(fmt.Sprintf("%s/api/v1/conversations/%d/replies", base, cv.ID), "application/json",
			strings.NewReader(`{"body":"Thank you for writing to Heron. We are on it."}`))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Message struct {
				ID int64 `json:"id"`
			} `json:"message"`
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("reply on %s: %d %s", kind, resp.StatusCode, body)
		}
		replies[kind] = r.Message.ID
	}
	state := map[string]string{}
	check := func() {
		for kind, id := range replies {
			var msgs struct {
				Messages []struct {
					ID       int64  `json:"id"`
					Delivery string `json:"delivery"`
					Error    string `json:"delivery_error"`
				} `json:"messages"`
			}
			get(fmt.Sprintf("/api/v1/conversations/%d/messages", newest[kind].ID), &msgs)
			for _, m := range msgs.Messages {
				if m.ID == id {
					state[kind] = m.Delivery
					if m.Delivery == "failed" {
						t.Fatalf("the reply on %s failed: %s", kind, m.Error)
					}
				}
			}
		}
	}
	waitFor(t, 60*time.Second, "every reply delivered", func() bool {
		check()
		for _, s := range state {
			if s == "queued" {
				return false
			}
		}
		return len(state) == len(replies)
	})
	t.Logf("reply states: %v", state)
	// WhatsApp reports the reply delivered to the phone, then read.
	waitFor(t, 20*time.Second, "the WhatsApp reply read", func() bool {
		check()
		return state["whatsapp"] == "read"
	})
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
