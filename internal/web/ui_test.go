package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/i18n"
	"github.com/webcare/webcare/internal/store"
)

// TestCatalogueCoversTheUI finds every message key the templates and
// handlers use, including the ones built from a prefix and a value, and
// checks that every UI language has it.
func TestCatalogueCoversTheUI(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	add := func(pattern string, files ...string) {
		re := regexp.MustCompile(pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				keys[m[1]] = true
			}
		}
	}
	tmpls, _ := filepath.Glob("ui/templates/*.html")
	gos, _ := filepath.Glob("*.go")
	add(`\bt "([a-z0-9._]+)"`, tmpls...)
	add(`\bs\.t\(r, "([a-z0-9._]+[a-z0-9_])"[,)]`, gos...)
	add(`cat\.T\(loc, "([a-z0-9._]+[a-z0-9_])"[,)]`, gos...)
	// The desk's refusals that the UI translates: said(english, "key", …).
	desks, _ := filepath.Glob("../desk/*.go")
	if len(desks) == 0 {
		t.Fatal("no ../desk/*.go: the desk moved?")
	}
	add(`(?s)said\(.*?,\s*"([a-z0-9._]+[a-z0-9_])"[,)]`, desks...)
	if !keys["files.notallowed"] || !keys["files.type"] {
		t.Fatal("the desk's catalogue keys are not found: the pattern no longer matches desk/conversations.go")
	}
	for _, st := range []store.Status{store.StatusNew, store.StatusOpen, store.StatusPending, store.StatusSnoozed, store.StatusResolved} {
		keys["status."+string(st)] = true
	}
	for _, p := range []store.Presence{store.Online, store.Away, store.Offline} {
		keys["presence."+string(p)] = true
	}
	for _, d := range []store.Delivery{store.Received, store.Queued, store.Sent, store.Failed, store.Internal} {
		keys["delivery."+string(d)] = true
	}
	for _, r := range agentRoles {
		keys["admin.role."+string(r)] = true
	}
	for _, tab := range adminTabs {
		keys["admin.tab."+tab.Key] = true
	}
	for _, s := range statusChoices {
		keys["filter.status."+s] = true
	}
	for _, l := range cat.Locales() {
		keys["locale."+l] = true
	}
	for _, l := range inboxLanguages {
		keys["lang."+l] = true
	}
	if len(keys) < 100 {
		t.Fatalf("found only %d keys: the patterns no longer match the sources", len(keys))
	}
	for _, loc := range cat.Locales() {
		have := map[string]bool{}
		for _, k := range cat.Keys(loc) {
			have[k] = true
		}
		for k := range keys {
			if !have[k] {
				t.Errorf("locale %s lacks %q", loc, k)
			}
		}
	}
}

func TestRichTextEscapes(t *testing.T) {
	for _, tc := range []struct {
		in       string
		mentions bool
		want     string
	}{
		{`<script>alert(1)</script>`, false, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{`<img src=x onerror=alert(1)>`, false, `&lt;img src=x onerror=alert(1)&gt;`},
		{`see https://heron.example/a?b=1&c=2.`, false, `see <a href="https://heron.example/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">https://heron.example/a?b=1&amp;c=2</a>.`},
		{`https://x.example/"onmouseover="alert(1)`, false, `<a href="https://x.example/" rel="noopener noreferrer nofollow" target="_blank">https://x.example/</a>&#34;onmouseover=&#34;alert(1)`},
		{`javascript:alert(1)`, false, `javascript:alert(1)`},
		{`ask @Sanne about <b>`, true, `ask <mark class="mention">@Sanne</mark> about &lt;b&gt;`},
		{`mail a@b.example`, true, `mail a@b.example`},
	} {
		if got := string(richText(tc.in, tc.mentions)); got != tc.want {
			t.Errorf("richText(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/inbox",
		"/conversations/4?x=1":  "/conversations/4?x=1",
		"https://evil.example/": "/inbox",
		"//evil.example/":       "/inbox",
		`/\evil.example`:        "/inbox",
		"inbox":                 "/inbox",
		"javascript:alert(1)":   "/inbox",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInitials(t *testing.T) {
	for in, want := range map[string]string{"Anouk Dekker": "AD", "": "?", "@minjun": "M", "émile zola de la rue": "ÉZ", "김민준": "김"} {
		if got := initials(strings.TrimSpace(in)); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}
