package x_test

import (
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel/x"
)

func TestWeight(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"ascii", "hello", 5},
		{"280 latin", strings.Repeat("a", 280), 280},
		{"accents", "één café", 8},
		{"cyrillic", "привет", 6},
		{"cjk", "日本語", 6},
		{"hangul syllables", "한국", 4},
		{"em dash and quotes", "—“”‘’", 5},
		{"ellipsis counts two", "…", 2},
		{"emoji", "👍", 2},
		{"emoji with skin tone", "👍🏽", 2},
		{"zwj family", "👨‍👩‍👧‍👦", 2},
		{"flag", "🇳🇱", 2},
		{"two flags", "🇳🇱🇧🇪", 4},
		{"keycap", "1️⃣", 2},
		{"heart with vs16", "❤️", 2},
		{"copyright alone", "©", 1},
		{"copyright emoji", "©️", 2},
		{"digits", "123", 3},
		{"https link", "https://example.com/a/very/long/path/that/goes/on/and/on?with=query&and=more", 23},
		{"link in sentence", "see https://x.com/a.", 4 + 23 + 1},
		{"bare domain", "visit webcare.nl now", 6 + 23 + 4},
		{"bare domain with path", "webcare.nl/help", 23},
		{"unknown tld is text", "file.txt", 8},
		{"email is text", "jan@example.com", 15},
		{"mention", "@webcare_demo hi", 16},
		{"two links", "http://a.com http://b.com", 23 + 1 + 23},
		{"link with parens", "(see https://en.wikipedia.org/wiki/Foo_(bar))", 1 + 4 + 23 + 1},
		{"mixed", "Hoi 👋 — zie https://webcare.nl/faq 日本", 4 + 2 + 1 + 1 + 1 + 4 + 23 + 1 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := x.Weight(tt.text); got != tt.want {
				t.Errorf("Weight(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzWeight(f *testing.F) {
	f.Add("Hoi 👋 — zie https://webcare.nl/faq 日本 1️⃣ 🇳🇱")
	f.Fuzz(func(t *testing.T, s string) {
		w := x.Weight(s)
		if w < 0 || w > 2*len(s)+23 {
			t.Fatalf("Weight(%q) = %d", s, w)
		}
	})
}
