// Package i18n is the message catalogue of the agent UI. Every string an
// agent reads goes through it, so that a new UI language is one file in
// locales/ and nothing else.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed locales
var files embed.FS

// Fallback is the language used for a missing locale or message.
const Fallback = "en"

// Catalogue holds the messages of every UI language.
type Catalogue struct {
	messages map[string]map[string]string
	locales  []string
}

// Load reads the embedded catalogue: one folder per language under
// locales/, each with any number of JSON files (one per part of the UI).
// It fails on invalid JSON or a key defined twice, so a broken
// translation stops the start, not a page.
func Load() (*Catalogue, error) {
	dirs, err := files.ReadDir("locales")
	if err != nil {
		return nil, err
	}
	c := &Catalogue{messages: map[string]map[string]string{}}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		loc := d.Name()
		m := map[string]string{}
		parts, err := fs.Glob(files, "locales/"+loc+"/*.json")
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			raw, err := files.ReadFile(p)
			if err != nil {
				return nil, err
			}
			part := map[string]string{}
			if err := json.Unmarshal(raw, &part); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("%s: %q is defined twice in %s", p, k, loc)
				}
				m[k] = v
			}
		}
		c.messages[loc] = m
		c.locales = append(c.locales, loc)
	}
	if c.messages[Fallback] == nil {
		return nil, fmt.Errorf("locale %s is missing", Fallback)
	}
	slices.Sort(c.locales)
	return c, nil
}

// Locales lists the UI languages, sorted.
func (c *Catalogue) Locales() []string { return c.locales }

// Has reports whether loc is a UI language.
func (c *Catalogue) Has(loc string) bool { return c.messages[loc] != nil }

// Keys lists the message keys of one locale, sorted.
func (c *Catalogue) Keys(loc string) []string {
	keys := make([]string, 0, len(c.messages[loc]))
	for k := range c.messages[loc] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Knows reports whether the fallback language has a message for key.
func (c *Catalogue) Knows(key string) bool {
	_, ok := c.messages[Fallback][key]
	return ok
}

// T translates key into loc, falling back to English, then to the key
// itself so that a missing message shows rather than vanishes. Arguments
// fill the message's fmt verbs.
func (c *Catalogue) T(loc, key string, args ...any) string {
	msg, ok := c.messages[loc][key]
	if !ok {
		if msg, ok = c.messages[Fallback][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Match picks the UI language for an Accept-Language header: the first
// listed language the catalogue has, else the fallback.
func (c *Catalogue) Match(acceptLanguage string) string {
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if c.Has(base) {
			return base
		}
	}
	return Fallback
}
