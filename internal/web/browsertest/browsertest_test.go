package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web/browsertest"
)

// TestPagesOfAFreshServer walks what a new instance shows a browser today:
// health, the setup page without and with a valid link, and the setup form
// from typing to the administrator it creates.
func TestPagesOfAFreshServer(t *testing.T) {
	srv := browsertest.Start(t)
	b := browsertest.NewBrowser(t)

	if status := b.Open(t, srv.URL+"/healthz"); status != 200 {
		t.Fatalf("GET /healthz: status %d", status)
	}
	if text := b.Text(t); !strings.Contains(text, `"status":"ok"`) {
		t.Errorf("/healthz shows %q", text)
	}
	server, paint, err := browsertest.Timing(b.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/healthz: server %s, first paint %s", server, paint)

	// A setup link without the token printed in the log is refused, with a
	// message saying where the right one is.
	if status := b.Open(t, srv.URL+"/setup"); status != 403 {
		t.Errorf("GET /setup without a token: status %d, want 403", status)
	}
	if text := b.Text(t); !strings.Contains(text, "this setup link is not valid; use the one printed in the server log") {
		t.Errorf("/setup without a token shows %q", text)
	}

	if status := b.Open(t, srv.SetupURL(t)); status != 200 {
		t.Fatalf("GET /setup with a token: status %d", status)
	}
	if text := b.Text(t); !strings.Contains(text, "Welcome to webcare") || !strings.Contains(text, "Create the first administrator.") {
		t.Errorf("setup page shows %q", text)
	}
	if server, paint, err = browsertest.Timing(b.Ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("/setup: server %s, first paint %s", server, paint)
	shot := filepath.Join(t.TempDir(), "setup.png")
	if err := browsertest.Screenshot(b.Ctx, shot); err != nil {
		t.Fatal(err)
	}
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a PNG (%v)", shot, err)
	}

	// Fill in the form as a person would and submit it.
	if _, err := chromedp.Run(b.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Ada Admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ada@example.org"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form button`)),
	))); err != nil {
		t.Fatalf("submit the setup form: %v", err)
	}
	if text := b.Text(t); !strings.Contains(text, "Your administrator account is ready") || !strings.Contains(text, "Go to the inbox") {
		t.Errorf("after setup the page shows %q; want the way on to the inbox", text)
	}
	admin, err := srv.Store.AgentByEmail(context.Background(), "ada@example.org")
	if err != nil || admin.Role != store.RoleAdmin || admin.Name != "Ada Admin" {
		t.Errorf("after setup: agent %+v, %v", admin, err)
	}

	// None of these pages may run into trouble in a browser.
	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs: %v", d)
	}
	if p := unexpected(b.Errors(), srv.URL+"/setup", srv.URL+"/favicon.ico"); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// unexpected leaves out the failed loads of the given URLs: error pages a
// test opens on purpose, and /favicon.ico, which Chromium asks for on every
// site and this server does not have yet.
func unexpected(problems []browsertest.Problem, urls ...string) []browsertest.Problem {
	var out []browsertest.Problem
	for _, p := range problems {
		if p.Kind == browsertest.LogError && strings.HasPrefix(p.Text, "network: Failed to load resource") && slices.Contains(urls, p.URL) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// TestInlineHandlerIsBlockedAndReported proves the harness sees an attack
// the Content Security Policy stops: markup with an inline handler, as a
// customer could send it, put into a page. The handler must not run (no
// dialog), and the refusal must be recorded.
func TestInlineHandlerIsBlockedAndReported(t *testing.T) {
	srv := browsertest.Start(t)
	b := browsertest.NewBrowser(t)
	if status := b.Open(t, srv.SetupURL(t)); status != 200 {
		t.Fatalf("GET /setup: status %d", status)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Evaluate[chromedp.Void](
		`document.body.innerHTML = '<p id="payload">hi <img src=x onerror=alert(1)></p>'`)); err != nil {
		t.Fatal(err)
	}
	// The image fails to load first; then its handler is refused.
	v := b.WaitProblem(t, 5*time.Second, func(p browsertest.Problem) bool { return p.Kind == browsertest.CSPViolation })
	if v.Blocked != "inline" || !strings.HasPrefix(v.Directive, "script-src") {
		t.Errorf("violation %+v, want script-src refusing inline", v)
	}
	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("the injected handler ran: dialogs %v", d)
	}
	for _, p := range b.Errors() {
		t.Logf("recorded %s", p)
	}
}

// TestBrowserRecordsWhatPagesDo checks the other recorders with things a
// page script does: a dialog (dismissed, so the page goes on), a console
// error and an uncaught exception. DevTools evaluation is not subject to the
// page's CSP, so these run where page scripts could not.
func TestBrowserRecordsWhatPagesDo(t *testing.T) {
	srv := browsertest.Start(t)
	b := browsertest.NewBrowser(t)
	b.Open(t, srv.URL+"/healthz")
	if size, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]int](`[innerWidth, innerHeight]`)); err != nil || !slices.Equal(size, []int{1280, 800}) {
		t.Errorf("viewport %v (%v), want 1280×800", size, err)
	}

	answer, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`confirm("delete everything?")`))
	if err != nil {
		t.Fatal(err)
	}
	if answer {
		t.Error("confirm was accepted; the harness dismisses dialogs")
	}
	if d := b.Dialogs(); len(d) != 1 || d[0].Type != "confirm" || d[0].Message != "delete everything?" {
		t.Errorf("dialogs %+v", d)
	}

	if err := chromedp.Do(b.Ctx, chromedp.Evaluate[chromedp.Void](
		`console.error("bad", 42); setTimeout(() => { throw new Error("kaboom") })`)); err != nil {
		t.Fatal(err)
	}
	b.WaitProblem(t, 5*time.Second, func(p browsertest.Problem) bool {
		return p.Kind == browsertest.Exception && strings.Contains(p.Text, "kaboom")
	})
	found := false
	for _, p := range b.Errors() {
		found = found || (p.Kind == browsertest.ConsoleError && p.Text == "bad 42")
	}
	if !found {
		t.Errorf("console.error not recorded: %v", b.Errors())
	}

	b.Reset()
	if len(b.Dialogs())+len(b.Errors()) != 0 {
		t.Error("Reset left records")
	}
}

// TestInjectedMessageReachesALoggedInBrowser uses the seeding helpers: the
// demo data, an agent, an API channel and a message sent to it over HTTP,
// which a browser with the agent's session then reads from the API.
func TestInjectedMessageReachesALoggedInBrowser(t *testing.T) {
	srv := browsertest.Start(t, browsertest.WithDemo())
	if srv.Demo == nil || len(srv.Demo.Channels) == 0 || srv.Demo.Email == "" {
		t.Fatalf("demo not seeded: %+v", srv.Demo)
	}
	srv.AddAgent(t, store.RoleAgent, "eve@example.org", "a long enough password")
	channelID, token := srv.AddAPIChannel(t)
	payload := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	got := srv.Inject(t, channelID, token, fmt.Sprintf(
		`{"id": "m-1", "from": {"id": "u-1", "name": "Mallory"}, "text": %q}`, payload))
	if got.ConversationID == 0 || got.Duplicate {
		t.Fatalf("inject: %+v", got)
	}
	if again := srv.Inject(t, channelID, token, fmt.Sprintf(
		`{"id": "m-1", "from": {"id": "u-1", "name": "Mallory"}, "text": %q}`, payload)); !again.Duplicate || again.MessageID != got.MessageID {
		t.Errorf("re-delivery: %+v, want a duplicate of %+v", again, got)
	}

	b := browsertest.NewBrowser(t)
	b.SetCookie(t, srv.URL, srv.SessionCookie(t, "eve@example.org", "a long enough password"))
	url := fmt.Sprintf("%s/api/v1/conversations/%d/messages", srv.URL, got.ConversationID)
	if status := b.Open(t, url); status != 200 {
		t.Fatalf("GET %s logged in: status %d: %s", url, status, b.Text(t))
	}
	if text := b.Text(t); !strings.Contains(text, `\u003cscript\u003ealert(1)`) && !strings.Contains(text, `<script>alert(1)`) {
		t.Errorf("the message is not on the page: %q", text)
	}
	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs: %v", d)
	}
}
