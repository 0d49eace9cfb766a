package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// person is a fictional customer.
type person struct {
	name      string // as the profile shows it: "Sanne de Boer", "佐藤 美咲"
	first     string // what a reply calls them
	firstSlug string // ASCII parts for handles and addresses
	lastSlug  string
	lang      string
}

// Given and family names that are common in each language, combined at
// random so that no real person is meant.
var (
	givenNames = map[string][]string{
		"nl": {"Sanne", "Daan", "Eva", "Bram", "Lieke", "Thijs", "Noor", "Jeroen", "Marieke", "Sem", "Fleur", "Kees", "Anouk", "Joost", "Ilse", "Wouter", "Yara", "Ruud"},
		"en": {"Emily", "James", "Olivia", "Michael", "Sophie", "Daniel", "Hannah", "Ryan", "Chloe", "Ethan", "Grace", "Tyler"},
		"de": {"Lena", "Lukas", "Anna", "Felix", "Marie", "Tobias", "Katrin", "Moritz", "Julia", "Jan"},
		"fr": {"Camille", "Louis", "Chloé", "Hugo", "Manon", "Julien", "Léa", "Antoine"},
		"es": {"Lucía", "Javier", "Carmen", "Pablo", "Marta", "Alejandro", "Sofía", "Diego"},
		"it": {"Giulia", "Marco", "Chiara", "Luca", "Francesca", "Matteo", "Sara", "Alessandro"},
		"pt": {"Ana", "João", "Beatriz", "Pedro", "Mariana", "Tiago", "Inês", "Rafael"},
		"tr": {"Elif", "Mehmet", "Zeynep", "Emre", "Ayşe", "Burak"},
		"pl": {"Katarzyna", "Piotr", "Agnieszka", "Tomasz", "Magdalena", "Paweł"},
	}
	familyNames = map[string][]string{
		"nl": {"de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "Kok"},
		"en": {"Carter", "Bennett", "Hughes", "Walsh", "Parker", "Reid", "Morgan", "Collins", "Foster", "Hayes"},
		"de": {"Schneider", "Fischer", "Becker", "Hoffmann", "Wagner", "Schulz", "Richter", "Krüger"},
		"fr": {"Martin", "Bernard", "Dubois", "Lefèvre", "Girard", "Roux", "Fontaine", "Mercier"},
		"es": {"García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Torres"},
		"it": {"Rossi", "Bianchi", "Ferrari", "Esposito", "Ricci", "Marino", "Greco", "Conti"},
		"pt": {"Silva", "Santos", "Oliveira", "Costa", "Pereira", "Almeida", "Ferreira", "Carvalho"},
		"tr": {"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Arslan"},
		"pl": {"Nowak", "Wiśniewski", "Kowalczyk", "Zieliński", "Wójcik", "Lewandowska"},
	}
	// nativeNames are for scripts a handle cannot be made of; the slugs are
	// the romanisations people choose for their handles.
	nativeNames = map[string][]person{
		"ja": {{"佐藤 美咲", "美咲", "misaki", "sato", "ja"}, {"鈴木 健太", "健太", "kenta", "suzuki", "ja"}, {"高橋 さくら", "さくら", "sakura", "takahashi", "ja"}, {"田中 翔", "翔", "sho", "tanaka", "ja"}},
		"zh": {{"王芳", "芳", "fang", "wang", "zh"}, {"李伟", "伟", "wei", "li", "zh"}, {"张静", "静", "jing", "zhang", "zh"}, {"刘洋", "洋", "yang", "liu", "zh"}},
		"ko": {{"김민준", "민준", "minjun", "kim", "ko"}, {"이서연", "서연", "seoyeon", "lee", "ko"}, {"박지훈", "지훈", "jihoon", "park", "ko"}},
		"ar": {{"نور حداد", "نور", "nour", "haddad", "ar"}, {"عمر خليل", "عمر", "omar", "khalil", "ar"}, {"ليلى منصور", "ليلى", "layla", "mansour", "ar"}},
	}
)

// newPerson makes up a customer who writes in lang.
func newPerson(r *rand.Rand, lang string) person {
	if native := nativeNames[lang]; len(native) > 0 {
		return native[r.IntN(len(native))]
	}
	given, family := givenNames[lang], familyNames[lang]
	if len(given) == 0 {
		given, family = givenNames["en"], familyNames["en"]
	}
	first := given[r.IntN(len(given))]
	last := family[r.IntN(len(family))]
	return person{name: first + " " + last, first: first, firstSlug: slug(first), lastSlug: slug(last), lang: lang}
}

// slug folds a name to the lower-case ASCII that handles allow.
func slug(s string) string {
	folded := strings.NewReplacer(
		"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "ą", "a",
		"ç", "c", "ć", "c", "é", "e", "è", "e", "ê", "e", "ë", "e", "ę", "e",
		"í", "i", "ì", "i", "î", "i", "ï", "i", "ı", "i",
		"ñ", "n", "ń", "n", "ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o",
		"ú", "u", "ù", "u", "û", "u", "ü", "u", "ß", "ss", "ş", "s", "ś", "s",
		"ğ", "g", "ł", "l", "ż", "z", "ź", "z",
	).Replace(strings.ToLower(s))
	var b strings.Builder
	for _, c := range folded {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// identity is a person's account on one platform, as a webhook names it.
type identity struct {
	externalID string
	handle     string
	name       string
	domain     string // the mail domain, for e-mail Message-IDs
}

// Reserved example domains and instances only: the demo must never write
// to or about a real address.
var (
	mailDomains = map[string][]string{
		"nl": {"mail.example", "post.example", "thuis.example"},
		"de": {"post.example", "web.example"},
		"fr": {"courriel.example", "mail.example"},
		"es": {"correo.example", "mail.example"},
		"it": {"posta.example", "mail.example"},
		"pt": {"correio.example", "mail.example"},
	}
	defaultMailDomains = []string{"example.com", "example.org", "example.net", "inbox.example"}
	instances          = []string{"mastodon.example", "fedi.example", "toot.example", "social.example"}
	countryCodes       = map[string]string{"en": "44", "de": "49", "fr": "33", "es": "34", "it": "39", "pt": "351", "ja": "81", "zh": "86", "ko": "82", "tr": "90", "ar": "971", "pl": "48"}
)

// newIdentity makes up p's account on a platform of the given channel kind,
// with the id and handle shapes that platform uses.
func newIdentity(r *rand.Rand, kind string, p person) identity {
	id := identity{name: p.name}
	switch kind {
	case "x":
		id.handle = "@" + xHandle(r, p)
		if r.IntN(10) < 3 {
			id.externalID = fmt.Sprint(10_000_000 + r.Int64N(990_000_000)) // an account from the early years
		} else {
			id.externalID = fmt.Sprint(1_000_000_000_000_000_000 + r.Int64N(800_000_000_000_000_000))
		}
	case "instagram":
		sep := []string{".", "_", ""}[r.IntN(3)]
		id.handle = "@" + p.firstSlug + sep + p.lastSlug
		if r.IntN(2) == 0 {
			id.handle += fmt.Sprint(r.IntN(100))
		}
		id.externalID = fmt.Sprint(17_000_000_000_000_000 + r.Int64N(900_000_000_000_000))
	case "facebook":
		// Page-scoped ids; Facebook gives no handle.
		id.externalID = fmt.Sprint(7_000_000_000_000_000 + r.Int64N(2_000_000_000_000_000))
	case "whatsapp":
		id.externalID, id.handle = phone(r, p.lang)
	case "telegram":
		id.handle = "@" + p.firstSlug + "_" + p.lastSlug
		if len(id.handle) < 6 {
			id.handle += fmt.Sprint(10 + r.IntN(90))
		}
		id.externalID = fmt.Sprint(100_000_000 + r.Int64N(7_000_000_000))
	case "mastodon":
		user := p.firstSlug
		if r.IntN(2) == 0 {
			user += p.lastSlug
		}
		inst := instances[r.IntN(len(instances))]
		id.handle = "@" + user + "@" + inst
		id.externalID = "https://" + inst + "/users/" + user
	case "bluesky":
		id.handle = "@" + p.firstSlug + p.lastSlug + ".bsky.example"
		id.externalID = "did:plc:" + base32ish(r, 24)
	case "email":
		domains := mailDomains[p.lang]
		if len(domains) == 0 || r.IntN(3) == 0 {
			domains = defaultMailDomains
		}
		id.domain = domains[r.IntN(len(domains))]
		id.handle = p.firstSlug + "." + p.lastSlug + "@" + id.domain
		id.externalID = id.handle
	case "webchat":
		// Visitors are anonymous until they type a name, often only the first.
		id.externalID = fmt.Sprintf("visitor-%012x", r.Uint64()&0xffffffffffff)
		if r.IntN(2) == 0 {
			id.name = p.first
		}
	case "api":
		id.externalID = fmt.Sprintf("HC%08d", r.IntN(100_000_000)) // a Heron customer number
	default:
		id.externalID = fmt.Sprintf("user-%016x", r.Uint64())
	}
	return id
}

// xHandle is at most 15 letters, digits and underscores, as X allows.
func xHandle(r *rand.Rand, p person) string {
	var h string
	switch r.IntN(4) {
	case 0:
		h = p.firstSlug + "_" + p.lastSlug
	case 1:
		h = p.firstSlug + p.lastSlug[:min(3, len(p.lastSlug))] + fmt.Sprint(r.IntN(100))
	case 2:
		h = strings.ToUpper(p.firstSlug[:1]) + p.firstSlug[1:] + strings.ToUpper(p.lastSlug[:1])
	default:
		h = p.firstSlug + fmt.Sprint(1970+r.IntN(40))
	}
	return h[:min(15, len(h))]
}

// phone is a clearly fictional mobile number: the Dutch +31 6 1234 range
// for Dutch writers, the UK's drama range for English ones, and a 555 block
// elsewhere. It returns the WhatsApp id (digits only) and the shown form.
func phone(r *rand.Rand, lang string) (waID, shown string) {
	switch lang {
	case "nl":
		n := r.IntN(10_000)
		return fmt.Sprintf("3161234%04d", n), fmt.Sprintf("+31 6 1234 %04d", n)
	case "en":
		n := r.IntN(1000)
		return fmt.Sprintf("447700900%03d", n), fmt.Sprintf("+44 7700 900%03d", n)
	}
	cc := countryCodes[lang]
	if cc == "" {
		cc = "31"
	}
	n := r.IntN(10_000_000)
	return fmt.Sprintf("%s555%07d", cc, n), fmt.Sprintf("+%s 555 %03d %04d", cc, n/10_000, n%10_000)
}

// Author makes up a customer who writes in lang: the name their profile
// shows, the first name a reply uses and an X-style handle (without @).
func Author(r *rand.Rand, lang string) (name, first, handle string) {
	p := newPerson(r, lang)
	return p.name, p.first, xHandle(r, p)
}

// base32ish is n characters of the lower-case base32 alphabet DIDs use.
func base32ish(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
