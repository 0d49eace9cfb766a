package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the browser to run: $WEBCARE_CHROMIUM, else
// /usr/bin/chromium, else chromium-browser or google-chrome on PATH. With
// none it skips the test, except under CI=true, where it fails it: CI
// installs the browser, so a missing one there is a broken build.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WEBCARE_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("WEBCARE_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found: install Debian's chromium package or set WEBCARE_CHROMIUM; CI runs these tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Browser is one headless Chromium with one tab. It records what a page
// must never do unnoticed: JavaScript dialogs, which it dismisses, console
// errors, uncaught exceptions, browser log errors and Content Security
// Policy violations.
type Browser struct {
	// Ctx is the tab's chromedp context: pass it to chromedp.Do and
	// chromedp.Run. It ends when the test ends.
	Ctx context.Context

	output *syncBuffer // the browser's stdout and stderr

	mu       sync.Mutex
	dialogs  []Dialog
	problems []Problem
}

// Dialog is a JavaScript dialog a page opened.
type Dialog struct {
	Type    string // alert, confirm, prompt or beforeunload
	Message string
	URL     string // the frame's
}

// ProblemKind says where a Problem was seen.
type ProblemKind string

// Problem kinds.
const (
	// ConsoleError is a console.error or console.assert call.
	ConsoleError ProblemKind = "console"
	// Exception is an uncaught exception or an unhandled promise rejection.
	Exception ProblemKind = "exception"
	// LogError is an error entry of the browser's log: a failed request, a
	// refused script, a CSP message.
	LogError ProblemKind = "log"
	// CSPViolation is a securitypolicyviolation event: the policy blocked
	// something (an inline handler, a script from elsewhere).
	CSPViolation ProblemKind = "csp"
)

// Problem is an error the page or the browser reported.
type Problem struct {
	Kind ProblemKind
	Text string
	URL  string
	Line int64 // 1-based; 0 when unknown

	// Directive and Blocked are set for a CSPViolation: the directive that
	// refused (script-src-attr) and what it refused ("inline", a URL).
	Directive, Blocked string
}

func (p Problem) String() string {
	where := ""
	if p.URL != "" {
		where = fmt.Sprintf(" (%s:%d)", p.URL, p.Line)
	}
	return fmt.Sprintf("%s: %s%s", p.Kind, p.Text, where)
}

// cspBinding is how the page script below reports violations to us.
const cspBinding = "__webcareReportCSP"

// cspScript runs in every new document before the page's own scripts. The
// DevTools protocol injects it, so the page's CSP does not apply to it.
const cspScript = `(() => {
  const report = globalThis[` + "`" + cspBinding + "`" + `];
  if (typeof report !== "function") return;
  document.addEventListener("securitypolicyviolation", (e) => {
    report(JSON.stringify({
      directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
      sample: e.sample, source: e.sourceFile, line: e.lineNumber, disposition: e.disposition,
    }));
  }, true);
})();`

// NewBrowser starts a fresh headless Chromium (a new profile and temporary
// files under t.TempDir(), no background network traffic) and opens one tab
// on about:blank with a 1280×800 viewport. It closes the browser when the
// test ends and prints the browser's own output and the recorded problems if
// the test failed. Starting takes about half a second, so a test shares one
// browser between its steps.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path := Chromium(t)
	b := &Browser{output: &syncBuffer{}}
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		// Chromium keeps its shared memory files in TMPDIR (the defaults
		// set disable-dev-shm-usage) and leaves a directory behind there.
		chromedp.Env("TMPDIR="+dir),
		chromedp.WindowSize(1280, 800),
		chromedp.NoSandbox, // tests run as root here and in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// The machine's network is closed: without these Chromium keeps
		// trying to reach Google's hosts, slowly, at every start.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	b.Ctx = ctx
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before t.TempDir goes
		if t.Failed() {
			if out := strings.TrimSpace(b.output.String()); out != "" {
				t.Logf("browser output:\n%s", out)
			}
			for _, p := range b.Errors() {
				t.Logf("browser problem: %s", p)
			}
		}
	})
	start := time.Now()
	// The window size includes the headless window's toolbar; the
	// viewport pages see is what tests reason about.
	if err := chromedp.Do(ctx, chromedp.Func(b.install), chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("browsertest: start %s: %v\n%s", path, err, b.output.String())
	}
	t.Logf("browsertest: %s started in %s", path, time.Since(start).Round(time.Millisecond))
	return b
}

// install adds the CSP reporter to every document the tab will load.
func (b *Browser) install(ctx context.Context, t *chromedp.Target) error {
	if _, err := cdp.Call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: cspBinding}); err != nil {
		return fmt.Errorf("add binding: %w", err)
	}
	now := true
	if _, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspScript, RunImmediately: &now}); err != nil {
		return fmt.Errorf("add CSP reporter: %w", err)
	}
	return nil
}

// record runs in the tab's event loop, in the order Chromium sent the
// events, before the reply to any later command: what a page did before an
// action returned is recorded when it returns. It must not block.
func (b *Browser) record(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		b.mu.Lock()
		b.dialogs = append(b.dialogs, Dialog{Type: string(ev.Type), Message: ev.Message, URL: ev.URL})
		b.mu.Unlock()
		// The dialog blocks the page until answered; answering is a command,
		// which may not run in this loop. Leaving a page is always allowed,
		// so that a beforeunload handler cannot hang a navigation.
		accept := ev.Type == page.DialogTypeBeforeunload
		go chromedp.Call(b.Ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		p := Problem{Kind: ConsoleError, Text: argsText(ev.Args)}
		if ev.StackTrace != nil && len(ev.StackTrace.CallFrames) > 0 {
			f := ev.StackTrace.CallFrames[0]
			p.URL, p.Line = f.URL, f.LineNumber+1
		}
		b.add(p)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		b.add(Problem{Kind: Exception, Text: text, URL: d.URL, Line: d.LineNumber + 1})
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == cdplog.EntryLevelError {
			p := Problem{Kind: LogError, Text: string(e.Source) + ": " + e.Text, URL: e.URL}
			if e.URL != "" {
				p.Line = e.LineNumber + 1
			}
			b.add(p)
		}
	case *runtime.EventBindingCalled:
		if ev.Name != cspBinding {
			return
		}
		var v struct {
			Directive, Blocked, Sample, Source, Disposition string
			Line                                            int64
		}
		if err := json.Unmarshal([]byte(ev.Payload), &v); err != nil {
			b.add(Problem{Kind: CSPViolation, Text: "unreadable report: " + ev.Payload})
			return
		}
		text := fmt.Sprintf("%s refused %s", v.Directive, v.Blocked)
		if v.Sample != "" {
			text += fmt.Sprintf(" %q", v.Sample)
		}
		if v.Disposition == "report" {
			text += " (report only)"
		}
		b.add(Problem{Kind: CSPViolation, Text: text, URL: v.Source, Line: v.Line, Directive: v.Directive, Blocked: v.Blocked})
	}
}

func (b *Browser) add(p Problem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// argsText renders console arguments roughly as DevTools shows them.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Type == runtime.RemoteObjectTypeString:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
				continue
			}
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
			continue
		}
		if a.Description != "" {
			parts = append(parts, a.Description)
		} else {
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// Dialogs returns the JavaScript dialogs opened so far, oldest first. Each
// was dismissed (a beforeunload one accepted). A page that shows
// customer-supplied text must never open one.
func (b *Browser) Dialogs() []Dialog {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Dialog(nil), b.dialogs...)
}

// Errors returns every problem recorded so far, oldest first: console
// errors, uncaught exceptions, browser log errors and CSP violations.
func (b *Browser) Errors() []Problem {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Problem(nil), b.problems...)
}

// CSPViolations returns the recorded problems of kind CSPViolation.
func (b *Browser) CSPViolations() []Problem {
	var out []Problem
	for _, p := range b.Errors() {
		if p.Kind == CSPViolation {
			out = append(out, p)
		}
	}
	return out
}

// Reset forgets the recorded dialogs and problems, so that a test can check
// one step at a time.
func (b *Browser) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dialogs, b.problems = nil, nil
}

// WaitProblem waits up to timeout for a recorded problem that match accepts
// and returns it; it fails the test if none comes. Some problems come after
// the action that caused them: an image fails to load, then its onerror
// handler is refused.
func (b *Browser) WaitProblem(t testing.TB, timeout time.Duration, match func(Problem) bool) Problem {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range b.Errors() {
			if match(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: no matching problem within %s; recorded: %v", timeout, b.Errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Open navigates the tab to url, waits for the page to load and returns the
// HTTP status of the document. It fails the test if the page cannot load;
// an error status is not a failure, since tests check those too.
func (b *Browser) Open(t testing.TB, url string) int64 {
	t.Helper()
	resp, err := chromedp.Run(b.Ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("browsertest: open %s: %v", url, err)
	}
	if resp == nil {
		t.Fatalf("browsertest: open %s: no response", url)
	}
	return resp.Status
}

// Text returns the visible text of the page's body (innerText: what a
// person reads, without hidden elements and markup).
func (b *Browser) Text(t testing.TB) string {
	t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatalf("browsertest: read the page text: %v", err)
	}
	return s
}

// SetCookie puts c (from Server.SessionCookie) into the browser for the
// server at serverURL, so that the next page loads logged in.
func (b *Browser) SetCookie(t testing.TB, serverURL string, c *http.Cookie) {
	t.Helper()
	httpOnly, secure := c.HttpOnly, c.Secure
	p := network.SetCookieParams{Name: c.Name, Value: c.Value, URL: serverURL, Path: c.Path,
		HTTPOnly: &httpOnly, Secure: &secure}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		p.SameSite = network.CookieSameSiteLax
	case http.SameSiteStrictMode:
		p.SameSite = network.CookieSameSiteStrict
	}
	if _, err := chromedp.Call(b.Ctx, network.SetCookie, p); err != nil {
		t.Fatalf("browsertest: set cookie %s: %v", c.Name, err)
	}
}
