package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/webcare/webcare/internal/store"
)

var attachmentTests = []testCase{
	{"inbound files are stored with the message", testInboundAttachments},
	{"a reply's files commit with it", testReplyAttachments},
	{"a re-delivered message does not store its files twice", testAttachmentsDedupe},
	{"an unknown attachment", testAttachmentUnknown},
}

// png is a 1×1 transparent PNG, with a zero byte in it to prove bytes
// round-trip untouched.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

func testInboundAttachments(f *fixture) {
	ch := f.channel("whatsapp", "WhatsApp")
	in := msg(ch, "w1", "anna", at(0))
	in.Attachments = []store.Attachment{
		{Name: "bagagelabel.png", ContentType: "image/png", Data: png},
		{Name: "<script>.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 fake")},
	}
	r := f.ingestOne(in)
	m := f.message(r.MessageID)
	if len(m.Attachments) != 2 {
		f.t.Fatalf("message has %d attachments, want 2", len(m.Attachments))
	}
	a := m.Attachments[0]
	want(f.t, "name", a.Name, "bagagelabel.png")
	want(f.t, "type", a.ContentType, "image/png")
	want(f.t, "size", a.Size, int64(len(png)))
	sum := sha256.Sum256(png)
	want(f.t, "sha256", a.SHA256, hex.EncodeToString(sum[:]))
	want(f.t, "metadata carries no bytes", len(a.Data), 0)
	want(f.t, "second name kept as given", m.Attachments[1].Name, "<script>.pdf")

	full, err := f.s.Attachment(f.ctx, a.ID)
	f.check(err, "attachment")
	if !bytes.Equal(full.Data, png) {
		f.t.Errorf("bytes changed on the way: %q", full.Data)
	}
	msgs, err := f.s.Messages(f.ctx, r.ConversationID, 0, 10)
	f.check(err, "messages")
	want(f.t, "the list carries them too", len(msgs[0].Attachments), 2)
}

func testReplyAttachments(f *fixture) {
	ch := f.channel("whatsapp", "WhatsApp")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "w1", "anna", at(0)))
	m, _, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: r.ConversationID, AgentID: ag.ID, Body: "Hier is je voucher",
		IdempotencyKey: "k1", Now: at(5), Attachments: []store.Attachment{{Name: "voucher.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 voucher")}}})
	f.check(err, "queue reply")
	if len(m.Attachments) != 1 || m.Attachments[0].ID == 0 {
		f.t.Fatalf("returned attachments %+v", m.Attachments)
	}
	stored := f.message(m.ID)
	want(f.t, "stored attachment", stored.Attachments[0].ID, m.Attachments[0].ID)
	full, err := f.s.Attachment(f.ctx, m.Attachments[0].ID)
	f.check(err, "attachment")
	want(f.t, "bytes", string(full.Data), "%PDF-1.4 voucher")
	want(f.t, "belongs to the reply", full.MessageID, m.ID)

	// A refused reply stores no files either.
	_, err = f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{Status: ptr(store.StatusResolved)}, store.Actor{Via: "test"})
	f.check(err, "resolve")
	_, _, err = f.s.QueueReply(f.ctx, store.Reply{ConversationID: r.ConversationID, AgentID: ag.ID, Body: "nog een",
		IdempotencyKey: "k2", Now: at(6), Attachments: []store.Attachment{{Name: "x.pdf", ContentType: "application/pdf", Data: []byte("x")}}})
	if !errors.Is(err, store.ErrConflict) {
		f.t.Fatalf("reply to a resolved conversation: %v", err)
	}
	if _, err := f.s.Attachment(f.ctx, m.Attachments[0].ID+1); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("the refused reply's file was stored: %v", err)
	}
}

func testAttachmentsDedupe(f *fixture) {
	ch := f.channel("telegram", "Telegram")
	in := msg(ch, "t1", "bram", at(0))
	in.Attachments = []store.Attachment{{Name: "foto.jpg", ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff fake jpeg")}}
	first := f.ingestOne(in)
	again := f.ingestOne(in)
	want(f.t, "duplicate", again.Duplicate, true)
	want(f.t, "files once", len(f.message(first.MessageID).Attachments), 1)
}

func testAttachmentUnknown(f *fixture) {
	if _, err := f.s.Attachment(f.ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("unknown attachment: %v, want ErrNotFound", err)
	}
}
