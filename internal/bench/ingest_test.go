package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestIngestScenario runs the scenario small, to prove it works end to end;
// the figures come from `webcare bench ingest`.
func TestIngestScenario(t *testing.T) {
	var out strings.Builder
	res, err := Ingest(context.Background(), IngestOptions{Path: filepath.Join(t.TempDir(), "b.db"), Messages: benchMessages, Sequential: 100, Concurrency: []int{64}, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want raw, sequential and one parallel run:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if r.PerSecond <= 0 || r.Messages == 0 {
			t.Errorf("run %q measured nothing: %+v", r.Name, r)
		}
	}
}

var benchMessages = 3000
