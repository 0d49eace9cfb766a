package demo

import (
	"slices"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// generatedMix is who the made-up customers are: mostly Dutch and English
// as at an Amsterdam airline, every channel, and a few languages the team
// can barely serve.
var generatedMix = []struct{ lang, via string }{
	{"nl", "x"}, {"en", "x"}, {"nl", "whatsapp"}, {"de", "email"}, {"fr", "facebook"}, {"es", "instagram"},
	{"en", "webchat"}, {"it", "whatsapp"}, {"pt", "x"}, {"nl", "facebook"}, {"en", "email"}, {"tr", "x"},
	{"ko", "instagram"}, {"zh", "webchat"}, {"ar", "whatsapp"}, {"nl", "email"}, {"en", "telegram"}, {"de", "x"},
}

// thread outcomes for the most recent conversation of a made-up customer.
const (
	waiting  = iota // nobody has answered yet: the inbox is not empty on start
	answered        // answered, and the customer wrote again
	pending         // answered, waiting for the customer
	done            // resolved
)

// generatedStories makes customers from the corpus, answered with the
// templates, so the inbox and the contact list are full without writing
// every history by hand.
func (s *seeder) generatedStories() []story {
	ix := newTextIndex(corpus)
	var out []story
	for i, m := range generatedMix {
		p := newPerson(s.r, m.lang)
		id := newIdentity(s.r, m.via, p)
		who := persona{name: id.name, first: p.first, lang: m.lang, ids: map[string]identity{m.via: id}}
		if id.name == "" {
			who.name = p.name
		}
		// Nobody on the team writes Turkish or Arabic, and the Asian desk
		// is off: these customers have only their first, unanswered message.
		n := 1 + s.r.IntN(3)
		last := i % 4
		if len(s.speakers(m.lang)) == 0 || m.lang == "ko" || m.lang == "zh" {
			n, last = 1, waiting
		}
		agos := s.pastDays(n)
		var threads []thread
		for j := range n {
			outcome := done
			if j == n-1 {
				outcome = last
			}
			threads = append(threads, s.generatedThread(ix, who, m.via, agos[j], outcome))
		}
		out = append(out, story{who: who, threads: threads})
	}
	return out
}

// pastDays returns n moments between a week and a year ago, oldest first.
func (s *seeder) pastDays(n int) []time.Duration {
	agos := make([]time.Duration, n)
	for i := range agos {
		agos[i] = 7*day + time.Duration(s.r.IntN(330))*day + time.Duration(s.r.IntN(24*60))*time.Minute
	}
	slices.SortFunc(agos, func(a, b time.Duration) int { return int(b - a) })
	return agos
}

func (s *seeder) generatedThread(ix textIndex, who persona, via string, ago time.Duration, outcome int) thread {
	r := s.r
	private := !slices.Contains([]string{"x", "facebook", "instagram", "mastodon"}, via) || r.IntN(4) == 0
	form := Post
	switch {
	case via == "email" || via == "api":
		form = Mail
	case private:
		form = DM
	}
	text, _ := ix.pick(r, who.lang, form, false, false)
	// A first private message that only says thanks would thank for nothing.
	for try := 0; try < 5 && private && text.Kind == Thanks; try++ {
		text, _ = ix.pick(r, who.lang, form, false, false)
	}
	subject, body := text.Fill(randomValues(r, who.lang, who.first))
	if !private {
		body = ourHandle(body, via)
	}
	if form == Mail && subject == "" {
		subject = genericSubject[who.lang]
	}
	t := thread{via: via, private: private, subject: subject, tags: append(topics(body), string(text.Kind))}
	t.lines = []line{in(0, body)}

	switch outcome {
	case waiting:
		t.ago = time.Duration(4+r.IntN(70)) * time.Minute
		return t
	case answered:
		t.ago = time.Duration(120+r.IntN(240)) * time.Minute // later than the reply and follow-up below
	case pending:
		t.ago = time.Duration(24+r.IntN(48)) * time.Hour
		// Only a reply that asks the customer something (the public move to
		// DM) leaves the next step to them; a private "I'll check" stays open.
		if !private {
			t.status = store.StatusPending
		}
	default:
		t.ago = ago
		t.status = store.StatusResolved
	}
	speakers := s.speakers(who.lang)
	agent := speakers[r.IntN(len(speakers))]
	wait := time.Duration(6+r.IntN(50)) * time.Minute // around the 30-minute average webcare aims for
	if via == "webchat" {
		wait = time.Duration(1+r.IntN(4)) * time.Minute // a chat visitor will not wait long
	}
	tone := casual
	if form == Mail {
		tone = formal
	}
	reply, _ := templateVariant(s.template(templateFor(text.Kind, body, !private)), who.lang, tone)
	t.lines = append(t.lines, out(wait, agent, reply))

	switch {
	case outcome == answered:
		f, _ := ix.pick(r, who.lang, DM, false, true)
		_, fb := f.Fill(randomValues(r, who.lang, who.first))
		t.lines = append(t.lines, in(time.Duration(10+r.IntN(40))*time.Minute, fb))
	case outcome == done && r.IntN(2) == 0:
		thanks := ix[textKey{who.lang, DM, false, true}]
		thanks = slices.DeleteFunc(slices.Clone(thanks), func(x Text) bool { return x.Kind != Thanks })
		if len(thanks) > 0 {
			t.lines = append(t.lines, in(time.Duration(3+r.IntN(30))*time.Minute, thanks[r.IntN(len(thanks))].Body))
		}
	}
	return t
}

func (s *seeder) template(shortcut string) store.Template {
	for _, t := range s.templates {
		if t.Shortcut == shortcut {
			return t
		}
	}
	return store.Template{}
}

// templateFor is the canned reply an agent would start from.
func templateFor(k Kind, body string, public bool) string {
	topic := topics(body)
	switch k {
	case Angry:
		return "calm"
	case Compliment, Thanks:
		return "thanks"
	case Complaint:
		switch {
		case slices.Contains(topic, "baggage"):
			return "bag"
		case slices.Contains(topic, "delay"):
			return "delay"
		}
		return "sorry"
	}
	if public {
		return "dm" // details belong in private (seed 001)
	}
	if slices.Contains(topic, "delay") {
		return "delay"
	}
	return "check"
}

// topicWords are rough keyword signs of a topic in the corpus languages.
var topicWords = map[string][]string{
	"baggage": {"koffer", "bag", "luggage", "suitcase", "valise", "bagage", "maleta", "valigia", "bagaglio", "mala", "bagaż", "bavul", "行李", "手荷物"},
	"delay":   {"vertraging", "delay", "verspätung", "retard", "retraso", "ritardo", "atraso", "opóźn", "遅れ", "지연", "تأخر"},
}

// topics tags a text the way an agent would at a glance.
func topics(body string) []string {
	lower := strings.ToLower(body)
	var out []string
	for _, topic := range []string{"baggage", "delay"} {
		for _, w := range topicWords[topic] {
			if strings.Contains(lower, w) {
				out = append(out, topic)
				break
			}
		}
	}
	return out
}
