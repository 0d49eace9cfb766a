// Package htmltext turns HTML from a platform (a Mastodon status, an HTML
// e-mail) into plain text an agent can read: paragraphs and line breaks
// kept, lists bulleted, links written out, scripts, styles and hidden
// parts dropped, entities decoded. The result is text, never markup: it is
// escaped like any other customer text wherever it is shown.
package htmltext

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxInput bounds how much HTML is read; the rest is ignored.
const MaxInput = 4 << 20

// String converts an HTML fragment or document to text.
func String(s string) string {
	t, _ := Text(strings.NewReader(s))
	return t
}

// Text converts HTML read from r to text. It only fails if r does.
func Text(r io.Reader) (string, error) {
	z := html.NewTokenizer(io.LimitReader(r, MaxInput))
	w := &writer{}
	skip := 0             // depth inside script/style/head/template
	var links []string    // href of each open <a>, "" when not worth writing out
	var linkText []int    // where the link's text starts in w.b
	quote := 0            // blockquote depth
	var hideTag atom.Atom // the element a hidden region started with
	hideDepth := 0        // how many of hideTag are open inside it
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return w.String(), err
			}
			return w.String(), nil
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()), quote)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			var attrs attributes
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs.set(k, v)
			}
			if hideDepth > 0 {
				if a == hideTag && tt == html.StartTagToken {
					hideDepth++
				}
				continue
			}
			if hidden(attrs) && tt == html.StartTagToken && !void(a) {
				hideTag, hideDepth = a, 1
				skip++
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Template, atom.Title, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				}
			case atom.Br:
				w.newline(quote)
			case atom.P, atom.Div, atom.Table, atom.Tr, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Ul, atom.Ol:
				w.paragraph(quote)
			case atom.Blockquote:
				quote++
				w.paragraph(quote)
			case atom.Li:
				w.newline(quote)
				w.raw("• ", quote)
			case atom.Td, atom.Th:
				w.space = true
			case atom.Hr:
				w.paragraph(quote)
				w.raw("———", quote)
				w.paragraph(quote)
			case atom.Img:
				if alt := strings.TrimSpace(attrs.alt); alt != "" && skip == 0 {
					w.text("["+alt+"]", quote)
				}
			case atom.A:
				if tt == html.StartTagToken {
					links = append(links, attrs.href)
					linkText = append(linkText, w.b.Len())
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hideDepth > 0 {
				if a == hideTag {
					if hideDepth--; hideDepth == 0 {
						skip--
					}
				}
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Template, atom.Title, atom.Noscript:
				if skip > 0 {
					skip--
				}
			case atom.P, atom.Div, atom.Table, atom.Tr, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Ul, atom.Ol:
				w.paragraph(quote)
			case atom.Blockquote:
				if quote > 0 {
					quote--
				}
				w.paragraph(quote)
			case atom.A:
				if n := len(links); n > 0 {
					href, start := links[n-1], linkText[n-1]
					links, linkText = links[:n-1], linkText[:n-1]
					if skip == 0 && worthWriting(href, w.b.String()[start:]) {
						w.text(" ("+href+")", quote)
					}
				}
			}
		}
	}
}

// attributes are the few attributes the conversion looks at; reading only
// these keeps a tag free of allocations.
type attributes struct {
	href, alt, class, style string
	hidden                  bool
}

func (a *attributes) set(k, v []byte) {
	switch string(k) {
	case "href":
		a.href = string(v)
	case "alt":
		a.alt = string(v)
	case "class":
		a.class = string(v)
	case "style":
		a.style = string(v)
	case "hidden":
		a.hidden = true
	}
}

// hidden reports elements meant not to be seen: Mastodon's "invisible"
// URL parts, display:none tracking blocks in mail.
func hidden(a attributes) bool {
	if a.hidden {
		return true
	}
	for c := range strings.FieldsSeq(a.class) {
		if c == "invisible" {
			return true
		}
	}
	st := strings.ReplaceAll(strings.ToLower(a.style), " ", "")
	return strings.Contains(st, "display:none")
}

func void(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.Img, atom.Hr, atom.Input, atom.Meta, atom.Link, atom.Wbr:
		return true
	}
	return false
}

// worthWriting says whether a link's target adds anything to its text: a
// mention or a link whose text already is the URL does not.
func worthWriting(href, text string) bool {
	if !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") {
		return false // mailto:, javascript:, anchors: nothing a reader needs
	}
	text = strings.TrimSpace(text)
	if text == "" || strings.HasPrefix(text, "@") || strings.HasPrefix(text, "#") {
		return false
	}
	bare := func(s string) string {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
		return strings.TrimSuffix(strings.TrimPrefix(s, "www."), "/")
	}
	t, h := bare(text), bare(href)
	return !strings.HasPrefix(h, strings.TrimSuffix(t, "…"))
}

// writer collapses white space the way a browser does and keeps at most
// one blank line between blocks.
type writer struct {
	b       strings.Builder
	pending int  // newlines owed before the next text: 1 line, 2 paragraph
	space   bool // a space is owed before the next text
	started bool
}

func (w *writer) text(s string, quote int) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		w.space = w.space || s != ""
		return
	}
	lead, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	for i, f := range fields {
		if !w.started || w.pending > 0 {
			w.flush(quote)
		} else if i > 0 || w.space || unicode.IsSpace(lead) {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(f)
	}
	w.space = unicode.IsSpace(last)
}

func (w *writer) raw(s string, quote int) {
	w.flush(quote)
	w.b.WriteString(s)
	w.space = false
}

func (w *writer) flush(quote int) {
	if w.started {
		for range w.pending {
			w.b.WriteByte('\n')
		}
	}
	if w.pending > 0 || !w.started {
		w.b.WriteString(strings.Repeat("> ", quote))
	}
	w.pending, w.space, w.started = 0, false, true
}

func (w *writer) newline(int) {
	if w.started {
		w.pending = max(w.pending, 1)
	}
}

func (w *writer) paragraph(int) {
	if w.started {
		w.pending = 2
	}
}

func (w *writer) String() string { return strings.TrimSpace(w.b.String()) }
