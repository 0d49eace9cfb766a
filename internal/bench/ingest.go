// Package bench measures webcare on the machine it runs on. Each scenario
// reports its figures next to a ceiling measured in the same run, so that
// numbers from noisy machines can be compared as ratios.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// IngestOptions configure the ingest scenario.
type IngestOptions struct {
	Path        string // SQLite file to measure on; it is created
	Messages    int    // per parallel run
	Sequential  int    // messages for the one-at-a-time run
	Concurrency []int  // goroutines for the parallel runs
	Out         io.Writer
}

// Result is one measured run.
type Result struct {
	Name      string
	Messages  int
	Elapsed   time.Duration
	PerSecond float64
	P50, P99  time.Duration
	P999      time.Duration
}

func (r Result) String() string {
	if r.P50 == 0 {
		return fmt.Sprintf("%-34s %8d msgs %8.2fs %10.0f msgs/s", r.Name, r.Messages, r.Elapsed.Seconds(), r.PerSecond)
	}
	return fmt.Sprintf("%-34s %8d msgs %8.2fs %10.0f msgs/s   p50 %-9s p99 %-9s p99.9 %s", r.Name, r.Messages, r.Elapsed.Seconds(), r.PerSecond,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.P999.Round(time.Microsecond))
}

// Ingest measures, on one fresh SQLite file: the raw rate of batched
// inserts (the ceiling), then the real pipeline one message at a time and
// from many goroutines at once.
func Ingest(ctx context.Context, o IngestOptions) ([]Result, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	var results []Result
	raw, err := rawInserts(ctx, o.Path, o.Messages)
	if err != nil {
		return nil, fmt.Errorf("raw inserts: %w", err)
	}
	fmt.Fprintln(o.Out, raw)
	results = append(results, raw)

	st, err := sqlite.Open(ctx, o.Path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ch := store.Channel{Kind: "x", Name: "bench"}
	if err := st.CreateChannel(ctx, &ch, store.Actor{Via: "bench"}); err != nil {
		return nil, err
	}
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})
	defer p.Close()
	gen := &traffic{channel: ch.ID}

	runs := []struct {
		name       string
		n, workers int
	}{{"pipeline, sequential", o.Sequential, 1}}
	for _, c := range o.Concurrency {
		runs = append(runs, struct {
			name       string
			n, workers int
		}{fmt.Sprintf("pipeline, %d goroutines", c), o.Messages, c})
	}
	for _, run := range runs {
		r, err := pipelineRun(ctx, p, gen, run.name, run.n, run.workers)
		if err != nil {
			return results, err
		}
		fmt.Fprintln(o.Out, r)
		results = append(results, r)
	}
	return results, nil
}

func pipelineRun(ctx context.Context, p *ingest.Pipeline, gen *traffic, name string, n, workers int) (Result, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				m := gen.message()
				t := time.Now()
				if _, err := p.Ingest(ctx, m); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return Result{}, firstErr
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return Result{Name: name, Messages: n, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds(), P50: pct(.50), P99: pct(.99), P999: pct(.999)}, nil
}

// rawInserts is the ceiling: plain rows into one table of the same file
// with the same durability settings, 512 rows a transaction.
func rawInserts(ctx context.Context, path string, n int) (Result, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, channel_id INTEGER, platform_id TEXT, body TEXT, created_at INTEGER)`); err != nil {
		return Result{}, err
	}
	gen := &traffic{channel: 1}
	start := time.Now()
	for done := 0; done < n; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return Result{}, err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO bench_raw (channel_id, platform_id, body, created_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return Result{}, err
		}
		for i := 0; i < 512 && done < n; i, done = i+1, done+1 {
			m := gen.message()
			if _, err := st.ExecContext(ctx, m.ChannelID, m.PlatformID, m.Text, time.Now().UnixMilli()); err != nil {
				tx.Rollback()
				return Result{}, err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return Result{}, err
		}
	}
	elapsed := time.Since(start)
	_, err = db.ExecContext(ctx, `DROP TABLE bench_raw`)
	return Result{Name: "raw batched inserts (ceiling)", Messages: n, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds()}, err
}

// traffic makes realistic inbound messages: returning customers, replies
// to earlier messages, texts of mixed length.
type traffic struct {
	channel int64
	seq     atomic.Int64
}

var texts = []string{
	"@HeronAir where is my bag? HN641 landed an hour ago and belt 14 is empty",
	"Thanks for the quick rebooking yesterday, great service!",
	"Mijn vlucht naar Barcelona is geannuleerd, wat nu? Boekingscode staat in de mail.",
	"Warum ist der Flug HN1203 schon wieder verspätet? Das ist das dritte Mal diesen Monat.",
	"Bonjour, puis-je changer mon siège sur le vol de demain ?",
	"Llevo dos horas esperando en Schiphol sin ninguna información. Vergonzoso.",
	"Can I bring my guitar as cabin baggage on a 737? Thanks!",
	"Hello, I'm writing because my refund request from last month has still not been processed. I called twice and each time I was told it would take another week. Could you please look into it? Booking reference HX7QZ2.",
}

func (t *traffic) message() channel.Message {
	i := t.seq.Add(1)
	author := rand.Int64N(i/4 + 1) // a quarter of the messages come from new people
	m := channel.Message{
		ChannelID:  t.channel,
		PlatformID: fmt.Sprintf("18%015d", i),
		From:       channel.Author{ExternalID: fmt.Sprintf("u%d", author), Handle: fmt.Sprintf("@traveller%d", author), Name: fmt.Sprintf("Traveller %d", author)},
		Text:       texts[i%int64(len(texts))],
		Private:    i%3 == 0,
	}
	if i > 10 && i%10 == 0 {
		m.ReplyTo = fmt.Sprintf("18%015d", rand.Int64N(i-1)+1)
	}
	return m
}
