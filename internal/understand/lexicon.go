package understand

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Lexicon holds words and phrases an admin can read and extend, each in a
// category ("angry", "urgent", "topic.baggage"…). The model reads the
// categories as features, so a word added to "angry" counts as the words
// it learnt anger from. Categories name what a word signals, in any
// language.
type Lexicon struct {
	words   map[string][]string   // one word → categories
	phrases map[string][][]string // first word → the phrases' words, category last
}

// NewLexicon returns an empty lexicon.
func NewLexicon() *Lexicon {
	return &Lexicon{words: map[string][]string{}, phrases: map[string][][]string{}}
}

// Read adds the entries of a lexicon file: one per line, the category and
// then the word or phrase, separated by white space; "#" starts a comment.
//
//	angry   waardeloos
//	urgent  vandaag nog
func (l *Lexicon) Read(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return fmt.Errorf("%s:%d: want a category and a word or phrase", name, n)
		}
		l.Add(fields[0], strings.Join(fields[1:], " "))
	}
	return sc.Err()
}

// Add puts a word or phrase in a category.
func (l *Lexicon) Add(category, entry string) {
	words := tokens(norm.NFKC.String(strings.ToLower(entry)))
	switch len(words) {
	case 0:
	case 1:
		if !slices.Contains(l.words[words[0]], category) {
			l.words[words[0]] = append(l.words[words[0]], category)
		}
	default:
		l.phrases[words[0]] = append(l.phrases[words[0]], append(words[1:], category))
	}
}

// match lists the categories of the words and phrases in words.
func (l *Lexicon) match(words []string) []string {
	var out []string
	for i, w := range words {
		out = append(out, l.words[w]...)
		for _, p := range l.phrases[w] {
			rest, cat := p[:len(p)-1], p[len(p)-1]
			if i+1+len(rest) <= len(words) && slices.Equal(words[i+1:i+1+len(rest)], rest) {
				out = append(out, cat)
			}
		}
	}
	return out
}

// Len is how many entries the lexicon holds.
func (l *Lexicon) Len() int {
	n := 0
	for _, c := range l.words {
		n += len(c)
	}
	for _, p := range l.phrases {
		n += len(p)
	}
	return n
}

//go:embed lexicon/*.txt
var lexiconFiles embed.FS

// DefaultLexicon is the lexicon webcare ships (lexicon/*.txt).
func DefaultLexicon() (*Lexicon, error) {
	l := NewLexicon()
	names, err := fs.Glob(lexiconFiles, "lexicon/*.txt")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := lexiconFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := l.Read(strings.NewReader(string(b)), name); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// merge adds o's entries to l.
func (l *Lexicon) merge(o *Lexicon) {
	for w, cats := range o.words {
		for _, c := range cats {
			if !slices.Contains(l.words[w], c) {
				l.words[w] = append(l.words[w], c)
			}
		}
	}
	for w, ps := range o.phrases {
		l.phrases[w] = append(l.phrases[w], ps...)
	}
}
