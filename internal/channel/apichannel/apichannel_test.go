package apichannel_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

const secret = "s3cret"

// now is the sender's clock: whole seconds, so that HTTP dates round-trip.
var now = time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)

// request is what the fake integration saw.
type request struct {
	header  http.Header
	payload apichannel.Payload
	raw     map[string]any
	sigOK   bool
}

// integration plays the system behind an api channel's callback URL.
type integration struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	answer func(w http.ResponseWriter) // what to answer; default 200 {"id":"x"}
}

func newIntegration(t *testing.T, answer func(w http.ResponseWriter)) *integration {
	t.Helper()
	in := &integration{answer: answer}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{header: r.Header.Clone()}
		// Verify the way the docs tell integrators to, without the
		// package's own Sign.
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(r.Header.Get("X-Webcare-Timestamp") + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		req.sigOK = r.Method == http.MethodPost && hmac.Equal([]byte(want), []byte(r.Header.Get("X-Webcare-Signature")))
		_ = json.Unmarshal(body, &req.payload)
		_ = json.Unmarshal(body, &req.raw)
		in.mu.Lock()
		in.got = append(in.got, req)
		in.mu.Unlock()
		if in.answer == nil {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"x"}`)
			return
		}
		in.answer(w)
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *integration) requests() []request {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]request(nil), in.got...)
}

func delivery(url string) outbox.Delivery {
	settings := map[string]string{"callback_secret": secret}
	if url != "" {
		settings["callback_url"] = url
	}
	return outbox.Delivery{
		Key:          "key-123",
		Channel:      store.Channel{ID: 7, Kind: "api", Settings: settings},
		Conversation: store.Conversation{ID: 42, Visibility: store.Private},
		Message: store.Message{ID: 99, Body: "Your bag is on the next flight.", ReplyTo: "in-1",
			SentAt: now.Add(-time.Minute)},
		To: store.Identity{Platform: "api:7", ExternalID: "cust-5", Handle: "@ann", DisplayName: "Ann"},
	}
}

func sender() *apichannel.Sender {
	return &apichannel.Sender{Now: func() time.Time { return now }}
}

func TestSendDelivers(t *testing.T) {
	in := newIntegration(t, nil)
	id, err := sender().Send(t.Context(), delivery(in.URL))
	if err != nil {
		t.Fatal(err)
	}
	if id != "x" {
		t.Errorf("platform id = %q, want x", id)
	}
	got := in.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if !r.sigOK {
		t.Error("signature does not verify")
	}
	if k := r.header.Get("Idempotency-Key"); k != "key-123" {
		t.Errorf("Idempotency-Key = %q", k)
	}
	if ts := r.header.Get("X-Webcare-Timestamp"); ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("X-Webcare-Timestamp = %q", ts)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	p := r.payload
	want := apichannel.Payload{ID: "key-123", ConversationID: 42, MessageID: 99,
		To:   apichannel.Recipient{ID: "cust-5", Handle: "@ann", Name: "Ann"},
		Text: "Your bag is on the next flight.", ReplyTo: "in-1", Private: true, SentAt: now.Add(-time.Minute)}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("payload\n got %+v\nwant %+v", p, want)
	}
	// The wire names integrators code against.
	for _, k := range []string{"id", "conversation_id", "message_id", "to", "text", "reply_to", "private", "sent_at"} {
		if _, ok := r.raw[k]; !ok {
			t.Errorf("payload has no %q", k)
		}
	}
	if to, _ := r.raw["to"].(map[string]any); to["id"] != "cust-5" {
		t.Errorf("to.id = %v", to["id"])
	}
}

func TestSignatureChangesWithSecret(t *testing.T) {
	in := newIntegration(t, nil)
	d := delivery(in.URL)
	d.Channel.Settings["callback_secret"] = "another"
	if _, err := sender().Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if in.requests()[0].sigOK {
		t.Error("signature made with another secret verifies")
	}
}

func TestSendAnswers(t *testing.T) {
	retryAt := now.Add(2 * time.Minute)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantID     string
		wantErr    bool
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "200 with id", status: 200, body: `{"id":"x"}`, wantID: "x"},
		{name: "201 with id", status: 201, body: `{"id":"m-77","extra":1}`, wantID: "m-77"},
		{name: "204 without body", status: 204, wantID: ""},
		{name: "200 with no JSON", status: 200, body: "ok", wantID: ""},
		{name: "503 with seconds", status: 503, header: map[string]string{"Retry-After": "7"}, body: "down", wantErr: true, retryAfter: 7 * time.Second},
		{name: "500 without Retry-After", status: 500, wantErr: true},
		{name: "429 with HTTP date", status: 429, header: map[string]string{"Retry-After": retryAt.Format(http.TimeFormat)}, wantErr: true, retryAfter: 2 * time.Minute},
		{name: "408", status: 408, wantErr: true},
		{name: "409", status: 409, wantErr: true},
		{name: "400", status: 400, body: `{"error":"unknown recipient"}`, wantErr: true, permanent: true},
		{name: "404", status: 404, wantErr: true, permanent: true},
		{name: "410 ignores Retry-After", status: 410, header: map[string]string{"Retry-After": "7"}, wantErr: true, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newIntegration(t, func(w http.ResponseWriter) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			id, err := sender().Send(t.Context(), delivery(in.URL))
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if id != tt.wantID {
					t.Errorf("id = %q, want %q", id, tt.wantID)
				}
				return
			}
			var se *outbox.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *outbox.Error", err)
			}
			if id != "" {
				t.Errorf("id = %q on failure", id)
			}
			if se.Status != tt.status || se.Permanent != tt.permanent || se.RetryAfter != tt.retryAfter {
				t.Errorf("got status %d permanent %v retry after %v; want %d %v %v",
					se.Status, se.Permanent, se.RetryAfter, tt.status, tt.permanent, tt.retryAfter)
			}
			if tt.body != "" && (se.Body != tt.body || !strings.Contains(err.Error(), tt.body)) {
				t.Errorf("body %q, error %q; want the platform's answer %q", se.Body, err, tt.body)
			}
		})
	}
}

func TestSendLongAnswerIsShortened(t *testing.T) {
	in := newIntegration(t, func(w http.ResponseWriter) {
		w.WriteHeader(400)
		io.WriteString(w, strings.Repeat("e", 10_000))
	})
	_, err := sender().Send(t.Context(), delivery(in.URL))
	var se *outbox.Error
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	if len(se.Body) > 400 {
		t.Errorf("body kept %d bytes", len(se.Body))
	}
}

func TestSendWithoutCallbackURL(t *testing.T) {
	_, err := sender().Send(t.Context(), delivery(""))
	var se *outbox.Error
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("err = %#v, want a permanent *outbox.Error", err)
	}
	if !strings.Contains(err.Error(), "callback_url") {
		t.Errorf("error %q does not name callback_url", err)
	}
}

func TestSendBadCallbackURL(t *testing.T) {
	_, err := sender().Send(t.Context(), delivery("http://[::1"))
	var se *outbox.Error
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("err = %v, want a permanent *outbox.Error", err)
	}
}

func TestSendNetworkErrorIsTemporary(t *testing.T) {
	in := newIntegration(t, nil)
	url := in.URL
	in.Close() // nobody listens there any more
	_, err := sender().Send(t.Context(), delivery(url))
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	var se *outbox.Error
	if errors.As(err, &se) && se.Permanent {
		t.Fatalf("network error is permanent: %v", err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	release := make(chan struct{})
	in := newIntegration(t, func(w http.ResponseWriter) { <-release })
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := sender().Send(ctx, delivery(in.URL))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var se *outbox.Error
	if errors.As(err, &se) && se.Permanent {
		t.Fatal("a cancelled send is permanent")
	}
}

func TestSign(t *testing.T) {
	// The documented construction, computed here without the package.
	m := hmac.New(sha256.New, []byte("key"))
	m.Write([]byte("1700000000.{}"))
	want := hex.EncodeToString(m.Sum(nil))
	if got := apichannel.Sign("key", "1700000000", []byte("{}")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if apichannel.Sign("key", "1700000001", []byte("{}")) == want {
		t.Error("timestamp not signed")
	}
	if apichannel.Sign("key", "1700000000", []byte("{ }")) == want {
		t.Error("body not signed")
	}
}

func TestRetryAfter(t *testing.T) {
	maxSeconds := int64(math.MaxInt64 / int64(time.Second))
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"   ", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.ANSIC), 90 * time.Second},
		{now.Format(http.TimeFormat), 0},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		// Absurd values must not overflow into a negative or short wait.
		{strconv.FormatInt(maxSeconds, 10), time.Duration(maxSeconds) * time.Second},
		{"9223372037", time.Duration(maxSeconds) * time.Second},
		{"18446744074", time.Duration(maxSeconds) * time.Second},
		{"99999999999999999999", 0}, // not even an int: ignored
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := apichannel.RetryAfter(tt.in, now); got != tt.want {
				t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSendCarriesFiles(t *testing.T) {
	in := newIntegration(t, nil)
	d := delivery(in.URL)
	pdf := []byte("%PDF-1.4 voucher \x00\xff")
	d.Files = []store.Attachment{{ID: 3, Name: "voucher.pdf", ContentType: "application/pdf", SHA256: "abc", Data: pdf}}
	if _, err := sender().Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	got := in.requests()
	if len(got) != 1 || len(got[0].payload.Attachments) != 1 {
		t.Fatalf("requests %+v", got)
	}
	f := got[0].payload.Attachments[0]
	if f.Name != "voucher.pdf" || f.ContentType != "application/pdf" || f.SHA256 != "abc" || !bytes.Equal(f.Data, pdf) {
		t.Errorf("file on the wire: %+v", f)
	}
	files, _ := got[0].raw["attachments"].([]any)
	if first, _ := files[0].(map[string]any); first["data"] != base64.StdEncoding.EncodeToString(pdf) {
		t.Errorf("data is not standard base64 on the wire: %v", first["data"])
	}
}
