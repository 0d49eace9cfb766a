package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/demo"
	"github.com/webcare/webcare/internal/store"
)

// SeedOptions configure the data set that Seed builds.
type SeedOptions struct {
	Conversations int       // at least 1
	Messages      int       // at least Conversations: every conversation has a message
	Batch         int       // messages per Ingest call (one transaction); default 1000
	Now           time.Time // the end of the two years the messages span; default now
	OpenDays      int       // conversations with a message in the last OpenDays days stay open; default 21
	Seed          uint64    // for the random choices; the same seed gives the same data
	Every         time.Duration
	Out           io.Writer // progress lines, one every Every (default 5s)
}

// SeedResult is what Seed stored and how long it took.
type SeedResult struct {
	Contacts, Conversations, Messages int
	Open                              int // conversations left new, open, pending or snoozed
	Ingest, Resolve, Triage           time.Duration
}

func (r SeedResult) String() string {
	return fmt.Sprintf("seeded %d contacts, %d conversations (%d open), %d messages: ingest %s (%.0f msgs/s), resolve %s, triage %s",
		r.Contacts, r.Conversations, r.Open, r.Messages, r.Ingest.Round(time.Second), float64(r.Messages)/r.Ingest.Seconds(),
		r.Resolve.Round(time.Second), r.Triage.Round(time.Second))
}

// seedSpan is how far back the seeded history goes.
const seedSpan = 2 * 365 * 24 * time.Hour

// seedChannel is one of the airline's accounts. Each platform has two (the
// main account and a help account), so that a customer's identity on the
// platform gives them up to four conversations: two channels, each public
// and private.
type seedChannel struct {
	kind, name string
	id         int64
}

var seedChannels = []seedChannel{
	{kind: "x", name: "@HeronAir"}, {kind: "x", name: "@HeronAirHelp"},
	{kind: "facebook", name: "Heron Airlines"}, {kind: "facebook", name: "Heron Airlines Nederland"},
	{kind: "instagram", name: "heronair"}, {kind: "instagram", name: "heronair.help"},
}

// seedPlan is one conversation to be: whose, where, when, how long.
type seedPlan struct {
	start    int64 // unix ms of the first message
	contact  int32
	combo    uint8 // channel of the platform (combo/2) and visibility (combo%2: 1 is private)
	messages int32
}

// Seed fills st with a realistic history through the Store interface, so
// that every engine is filled (and measured) the same way: o.Conversations
// conversations of about four per contact, o.Messages customer messages
// spread over two years in the corpus's languages with varied flights,
// cities, booking codes and names, ingested in batches of o.Batch. Then
// everything idle for more than o.OpenDays is resolved with
// Store.ResolveIdle, as a helpdesk's auto-close would, and the few percent
// left open are triaged: some opened and given to a team, some assigned,
// some pending.
func Seed(ctx context.Context, st store.Store, o SeedOptions) (SeedResult, error) {
	if o.Conversations < 1 || o.Messages < o.Conversations {
		return SeedResult{}, fmt.Errorf("seed: need at least one conversation and a message for each (got %d conversations, %d messages)", o.Conversations, o.Messages)
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.OpenDays <= 0 {
		o.OpenDays = 21
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	r := rand.New(rand.NewPCG(o.Seed, 4))
	by := store.Actor{Via: "bench"}
	tag := o.Now.UnixNano() // keeps platform ids and e-mails apart when seeding twice

	chans := slices.Clone(seedChannels)
	for i := range chans {
		c := store.Channel{Kind: chans[i].kind, Name: chans[i].name, CreatedAt: o.Now.Add(-seedSpan)}
		if err := st.CreateChannel(ctx, &c, by); err != nil {
			return SeedResult{}, fmt.Errorf("seed: channel %s: %w", chans[i].name, err)
		}
		chans[i].id = c.ID
	}
	teams, agents, err := seedStaff(ctx, st, tag, by)
	if err != nil {
		return SeedResult{}, err
	}

	plans := planConversations(r, o)
	res := SeedResult{Conversations: len(plans), Messages: o.Messages, Contacts: (len(plans) + 3) / 4}
	fmt.Fprintf(o.Out, "seed: %d conversations of %d contacts, %d messages over two years up to %s, batches of %d\n",
		res.Conversations, res.Contacts, res.Messages, o.Now.Format("2006-01-02"), o.Batch)

	start := time.Now()
	if err := ingestPlans(ctx, st, r, o, plans, chans, tag); err != nil {
		return res, err
	}
	res.Ingest = time.Since(start)

	start = time.Now()
	idle := o.Now.Add(-time.Duration(o.OpenDays) * 24 * time.Hour)
	resolved, err := resolveIdle(ctx, st, idle, res.Conversations, o)
	if err != nil {
		return res, err
	}
	res.Resolve = time.Since(start)
	res.Open = res.Conversations - resolved

	start = time.Now()
	if err := triage(ctx, st, r, teams, agents); err != nil {
		return res, err
	}
	res.Triage = time.Since(start)
	fmt.Fprintln(o.Out, res)
	return res, nil
}

// seedStaff creates three teams of four agents.
func seedStaff(ctx context.Context, st store.Store, tag int64, by store.Actor) (teams, agents []int64, err error) {
	for t, name := range []string{"Social NL", "Social international", "Baggage"} {
		var members []int64
		for i := range 4 {
			a := store.Agent{Email: fmt.Sprintf("seed-%d-%d-%d@heron.example", tag, t, i), Name: fmt.Sprintf("%s agent %d", name, i+1),
				Role: store.RoleAgent, Languages: []string{"nl", "en"}, Capacity: 8, Presence: store.Online}
			if err := st.CreateAgent(ctx, &a, by); err != nil {
				return nil, nil, fmt.Errorf("seed: agent: %w", err)
			}
			members = append(members, a.ID)
		}
		tm := store.Team{Name: fmt.Sprintf("%s %d", name, tag%100000), AgentIDs: members}
		if err := st.CreateTeam(ctx, &tm, by); err != nil {
			return nil, nil, fmt.Errorf("seed: team: %w", err)
		}
		teams, agents = append(teams, tm.ID), append(agents, members...)
	}
	return teams, agents, nil
}

// planConversations gives every conversation its contact, channel and
// visibility (four per contact), its start within the two years and its
// number of messages: one each, the rest spread so that most threads are
// short and a few are long, as in a real inbox. Plans are in time order, so
// that message ids grow with time as they do in production.
func planConversations(r *rand.Rand, o SeedOptions) []seedPlan {
	plans := make([]seedPlan, o.Conversations)
	from, span := o.Now.Add(-seedSpan).UnixMilli(), seedSpan.Milliseconds()
	for i := range plans {
		plans[i] = seedPlan{start: from + r.Int64N(span), contact: int32(i / 4), combo: uint8(i % 4), messages: 1}
	}
	long := max(1, len(plans)/20)
	for range o.Messages - o.Conversations {
		if r.IntN(10) < 3 { // three in ten extra messages go to the long threads (one conversation in twenty)
			plans[r.IntN(long)].messages++
		} else {
			plans[r.IntN(len(plans))].messages++
		}
	}
	slices.SortFunc(plans, func(a, b seedPlan) int { return int(a.start - b.start) })
	return plans
}

// seedTexts are the corpus by language and form: public posts, private
// messages and e-mails.
type seedTexts struct {
	langs           []string // one entry per text, so languages come as often as the corpus has them
	public, private map[string][]demo.Text
}

func newSeedTexts() seedTexts {
	t := seedTexts{public: map[string][]demo.Text{}, private: map[string][]demo.Text{}}
	for _, x := range demo.Corpus() {
		if x.Public() {
			t.public[x.Lang] = append(t.public[x.Lang], x)
		} else {
			t.private[x.Lang] = append(t.private[x.Lang], x)
		}
	}
	for _, x := range demo.Corpus() {
		if len(t.public[x.Lang]) > 0 && len(t.private[x.Lang]) > 0 {
			t.langs = append(t.langs, x.Lang)
		}
	}
	return t
}

type seedContact struct {
	lang, name, first, handle string
}

// ingestPlans writes the messages of every plan through Store.Ingest in
// batches, reporting progress.
func ingestPlans(ctx context.Context, st store.Store, r *rand.Rand, o SeedOptions, plans []seedPlan, chans []seedChannel, tag int64) error {
	texts := newSeedTexts()
	platforms := []string{"x", "facebook", "instagram"}
	// A contact's conversations are spread over the two years, so the
	// contact is made up again each time, from a generator of its own.
	contactOf := func(id int32) seedContact {
		cr := rand.New(rand.NewPCG(o.Seed, uint64(id)))
		lang := texts.langs[cr.IntN(len(texts.langs))]
		name, first, handle := demo.Author(cr, lang)
		return seedContact{lang: lang, name: name, first: first, handle: fmt.Sprintf("%s%d", handle, id)}
	}

	var done atomic.Int64
	stop := progress(o.Out, "ingest", "msgs", int64(o.Messages), o.Every, &done)
	defer stop()

	batch := make([]store.Inbound, 0, o.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := st.Ingest(ctx, batch); err != nil {
			return fmt.Errorf("seed: ingest: %w", err)
		}
		done.Add(int64(len(batch)))
		batch = batch[:0]
		return nil
	}
	seq := 0
	for _, p := range plans {
		c := contactOf(p.contact)
		platform := platforms[int(p.contact)%len(platforms)]
		var ofPlatform []seedChannel
		for _, sc := range chans {
			if sc.kind == platform {
				ofPlatform = append(ofPlatform, sc)
			}
		}
		ch := ofPlatform[int(p.combo/2)%len(ofPlatform)]
		private := p.combo%2 == 1
		pool := texts.public[c.lang]
		if private {
			pool = texts.private[c.lang]
		}
		vals := demo.RandomValues(r, c.lang, c.first) // one flight and booking per thread
		at := time.UnixMilli(p.start)
		for m := range p.messages {
			if m > 0 { // the next message minutes to hours later
				at = at.Add(time.Duration(1+r.IntN(240)) * time.Minute)
			}
			subject, body := pool[r.IntN(len(pool))].Fill(vals)
			seq++
			batch = append(batch, store.Inbound{
				ChannelID:  ch.id,
				PlatformID: fmt.Sprintf("seed-%d-%d", tag, seq),
				Platform:   platform,
				ExternalID: fmt.Sprintf("seed-%d", p.contact),
				Handle:     "@" + c.handle,
				Name:       c.name,
				Body:       body,
				Private:    private,
				Language:   c.lang,
				Subject:    subject,
				SentAt:     at,
				ReceivedAt: at.Add(time.Duration(200+r.IntN(3000)) * time.Millisecond),
				Processed:  true, // history: no post-commit stage should pick these up
			})
			if len(batch) == o.Batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// resolveIdle resolves every conversation idle since idle, in batches of a
// thousand, and returns how many it resolved.
func resolveIdle(ctx context.Context, st store.Store, idle time.Time, total int, o SeedOptions) (int, error) {
	var done atomic.Int64
	stop := progress(o.Out, "resolve idle", "conversations", int64(total), o.Every, &done)
	defer stop()
	statuses := []store.Status{store.StatusNew, store.StatusOpen, store.StatusPending}
	for {
		ids, err := st.ResolveIdle(ctx, statuses, idle, 1000, store.Actor{Via: "bench"})
		if err != nil {
			return int(done.Load()), fmt.Errorf("seed: resolve idle: %w", err)
		}
		done.Add(int64(len(ids)))
		if len(ids) < 1000 {
			return int(done.Load()), nil
		}
	}
}

// triage does to the open conversations what agents would have: a third
// are opened and given to a team, a fifth are assigned to an agent, a tenth
// wait for the customer (pending).
func triage(ctx context.Context, st store.Store, r *rand.Rand, teams, agents []int64) error {
	var open []int64
	f := store.ConversationFilter{Statuses: []store.Status{store.StatusNew}, Limit: 500}
	for {
		page, err := st.Conversations(ctx, f)
		if err != nil {
			return fmt.Errorf("seed: list open conversations: %w", err)
		}
		for _, c := range page {
			open = append(open, c.ID)
		}
		if len(page) < f.Limit {
			break
		}
		f.Before = store.CursorAfter(page[len(page)-1], f.Order)
	}
	type change struct {
		id int64
		ch store.ConversationChange
	}
	var changes []change
	assigned := map[int64][]int64{}
	for _, id := range open {
		var ch store.ConversationChange
		switch n := r.IntN(10); {
		case n < 3:
			ch.Status, ch.TeamID = ptrTo(store.StatusOpen), ptrTo(teams[r.IntN(len(teams))])
		case n < 4:
			ch.Status = ptrTo(store.StatusPending)
		}
		if r.IntN(5) == 0 {
			a := agents[r.IntN(len(agents))]
			assigned[a] = append(assigned[a], id)
		}
		if ch.Status != nil {
			changes = append(changes, change{id, ch})
		}
	}
	for a, ids := range assigned {
		if _, err := st.AssignConversations(ctx, ids, a, store.Actor{Via: "bench"}); err != nil {
			return fmt.Errorf("seed: assign: %w", err)
		}
	}
	// Changes one by one, as agents make them; a few at a time so that an
	// engine with many connections is not held to one.
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(changes)); i = next.Add(1) - 1 {
				if _, err := st.UpdateConversation(ctx, changes[i].id, changes[i].ch, store.Actor{Via: "bench"}); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("seed: triage conversation %d: %w", changes[i].id, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func ptrTo[T any](v T) *T { return &v }

// progress prints a line every every: done of total, the rate since the
// start and the time left at that rate. The returned func stops it.
func progress(out io.Writer, what, unit string, total int64, every time.Duration, done *atomic.Int64) func() {
	start := time.Now()
	t := time.NewTicker(every)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				n := done.Load()
				el := time.Since(start)
				rate := float64(n) / el.Seconds()
				eta := "?"
				if rate > 0 {
					eta = time.Duration(float64(total-n) / rate * float64(time.Second)).Round(time.Second).String()
				}
				fmt.Fprintf(out, "%s: %d/%d %s (%.1f%%), %.0f %s/s, %s elapsed, ETA %s\n",
					what, n, total, unit, 100*float64(n)/float64(total), rate, unit, el.Round(time.Second), eta)
			}
		}
	}()
	return func() { t.Stop(); close(quit); wg.Wait() }
}
