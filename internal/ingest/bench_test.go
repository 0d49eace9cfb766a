package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

func benchStore(b *testing.B) (*sqlite.Store, int64) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ch := store.Channel{Kind: "x", Name: "bench"}
	if err := st.CreateChannel(ctx, &ch, store.Actor{}); err != nil {
		b.Fatal(err)
	}
	return st, ch.ID
}

// BenchmarkPipelineParallel pushes messages through the real pipeline from
// many goroutines, so group commit forms batches.
func BenchmarkPipelineParallel(b *testing.B) {
	st, chID := benchStore(b)
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})
	defer p.Close()
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := p.Ingest(context.Background(), channel.Message{ChannelID: chID, PlatformID: fmt.Sprint("m", i),
				From: channel.Author{ExternalID: fmt.Sprint("u", i%5000), Handle: "@user"}, Text: "Where is my bag? Flight HN641 landed an hour ago."})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
