package x_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/channel/x/xfake"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

func setup(t *testing.T) (*xfake.Fake, channel.Adapter, store.Channel) {
	t.Helper()
	f := xfake.New()
	t.Cleanup(f.Close)
	return f, x.New(nil), store.Channel{ID: 3, Kind: "x", Settings: f.Settings()}
}

func publicReply(ch store.Channel, text, replyTo string) outbox.Delivery {
	return outbox.Delivery{
		Key: "k1", Channel: ch,
		Conversation: store.Conversation{Visibility: store.Public},
		Message:      store.Message{Body: text, ReplyTo: replyTo},
		To:           store.Identity{ExternalID: "9007199254740993123", Handle: "@jandevries"},
	}
}

func dm(ch store.Channel, text string) outbox.Delivery {
	d := publicReply(ch, text, "1850200000000000042")
	d.Conversation.Visibility = store.Private
	return d
}

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func lastRequest(t *testing.T, f *xfake.Fake, path string) xfake.Request {
	t.Helper()
	rs := f.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Path == path || strings.HasPrefix(rs[i].Path, path) {
			return rs[i]
		}
	}
	t.Fatalf("no request to %s in %+v", path, rs)
	return xfake.Request{}
}

func TestSendPublicReply(t *testing.T) {
	f, a, ch := setup(t)
	text := `Sorry Jan! "Tracking" & <pakket> 📦 — we kijken ernaar: https://webcare.nl/faq`
	id, err := a.Sender.Send(context.Background(), publicReply(ch, text, "1850123456789012345"))
	if err != nil {
		t.Fatal(err)
	}
	sent := f.Sent()
	if len(sent) != 1 || sent[0].ID != id || sent[0].Text != text || sent[0].ReplyTo != "1850123456789012345" {
		t.Fatalf("sent %+v, id %s", sent, id)
	}
	r := lastRequest(t, f, "/2/tweets")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
		t.Errorf("request %s %v", r.Method, r.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["text"] != text || body["reply"].(map[string]any)["in_reply_to_tweet_id"] != "1850123456789012345" || body["media"] != nil {
		t.Errorf("body %s", r.Body)
	}
}

func TestSendDirectMessage(t *testing.T) {
	f, a, ch := setup(t)
	id, err := a.Sender.Send(context.Background(), dm(ch, "Hoi Jan, stuur je je ordernummer? 🙏"))
	if err != nil {
		t.Fatal(err)
	}
	r := lastRequest(t, f, "/2/dm_conversations/with/9007199254740993123/messages")
	if string(r.Body) != `{"text":"Hoi Jan, stuur je je ordernummer? 🙏"}` {
		t.Errorf("body %s", r.Body)
	}
	if s := f.Sent(); len(s) != 1 || s[0].ID != id || !s[0].Private || s[0].To != "9007199254740993123" {
		t.Errorf("sent %+v, id %s", s, id)
	}
}

func TestSendImages(t *testing.T) {
	img := pngBytes(t)
	t.Run("post with two images", func(t *testing.T) {
		f, a, ch := setup(t)
		d := publicReply(ch, "Zo ziet het label eruit", "1850123456789012345")
		d.Files = []store.Attachment{{Name: "a.png", ContentType: "image/png", Data: img}, {Name: "b.png", ContentType: "image/png", Data: img}}
		if _, err := a.Sender.Send(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		s := f.Sent()
		if len(s) != 1 || len(s[0].Media) != 2 {
			t.Fatalf("sent %+v", s)
		}
		up := lastRequest(t, f, "/2/media/upload")
		if !strings.HasPrefix(up.Header.Get("Content-Type"), "multipart/form-data") || !bytes.Contains(up.Body, []byte("tweet_image")) {
			t.Errorf("upload %v", up.Header)
		}
	})
	t.Run("dm with an image", func(t *testing.T) {
		f, a, ch := setup(t)
		d := dm(ch, "")
		d.Files = []store.Attachment{{Name: "a.png", ContentType: "image/png", Data: img}}
		if _, err := a.Sender.Send(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if s := f.Sent(); len(s) != 1 || len(s[0].Media) != 1 || !bytes.Contains(lastRequest(t, f, "/2/media/upload").Body, []byte("dm_image")) {
			t.Fatalf("sent %+v", s)
		}
	})
}

func TestSendRefusedBeforeSending(t *testing.T) {
	img := pngBytes(t)
	tests := []struct {
		name string
		make func(ch store.Channel) outbox.Delivery
		want string
	}{
		{"too long post", func(ch store.Channel) outbox.Delivery {
			return publicReply(ch, strings.Repeat("日本", 71), "1")
		}, "too long for X: it counts 284 of 280"},
		{"too long dm", func(ch store.Channel) outbox.Delivery { return dm(ch, strings.Repeat("a", 10001)) }, "too long"},
		{"nothing to reply to", func(ch store.Channel) outbox.Delivery { return publicReply(ch, "hi", "") }, "no post of the customer's"},
		{"empty", func(ch store.Channel) outbox.Delivery { return publicReply(ch, "  ", "1") }, "empty"},
		{"no recipient", func(ch store.Channel) outbox.Delivery {
			d := dm(ch, "hi")
			d.To.ExternalID = ""
			return d
		}, "no X user id"},
		{"five images", func(ch store.Channel) outbox.Delivery {
			d := publicReply(ch, "hi", "1")
			for range 5 {
				d.Files = append(d.Files, store.Attachment{Name: "a.png", ContentType: "image/png", Data: img})
			}
			return d
		}, "at most 4 images"},
		{"two images in a dm", func(ch store.Channel) outbox.Delivery {
			d := dm(ch, "hi")
			d.Files = []store.Attachment{{Name: "a.png", Data: img}, {Name: "b.png", Data: img}}
			return d
		}, "one image per Direct Message"},
		{"a pdf", func(ch store.Channel) outbox.Delivery {
			d := publicReply(ch, "hi", "1")
			d.Files = []store.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")}}
			return d
		}, "only images"},
		{"huge image", func(ch store.Channel) outbox.Delivery {
			d := publicReply(ch, "hi", "1")
			d.Files = []store.Attachment{{Name: "a.png", ContentType: "image/png", Data: append(img, make([]byte, 6<<20)...)}}
			return d
		}, "at most 5 MB"},
		{"no keys", func(ch store.Channel) outbox.Delivery {
			ch.Settings = map[string]string{"api_base": ch.Settings["api_base"]}
			return publicReply(ch, "hi", "1")
		}, "missing X's API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, a, ch := setup(t)
			_, err := a.Sender.Send(context.Background(), tt.make(ch))
			var oe *outbox.Error
			if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, tt.want) {
				t.Fatalf("err = %v, want permanent containing %q", err, tt.want)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		private   bool
		permanent bool
		retry     time.Duration // at least
		want      string
	}{
		{"rate limited", 429, "", false, false, 50 * time.Second, "rate limit"},
		{"unavailable", 503, "", false, false, 0, "trouble"},
		{"server error", 500, "", true, false, 0, "trouble"},
		{"revoked token", 401, "", false, true, 0, "The access token was revoked or is wrong: reconnect"},
		{"dm not allowed", 403, xfake.DMNotAllowed, true, true, 0, "does not let the account send this customer a Direct Message"},
		{"reply not allowed", 403, xfake.ReplyNotAllowed, false, true, 0, "does not allow this reply"},
		{"app permissions", 403, xfake.OAuth1Permission, false, true, 0, "Read, Write and Direct Messages"},
		{"not enrolled", 403, xfake.NotEnrolled, true, true, 0, "Read, Write and Direct Messages"},
		{"too long after all", 403, `{"errors":[{"code":186,"message":"Tweet needs to be a bit shorter."}]}`, false, true, 0, "too long for X"},
		{"not found", 404, `{"title":"Not Found Error","detail":"Could not find tweet with id: [1].","type":"https://api.twitter.com/2/problems/resource-not-found"}`, false, true, 0, "no longer exists"},
		{"invalid", 400, `{"errors":[{"parameters":{"reply.in_reply_to_tweet_id":["x"]},"message":"The ` + "`reply.in_reply_to_tweet_id`" + ` query parameter value [x] is not valid"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`, false, true, 0, "is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, a, ch := setup(t)
			if tt.body == "" {
				f.FailNext(1, tt.status)
			} else {
				f.FailNextWith(1, tt.status, tt.body)
			}
			d := publicReply(ch, "Hallo", "1850123456789012345")
			if tt.private {
				d = dm(ch, "Hallo")
			}
			_, err := a.Sender.Send(context.Background(), d)
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v", err)
			}
			if oe.Permanent != tt.permanent || oe.Status != tt.status || oe.RetryAfter < tt.retry || !strings.Contains(oe.Body, tt.want) {
				t.Errorf("got %+v, want permanent=%v retry≥%v %q", oe, tt.permanent, tt.retry, tt.want)
			}
			if tt.status == 429 && oe.RetryAfter > 61*time.Second {
				t.Errorf("RetryAfter %v beyond the reset", oe.RetryAfter)
			}
			// Then it goes through.
			if _, err := a.Sender.Send(context.Background(), d); err != nil {
				t.Errorf("second attempt: %v", err)
			}
		})
	}
}

func TestSendDuplicate(t *testing.T) {
	t.Run("retry of a post that went out", func(t *testing.T) {
		f, a, ch := setup(t)
		d := publicReply(ch, "We sturen vandaag een nieuw pakket & bellen je.", "1850123456789012345")
		first, err := a.Sender.Send(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		// The answer was lost; the outbox tries again and X says duplicate.
		again, err := a.Sender.Send(context.Background(), d)
		if err != nil || again != first {
			t.Fatalf("retry = %q, %v; want %q", again, err, first)
		}
		if n := len(f.Sent()); n != 1 {
			t.Errorf("%d posts", n)
		}
	})
	t.Run("same words to another customer", func(t *testing.T) {
		_, a, ch := setup(t)
		if _, err := a.Sender.Send(context.Background(), publicReply(ch, "Stuur ons een DM!", "1")); err != nil {
			t.Fatal(err)
		}
		_, err := a.Sender.Send(context.Background(), publicReply(ch, "Stuur ons een DM!", "2"))
		var oe *outbox.Error
		if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, "reword") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSendWrongSecretRejectedByFake(t *testing.T) {
	_, a, ch := setup(t)
	ch.Settings["access_token_secret"] = "wrong"
	_, err := a.Sender.Send(context.Background(), publicReply(ch, "hi", "1"))
	var oe *outbox.Error
	if !errors.As(err, &oe) || !oe.Permanent || oe.Status != 401 {
		t.Fatalf("err = %v", err)
	}
}

func TestCheck(t *testing.T) {
	f, a, ch := setup(t)
	who, err := a.Checker.Check(context.Background(), ch)
	if err != nil || who != "@webcare_demo (Webcare Demo), user id "+f.AccountID {
		t.Fatalf("Check = %q, %v", who, err)
	}
	if r := lastRequest(t, f, "/2/users/me"); r.Query.Get("user.fields") != "username" {
		t.Errorf("query %v", r.Query)
	}
	t.Run("other account", func(t *testing.T) {
		ch.Settings["account_id"] = "42"
		if _, err := a.Checker.Check(context.Background(), ch); err == nil || !strings.Contains(err.Error(), "account user id is 42") {
			t.Errorf("err = %v", err)
		}
		ch.Settings["account_id"] = f.AccountID
	})
	t.Run("bad token", func(t *testing.T) {
		bad := store.Channel{Settings: map[string]string{}}
		for k, v := range ch.Settings {
			bad.Settings[k] = v
		}
		bad.Settings["consumer_secret"] = "nope"
		if _, err := a.Checker.Check(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "reconnect") {
			t.Errorf("err = %v", err)
		}
	})
}

// hooks is the receiving side as the lead wires it: CRC on GET, verify
// and parse on POST.
func hooks(t *testing.T, a channel.Adapter, ch store.Channel, got chan<- channel.Batch) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hooks/"+strconv.FormatInt(ch.ID, 10) {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			ct, body, err := a.Webhook.(channel.Challenger).Challenge(ch, r.URL.Query())
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write(body)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err := a.Webhook.Verify(ch, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		b, err := a.Webhook.Parse(ch, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- b
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFakeDeliversToWebhook(t *testing.T) {
	f, a, ch := setup(t)
	got := make(chan channel.Batch, 4)
	srv := hooks(t, a, ch, got)
	ctx := context.Background()
	if err := f.Challenge(ctx, srv.URL, ch); err != nil {
		t.Fatal(err)
	}
	img := pngBytes(t)
	t.Run("public", func(t *testing.T) {
		m := channel.Message{From: channel.Author{ExternalID: "9007199254740993123", Handle: "@jandevries", Name: "Jan"}, Text: "Waar blijft m'n pakket? <3 & 📦", ReplyTo: "1850000000000000777", Files: []channel.File{{Name: "x.png", Data: img}}}
		if err := f.Post(ctx, srv.URL, ch, m); err != nil {
			t.Fatal(err)
		}
		b := <-got
		if len(b.Messages) != 1 {
			t.Fatalf("%+v", b)
		}
		in := b.Messages[0]
		if in.Text != "@webcare_demo "+m.Text || in.Private || in.ReplyTo != m.ReplyTo || in.From != m.From || len(in.Files) != 1 {
			t.Fatalf("got %+v", in)
		}
		name, data, err := a.Fetcher.Fetch(ctx, ch, in.Files[0].Ref)
		if err != nil || !bytes.Equal(data, img) || !strings.HasSuffix(name, ".png") {
			t.Fatalf("Fetch = %q, %d bytes, %v", name, len(data), err)
		}
		// Answer it.
		if _, err := a.Sender.Send(ctx, publicReply(ch, "Komt eraan!", in.PlatformID)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("private", func(t *testing.T) {
		m := channel.Message{From: channel.Author{ExternalID: "9007199254740993123", Handle: "@jandevries", Name: "Jan"}, Text: "Mijn order is 4521", Private: true, Files: []channel.File{{Name: "x.png", Data: img}}}
		if err := f.Post(ctx, srv.URL, ch, m); err != nil {
			t.Fatal(err)
		}
		b := <-got
		if len(b.Messages) != 1 || b.Messages[0].Text != m.Text || !b.Messages[0].Private || b.Messages[0].From != m.From {
			t.Fatalf("%+v", b)
		}
		// Direct Message media need a signed request, as on ton.twitter.com.
		ref := b.Messages[0].Files[0].Ref
		if !strings.Contains(ref, "/media/dm/") {
			t.Fatalf("ref %s", ref)
		}
		if _, data, err := a.Fetcher.Fetch(ctx, ch, ref); err != nil || !bytes.Equal(data, img) {
			t.Fatalf("Fetch: %v", err)
		}
		// The customer reads webcare's answer.
		id, err := a.Sender.Send(ctx, dm(ch, "Dank je, we kijken ernaar."))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Read(ctx, srv.URL, ch, "9007199254740993123", id); err != nil {
			t.Fatal(err)
		}
		if b := <-got; len(b.Statuses) != 1 || b.Statuses[0].PlatformID != id || b.Statuses[0].State != store.Read {
			t.Fatalf("statuses %+v", b.Statuses)
		}
		resp, err := http.Get(ref)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned fetch answered %d", resp.StatusCode)
		}
	})
	t.Run("same message twice", func(t *testing.T) {
		m := channel.Message{PlatformID: "1850000000000009999", From: channel.Author{ExternalID: "5"}, Text: "dubbel"}
		for range 2 {
			if err := f.Post(ctx, srv.URL, ch, m); err != nil {
				t.Fatal(err)
			}
		}
		a, b := <-got, <-got
		if a.Messages[0].PlatformID != "1850000000000009999" || b.Messages[0].PlatformID != a.Messages[0].PlatformID {
			t.Errorf("%+v %+v", a, b)
		}
	})
	t.Run("wrong secret refused", func(t *testing.T) {
		other := ch
		other.Settings = map[string]string{"consumer_secret": "another"}
		if err := f.Post(ctx, srv.URL, other, channel.Message{Text: "x"}); err == nil {
			t.Error("delivery signed with another secret accepted")
		}
	})
}

func TestFetchRefusesOtherHosts(t *testing.T) {
	_, a, ch := setup(t)
	for _, ref := range []string{"https://evil.example/x.jpg", "http://pbs.twimg.com/x.jpg", "file:///etc/passwd", "::"} {
		if _, _, err := a.Fetcher.Fetch(context.Background(), ch, ref); err == nil {
			t.Errorf("%s fetched", ref)
		}
	}
}

func TestAdapter(t *testing.T) {
	a := x.New(nil)
	if a.Kind != "x" || a.Webhook == nil || a.Sender == nil || a.Checker == nil || a.Fetcher == nil || a.Rate <= 0 {
		t.Fatalf("%+v", a)
	}
	if _, ok := a.Webhook.(channel.Challenger); !ok {
		t.Error("no Challenger")
	}
	keys := map[string]bool{}
	for _, f := range a.Fields {
		keys[f.Key] = f.Secret
	}
	for k, secret := range map[string]bool{"consumer_key": false, "consumer_secret": true, "access_token": false, "access_token_secret": true, "account_id": false, "api_base": false} {
		if s, ok := keys[k]; !ok || s != secret {
			t.Errorf("field %s: present %v secret %v", k, ok, s)
		}
	}
}
