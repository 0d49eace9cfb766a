package chat_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/chat"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/web/browsertest"
)

// TestWidgetInBrowser: a shop on another origin, with a strict CSP and
// hostile CSS, embeds the widget; a visitor writes, an agent answers, the
// visitor reloads and finds the conversation still there.
func TestWidgetInBrowser(t *testing.T) {
	b := browsertest.NewBrowser(t) // skips without Chromium, except under CI=true
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webcare.db"))
	if err != nil {
		t.Fatal(err)
	}
	mem := bus.NewMemory()
	pipe := ingest.New(st, mem, ingest.Options{})
	var mails []string
	w := chat.New(chat.Options{Store: st, Bus: mem, Ingest: pipe.Ingest,
		Mail: func(_ context.Context, to, _, _ string) error { mails = append(mails, to); return nil }})
	mux := http.NewServeMux()
	mux.Handle("/chat/", w)
	care := httptest.NewServer(mux)
	shop := httptest.NewServer(nil)
	t.Cleanup(func() {
		care.CloseClientConnections()
		care.Close()
		shop.Close()
		pipe.Close()
		st.Close()
	})
	// Another origin and another site: localhost against 127.0.0.1.
	shopURL := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)
	ch := store.Channel{Kind: chat.Kind, Name: "Heron chat", Settings: map[string]string{
		chat.SettingSecret: "browser-secret", chat.SettingOrigins: shopURL, chat.SettingGreeting: "Hi! How can we help?"}}
	if err := st.CreateChannel(ctx, &ch, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	agent := store.Agent{Email: "ann@example.com", Name: "Ann", Role: store.RoleAgent, Presence: store.Online}
	if err := st.CreateAgent(ctx, &agent, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	shop.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shop.css":
			rw.Header().Set("Content-Type", "text/css")
			fmt.Fprint(rw, `* { color: red !important; font-size: 40px !important; } button, textarea { display: none !important; } div { border: 9px solid lime; }`)
		case "/", "/nl":
			lang := strings.TrimPrefix(r.URL.Path, "/")
			if lang == "" {
				lang = "en"
			}
			rw.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'self'; script-src %[1]s; connect-src %[1]s; style-src 'self'; img-src data:", care.URL))
			fmt.Fprintf(rw, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Heron shop</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/shop.css"></head>
<body><h1>Heron shop</h1><p>Buy tickets.</p>
<script src="%s/chat/widget.js" data-channel="%d" data-lang="%s" async></script></body></html>`, care.URL, ch.ID, lang)
		default:
			http.NotFound(rw, r)
		}
	})

	tctx, cancel := context.WithTimeout(b.Ctx, 90*time.Second)
	defer cancel()
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	const sr = `document.querySelector("[data-webcare-chat]").shadowRoot`
	waitJS := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(tctx, chromedp.PollFunction[bool](`() => { try { return !!(`+expr+`); } catch (e) { return false; } }`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			log, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`(() => { try { return `+sr+`.querySelector(".log").textContent } catch (e) { return String(e) } })()`))
			t.Fatalf("waiting for %s: %v; chat shows %q; problems %v", what, err, log, b.Errors())
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	if status := b.Open(t, shopURL+"/"); status != 200 {
		t.Fatalf("shop page: %d", status)
	}
	waitJS("the launcher", sr+`.querySelector("button.launch")`)
	if got := eval(sr + `.querySelector("button.launch").getAttribute("aria-label")`); got != "Open chat" {
		t.Errorf("launcher label %q", got)
	}
	// The page's CSS hides every button; not ours.
	if got := eval(`getComputedStyle(` + sr + `.querySelector("button.launch")).display`); got == "none" {
		t.Error("the host page's CSS reached into the widget")
	}
	// A real mouse click where the launcher is.
	var x, y float64
	fmt.Sscan(eval(`(() => { const r = `+sr+`.querySelector("button.launch").getBoundingClientRect(); return (r.x + r.width / 2) + " " + (r.y + r.height / 2); })()`), &x, &y)
	do("open the chat", chromedp.MouseClickXY(x, y))
	waitJS("the panel and focus in the text box", sr+`.querySelector(".panel").hidden === false && `+sr+`.activeElement === `+sr+`.querySelector("textarea")`)
	waitJS("the greeting", sr+`.querySelector(".log").textContent.includes("How can we help")`)

	const question = `My bag <b>never</b> arrived 🧳`
	do("type and press Enter", chromedp.KeyEvent(question), chromedp.KeyEvent(kb.Enter))

	var conv store.Conversation
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := st.Conversations(ctx, store.ConversationFilter{ChannelID: ch.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 {
			conv = list[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message did not reach the store; problems %v", b.Errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs, _ := st.Messages(ctx, conv.ID, 0, 10)
	if len(msgs) != 1 || msgs[0].Body != question {
		t.Fatalf("stored %+v", msgs)
	}
	contact, _ := st.Contact(ctx, conv.ContactID)
	visitorID := contact.Identities[0].ExternalID
	waitJS("the message marked sent", `!`+sr+`.querySelector(".log .visitor .state")`)

	// The agent answers; the Sender delivers it to the open widget.
	const answer = `<img src=x onerror=alert(1)>Found it: your bag is in Oslo.`
	m, _, err := st.QueueReply(ctx, store.Reply{ConversationID: conv.ID, AgentID: agent.ID, Body: answer, IdempotencyKey: "k1", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	mem.Publish(ctx, bus.Event{Type: bus.MessageCreated, ConversationID: conv.ID, MessageID: m.ID, ChannelID: ch.ID, ContactID: conv.ContactID})
	id, err := w.Adapter().Sender.Send(ctx, outbox.Delivery{Key: "k1", Channel: ch, Conversation: conv, Message: m, To: contact.Identities[0]})
	if err != nil || id != fmt.Sprintf("out-%d", m.ID) {
		t.Fatalf("send: %q %v", id, err)
	}
	waitJS("the agent's answer", sr+`.querySelector(".log .agent:last-child") && `+sr+`.querySelector(".log .agent:last-child").textContent.includes("your bag is in Oslo")`)
	if n := eval(`String(` + sr + `.querySelectorAll("img, b").length)`); n != "0" {
		t.Errorf("markup from messages became elements: %s", n)
	}
	if len(mails) != 0 {
		t.Errorf("mailed a connected visitor: %v", mails)
	}
	if dir := os.Getenv("WEBCHAT_SCREENSHOT_DIR"); dir != "" { // to look at it: a person's check
		png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "webchat.png"), png, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}

	// Esc closes and gives the focus back to the launcher.
	do("press Esc", chromedp.KeyEvent(kb.Escape))
	waitJS("the panel closed", sr+`.querySelector(".panel").hidden === true && `+sr+`.activeElement === `+sr+`.querySelector("button.launch")`)

	// Reload: the same visitor, the whole conversation.
	do("reload", chromedp.Reload())
	waitJS("the launcher after reload", sr+`.querySelector("button.launch")`)
	waitJS("the history after reload", sr+`.querySelector(".log").textContent.includes("your bag is in Oslo") && `+sr+`.querySelector(".log").textContent.includes("never")`)
	if got := eval(`JSON.parse(localStorage.getItem("webcare-chat:` + care.URL + `/chat/` + fmt.Sprint(ch.ID) + `")).visitor_id`); got != visitorID {
		t.Errorf("visitor after reload %q, want %q", got, visitorID)
	}
	if n := eval(`String(` + sr + `.querySelectorAll(".log .msg:not(.greeting)").length)`); n != "2" {
		t.Errorf("%s messages after reload, want 2", n)
	}
	// Closed, a new answer shows as unread on the launcher.
	m2, _, _ := st.QueueReply(ctx, store.Reply{ConversationID: conv.ID, AgentID: agent.ID, Body: "Delivered tomorrow.", IdempotencyKey: "k2", Now: time.Now()})
	mem.Publish(ctx, bus.Event{Type: bus.MessageCreated, ConversationID: conv.ID, MessageID: m2.ID, ChannelID: ch.ID, ContactID: conv.ContactID})
	waitJS("the unread badge", sr+`.querySelector(".badge").hidden === false && `+sr+`.querySelector(".badge").textContent === "1"`)

	// In Dutch.
	if status := b.Open(t, shopURL+"/nl"); status != 200 {
		t.Fatalf("Dutch shop page: %d", status)
	}
	waitJS("the Dutch launcher", sr+`.querySelector("button.launch").getAttribute("aria-label") === "Chat openen"`)
	if got := eval(sr + `.querySelector("textarea").placeholder`); got != "Schrijf een bericht…" {
		t.Errorf("Dutch placeholder %q", got)
	}

	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs: %+v", d)
	}
	if p := b.Errors(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
