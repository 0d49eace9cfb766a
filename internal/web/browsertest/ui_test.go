package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/webcare/webcare/internal/demo"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web/browsertest"
)

// These tests are an agent's day in a real browser: log in, watch messages
// arrive, answer with templates and notes, use the keyboard, switch the
// language, and read what hostile customers send without running it. They
// look at what a person sees: text, elements, the tab title.

// testTimeout bounds every browser action of one test, so that a hung page
// fails the test with a message instead of stalling the package.
const testTimeout = 90 * time.Second

// waitTimeout is how long a page may take to show something: live updates
// go through the event stream and an htmx refresh, slow under -race.
const waitTimeout = 15 * time.Second

// agentUI is one test's webcare (with the demo data and an API feed whose
// replies are delivered at once) and one browser.
type agentUI struct {
	t     *testing.T
	srv   *browsertest.Server
	b     *browsertest.Browser
	ctx   context.Context // the browser's, with the test's deadline
	feed  int64           // the API channel "Test feed"
	token string
	// cookie is the demo administrator's session, set in the browser.
	cookie *http.Cookie
}

func newAgentUI(t *testing.T) *agentUI {
	t.Helper()
	srv := browsertest.Start(t, browsertest.WithDemo(),
		browsertest.WithSenders(map[string]outbox.Sender{"api": &demo.PlatformSimulator{}}))
	b := browsertest.NewBrowser(t)
	ctx, cancel := context.WithTimeout(b.Ctx, testTimeout)
	t.Cleanup(cancel)
	u := &agentUI{t: t, srv: srv, b: b, ctx: ctx}
	u.feed, u.token = srv.AddAPIChannel(t)
	return u
}

// login puts the demo administrator's session into the browser.
func (u *agentUI) login() {
	u.t.Helper()
	u.cookie = u.srv.SessionCookie(u.t, u.srv.Demo.Email, u.srv.Demo.Password)
	u.b.SetCookie(u.t, u.srv.URL, u.cookie)
}

// open loads path and fails unless it answers 200.
func (u *agentUI) open(path string) {
	u.t.Helper()
	if status := u.b.Open(u.t, u.srv.URL+path); status != http.StatusOK {
		u.t.Fatalf("GET %s: status %d: %s", path, status, u.b.Text(u.t))
	}
}

// inbox opens the inbox showing only the test feed, so that the demo's
// own conversations do not push ours off the first page.
func (u *agentUI) inbox() {
	u.t.Helper()
	u.open(fmt.Sprintf("/inbox?channel=%d", u.feed))
}

// customer is someone writing in on the test feed.
type customer struct {
	ID, Name, Handle string
}

// say injects a customer message in English through the API channel.
func (u *agentUI) say(c customer, msgID, text string) browsertest.Injected {
	u.t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": msgID, "text": text, "language": "en",
		"from": map[string]string{"id": c.ID, "name": c.Name, "handle": c.Handle},
	})
	if err != nil {
		u.t.Fatal(err)
	}
	return u.srv.Inject(u.t, u.feed, u.token, string(body))
}

// patch changes a conversation through the JSON API as the logged-in agent.
func (u *agentUI) patch(conversationID int64, body string) {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/api/v1/conversations/%d", u.srv.URL, conversationID), strings.NewReader(body))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(u.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		u.t.Fatalf("PATCH conversation %d %s: status %d: %s", conversationID, body, resp.StatusCode, answer)
	}
}

// do runs browser actions and fails the test on the first error.
func (u *agentUI) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	if err := chromedp.Do(u.ctx, actions...); err != nil {
		u.t.Fatalf("%s: %v\npage: %s", what, err, u.pageText())
	}
}

// submit runs actions that submit a form and waits for the next page.
func (u *agentUI) submit(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	if _, err := chromedp.Run(u.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Steps(actions...))); err != nil {
		u.t.Fatalf("%s: %v\npage: %s", what, err, u.pageText())
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](u *agentUI, expr string) T {
	u.t.Helper()
	v, err := chromedp.Run(u.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		u.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pageText is the visible text, shortened, for failure messages.
func (u *agentUI) pageText() string {
	ctx, cancel := context.WithTimeout(u.b.Ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if r := []rune(s); len(r) > 3000 {
		s = string(r[:3000]) + "…"
	}
	return s
}

// waitUntil waits for fn, a JavaScript function of args, to return true.
func (u *agentUI) waitUntil(what, fn string, args ...any) {
	u.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var err error
	for {
		_, err = chromedp.Run(u.ctx, chromedp.PollFunction[bool](fn,
			chromedp.WithPollingArgs(args...), chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		// A link followed before htmx took it over loads a whole page,
		// which ends the document the poll ran in: poll the new one.
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "context with specified id") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		u.t.Fatalf("waiting for %s: %v\npage: %s", what, err, u.pageText())
	}
}

// waitText waits until an element matching the CSS selector shows text.
func (u *agentUI) waitText(sel, text string) {
	u.t.Helper()
	u.waitUntil(fmt.Sprintf("%q in %s", text, sel), `(sel, text) =>
		Array.from(document.querySelectorAll(sel)).some((el) => el.innerText.includes(text))`, sel, text)
}

// textOf returns the visible text of the first element matching sel.
func (u *agentUI) textOf(sel string) string {
	u.t.Helper()
	return eval[string](u, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

// key presses keys on whatever has the focus, one real key press each:
// chromedp.KeyEvent sends a printable key's character as an event of its
// own, which lands in a field even when the page cancelled the key (as
// the n shortcut does before focusing the composer); here Chromium makes
// the character from the key itself, as it does for a person.
func (u *agentUI) key(keys string, opts ...chromedp.KeyOption) {
	u.t.Helper()
	u.do("press "+keys, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, r := range keys {
			events := kb.Encode(r)
			if len(events) == 3 { // down, char, up
				down := *events[0]
				down.Text, down.UnmodifiedText = events[1].Text, events[1].UnmodifiedText
				events = []*input.DispatchKeyEventParams{&down, events[2]}
			}
			for _, ev := range events {
				for _, o := range opts {
					o(ev)
				}
				if ev.Modifiers&^int64(chromedp.ModifierShift) != 0 {
					ev.Text, ev.UnmodifiedText = "", "" // a shortcut types nothing
				}
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *ev); err != nil {
					return chromedp.Void{}, err
				}
			}
		}
		return chromedp.Void{}, nil
	})
}

// checkClean fails on dialogs and on browser problems: console errors,
// exceptions, failed loads, CSP violations.
func (u *agentUI) checkClean() {
	u.t.Helper()
	if d := u.b.Dialogs(); len(d) > 0 {
		u.t.Errorf("dialogs opened: %+v", d)
	}
	if p := u.b.Errors(); len(p) > 0 {
		u.t.Errorf("browser problems: %v", p)
	}
}

// TestLoginFormShowsTheInbox logs in as a person does: the inbox sends a
// stranger to the login form, which after a good password goes back to it.
func TestLoginFormShowsTheInbox(t *testing.T) {
	u := newAgentUI(t)
	u.open("/inbox")
	if loc := eval[string](u, `location.pathname`); loc != "/login" {
		t.Fatalf("a stranger at /inbox is at %s, want /login", loc)
	}
	u.submit("submit the login form",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), u.srv.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), u.srv.Demo.Password),
		chromedp.Click(chromedp.CSS(`form.card button`)))
	if loc := eval[string](u, `location.pathname`); loc != "/inbox" {
		t.Fatalf("after logging in the browser is at %s: %s", loc, u.pageText())
	}
	text := u.textOf("main")
	for _, want := range []string{"Mine", "Unassigned", "All", "Choose a conversation."} {
		if !strings.Contains(text, want) {
			t.Errorf("the inbox does not show %q:\n%s", want, text)
		}
	}
	if n := eval[int](u, `document.querySelectorAll("#rows .row").length`); n == 0 {
		t.Errorf("the inbox lists no conversations of the demo")
	}
	u.checkClean()
}

// TestMessageArrivesLive: a message sent while the agent looks at the inbox
// appears without a reload, the queue count goes up and the tab title counts
// it as unread.
func TestMessageArrivesLive(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	u.inbox()
	count := func() string { return u.textOf(`#queues a[data-queue=all] .count`) }
	if got := count(); got != "0" {
		t.Fatalf("the All queue of an empty feed counts %q", got)
	}
	if title := eval[string](u, `document.title`); strings.HasPrefix(title, "(") {
		t.Fatalf("title %q before any message", title)
	}
	// A marker that survives reloads: if the page reloaded, it is gone.
	eval[bool](u, `window.__sameDocument = true`)

	u.say(customer{ID: "u-live", Name: "Lena Live", Handle: "@lena"}, "live-1", "Is flight HN 204 on time today?")
	u.waitText("#rows .row", "Is flight HN 204 on time today?")
	u.waitText("#rows .row", "Lena Live")
	u.waitText(`#queues a[data-queue=all] .count`, "1")
	u.waitUntil("an unread count in the title", `() => document.title.startsWith("(1) ")`)
	if !eval[bool](u, `window.__sameDocument === true`) {
		t.Error("the page reloaded to show the message")
	}
	u.checkClean()
}

// TestConversationShowsContactAndHistory opens a conversation by clicking
// its row; the contact panel lists the identity and the earlier, resolved
// conversation, which opens with its old text.
func TestConversationShowsContactAndHistory(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	anna := customer{ID: "u-anna", Name: "Anna Bakker", Handle: "@annab"}
	first := u.say(anna, "h-1", "My suitcase never arrived in Lisbon.")
	u.patch(first.ConversationID, `{"status":"resolved"}`)
	second := u.say(anna, "h-2", "Can I change my seat on tomorrow's flight?")
	if second.ConversationID == first.ConversationID {
		t.Fatalf("the second message reopened conversation %d; want a new one", first.ConversationID)
	}

	u.inbox()
	u.do("click the row", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#row-%d a`, second.ConversationID))))
	u.waitText("#thread", "Can I change my seat on tomorrow's flight?")
	u.waitText(".conv-head h1", "Anna Bakker")
	// Headings are in capitals by style sheet, which innerText follows.
	panel := strings.ToLower(u.textOf(".contact-panel"))
	for _, want := range []string{"Anna Bakker", "API @annab", "Earlier conversations (1)", "resolved", "My suitcase never arrived in Lisbon."} {
		if !strings.Contains(panel, strings.ToLower(want)) {
			t.Errorf("the contact panel does not show %q:\n%s", want, panel)
		}
	}
	if loc := eval[string](u, `location.pathname`); loc != fmt.Sprintf("/conversations/%d", second.ConversationID) {
		t.Errorf("the address bar shows %s", loc)
	}

	u.do("click the earlier conversation", chromedp.Click(chromedp.CSS(`.contact-panel .history a`)))
	u.waitText("#thread", "My suitcase never arrived in Lisbon.")
	if thread := u.textOf("#thread"); strings.Contains(thread, "change my seat") {
		t.Errorf("the earlier conversation shows the new message:\n%s", thread)
	}
	u.waitText("#conv-status", "resolved")
	u.checkClean()
}

// TestReplyWithTemplate answers with the "sorry" template chosen from the
// composer's picker by keyboard and sent with Ctrl+Enter.
func TestReplyWithTemplate(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	in := u.say(customer{ID: "u-tom", Name: "Tom Visser", Handle: "@tomv"}, "t-1", "Two hours on the tarmac and no information!")
	u.open(fmt.Sprintf("/conversations/%d?channel=%d", in.ConversationID, u.feed))
	u.waitText("#thread", "Two hours on the tarmac")

	u.do("type /sor", chromedp.Click(chromedp.CSS(`#body`)), chromedp.SendKeys(chromedp.CSS(`#body`), "/sor"))
	u.waitUntil("the template list", `() => {
		const l = document.getElementById("template-list");
		return !l.hidden && Array.from(l.querySelectorAll("li:not([hidden])")).some((li) => li.innerText.includes("/sorry"));
	}`)
	u.key(kb.Enter)
	body := eval[string](u, `document.getElementById("body").value`)
	if !strings.Contains(body, "Tom Visser") || strings.Contains(body, "{{") || strings.Contains(body, "/sor") || !strings.Contains(strings.ToLower(body), "sorry") {
		t.Fatalf("the composer holds %q after picking /sorry", body)
	}
	if eval[bool](u, `!document.getElementById("template-list").hidden`) {
		t.Error("the template list stays open after picking")
	}
	if counter := u.textOf("#counter"); counter != "" && strings.Contains(counter, "too long") {
		t.Errorf("counter %q", counter)
	}

	u.key(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))
	u.waitText("#thread .msg-out", "Tom Visser")
	reply := u.textOf("#thread .msg-out")
	if !strings.Contains(reply, body[:20]) || !strings.Contains(reply, "public reply") {
		t.Errorf("the reply shows %q", reply)
	}
	// The simulated platform delivers at once; the thread follows live.
	u.waitText("#thread .msg-out .delivery", "sent")
	if v := eval[string](u, `document.getElementById("body").value`); v != "" {
		t.Errorf("the composer still holds %q after sending", v)
	}
	u.checkClean()
}

// TestNoteWithMention chooses the note mode with the n key and adds a note
// that mentions a colleague.
func TestNoteWithMention(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	in := u.say(customer{ID: "u-ria", Name: "Ria de Boer", Handle: "@ria"}, "n-1", "Where do I find my boarding pass?")
	u.open(fmt.Sprintf("/conversations/%d?channel=%d", in.ConversationID, u.feed))
	u.waitText("#thread", "boarding pass")

	u.key("n")
	if !eval[bool](u, `document.activeElement && document.activeElement.id === "body"`) {
		t.Fatal("n did not put the cursor in the composer")
	}
	if !eval[bool](u, `document.querySelector("#composer input[name=kind][value=note]").checked`) {
		t.Fatal("n did not choose the note mode")
	}
	// The key that chose the mode must not end up in the note.
	if v := eval[string](u, `document.getElementById("body").value`); v != "" {
		t.Errorf("after n the composer holds %q", v)
	}
	u.do("type the note", chromedp.SendKeys(chromedp.CSS(`#body`), "Asked @sanne to check the app login"))
	u.key(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))
	u.waitText("#thread .msg-note", "check the app login")
	note := u.textOf("#thread .msg-note")
	if !strings.Contains(note, "internal note") {
		t.Errorf("the note is not marked as one: %q", note)
	}
	if m := u.textOf("#thread .msg-note mark.mention"); m != "@sanne" {
		t.Errorf("highlighted mention %q, want @sanne", m)
	}
	if n := eval[int](u, `document.querySelectorAll("#thread .msg-out").length`); n != 0 {
		t.Errorf("the note went out as %d replies", n)
	}
	u.checkClean()
}

// TestMoveToPrivate presses the button on a public conversation: the pane
// shows the new private conversation, and the public one the invitation.
func TestMoveToPrivate(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	in := u.say(customer{ID: "u-max", Name: "Max Jansen", Handle: "@maxj"}, "p-1", "My booking shows the wrong name, please fix it")
	u.open(fmt.Sprintf("/conversations/%d?channel=%d", in.ConversationID, u.feed))
	u.waitText("#conversation .conv-meta", "public")

	u.do("move to private", chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[hx-post="/conversations/%d/private"] button`, in.ConversationID))))
	u.waitText("#conversation .linked", "Moved here from the public conversation")
	if meta := u.textOf("#conversation .conv-meta"); !strings.Contains(meta, "private") {
		t.Errorf("the pane after moving shows %q", meta)
	}
	priv := eval[string](u, `location.pathname`)
	if priv == fmt.Sprintf("/conversations/%d", in.ConversationID) {
		t.Errorf("the address still names the public conversation")
	}

	u.do("follow the link back", chromedp.Click(chromedp.CSS(`#conversation .linked a`)))
	u.waitText("#conversation .linked", "Continued in private:")
	u.waitText("#thread .msg-out", "Max Jansen")
	invite := u.textOf("#thread .msg-out")
	if !strings.Contains(invite, "DM") || !strings.Contains(invite, "public reply") {
		t.Errorf("the public conversation shows the invitation as %q", invite)
	}
	u.checkClean()
}

// TestKeyboard moves through the list with j and k, resolves with e, shows
// the shortcuts with ?, and types the same letters into the composer
// without triggering anything.
func TestKeyboard(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	texts := []string{"first question about my bags", "second question about my seat", "third question about my meal"}
	var ids []int64
	for i, text := range texts {
		in := u.say(customer{ID: fmt.Sprintf("u-k%d", i), Name: fmt.Sprintf("Keyboard Customer %d", i)}, fmt.Sprintf("k-%d", i), text)
		ids = append(ids, in.ConversationID)
	}
	u.inbox()
	// Newest first: the third message is on top.
	u.do("open the top row", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#row-%d a`, ids[2]))))
	u.waitText("#thread", texts[2])

	u.key("j")
	u.waitText("#thread", texts[1])
	u.key("j")
	u.waitText("#thread", texts[0])
	u.key("k")
	u.waitText("#thread", texts[1])
	u.waitUntil("the open row marked", `(id) => document.querySelector("#rows .row.current")?.id === "row-" + id`, fmt.Sprint(ids[1]))

	// In the composer the letters are text.
	u.do("focus the composer", chromedp.Click(chromedp.CSS(`#body`)))
	u.key("jek?")
	if v := eval[string](u, `document.getElementById("body").value`); v != "jek?" {
		t.Errorf("the composer holds %q, want the typed jek?", v)
	}
	// Give a wrongly triggered shortcut the time to show.
	time.Sleep(500 * time.Millisecond)
	if thread := u.textOf("#thread"); !strings.Contains(thread, texts[1]) {
		t.Errorf("typing j/k in the composer changed the conversation: %q", thread)
	}
	if st := u.textOf("#conv-status"); st == "resolved" {
		t.Error("typing e in the composer resolved the conversation")
	}
	if eval[bool](u, `document.getElementById("shortcuts").open`) {
		t.Error("typing ? in the composer opened the shortcut list")
	}

	// Escape leaves the field; now e resolves.
	u.key("a", chromedp.KeyModifiers(chromedp.ModifierCtrl))
	u.key(kb.Backspace)
	u.key(kb.Escape)
	if eval[bool](u, `document.activeElement && document.activeElement.id === "body"`) {
		t.Fatal("Escape left the cursor in the composer")
	}
	u.key("e")
	u.waitText("#conv-status", "resolved")
	u.waitText("#thread", texts[1])

	u.key("?")
	u.waitUntil("the shortcut list", `() => document.getElementById("shortcuts").open`)
	list := u.textOf("#shortcuts")
	for _, want := range []string{"Keyboard shortcuts", "j / k", "Ctrl+Enter"} {
		if !strings.Contains(list, want) {
			t.Errorf("the shortcut list does not show %q:\n%s", want, list)
		}
	}
	u.key(kb.Escape)
	u.waitUntil("the shortcut list to close", `() => !document.getElementById("shortcuts").open`)
	u.checkClean()
}

// TestDutchInterface switches the agent's UI language in the settings.
func TestDutchInterface(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	u.open("/settings")
	u.submit("choose Nederlands and save", chromedp.SetValue(chromedp.CSS(`#locale`), "nl"),
		chromedp.Click(chromedp.CSS(`#save-settings`)))
	if text := u.textOf("main"); !strings.Contains(text, "Taal van webcare") {
		t.Errorf("the saved settings page is not in Dutch:\n%s", text)
	}
	u.inbox()
	text := u.textOf("main")
	for _, want := range []string{"Niet toegewezen", "Van mij", "Alles", "Kies een gesprek."} {
		if !strings.Contains(text, want) {
			t.Errorf("the inbox does not show %q:\n%s", want, text)
		}
	}
	if lang := eval[string](u, `document.documentElement.lang`); lang != "nl" {
		t.Errorf("<html lang=%q>", lang)
	}
	u.checkClean()
}

// TestHostileCustomerRunsNothing shows messages, names and handles full of
// markup in the inbox and the conversation, hovers and clicks them, and
// finds that nothing ran, nothing was injected, links are not trusted and
// the browser had nothing to block.
func TestHostileCustomerRunsNothing(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	payloads := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`"><svg onload=alert(1)>`,
		`javascript:alert(1)`,
		`<a href="javascript:alert(1)">x</a>`,
		`see https://example.com/"onmouseover=alert(1)"x and https://example.org/ok`,
	}
	mallory := customer{ID: "u-mallory", Name: `Mallory "><svg onload=alert(1)><img src=x onerror=alert(1)>`,
		Handle: `@<script>alert(1)</script>`}
	var in browsertest.Injected
	for i, p := range payloads {
		in = u.say(mallory, fmt.Sprintf("x-%d", i), p)
	}
	// A second customer whose name is a javascript: URL.
	u.say(customer{ID: "u-js", Name: `javascript:alert(1)`, Handle: `<a href="javascript:alert(1)">x</a>`}, "x-js", `<img src=x onerror=alert(1)>`)

	u.inbox()
	u.waitText("#rows", `<script>alert(1)</script>`)
	u.do("hover the rows", hover(`#rows .row:nth-child(1) a`), hover(`#rows .row:nth-child(2) a`))
	u.do("open Mallory", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#row-%d a`, in.ConversationID))))
	u.waitText("#thread", "https://example.org/ok")
	thread := u.textOf("#thread")
	for _, p := range payloads[:5] {
		if !strings.Contains(thread, p) {
			t.Errorf("the thread does not show %q as text:\n%s", p, thread)
		}
	}
	if h := u.textOf(".contact-panel .identities"); !strings.Contains(h, `@<script>alert(1)</script>`) {
		t.Errorf("the identities show %q", h)
	}
	u.do("hover and click the messages", hover(`#thread a`), hover(`.conv-head h1`),
		chromedp.Click(chromedp.CSS(`#thread .msg:nth-child(4) .text`)),
		chromedp.Click(chromedp.CSS(`#thread .msg:nth-child(5) .text`)))
	// The composer's template list shows the name inside its entries.
	u.do("open the template list", chromedp.Click(chromedp.CSS(`#body`)), chromedp.SendKeys(chromedp.CSS(`#body`), "/hel"))
	u.waitUntil("the template list", `() => !document.getElementById("template-list").hidden`)
	u.key(kb.Enter)
	if v := eval[string](u, `document.getElementById("body").value`); !strings.Contains(v, `<svg onload=alert(1)>`) {
		t.Errorf("the greeting does not carry the name as text: %q", v)
	}

	// Give an image's failed load and handler, had one been injected, the
	// time to come.
	time.Sleep(300 * time.Millisecond)
	injected := eval[int](u, `document.querySelectorAll(
		'img[src=x], svg, [onerror], [onload], [onmouseover], a[href^="javascript:" i], #rows script, #detail script').length`)
	if injected != 0 {
		t.Errorf("%d injected elements in the page", injected)
	}
	links := eval[[]struct{ Href, Rel string }](u, `Array.from(document.querySelectorAll("#thread a")).map((a) => ({href: a.href, rel: a.rel}))`)
	if len(links) != 2 {
		t.Errorf("links in the thread: %+v, want the two https links", links)
	}
	for _, l := range links {
		for _, want := range []string{"noopener", "noreferrer", "nofollow"} {
			if !strings.Contains(" "+l.Rel+" ", " "+want+" ") {
				t.Errorf("link %s has rel=%q, without %s", l.Href, l.Rel, want)
			}
		}
		if !strings.HasPrefix(l.Href, "https://") || strings.Contains(l.Href, `"`) || strings.Contains(l.Href, "onmouseover") {
			t.Errorf("link %q", l.Href)
		}
	}
	if title := eval[string](u, `document.title`); !strings.Contains(title, "<svg onload=alert(1)>") {
		t.Errorf("the tab title %q does not show the name as text", title)
	}
	u.checkClean()
}

// hover moves the mouse to the middle of the element sel matches.
func hover(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		box, err := chromedp.Dimensions(chromedp.CSS(sel), chromedp.NodeVisible)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		q := box.Content
		x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
		return chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)(ctx, t)
	}
}

// TestTimeToFirstPaint measures the inbox with 5,000 open conversations
// and a conversation of 200 messages, next to a baseline page: the server's time to the first byte and the first contentful
// paint. It reports, it does not judge (the targets are < 100 ms server and
// < 300 ms paint): machines differ too much. With WEBCARE_TIMING_OUT set it
// appends "page server_ms paint_ms" lines to that file, which
// scripts/ui-timing.sh sums up.
func TestTimeToFirstPaint(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	ctx := context.Background()
	start := time.Now().Add(-10 * time.Hour)
	batch := make([]store.Inbound, 200)
	for i := range batch {
		at := start.Add(time.Duration(i) * time.Minute)
		batch[i] = store.Inbound{ChannelID: u.feed, PlatformID: fmt.Sprintf("long-%d", i), Platform: fmt.Sprintf("api:%d", u.feed),
			ExternalID: "u-long", Handle: "@chatty", Name: "Chatty Charlie", Language: "en",
			Body:   fmt.Sprintf("Message %d of a long story about a delayed flight, a lost bag and a voucher that never came. https://example.com/case/%d", i+1, i),
			SentAt: at, ReceivedAt: at}
	}
	res, err := u.srv.Store.Ingest(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	conv := res[0].ConversationID
	for _, r := range res {
		if r.ConversationID != conv {
			t.Fatalf("the messages went into conversations %d and %d", conv, r.ConversationID)
		}
	}

	// Thousands of open conversations besides: the inbox must stay quick
	// when a crisis fills it.
	const crowd = 5000
	for done := 0; done < crowd; done += 500 {
		more := make([]store.Inbound, 500)
		for i := range more {
			n := done + i
			at := start.Add(time.Duration(n) * time.Second)
			more[i] = store.Inbound{ChannelID: u.feed, PlatformID: fmt.Sprintf("crowd-%d", n), Platform: fmt.Sprintf("api:%d", u.feed),
				ExternalID: fmt.Sprintf("crowd-%d", n), Name: fmt.Sprintf("Traveller %d", n), Language: "en",
				Body: "Is my flight tomorrow still going? The news says the airspace is closed.", SentAt: at, ReceivedAt: at}
		}
		if _, err := u.srv.Store.Ingest(ctx, more); err != nil {
			t.Fatal(err)
		}
	}

	var report strings.Builder
	measure := func(name, path string, check func()) {
		t.Helper()
		const rounds = 3
		for i := range rounds + 1 {
			u.open(path)
			check()
			server, paint, err := browsertest.Timing(u.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				continue // the first load warms caches and the connection
			}
			t.Logf("%s: server %s, first paint %s", name, server.Round(100*time.Microsecond), paint.Round(100*time.Microsecond))
			fmt.Fprintf(&report, "%s %.1f %.1f\n", name, float64(server)/float64(time.Millisecond), float64(paint)/float64(time.Millisecond))
		}
	}
	// The baseline to compare with, measured in the same run: the settings
	// page has the same header, styles and scripts and almost no data.
	measure("baseline-settings", "/settings", func() {
		if n := eval[int](u, `document.querySelectorAll("form.card").length`); n == 0 {
			t.Error("the settings page shows no form")
		}
	})
	measure("inbox", "/inbox", func() {
		if n := eval[int](u, `document.querySelectorAll("#rows .row").length`); n == 0 {
			t.Error("the inbox shows no rows")
		}
	})
	measure("conversation-200", fmt.Sprintf("/conversations/%d", conv), func() {
		if n := eval[int](u, `document.querySelectorAll("#thread .msg").length`); n != 200 {
			t.Errorf("the conversation shows %d messages, want 200", n)
		}
	})
	if out := os.Getenv("WEBCARE_TIMING_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(report.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	u.checkClean()
}

// TestReadmeScreenshot makes docs/screenshot-inbox.png: the demo inbox at
// 1440×900 with live traffic and a conversation with history open. It runs
// only with WEBCARE_SCREENSHOT_DIR set (scripts/screenshot.sh).
func TestReadmeScreenshot(t *testing.T) {
	dir := os.Getenv("WEBCARE_SCREENSHOT_DIR")
	if dir == "" {
		t.Skip("set WEBCARE_SCREENSHOT_DIR to make the README screenshot (scripts/screenshot.sh)")
	}
	u := newAgentUI(t)
	u.login()
	u.do("size the window", chromedp.EmulateViewport(1440, 900))
	// English and Dutch only: the machine may lack CJK fonts.
	u.open("/inbox?language=en&order=newest")

	// Regulars write again, so their new messages land on profiles with
	// history, arriving live while the inbox is open.
	tokens := map[int64]string{}
	for _, c := range u.srv.Demo.Channels {
		tokens[c.Channel.ID] = c.Token
	}
	lines := []string{
		"Hi! My flight to Lisbon was cancelled an hour ago and the app still says on time. What are my options?",
		"Thank you for sorting out my seat yesterday, the crew on HN 311 was wonderful.",
		"Still waiting for my bag from last week's flight, can someone please look at this?",
	}
	// English regulars with the most earlier conversations write first.
	type regular struct {
		demo.Regular
		history int
	}
	var regulars []regular
	for _, r := range u.srv.Demo.Regulars {
		if r.Language != "en" || tokens[r.ChannelID] == "" {
			continue
		}
		all, err := u.srv.Store.Conversations(context.Background(), store.ConversationFilter{ContactID: r.ContactID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		regulars = append(regulars, regular{r, len(all)})
	}
	slices.SortStableFunc(regulars, func(a, b regular) int { return b.history - a.history })
	if len(regulars) < len(lines) || regulars[0].history < 2 {
		t.Fatalf("the demo has too few English regulars with history: %+v", regulars)
	}
	var open browsertest.Injected
	for i, line := range lines {
		r := regulars[len(lines)-1-i] // the one with the most history last, on top
		body, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("shot-%d", i), "text": line, "language": "en",
			"private": r.Private, "reply_to": r.LastReplyID, // back in their last thread
			"from": map[string]string{"id": r.ExternalID, "handle": r.Handle, "name": r.Name, "platform": r.Platform},
		})
		open = u.srv.Inject(t, r.ChannelID, tokens[r.ChannelID], string(body))
		u.waitText("#rows", line)
	}
	u.do("open a conversation with history", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#row-%d a`, open.ConversationID))))
	u.waitUntil("the history", `() => document.querySelectorAll(".contact-panel .history a").length > 0`)
	// Let the queue counts and the local times settle.
	u.waitUntil("settled", `() => !document.querySelector(".htmx-request, .htmx-settling")`)
	time.Sleep(600 * time.Millisecond)
	png, err := chromedp.Run(u.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "screenshot-inbox.png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
	u.checkClean()
}

// tinyPNG is a real 1×1 PNG, so the browser can decode and lay it out.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// TestCustomerPicture shows a customer's photo in the thread and offers a
// file that only claims to be a picture as a download, without running it.
func TestCustomerPicture(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	png := tinyPNG
	body, err := json.Marshal(map[string]any{
		"id": "pic-1", "text": "This is how my suitcase came off the belt", "language": "en",
		"from": map[string]string{"id": "u-pic", "name": "Pia"},
		"attachments": []map[string]any{
			{"name": "suitcase.png", "data": png},
			{"name": "label.png", "data": []byte("<html><body><script>alert(1)</script></body></html>")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	in := u.srv.Inject(t, u.feed, u.token, string(body))
	u.open(fmt.Sprintf("/conversations/%d", in.ConversationID))
	u.waitText("#thread", "This is how my suitcase came off the belt")
	u.waitUntil("the photo is decoded", `() => { const i = document.querySelector("#thread .files img"); return !!i && i.complete && i.naturalWidth === 1 }`)
	if n := eval[int](u, `document.querySelectorAll('#thread .files a[download]').length`); n != 1 {
		t.Errorf("%d download links, want one for the fake picture", n)
	}
	if alt := eval[string](u, `document.querySelector("#thread .files img").alt`); alt != "suitcase.png" {
		t.Errorf("alt text %q", alt)
	}
	u.checkClean()
}

// TestAttachAPicture sends a reply with a picture chosen in the composer.
func TestAttachAPicture(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	in := u.say(customer{ID: "u-kim", Name: "Kim"}, "a-1", "Can you send me the boarding pass again?")
	photo := filepath.Join(t.TempDir(), "boarding-pass.png")
	if err := os.WriteFile(photo, tinyPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	u.open(fmt.Sprintf("/conversations/%d", in.ConversationID))
	u.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS(`#files`), []string{photo}))
	u.do("type", chromedp.SendKeys(chromedp.CSS(`#body`), "Here it is!"))
	u.do("send", chromedp.Click(chromedp.CSS(`#send`)))
	u.waitText("#thread", "Here it is!")
	u.waitUntil("the sent picture shows", `() => { const i = document.querySelector("#thread .msg-out .files img"); return !!i && i.complete && i.naturalWidth === 1 && i.alt === "boarding-pass.png" }`)
	u.checkClean()
}

// TestPlatformRulesInTheComposer: the composer tells the agent what the
// platform allows: WhatsApp's 24-hour window closed on a customer who wrote
// two days ago, and X counting CJK characters double against its 280.
func TestPlatformRulesInTheComposer(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	ctx := t.Context()
	st := u.srv.Store
	now := time.Now()
	wa := store.Channel{Kind: "whatsapp", Name: "WhatsApp test"}
	x := store.Channel{Kind: "x", Name: "X test"}
	for _, c := range []*store.Channel{&wa, &x} {
		if err := st.CreateChannel(ctx, c, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := st.Ingest(ctx, []store.Inbound{
		{ChannelID: wa.ID, PlatformID: "wamid.old", Platform: "whatsapp", ExternalID: "31611111111", Name: "Ria", Body: "Is mijn koffer al gevonden?", Private: true,
			SentAt: now.Add(-50 * time.Hour), ReceivedAt: now.Add(-50 * time.Hour), Processed: true},
		{ChannelID: x.ID, PlatformID: "1850000000000000001", Platform: "x", ExternalID: "12", Handle: "@mei", Name: "Mei", Body: "@HeronAir 我的行李在哪里？",
			SentAt: now, ReceivedAt: now, Processed: true},
	})
	if err != nil {
		t.Fatal(err)
	}

	u.open(fmt.Sprintf("/conversations/%d", res[0].ConversationID))
	u.waitText("#composer .window-closed", "24 hours")
	if note := u.textOf("#composer .window-closed"); !strings.Contains(note, "template") {
		t.Errorf("the closed window says %q; it should say a template message is what remains", note)
	}

	u.open(fmt.Sprintf("/conversations/%d", res[1].ConversationID))
	u.do("type 150 Chinese characters", chromedp.Click(chromedp.CSS(`#body`)), chromedp.SendKeys(chromedp.CSS(`#body`), strings.Repeat("谢", 150)))
	u.waitUntil("the counter over the limit", `() => document.getElementById("counter").classList.contains("over")`)
	if !eval[bool](u, `document.getElementById("send").disabled`) {
		t.Error("send stays enabled for 300 weighted characters on X")
	}
	eval[bool](u, `(() => { document.getElementById("body").value = ""; return true })()`)
	u.do("type 150 Latin letters", chromedp.SendKeys(chromedp.CSS(`#body`), strings.Repeat("a", 150)))
	u.waitUntil("the counter within the limit", `() => !document.getElementById("counter").classList.contains("over")`)
	if eval[bool](u, `document.getElementById("send").disabled`) {
		t.Error("send disabled for 150 Latin letters on X")
	}
	u.checkClean()
}

// TestListKeepsUpUnderAStream: during a steady stream of messages (a
// crisis), the inbox list and the queue counts keep refreshing while the
// stream goes on; they used to wait for a quiet moment that never came,
// while the tab title went on counting.
func TestListKeepsUpUnderAStream(t *testing.T) {
	u := newAgentUI(t)
	u.login()
	u.inbox()
	shows := func(text string) bool {
		return eval[bool](u, fmt.Sprintf(`Array.from(document.querySelectorAll("#rows .row")).some((el) => el.innerText.includes(%q))`, text))
	}
	seenDuring := false
	for i := range 40 {
		u.say(customer{ID: fmt.Sprintf("u-stream-%d", i), Name: fmt.Sprintf("Stream %d", i)}, fmt.Sprintf("stream-%d", i), fmt.Sprintf("Stranded at gate D%d", i))
		if i >= 25 && shows("Stranded at gate D10") {
			seenDuring = true
			break
		}
		time.Sleep(100 * time.Millisecond) // a message every tenth of a second: never a quarter second of quiet
	}
	if !seenDuring {
		t.Fatal("the list did not show a message while the stream went on")
	}
	if n := u.textOf(`#queues a[data-queue=all] .count`); n == "0" || n == "" {
		t.Errorf("the All queue counts %q during the stream", n)
	}
	u.checkClean()
}
