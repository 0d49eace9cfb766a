package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/bench"
)

func runBench(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "bench", args, map[string]func(context.Context, env, []string) error{
		"ingest": benchIngest,
	})
}

func benchIngest(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("webcare bench ingest", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	messages := fs.Int("messages", 100000, "messages per parallel run")
	sequential := fs.Int("sequential", 2000, "messages for the one-at-a-time run")
	conc := fs.String("concurrency", "16,64,256", "goroutines for the parallel runs, comma-separated")
	dir := fs.String("dir", "", "directory for the database file (default: a temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--concurrency: %q is not a positive number", s)
		}
		levels = append(levels, n)
	}
	if *messages < 1 || *sequential < 1 {
		return fmt.Errorf("--messages and --sequential must be positive")
	}
	d := *dir
	if d == "" {
		tmp, err := os.MkdirTemp("", "webcare-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		d = tmp
	}
	path := filepath.Join(d, fmt.Sprintf("bench-%d.db", time.Now().UnixNano()))
	host, _ := os.Hostname()
	fmt.Fprintf(e.stdout, "webcare bench ingest — %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s\nfile: %s (WAL, synchronous=FULL)\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, time.Now().Format("2006-01-02 15:04"), path)
	_, err := bench.Ingest(ctx, bench.IngestOptions{Path: path, Messages: *messages, Sequential: *sequential, Concurrency: levels, Out: e.stdout})
	return err
}
