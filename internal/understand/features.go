package understand

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxText bounds the text that is read: a message's first 4 KiB say what
// it is about; 64 KiB of one character must cost no more than a tweet.
const maxText = 4 << 10

var (
	urlRE    = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`)
	handleRE = regexp.MustCompile(`@[\pL\pN_.]+`)
	flightRE = regexp.MustCompile(`\b[A-Z][A-Z0-9] ?\d{1,4}\b`)
	numberRE = regexp.MustCompile(`\d+`)
)

// lexRepeat are the features each lexicon category gives: sixteen, so
// that a category, which stands for many words in ten languages, weighs
// like more than one character n-gram. (Chosen by 4-fold cross-validation
// on the training part: topic macro-F1 0.62 with one, 0.73 with six, 0.76
// with sixteen to twenty.)
var lexRepeat = func() []string {
	out := make([]string, 16)
	for i := range out {
		out[i] = fmt.Sprint("L", i)
	}
	return out
}()

// features turns a text into the hashed features the model reads: words
// and word pairs, the character n-grams of each word (which survive typos
// and inflection), the shape of the text (capitals, "!!!", length, emoji),
// and the lexicon's categories. Each feature counts once.
func features(text string, lex *Lexicon) []uint32 {
	if len(text) > maxText {
		text = text[:maxText]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	f := &featureBuf{}
	shape(f, text)

	t := urlRE.ReplaceAllString(text, " ⟨url⟩ ")
	t = handleRE.ReplaceAllString(t, " ⟨at⟩ ")
	t = flightRE.ReplaceAllString(t, " ⟨flight⟩ ")
	t = numberRE.ReplaceAllString(t, "0")
	t = norm.NFKC.String(strings.ToLower(t))
	t = squash(t)

	words := tokens(t)
	prev := "⟨s⟩"
	for _, w := range words {
		f.add("w", w)
		f.add("b", prev+" "+w)
		prev = w
		if isCJK(w) {
			continue // one character: its unigram and pairs say it all
		}
		padded := []rune("^" + w + "$")
		for n := 2; n <= 4; n++ {
			for i := 0; i+n <= len(padded); i++ {
				f.add("c", string(padded[i:i+n]))
			}
		}
	}
	f.add("b", prev+" ⟨/s⟩")
	if lex != nil {
		for _, cat := range lex.match(words) {
			for _, k := range lexRepeat {
				f.add(k, cat)
			}
		}
	}
	slices.Sort(f.ids)
	return slices.Compact(f.ids)
}

type featureBuf struct{ ids []uint32 }

func (f *featureBuf) add(kind, s string) {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(s))
	f.ids = append(f.ids, h.Sum32())
}

// shape notes how the text is written: shouting, "!!!", "??", length,
// emoji. Capitals are read before the text is lower-cased.
func shape(f *featureBuf, text string) {
	letters, upper, emoji := 0, 0, 0
	for _, r := range text {
		switch {
		case unicode.IsUpper(r):
			letters++
			upper++
		case unicode.IsLetter(r):
			letters++
		case isEmoji(r):
			emoji++
		}
	}
	if letters >= 8 && upper*10 >= letters*7 {
		f.add("S", "caps")
		f.add("S2", "caps")
	}
	capsWords := 0
	for _, w := range strings.Fields(text) {
		if n := utf8.RuneCountInString(w); n >= 4 && strings.ToUpper(w) == w && strings.ToLower(w) != w && !flightRE.MatchString(w) {
			capsWords++
		}
	}
	if capsWords >= 2 {
		f.add("S", "capswords")
	}
	for _, mark := range []string{"!!!", "!!", "??", "?!", "!?", "...", "？", "！"} {
		if strings.Contains(text, mark) {
			f.add("S", mark)
		}
	}
	if strings.Contains(text, "?") || strings.Contains(text, "？") {
		f.add("S", "?")
	}
	if emoji > 0 {
		f.add("S", "emoji")
	}
	if strings.ToLower(text) == text && letters > 0 {
		f.add("S", "nocaps")
	}
	n := len(strings.Fields(text))
	switch {
	case n < 4:
		f.add("S", "len<4")
	case n < 12:
		f.add("S", "len<12")
	case n < 40:
		f.add("S", "len<40")
	default:
		f.add("S", "len40+")
	}
}

// tokens splits lower-cased text into words; Chinese, Japanese and Korean
// runs become one token per character, since they are written without
// spaces. Emoji are tokens of their own.
func tokens(t string) []string {
	var out []string
	var word []rune
	flush := func() {
		if len(word) > 0 {
			out = append(out, string(word))
			word = word[:0]
		}
	}
	for _, r := range t {
		switch {
		case isCJKRune(r):
			flush()
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '⟨' || r == '⟩' || unicode.Is(unicode.Mn, r):
			word = append(word, r)
		case r == '\'' || r == '’':
			// "don't", "l'avion": part of the word
			if len(word) > 0 {
				word = append(word, '\'')
			}
		case isEmoji(r):
			flush()
			out = append(out, string(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

func isCJKRune(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isCJK(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return isCJKRune(r)
}

func isEmoji(r rune) bool {
	return (r >= 0x1F300 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF) || (r >= 0x1F000 && r <= 0x1F2FF)
}

// squash cuts a letter repeated more than twice to two: "sooooo" and
// "soooo" read alike, as "soo".
func squash(s string) string {
	var b strings.Builder
	var last rune
	n := 0
	for _, r := range s {
		if r == last {
			n++
		} else {
			last, n = r, 1
		}
		if n <= 2 || !unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
