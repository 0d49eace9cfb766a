package understand

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Scores are the figures of one evaluation, as `webcare eval understand
// --json` prints them.
type Scores struct {
	N                 int     `json:"n"`
	LanguageAccuracy  float64 `json:"language_accuracy"`
	SentimentAccuracy float64 `json:"sentiment_accuracy"`
	SentimentMacroF1  float64 `json:"sentiment_macro_f1"`
	NegativeF1        float64 `json:"negative_f1"`
	AngryF1           float64 `json:"angry_f1"`
	TopicAccuracy     float64 `json:"topic_accuracy"`
	TopicMacroF1      float64 `json:"topic_macro_f1"`
}

// Report is an evaluation over a labelled set: the scores over all of it
// and per language, and the confusions behind them.
type Report struct {
	Scores
	ByLanguage map[string]Scores `json:"by_language"`

	language, sentiment, angry, topic *confusion
	misses                            []Miss
}

// Miss is an example the analyzer got wrong, for reading where it fails.
type Miss struct {
	Example
	Got Analysis
}

// Evaluate analyses every example as a message of no known contact or
// channel (the text alone) and compares the answers with the labels.
func Evaluate(a *Analyzer, examples []Example) *Report {
	all := newTally()
	per := map[string]*tally{}
	for _, e := range examples {
		got := a.Analyze(e.Text, Hints{})
		all.add(e, got)
		if per[e.Lang] == nil {
			per[e.Lang] = newTally()
		}
		per[e.Lang].add(e, got)
	}
	r := &Report{Scores: all.scores(), ByLanguage: map[string]Scores{},
		language: all.language, sentiment: all.sentiment, angry: all.angry, topic: all.topic, misses: all.misses}
	for l, t := range per {
		r.ByLanguage[l] = t.scores()
	}
	return r
}

type tally struct {
	n                                 int
	language, sentiment, angry, topic *confusion
	misses                            []Miss
}

func newTally() *tally {
	return &tally{language: newConfusion(), sentiment: newConfusion(), angry: newConfusion(), topic: newConfusion()}
}

func (t *tally) add(e Example, got Analysis) {
	t.n++
	t.language.add(e.Lang, got.Language)
	t.sentiment.add(e.Sentiment, got.Sentiment)
	t.angry.add(boolLabel(e.Angry), boolLabel(got.Angry))
	main := ""
	if len(got.Topics) > 0 {
		main = got.Topics[0]
	}
	t.topic.add(e.Topic, main)
	if e.Lang != got.Language || e.Sentiment != got.Sentiment || e.Angry != got.Angry || e.Topic != main {
		t.misses = append(t.misses, Miss{e, got})
	}
}

func (t *tally) scores() Scores {
	return Scores{
		N:                 t.n,
		LanguageAccuracy:  t.language.accuracy(),
		SentimentAccuracy: t.sentiment.accuracy(),
		SentimentMacroF1:  t.sentiment.macroF1(),
		NegativeF1:        t.sentiment.f1("negative"),
		AngryF1:           t.angry.f1("true"),
		TopicAccuracy:     t.topic.accuracy(),
		TopicMacroF1:      t.topic.macroF1(),
	}
}

// confusion counts (want, got) pairs.
type confusion struct {
	n     map[[2]string]int
	total int
}

func newConfusion() *confusion { return &confusion{n: map[[2]string]int{}} }

func (c *confusion) add(want, got string) {
	c.n[[2]string{want, got}]++
	c.total++
}

func (c *confusion) accuracy() float64 {
	if c.total == 0 {
		return 0
	}
	right := 0
	for k, v := range c.n {
		if k[0] == k[1] {
			right += v
		}
	}
	return round(float64(right) / float64(c.total))
}

// prf is the precision, recall and F1 of one class, and how often it was
// the right answer (support).
func (c *confusion) prf(class string) (p, r, f float64, support int) {
	tp, fp, fn := 0, 0, 0
	for k, v := range c.n {
		switch {
		case k[0] == class && k[1] == class:
			tp += v
		case k[1] == class:
			fp += v
		case k[0] == class:
			fn += v
		}
	}
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return round(p), round(r), round(f), tp + fn
}

func (c *confusion) f1(class string) float64 {
	_, _, f, _ := c.prf(class)
	return f
}

// present lists the classes that are right answers in the set: the macro
// average is over those, as the issue asks.
func (c *confusion) present() []string {
	var out []string
	for k := range c.n {
		if !slices.Contains(out, k[0]) {
			out = append(out, k[0])
		}
	}
	slices.Sort(out)
	return out
}

func (c *confusion) macroF1() float64 {
	classes := c.present()
	if len(classes) == 0 {
		return 0
	}
	sum := 0.0
	for _, cl := range classes {
		sum += c.f1(cl)
	}
	return round(sum / float64(len(classes)))
}

func round(x float64) float64 { return float64(int(x*10000+0.5)) / 10000 }

// Write prints the report for people: the scores, per-class figures and
// confusion matrices, and up to misses examples it got wrong.
func (r *Report) Write(w io.Writer, misses int) {
	fmt.Fprintf(w, "%d messages\n\n", r.N)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "language\tn\tlanguage acc\tsentiment acc\tsentiment F1\tnegative F1\tangry F1\ttopic acc\ttopic F1\t")
	row := func(name string, s Scores) {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", name, s.N, s.LanguageAccuracy, s.SentimentAccuracy,
			s.SentimentMacroF1, s.NegativeF1, s.AngryF1, s.TopicAccuracy, s.TopicMacroF1)
	}
	for _, l := range Languages {
		if s, ok := r.ByLanguage[l]; ok {
			row(l, s)
		}
	}
	row("all", r.Scores)
	tw.Flush()
	for _, c := range []struct {
		name string
		m    *confusion
	}{{"language", r.language}, {"sentiment", r.sentiment}, {"angry", r.angry}, {"topic", r.topic}} {
		fmt.Fprintf(w, "\n%s\n", c.name)
		c.m.write(w)
	}
	if misses > 0 && len(r.misses) > 0 {
		fmt.Fprintf(w, "\nsome of the %d messages with a wrong answer (want → got):\n", len(r.misses))
		for _, m := range r.misses[:min(misses, len(r.misses))] {
			fmt.Fprintf(w, "  %q\n    lang %s→%s  sentiment %s→%s  angry %t→%t  topic %s→%s\n", clip(m.Text, 120),
				m.Lang, m.Got.Language, m.Sentiment, m.Got.Sentiment, m.Angry, m.Got.Angry, m.Topic, strings.Join(m.Got.Topics, ","))
		}
	}
}

func (c *confusion) write(w io.Writer) {
	classes := c.present()
	for k := range c.n {
		if !slices.Contains(classes, k[1]) && k[1] != "" {
			classes = append(classes, k[1])
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "want \\ got\t")
	for _, g := range classes {
		fmt.Fprintf(tw, "%s\t", abbrev(g))
	}
	fmt.Fprint(tw, "precision\trecall\tF1\tn\t\n")
	for _, want := range c.present() {
		fmt.Fprintf(tw, "%s\t", want)
		for _, g := range classes {
			fmt.Fprintf(tw, "%d\t", c.n[[2]string{want, g}])
		}
		p, rc, f, n := c.prf(want)
		fmt.Fprintf(tw, "%.2f\t%.2f\t%.2f\t%d\t\n", p, rc, f, n)
	}
	tw.Flush()
}

func abbrev(s string) string {
	if len(s) > 6 {
		return s[:6]
	}
	return s
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
