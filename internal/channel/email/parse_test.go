package email

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file                   string
		id, replyTo, from, who string
		subject                string
		text                   string // exact
		sent                   time.Time
		files                  []string
	}{
		{file: "gmail_reply_en.eml", id: "CAF=k8pQ1x2y3z+AbCdEf@mail.gmail.com", replyTo: "webcare-0a1b2c3d4e5f60718293a4b5c6d7e8f9@example.com",
			from: "jane.doe@gmail.com", who: "Jane Doe", subject: "Re: My order #1042 has not arrived",
			text: "Hi,\n\nThanks, the parcel still hasn’t arrived though. Tracking says “in transit” since Friday.\n\nJane",
			sent: time.Date(2026, 11, 30, 10, 20, 1, 0, time.UTC)},
		{file: "gmail_html_only.eml", id: "CAHtml0nly@mail.gmail.com", from: "andre@example.de", who: "André Müller", subject: "Rechnung",
			text: "Guten Tag,\n\nbitte senden Sie mir die Rechnung für Bestellung 1042 erneut.\n\n• Adresse: Hauptstraße 1\n\nDanke!"},
		{file: "outlook_reply_nl.eml", id: "AM6PR01MB1234ABCD@AM6PR01MB1234.eurprd01.prod.exchangelabs.com", replyTo: "webcare-11112222333344445555666677778888@example.com",
			from: "p.devries@bedrijf.nl", who: "de Vries, Piet", subject: "RE: Factuur november",
			text: "Goedemorgen,\n\nHet bedrag van €25,00 klopt niet: wij hadden een korting afgesproken. Kunnen jullie dat naëkijken?\n\nMet vriendelijke groet,\nPiet de Vries"},
		{file: "outlook_original_en.eml", id: "000001d9abcd$12345678$9abcdef0@smith.example", replyTo: "webcare-aaaa@example.com",
			from: "bob@smith.example", who: "Bob Smith", subject: "RE: RE: Refund", text: "Still waiting for the refund."},
		{file: "apple_reply_de.eml", id: "5A1B2C3D-4E5F-6789-ABCD-EF0123456789@mustermann.example", replyTo: "webcare-bbbb@example.com",
			from: "max@mustermann.example", who: "Max Mustermann", subject: "Re: Lieferung verspätet",
			text: "Hallo,\n\ndas Paket ist heute gekommen, aber der Karton war beschädigt. Fotos folgen.\n\nGrüße\nMax"},
		{file: "fr_iso8859_base64.eml", id: "20261130153000.1234@exemple.fr", replyTo: "webcare-cccc@example.com",
			from: "helene@exemple.fr", who: "Hélène Dupré", subject: "Re : Remboursement non reçu",
			text: "Bonjour,\n\nJe n'ai toujours pas reçu mon remboursement. Pouvez-vous vérifier ?\n\nCordialement,\nHélène"},
		{file: "es_reply.eml", id: "es-1@ejemplo.es", replyTo: "webcare-dddd@example.com", from: "juan@ejemplo.es", who: "Juan Pérez",
			subject: "Re: Pedido", text: "Gracias, ya lo recibí. ¡Todo perfecto! 👍"},
		{file: "attachments.eml", id: "att-1@voorbeeld.nl", from: "lisa@voorbeeld.nl", who: "Lisa Jansen", subject: "Beschadigd product",
			text: "Zie de foto en de bon in de bijlage.", files: []string{"foto.png", "bon märz.pdf"}},
		{file: "encoded_subject.eml", id: "jp-1@example.jp", from: "taro@example.jp", who: "山田太郎", subject: "📣 注文について (order № 7)",
			text: "注文について質問があります。"},
		{file: "no_message_id.eml", id: "sha256-59c772f9bce4f5cb72a9979fea682b9d@webcare.invalid", from: "old.client@legacy.example",
			subject: "hello", text: "A mail from an old script without a Message-ID."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := Parse(bytes.NewReader(fixture(t, tt.file)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.PlatformID != tt.id || m.ReplyTo != tt.replyTo || m.From.ExternalID != tt.from || m.From.Name != tt.who || m.Subject != tt.subject || !m.Private {
				t.Errorf("got id %q reply %q from %q %q subject %q private %v", m.PlatformID, m.ReplyTo, m.From.ExternalID, m.From.Name, m.Subject, m.Private)
			}
			if m.Text != tt.text {
				t.Errorf("text:\n%q\nwant\n%q", m.Text, tt.text)
			}
			if !tt.sent.IsZero() && !m.SentAt.Equal(tt.sent) {
				t.Errorf("sent %v, want %v", m.SentAt, tt.sent)
			}
			var names []string
			for _, f := range m.Files {
				names = append(names, f.Name)
				if len(f.Data) == 0 {
					t.Errorf("file %q empty", f.Name)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.files) && !(len(names) == 0 && len(tt.files) == 0) {
				t.Errorf("files %q, want %q", names, tt.files)
			}
		})
	}
}

func TestParseSkipsAutomatic(t *testing.T) {
	tests := []struct {
		file, reason, status string
	}{
		{"autoreply_oof.eml", "auto-reply", ""},
		{"bounce.eml", "bounce", "webcare-ffff0000@example.com"},
		{"bulk.eml", "bulk", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ParseBytes(fixture(t, tt.file))
			var sk *Skipped
			if !errors.As(err, &sk) || !errors.Is(err, ErrSkipped) || errors.Is(err, channel.ErrPayload) {
				t.Fatalf("err %v, want *Skipped", err)
			}
			if !strings.HasPrefix(sk.Reason, tt.reason) {
				t.Errorf("reason %q", sk.Reason)
			}
			if tt.status == "" {
				if sk.Status != nil {
					t.Errorf("status %+v", sk.Status)
				}
				return
			}
			if sk.Status == nil || sk.Status.PlatformID != tt.status || !strings.Contains(sk.Status.Error, "User unknown") {
				t.Errorf("status %+v", sk.Status)
			}
		})
	}
}

func TestParseHeaderVariants(t *testing.T) {
	base := "From: a@b.example\r\nTo: s@x\r\nSubject: s\r\n"
	tests := []struct {
		name, raw string
		skipped   bool
	}{
		{"auto-submitted no", base + "Auto-Submitted: no\r\nMessage-ID: <1@b>\r\n\r\nhi", false},
		{"auto-generated", base + "Auto-Submitted: auto-generated\r\n\r\nhi", true},
		{"x-autoreply", base + "X-Autoreply: yes\r\n\r\nhi", true},
		{"precedence junk", base + "Precedence: junk\r\n\r\nhi", true},
		{"precedence list", base + "Precedence: list\r\n\r\nhi", true},
		{"postmaster", "From: Postmaster@b.example\r\nSubject: x\r\n\r\nhi", true},
		{"mailer-daemon", "From: MAILER-DAEMON@b.example\r\nSubject: x\r\n\r\nhi", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBytes([]byte(tt.raw))
			if got := errors.Is(err, ErrSkipped); got != tt.skipped {
				t.Errorf("skipped %v (%v), want %v", got, err, tt.skipped)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := map[string]string{
		"garbage":              string(fixture(t, "garbage.eml")),
		"no from":              string(fixture(t, "no_from.eml")),
		"empty":                "",
		"only newlines":        "\r\n\r\n",
		"from without address": "From: nobody\r\nSubject: x\r\n\r\nhi",
		"bad boundary":         "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
		"nothing at all":       "From: a@b.c\r\n\r\n",
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseBytes([]byte(raw))
			if !errors.Is(err, channel.ErrPayload) {
				t.Errorf("err %v, want ErrPayload", err)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	raw := fixture(t, "gmail_reply_en.eml")
	if _, err := Parse(bytes.NewReader(raw), int64(len(raw)-1)); !errors.Is(err, ErrTooLarge) || !errors.Is(err, channel.ErrPayload) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
	if _, err := Parse(bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestParseStableID(t *testing.T) {
	raw := fixture(t, "no_message_id.eml")
	a, _ := ParseBytes(raw)
	// The same mail relayed once more: a new Received line, LF endings.
	relayed := append([]byte("Received: from relay.example by mx.example; Wed, 2 Dec 2026 11:00:05 +0000\r\n"), raw...)
	relayed = bytes.ReplaceAll(relayed, []byte("\r\n"), []byte("\n"))
	b, _ := ParseBytes(relayed)
	if a.PlatformID == "" || a.PlatformID != b.PlatformID {
		t.Errorf("ids %q and %q", a.PlatformID, b.PlatformID)
	}
	other, _ := ParseBytes(bytes.Replace(raw, []byte("old script"), []byte("new script"), 1))
	if other.PlatformID == a.PlatformID {
		t.Error("a different mail got the same id")
	}
}

// A Message-ID longer than webcare stores becomes a hash of itself, and a
// reply naming it in In-Reply-To gets the same hash, so the thread holds.
func TestParseLongMessageID(t *testing.T) {
	id := strings.Repeat("a", 700) + "@example.org"
	first, err := ParseBytes([]byte("From: a@example.org\r\nMessage-ID: <" + id + ">\r\nSubject: hi\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := ParseBytes([]byte("From: a@example.org\r\nMessage-ID: <r@example.org>\r\nIn-Reply-To: <" + id + ">\r\nSubject: Re: hi\r\n\r\nagain\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.PlatformID) > channel.MaxIDBytes || !strings.HasPrefix(first.PlatformID, "sha256-") || reply.ReplyTo != first.PlatformID {
		t.Errorf("id %q, reply to %q", first.PlatformID, reply.ReplyTo)
	}
}

// What ingest would refuse never comes out of the parser: a mail with
// only a subject has the subject as its text, an empty attachment is a note.
func TestParseNothingIngestRefuses(t *testing.T) {
	m, err := ParseBytes([]byte("From: a@example.org\r\nSubject: Please call me back\r\n\r\n \r\n"))
	if err != nil || m.Text != "Please call me back" {
		t.Errorf("subject only: %q, %v", m.Text, err)
	}
	raw := "From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"ticket.pdf\"\r\n\r\n" +
		"--b--\r\n"
	m, err = ParseBytes([]byte(raw))
	if err != nil || len(m.Files) != 0 || !strings.Contains(m.Text, `[attachment "ticket.pdf" is empty]`) {
		t.Errorf("empty attachment: files %d, text %q, %v", len(m.Files), m.Text, err)
	}
}

func TestStripQuoted(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"en gmail", "Yes please.\n\nOn Mon, Nov 30, 2026 at 10:05 AM Support <s@x.com> wrote:\n> old", "Yes please."},
		{"en wrapped", "Yes.\n\nOn Mon, Nov 30, 2026 at 10:05 AM Example Support <\ns@x.com> wrote:\n\n> old", "Yes."},
		{"nl gmail", "Prima, dank!\n\nOp ma 30 nov. 2026 om 10:00 schreef Support <s@x.nl>:\n> oud", "Prima, dank!"},
		{"nl apple", "Top.\n\n> Op 30 nov. 2026 om 10:00 heeft Support <s@x.nl> het volgende geschreven:\n>\n> oud", "Top."},
		{"de gmail", "Danke.\n\nAm Mo., 30. Nov. 2026 um 10:00 Uhr schrieb Support <s@x.de>:\n> alt", "Danke."},
		{"fr", "Merci.\n\nLe lun. 30 nov. 2026 à 10:00, Support <s@x.fr> a écrit :\n> ancien", "Merci."},
		{"it", "Grazie.\n\nIl giorno lun 30 nov 2026 alle ore 10:00 Support <s@x.it> ha scritto:\n> vecchio", "Grazie."},
		{"pt", "Obrigado.\n\nEm seg., 30 de nov. de 2026 às 10:00, Suporte <s@x.pt> escreveu:\n> antigo", "Obrigado."},
		{"es", "Gracias.\n\nEl lun, 30 nov 2026 a las 10:00, Soporte (<s@x.es>) escribió:\n> viejo", "Gracias."},
		{"outlook en", "Fine.\n\n________________________________\nFrom: Support <s@x.com>\nSent: Monday, November 30, 2026 10:00\nTo: me\nSubject: x\n\nold", "Fine."},
		{"outlook de", "Gut.\n\nVon: Support <s@x.de>\nGesendet: Montag, 30. November 2026 10:00\nAn: ich\n\nalt", "Gut."},
		{"outlook fr", "Bien.\n\nDe : Support <s@x.fr>\nEnvoyé : lundi 30 novembre 2026 10:00\nÀ : moi\n\nancien", "Bien."},
		{"outlook it", "Bene.\n\nDa: Support <s@x.it>\nInviato: lunedì 30 novembre 2026 10:00\nA: me\n\nvecchio", "Bene."},
		{"original message de", "Ok.\n\n-----Ursprüngliche Nachricht-----\nVon: x\n\nalt", "Ok."},
		{"trailing quote block", "Sure.\n\n> old line\n> another", "Sure."},
		{"interleaved kept", "> What is your order number?\n12345\n> And your postcode?\n1234 AB", "> What is your order number?\n12345\n> And your postcode?\n1234 AB"},
		{"only quote", "> everything quoted", "> everything quoted"},
		{"from in text", "From: my side everything is fine.\nThanks", "From: my side everything is fine.\nThanks"},
		{"crlf", "Hi\r\n\r\nOn Mon, Nov 30, 2026 John <j@x> wrote:\r\n> x", "Hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripQuoted(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw), 1<<20)
		if err != nil {
			if !errors.Is(err, channel.ErrPayload) && !errors.Is(err, ErrSkipped) {
				t.Fatalf("error %v wraps neither ErrPayload nor ErrSkipped", err)
			}
			return
		}
		if m.PlatformID == "" || m.From.ExternalID == "" {
			t.Fatalf("message without id or author: %+v", m)
		}
	})
}

// BenchmarkParse parses a typical 5 KB reply: Gmail's multipart/alternative
// with a quoted history in both parts.
func BenchmarkParse(b *testing.B) {
	raw := typicalReply(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(raw), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}

func typicalReply(t testing.TB) []byte {
	raw := string(fixture(t, "gmail_reply_en.eml"))
	var q strings.Builder
	for i := 0; q.Len() < 3000; i++ {
		fmt.Fprintf(&q, "> Earlier line %d of the conversation, quoted back by the mail program.\r\n", i)
	}
	raw = strings.Replace(raw, "> Kind regards,", q.String()+"> Kind regards,", 1)
	return []byte(raw)
}

func TestParseHTMLQuotes(t *testing.T) {
	head := "From: Kim <kim@x.example>\r\nSubject: s\r\nMessage-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	tests := []struct{ name, html, want string }{
		{"outlook", `<html><body><div>Dat klopt, dank u.</div><div id="appendonsend"></div><hr style="display:inline-block"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>Van:</b> Support &lt;s@x&gt;<br><b>Verzonden:</b> maandag 30 november 2026 10:00</font></div><div>Oude tekst</div></body></html>`, "Dat klopt, dank u."},
		{"apple", `<html><body dir="auto">Thanks!<br><div dir="ltr"><br><blockquote type="cite">On 30 Nov 2026, at 10:00, Support &lt;s@x&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div>Old text</div></blockquote></body></html>`, "Thanks!"},
		{"apple attribution outside the quote", `<div>Merci</div><div><br><div>Le 30 nov. 2026 à 10:00, Support &lt;s@x&gt; a écrit :</div><br><blockquote type="cite"><div>ancien</div></blockquote></div>`, "Merci"},
		{"thunderbird", `<p>Ok.</p><div class="moz-cite-prefix">Am 30.11.2026 um 10:00 schrieb Support:<br></div><blockquote type="cite">alt</blockquote>`, "Ok."},
		{"quote only", `<div class="gmail_quote">only quoted</div>`, "only quoted"},
		{"script and entities", `<p>A &amp; B &lt;3</p><script>alert(1)</script>`, "A & B <3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseBytes([]byte(head + tt.html))
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != tt.want {
				t.Errorf("text %q, want %q", m.Text, tt.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nSubject: many\r\nMessage-ID: <many@b>\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nsee files\r\n")
	for i := range 12 {
		fmt.Fprintf(&b, "--X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../etc/f%d.bin\"\r\n\r\ndata%d\r\n", i, i)
	}
	b.WriteString("--X--\r\n")
	m, err := ParseBytes([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != maxFiles || m.Files[0].Name != "f0.bin" || string(m.Files[0].Data) != "data0" {
		t.Errorf("%d files, first %q", len(m.Files), m.Files[0].Name)
	}
	if !strings.HasPrefix(m.Text, "see files\n[attachment \"f10.bin\" left out") {
		t.Errorf("text %q", m.Text)
	}
}
