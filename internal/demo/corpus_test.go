package demo

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// xLength counts like X does: most scripts' characters count once, CJK,
// emoji and the like twice.
func xLength(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r <= 0x10FF, r >= 0x2000 && r <= 0x200D, r >= 0x2010 && r <= 0x201F, r >= 0x2032 && r <= 0x2037:
			n++
		default:
			n += 2
		}
	}
	return n
}

// longest fills every placeholder with the longest value the demo can draw
// for lang, so a length check holds for every random fill.
func longest(lang string) Values {
	v := Values{Minutes: "240", Hours: "9", Code: "WWWWWW"}
	longer := func(dst *string, s string) {
		if utf8.RuneCountInString(s) > utf8.RuneCountInString(*dst) {
			*dst = s
		}
	}
	for _, r := range routes {
		longer(&v.Flight, r.flight)
		longer(&v.City, r.cityIn(lang))
	}
	for _, c := range crew {
		longer(&v.Crew, c)
	}
	for _, names := range givenNames {
		for _, n := range names {
			longer(&v.Name, n)
		}
	}
	return v
}

func TestCorpusSize(t *testing.T) {
	texts := Corpus()
	distinct := map[string]bool{}
	for _, tx := range texts {
		distinct[tx.Body] = true
	}
	if len(distinct) < 150 {
		t.Errorf("%d distinct texts, want at least 150", len(distinct))
	}
	if len(distinct) != len(texts) {
		t.Errorf("%d texts but only %d distinct bodies", len(texts), len(distinct))
	}
}

func TestCorpusCoverage(t *testing.T) {
	type key struct {
		lang string
		kind Kind
	}
	byLang := map[string]int{}
	kinds := map[key]bool{}
	forms := map[string]map[Form]bool{}
	crisisLangs := map[string]bool{}
	public, private := 0, 0
	for _, tx := range Corpus() {
		byLang[tx.Lang]++
		kinds[key{tx.Lang, tx.Kind}] = true
		if forms[tx.Lang] == nil {
			forms[tx.Lang] = map[Form]bool{}
		}
		forms[tx.Lang][tx.Form] = true
		if tx.Crisis {
			crisisLangs[tx.Lang] = true
		}
		if tx.Public() {
			public++
		} else {
			private++
		}
		switch tx.Kind {
		case Question, Complaint, Compliment, Angry, Thanks:
		default:
			t.Errorf("%q: unknown kind %q", tx.Body, tx.Kind)
		}
	}
	for _, lang := range []string{"nl", "en", "de", "fr", "es", "it", "pt", "ja", "zh", "ko", "tr", "ar", "pl"} {
		if byLang[lang] == 0 {
			t.Errorf("no texts in %s", lang)
		}
	}
	for _, lang := range []string{"nl", "en", "de", "fr", "es", "it", "pt"} {
		for _, k := range []Kind{Question, Complaint, Compliment, Angry, Thanks} {
			if !kinds[key{lang, k}] {
				t.Errorf("no %s text in %s", k, lang)
			}
		}
		for _, f := range []Form{Post, DM, Mail} {
			if !forms[lang][f] {
				t.Errorf("no %s text in %s", f, lang)
			}
		}
		if !crisisLangs[lang] {
			t.Errorf("no crisis text in %s", lang)
		}
	}
	if public < 50 || private < 50 {
		t.Errorf("%d public and %d private texts, want plenty of both", public, private)
	}
}

func TestCorpusTexts(t *testing.T) {
	for _, tx := range Corpus() {
		subject, body := tx.Fill(longest(tx.Lang))
		if !utf8.ValidString(tx.Body) || !utf8.ValidString(tx.Subject) {
			t.Errorf("invalid UTF-8: %q", tx.Body)
		}
		if strings.ContainsAny(body+subject, "{}") {
			t.Errorf("placeholder left after Fill: %q", body)
		}
		if (tx.Form == Mail) != (tx.Subject != "") {
			t.Errorf("%s text with subject %q: %q", tx.Form, tx.Subject, tx.Body)
		}
		if strings.Contains(strings.ToUpper(body+subject), "KLM") {
			t.Errorf("the demo airline is fictional, but this text names KLM: %q", body)
		}
		// Public texts go to X as they are; public follow-ups and DMs the
		// simulator posts in public get the mention in front.
		if tx.Form != Mail {
			onX := body
			if !strings.Contains(onX, "@HeronAir") {
				onX = "@HeronAir " + onX
			}
			if n := xLength(onX); n > 280 {
				t.Errorf("%d characters on X, over 280: %q", n, onX)
			}
		}
	}
}

func TestOurHandle(t *testing.T) {
	tests := []struct{ name, kind, in, want string }{
		{"x keeps the mention", "x", "@HeronAir where is my bag?", "@HeronAir where is my bag?"},
		{"a page comment needs none", "facebook", "@HeronAir where is my bag?", "where is my bag?"},
		{"a page comment names Heron", "facebook", "Thanks @HeronAir!", "Thanks Heron!"},
		{"instagram handle", "instagram", "Thanks @HeronAir!", "Thanks @heronair!"},
		{"mastodon account on its instance", "mastodon", "@HeronAir hi", "@HeronAir@mastodon.example hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ourHandle(tt.in, tt.kind); got != tt.want {
				t.Errorf("ourHandle(%q, %s) = %q, want %q", tt.in, tt.kind, got, tt.want)
			}
		})
	}
}
