package x

import (
	"strings"
	"unicode/utf8"
)

// MaxWeight is the longest post X accepts, in Weight units.
const MaxWeight = 280

// urlWeight is what any URL counts for: X shortens every link to a
// t.co link of this length (twitter-text transformedURLLength).
const urlWeight = 23

// Weight is the length X gives a post, after twitter-text's version 3
// configuration: code points in the ranges 0–4351 (Latin, Greek,
// Cyrillic, Hebrew, Arabic, Indic scripts, …), 8192–8205, 8208–8223 and
// 8242–8247 (spaces and punctuation) count 1, every other code point
// (CJK, most symbols) counts 2, every URL counts 23 whatever its length,
// and an emoji counts 2 even when it is a sequence of several code points
// joined by ZWJ, with a skin tone, a flag or a keycap. A post may weigh
// MaxWeight.
//
// Two simplifications, both on the safe side or caught by X itself: the
// text is not NFC-normalised first (a decomposed accent counts as two),
// and bare domains are recognised only under common top-level domains
// (links with http:// or https:// always are).
func Weight(text string) int {
	w := 0
	prev := ' '
	for i := 0; i < len(text); {
		if urlBoundary(prev) {
			if n := matchURL(text[i:]); n > 0 {
				w += urlWeight
				i += n
				prev = 'x'
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if n := emojiLen(text[i:]); n > 0 {
			w += 2
			i += n
			prev = 'x'
			continue
		}
		w += runeWeight(r)
		i += size
		prev = r
	}
	return w
}

func runeWeight(r rune) int {
	switch {
	case r <= 4351, 8192 <= r && r <= 8205, 8208 <= r && r <= 8223, 8242 <= r && r <= 8247:
		return 1
	}
	return 2
}

// urlBoundary: a link starts after a space, punctuation or the start of
// the text, not inside a word, a @mention, #hashtag or $cashtag.
func urlBoundary(prev rune) bool {
	switch {
	case prev == '@' || prev == '#' || prev == '$' || prev == '.' || prev == '/' || prev == '-' || prev == '_':
		return false
	case prev < utf8.RuneSelf:
		return !('a' <= prev && prev <= 'z' || 'A' <= prev && prev <= 'Z' || '0' <= prev && prev <= '9')
	}
	return true
}

// tlds are the top-level domains under which a bare domain ("example.com")
// counts as a link.
var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "co": true, "nl": true, "be": true, "de": true,
	"eu": true, "uk": true, "fr": true, "es": true, "it": true, "info": true, "biz": true, "app": true,
	"dev": true, "me": true, "tv": true, "ly": true, "to": true, "ai": true, "us": true, "ca": true,
	"au": true, "ch": true, "at": true, "se": true, "no": true, "dk": true, "fi": true, "pl": true,
	"pt": true, "ie": true, "jp": true, "br": true, "in": true, "shop": true, "online": true, "xyz": true,
	"gov": true, "edu": true,
}

// matchURL is the length of the link s starts with, or 0.
func matchURL(s string) int {
	n := 0
	lower := func(k int) string { return strings.ToLower(s[:min(k, len(s))]) }
	switch {
	case lower(8) == "https://":
		n = 8
	case lower(7) == "http://":
		n = 7
	}
	host := n
	for host < len(s) && hostByte(s[host]) {
		host++
	}
	domain := strings.Trim(s[n:host], ".-")
	dot := strings.LastIndexByte(domain, '.')
	if n == 0 {
		// A bare domain needs a known top-level domain.
		if dot <= 0 || !tlds[strings.ToLower(domain[dot+1:])] {
			return 0
		}
	} else if domain == "" {
		return 0
	}
	end := n + len(domain)
	if s[n:end] != domain { // leading dots or dashes: not a link
		return 0
	}
	if end < len(s) && (s[end] == '/' || s[end] == ':' || s[end] == '?' || s[end] == '#') {
		for end < len(s) && !isSpace(s[end]) && s[end] < utf8.RuneSelf {
			end++
		}
		// Trailing punctuation ends the sentence, not the link.
		for end > n+len(domain) && strings.IndexByte(".,:;!?'\")]}", s[end-1]) >= 0 {
			if s[end-1] == ')' && strings.Count(s[n:end], "(") >= strings.Count(s[n:end], ")") {
				break
			}
			end--
		}
	} else if end < len(s) && s[end] < utf8.RuneSelf && (hostByte(s[end]) || s[end] == '@') {
		return 0
	}
	return end
}

func hostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// emojiLen is the length in bytes of the emoji sequence s starts with, or
// 0: a pictograph with its variation selector, skin tone, keycap or tag
// characters, ZWJ-joined to further pictographs; a pair of regional
// indicators (a flag); or a keycap (#, * or a digit with U+20E3).
func emojiLen(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == '#' || r == '*' || '0' <= r && r <= '9' || r == 0xA9 || r == 0xAE:
		// Plain characters unless dressed as an emoji.
		next, m := utf8.DecodeRuneInString(s[n:])
		vs16 := next == 0xFE0F
		if vs16 {
			n += m
			next, m = utf8.DecodeRuneInString(s[n:])
		}
		if next == 0x20E3 {
			return n + m
		}
		if vs16 && r > 0x7F {
			return n // © or ® with U+FE0F
		}
		return 0
	case 0x1F1E6 <= r && r <= 0x1F1FF:
		if next, m := utf8.DecodeRuneInString(s[n:]); 0x1F1E6 <= next && next <= 0x1F1FF {
			return n + m
		}
		return n
	case !pictograph(r):
		return 0
	}
	for n < len(s) {
		next, m := utf8.DecodeRuneInString(s[n:])
		switch {
		case next == 0xFE0F || next == 0xFE0E || next == 0x20E3,
			0x1F3FB <= next && next <= 0x1F3FF, // skin tones
			0xE0020 <= next && next <= 0xE007F: // tag sequences (subdivision flags)
			n += m
		case next == 0x200D: // ZWJ: joins the next pictograph into this emoji
			after, k := utf8.DecodeRuneInString(s[n+m:])
			if !pictograph(after) {
				return n
			}
			n += m + k
		default:
			return n
		}
	}
	return n
}

// pictograph reports whether r is in a block of emoji pictographs.
func pictograph(r rune) bool {
	switch {
	case 0x1F000 <= r && r <= 0x1FAFF, // Mahjong … Symbols and Pictographs Extended-A
		0x2600 <= r && r <= 0x27BF, // Miscellaneous Symbols, Dingbats
		0x2300 <= r && r <= 0x23FF, // Miscellaneous Technical (⌚ ⏰)
		0x2B00 <= r && r <= 0x2BFF, // arrows, ⭐ ⬛
		0x2190 <= r && r <= 0x21FF, // arrows
		r == 0x203C || r == 0x2049 || r == 0x2122 || r == 0x2139 || r == 0x3030 || r == 0x303D || r == 0x3297 || r == 0x3299:
		return true
	}
	return false
}
