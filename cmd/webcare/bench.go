package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/bench"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/store"
)

func runBench(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "bench", args, map[string]func(context.Context, env, []string) error{
		"ingest":  benchIngest,
		"load":    benchLoad,
		"seed":    benchSeed,
		"queries": benchQueries,
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

// benchLoad sends webhook traffic over HTTP to webcare, by default to an
// instance it starts itself on a fresh database, and measures it next to a
// bare net/http handler in the same run.
func benchLoad(ctx context.Context, e env, args []string) error {
	fs, finish := flags("bench load", e)
	rate := fs.Float64("rate", 0, "messages per second; 0 sends as fast as webcare acknowledges")
	duration := fs.Duration("duration", 10*time.Second, "length of each phase")
	concurrency := fs.Int("concurrency", 64, "requests in flight at most")
	surge := fs.Bool("surge", false, "baseline --rate, then ×10 and ×100 of it, then baseline again, one --duration each")
	instances := fs.Int("instances", 1, "webcare instances to start in this process (more than one needs --database-url)")
	targets := fs.String("target", "", "send to running instances instead (comma-separated base URLs); needs --channel, --token, --agent-token")
	channelID := fs.Int64("channel", 0, "with --target: the API channel's id")
	token := fs.String("token", "", "with --target: the channel's ingest token")
	agentToken := fs.String("agent-token", "", "with --target: an agent's API token, to time messages to the event stream")
	noCeiling := fs.Bool("no-ceiling", false, "skip the bare net/http measurement")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (generator and in-process instances) to this file")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *surge && *rate <= 0 {
		return fmt.Errorf("--surge needs --rate: the baseline to multiply")
	}
	if *instances > 1 && cfg.DatabaseURL == "" {
		return fmt.Errorf("--instances %d needs --database-url: instances on one embedded file would not share events", *instances)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	host, _ := os.Hostname()
	fmt.Fprintf(e.stdout, "webcare bench load — %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, time.Now().Format("2006-01-02 15:04"))

	var ts []bench.Target
	if *targets != "" {
		for _, u := range strings.Split(*targets, ",") {
			ts = append(ts, bench.Target{URL: strings.TrimRight(strings.TrimSpace(u), "/"), ChannelID: *channelID, Token: *token, AgentToken: *agentToken})
		}
		if *channelID == 0 || *token == "" {
			return fmt.Errorf("--target needs --channel and --token")
		}
	} else {
		if cfg.DatabaseURL == "" {
			dir, err := os.MkdirTemp("", "webcare-load-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.DatabasePath = filepath.Join(dir, "load.db")
		}
		for i := range *instances {
			in, err := bench.StartInstance(ctx, cfg)
			if err != nil {
				return err
			}
			defer in.Stop()
			var t bench.Target
			if i == 0 {
				if t, err = bench.Prepare(ctx, in.App.Store, in.URL); err != nil {
					return err
				}
			} else {
				t = ts[0]
				t.URL = in.URL
			}
			ts = append(ts, t)
		}
		fmt.Fprintf(e.stdout, "webcare: %d instance(s) in this process, store %s, bus %s\n", *instances, storeName(cfg), busName(cfg))
	}
	fmt.Fprintln(e.stdout)

	prefix := fmt.Sprintf("load-%d", time.Now().UnixNano())
	phase := 0
	run := func(name string, targets []bench.Target, r float64) error {
		phase++
		res, err := bench.Load(ctx, name, bench.LoadOptions{Targets: targets, Rate: r, Duration: *duration, Concurrency: *concurrency, Prefix: fmt.Sprintf("%s-%d", prefix, phase)})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, res)
		return nil
	}
	if !*noCeiling {
		url, stop, err := bench.Ceiling()
		if err != nil {
			return err
		}
		err = run("ceiling: bare net/http", []bench.Target{{URL: url, ChannelID: 1, Token: "x"}}, 0)
		stop()
		if err != nil {
			return err
		}
	}
	if !*surge {
		name := "webcare, as fast as acked"
		if *rate > 0 {
			name = fmt.Sprintf("webcare at %.0f msgs/s", *rate)
		}
		return run(name, ts, *rate)
	}
	for _, p := range []struct {
		name string
		x    float64
	}{{"baseline", 1}, {"surge ×10", 10}, {"surge ×100", 100}, {"after the surge", 1}} {
		if err := run(fmt.Sprintf("%s (%.0f msgs/s)", p.name, *rate*p.x), ts, *rate*p.x); err != nil {
			return err
		}
	}
	return nil
}

// benchSeed fills the configured store with a large realistic history,
// through the Store interface, for `webcare bench queries` to measure.
func benchSeed(ctx context.Context, e env, args []string) error {
	fs, finish := flags("bench seed", e)
	conversations := fs.Int("conversations", 1_000_000, "conversations to create (about four per contact)")
	messages := fs.Int("messages", 5_000_000, "customer messages to create, spread over two years")
	batch := fs.Int("batch", 1000, "messages per Ingest call (one transaction)")
	openDays := fs.Int("open-days", 21, "conversations with a message in the last this many days stay open; older ones are resolved")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same data")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	benchHeader(e, "seed", cfg)
	_, err = bench.Seed(ctx, st, bench.SeedOptions{Conversations: *conversations, Messages: *messages, Batch: *batch, OpenDays: *openDays, Seed: *seed, Out: e.stdout})
	return err
}

// benchQueries measures the inbox and search queries on a store that
// `webcare bench seed` filled. It is a command of its own, not a flag of
// seed, because seeding takes minutes and the queries are measured again
// after every change to an index or a query, on the same data.
func benchQueries(ctx context.Context, e env, args []string) error {
	fs, finish := flags("bench queries", e)
	runs := fs.Int("runs", 300, "measured calls of each query")
	seed := fs.Uint64("seed", 1, "random seed for the ids and handles looked up")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("--runs must be positive")
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	benchHeader(e, "queries", cfg)
	total, err := st.CountConversations(ctx, store.ConversationFilter{})
	if err != nil {
		return err
	}
	open, err := st.CountConversations(ctx, store.ConversationFilter{Statuses: []store.Status{store.StatusNew, store.StatusOpen}})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "data: %d conversations, %d of them new or open\n\n", total, open)
	_, err = bench.Queries(ctx, st, bench.QueriesOptions{Runs: *runs, Seed: *seed, Out: e.stdout})
	return err
}

// benchHeader prints the machine, the time and the store of a bench run.
func benchHeader(e env, name string, cfg config.Config) {
	host, _ := os.Hostname()
	fmt.Fprintf(e.stdout, "webcare bench %s — %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s\nstore: %s\n\n", name,
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, time.Now().Format("2006-01-02 15:04"), storeWhere(cfg))
}

// storeWhere names the store a bench command works on, without secrets.
func storeWhere(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			return "PostgreSQL"
		}
		return fmt.Sprintf("PostgreSQL %s%s?%s", u.Host, u.Path, u.RawQuery)
	}
	return "embedded SQLite " + cfg.DatabasePath
}

func storeName(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		return "PostgreSQL"
	}
	return "embedded SQLite"
}

func busName(cfg config.Config) string {
	if cfg.NATSURL != "" {
		return "NATS JetStream"
	}
	return "in-process"
}
