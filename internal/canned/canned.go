// Package canned fills reply templates: it picks the variant in the
// conversation's language and tone and replaces {{variables}} with what is
// known about the contact, the agent and the conversation.
package canned

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

// Pick chooses the variant of t to use: the conversation's language and
// tone, else that language in any tone, else each fallback language in
// turn, else the first variant. ok is false for a template without
// variants.
func Pick(t store.Template, lang, tone string, fallbacks ...string) (v store.TemplateVariant, ok bool) {
	if len(t.Variants) == 0 {
		return v, false
	}
	for _, l := range append([]string{lang}, fallbacks...) {
		if l == "" {
			continue
		}
		var any *store.TemplateVariant
		for i, v := range t.Variants {
			if !strings.EqualFold(v.Language, l) {
				continue
			}
			if tone == "" || strings.EqualFold(v.Tone, tone) {
				return v, true
			}
			if any == nil {
				any = &t.Variants[i]
			}
		}
		if any != nil {
			return *any, true
		}
	}
	return t.Variants[0], true
}

// Vars are the values a template may use.
type Vars map[string]string

// For builds the variables of one conversation.
func For(contact store.Contact, agent store.Agent, c store.Conversation, ch store.Channel) Vars {
	v := Vars{
		"contact.name":       contact.Name,
		"contact.first_name": firstWord(contact.Name),
		"agent.name":         firstWord(agent.Name),
		"agent.full_name":    agent.Name,
		"channel.name":       ch.Name,
		"conversation.id":    strconv.FormatInt(c.ID, 10),
	}
	for _, id := range contact.Identities {
		if id.Handle != "" && v["contact.handle"] == "" {
			v["contact.handle"] = id.Handle
		}
	}
	if v["contact.name"] == "" {
		v["contact.name"] = v["contact.handle"]
		v["contact.first_name"] = v["contact.handle"]
	}
	return v
}

var varRE = regexp.MustCompile(`\{\{\s*([a-z_.]+)\s*\}\}`)

// Fill replaces every {{name}} with its value; unknown variables stay as
// they are so that the agent sees and fixes them before sending.
func Fill(body string, v Vars) string {
	return varRE.ReplaceAllStringFunc(body, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		if val, ok := v[name]; ok && val != "" {
			return val
		}
		return m
	})
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
