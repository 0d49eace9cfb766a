package i18n

import (
	"slices"
	"testing"
)

func TestEveryLocaleHasEveryMessage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Locales(), "nl") || !slices.Contains(c.Locales(), "en") {
		t.Fatalf("locales %v: English and Dutch are required", c.Locales())
	}
	want := c.Keys(Fallback)
	for _, loc := range c.Locales() {
		got := c.Keys(loc)
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("%s lacks %q", loc, k)
			}
		}
		for _, k := range got {
			if !slices.Contains(want, k) {
				t.Errorf("%s has %q, which English lacks", loc, k)
			}
		}
	}
}

func TestTranslate(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc, key string
		args     []any
		want     string
	}{
		{"nl", "nav.inbox", nil, "Inbox"},
		{"nl", "conv.assignedto", []any{"Sanne"}, "Toegewezen aan Sanne"},
		{"en", "conv.assignedto", []any{"Sanne"}, "Assigned to Sanne"},
		{"fr", "nav.logout", nil, "Log out"},      // an unknown locale falls back to English
		{"nl", "no.such.key", nil, "no.such.key"}, // a missing message shows its key
	} {
		if got := c.T(tc.loc, tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%s, %s) = %q, want %q", tc.loc, tc.key, got, tc.want)
		}
	}
}

func TestMatchAcceptLanguage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		"nl-NL,nl;q=0.9,en;q=0.8": "nl",
		"de-DE,nl;q=0.5":          "nl",
		"de-DE":                   "en",
		"":                        "en",
		"EN-gb":                   "en",
	} {
		if got := c.Match(header); got != want {
			t.Errorf("Match(%q) = %s, want %s", header, got, want)
		}
	}
}
