package understand

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpus reads the repo's labelled corpus.
func corpus(t testing.TB) map[string][]Example {
	t.Helper()
	files, err := filepath.Glob("../../data/understand/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string][]Example{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := ReadCorpus(bytes.NewReader(b), f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = ex
	}
	return out
}

// TestCorpusKeepsTheConventions holds the corpus to docs/understanding.md
// and to the sizes the issue asks: at least 1,000 messages over the ten
// languages, 200 each for nl and en, 300 held out.
func TestCorpusKeepsTheConventions(t *testing.T) {
	seen := map[string]string{}
	perLang := map[string]int{}
	total, heldOut := 0, 0
	for file, ex := range corpus(t) {
		for i, e := range ex {
			where := file + ":" + itoa(i+1)
			if e.Angry && e.Sentiment != "negative" {
				t.Errorf("%s: angry but %s", where, e.Sentiment)
			}
			if e.Topic == "compliment" && e.Sentiment != "positive" {
				t.Errorf("%s: a compliment but %s", where, e.Sentiment)
			}
			if e.Tone == "" || e.Urgent == nil {
				t.Errorf("%s: the repo's corpus labels tone and urgent too", where)
			}
			if other, ok := seen[e.Text]; ok {
				t.Errorf("%s: the same text as %s", where, other)
			}
			if strings.TrimSuffix(file, ".jsonl") != e.Lang {
				t.Errorf("%s: lang %s in the file of another", where, e.Lang)
			}
			seen[e.Text] = where
			perLang[e.Lang]++
			total++
			if HeldOut(e) {
				heldOut++
			}
		}
	}
	if total < 1000 || perLang["nl"] < 200 || perLang["en"] < 200 || heldOut < 300 {
		t.Errorf("%d messages (%v), %d held out; want ≥ 1,000, nl and en ≥ 200 each, ≥ 300 held out", total, perLang, heldOut)
	}
	for _, l := range Languages {
		if perLang[l] == 0 {
			t.Errorf("no messages in %s", l)
		}
	}
}

// TestTrainingIsReproducible: the same examples give the same model,
// byte for byte.
func TestTrainingIsReproducible(t *testing.T) {
	var ex []Example
	for _, e := range corpus(t)["nl.jsonl"] {
		if !HeldOut(e) {
			ex = append(ex, e)
		}
	}
	lex, err := DefaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	o := TrainOptions{Epochs: 3}
	var a, b bytes.Buffer
	Train(ex, lex, o).WriteTo(&a)
	Train(ex, lex, o).WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two trainings on the same examples differ")
	}
}

// TestAnalyzeHostileInput: nothing a customer sends makes the analysis
// fail or hang; what cannot be read gets a neutral, other answer.
func TestAnalyzeHostileInput(t *testing.T) {
	a, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", " ", "🙂🙂🙂", "!!!???", strings.Repeat("a", 64<<10), strings.Repeat("✈", 20000),
		"\x00\xff\xfe", strings.Repeat("KL1234 X7KQ2B ", 5000), "ｆｕｌｌｗｉｄｔｈ ＫＬ１２３４"} {
		got := a.Analyze(text, Hints{Language: "<script>"})
		if !slices.Contains(Languages, got.Language) || !slices.Contains(Sentiments, got.Sentiment) || len(got.Topics) == 0 ||
			!slices.Contains(Topics, got.Topics[0]) || !slices.Contains(Tones, got.Tone) || got.Entities == nil || got.PrivateData == nil {
			t.Errorf("%q: %+v", clip(text, 20), got)
		}
	}
	if got := a.Analyze("", Hints{ContactLanguage: "nl"}); got.Language != "nl" || got.Sentiment != "neutral" || got.Topics[0] != "other" {
		t.Errorf("empty text of a Dutch contact: %+v", got)
	}
	if got := a.Analyze("ok", Hints{Language: "pt-BR"}); got.Language != "pt" {
		t.Errorf("the platform's language pt-BR: %s", got.Language)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkAnalyze is the stage's speed on tweet-sized text: the corpus's
// messages, one after the other.
func BenchmarkAnalyze(b *testing.B) {
	a, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	for _, ex := range corpus(b) {
		for _, e := range ex {
			texts = append(texts, e.Text)
		}
	}
	slices.Sort(texts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Analyze(texts[i%len(texts)], Hints{})
	}
}
