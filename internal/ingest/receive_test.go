package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// fetcher serves files by reference, as a platform's media API would.
type fetcher map[string][]byte

func (f fetcher) Fetch(ctx context.Context, _ store.Channel, ref string) (string, []byte, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if b, ok := f[ref]; ok {
		return "file.bin", b, nil
	}
	return "", nil, errors.New("404 from the platform")
}

func TestReceiveRoutesByAccount(t *testing.T) {
	st := newStore(t)
	p := newPipeline(t, st, nil, ingest.Options{})
	page := newChannel(t, st, store.Channel{Kind: "facebook", Settings: map[string]string{"account_id": "100", "app_secret": "s"}})
	sibling := newChannel(t, st, store.Channel{Kind: "facebook", Settings: map[string]string{"account_id": "200", "app_secret": "s"}})
	stranger := newChannel(t, st, store.Channel{Kind: "facebook", Settings: map[string]string{"account_id": "300", "app_secret": "other app"}})
	unset := newChannel(t, st, store.Channel{Kind: "facebook", Settings: map[string]string{"app_secret": "s2"}})
	msg := func(id, account string) channel.Message {
		return channel.Message{PlatformID: id, Account: account, Text: "hello", Private: true, From: channel.Author{ExternalID: "u-" + id}}
	}
	rec, err := p.Receive(t.Context(), page, channel.Adapter{}, channel.Batch{Messages: []channel.Message{
		msg("m1", "100"), msg("m2", "200"), msg("m3", "300"), msg("m4", "999"), msg("m5", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Stored != 3 || rec.Unrouted != 2 {
		t.Errorf("receipt %+v; want 3 stored (own, sibling, no account) and 2 unrouted (another app's page, an unknown page)", rec)
	}
	for _, c := range []struct {
		ch   store.Channel
		want int
	}{{page, 2}, {sibling, 1}, {stranger, 0}} {
		n, _ := st.CountConversations(t.Context(), store.ConversationFilter{ChannelID: c.ch.ID})
		if n != c.want {
			t.Errorf("channel %s: %d conversations, want %d", c.ch.Settings["account_id"], n, c.want)
		}
	}
	// A channel whose account id was never filled in keeps what it gets.
	rec, err = p.Receive(t.Context(), unset, channel.Adapter{}, channel.Batch{Messages: []channel.Message{msg("m6", "555")}})
	if err != nil || rec.Stored != 1 {
		t.Errorf("channel without account id: %+v, %v; want it stored", rec, err)
	}
}

func TestReceiveFitsWhatPlatformsSend(t *testing.T) {
	st := newStore(t)
	p := newPipeline(t, st, nil, ingest.Options{})
	ch := newChannel(t, st, store.Channel{Kind: "email"})
	long := channel.Message{PlatformID: "<a@b>", Private: true, Text: strings.Repeat("漢字", 20000),
		Subject: strings.Repeat("é", 600), From: channel.Author{ExternalID: "a@b.example", Name: strings.Repeat("ü", 200)}}
	rec, err := p.Receive(t.Context(), ch, channel.Adapter{}, channel.Batch{Messages: []channel.Message{long}})
	if err != nil || rec.Stored != 1 {
		t.Fatalf("a long mail: %+v, %v; want it stored, trimmed", rec, err)
	}
	convs, _ := st.Conversations(t.Context(), store.ConversationFilter{})
	msgs, _ := st.Messages(t.Context(), convs[0].ID, 0, 1)
	body := msgs[0].Body
	if len(body) > ingest.MaxBodyBytes || !utf8.ValidString(body) || !strings.HasSuffix(body, "[…]") {
		t.Errorf("body %d bytes, valid %v, ends %q", len(body), utf8.ValidString(body), body[len(body)-10:])
	}
	if len(convs[0].Subject) > ingest.MaxSubjectLen || !utf8.ValidString(convs[0].Subject) {
		t.Errorf("subject %d bytes", len(convs[0].Subject))
	}
}

func TestReceiveFetchesFiles(t *testing.T) {
	st := newStore(t)
	p := newPipeline(t, st, nil, ingest.Options{})
	ch := newChannel(t, st, store.Channel{Kind: "whatsapp"})
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")
	ad := channel.Adapter{Fetcher: fetcher{"media-1": png}}
	rec, err := p.Receive(t.Context(), ch, ad, channel.Batch{Messages: []channel.Message{
		{PlatformID: "w1", Private: true, From: channel.Author{ExternalID: "31"}, Files: []channel.File{{Name: "photo.png", Ref: "media-1"}}},
		{PlatformID: "w2", Private: true, From: channel.Author{ExternalID: "32"}, Files: []channel.File{{Ref: "media-gone"}}},
	}})
	if err != nil || rec.Stored != 2 {
		t.Fatalf("receipt %+v, %v", rec, err)
	}
	convs, _ := st.Conversations(t.Context(), store.ConversationFilter{})
	got := map[string]store.Message{}
	for _, c := range convs {
		ms, _ := st.Messages(t.Context(), c.ID, 0, 5)
		got[ms[0].PlatformID] = ms[0]
	}
	if a := got["w1"].Attachments; len(a) != 1 || a[0].Name != "photo.png" || a[0].ContentType != "image/png" {
		t.Errorf("fetched photo stored as %+v", a)
	}
	if m := got["w2"]; len(m.Attachments) != 0 || !strings.Contains(m.Body, "could not be downloaded") {
		t.Errorf("a file the platform lost: %+v; want the message kept with a note", m)
	}

	// The platform hangs up mid-delivery: nothing is stored without its
	// file; the retry brings it all again.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.Receive(ctx, ch, ad, channel.Batch{Messages: []channel.Message{
		{PlatformID: "w3", Private: true, From: channel.Author{ExternalID: "33"}, Files: []channel.File{{Ref: "media-1"}}}}})
	if err == nil {
		t.Error("a cancelled delivery reported success")
	}
	if n, _ := st.CountConversations(t.Context(), store.ConversationFilter{}); n != 2 {
		t.Errorf("%d conversations after a cancelled delivery, want 2", n)
	}
}
