package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/email/emailfake"
	"github.com/webcare/webcare/internal/store"
)

// memIngest is the smallest durable store: dedupe on channel + PlatformID.
type memIngest struct {
	mu       sync.Mutex
	msgs     []channel.Message
	seen     map[string]bool
	failNext int
	refuse   error // returned by every ingest when set
	statuses []channel.Status
}

func (s *memIngest) ingest(_ context.Context, m channel.Message) (store.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return store.IngestResult{}, s.refuse
	}
	if s.failNext > 0 {
		s.failNext--
		return store.IngestResult{}, errors.New("database is locked")
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	k := string(rune(m.ChannelID)) + "/" + m.PlatformID
	if s.seen[k] {
		return store.IngestResult{Duplicate: true}, nil
	}
	s.seen[k] = true
	s.msgs = append(s.msgs, m)
	return store.IngestResult{MessageID: int64(len(s.msgs))}, nil
}

func (s *memIngest) messages() []channel.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channel.Message(nil), s.msgs...)
}

func startListener(t *testing.T, st *memIngest, maxBytes int64) string {
	t.Helper()
	chans := map[string]store.Channel{
		"support@example.com": {ID: 1, Kind: Kind, Settings: map[string]string{"address": "support@example.com"}},
		"help@example.com":    {ID: 1, Kind: Kind, Settings: map[string]string{"address": "help@example.com"}},
		"sales@example.com":   {ID: 2, Kind: Kind, Settings: map[string]string{"address": "sales@example.com"}},
	}
	l := NewListener(ListenerOptions{
		Domain:   "mx.example.com",
		MaxBytes: maxBytes,
		Lookup: func(_ context.Context, rcpt string) (store.Channel, bool) {
			ch, ok := chans[rcpt]
			return ch, ok
		},
		Ingest: st.ingest,
		Status: func(_ context.Context, _ store.Channel, s channel.Status) error {
			st.mu.Lock()
			st.statuses = append(st.statuses, s)
			st.mu.Unlock()
			return nil
		},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Serve(ln) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return -1
	}
	return 250
}

func TestListener(t *testing.T) {
	ctx := context.Background()
	gmail := fixture(t, "gmail_reply_en.eml")
	tests := []struct {
		name     string
		to       []string
		raw      []byte
		failNext int
		code     int
		stored   []int64 // channel ids stored
	}{
		{"accepted", []string{"support@example.com"}, gmail, 0, 250, []int64{1}},
		{"sub-address", []string{"Support+order1042@Example.com"}, gmail, 0, 250, []int64{1}},
		{"unknown recipient", []string{"nobody@example.com"}, gmail, 0, 550, nil},
		{"postmaster accepted, dropped", []string{"postmaster@example.com"}, gmail, 0, 250, nil},
		{"two addresses of one channel", []string{"support@example.com", "help@example.com"}, gmail, 0, 250, []int64{1}},
		{"two channels", []string{"support@example.com", "sales@example.com"}, gmail, 0, 250, []int64{1, 2}},
		{"ingest fails", []string{"support@example.com"}, gmail, 1, 451, nil},
		{"unreadable", []string{"support@example.com"}, fixture(t, "no_from.eml"), 0, 554, nil},
		{"auto-reply accepted, not stored", []string{"support@example.com"}, fixture(t, "autoreply_oof.eml"), 0, 250, nil},
		{"oversize", []string{"support@example.com"}, append(bytes.Clone(gmail), bytes.Repeat([]byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), 2000)...), 0, 552, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memIngest{failNext: tt.failNext}
			addr := startListener(t, st, 64<<10)
			err := emailfake.Deliver(ctx, addr, "jane.doe@gmail.com", tt.to, tt.raw)
			if got := smtpCode(err); got != tt.code {
				t.Fatalf("answer %d (%v), want %d", got, err, tt.code)
			}
			var got []int64
			for _, m := range st.messages() {
				got = append(got, m.ChannelID)
				if m.PlatformID != "CAF=k8pQ1x2y3z+AbCdEf@mail.gmail.com" {
					t.Errorf("platform id %q", m.PlatformID)
				}
			}
			if len(got) != len(tt.stored) || (len(got) > 0 && (got[0] != tt.stored[0] || got[len(got)-1] != tt.stored[len(got)-1])) {
				t.Errorf("stored for channels %v, want %v", got, tt.stored)
			}
		})
	}
}

// A mail the store will never take is refused for good (554), so that the
// sending server tells its sender instead of retrying for days.
func TestListenerRefusedForGood(t *testing.T) {
	st := &memIngest{refuse: fmt.Errorf("%w: invalid message: from.id is 600 bytes\r\nlong", ErrRefused)}
	addr := startListener(t, st, 64<<10)
	err := emailfake.Deliver(context.Background(), addr, "jane.doe@gmail.com", []string{"support@example.com"}, fixture(t, "gmail_reply_en.eml"))
	if smtpCode(err) != 554 || !strings.Contains(err.Error(), "from.id is 600 bytes") {
		t.Fatalf("answer %v, want 554 with the reason", err)
	}
}

func TestListenerRetryAndDuplicate(t *testing.T) {
	ctx := context.Background()
	st := &memIngest{failNext: 1}
	addr := startListener(t, st, 0)
	raw := fixture(t, "gmail_reply_en.eml")
	if err := emailfake.Deliver(ctx, addr, "jane@x", []string{"support@example.com"}, raw); smtpCode(err) != 451 {
		t.Fatalf("first try: %v, want 451", err)
	}
	for range 3 { // the sending MTA retries; a second copy arrives later too
		if err := emailfake.Deliver(ctx, addr, "jane@x", []string{"support@example.com"}, raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(st.messages()); n != 1 {
		t.Errorf("stored %d times, want once", n)
	}
}

func TestListenerBounceStatus(t *testing.T) {
	st := &memIngest{}
	addr := startListener(t, st, 0)
	if err := emailfake.Deliver(context.Background(), addr, "", []string{"support@example.com"}, fixture(t, "bounce.eml")); err != nil {
		t.Fatal(err)
	}
	if len(st.statuses) != 1 || st.statuses[0].PlatformID != "webcare-ffff0000@example.com" || st.statuses[0].State != store.Failed {
		t.Errorf("statuses %+v", st.statuses)
	}
	if len(st.messages()) != 0 {
		t.Error("bounce stored as a message")
	}
}

func TestListenerConnectionLimit(t *testing.T) {
	st := &memIngest{}
	l := NewListener(ListenerOptions{MaxConnsPerIP: 2, Lookup: func(context.Context, string) (store.Channel, bool) { return store.Channel{}, false }, Ingest: st.ingest})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve(ln)
	defer l.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	read := func(c net.Conn) string {
		b := make([]byte, 200)
		n, _ := c.Read(b)
		return string(b[:n])
	}
	for i := range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		greet := read(c)
		if want := "220"; i == 2 {
			if !strings.HasPrefix(greet, "421") {
				t.Errorf("third connection: %q, want 421", greet)
			}
		} else if !strings.HasPrefix(greet, want) {
			t.Errorf("connection %d: %q", i, greet)
		}
	}
}
