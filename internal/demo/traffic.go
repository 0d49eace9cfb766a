package demo

import (
	"math/rand/v2"
	"strings"
	"time"
)

// apiMessage is the body of POST /api/v1/channels/{id}/messages.
type apiMessage struct {
	ID       string    `json:"id"`
	From     apiAuthor `json:"from"`
	Text     string    `json:"text"`
	ReplyTo  string    `json:"reply_to,omitempty"`
	Private  bool      `json:"private"`
	Language string    `json:"language,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	SentAt   string    `json:"sent_at"`
}

type apiAuthor struct {
	ID     string `json:"id"`
	Handle string `json:"handle,omitempty"`
	Name   string `json:"name,omitempty"`
}

// outgoing is one message on its way, with what the simulator knows of it.
type outgoing struct {
	ch           SeededChannel
	msg          apiMessage
	crisis       bool
	redelivery   bool
	continuation bool
}

// author is a simulated customer on one channel.
type author struct {
	ch      int // index into Simulator.Channels
	first   string
	lang    string
	id      identity
	private bool
	lastID  string // the last message in their thread, theirs or ours
	subject string // of their e-mail thread
}

// next makes the next message: a re-delivery, a continuation or a new
// customer. Crisis asks for mostly crisis texts.
func (s *Simulator) next(crisis bool) outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.r
	if len(s.remembered) > 0 && r.Float64() < redeliveryShare {
		o := s.remembered[r.IntN(len(s.remembered))]
		o.redelivery, o.continuation = true, false
		s.redeliveries.Add(1)
		return o
	}
	crisis = crisis && r.Float64() < crisisShare
	a, cont := s.pickAuthor(r)
	ch := s.Channels[a.ch]
	kind := ch.Channel.Kind
	form := formFor(kind, a.private)

	followUp := cont && !crisis && r.IntN(10) < 6
	t, ok := s.texts.pick(r, a.lang, form, crisis, followUp)
	if !ok {
		t, _ = s.texts.pick(r, "en", form, false, false)
	}
	if !cont && a.private && t.Kind == Thanks && r.IntN(10) < 7 {
		// A new DM that only says thanks mostly follows a phone call the
		// inbox never saw; keep a few, they happen, but not many.
		t, _ = s.texts.pick(r, a.lang, form, crisis, false)
	}
	subject, body := t.Fill(randomValues(r, a.lang, a.first))
	switch {
	case a.private:
		body = strings.TrimPrefix(body, "@HeronAir ") // a DM needs no mention
	case t.Form != Post && (kind == "x" || kind == "mastodon"):
		body = ourHandle("@HeronAir "+body, kind) // replies in public carry the mention
	default:
		body = ourHandle(body, kind)
	}
	if form == Mail {
		switch {
		case cont && a.subject != "":
			subject = "Re: " + a.subject
		case subject == "":
			subject = genericSubject[a.lang]
		}
		if a.subject == "" {
			a.subject = subject
		}
	} else {
		subject = ""
	}

	now := s.now()
	id := s.ids.message(kind, a.private, now, a.id.domain)
	var replyTo string
	if cont && a.lastID != "" && r.IntN(10) < 6 {
		replyTo = a.lastID
	}
	a.lastID = id
	// A webhook arrives a moment after the customer pressed send.
	sentAt := now.Add(-time.Duration(r.IntN(3000)) * time.Millisecond)
	o := outgoing{
		ch: ch, crisis: t.Crisis, continuation: cont,
		msg: apiMessage{
			ID: id, From: apiAuthor{ID: a.id.externalID, Handle: a.id.handle, Name: a.id.name},
			Text: body, ReplyTo: replyTo, Private: a.private, Language: a.lang, Subject: subject,
			SentAt: sentAt.UTC().Format(time.RFC3339),
		},
	}
	if cont {
		s.continuations.Add(1)
	}
	s.remember(o)
	return o
}

// pickAuthor returns a customer who wrote before, or a new one; the second
// result says which.
func (s *Simulator) pickAuthor(r *rand.Rand) (*author, bool) {
	if r.Float64() < continuationShare {
		if len(s.regulars) > 0 && (len(s.recent) == 0 || r.Float64() < regularShare) {
			return s.regulars[r.IntN(len(s.regulars))], true
		}
		if len(s.recent) > 0 {
			return s.recent[r.IntN(len(s.recent))], true
		}
	}
	a := s.newAuthor(r)
	if len(s.recent) < maxRecent {
		s.recent = append(s.recent, a)
	} else {
		s.recent[s.ringAt[0]] = a
		s.ringAt[0] = (s.ringAt[0] + 1) % maxRecent
	}
	return a, false
}

func (s *Simulator) remember(o outgoing) {
	if len(s.remembered) < maxRemembered {
		s.remembered = append(s.remembered, o)
		return
	}
	s.remembered[s.ringAt[1]] = o
	s.ringAt[1] = (s.ringAt[1] + 1) % maxRemembered
}

// newAuthor makes up a customer on a channel drawn by weight, writing in
// the channel's language now and then and otherwise in any.
func (s *Simulator) newAuthor(r *rand.Rand) *author {
	ch := weighted(r, s.weights)
	c := s.Channels[ch].Channel
	lang := c.Locale
	if lang == "" || r.IntN(10) >= 4 {
		lang = pickLanguage(r)
	}
	p := newPerson(r, lang)
	private := !publicKinds[c.Kind] || r.IntN(100) < 15
	return &author{ch: ch, first: p.first, lang: lang, id: newIdentity(r, c.Kind, p), private: private}
}

// regularAuthor turns a seeded customer into an author, or nil if their
// channel is not among the simulator's.
func (s *Simulator) regularAuthor(reg Regular) *author {
	for i, c := range s.Channels {
		if c.Channel.ID != reg.ChannelID {
			continue
		}
		id := identity{externalID: reg.ExternalID, handle: reg.Handle, name: reg.Name}
		if _, domain, ok := strings.Cut(reg.ExternalID, "@"); ok && c.Channel.Kind == "email" {
			id.domain = domain
		}
		return &author{ch: i, first: firstName(reg.Name), lang: reg.Language, id: id, private: reg.Private, lastID: reg.LastReplyID}
	}
	return nil
}

// formFor is the shape of text a channel carries.
func formFor(kind string, private bool) Form {
	switch {
	case kind == "email" || kind == "api":
		return Mail
	case private:
		return DM
	}
	return Post
}

func pickLanguage(r *rand.Rand) string {
	total := 0
	for _, w := range languageWeights {
		total += w.weight
	}
	n := r.IntN(total)
	for _, w := range languageWeights {
		if n < w.weight {
			return w.lang
		}
		n -= w.weight
	}
	return "en"
}

// weighted draws an index with probability proportional to its weight.
func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}
