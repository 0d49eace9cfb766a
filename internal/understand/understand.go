// Package understand reads a customer's message: its language, sentiment
// and anger, topics, tone and urgency, the travel details in it, and
// private data posted in public. It runs offline: a small linear model
// trained from the repo's labelled corpus (data/understand) and embedded
// in the binary, a lexicon people can read and extend, and patterns.
package understand

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

//go:embed model.bin.gz
var embeddedModel []byte

// Analysis is what webcare reads in one message.
type Analysis struct {
	Language  string `json:"language"`
	Sentiment string `json:"sentiment"` // negative, neutral or positive
	Angry     bool   `json:"angry"`
	// Topics are the likely topics, the main one first.
	Topics      []string `json:"topics"`
	Tone        string   `json:"tone"` // formal or informal
	Urgent      bool     `json:"urgent"`
	Entities    []Entity `json:"entities"`
	PrivateData []string `json:"private_data"` // kinds of private data in the text
}

// Hints are what is known of a message besides its text.
type Hints struct {
	// Language was sent by the platform or integration; it wins.
	Language string
	// ContactLanguage is the language the customer wrote in before, and
	// ChannelLocale the channel's; they decide when the text is too short
	// to tell.
	ContactLanguage, ChannelLocale string
}

// Analyzer analyses messages; it is safe for concurrent use.
type Analyzer struct {
	model *Model
	lex   *Lexicon
}

// New returns an analyzer with the embedded model and lexicon, extended
// by lex's entries if lex is not nil.
func New(extra *Lexicon) (*Analyzer, error) {
	m, err := ReadModel(bytes.NewReader(embeddedModel))
	if err != nil {
		return nil, fmt.Errorf("understand: the embedded model does not load: %w", err)
	}
	lex, err := DefaultLexicon()
	if err != nil {
		return nil, err
	}
	if extra != nil {
		lex.merge(extra)
	}
	return &Analyzer{model: m, lex: lex}, nil
}

// WithModel returns an analyzer with another model (for training and
// evaluation) and the default lexicon.
func WithModel(m *Model, lex *Lexicon) *Analyzer {
	return &Analyzer{model: m, lex: lex}
}

// Analyze reads text. Empty text, or text of nothing but emoji or marks,
// gives an analysis of what can be told (a neutral, other message in the
// hinted language).
func (a *Analyzer) Analyze(text string, h Hints) Analysis {
	out := Analysis{Topics: []string{}, Entities: []Entity{}, PrivateData: []string{}}
	rows := a.model.known(features(text, a.lex))

	out.Language = a.language(text, rows, h)
	sent := a.model.head("sentiment").predict(rows)
	out.Sentiment = sent.Class
	angry := a.model.head("angry").predict(rows)
	out.Angry = angry.P[1] >= 0.5
	if out.Angry {
		out.Sentiment = "negative" // angry implies negative
	}
	topic := a.model.head("topic").predict(rows)
	out.Topics = topTopics(topic)
	out.Tone = a.model.head("tone").predict(rows).Class
	out.Urgent = a.model.head("urgent").predict(rows).P[1] >= 0.5
	if !readable(text) {
		// Nothing but marks, digits or white space: nothing to read.
		out.Sentiment, out.Angry, out.Topics, out.Urgent = "neutral", false, []string{"other"}, false
	}
	out.Entities, out.PrivateData = Entities(text)
	return out
}

// topTopics is the main topic and any other nearly as likely.
func topTopics(p Prediction) []string {
	type tp struct {
		name string
		p    float32
	}
	var all []tp
	for i, c := range Topics {
		all = append(all, tp{c, p.P[i]})
	}
	slices.SortStableFunc(all, func(a, b tp) int {
		switch {
		case a.p > b.p:
			return -1
		case a.p < b.p:
			return 1
		}
		return 0
	})
	out := []string{all[0].name}
	for _, t := range all[1:3] {
		if t.p >= 0.25 && t.p >= all[0].p/2 {
			out = append(out, t.name)
		}
	}
	return out
}

// language decides the language: the hint of the platform, the script
// for Chinese, Japanese and Korean, the model, and when the text says too
// little, the contact's earlier language or the channel's.
func (a *Analyzer) language(text string, rows []int32, h Hints) string {
	if l := baseLanguage(h.Language); l != "" {
		return l
	}
	if l := scriptLanguage(text); l != "" {
		return l
	}
	p := a.model.head("language").predict(rows)
	best := slices.Max(p.P)
	if best < 0.5 || letters(text) < 6 {
		for _, prior := range []string{h.ContactLanguage, h.ChannelLocale} {
			if l := baseLanguage(prior); l != "" && l != "ja" && l != "zh" && l != "ko" {
				return l
			}
		}
	}
	return p.Class
}

// baseLanguage is the primary subtag of a language tag ("pt-BR" → "pt"),
// if it is one webcare reads, else "".
func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	base, _, _ = strings.Cut(base, "_")
	if slices.Contains(Languages, base) {
		return base
	}
	return ""
}

// scriptLanguage tells Japanese (kana), Korean (hangul) and Chinese (han
// without kana) by their scripts, when they make up much of the letters.
func scriptLanguage(text string) string {
	var han, kana, hangul, all int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
		default:
			continue
		}
		all++
	}
	switch {
	case all == 0:
		return ""
	case hangul*3 >= all:
		return "ko"
	case kana > 0 && (kana+han)*3 >= all:
		return "ja"
	case han*3 >= all:
		return "zh"
	}
	return ""
}

// readable says whether text has letters or emoji, which say something.
func readable(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || isEmoji(r) {
			return true
		}
	}
	return false
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}
