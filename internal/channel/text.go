package channel

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clip cuts s to at most n bytes without splitting a character.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Excerpt is a platform's answer made fit for an error an agent reads:
// trimmed, and beyond 300 bytes cut at a character with its length noted.
func Excerpt(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", Clip(s, 300), len(s))
	}
	return s
}
