package understand

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Entity is a travel detail or a piece of private data found in a text.
type Entity struct {
	Kind  string `json:"kind"` // flight, booking, airport, date, phone, email, passport, card
	Value string `json:"value"`
}

// privateKinds are the entities a customer should not post in public.
var privateKinds = []string{"booking", "phone", "email", "passport", "card"}

// airlines are the IATA designators a flight number may start with: the
// carriers webcare's users and their customers meet most, and Heron, the
// demo's. A two-character code not listed is too often something else.
var airlines = strings.Fields(`KL HV AF LH BA IB VY UX AZ TP JL NH CA MU CZ CX KE OZ 7C LX OS SN SK AY EI U2 FR W6 EW DE
	HR LA G3 AD DL UA AA EK QR EY TK SQ QF AC OR TB MM LO OK RO A3 PC XQ BT LG WF DY D8 FI 4U X3 BY LS ZB TO SS XK
	AT ET MS KQ SA JJ AR AM AV CM UX I2 NT V7 HX UO KA BR CI CX GK 9C HO SC ZH 3U HU FM MF OZ LJ TW ZE BX RS`)

var (
	flightNumberRE = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9]|[0-9][A-Za-z]) ?(\d{1,4})\b`) // the designator is checked against airlines
	airlineSet     = func() map[string]bool {
		m := map[string]bool{}
		for _, a := range airlines {
			m[a] = true
		}
		return m
	}()
	emailRE    = regexp.MustCompile(`[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}`)
	phoneRE    = regexp.MustCompile(`(?:\+|00)\d[\d \-().]{7,17}\d|\b0\d[\d \-().]{7,13}\d`)
	cardRE     = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
	codeRE     = regexp.MustCompile(`\b[A-Z0-9]{6}\b`)
	codeWordRE = regexp.MustCompile(`(?i)(?:booking|reservation|confirmation)\s*(?:code|number|ref(?:erence)?|nr|no)?|\bpnr\b|boekingscode|reserveringscode|reserveringsnummer|boekingsnummer|buchungscode|buchungsnummer|code de réservation|référence|localizador|código de reserva|codice (?:di )?prenotazione|codice pnr|código da reserva|予約番号|予約コード|预订号|订单号|预订编号|예약번호|예약 번호`)
	passportRE = regexp.MustCompile(`(?i:passport|paspoort|reisepass|passeport|pasaporte|passaporto|passaporte|パスポート|护照|여권)(?i:\s*(?:number|nummer|nr|no|n°|número|numero|numéro|番号|号码|번호))?[^A-Za-z0-9]{0,5}([A-Z0-9]{6,9})\b`)
	dateRE     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?\b|\d{1,2}月\d{1,2}日|\d{1,2}월 ?\d{1,2}일`)
	// monthDateRE is "12 maart", "March 3rd": costly, so read only where a
	// number stands next to a word (monthNearRE).
	monthDateRE = regexp.MustCompile(`(?i)\b\d{1,2}(?:st|nd|rd|th|e|er|\.)? (?:jan|feb|m[aä]r|apr|ma[iyj]|mei|jun|jul|aug|sep|o[ck]t|nov|de[cz]|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|dezembro|januari|februari|maart|juni|juli|augustus|oktober)\w*\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d{1,2}(?:st|nd|rd|th)?\b`)
	monthNearRE = regexp.MustCompile(`\d(?:st|nd|rd|th|e|er|\.)? \pL|\pL \d`)
)

// Entities finds the travel details and private data in text, in the
// order they appear, and the kinds of private data among them.
func Entities(text string) ([]Entity, []string) {
	if len(text) > maxText {
		text = text[:maxText]
	}
	var out []Entity
	taken := make([]bool, len(text)) // bytes already part of an entity
	add := func(kind string, start, end int, value string) {
		if slices.Contains(taken[start:end], true) {
			return
		}
		for i := start; i < end; i++ {
			taken[i] = true
		}
		out = append(out, Entity{Kind: kind, Value: value})
	}
	// The patterns are costly; most are for digits, and most texts have
	// few: look only where there is something to find.
	nd := digits(text)
	for _, m := range findIf(strings.Contains(text, "@"), emailRE, text) {
		add("email", m[0], m[1], text[m[0]:m[1]])
	}
	lower := strings.ToLower(text)
	mayPassport := nd > 0 && (strings.Contains(lower, "pas") || strings.Contains(text, "パスポート") || strings.Contains(text, "护照") || strings.Contains(text, "여권"))
	for _, m := range findSubIf(mayPassport, passportRE, text) {
		if v := text[m[2]:m[3]]; digits(v) > 0 {
			add("passport", m[2], m[3], v)
		}
	}
	for _, m := range findSubIf(nd > 0, flightNumberRE, text) {
		if code := strings.ToUpper(text[m[2]:m[3]]); airlineSet[code] {
			add("flight", m[0], m[1], code+text[m[4]:m[5]])
		}
	}
	for _, m := range findIf(nd >= 13, cardRE, text) {
		if luhn(text[m[0]:m[1]]) {
			add("card", m[0], m[1], text[m[0]:m[1]])
		}
	}
	for _, m := range findIf(nd > 0, dateRE, text) {
		add("date", m[0], m[1], text[m[0]:m[1]])
	}
	if nd > 0 && monthNearRE.MatchString(text) {
		for _, m := range monthDateRE.FindAllStringIndex(text, -1) {
			add("date", m[0], m[1], text[m[0]:m[1]])
		}
	}
	for _, m := range findIf(nd >= 9, phoneRE, text) {
		if digits(text[m[0]:m[1]]) >= 9 {
			add("phone", m[0], m[1], strings.TrimSpace(text[m[0]:m[1]]))
		}
	}
	// A booking code is six letters and digits: with both, or in capitals
	// right after words that announce one ("booking code ABCDEF").
	var announced [][]int
	looked := false
	for _, m := range codeRE.FindAllStringIndex(text, -1) {
		code := text[m[0]:m[1]]
		mixed := strings.ContainsFunc(code, unicode.IsDigit) && strings.ContainsFunc(code, unicode.IsLetter) && digits(code) <= 4
		if !mixed && !looked {
			announced, looked = codeWordRE.FindAllStringIndex(text, -1), true // only when a code may need it
		}
		after := slices.ContainsFunc(announced, func(a []int) bool { return a[1] <= m[0] && m[0]-a[1] <= 4 })
		if mixed || after {
			add("booking", m[0], m[1], code)
		}
	}
	for _, a := range airports(text) {
		add("airport", a.start, a.end, a.value)
	}
	var private []string
	for _, e := range out {
		if slices.Contains(privateKinds, e.Kind) && !slices.Contains(private, e.Kind) {
			private = append(private, e.Kind)
		}
	}
	if out == nil {
		out = []Entity{}
	}
	if private == nil {
		private = []string{}
	}
	return out, private
}

// findIf runs a costly pattern only when a cheap test says it may match.
func findIf(may bool, re *regexp.Regexp, text string) [][]int {
	if !may {
		return nil
	}
	return re.FindAllStringIndex(text, -1)
}

// findSubIf is findIf with the submatches.
func findSubIf(may bool, re *regexp.Regexp, text string) [][]int {
	if !may {
		return nil
	}
	return re.FindAllStringSubmatchIndex(text, -1)
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// luhn checks a card number's check digit.
func luhn(s string) bool {
	var ds []int
	for _, r := range s {
		if r >= '0' && r <= '9' {
			ds = append(ds, int(r-'0'))
		}
	}
	if len(ds) < 13 || len(ds) > 19 {
		return false
	}
	sum := 0
	for i := range ds {
		d := ds[len(ds)-1-i]
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
