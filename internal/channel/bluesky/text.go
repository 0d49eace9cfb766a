package bluesky

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
	"unicode"
	"unicode/utf8"
)

const base32Sortable = "234567abcdefghijklmnopqrstuvwxyz"

// TID derives a record key in TID syntax (atproto.com/specs/tid) from an
// idempotency key: 53 bits of microseconds since the epoch from at (when
// the reply was written, the same on every attempt) and a 10-bit "clock
// identifier" from a hash of key. The same key and time always give the
// same TID, so a retry writes to the same record key; two replies collide
// only if written in the same microsecond with the same 10 hash bits.
// A zero at takes the microseconds from the hash too, within 2024.
func TID(key string, at time.Time) string {
	h := sha256.Sum256([]byte(key))
	clock := uint64(binary.BigEndian.Uint16(h[:2])) & 0x3FF
	var micros uint64
	if at.IsZero() || at.Unix() < 0 {
		start := uint64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
		micros = start + binary.BigEndian.Uint64(h[2:10])%uint64(365*24*time.Hour/time.Microsecond)
	} else {
		micros = uint64(at.UnixMicro())
	}
	v := (micros&(1<<53-1))<<10 | clock
	var b [13]byte
	for i := 12; i >= 0; i-- {
		b[i] = base32Sortable[v&31]
		v >>= 5
	}
	return string(b[:])
}

// ValidTID reports whether s has TID syntax.
func ValidTID(s string) bool {
	if len(s) != 13 {
		return false
	}
	for i := 0; i < 13; i++ {
		c := s[i]
		ok := c >= '2' && c <= '7' || c >= 'a' && c <= 'z'
		if i == 0 {
			ok = c >= '2' && c <= '7' || c >= 'a' && c <= 'j'
		}
		if !ok {
			return false
		}
	}
	return true
}

// Graphemes counts user-perceived characters the way Bluesky limits posts
// (300 graphemes), close enough without a segmentation table: combining
// marks, variation selectors, emoji modifiers and tags join the character
// before them, a zero-width joiner joins two characters into one, a pair of
// regional indicators is one flag, and CR LF is one break.
func Graphemes(s string) int {
	n := 0
	join := false // the previous rune was a ZWJ
	ri := false   // an unpaired regional indicator was counted
	var prev rune
	for _, r := range s {
		switch {
		case r == 0x200D:
			join = true
			prev = r
			continue
		case join:
			join = false
		case r == '\n' && prev == '\r':
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc),
			r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF,
			r >= 0x1F3FB && r <= 0x1F3FF, r >= 0xE0020 && r <= 0xE007F,
			r >= 0x1160 && r <= 0x11FF:
		case r >= 0x1F1E6 && r <= 0x1F1FF:
			if ri {
				ri = false
			} else {
				ri = true
				n++
			}
			prev = r
			continue
		default:
			n++
		}
		ri = false
		prev = r
	}
	return n
}

// byteIndex finds the first "@handle" in text not inside a longer handle
// and returns its UTF-8 byte offsets (what facets use), or -1.
func byteIndex(text, handle string) (start, end int) {
	needle := "@" + handle
	for i := 0; i+len(needle) <= len(text); {
		j := indexFold(text[i:], needle)
		if j < 0 {
			break
		}
		s, e := i+j, i+j+len(needle)
		before := s == 0 || !handleByte(text[s-1])
		after := e == len(text) || !handleByte(text[e]) || (text[e] == '.' && (e+1 == len(text) || !handleByte(text[e+1])))
		if before && after {
			return s, e
		}
		i = s + 1
	}
	return -1, -1
}

func handleByte(b byte) bool {
	return b == '.' || b == '-' || b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= utf8.RuneSelf
}

// indexFold is strings.Index ignoring ASCII case (handles are ASCII).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for k := 0; k < len(sub); k++ {
			a, b := s[i+k], sub[k]
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			if a != b {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}
