package whatsapp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/whatsapp"
	"github.com/webcare/webcare/internal/channel/whatsapp/whatsappfake"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

var now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func newFake(t *testing.T) *whatsappfake.Fake {
	t.Helper()
	f := whatsappfake.New()
	t.Cleanup(f.Close)
	return f
}

func fakeChannel(f *whatsappfake.Fake) store.Channel {
	return store.Channel{ID: 9, Kind: "whatsapp", Settings: f.Settings()}
}

func sender() *whatsapp.Sender {
	s := whatsapp.New(nil).Sender.(*whatsapp.Sender)
	s.Now = func() time.Time { return now }
	return s
}

func delivery(f *whatsappfake.Fake, body string) outbox.Delivery {
	return outbox.Delivery{
		Key:          "k-1",
		Channel:      fakeChannel(f),
		Conversation: store.Conversation{ID: 3, Visibility: store.Private},
		Message:      store.Message{ID: 11, Body: body, ReplyTo: "wamid.IN1"},
		To:           store.Identity{Platform: "whatsapp", ExternalID: customer},
		LastInbound:  now.Add(-2 * time.Hour),
	}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lastJSON decodes the body of the last request to path.
func lastJSON(t *testing.T, f *whatsappfake.Fake, path string) (map[string]any, whatsappfake.Request) {
	t.Helper()
	reqs := f.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			var m map[string]any
			if err := json.Unmarshal(reqs[i].Body, &m); err != nil {
				t.Fatalf("body of %s is not JSON: %v", path, err)
			}
			return m, reqs[i]
		}
	}
	t.Fatalf("no request to %s in %d", path, len(reqs))
	return nil, whatsappfake.Request{}
}

func TestSendText(t *testing.T) {
	f := newFake(t)
	id, err := sender().Send(t.Context(), delivery(f, "Your lamp ships today 🚚 — <b>not bold</b> & \"quoted\""))
	if err != nil {
		t.Fatal(err)
	}
	sent := f.Sent()
	if len(sent) != 1 || id != sent[0].ID || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("id %q, sent %+v", id, sent)
	}
	raw, req := lastJSON(t, f, "/"+f.PhoneNumberID+"/messages")
	if got := req.Header.Get("Authorization"); got != "Bearer "+f.AccessToken {
		t.Errorf("Authorization = %q", got)
	}
	if req.ContentType != "application/json" {
		t.Errorf("Content-Type = %q", req.ContentType)
	}
	want := map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": customer, "type": "text",
		"text":    map[string]any{"body": "Your lamp ships today 🚚 — <b>not bold</b> & \"quoted\"", "preview_url": false},
		"context": map[string]any{"message_id": "wamid.IN1"},
	}
	for k, v := range want {
		if !jsonEqual(raw[k], v) {
			t.Errorf("%s = %#v, want %#v", k, raw[k], v)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestSendWithoutQuote(t *testing.T) {
	f := newFake(t)
	d := delivery(f, "hello")
	d.Message.ReplyTo = ""
	if _, err := sender().Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	raw, _ := lastJSON(t, f, "/"+f.PhoneNumberID+"/messages")
	if _, ok := raw["context"]; ok {
		t.Error("context sent without a message to quote")
	}
}

func TestSendToBusinessScopedUserID(t *testing.T) {
	f := newFake(t)
	d := delivery(f, "hello")
	d.To.ExternalID = "US.13491208655302741918"
	if _, err := sender().Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	raw, _ := lastJSON(t, f, "/"+f.PhoneNumberID+"/messages")
	if raw["recipient"] != "US.13491208655302741918" || raw["to"] != nil {
		t.Errorf("to %v recipient %v", raw["to"], raw["recipient"])
	}
}

func TestSendFiles(t *testing.T) {
	pdf := []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
	tests := []struct {
		name      string
		body      string
		file      store.Attachment
		wantTypes []string
		caption   string
	}{
		{"photo with caption", "Here is the label", store.Attachment{Name: "label.png", ContentType: "image/png", Data: pngBytes(t)},
			[]string{"image"}, "Here is the label"},
		{"pdf as document", "", store.Attachment{Name: "../../invoice.pdf", ContentType: "application/pdf", Data: pdf},
			[]string{"document"}, ""},
		{"text too long for a caption goes first", strings.Repeat("a", 1500), store.Attachment{Name: "x.png", ContentType: "image/png", Data: pngBytes(t)},
			[]string{"text", "image"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := delivery(f, tt.body)
			d.Files = []store.Attachment{tt.file}
			id, err := sender().Send(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			sent := f.Sent()
			if len(sent) != len(tt.wantTypes) {
				t.Fatalf("sent %+v", sent)
			}
			for i, s := range sent {
				if s.Type != tt.wantTypes[i] {
					t.Errorf("message %d is %s, want %s", i, s.Type, tt.wantTypes[i])
				}
			}
			if id != sent[0].ID || sent[0].ReplyTo != "wamid.IN1" {
				t.Errorf("id %q, first %+v: the first message carries the quote and the id", id, sent[0])
			}
			last := sent[len(sent)-1]
			if last.Text != tt.caption {
				t.Errorf("caption %q, want %q", last.Text, tt.caption)
			}
			m, ok := f.Media(last.MediaID)
			if !ok || !bytes.Equal(m.Data, tt.file.Data) || m.MimeType != tt.file.ContentType {
				t.Errorf("uploaded media %+v", m)
			}
			// The upload: multipart with messaging_product, type and file.
			var up whatsappfake.Request
			for _, r := range f.Requests() {
				if r.Path == "/"+f.PhoneNumberID+"/media" {
					up = r
				}
			}
			mt, params, _ := mime.ParseMediaType(up.ContentType)
			if mt != "multipart/form-data" {
				t.Fatalf("upload content type %q", up.ContentType)
			}
			form, err := multipart.NewReader(bytes.NewReader(up.Body), params["boundary"]).ReadForm(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			if form.Value["messaging_product"][0] != "whatsapp" || form.Value["type"][0] != tt.file.ContentType || len(form.File["file"]) != 1 {
				t.Errorf("upload form %v / %v", form.Value, form.File)
			}
			if tt.file.ContentType == "application/pdf" {
				raw, _ := lastJSON(t, f, "/"+f.PhoneNumberID+"/messages")
				doc, _ := raw["document"].(map[string]any)
				if doc["filename"] != "invoice.pdf" {
					t.Errorf("document filename %v", doc["filename"])
				}
			}
		})
	}
}

func TestSendRefusedBeforeCalling(t *testing.T) {
	tests := []struct {
		name   string
		change func(*outbox.Delivery)
		want   string
	}{
		{"window closed", func(d *outbox.Delivery) { d.LastInbound = now.Add(-25 * time.Hour) }, "24-hour window has closed"},
		{"too long", func(d *outbox.Delivery) { d.Message.Body = strings.Repeat("é", 4097) }, "4097 characters"},
		{"empty", func(d *outbox.Delivery) { d.Message.Body = " " }, "empty"},
		{"no recipient", func(d *outbox.Delivery) { d.To.ExternalID = "" }, "no WhatsApp number"},
		{"no token", func(d *outbox.Delivery) { d.Channel.Settings = map[string]string{"account_id": "1"} }, "access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := delivery(f, "hello")
			tt.change(&d)
			_, err := sender().Send(t.Context(), d)
			var oe *outbox.Error
			if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, tt.want) {
				t.Fatalf("err = %#v, want permanent with %q", err, tt.want)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d API calls made", n)
			}
		})
	}
	t.Run("window exactly open", func(t *testing.T) {
		f := newFake(t)
		d := delivery(f, "hello")
		d.LastInbound = now.Add(-24 * time.Hour)
		if _, err := sender().Send(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		fail       whatsappfake.Failure
		permanent  bool
		retryAfter time.Duration
		words      string
	}{
		{"re-engagement", whatsappfake.WindowClosed(), true, 0, "only lets a business send an approved template message"},
		{"undeliverable", whatsappfake.Failure{Code: 131026, Message: "(#131026) Message undeliverable"}, true, 0, "could not deliver"},
		{"unsupported type", whatsappfake.Failure{Code: 131051, Message: "(#131051) Unsupported message type"}, true, 0, "does not accept this kind"},
		{"token expired", whatsappfake.Failure{Status: 401, Code: 190, Message: "Error validating access token: Session has expired"}, true, 0, "access token has expired"},
		{"auth exception", whatsappfake.Failure{Status: 401, Code: 0, Message: "(#0) AuthException"}, true, 0, "access token has expired"},
		{"invalid parameter", whatsappfake.Failure{Code: 100, Message: "(#100) Invalid parameter"}, true, 0, "invalid"},
		{"throughput with usage header", whatsappfake.RateLimited(3), false, 3 * time.Minute, "rate limit"},
		{"throughput without header", whatsappfake.Failure{Code: 130429, Message: "Rate limit hit"}, false, 2 * time.Second, "rate limit"},
		{"pair rate limit", whatsappfake.Failure{Code: 131056, Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit"}, false, 6 * time.Second, "Too many messages"},
		{"WABA rate limit", whatsappfake.Failure{Code: 80007, Message: "(#80007) Rate limit issues"}, false, time.Minute, "rate limit"},
		{"app rate limit with Retry-After", whatsappfake.Failure{Code: 4, Message: "(#4) Application request limit reached", Header: http.Header{"Retry-After": {"17"}}}, false, 17 * time.Second, "rate limit"},
		{"something went wrong", whatsappfake.Failure{Status: 500, Code: 131000, Message: "Something went wrong"}, false, 0, "temporary"},
		{"service", whatsappfake.Failure{Status: 503, Code: 2, Message: "Service temporarily unavailable"}, false, 0, "temporary"},
		{"plain 500", whatsappfake.ServerError(), false, 0, "500"},
		{"unknown code", whatsappfake.Failure{Code: 131999, Message: "New thing", Details: "Details here"}, true, 0, "Details here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.FailNext(1, tt.fail)
			id, err := sender().Send(t.Context(), delivery(f, "hello"))
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *outbox.Error", err)
			}
			if id != "" || oe.Permanent != tt.permanent || oe.RetryAfter != tt.retryAfter || !strings.Contains(oe.Body, tt.words) {
				t.Errorf("id %q permanent %v retry %v body %q; want %v %v %q", id, oe.Permanent, oe.RetryAfter, oe.Body, tt.permanent, tt.retryAfter, tt.words)
			}
			if tt.fail.Status < 500 && !strings.Contains(oe.Body, "WhatsApp error") {
				t.Errorf("body %q does not name the platform's code", oe.Body)
			}
			// The next attempt goes through.
			if _, err := sender().Send(t.Context(), delivery(f, "hello")); err != nil {
				t.Errorf("retry: %v", err)
			}
		})
	}
}

func TestSendWrongToken(t *testing.T) {
	f := newFake(t)
	d := delivery(f, "hello")
	d.Channel.Settings["access_token"] = "old"
	_, err := sender().Send(t.Context(), d)
	var oe *outbox.Error
	if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, "Admin → Channels") || !strings.Contains(oe.Body, "190") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetch(t *testing.T) {
	f := newFake(t)
	photo := pngBytes(t)
	id := f.AddMedia("", "image/png", photo)
	fetcher := whatsapp.New(nil).Fetcher
	name, data, err := fetcher.Fetch(t.Context(), fakeChannel(f), id)
	if err != nil || !bytes.Equal(data, photo) || name != "media.png" {
		t.Fatalf("fetch: %q %d bytes %v", name, len(data), err)
	}
	// Both calls carry the token.
	for _, r := range f.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+f.AccessToken {
			t.Errorf("%s without the token", r.Path)
		}
	}
	t.Run("too large", func(t *testing.T) {
		big := f.AddMedia("", "video/mp4", make([]byte, whatsapp.MaxMedia+1))
		if _, _, err := fetcher.Fetch(t.Context(), fakeChannel(f), big); err == nil {
			t.Error("no error for a file over the limit")
		}
	})
	for _, ref := range []string{"", "123/../x", "999"} {
		t.Run("bad ref "+ref, func(t *testing.T) {
			if _, _, err := fetcher.Fetch(t.Context(), fakeChannel(f), ref); err == nil {
				t.Error("no error")
			}
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		ch := fakeChannel(f)
		ch.Settings["access_token"] = "old"
		_, _, err := fetcher.Fetch(t.Context(), ch, id)
		if err == nil || !strings.Contains(err.Error(), "access token") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	f := newFake(t)
	c := whatsapp.New(nil).Checker
	who, err := c.Check(t.Context(), fakeChannel(f))
	if err != nil || who != "Webcare Demo (+1 555-078-3881)" {
		t.Fatalf("check: %q %v", who, err)
	}
	_, req := lastJSONless(f)
	if req.Query != "fields=display_phone_number,verified_name" {
		t.Errorf("query %q", req.Query)
	}
	ch := fakeChannel(f)
	ch.Settings["access_token"] = "old"
	if _, err := c.Check(t.Context(), ch); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("wrong token: %v", err)
	}
	ch = fakeChannel(f)
	ch.Settings["account_id"] = "42"
	if _, err := c.Check(t.Context(), ch); err == nil {
		t.Error("unknown phone number id: no error")
	}
}

func lastJSONless(f *whatsappfake.Fake) (int, whatsappfake.Request) {
	r := f.Requests()
	return len(r), r[len(r)-1]
}

// receiver plays webcare's receiving side: verify, parse, keep the batch.
type receiver struct {
	mu      sync.Mutex
	batches []channel.Batch
	ch      store.Channel
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh := whatsapp.New(nil).Webhook
	if r.URL.Path != "/hooks/9" {
		http.NotFound(w, r)
		return
	}
	if err := wh.Verify(rc.ch, r.Header, body); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	b, err := wh.Parse(rc.ch, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.batches = append(rc.batches, b)
	rc.mu.Unlock()
}

func TestFakeDeliversWebhooks(t *testing.T) {
	f := newFake(t)
	rc := &receiver{ch: fakeChannel(f)}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	photo := pngBytes(t)
	msgs := []channel.Message{
		{From: channel.Author{ExternalID: "31611112222", Name: "Anouk"}, Text: "Waar blijft mijn pakket? 📦"},
		{From: channel.Author{ExternalID: "31611112222", Name: "Anouk"}, Text: "zo ziet het eruit", Files: []channel.File{{Name: "doos.png", Data: photo}}, ReplyTo: "wamid.OUT"},
	}
	for _, m := range msgs {
		if err := f.Post(t.Context(), srv.URL, rc.ch, m); err != nil {
			t.Fatal(err)
		}
	}
	id, err := sender().Send(t.Context(), delivery(f, "On its way"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []store.Delivery{store.Sent, store.Read, store.Delivered, store.Failed} {
		if err := f.PostStatus(t.Context(), srv.URL, rc.ch, id, st); err != nil {
			t.Fatal(err)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.batches) != 6 {
		t.Fatalf("%d batches", len(rc.batches))
	}
	m0, m1 := rc.batches[0].Messages[0], rc.batches[1].Messages[0]
	if m0.Text != msgs[0].Text || m0.From.ExternalID != "31611112222" || m0.From.Name != "Anouk" || m0.Account != f.PhoneNumberID || m0.PlatformID == "" {
		t.Errorf("text message %+v", m0)
	}
	if m1.Text != "zo ziet het eruit" || len(m1.Files) != 1 || m1.ReplyTo != "wamid.OUT" || m1.PlatformID == m0.PlatformID {
		t.Fatalf("photo message %+v", m1)
	}
	_, data, err := whatsapp.New(nil).Fetcher.Fetch(t.Context(), rc.ch, m1.Files[0].Ref)
	if err != nil || !bytes.Equal(data, photo) {
		t.Errorf("fetch the customer's photo: %v", err)
	}
	if n := len(rc.batches[2].Statuses); n != 0 {
		t.Errorf("sent status gave %d statuses", n)
	}
	var states []store.Delivery
	for _, b := range rc.batches[3:] {
		for _, s := range b.Statuses {
			if s.PlatformID != id {
				t.Errorf("status for %q, want %q", s.PlatformID, id)
			}
			states = append(states, s.State)
		}
	}
	if !jsonEqual(states, []store.Delivery{store.Read, store.Delivered, store.Failed}) {
		t.Errorf("states %v", states)
	}
	if e := rc.batches[5].Statuses[0].Error; !strings.Contains(e, "131026") {
		t.Errorf("failed status error %q", e)
	}

	t.Run("wrong secret is refused by webcare", func(t *testing.T) {
		ch := rc.ch
		ch.Settings = map[string]string{"app_secret": "other"}
		if err := f.Post(t.Context(), srv.URL, ch, msgs[0]); err == nil {
			t.Error("webhook signed with another secret was accepted")
		}
	})
}
