package app

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/config"
)

func TestOpenPicksTheBus(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{DatabasePath: filepath.Join(t.TempDir(), "w.db"), BaseURL: "http://localhost"}

	a, err := Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Bus.(*bus.Memory); !ok {
		t.Errorf("without a NATS URL the bus is %T, want *bus.Memory", a.Bus)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// A NATS that does not answer stops the start with a clear error (and
	// leaves the database closed, so the file can be opened again).
	cfg.NATSURL = "nats://127.0.0.1:1"
	if _, err := Open(t.Context(), cfg, log, Options{}); err == nil || !strings.Contains(err.Error(), "open event bus") {
		t.Fatalf("unreachable NATS: err = %v", err)
	}
}
