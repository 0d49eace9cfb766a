package chat

import (
	"errors"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
)

func busEvent(typ string, conv, msg, ch int64) bus.Event {
	return bus.Event{Type: typ, ConversationID: conv, MessageID: msg, ChannelID: ch}
}

func fakeMessage(from, id, text string) channel.Message {
	return channel.Message{PlatformID: id, From: channel.Author{ExternalID: from, Name: "Fake"}, Text: text, SentAt: time.Now()}
}

// FuzzParsePost: the message-post decoder never panics, and what it
// accepts is within the limits.
func FuzzParsePost(f *testing.F) {
	seed, err := os.ReadFile("testdata/post.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"id":"a","text":"b"}`, `{"id":"a","text":"b"}{}`,
		`{"id":"a","text":"\u0000"}`, `{"id":1e999,"text":[]}`, `{"id":"a","text":"x","email":"@"}`,
		`{"id":"a","text":"x","name":"\ud800"}`, "{\"id\":\"a\",\"text\":\"\xc3\x28\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePost(body)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error not wrapping ErrInput: %v", err)
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Reason == "" || err.Error() != ErrInput.Error()+": "+ie.Reason {
				t.Fatalf("error %q is not an *InputError with its reason", err)
			}
			return
		}
		if p.ID == "" || len(p.ID) > MaxClientIDLen || p.Text == "" || utf8.RuneCountInString(p.Text) > MaxTextChars ||
			utf8.RuneCountInString(p.Name) > MaxNameChars || len(p.Email) > MaxEmailBytes || !utf8.ValidString(p.Text) {
			t.Fatalf("accepted out of limits: %+v", p)
		}
	})
}

// BenchmarkPostMessage decodes and validates a typical message post.
func BenchmarkPostMessage(b *testing.B) {
	body, err := os.ReadFile("testdata/post.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParsePost(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}
