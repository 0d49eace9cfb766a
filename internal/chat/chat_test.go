package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/clientip"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

func TestSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := "/chat/" + itoa(e.ch.ID)

	status, _, body := e.call("POST", base+"/session", "", `{"page":"https://shop.example.com/a#frag","lang":"nl"}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("new session: %d %s", status, body)
	}
	var s Session
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(s.VisitorID) || s.Token == "" || !s.Mail || s.Greeting != "Hi! How can we help?" || s.AgentsOnline {
		t.Fatalf("session %+v", s)
	}
	// A page view alone stores nothing.
	if _, err := e.st.Setting(ctx, recordKey(e.ch.ID, s.VisitorID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("visitor record after a bare session: %v", err)
	}

	// Resume: the same identity.
	status, _, body = e.call("POST", base+"/session", s.Token, ``, nil)
	var again Session
	json.Unmarshal([]byte(body), &again)
	if status != http.StatusOK || again.VisitorID != s.VisitorID || again.Token != s.Token {
		t.Fatalf("resume: %d %s", status, body)
	}

	other := e.ch
	other.ID = e.ch.ID + 1
	forged := s.VisitorID + "." + strings.Repeat("A", 43)
	bad := []struct{ name, token string }{
		{"garbage", "nonsense"},
		{"forged mac", forged},
		{"another channel's", Token(other, s.VisitorID)},
		{"another secret's", Token(store.Channel{ID: e.ch.ID, Settings: map[string]string{SettingSecret: "other"}}, s.VisitorID)},
		{"upper-case id", strings.ToUpper(s.VisitorID) + s.Token[32:]},
		{"huge", strings.Repeat("a", 10000)},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range []struct{ method, path, body string }{
				{"POST", "/session", ``},
				{"POST", "/messages", `{"id":"a1","text":"hi"}`},
				{"GET", "/messages", ``},
				{"GET", "/stream", ``},
				{"POST", "/profile", `{"email":"a@example.com"}`},
			} {
				status, _, body := e.call(c.method, base+c.path, b.token, c.body, nil)
				if status != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
					t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
				}
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		for _, path := range []string{"/messages", "/stream"} {
			if status, _, body := e.call("GET", base+path, "", "", nil); status != http.StatusUnauthorized || !strings.Contains(body, "start a session") {
				t.Errorf("%s: %d %s", path, status, body)
			}
		}
	})

	// Channels that are not a chat.
	api := store.Channel{Kind: "api", Name: "feed", Settings: map[string]string{SettingSecret: "x"}}
	e.st.CreateChannel(ctx, &api, store.Actor{})
	off := store.Channel{Kind: Kind, Name: "off", Disabled: true, Settings: map[string]string{SettingSecret: "x"}}
	e.st.CreateChannel(ctx, &off, store.Actor{})
	unset := store.Channel{Kind: Kind, Name: "unset"}
	e.st.CreateChannel(ctx, &unset, store.Actor{})
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/chat/999999/session", 404},
		{"/chat/abc/session", 404},
		{"/chat/-1/session", 404},
		{"/chat/" + itoa(api.ID) + "/session", 404},
		{"/chat/" + itoa(off.ID) + "/session", 404},
		{"/chat/" + itoa(unset.ID) + "/session", 503},
		{base + "/nothing", 404},
	} {
		if status, _, body := e.call("POST", c.path, "", "", nil); status != c.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", c.path, status, body, c.status)
		}
	}
}

func TestPostMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.visitor()
	res, err := v.Send(ctx, Post{ID: "m-1", Text: "  Where is my <b>bag</b>? 🧳  ", Name: "Joost", Email: "joost@example.nl"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.MessageID == 0 || res.ID != "m-1" {
		t.Fatalf("post: %+v", res)
	}
	m, err := e.st.Message(ctx, res.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != "Where is my <b>bag</b>? 🧳" || m.PlatformID != "webchat:"+v.ID+":m-1" || m.Direction != store.DirInbound {
		t.Errorf("stored %+v", m)
	}
	c, _ := e.st.Conversation(ctx, res.ConversationID)
	contact, _ := e.st.Contact(ctx, c.ContactID)
	if c.Visibility != store.Private || len(contact.Identities) != 1 || contact.Identities[0].Platform != "webchat" ||
		contact.Identities[0].ExternalID != v.ID || contact.Identities[0].Handle != "joost@example.nl" || contact.Identities[0].DisplayName != "Joost" {
		t.Errorf("conversation %+v contact %+v", c, contact)
	}

	// A retried POST (same id) is stored once.
	again, err := v.Send(ctx, Post{ID: "m-1", Text: "Where is my <b>bag</b>? 🧳"})
	if err != nil || !again.Duplicate || again.MessageID != res.MessageID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if msgs, _ := e.st.Messages(ctx, res.ConversationID, 0, 10); len(msgs) != 1 {
		t.Errorf("%d messages after a retry", len(msgs))
	}
	// Another visitor using the same message id is not a duplicate.
	w := e.visitor()
	if r, err := w.Send(ctx, Post{ID: "m-1", Text: "hello"}); err != nil || r.Duplicate || r.ConversationID == res.ConversationID {
		t.Errorf("other visitor, same id: %+v %v", r, err)
	}

	path := "/chat/" + itoa(e.ch.ID) + "/messages"
	cases := []struct {
		name, body string
		status     int
		says       string
	}{
		{"empty body", ``, 400, "empty"},
		{"not JSON", `hello`, 400, "not a JSON object"},
		{"array", `[{"id":"a","text":"b"}]`, 400, "must be a"},
		{"unknown field", `{"id":"a","text":"b","admin":true}`, 400, "unknown field"},
		{"number text", `{"id":"a","text":5}`, 400, "must be a string"},
		{"object id", `{"id":{},"text":"x"}`, 400, "must be a string"},
		{"missing id", `{"text":"x"}`, 400, "id is required"},
		{"id with slash", `{"id":"../x","text":"x"}`, 400, "letters, digits"},
		{"long id", `{"id":"` + strings.Repeat("a", 65) + `","text":"x"}`, 400, "limit is 64"},
		{"empty text", `{"id":"a","text":"   "}`, 400, "text is empty"},
		{"text too long", `{"id":"a","text":"` + strings.Repeat("é", 4001) + `"}`, 400, "limit is 4000"},
		{"NUL", `{"id":"a","text":"a\u0000b"}`, 400, "control character"},
		{"bell", `{"id":"a","text":"a\u0007b"}`, 400, "control character"},
		{"name with newline", `{"id":"a","text":"x","name":"a\nb"}`, 400, "control character"},
		{"bad email", `{"id":"a","text":"x","email":"not-an-address"}`, 400, "not an e-mail address"},
		{"email with name", `{"id":"a","text":"x","email":"Bob <bob@example.com>"}`, 400, "not an e-mail address"},
		{"two values", `{"id":"a","text":"x"}{"id":"b","text":"y"}`, 400, "more than one"},
		{"invalid UTF-8", "{\"id\":\"a\",\"text\":\"\xff\"}", 400, "UTF-8"},
		{"huge", `{"id":"a","text":"` + strings.Repeat("x", MaxRequestBytes) + `"}`, 413, "over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := e.call("POST", path, v.Token, c.body, nil)
			if status != c.status || !strings.Contains(body, c.says) || h.Get("Content-Type") != "application/json" {
				t.Errorf("%d %s, want %d saying %q", status, body, c.status, c.says)
			}
		})
	}
	t.Run("xml", func(t *testing.T) {
		status, _, body := e.call("POST", path, v.Token, `<a/>`, map[string]string{"Content-Type": "application/xml"})
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("%d %s", status, body)
		}
	})
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.visitor(), e.visitor()
	ra, _ := a.Send(ctx, Post{ID: "a1", Text: "I am A"})
	d := e.reply(ra.ConversationID, "Hello A", "k1")
	if _, err := e.st.AddNote(ctx, ra.ConversationID, e.agent.ID, "internal: A is grumpy", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.Send(ctx, Post{ID: "b1", Text: "I am B"})

	got, err := a.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].From != "visitor" || got[0].Text != "I am A" || got[0].ClientID != "a1" ||
		got[1].From != "agent" || got[1].Text != "Hello A" || got[1].ID != d.Message.ID {
		t.Fatalf("A's history: %+v", got)
	}
	if after, _ := a.History(ctx, got[0].ID); len(after) != 1 || after[0].Text != "Hello A" {
		t.Errorf("after: %+v", after)
	}
	hb, _ := b.History(ctx, 0)
	if len(hb) != 1 || hb[0].Text != "I am B" {
		t.Errorf("B sees %+v", hb)
	}
	fresh := e.visitor()
	if h, err := fresh.History(ctx, 0); err != nil || len(h) != 0 {
		t.Errorf("a new visitor's history: %+v %v", h, err)
	}
	// B's token does not open A's conversation: the identity is in the token.
	b2 := *b
	b2.ID = a.ID
	if h, _ := b2.History(ctx, 0); len(h) != 1 || h[0].Text != "I am B" {
		t.Errorf("B claiming A's id: %+v", h)
	}
	if status, _, _ := e.call("GET", "/chat/"+itoa(e.ch.ID)+"/messages?after=x", a.Token, "", nil); status != 400 {
		t.Errorf("after=x: %d", status)
	}
	// Agents merge A into another contact: the history follows.
	other, _ := e.visitor().Send(ctx, Post{ID: "o1", Text: "other"})
	ca, _ := e.st.Conversation(ctx, ra.ConversationID)
	oc, _ := e.st.Conversation(ctx, other.ConversationID)
	if err := e.st.MergeContacts(ctx, oc.ContactID, ca.ContactID, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.History(ctx, 0); len(h) < 2 {
		t.Errorf("after a merge: %+v", h)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, withOrigins("https://shop.example.com, https://www.example.com/"))
	v := e.visitor()
	base := "/chat/" + itoa(e.ch.ID)
	cases := []struct {
		name, method, path, origin string
		status                     int
		allow                      string
	}{
		{"allowed", "GET", "/messages", "https://shop.example.com", 200, "https://shop.example.com"},
		{"allowed, trailing slash in list", "GET", "/messages", "https://www.example.com", 200, "https://www.example.com"},
		{"case", "GET", "/messages", "HTTPS://SHOP.EXAMPLE.COM", 200, "HTTPS://SHOP.EXAMPLE.COM"},
		{"other site", "GET", "/messages", "https://evil.example", 403, ""},
		{"http instead of https", "GET", "/messages", "http://shop.example.com", 403, ""},
		{"subdomain trick", "GET", "/messages", "https://shop.example.com.evil.example", 403, ""},
		{"null origin", "POST", "/session", "null", 403, ""},
		{"no origin (not a browser)", "GET", "/messages", "", 200, ""},
		{"preflight allowed", "OPTIONS", "/messages", "https://shop.example.com", 204, "https://shop.example.com"},
		{"preflight refused", "OPTIONS", "/messages", "https://evil.example", 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.origin != "" {
				hdr["Origin"] = c.origin
			}
			if c.method == "OPTIONS" {
				hdr["Access-Control-Request-Method"] = "POST"
				hdr["Access-Control-Request-Headers"] = "authorization, content-type"
			}
			status, h, body := e.call(c.method, base+c.path, v.Token, "", hdr)
			if status != c.status || h.Get("Access-Control-Allow-Origin") != c.allow {
				t.Fatalf("%d %q %s", status, h.Get("Access-Control-Allow-Origin"), body)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
			if c.method == "OPTIONS" && c.status == 204 && (!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST")) {
				t.Errorf("preflight headers %v", h)
			}
			if c.status == 403 && !strings.Contains(body, "may not use this chat") {
				t.Errorf("refusal %s", body)
			}
		})
	}
	t.Run("empty list allows any origin", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		status, h, _ := e.call("GET", "/chat/"+itoa(e.ch.ID)+"/messages", v.Token, "", map[string]string{"Origin": "https://anyone.example"})
		if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://anyone.example" {
			t.Errorf("%d %v", status, h)
		}
	})
	t.Run("widget.js", func(t *testing.T) {
		status, h, body := e.call("GET", "/chat/widget.js", "", "", nil)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" ||
			!strings.Contains(body, "attachShadow") || strings.Contains(body, "innerHTML") {
			t.Errorf("%d %v", status, h)
		}
		if status, _, _ := e.call("GET", "/chat/widget.js", "", "", map[string]string{"If-None-Match": h.Get("ETag")}); status != 304 {
			t.Errorf("revalidation: %d", status)
		}
	})
}

func TestLimits(t *testing.T) {
	e := newEnv(t, withLimits(Limits{MessagesBurst: 3, MessagesPerMinute: 1, RequestsBurst: 8, RequestsPerMinute: 1, Streams: 1}))
	ctx := context.Background()
	v := e.visitor()
	for i := range 3 {
		if _, err := v.Send(ctx, Post{Text: fmt.Sprint("message ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Send(ctx, Post{Text: "one too many"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter < time.Second || !strings.Contains(ae.Message, "too many") {
		t.Fatalf("4th message: %v", err)
	}
	// Requests per address: 8 in all, 4 spent above plus the session.
	var last error
	for range 5 {
		_, last = (&Visitor{BaseURL: e.srv.URL, ChannelID: e.ch.ID}).Start(ctx, "")
	}
	if !errors.As(last, &ae) || ae.Status != 429 {
		t.Fatalf("sessions past the address limit: %v", last)
	}
	// Streams per visitor.
	e.stream(v.Token, "")
	status, h, body := e.call("GET", "/chat/"+itoa(e.ch.ID)+"/stream", v.Token, "", nil)
	if status != 429 || h.Get("Retry-After") == "" {
		t.Errorf("second stream: %d %s", status, body)
	}
}

func TestLimitsBehindProxy(t *testing.T) {
	fromProxy := func(o *Options, _ *store.Channel) {
		o.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Forwarded-For") }
	}
	e := newEnv(t, fromProxy, withLimits(Limits{RequestsBurst: 2, RequestsPerMinute: 1}))
	base := "/chat/" + itoa(e.ch.ID)
	for i, c := range []struct {
		ip     string
		status int
	}{{"192.0.2.1", 201}, {"192.0.2.1", 201}, {"192.0.2.1", 429}, {"192.0.2.2", 201}} {
		if status, _, body := e.call("POST", base+"/session", "", "", map[string]string{"X-Forwarded-For": c.ip}); status != c.status {
			t.Errorf("session %d from %s: %d %s", i, c.ip, status, body)
		}
	}
	// Reads are limited per visitor.
	tok := Token(e.ch, newVisitorID())
	for i, want := range []int{200, 200, 429} {
		if status, _, _ := e.call("GET", base+"/messages", tok, "", nil); status != want {
			t.Errorf("read %d: %d, want %d", i, status, want)
		}
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.visitor(), e.visitor()

	// The stream opens before the visitor's first message.
	sa := e.stream(a.Token, "")
	ra, err := a.Send(ctx, Post{ID: "a1", Text: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if m := sa.next(t); m.ID != ra.MessageID || m.From != "visitor" || m.ClientID != "a1" {
		t.Fatalf("own message: %+v", m)
	}
	rb, _ := b.Send(ctx, Post{ID: "b1", Text: "B here"})
	e.reply(rb.ConversationID, "for B only", "kb")
	d := e.reply(ra.ConversationID, "Hello <script>A</script>", "ka")
	if m := sa.next(t); m.ID != d.Message.ID || m.From != "agent" || m.Text != "Hello <script>A</script>" {
		t.Fatalf("reply: %+v", m)
	}
	// A note is not for the visitor; the reply's delivery event repeats nothing.
	n, _ := e.st.AddNote(ctx, ra.ConversationID, e.agent.ID, "note", time.Now())
	e.bus.Publish(ctx, busEvent("message.created", ra.ConversationID, n.ID, e.ch.ID), busEvent("reply.delivered", ra.ConversationID, d.Message.ID, e.ch.ID))
	sa.quiet(t, 200*time.Millisecond)

	// Reconnect with Last-Event-ID: what came meanwhile, nothing twice.
	sa.cancel()
	d2 := e.reply(ra.ConversationID, "while you were away", "ka2")
	again := e.stream(a.Token, itoa(d.Message.ID))
	if m := again.next(t); m.ID != d2.Message.ID {
		t.Fatalf("catch-up: %+v", m)
	}
	again.quiet(t, 100*time.Millisecond)
	// From scratch, the whole history.
	all := e.stream(a.Token, "")
	for _, want := range []int64{ra.MessageID, d.Message.ID, d2.Message.ID} {
		if m := all.next(t); m.ID != want {
			t.Fatalf("replay: got %d, want %d", m.ID, want)
		}
	}
	if status, _, _ := e.call("GET", "/chat/"+itoa(e.ch.ID)+"/stream", a.Token, "", map[string]string{"Last-Event-ID": "x"}); status != 400 {
		t.Errorf("bad Last-Event-ID: %d", status)
	}
}

func TestSender(t *testing.T) {
	ctx := context.Background()
	t.Run("connected: sent, no mail", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hi", Email: "v@example.com"})
		s := e.stream(v.Token, "")
		s.next(t)
		d := e.reply(r.ConversationID, "answer", "k1")
		id, err := e.w.Adapter().Sender.Send(ctx, d)
		if err != nil || id != "out-"+itoa(d.Message.ID) {
			t.Fatalf("%q %v", id, err)
		}
		if len(e.mail.all()) != 0 {
			t.Errorf("mailed a connected visitor: %+v", e.mail.all())
		}
	})
	t.Run("offline with e-mail: mailed once per key", func(t *testing.T) {
		e := newEnv(t, withOrigins("https://shop.example.com"))
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hi", Page: "https://shop.example.com/help"})
		if err := v.SaveProfile(ctx, Profile{Email: "away@example.com"}); err != nil {
			t.Fatal(err)
		}
		d := e.reply(r.ConversationID, "Your bag is in Oslo.", "key-1")
		send := e.w.Adapter().Sender.Send
		for range 3 {
			if id, err := send(ctx, d); err != nil || id != "out-"+itoa(d.Message.ID) {
				t.Fatalf("%q %v", id, err)
			}
		}
		got := e.mail.all()
		if len(got) != 1 || got[0].To != "away@example.com" || got[0].Subject != "Reply from Heron chat" ||
			!strings.Contains(got[0].Body, "Your bag is in Oslo.") || !strings.Contains(got[0].Body, "Continue the chat: https://shop.example.com/help") ||
			!strings.Contains(got[0].Body, "in the chat on shop.example.com") || !strings.Contains(got[0].Body, "If you did not chat with us, you can ignore this e-mail") {
			t.Fatalf("mails %+v", got)
		}
		d2 := e.reply(r.ConversationID, "And it arrives tomorrow.", "key-2")
		send(ctx, d2)
		if len(e.mail.all()) != 2 {
			t.Errorf("second reply: %d mails", len(e.mail.all()))
		}
		// A failing mail is temporary: the outbox tries again.
		e.mail.fail = errors.New("smtp: connection refused")
		_, err := send(ctx, e.reply(r.ConversationID, "third", "key-3"))
		var oe *outbox.Error
		if !errors.As(err, &oe) || oe.Permanent || !strings.Contains(oe.Body, "could not be sent") {
			t.Errorf("failing mail: %v", err)
		}
	})
	t.Run("offline, e-mail given with the message, in Dutch", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		v.Start(ctx, "") // resume: no page
		r, _ := v.Send(ctx, Post{Text: "hoi", Email: "nl@example.nl"})
		rec, _, _ := e.w.loadVisitor(ctx, e.ch.ID, v.ID)
		rec.Lang = "nl"
		e.w.saveVisitor(ctx, e.ch.ID, v.ID, rec)
		d := e.reply(r.ConversationID, "Dag!", "k")
		if _, err := e.w.Adapter().Sender.Send(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got := e.mail.all(); len(got) != 1 || got[0].To != "nl@example.nl" || got[0].Subject != "Antwoord van Heron chat" || !strings.Contains(got[0].Body, "Ons antwoord:\n\nDag!") {
			t.Errorf("%+v", got)
		}
	})
	t.Run("page linked only on an allowed origin", func(t *testing.T) {
		for _, c := range []struct {
			name, origins, page, link string
		}{
			{"no allowed origins", "", "https://shop.example.com/help", ""},
			{"visitor's own site", "https://shop.example.com", "https://evil.example/login", ""},
			{"look-alike host", "https://shop.example.com", "https://shop.example.com.evil.example/x", ""},
			{"http instead of https", "https://shop.example.com", "http://shop.example.com/x", ""},
			{"other port", "https://shop.example.com", "https://shop.example.com:8443/x", ""},
			{"allowed", "https://www.example.com, https://SHOP.example.com/", "https://shop.example.com/help?x=1", "https://shop.example.com/help?x=1"},
			{"default port written out", "https://shop.example.com", "https://shop.example.com:443/a", "https://shop.example.com:443/a"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newEnv(t, withOrigins(c.origins))
				v := e.visitor()
				r, err := v.Send(ctx, Post{Text: "hi", Email: "v@example.com", Page: c.page})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.w.Adapter().Sender.Send(ctx, e.reply(r.ConversationID, "answer", "k")); err != nil {
					t.Fatal(err)
				}
				got := e.mail.all()
				if len(got) != 1 || !strings.Contains(got[0].Body, "you can ignore this e-mail") {
					t.Fatalf("mails %+v", got)
				}
				body := got[0].Body
				if c.link == "" {
					if strings.Contains(body, "://") || strings.Contains(body, "Continue the chat") || !strings.Contains(body, "in the chat on our website") {
						t.Errorf("links to %q: %s", c.page, body)
					}
				} else if !strings.Contains(body, "Continue the chat: "+c.link+"\n") {
					t.Errorf("no link to %q: %s", c.link, body)
				}
			})
		}
	})
	t.Run("Dutch mail says it may be ignored", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hoi", Email: "nl@example.nl", Page: "https://evil.example/x"})
		rec, _, _ := e.w.loadVisitor(ctx, e.ch.ID, v.ID)
		rec.Lang = "nl"
		e.w.saveVisitor(ctx, e.ch.ID, v.ID, rec)
		e.w.Adapter().Sender.Send(ctx, e.reply(r.ConversationID, "Dag!", "k"))
		if got := e.mail.all(); len(got) != 1 || !strings.Contains(got[0].Body, "in de chat op onze website") ||
			!strings.Contains(got[0].Body, "deze e-mail negeren") || strings.Contains(got[0].Body, "evil") {
			t.Errorf("%+v", got)
		}
	})
	t.Run("one address per visitor", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hi", Email: "first@example.com"})
		send := e.w.Adapter().Sender.Send
		if _, err := send(ctx, e.reply(r.ConversationID, "one", "k1")); err != nil {
			t.Fatal(err)
		}
		if err := v.SaveProfile(ctx, Profile{Email: "victim@example.org"}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if id, err := send(ctx, e.reply(r.ConversationID, "more", fmt.Sprint("k-more-", i))); err != nil || id == "" {
				t.Fatalf("%q %v", id, err)
			}
		}
		if got := e.mail.all(); len(got) != 1 || got[0].To != "first@example.com" {
			t.Errorf("mails %+v", got)
		}
	})
	t.Run("a few mails per visitor a day", func(t *testing.T) {
		e := newEnv(t, withLimits(Limits{MailsPerDay: 3}))
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hi", Email: "v@example.com"})
		send := e.w.Adapter().Sender.Send
		for i := range 5 {
			if id, err := send(ctx, e.reply(r.ConversationID, "answer", fmt.Sprint("k", i))); err != nil || id == "" {
				t.Fatalf("%q %v", id, err)
			}
		}
		if n := len(e.mail.all()); n != 3 {
			t.Fatalf("%d mails on one day, want 3", n)
		}
		tomorrow := time.Now().Add(24 * time.Hour)
		e.w.now = func() time.Time { return tomorrow }
		send(ctx, e.reply(r.ConversationID, "next day", "k-next"))
		if n := len(e.mail.all()); n != 4 {
			t.Errorf("%d mails after a day, want 4", n)
		}
	})
	t.Run("offline without e-mail, or no mail configured", func(t *testing.T) {
		for _, opts := range [][]envOption{nil, {withoutMail()}} {
			e := newEnv(t, opts...)
			v := e.visitor()
			r, _ := v.Send(ctx, Post{Text: "hi", Email: map[bool]string{true: "", false: "x@example.com"}[opts == nil]})
			d := e.reply(r.ConversationID, "answer", "k")
			if id, err := e.w.Adapter().Sender.Send(ctx, d); err != nil || id == "" {
				t.Fatalf("%q %v", id, err)
			}
			if len(e.mail.all()) != 0 {
				t.Errorf("mailed: %+v", e.mail.all())
			}
		}
	})
	t.Run("seen recently on another instance", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		r, _ := v.Send(ctx, Post{Text: "hi", Email: "v@example.com"})
		e.st.SetSetting(ctx, seenKey(e.ch.ID, v.ID), itoa(time.Now().Add(-20*time.Second).Unix()))
		if _, err := e.w.Adapter().Sender.Send(ctx, e.reply(r.ConversationID, "a", "k1")); err != nil {
			t.Fatal(err)
		}
		if len(e.mail.all()) != 0 {
			t.Error("mailed a visitor another instance sees")
		}
		e.st.SetSetting(ctx, seenKey(e.ch.ID, v.ID), itoa(time.Now().Add(-5*time.Minute).Unix()))
		e.w.Adapter().Sender.Send(ctx, e.reply(r.ConversationID, "b", "k2"))
		if len(e.mail.all()) != 1 {
			t.Error("not mailed after the visitor left long ago")
		}
	})
	t.Run("stream closed: presence cleared", func(t *testing.T) {
		e := newEnv(t)
		v := e.visitor()
		s := e.stream(v.Token, "")
		waitFor(t, "connected", func() bool { return e.w.Connected(ctx, e.ch.ID, v.ID) })
		s.cancel()
		waitFor(t, "disconnected", func() bool { return !e.w.Connected(ctx, e.ch.ID, v.ID) })
	})
	t.Run("no visitor", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.w.Adapter().Sender.Send(ctx, outbox.Delivery{Channel: e.ch})
		var oe *outbox.Error
		if !errors.As(err, &oe) || !oe.Permanent {
			t.Errorf("%v", err)
		}
	})
}

func TestAgentsOnline(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.visitor()
	if h, _, body := e.call("GET", "/chat/"+itoa(e.ch.ID)+"/messages", v.Token, "", nil); h != 200 || !strings.Contains(body, `"agents_online":false`) {
		t.Errorf("%s", body)
	}
	e.agent.Presence = store.Online
	if err := e.st.UpdateAgent(ctx, &e.agent, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Minute)
	e.w.now = func() time.Time { return now } // past the 10 s cache
	if s, err := (&Visitor{BaseURL: e.srv.URL, ChannelID: e.ch.ID}).Start(ctx, ""); err != nil || !s.AgentsOnline {
		t.Errorf("%+v %v", s, err)
	}
}

func TestFake(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := NewFake(nil)
	defer f.Close()
	if f.Settings()[SettingSecret] == "" {
		t.Error("no secret")
	}
	m := fakeMessage("ext-1", "msg/1 with odd id", "Bag lost 😢")
	for range 2 {
		if err := f.Post(ctx, e.srv.URL, e.ch, m); err != nil {
			t.Fatal(err)
		}
	}
	v := f.Visitor(e.ch.ID, "ext-1")
	h, err := v.History(ctx, 0)
	if err != nil || len(h) != 1 || h[0].Text != "Bag lost 😢" {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestParsePost(t *testing.T) {
	p, err := ParsePost([]byte(`{"id":"x_1-A","text":"\u003cb\u003e \r\nhi\u00e9 \ud83d\ude00","name":" Ann ","email":"a@b.nl","page":"javascript:alert(1)"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "<b> \nhié 😀" || p.Name != "Ann" || p.Page != "" {
		t.Errorf("%+v", p)
	}
	if p, _ := ParsePost([]byte(`{"id":"a","text":"x","page":"https://u:p@shop.example.com/x?y=1#z"}`)); p.Page != "https://shop.example.com/x?y=1" {
		t.Errorf("page %q", p.Page)
	}
}

func TestLongHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.visitor()
	r, _ := v.Send(ctx, Post{ID: "first", Text: "first"})
	var wg sync.WaitGroup
	for i := range 620 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.w.ingest(ctx, channel.Message{ChannelID: e.ch.ID, PlatformID: fmt.Sprintf("webchat:%s:n%d", v.ID, i),
				From: channel.Author{Platform: Kind, ExternalID: v.ID}, Text: fmt.Sprint("message ", i), Private: true}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	last := e.reply(r.ConversationID, "the newest", "k")
	h, err := v.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != maxHistory || h[len(h)-1].ID != last.Message.ID {
		t.Fatalf("%d messages, last %+v", len(h), h[len(h)-1])
	}
}

// TestClose: Close ends the open streams, so that a server shutdown does
// not wait for them, and refuses new ones.
func TestClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.visitor()
	v.Send(ctx, Post{ID: "a1", Text: "hi"})
	s1, s2 := e.stream(v.Token, ""), e.stream(v.Token, "")
	s1.next(t)
	srv := e.srv.Config
	srv.RegisterOnShutdown(e.w.Close)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown after %v: %v", time.Since(start), err)
	}
	for _, s := range []*sse{s1, s2} {
		for range s.events { // ended, after what was under way
		}
	}
	e.w.Close() // again: nothing happens
	for _, path := range []string{"/stream", "/messages"} {
		req := httptest.NewRequest(http.MethodGet, "/chat/"+itoa(e.ch.ID)+path, nil)
		req.Header.Set("Authorization", "Bearer "+v.Token)
		rec := httptest.NewRecorder()
		e.w.ServeHTTP(rec, req)
		want := map[string]int{"/stream": 503, "/messages": 200}[path]
		if rec.Code != want || (want == 503 && rec.Header().Get("Retry-After") == "") {
			t.Errorf("%s after Close: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// TestLimitsIPv6: one host cannot dodge the per-address limit by
// rotating through the addresses of its /64, with or without a proxy.
func TestLimitsIPv6(t *testing.T) {
	viaProxy := func(o *Options, _ *store.Channel) {
		o.ClientIP = clientip.ForwardedFor([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	}
	rawHeader := func(o *Options, _ *store.Channel) {
		o.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Forwarded-For") }
	}
	for name, opt := range map[string]envOption{"direct": nil, "ForwardedFor": viaProxy, "own ClientIP": rawHeader} {
		t.Run(name, func(t *testing.T) {
			opts := []envOption{withLimits(Limits{RequestsBurst: 2, RequestsPerMinute: 1})}
			if opt != nil {
				opts = append(opts, opt)
			}
			e := newEnv(t, opts...)
			for i, c := range []struct {
				addr   string
				status int
			}{
				{"2001:db8:1:2::1", 201},
				{"2001:db8:1:2::ffff", 201},
				{"2001:db8:1:2:3:4:5:6", 429},
				{"2001:db8:1:3::1", 201},
			} {
				r := httptest.NewRequest(http.MethodPost, "/chat/"+itoa(e.ch.ID)+"/session", nil)
				if opt == nil {
					r.RemoteAddr = "[" + c.addr + "]:40000"
				} else {
					r.RemoteAddr = "10.0.0.1:40000"
					r.Header.Set("X-Forwarded-For", c.addr)
				}
				rec := httptest.NewRecorder()
				e.w.ServeHTTP(rec, r)
				if rec.Code != c.status {
					t.Errorf("session %d from %s: %d %s", i, c.addr, rec.Code, rec.Body)
				}
			}
		})
	}
}
