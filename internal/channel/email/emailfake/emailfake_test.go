package emailfake

import (
	"bytes"
	"context"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

func TestFake(t *testing.T) {
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := f.Settings()
	for _, k := range []string{"address", "imap_host", "imap_port", "smtp_host", "smtp_port", "imap_password", "smtp_password"} {
		if st[k] == "" {
			t.Errorf("setting %s empty", k)
		}
	}
	m := channel.Message{PlatformID: "p1@c.example", From: channel.Author{ExternalID: "c@c.example", Name: "Cé"}, Subject: "Vraag", Text: "Hoi ☺", ReplyTo: "r@w"}
	raw, err := f.Compose(m, Address)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Message-Id: <p1@c.example>", "In-Reply-To: <r@w>", "From: =?utf-8?q?C=C3=A9?= <c@c.example>", "Subject: Vraag"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("mail lacks %q:\n%s", want, raw)
		}
	}
	if err := f.Post(context.Background(), "", store.Channel{}, m); err != nil {
		t.Fatal(err)
	}
	if seen, err := f.Seen(1); err != nil || seen {
		t.Errorf("seen %v %v", seen, err)
	}

	addr := st["smtp_host"] + ":" + st["smtp_port"]
	// Submission needs the login.
	if err := smtp.SendMail(addr, nil, Address, []string{"x@y.example"}, bytes.NewReader(raw)); err == nil {
		t.Error("accepted without AUTH")
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", User, "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", User, Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(Address, []string{"x@y.example"}, bytes.NewReader([]byte("Subject: no from\r\n\r\nx"))); !ErrRefused(err, 554) {
		t.Errorf("mail without From/Date: %v, want 554", err)
	}
	if err := c.SendMail(Address, []string{"x@y.example"}, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if s := f.Sent(); len(s) != 1 || s[0].To[0] != "x@y.example" {
		t.Errorf("sent %+v", s)
	}
}
