package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/channel/whatsapp"
	"github.com/webcare/webcare/internal/channel/whatsapp/whatsappfake"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

// hookServer is a test server that speaks WhatsApp, with a WhatsApp
// channel pointed at the fake Cloud API.
func hookServer(t *testing.T) (*testServer, *whatsappfake.Fake, store.Channel) {
	t.Helper()
	fake := whatsappfake.New()
	t.Cleanup(fake.Close)
	ad := whatsapp.New(nil)
	ts := newTestServer(t, func(o *web.Options) {
		o.Desk = desk.New(desk.Options{Store: o.Store, Bus: o.Bus, Adapters: channel.NewRegistry(ad), Channels: o.Pipeline})
	})
	ch := store.Channel{Kind: "whatsapp", Name: "WhatsApp", Settings: fake.Settings()}
	if err := ts.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	return ts, fake, ch
}

func hookPost(t *testing.T, ts *testServer, ch store.Channel, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hooks/"+itoa(ch.ID), bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func messageCount(t *testing.T, ts *testServer) int {
	t.Helper()
	n, err := ts.Store.CountConversations(t.Context(), store.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookReceivesSignedDeliveries(t *testing.T) {
	ts, fake, ch := hookServer(t)
	ctx := t.Context()
	msg := channel.Message{PlatformID: "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQUY1", Text: "Mijn koffer is zoek 😟 <b>KL</b> \"1234\"",
		From: channel.Author{ExternalID: "31612345678", Name: "Anna de Vries"}}
	if err := fake.Post(ctx, ts.URL, ch, msg); err != nil {
		t.Fatalf("a signed delivery: %v", err)
	}
	// The platform delivers again (it retries on any doubt): stored once.
	if err := fake.Post(ctx, ts.URL, ch, msg); err != nil {
		t.Fatalf("the same delivery again: %v", err)
	}
	convs, err := ts.Store.Conversations(ctx, store.ConversationFilter{})
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations = %d (%v), want 1", len(convs), err)
	}
	msgs, _ := ts.Store.Messages(ctx, convs[0].ID, 0, 10)
	if len(msgs) != 1 || msgs[0].Body != msg.Text || msgs[0].PlatformID != msg.PlatformID || convs[0].Visibility != store.Private {
		t.Fatalf("stored %+v in %+v", msgs, convs[0])
	}

	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	for _, tc := range []struct {
		name   string
		body   []byte
		header map[string]string
		status int
	}{
		{"no signature", body, nil, http.StatusUnauthorized},
		{"a signature under another secret", body, map[string]string{meta.SignatureHeader: meta.Sign("not-the-secret", body)}, http.StatusForbidden},
		{"a signature of other bytes", body, map[string]string{meta.SignatureHeader: meta.Sign(ch.Settings["app_secret"], append(body, ' '))}, http.StatusForbidden},
		{"signed but not JSON", []byte(`{"object":`), map[string]string{meta.SignatureHeader: meta.Sign(ch.Settings["app_secret"], []byte(`{"object":`))}, http.StatusBadRequest},
		{"signed, JSON, wrong shape", []byte(`{"object":"whatsapp_business_account","entry":{"id":1}}`),
			map[string]string{meta.SignatureHeader: meta.Sign(ch.Settings["app_secret"], []byte(`{"object":"whatsapp_business_account","entry":{"id":1}}`))}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := hookPost(t, ts, ch, tc.body, tc.header)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, answer)
			}
			if n := messageCount(t, ts); n != 1 {
				t.Errorf("%d conversations after a refused delivery, want 1", n)
			}
		})
	}

	t.Run("one unreadable message does not lose the others", func(t *testing.T) {
		mixed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` + ch.Settings["account_id"] + `"},"messages":[` +
			`{"id":"wamid.broken","type":"text","text":{"body":"no sender"}},` +
			`{"from":"31687654321","id":"wamid.fine","timestamp":"1749416383","type":"text","text":{"body":"Waar blijft mijn tas?"}}]}}]}]}`)
		status, answer := hookPost(t, ts, ch, mixed, map[string]string{meta.SignatureHeader: meta.Sign(ch.Settings["app_secret"], mixed)})
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, answer)
		}
		if n := messageCount(t, ts); n != 2 {
			t.Errorf("%d conversations, want the readable message stored beside the first", n)
		}
	})

	t.Run("an API channel takes no webhooks", func(t *testing.T) {
		if status, _ := hookPost(t, ts, ts.Channel, body, nil); status != http.StatusNotFound {
			t.Errorf("status %d, want 404", status)
		}
	})
	t.Run("a disabled channel takes none", func(t *testing.T) {
		off := ch
		off.Disabled = true
		if err := ts.Store.UpdateChannel(ctx, &off, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
		ts.Pipeline.ForgetChannel(ch.ID)
		err := fake.Post(ctx, ts.URL, off, channel.Message{PlatformID: "wamid.other", Text: "hallo", From: channel.Author{ExternalID: "31600000000"}})
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("delivery to a disabled channel: %v, want a 404", err)
		}
	})
}

func TestWebhookChallenge(t *testing.T) {
	ts, _, ch := hookServer(t)
	get := func(query string) (int, string) {
		resp, err := http.Get(ts.URL + "/hooks/" + itoa(ch.ID) + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("hub.mode=subscribe&hub.verify_token=" + ch.Settings["verify_token"] + "&hub.challenge=1158201444"); status != 200 || body != "1158201444" {
		t.Errorf("the right verify token: %d %q, want 200 and the challenge", status, body)
	}
	if status, _ := get("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"); status != http.StatusForbidden {
		t.Errorf("a wrong verify token: %d, want 403", status)
	}
}

// TestWebhookReplyAndReceipts follows a reply out through the outbox to the
// fake Cloud API and its receipts back in: read before delivered, as
// WhatsApp may send them, leaves the reply read.
func TestWebhookReplyAndReceipts(t *testing.T) {
	ts, fake, ch := hookServer(t)
	ctx := t.Context()
	if err := fake.Post(ctx, ts.URL, ch, channel.Message{PlatformID: "wamid.in1", Text: "Is mijn vlucht op tijd?", From: channel.Author{ExternalID: "31611112222", Name: "Bram"}}); err != nil {
		t.Fatal(err)
	}
	convs, _ := ts.Store.Conversations(ctx, store.ConversationFilter{})
	m, _, err := ts.Store.QueueReply(ctx, store.Reply{ConversationID: convs[0].ID, AgentID: ts.Agents[store.RoleAgent].ID, Body: "Ja, KL1234 vertrekt om 14:05.", IdempotencyKey: "k1", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	w := &outbox.Worker{Store: ts.Store, Bus: ts.Bus, Senders: map[string]outbox.Sender{"whatsapp": whatsapp.New(nil).Sender}}
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("outbox round: %d, %v", n, err)
	}
	sent := fake.Sent()
	if len(sent) != 1 || sent[0].Text != "Ja, KL1234 vertrekt om 14:05." || sent[0].To != "31611112222" || sent[0].ReplyTo != "wamid.in1" {
		t.Fatalf("the fake received %+v", sent)
	}
	events, cancel, _ := ts.Bus.Subscribe(context.Background(), 0)
	defer cancel()
	for _, state := range []store.Delivery{store.Read, store.Delivered} {
		if err := fake.PostStatus(ctx, ts.URL, ch, sent[0].ID, state); err != nil {
			t.Fatalf("status %s: %v", state, err)
		}
	}
	got, err := ts.Store.Message(ctx, m.ID)
	if err != nil || got.Delivery != store.Read {
		t.Fatalf("reply delivery = %q (%v), want read", got.Delivery, err)
	}
	select {
	case e := <-events:
		if e.MessageID != m.ID || e.Detail != "read" {
			t.Errorf("event %+v, want the reply marked read", e)
		}
	case <-time.After(2 * time.Second):
		t.Error("no event for the receipt")
	}
	if err := fake.PostStatus(ctx, ts.URL, ch, "wamid.never-sent-by-us", store.Delivered); err != nil {
		t.Errorf("a receipt for a message sent from elsewhere must be taken (and ignored): %v", err)
	}
}

// TestAdminConnectsAPlatform walks the admin's way: make a WhatsApp channel
// (webhook URL and verify token shown), fill in the platform's settings
// (secrets typed, never shown back, kept when left empty), and test the
// connection against the fake Cloud API.
func TestAdminConnectsAPlatform(t *testing.T) {
	ts, fake, _ := hookServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	r := ts.check(t, form("create", "/admin/channels", admin, url.Values{"kind": {"whatsapp"}, "name": {"WhatsApp NL"}}, 201))
	chs, _ := ts.Store.Channels(t.Context())
	made := chs[len(chs)-1]
	if got, want := shown(t, r.Body, "made-hook-url"), ts.URL+"/hooks/"+itoa(made.ID); got != want {
		t.Errorf("webhook URL %q, want %q", got, want)
	}
	if v := shown(t, r.Body, "made-verify_token"); v == "" || v != made.Settings["verify_token"] {
		t.Errorf("verify token shown %q, stored %q", v, made.Settings["verify_token"])
	}

	settings := fake.Settings()
	ts.check(t, form("save settings", "/admin/channels/"+itoa(made.ID)+"/settings", admin, url.Values{
		"account_id": {settings["account_id"]}, "access_token": {settings["access_token"]}, "app_secret": {settings["app_secret"]},
		"api_base": {settings["api_base"]}, "verify_token": {"typed-over"}}, 303))
	ts.check(t, scenario{name: "secrets are not shown back", method: "GET", url: "/admin/channels", token: admin, status: 200,
		contains: []string{settings["account_id"], ts.URL + "/hooks/" + itoa(made.ID)}, excludes: []string{settings["access_token"], settings["app_secret"]}})
	ts.check(t, scenario{name: "settings explained in English", method: "GET", url: "/admin/channels", token: admin, status: 200,
		headers: map[string]string{"Accept-Language": "en"}, contains: []string{"Phone number ID", "Business Settings → Users → System users"}})
	ts.check(t, scenario{name: "settings explained in Dutch", method: "GET", url: "/admin/channels", token: admin, status: 200,
		headers: map[string]string{"Accept-Language": "nl"}, contains: []string{"Telefoonnummer-ID", "Het tijdelijke token op de pagina API Setup verloopt binnen een dag"}})
	// Saving again with the secret fields empty keeps them.
	ts.check(t, form("save without secrets", "/admin/channels/"+itoa(made.ID)+"/settings", admin, url.Values{
		"account_id": {settings["account_id"]}, "access_token": {""}, "app_secret": {""}}, 303))
	got, _ := ts.Store.Channel(t.Context(), made.ID)
	if got.Settings["access_token"] != settings["access_token"] || got.Settings["app_secret"] != settings["app_secret"] {
		t.Errorf("secrets lost on a save without them: %v", got.Settings)
	}
	if got.Settings["verify_token"] != made.Settings["verify_token"] {
		t.Errorf("a generated verify token was overwritten from the form: %q", got.Settings["verify_token"])
	}

	r = ts.check(t, form("test connection", "/admin/channels/"+itoa(made.ID)+"/test", admin, url.Values{}, 200))
	if !bytes.Contains(r.Body, []byte(`class="test-ok"`)) {
		t.Errorf("test connection against the fake: %s", r.Body)
	}
	ts.check(t, scenario{name: "an unknown setting is refused by the API", method: "PATCH", url: "/api/v1/channels/" + itoa(made.ID), token: admin,
		body: `{"settings": {"acces_token": "x"}}`, status: 422, contains: []string{"access_token"}})
	ts.check(t, scenario{name: "api_base must be a URL", method: "PATCH", url: "/api/v1/channels/" + itoa(made.ID), token: admin,
		body: `{"settings": {"api_base": "file:///etc/passwd"}}`, status: 422})

	// Pointing the channel at another server drops the secrets unless
	// they are given again: they must not follow to a server of anyone's
	// choosing.
	ts.check(t, scenario{name: "another api_base", method: "PATCH", url: "/api/v1/channels/" + itoa(made.ID), token: admin,
		body: `{"settings": {"api_base": "https://graph.attacker.example/v24.0"}}`, status: 200})
	moved, _ := ts.Store.Channel(t.Context(), made.ID)
	if moved.Settings["access_token"] != "" || moved.Settings["app_secret"] != "" {
		t.Errorf("secrets kept for a new server: %v", moved.Settings)
	}
	if moved.Settings["verify_token"] == "" || moved.Settings["account_id"] == "" {
		t.Errorf("non-secret settings lost: %v", moved.Settings)
	}
	ts.check(t, scenario{name: "back, with the secrets", method: "PATCH", url: "/api/v1/channels/" + itoa(made.ID), token: admin,
		body: `{"settings": {"api_base": "` + settings["api_base"] + `", "access_token": "` + settings["access_token"] + `", "app_secret": "` + settings["app_secret"] + `"}}`, status: 200})

	// A wrong token: the check says so in the platform's words.
	ts.check(t, scenario{name: "a wrong token", method: "PATCH", url: "/api/v1/channels/" + itoa(made.ID), token: admin,
		body: `{"settings": {"access_token": "EAAG-wrong"}}`, status: 200, excludes: []string{"EAAG-wrong"}})
	r = ts.check(t, scenario{name: "test via the API", method: "POST", url: "/api/v1/channels/" + itoa(made.ID) + "/test", token: admin, status: 200, contains: []string{`"ok":false`}})
	_ = r
}

// failingStore is the real store whose Ingest fails, as when the database
// is down.
type failingStore struct {
	store.Store
}

func (failingStore) Ingest(context.Context, []store.Inbound) ([]store.IngestResult, error) {
	return nil, errors.New("database unreachable")
}

// TestWebhookNotAcknowledgedUnlessStored: when the store cannot commit,
// the platform hears 503 (and sends again), never 200.
func TestWebhookNotAcknowledgedUnlessStored(t *testing.T) {
	fake := whatsappfake.New()
	t.Cleanup(fake.Close)
	ts := newTestServer(t)
	ch := store.Channel{Kind: "whatsapp", Name: "WhatsApp", Settings: fake.Settings()}
	if err := ts.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	p := ingest.New(failingStore{ts.Store}, ts.Bus, ingest.Options{})
	t.Cleanup(p.Close)
	adapters := channel.NewRegistry(whatsapp.New(nil))
	w := web.New(web.Options{Store: ts.Store, Pipeline: p, Bus: ts.Bus,
		Desk: desk.New(desk.Options{Store: ts.Store, Bus: ts.Bus, Adapters: adapters, Channels: p})})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	err := fake.Post(t.Context(), srv.URL, ch, channel.Message{PlatformID: "wamid.x1", Text: "Hallo?", From: channel.Author{ExternalID: "31600000001"}})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("delivery while the store fails: %v, want a 503", err)
	}
	if n := messageCount(t, ts); n != 0 {
		t.Errorf("%d conversations stored", n)
	}
}

// countingBody counts what the server read of a request body.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestForgedDeliveriesCostNoMemory: a delivery whose secret header is
// missing or wrong (Telegram), or whose signature header is missing or
// malformed (Meta, WhatsApp, X), is refused before a byte of its body is
// read: 200 senders of 4 MB forgeries once took a server to 2.65 GB.
func TestForgedDeliveriesCostNoMemory(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		kind     string
		settings map[string]string
		header   map[string]string
		status   int
	}{
		{"telegram", map[string]string{"webhook_secret": "s3cret"}, nil, http.StatusUnauthorized},
		{"telegram", map[string]string{"webhook_secret": "s3cret"}, map[string]string{"X-Telegram-Bot-Api-Secret-Token": "guess"}, http.StatusForbidden},
		{"whatsapp", map[string]string{"app_secret": "s3cret"}, nil, http.StatusUnauthorized},
		{"facebook", map[string]string{"app_secret": "s3cret"}, map[string]string{"X-Hub-Signature-256": "sha256=nothex"}, http.StatusForbidden},
		{"x", map[string]string{"consumer_secret": "s3cret"}, map[string]string{"X-Twitter-Webhooks-Signature": "sha256=c2hvcnQ="}, http.StatusForbidden},
	}
	for _, c := range cases {
		ch := store.Channel{Kind: c.kind, Name: c.kind, Settings: c.settings}
		if err := ts.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
		body := &countingBody{r: bytes.NewReader(bytes.Repeat([]byte("{"), 4<<20))}
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+itoa(ch.ID), body)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		ts.Web.Handler().ServeHTTP(rec, req)
		if rec.Code != c.status || body.read != 0 {
			t.Errorf("%s %v: %d, %d bytes read; want %d before reading", c.kind, c.header, rec.Code, body.read, c.status)
		}
	}
}

// TestUnverifiedBodiesAreBounded: while every place for reading
// unverified bodies is taken (slow senders with plausible signatures),
// the next delivery is answered 503 with Retry-After instead of being
// read too; and one address cannot take more than a few of the places.
func TestUnverifiedBodiesAreBounded(t *testing.T) {
	ts := newTestServer(t)
	ch := store.Channel{Kind: "facebook", Name: "Page", Settings: map[string]string{"app_secret": "s3cret"}}
	if err := ts.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	signed := "sha256=" + strings.Repeat("ab", 32) // well formed, wrong
	deliver := func(from string, body io.Reader) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+itoa(ch.ID), body)
		req.RemoteAddr = from + ":443"
		req.Header.Set("X-Hub-Signature-256", signed)
		rec := httptest.NewRecorder()
		ts.Web.Handler().ServeHTTP(rec, req)
		return rec
	}
	const places = 32
	var writers []*io.PipeWriter
	done := make(chan int, places)
	for i := range places {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		from := fmt.Sprintf("198.51.100.%d", i/4) // four per address: as many as one may hold
		go func() { done <- deliver(from, pr).Code }()
	}
	// They hold every place while their bodies trickle in; wait until
	// they have all started reading.
	for _, pw := range writers {
		if _, err := pw.Write([]byte("{")); err != nil {
			t.Fatal(err)
		}
	}
	if rec := deliver("203.0.113.1", strings.NewReader("{}")); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a delivery past the places: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := deliver("198.51.100.0", strings.NewReader("{}")); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a fifth delivery from one address: %d, want 503 at once", rec.Code)
	}
	for _, pw := range writers {
		pw.Close()
	}
	for range places {
		if code := <-done; code != http.StatusForbidden {
			t.Errorf("a slow forgery ended with %d, want 403 once read", code)
		}
	}
	// With the places free again, a delivery is read and judged.
	if rec := deliver("203.0.113.1", strings.NewReader("{}")); rec.Code != http.StatusForbidden {
		t.Errorf("after the slow senders: %d, want 403", rec.Code)
	}
}

// TestSlowBodiesLoseTheirPlace: a sender that trickles its body over real
// HTTP is cut off after the read time, so slow connections cannot hold
// the places for long.
func TestSlowBodiesLoseTheirPlace(t *testing.T) {
	ts := newTestServer(t)
	ch := store.Channel{Kind: "facebook", Name: "Page", Settings: map[string]string{"app_secret": "s3cret"}}
	if err := ts.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /hooks/%d HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{",
		ch.ID, strings.Repeat("ab", 32))
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	start := time.Now()
	answer, _ := io.ReadAll(conn) // the server answers or hangs up once the read time is over
	if took := time.Since(start); took > 12*time.Second {
		t.Errorf("a body that never comes held its place %v: %q", took, answer)
	}
}
