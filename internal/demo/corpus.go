package demo

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// Kind is what a customer message does, as a webcare agent would label it.
type Kind string

// Message kinds.
const (
	Question   Kind = "question"
	Complaint  Kind = "complaint"
	Compliment Kind = "compliment"
	Angry      Kind = "angry" // angry, insulting or threatening: de-escalate first
	Thanks     Kind = "thanks"
)

// Form is the shape of a text, which decides the channels it suits.
type Form string

// Text forms.
const (
	Post Form = "post" // a public mention or comment; fits X's 280 characters
	DM   Form = "dm"   // a private message: WhatsApp, Telegram, an X or Facebook DM, web chat
	Mail Form = "mail" // an e-mail, with a subject
)

// Text is one customer message of the demo corpus. Its body and subject may
// hold placeholders that Fill replaces: {flight}, {city}, {minutes},
// {hours}, {code} (a booking code), {name} (the writer's first name) and
// {crew} (a staff member's first name).
type Text struct {
	Lang     string // ISO 639-1: nl, en, de, fr, es, it, pt, ja, zh, ko, tr, ar, pl
	Kind     Kind
	Form     Form
	Crisis   bool   // written during an ash-cloud style disruption
	FollowUp bool   // makes sense only inside a running conversation
	Subject  string // for Form Mail
	Body     string
}

// Public reports whether the text is a public mention or comment rather than
// a private message.
func (t Text) Public() bool { return t.Form == Post }

// Values are what Fill puts in a text's placeholders.
type Values struct {
	Flight, City, Minutes, Hours, Code, Name, Crew string
}

// Fill returns the text's subject and body with the placeholders replaced.
func (t Text) Fill(v Values) (subject, body string) {
	rep := strings.NewReplacer(
		"{flight}", v.Flight, "{city}", v.City, "{minutes}", v.Minutes, "{hours}", v.Hours,
		"{code}", v.Code, "{name}", v.Name, "{crew}", v.Crew,
	)
	return rep.Replace(t.Subject), rep.Replace(t.Body)
}

// Corpus returns every text of the demo corpus: everyday traffic, follow-ups
// and crisis texts, labelled with language, kind and form. It is a copy; the
// caller may change it. Besides feeding the demo it is a labelled set to
// measure language detection and sentiment against.
func Corpus() []Text { return slices.Clone(corpus) }

// corpus is read-only; see corpus_texts.go.
var corpus = slices.Concat(dutch, english, german, french, spanish, italian, portuguese, others, crisisTexts)

// post, dm and mail keep the corpus listing short.
func post(lang string, k Kind, body string) Text {
	return Text{Lang: lang, Kind: k, Form: Post, Body: body}
}

func dm(lang string, k Kind, body string) Text {
	return Text{Lang: lang, Kind: k, Form: DM, Body: body}
}

func mail(lang string, k Kind, subject, body string) Text {
	return Text{Lang: lang, Kind: k, Form: Mail, Subject: subject, Body: body}
}

// followUp marks t as a message inside a running conversation.
func followUp(t Text) Text { t.FollowUp = true; return t }

// crisis marks t as written during a disruption.
func crisis(t Text) Text { t.Crisis = true; return t }

// textKey groups the corpus the way the simulator draws from it.
type textKey struct {
	lang     string
	form     Form
	crisis   bool
	followUp bool
}

// textIndex finds texts by language, form and situation.
type textIndex map[textKey][]Text

func newTextIndex(texts []Text) textIndex {
	ix := textIndex{}
	for _, t := range texts {
		k := textKey{t.Lang, t.Form, t.Crisis, t.FollowUp}
		ix[k] = append(ix[k], t)
	}
	return ix
}

// pick draws a text for lang in the wanted form. Rare languages do not have
// every form, and follow-ups have no form of their own, so it falls back to
// another form in the same language and then to English. The second result
// is false only if nothing fits at all.
func (ix textIndex) pick(r *rand.Rand, lang string, form Form, crisis, followUp bool) (Text, bool) {
	forms := []Form{form, DM, Post, Mail}
	for _, l := range []string{lang, "en"} {
		for _, f := range forms {
			if c := ix[textKey{l, f, crisis, followUp}]; len(c) > 0 {
				return c[r.IntN(len(c))], true
			}
		}
	}
	return Text{}, false
}

// genericSubject is what a writer puts above a mail that did not come with a
// subject of its own.
var genericSubject = map[string]string{
	"nl": "Vraag", "en": "Question", "de": "Frage", "fr": "Question", "es": "Consulta", "it": "Domanda",
	"pt": "Pergunta", "pl": "Pytanie", "tr": "Soru", "ja": "お問い合わせ", "zh": "咨询", "ko": "문의", "ar": "استفسار",
}

// ourHandle is how the text mentions Heron on a platform: comments on the
// Facebook page need no mention, Mastodon mentions carry the instance.
func ourHandle(body, kind string) string {
	switch kind {
	case "facebook":
		body = strings.TrimPrefix(body, "@HeronAir ")
		return strings.ReplaceAll(body, "@HeronAir", "Heron")
	case "instagram":
		return strings.ReplaceAll(body, "@HeronAir", "@heronair")
	case "mastodon":
		return strings.ReplaceAll(body, "@HeronAir", "@HeronAir@mastodon.example")
	}
	return body
}
