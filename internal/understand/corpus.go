package understand

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
)

// Example is one labelled message of a corpus (data/understand/*.jsonl),
// in the format of docs/understanding.md. Keys the format does not name
// are ignored; Tone and Urgent may be missing from others' sets.
type Example struct {
	Text      string `json:"text"`
	Lang      string `json:"lang"`
	Sentiment string `json:"sentiment"`
	Angry     bool   `json:"angry"`
	Topic     string `json:"topic"`
	Tone      string `json:"tone,omitempty"`
	Urgent    *bool  `json:"urgent,omitempty"`
}

// The labels, as the corpus and the API name them.
var (
	Languages  = []string{"nl", "en", "de", "fr", "es", "it", "pt", "ja", "zh", "ko"}
	Sentiments = []string{"negative", "neutral", "positive"}
	Topics     = []string{"rebooking", "cancellation", "delay", "baggage", "seat_request", "check_in", "refund",
		"booking_change", "flight_status", "loyalty_programme", "complaint", "compliment", "other"}
	Tones = []string{"formal", "informal"}
)

// ReadCorpus reads one JSON object per line; blank lines are skipped. A
// line that is not an example in the format is an error naming its line.
func ReadCorpus(r io.Reader, name string) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var e Example
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func (e Example) check() error {
	switch {
	case strings.TrimSpace(e.Text) == "":
		return fmt.Errorf("text is empty")
	case !slices.Contains(Languages, e.Lang):
		return fmt.Errorf("lang %q is not one of %s", e.Lang, strings.Join(Languages, ", "))
	case !slices.Contains(Sentiments, e.Sentiment):
		return fmt.Errorf("sentiment %q is not one of %s", e.Sentiment, strings.Join(Sentiments, ", "))
	case !slices.Contains(Topics, e.Topic):
		return fmt.Errorf("topic %q is not one of %s", e.Topic, strings.Join(Topics, ", "))
	case e.Tone != "" && !slices.Contains(Tones, e.Tone):
		return fmt.Errorf("tone %q is not formal or informal", e.Tone)
	}
	return nil
}

// HeldOut says whether an example belongs to the held-out part that
// training never sees: a quarter of the corpus, chosen by a hash of the
// text, so the split is the same on every machine and a line keeps its
// side when others are added.
func HeldOut(e Example) bool {
	h := fnv.New32a()
	h.Write([]byte(e.Text))
	return h.Sum32()%4 == 0
}
