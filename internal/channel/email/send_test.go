package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

func delivery(ch store.Channel) outbox.Delivery {
	return outbox.Delivery{
		Key:          "reply-42",
		Channel:      ch,
		Conversation: store.Conversation{ID: 3, Subject: "Re: AW: Mijn bestelling #1042", Visibility: "private"},
		Message:      store.Message{ID: 42, Body: "Beste Jan,\n\nUw pakket is onderweg — € 0,00 verzendkosten. 😀\nEen heel lange regel die langer is dan zesenzeventig tekens zodat quoted-printable hem moet afbreken.", ReplyTo: "CAF=abc@mail.gmail.com"},
		To:           store.Identity{ExternalID: "jan@klant.example", DisplayName: "Jan Klant"},
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	f, ch := newFake(t)
	s := &Sender{Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }}
	d := delivery(ch)
	d.Files = []store.Attachment{{Name: "factuur.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 fake")}, {Name: "foto.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")}}
	id, err := s.Send(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if id != MessageID("reply-42", "support@webcare.test") || !strings.HasSuffix(id, "@webcare.test") {
		t.Errorf("id %q", id)
	}
	again, err := s.Send(ctx, d)
	if err != nil || again != id {
		t.Errorf("retry id %q (%v), want %q", again, err, id)
	}
	sent := f.Sent()
	if len(sent) != 2 || sent[0].From != "support@webcare.test" || len(sent[0].To) != 1 || sent[0].To[0] != "jan@klant.example" {
		t.Fatalf("sent %+v", sent)
	}
	raw := sent[0].Data
	for _, want := range []string{
		"Message-Id: <" + id + ">",
		"In-Reply-To: <CAF=abc@mail.gmail.com>",
		"References: <CAF=abc@mail.gmail.com>",
		"Subject: Re: Mijn bestelling #1042",
		"Date: Mon, 30 Nov 2026 12:00:00 +0000",
		"Content-Type: multipart/mixed",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"=E2=82=AC", // € in QP
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("mail lacks %q:\n%s", want, raw)
		}
	}
	if bytes.Contains(raw, []byte("Auto-Submitted")) {
		t.Error("a person's reply marked Auto-Submitted")
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d bytes", len(line))
		}
	}
	// Read it back as the customer's mail program would.
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mr.Header.AddressList("From")
	to, _ := mr.Header.AddressList("To")
	if from[0].Name != "Webcare Test Support" || to[0].Name != "Jan Klant" {
		t.Errorf("from %v to %v", from[0], to[0])
	}
	var text string
	var files []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			text = string(b)
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			files = append(files, name+" "+ct+" "+string(b))
		}
	}
	if want := strings.ReplaceAll(d.Message.Body, "\n", "\r\n"); text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	if len(files) != 2 || files[0] != "factuur.pdf application/pdf %PDF-1.4 fake" || !strings.HasPrefix(files[1], "foto.png image/png") {
		t.Errorf("files %q", files)
	}
}

func TestSendPlainWithoutFiles(t *testing.T) {
	f, ch := newFake(t)
	if err := SendPlain(context.Background(), ch, "visitor@x.example", "Your chat with Support", "Here is the answer.", "<chat-9@webcare.test>"); err != nil {
		t.Fatal(err)
	}
	raw := string(f.Sent()[0].Data)
	for _, want := range []string{"Message-Id: <chat-9@webcare.test>", "Subject: Your chat with Support", "Content-Type: text/plain; charset=utf-8", "Here is the answer."} {
		if !strings.Contains(raw, want) {
			t.Errorf("lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "multipart") || strings.Contains(raw, "In-Reply-To") {
		t.Errorf("unexpected parts:\n%s", raw)
	}
}

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		code      int
		enhanced  smtp.EnhancedCode
		set       map[string]string
		to        string
		permanent bool
		body      string
	}{
		{name: "mailbox full 452", code: 452, enhanced: smtp.EnhancedCode{4, 2, 2}, to: "jan@klant.example", body: "452 4.2.2"},
		{name: "greylisted 451", code: 451, enhanced: smtp.EnhancedCode{4, 7, 1}, to: "jan@klant.example", body: "451"},
		{name: "unknown user 550", code: 550, enhanced: smtp.EnhancedCode{5, 1, 1}, to: "jan@klant.example", permanent: true, body: "The receiving server refused the address jan@klant.example: 550 5.1.1"},
		{name: "wrong password", set: map[string]string{"smtp_password": "nope"}, to: "jan@klant.example", permanent: true, body: "did not accept the user name and password"},
		{name: "wrong sender", set: map[string]string{"address": "other@webcare.test"}, to: "jan@klant.example", permanent: true, body: "refused the sender address other@webcare.test: 553"},
		{name: "no address", to: "@handle", permanent: true, body: "no e-mail address"},
		{name: "no smtp host", set: map[string]string{"smtp_host": ""}, to: "jan@klant.example", permanent: true, body: "not set up"},
		{name: "network", set: map[string]string{"smtp_port": "1"}, to: "jan@klant.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ch := newFake(t)
			for k, v := range tt.set {
				ch.Settings[k] = v
			}
			if tt.code != 0 {
				f.FailNext(1, tt.code, tt.enhanced, "refused for the test")
			}
			d := delivery(ch)
			d.To.ExternalID = tt.to
			_, err := (&Sender{}).Send(ctx, d)
			if err == nil {
				t.Fatal("no error")
			}
			var oe *outbox.Error
			isOE := errors.As(err, &oe)
			if tt.permanent != (isOE && oe.Permanent) {
				t.Errorf("permanent %v, want %v: %v", isOE && oe.Permanent, tt.permanent, err)
			}
			if tt.body != "" && (!isOE || !strings.Contains(oe.Body, tt.body)) {
				t.Errorf("error %v, want body with %q", err, tt.body)
			}
			if len(f.Sent()) != 0 {
				t.Error("sent anyway")
			}
		})
	}
}

func TestReplySubject(t *testing.T) {
	for in, want := range map[string]string{
		"Order":                     "Re: Order",
		"Re: Order":                 "Re: Order",
		"RE: re: Fwd: Order":        "Re: Order",
		"AW: Antw: SV: Order":       "Re: Order",
		"Re[2]: Order":              "Re: Order",
		"Re : Remboursement":        "Re: Remboursement",
		"":                          "Re: Your message to Support",
		"Regarding the refund":      "Re: Regarding the refund",
		"Reservation\r\nBcc: x@y.z": "Re: Reservation Bcc: x@y.z",
	} {
		if got := ReplySubject(in, "Support"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	_, ch := newFake(t)
	c := New(nil).Checker
	out, err := c.Check(ctx, ch)
	if err != nil || !strings.Contains(out, "IMAP: logged in as support@webcare.test") || !strings.Contains(out, "SMTP: connected to") {
		t.Errorf("check: %q %v", out, err)
	}
	ch.Settings["imap_password"] = "wrong"
	out, err = c.Check(ctx, ch)
	if err == nil || !strings.Contains(err.Error(), "IMAP") || !strings.Contains(out, "SMTP: connected") {
		t.Errorf("bad imap password: %q %v", out, err)
	}
	ch.Settings["smtp_password"] = "wrong"
	if _, err = c.Check(ctx, ch); err == nil || !strings.Contains(err.Error(), "SMTP") {
		t.Errorf("bad smtp password: %v", err)
	}
}

// TestReferencesKeepTheChain: a reply's References carry the thread
// before it, oldest first, ending with the mail it answers (RFC 5322
// 3.6.4), so mail programs thread a long exchange as one; a very long
// chain keeps its first and latest ids.
func TestReferencesKeepTheChain(t *testing.T) {
	f, ch := newFake(t)
	s := &Sender{}
	d := delivery(ch)
	d.Thread = []string{"first@klant.example", "<reply-1@webcare.test>", "CAF=abc@mail.gmail.com"}
	if _, err := s.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(f.Sent()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := mr.Header.MsgIDList("References")
	if want := []string{"first@klant.example", "reply-1@webcare.test", "CAF=abc@mail.gmail.com"}; err != nil || !slices.Equal(refs, want) {
		t.Errorf("References %v (%v), want %v", refs, err, want)
	}
	var long []string
	for i := range 40 {
		long = append(long, fmt.Sprintf("m%d@klant.example", i))
	}
	got := references(long, "parent@klant.example")
	if len(got) != maxReferences || got[0] != "m0@klant.example" || got[len(got)-1] != "parent@klant.example" || got[len(got)-2] != "m39@klant.example" {
		t.Errorf("references of a long chain: %v", got)
	}
}
