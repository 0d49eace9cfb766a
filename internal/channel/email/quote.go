package email

import (
	"regexp"
	"strings"
)

// Quoted history is folded away so the agent sees what the customer wrote
// now; the whole mail stays in the customer's mailbox and, for IMAP
// channels, in webcare's. The rules are those of the common mail programs
// in the languages webcare's customers write in (en nl de fr es it pt).
var (
	// "On Wed, 4 Nov 2020 at 10:15, Jan <jan@example.com> wrote:" and its
	// translations, as Gmail, Apple Mail, Thunderbird and Outlook on the
	// web write them; Gmail wraps long ones over two lines.
	attribution = regexp.MustCompile(`(?i)^\s*(on|op|am|le|el|il|em|den|dne)\s.{0,500}?\b(wrote|writes|schreef|het volgende geschreven|schrieb|a écrit|a ecrit|escribió|escribio|ha scritto|scrisse|escreveu|skrev)[^:]{0,200}:\s*$`)
	// Outlook's separator, in the languages it is installed in.
	originalMessage = regexp.MustCompile(`(?i)^\s*[-_]{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|ursprüngliche nachricht|original-nachricht|message d'origine|message original|mensaje original|messaggio originale|mensagem original)\s*[-_]{2,}\s*$`)
	separator       = regexp.MustCompile(`^\s*[_\-=]{8,}\s*$`)
	// Cheap gates: no line can be an attribution without one of these words.
	attributionWords = []string{"wrote", "writes", "schreef", "geschreven", "schrieb", "crit", "escribi", "scritto", "scrisse", "escreveu", "skrev"}
)

// StripQuoted returns the new text of a plain-text mail: everything from
// the first quoted-history marker on is dropped ("On … wrote:" and its
// translations, Outlook's "-----Original Message-----" or "From: … Sent:"
// block), and so is a trailing block of ">" lines. Quotes the customer
// answered between (interleaved replies) are kept. If nothing would be
// left, the text is returned whole.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if t := strings.TrimSpace(l); len(t) > 4 && (t[0] == '-' || t[0] == '_') && originalMessage.MatchString(t) {
			cut = i
			break
		}
		if isAttribution(l) {
			cut = i
			break
		}
		// Gmail wraps a long attribution: "On …, Jan Jansen <" / "jan@x.nl> wrote:".
		if i+1 < len(lines) && !strings.HasPrefix(strings.TrimSpace(l), ">") && isAttribution(l+" "+lines[i+1]) {
			cut = i
			break
		}
		if headerField(l, headerFrom) && outlookBlock(lines[i+1:]) {
			cut = i
			if cut > 0 && separator.MatchString(lines[cut-1]) {
				cut--
			}
			break
		}
	}
	kept := lines[:cut]
	// A trailing block of quoted lines (bottom-posted history without an
	// attribution) goes too.
	end := len(kept)
	for end > 0 {
		t := strings.TrimSpace(kept[end-1])
		if t == "" || strings.HasPrefix(t, ">") {
			end--
			continue
		}
		break
	}
	kept = kept[:end]
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

// isAttribution matches what the attribution regexp describes, without
// running it on lines that cannot match: a line of a hostile mail costs a
// few comparisons, not a regexp walk.
func isAttribution(l string) bool {
	t := strings.TrimSpace(l)
	if len(t) > 600 || !strings.HasSuffix(t, ":") {
		return false
	}
	first, _, _ := strings.Cut(t, " ")
	switch strings.ToLower(first) {
	case "on", "op", "am", "le", "el", "il", "em", "den", "dne":
	default:
		return false
	}
	low := strings.ToLower(t)
	for _, w := range attributionWords {
		if i := strings.LastIndex(low, w); i > 0 && i <= 520 && len(low)-i <= 230 && !strings.Contains(low[i:len(low)-1], ":") {
			return attribution.MatchString(t)
		}
	}
	return false
}

// outlookBlock reports whether the lines after a "From:" line continue a
// quoted mail's header block.
func outlookBlock(next []string) bool {
	for i, l := range next {
		if i >= 4 {
			return false
		}
		if headerField(l, headerSent) {
			return true
		}
	}
	return false
}

// Outlook's header block of the quoted mail: "From: …" with "Sent: …" or
// "Date: …" within the next few lines, in Outlook's languages.
var (
	headerFrom = []string{"from", "van", "von", "de", "da", "fra", "expéditeur"}
	headerSent = []string{"sent", "date", "verzonden", "datum", "gesendet", "envoyé", "enviado", "inviato", "data", "fecha", "sendt"}
)

// headerField reports whether l is "Name: value" (Outlook may bold the
// name, "*From:*", and French puts a space before the colon) for one of
// the names.
func headerField(l string, names []string) bool {
	t := strings.TrimLeft(l, " \t*")
	name, value, ok := strings.Cut(t, ":")
	if !ok || len(name) > 16 || strings.TrimSpace(value) == "" {
		return false
	}
	name = strings.ToLower(strings.TrimRight(name, " *\u00a0"))
	for _, n := range names {
		if name == n {
			return true
		}
	}
	return false
}

// htmlQuoteMarkers start the quoted history in the HTML of the common
// mail programs: Gmail, Apple Mail and Thunderbird (blockquote
// type="cite", moz-cite-prefix), Outlook (divRplyFwdMsg, appendonsend),
// Yahoo.
var htmlQuoteMarkers = []string{
	`class="gmail_quote`, `class=gmail_quote`,
	`type="cite"`, `type=cite`,
	`class="moz-cite-prefix"`,
	`id="divrplyfwdmsg"`, `id="appendonsend"`, `id="mail-editor-reference-message-container"`,
	`class="yahoo_quoted"`,
}

// cutHTMLQuote cuts an HTML body at the element that starts the quoted
// history, when something comes before it.
func cutHTMLQuote(s string) string {
	low := asciiLower(s)
	cut := len(s)
	for _, mk := range htmlQuoteMarkers {
		if i := strings.Index(low, mk); i >= 0 && i < cut {
			if j := strings.LastIndexByte(low[:i], '<'); j >= 0 {
				cut = j
			}
		}
	}
	if cut == len(s) || strings.TrimSpace(htmlTextOnly(s[:cut])) == "" {
		return s
	}
	return s[:cut]
}

// htmlTextOnly is a crude check for visible text: anything outside tags.
func htmlTextOnly(s string) string {
	var b strings.Builder
	in := false
	low := asciiLower(s)
	if i := strings.Index(low, "<body"); i >= 0 {
		s = s[i:]
	}
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.ReplaceAll(b.String(), "&nbsp;", "")
}

// asciiLower lowers ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
