package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"regexp"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var (
	pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	pdfBytes = []byte("%PDF-1.4\n1 0 obj <<>> endobj\n")
)

func TestCustomerFiles(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent := ts.Tokens[store.RoleAgent]
	body, err := json.Marshal(map[string]any{"id": "f-1", "from": map[string]string{"id": "u1", "name": "Anna"}, "text": "",
		"attachments": []map[string]any{
			{"name": "../../bagage <img src=x onerror=alert(1)>.png", "data": pngBytes},
			{"name": "page.png", "data": []byte("<html><script>alert(1)</script></html>")}, // claims to be a picture
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := ts.check(t, scenario{method: "POST", url: fmt.Sprintf("/api/v1/channels/%d/messages", ts.Channel.ID), token: ts.ChannelToken, body: string(body), status: 201})
	var got struct {
		ConversationID int64 `json:"conversation_id"`
		MessageID      int64 `json:"message_id"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	m, err := ts.Store.Message(context.Background(), got.MessageID)
	if err != nil || len(m.Attachments) != 2 {
		t.Fatalf("stored %+v, %v", m.Attachments, err)
	}
	img, html := m.Attachments[0], m.Attachments[1]
	if img.Name != "bagage <img src=x onerror=alert(1)>.png" || img.ContentType != "image/png" || html.ContentType != "text/html" {
		t.Errorf("names and sniffed types: %+v", m.Attachments)
	}

	pane := ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/conversations/%d", got.ConversationID), token: agent, status: 200,
		contains: []string{fmt.Sprintf(`<img src="/attachments/%d"`, img.ID), "bagage &lt;img src=x onerror=alert(1)&gt;.png", fmt.Sprintf(`href="/attachments/%d" download`, html.ID)}})
	if bytes.Contains(pane.Body, []byte("<img src=x")) {
		t.Error("a file name reached the page unescaped")
	}
	inbox := ts.check(t, scenario{method: "GET", url: "/inbox", token: agent, status: 200})
	if !bytes.Contains(inbox.Body, []byte("📎 bagage")) {
		t.Error("a message with only a file shows no preview in the inbox")
	}

	shown := ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/attachments/%d", img.ID), token: agent, status: 200})
	if !bytes.Equal(shown.Body, pngBytes) || shown.Header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(shown.Header.Get("Content-Disposition"), "inline") || !strings.Contains(shown.Header.Get("Content-Security-Policy"), "sandbox") ||
		shown.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("image served with %v", shown.Header)
	}
	page := ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/attachments/%d", html.ID), token: agent, status: 200})
	if page.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(page.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("an HTML file must download, never render: %v", page.Header)
	}
	ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/attachments/%d", img.ID), token: ts.Tokens[store.RoleField], status: 404, notProblem: true})
	ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/attachments/%d", img.ID), status: 303})
}

// multipartReply posts the composer with files, as the browser does.
func multipartReply(t *testing.T, ts *testServer, conv int64, token, kind, text string, files map[string][]byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("kind", kind)
	mw.WriteField("body", text)
	for name, data := range files {
		fw, err := mw.CreateFormFile("files", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return ts.do(t, scenario{method: "POST", url: fmt.Sprintf("/conversations/%d/messages", conv), token: token, body: buf.String(),
		headers: map[string]string{"Content-Type": mw.FormDataContentType(), "HX-Request": "true"}})
}

func TestReplyWithFiles(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "r-1", From: author{ID: "u1", Name: "Bram"}, Text: "Mag ik mijn voucher?"})
	agent := ts.Tokens[store.RoleAgent]

	r := multipartReply(t, ts, conv.ConversationID, agent, "reply", "Hier is hij!", map[string][]byte{"voucher.pdf": pdfBytes})
	if r.StatusCode != 200 || !regexp.MustCompile(`href="/attachments/\d+" download>📄 voucher.pdf`).Match(r.Body) {
		t.Fatalf("reply with a PDF: %d\n%s", r.StatusCode, r.Body)
	}
	r = multipartReply(t, ts, conv.ConversationID, agent, "reply", "", map[string][]byte{"foto.png": pngBytes})
	if r.StatusCode != 200 {
		t.Fatalf("a picture alone: %d %s", r.StatusCode, r.Body)
	}
	for _, tc := range []struct {
		name  string
		kind  string
		files map[string][]byte
		say   string
	}{
		{"a program", "reply", map[string][]byte{"setup.exe": {'M', 'Z', 0, 0, 1, 2}}, "application/octet-stream"},
		{"too many for the channel", "reply", map[string][]byte{"1.png": pngBytes, "2.png": pngBytes, "3.png": pngBytes, "4.png": pngBytes, "5.png": pngBytes, "6.png": pngBytes}, "at most 5"},
		{"a file on a note", "note", map[string][]byte{"x.png": pngBytes}, "Notes carry no files"},
	} {
		r := multipartReply(t, ts, conv.ConversationID, agent, tc.kind, "met bijlage", tc.files)
		if r.StatusCode != 422 || !strings.Contains(string(r.Body), tc.say) {
			t.Errorf("%s: %d %s", tc.name, r.StatusCode, r.Body)
		}
	}
	msgs, err := ts.Store.Messages(context.Background(), conv.ConversationID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(msgs); n != 3 {
		t.Errorf("%d messages stored, want the question and two replies: refused ones store nothing", n)
	}

	// The API takes files in base64, checked by the same rule.
	body, _ := json.Marshal(map[string]any{"body": "via de API", "attachments": []map[string]any{{"name": "v.pdf", "data": pdfBytes}}})
	api := ts.check(t, scenario{method: "POST", url: fmt.Sprintf("/api/v1/conversations/%d/replies", conv.ConversationID), token: agent, body: string(body), status: 202})
	if !bytes.Contains(api.Body, []byte(`"content_type":"application/pdf"`)) {
		t.Errorf("API reply: %s", api.Body)
	}
	body, _ = json.Marshal(map[string]any{"body": "x", "attachments": []map[string]any{{"name": "a.html", "data": []byte("<html>")}}})
	ts.check(t, scenario{method: "POST", url: fmt.Sprintf("/api/v1/conversations/%d/replies", conv.ConversationID), token: agent, body: string(body), status: 422})
}
