package understand

import (
	"compress/gzip"
	"encoding/gob"
	"io"
	"math"
	"math/rand/v2"
	"slices"
)

// Model is a linear classifier per question (a head: language, sentiment,
// angry, topic, tone, urgent) over the same hashed features: a multinomial
// logistic regression, trained by Train from a labelled corpus and read
// back from the binary. Small, quick, and every weight inspectable.
type Model struct {
	Features []uint32 // the features seen in training, sorted
	Heads    []Head
	index    map[uint32]int32
}

// Head is one question's weights: for feature i and class c, the weight
// is W[i*len(Classes)+c].
type Head struct {
	Name    string
	Classes []string
	W       []float32
	B       []float32
}

// Prediction is a head's answer: the classes' probabilities, in the
// order of Classes, and the likeliest.
type Prediction struct {
	Class string
	P     []float32
}

func (m *Model) buildIndex() {
	m.index = make(map[uint32]int32, len(m.Features))
	for i, f := range m.Features {
		m.index[f] = int32(i)
	}
}

// head finds a head by name, or nil.
func (m *Model) head(name string) *Head {
	for i := range m.Heads {
		if m.Heads[i].Name == name {
			return &m.Heads[i]
		}
	}
	return nil
}

// known maps features to their rows; unknown ones are dropped.
func (m *Model) known(fs []uint32) []int32 {
	rows := make([]int32, 0, len(fs))
	for _, f := range fs {
		if i, ok := m.index[f]; ok {
			rows = append(rows, i)
		}
	}
	return rows
}

// predict scores rows with head h.
func (h *Head) predict(rows []int32) Prediction {
	nc := len(h.Classes)
	s := make([]float32, nc)
	copy(s, h.B)
	for _, r := range rows {
		w := h.W[int(r)*nc : int(r)*nc+nc]
		for c := range s {
			s[c] += w[c]
		}
	}
	softmax(s)
	best := 0
	for c := range s {
		if s[c] > s[best] {
			best = c
		}
	}
	return Prediction{Class: h.Classes[best], P: s}
}

func softmax(s []float32) {
	hi := slices.Max(s)
	var sum float64
	for i, v := range s {
		e := math.Exp(float64(v - hi))
		s[i] = float32(e)
		sum += e
	}
	for i := range s {
		s[i] = float32(float64(s[i]) / sum)
	}
}

// WriteTo writes the model gzipped; the same model gives the same bytes.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if err := gob.NewEncoder(zw).Encode(m); err != nil {
		return 0, err
	}
	return 0, zw.Close()
}

// ReadModel reads a model WriteTo wrote.
func ReadModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	var m Model
	if err := gob.NewDecoder(zr).Decode(&m); err != nil {
		return nil, err
	}
	m.buildIndex()
	return &m, nil
}

// TrainOptions tune Train; the zero value is the shipped setting.
type TrainOptions struct {
	Epochs   int     // passes over the corpus; default 50
	Rate     float64 // AdaGrad's step; default 0.03
	L2       float64 // weight decay per step; default 1e-5
	MinCount int     // a feature must occur in this many examples; default 2
	Seed     uint64  // the order of the passes; default 1
}

// headSpec says how an example answers one head ("" : it does not).
type headSpec struct {
	name    string
	classes []string
	label   func(Example) string
}

var headSpecs = []headSpec{
	{"language", Languages, func(e Example) string { return e.Lang }},
	{"sentiment", Sentiments, func(e Example) string { return e.Sentiment }},
	{"angry", []string{"false", "true"}, func(e Example) string { return boolLabel(e.Angry) }},
	{"topic", Topics, func(e Example) string { return e.Topic }},
	{"tone", Tones, func(e Example) string { return e.Tone }},
	{"urgent", []string{"false", "true"}, func(e Example) string {
		if e.Urgent == nil {
			return ""
		}
		return boolLabel(*e.Urgent)
	}},
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Train fits a model to the examples. It is deterministic: the same
// examples and options give the same weights on every machine.
func Train(examples []Example, lex *Lexicon, o TrainOptions) *Model {
	if o.Epochs == 0 {
		o.Epochs = 50
	}
	if o.Rate == 0 {
		o.Rate = 0.03
	}
	if o.L2 == 0 {
		o.L2 = 1e-5
	}
	if o.MinCount == 0 {
		o.MinCount = 2
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	feats := make([][]uint32, len(examples))
	count := map[uint32]int{}
	for i, e := range examples {
		feats[i] = features(e.Text, lex)
		for _, f := range feats[i] {
			count[f]++
		}
	}
	m := &Model{}
	for f, n := range count {
		if n >= o.MinCount {
			m.Features = append(m.Features, f)
		}
	}
	slices.Sort(m.Features)
	m.buildIndex()
	rows := make([][]int32, len(examples))
	for i := range examples {
		rows[i] = m.known(feats[i])
	}
	for _, spec := range headSpecs {
		m.Heads = append(m.Heads, trainHead(spec, examples, rows, len(m.Features), o))
	}
	return m
}

// trainHead fits one head by stochastic gradient descent with AdaGrad
// steps, classes weighted by the inverse of their frequency so that rare
// ones (angry, a small topic) are not drowned out.
func trainHead(spec headSpec, examples []Example, rows [][]int32, nf int, o TrainOptions) Head {
	nc := len(spec.classes)
	h := Head{Name: spec.name, Classes: spec.classes, W: make([]float32, nf*nc), B: make([]float32, nc)}
	type item struct {
		rows  []int32
		class int
	}
	var items []item
	freq := make([]int, nc)
	for i, e := range examples {
		c := slices.Index(spec.classes, spec.label(e))
		if c < 0 {
			continue
		}
		items = append(items, item{rows[i], c})
		freq[c]++
	}
	if len(items) == 0 {
		return h
	}
	weight := make([]float64, nc)
	for c, n := range freq {
		if n > 0 {
			weight[c] = math.Min(float64(len(items))/float64(nc*n), 5)
		}
	}
	g2 := make([]float64, nf*nc) // AdaGrad's sums of squared gradients
	gb := make([]float64, nc)
	rng := rand.New(rand.NewPCG(o.Seed, uint64(len(spec.name))))
	p := make([]float32, nc)
	for range o.Epochs {
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		for _, it := range items {
			copy(p, h.B)
			for _, r := range it.rows {
				for c := range nc {
					p[c] += h.W[int(r)*nc+c]
				}
			}
			softmax(p)
			for c := range nc {
				y := 0.0
				if c == it.class {
					y = 1
				}
				g := (float64(p[c]) - y) * weight[it.class]
				gb[c] += g * g
				h.B[c] -= float32(o.Rate * g / (math.Sqrt(gb[c]) + 1e-8))
				for _, r := range it.rows {
					k := int(r)*nc + c
					gk := g + o.L2*float64(h.W[k])
					g2[k] += gk * gk
					h.W[k] -= float32(o.Rate * gk / (math.Sqrt(g2[k]) + 1e-8))
				}
			}
		}
	}
	return h
}
