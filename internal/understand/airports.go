package understand

import (
	_ "embed"
	"strings"
	"unicode"
)

//go:embed airports.txt
var airportsTxt string

// The airports of airports.txt, looked up word by word rather than by one
// great pattern, which would cost most of the analysis: codes in capitals,
// names in any case (or exactly as written, for names that are words too,
// "=Nice"), and names in Chinese, Japanese or Korean anywhere in the text,
// since those scripts put no spaces between words.
var (
	airportCodes = map[string]bool{}
	airportNames = map[string]string{} // lower-case name, words joined by one space → code
	airportExact = map[string]string{} // name as written → code
	airportCJK   []struct{ name, code string }
	maxNameWords = 1
)

func init() {
	for _, line := range strings.Split(airportsTxt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, rest, _ := strings.Cut(line, "\t")
		airportCodes[code] = true
		for _, n := range strings.Split(rest, "|") {
			n = strings.TrimSpace(n)
			switch e, exact := strings.CutPrefix(n, "="); {
			case n == "":
			case exact:
				airportExact[e] = code
			case isCJK(n):
				airportCJK = append(airportCJK, struct{ name, code string }{n, code})
			default:
				words := strings.Fields(strings.ToLower(n))
				airportNames[strings.Join(words, " ")] = code
				maxNameWords = max(maxNameWords, len(words))
			}
		}
	}
}

// found is an entity's place in the text and its value.
type found struct {
	start, end int
	value      string
}

// airports finds the airports in text, longest names first.
func airports(text string) []found {
	type word struct{ start, end int }
	var words []word
	start := -1
	for i, r := range text {
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’'
		switch {
		case inWord && start < 0 && !isCJKRune(r):
			start = i
		case (!inWord || isCJKRune(r)) && start >= 0:
			words = append(words, word{start, i})
			start = -1
		}
	}
	if start >= 0 {
		words = append(words, word{start, len(text)})
	}
	var out []found
	for i := 0; i < len(words); i++ {
		w := text[words[i].start:words[i].end]
		if airportCodes[w] {
			out = append(out, found{words[i].start, words[i].end, w})
			continue
		}
		if code, ok := airportExact[w]; ok {
			out = append(out, found{words[i].start, words[i].end, code})
			continue
		}
		for n := min(maxNameWords, len(words)-i); n >= 1; n-- {
			end := words[i+n-1].end
			name := strings.ToLower(strings.Join(strings.Fields(text[words[i].start:end]), " "))
			if code, ok := airportNames[name]; ok {
				out = append(out, found{words[i].start, end, code})
				i += n - 1
				break
			}
		}
	}
	if hasCJK(text) {
		for _, a := range airportCJK {
			for off := 0; ; {
				j := strings.Index(text[off:], a.name)
				if j < 0 {
					break
				}
				out = append(out, found{off + j, off + j + len(a.name), a.code})
				off += j + len(a.name)
			}
		}
	}
	return out
}

func hasCJK(s string) bool {
	for _, r := range s {
		if r >= 0x2E80 && isCJKRune(r) {
			return true
		}
	}
	return false
}
