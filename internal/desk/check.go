package desk

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// CheckText bounds a free-text field by characters, after trimming.
func CheckText(field, v string, min, max int) error {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	switch {
	case !utf8.ValidString(v):
		return invalid("%s is not valid UTF-8", field)
	case n < min && min == 1:
		return invalid("%s is required", field)
	case n < min:
		return invalid("%s must be at least %d characters", field, min)
	case n > max:
		return invalid("%s is %d characters; the limit is %d", field, n, max)
	case strings.ContainsRune(v, 0):
		return invalid("%s contains a NUL character", field)
	}
	return nil
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)

// CheckLanguages accepts BCP 47-like tags ("nl", "pt-BR"), lowercased.
func CheckLanguages(langs []string) ([]string, error) {
	if len(langs) > 50 {
		return nil, invalid("at most 50 languages")
	}
	out := make([]string, 0, len(langs))
	for _, l := range langs {
		l = strings.ToLower(strings.TrimSpace(l))
		if !languageTag.MatchString(l) {
			return nil, invalid("%q is not a language code like nl, en or pt-BR", l)
		}
		out = append(out, l)
	}
	return out, nil
}

// ValidEmail reports whether s is a bare e-mail address.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// CheckList bounds a list of short strings (skills, tags) and drops
// repeats.
func CheckList(field string, items []string, maxItems, maxLen int) ([]string, error) {
	if len(items) > maxItems {
		return nil, invalid("%s: at most %d items", field, maxItems)
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if err := CheckText(field, it, 1, maxLen); err != nil {
			return nil, err
		}
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out, nil
}
