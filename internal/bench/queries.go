package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// QueriesOptions configure the queries scenario.
type QueriesOptions struct {
	Runs int // measured calls per query kind; default 300
	// Parallel is how many goroutines run the mix again at once after
	// the calls one at a time; default 8, more than the embedded store's
	// reader pool on a small machine, so that every reader connection is
	// in use (and holds its page cache) as on a busy server.
	Parallel int
	Seed     uint64
	Out      io.Writer
}

// QueryResult is the latency of one kind of query over its runs.
type QueryResult struct {
	Name          string
	Runs          int
	Rows          float64 // conversations (or hits) returned per call, on average
	P50, P95, P99 time.Duration
	Max           time.Duration
}

func (r QueryResult) String() string {
	return fmt.Sprintf("%-44s %6d runs %8.1f rows   p50 %-9s p95 %-9s p99 %-9s max %s", r.Name, r.Runs, r.Rows,
		r.P50.Round(time.Microsecond), r.P95.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// queryKind is one query the UI runs; call returns the rows it got.
type queryKind struct {
	name string
	call func(ctx context.Context, i int) (int, error)
}

// Queries measures, on a store filled by Seed, the queries of the inbox
// (the page of new and open conversations of a queue, in both orders, a
// page deep into the list, and the queue counts) and of the search box,
// next to a primary-key lookup of a conversation as the baseline. The kinds
// take turns, so that a slow moment of the machine hits them all alike;
// each is called a few times unmeasured first. It returns the latencies of
// these calls one at a time, the figures the targets are about.
//
// Then the same number of calls again from Parallel goroutines at once,
// whose latencies (waiting for a connection and a CPU included) it prints
// too. After each phase it prints the process's memory (ReadMemory): one
// caller at a time keeps a single reader connection busy, while a server
// under load fills every connection's page cache, and the resident peak
// over the whole run, opening the store included, is what the memory
// budget of the embedded store is held to.
func Queries(ctx context.Context, st store.Store, o QueriesOptions) ([]QueryResult, error) {
	if o.Runs <= 0 {
		o.Runs = 300
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	kinds, err := queryKinds(ctx, st, o.Seed)
	if err != nil {
		return nil, err
	}
	lat, rows, err := takeTurns(ctx, kinds, o.Runs)
	if err != nil {
		return nil, err
	}
	out := summarize(kinds, lat, rows, o.Out)
	fmt.Fprintf(o.Out, "\nafter the calls one at a time, %s\n", ReadMemory())

	// Each goroutine has kinds of its own: the baseline's random ids and
	// the search's turns are not safe for concurrent use.
	rounds := max(1, o.Runs/o.Parallel)
	fmt.Fprintf(o.Out, "\nthe same mix from %d goroutines at once, %d rounds each:\n", o.Parallel, rounds)
	all := make([][][]time.Duration, o.Parallel)
	allRows := make([][]int, o.Parallel)
	errs := make([]error, o.Parallel)
	var wg sync.WaitGroup
	for g := range o.Parallel {
		wg.Go(func() {
			ks, err := queryKinds(ctx, st, o.Seed+uint64(g)+1)
			if err != nil {
				errs[g] = err
				return
			}
			all[g], allRows[g], errs[g] = takeTurns(ctx, ks, rounds)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	lat = make([][]time.Duration, len(kinds))
	rows = make([]int, len(kinds))
	for g := range all {
		for k := range kinds {
			lat[k] = append(lat[k], all[g][k]...)
			rows[k] += allRows[g][k]
		}
	}
	summarize(kinds, lat, rows, o.Out)
	fmt.Fprintf(o.Out, "\nat the end, %s\n", ReadMemory())
	return out, nil
}

// takeTurns calls the kinds in turn, runs times each after a few
// unmeasured warm-up rounds, and returns each kind's latencies and the
// rows it got in all.
func takeTurns(ctx context.Context, kinds []queryKind, runs int) ([][]time.Duration, []int, error) {
	const warmup = 5
	lat := make([][]time.Duration, len(kinds))
	rows := make([]int, len(kinds))
	for i := range warmup + runs {
		for k, q := range kinds {
			t := time.Now()
			n, err := q.call(ctx, i)
			d := time.Since(t)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", q.name, err)
			}
			if i >= warmup {
				lat[k] = append(lat[k], d)
				rows[k] += n
			}
		}
	}
	return lat, rows, nil
}

// summarize turns each kind's latencies into its percentiles, printing
// them to w.
func summarize(kinds []queryKind, lat [][]time.Duration, rows []int, w io.Writer) []QueryResult {
	var out []QueryResult
	for k, q := range kinds {
		l := lat[k]
		slices.Sort(l)
		pct := func(p float64) time.Duration { return l[min(len(l)-1, int(p*float64(len(l))))] }
		r := QueryResult{Name: q.name, Runs: len(l), Rows: float64(rows[k]) / float64(len(l)), P50: pct(.50), P95: pct(.95), P99: pct(.99), Max: l[len(l)-1]}
		fmt.Fprintln(w, r)
		out = append(out, r)
	}
	return out
}

// queryKinds builds the queries from what the store holds: its size for
// the baseline's ids, its busiest team, a cursor ten pages deep, and
// handles of real contacts.
func queryKinds(ctx context.Context, st store.Store, seed uint64) ([]queryKind, error) {
	r := rand.New(rand.NewPCG(seed, 5))
	total, err := st.CountConversations(ctx, store.ConversationFilter{})
	if err != nil {
		return nil, err
	}
	if total == 0 {
		return nil, fmt.Errorf("the store has no conversations: run webcare bench seed first")
	}
	inbox := []store.Status{store.StatusNew, store.StatusOpen}
	teams, err := st.Teams(ctx)
	if err != nil {
		return nil, err
	}
	var team int64
	most := -1
	for _, t := range teams {
		n, err := st.CountConversations(ctx, store.ConversationFilter{Statuses: inbox, TeamID: t.ID})
		if err != nil {
			return nil, err
		}
		if n > most {
			team, most = t.ID, n
		}
	}
	if team == 0 {
		return nil, fmt.Errorf("the store has no team: run webcare bench seed first")
	}
	// Cursors after row 450, so the deep page is the tenth of 50.
	deep := map[store.ConversationOrder]store.Cursor{}
	for _, o := range []store.ConversationOrder{store.OrderNewest, store.OrderWaiting} {
		page, err := st.Conversations(ctx, store.ConversationFilter{Statuses: inbox, Order: o, Limit: 450})
		if err != nil {
			return nil, err
		}
		if len(page) > 0 {
			deep[o] = store.CursorAfter(page[len(page)-1], o)
		}
	}
	// Handles of contacts of conversations anywhere in the history.
	var handles []string
	for tries := 0; len(handles) < 20 && tries < 1000; tries++ {
		c, err := st.Conversation(ctx, 1+r.Int64N(int64(total)))
		if err != nil {
			continue
		}
		ct, err := st.Contact(ctx, c.ContactID)
		if err != nil {
			return nil, err
		}
		if len(ct.Identities) > 0 && ct.Identities[0].Handle != "" {
			handles = append(handles, ct.Identities[0].Handle)
		}
	}

	if len(handles) == 0 {
		handles = []string{"@nobody"}
	}
	list := func(f store.ConversationFilter) func(context.Context, int) (int, error) {
		return func(ctx context.Context, _ int) (int, error) {
			cs, err := st.Conversations(ctx, f)
			return len(cs), err
		}
	}
	count := func(f store.ConversationFilter) func(context.Context, int) (int, error) {
		return func(ctx context.Context, _ int) (int, error) {
			n, err := st.CountConversations(ctx, f)
			return n, err
		}
	}
	search := func(texts []string) func(context.Context, int) (int, error) {
		return func(ctx context.Context, i int) (int, error) {
			res, err := st.Search(ctx, store.SearchQuery{Text: texts[i%len(texts)]})
			return len(res.Conversations) + len(res.Contacts), err
		}
	}
	f := func(assignee, team int64, o store.ConversationOrder) store.ConversationFilter {
		return store.ConversationFilter{Statuses: inbox, AssigneeID: assignee, TeamID: team, Order: o, Limit: 50}
	}
	deepNewest, deepWaiting := f(0, 0, store.OrderNewest), f(0, 0, store.OrderWaiting)
	deepNewest.Before, deepWaiting.Before = deep[store.OrderNewest], deep[store.OrderWaiting]
	return []queryKind{
		{"baseline: conversation by primary key", func(ctx context.Context, _ int) (int, error) {
			_, err := st.Conversation(ctx, 1+r.Int64N(int64(total)))
			return 1, err
		}},
		{"inbox all, newest first", list(f(0, 0, store.OrderNewest))},
		{"inbox all, waiting longest first", list(f(0, 0, store.OrderWaiting))},
		{"inbox unassigned, newest first", list(f(-1, 0, store.OrderNewest))},
		{"inbox unassigned, waiting longest first", list(f(-1, 0, store.OrderWaiting))},
		{"inbox team, newest first", list(f(0, team, store.OrderNewest))},
		{"inbox team, waiting longest first", list(f(0, team, store.OrderWaiting))},
		{"inbox all, page 10 (cursor), newest first", list(deepNewest)},
		{"inbox all, page 10 (cursor), waiting first", list(deepWaiting)},
		{"count all", count(f(0, 0, 0))},
		{"count unassigned", count(f(-1, 0, 0))},
		{"count team", count(f(0, team, 0))},
		{"search one word", search([]string{"koffer", "vertraging", "refund", "Verspätung", "bagage", "annulé", "maleta", "rimborso", "wifi", "rolstoel"})},
		{"search prefix (typing)", search([]string{"vertr", "koff", "bagg", "refu", "annul", "verspä", "reemb", "gepä"})},
		{"search two words", search([]string{"koffer kwijt", "flight cancelled", "vlucht geannuleerd", "refund booking", "Flug verspätet", "vol annulé"})},
		{"search flight number", search([]string{"HN641", "HN1227", "HN861", "HN1853", "HN713"})},
		{"search handle", search(handles)},
	}, nil
}
