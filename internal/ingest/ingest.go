// Package ingest is the one entry point for every inbound customer message.
// It checks and normalises the message, group-commits it to the store with
// others that arrive at the same moment, and only after the commit publishes
// events and hands the message to the later stages.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Limits on what a message may hold. Platforms allow less; these bound what
// a hostile sender can make us store.
const (
	MaxBodyBytes  = 64 << 10
	MaxFiles      = 10 // files on one inbound message
	MaxNameBytes  = 256
	MaxSubjectLen = 998 // RFC 5322 line length
)

// ErrInvalid matches every refused message: errors.Is(err, ErrInvalid)
// holds for each *InvalidError.
var ErrInvalid = errors.New("invalid message")

// InvalidError is a message refused for breaking a rule. Reason says which
// rule, in words the sender can act on; callers that show it to a client
// take it with errors.As rather than cutting the text of Error.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return ErrInvalid.Error() + ": " + e.Reason }

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// ErrUnknownChannel means the channel does not exist or is disabled.
var ErrUnknownChannel = errors.New("unknown channel")

// Store is what the pipeline needs of the store: committing messages,
// feeding the stages, looking up channels and recording delivery reports.
// A store.Store satisfies it.
type Store interface {
	Ingest(ctx context.Context, batch []store.Inbound) ([]store.IngestResult, error)
	Unprocessed(ctx context.Context, limit int) ([]store.Message, error)
	MarkProcessed(ctx context.Context, ids []int64) error
	Channel(ctx context.Context, id int64) (store.Channel, error)
	Channels(ctx context.Context) ([]store.Channel, error)
	UpdateDelivery(ctx context.Context, channelID int64, platformID string, state store.Delivery, errText string, now time.Time) (m store.Message, changed bool, err error)
}

// Stage is a step after the commit (understanding, routing). It must be
// idempotent: after a crash a message may be processed again.
type Stage interface {
	Name() string
	Process(ctx context.Context, m store.Message) error
}

// Metrics receives the pipeline's figures; nil fields are ignored.
type Metrics struct {
	Ingested   func(n int)           // new messages committed
	Duplicates func(n int)           // re-deliveries recognised
	Latency    func(d time.Duration) // from Ingest call to commit
	BatchSize  func(n int)
}

// Pipeline group-commits inbound messages.
type Pipeline struct {
	store   Store
	bus     bus.Bus
	stages  []Stage
	log     *slog.Logger
	metrics Metrics
	now     func() time.Time

	queue    chan *request
	maxBatch int
	shedAt   int           // queue depth from which new messages are turned away
	nudge    chan struct{} // wakes the stage runner
	channels sync.Map      // channel id → cachedChannel, for checks on the hot path
	wg       sync.WaitGroup
	closed   chan struct{}
	stopped  chan struct{} // closed when commitLoop has drained and left
	once     sync.Once
}

type request struct {
	in    store.Inbound
	start time.Time
	done  chan outcome
}

type outcome struct {
	res store.IngestResult
	err error
}

// Options configure a Pipeline; zero values give sensible defaults.
type Options struct {
	Stages   []Stage
	Log      *slog.Logger
	Metrics  Metrics
	Now      func() time.Time
	MaxBatch int // messages per transaction; default 512
	// ShedAt is the commit queue's depth from which Ingest answers ErrBusy
	// at once instead of queueing; default 1,024 (two full transactions
	// of the default size: a wait of about a tenth of a second).
	ShedAt int
}

// New starts a pipeline; Close stops it after draining what was accepted.
func New(st Store, b bus.Bus, o Options) *Pipeline {
	p := &Pipeline{
		store: st, bus: b, stages: o.Stages, log: o.Log, metrics: o.Metrics, now: o.Now,
		maxBatch: o.MaxBatch,
		nudge:    make(chan struct{}, 1),
		closed:   make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxBatch <= 0 {
		p.maxBatch = 512
	}
	p.shedAt = o.ShedAt
	if p.shedAt <= 0 {
		p.shedAt = 1024
	}
	p.queue = make(chan *request, max(p.maxBatch*4, p.shedAt))
	p.wg.Add(3)
	go p.commitLoop()
	go p.stageLoop()
	go p.forgetChangedChannels()
	p.nudgeStages() // finish what a previous run left unprocessed
	return p
}

// Close stops accepting, commits what is queued and waits for the workers.
func (p *Pipeline) Close() {
	p.once.Do(func() {
		close(p.closed)
		p.wg.Wait()
	})
}

// Ingest checks m, commits it durably (possibly together with others) and
// returns what was stored. When it returns without error the message is on
// disk; a re-delivery returns the same ids with Duplicate set.
func (p *Pipeline) Ingest(ctx context.Context, m channel.Message) (store.IngestResult, error) {
	if err := ctx.Err(); err != nil {
		return store.IngestResult{}, err // the caller has gone: do not queue behind its back
	}
	in, err := p.normalise(ctx, m)
	if err != nil {
		return store.IngestResult{}, err
	}
	r := &request{in: in, start: time.Now(), done: make(chan outcome, 1)}
	// Checked on its own: when both are ready, select below picks at random.
	select {
	case <-p.closed:
		return store.IngestResult{}, errShuttingDown
	default:
	}
	if p.Busy() {
		return store.IngestResult{}, ErrBusy
	}
	select {
	case p.queue <- r:
	case <-p.closed:
		return store.IngestResult{}, errShuttingDown
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
	// Once queued, the message will be committed even if the caller stops
	// waiting: we must not report failure for a message that is stored.
	select {
	case o := <-r.done:
		return o.res, o.err
	case <-p.stopped:
		// Queued as Close drained: either committed before the committer
		// left, or never will be.
		select {
		case o := <-r.done:
			return o.res, o.err
		default:
			return store.IngestResult{}, errShuttingDown
		}
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
}

var errShuttingDown = errors.New("ingest: shutting down")

// ErrBusy means the commit queue is deeper than the pipeline takes: the
// sender should try again shortly (an HTTP front end answers 503 with
// Retry-After; platforms send webhooks again) rather than wait in a queue
// without end. Nothing was stored.
var ErrBusy = errors.New("ingest: too busy; try again shortly")

// BusyRetry is how soon a sender turned away with ErrBusy should try again.
const BusyRetry = time.Second

// Busy reports whether Ingest would turn a message away now, so that a
// front end can refuse a request before it reads it.
func (p *Pipeline) Busy() bool { return len(p.queue) >= p.shedAt }

// normalise checks and cleans a message into the store's form.
func (p *Pipeline) normalise(ctx context.Context, m channel.Message) (store.Inbound, error) {
	ch, err := p.channel(ctx, m.ChannelID)
	if err != nil {
		return store.Inbound{}, err
	}
	bad := func(format string, a ...any) (store.Inbound, error) {
		return store.Inbound{}, &InvalidError{Reason: fmt.Sprintf(format, a...)}
	}
	fields := []struct {
		name, value string
		max         int
		required    bool
	}{
		{"id", m.PlatformID, channel.MaxIDBytes, true},
		{"from.id", m.From.ExternalID, channel.MaxIDBytes, true},
		{"from.platform", m.From.Platform, 64, false},
		{"from.handle", m.From.Handle, MaxNameBytes, false},
		{"from.name", m.From.Name, MaxNameBytes, false},
		{"reply_to", m.ReplyTo, channel.MaxIDBytes, false},
		{"language", m.Language, 16, false},
		{"subject", m.Subject, MaxSubjectLen, false},
		{"text", m.Text, MaxBodyBytes, len(m.Files) == 0}, // a photo alone is a message too
	}
	for _, f := range fields {
		switch {
		case !utf8.ValidString(f.value):
			return bad("%s is not valid UTF-8", f.name)
		case f.required && strings.TrimSpace(f.value) == "":
			return bad("%s is required", f.name)
		case len(f.value) > f.max:
			return bad("%s is %d bytes; the limit is %d", f.name, len(f.value), f.max)
		case strings.ContainsRune(f.value, 0):
			return bad("%s contains a NUL character", f.name)
		}
	}
	body := cleanText(m.Text)
	if strings.TrimSpace(body) == "" && len(m.Files) == 0 {
		return bad("text has nothing but control characters")
	}
	if len(m.Files) > MaxFiles {
		return bad("%d files; the limit is %d per message", len(m.Files), MaxFiles)
	}
	var files []store.Attachment
	for i, f := range m.Files {
		switch {
		case len(f.Data) == 0:
			return bad("file %d is empty", i+1)
		case len(f.Data) > channel.MaxFileBytes:
			return bad("file %d is %d bytes; the limit is %d", i+1, len(f.Data), channel.MaxFileBytes)
		}
		files = append(files, channel.NewAttachment(f.Name, f.Data))
	}
	platform := m.From.Platform
	if platform == "" {
		platform = ch.Kind
		if ch.Kind == "api" {
			// Ids from an integration mean something only to that system.
			platform = "api:" + strconv.FormatInt(ch.ID, 10)
		}
	}
	now := p.now().UTC()
	sent := m.SentAt.UTC()
	if m.SentAt.IsZero() || sent.After(now.Add(5*time.Minute)) {
		sent = now // a clock in the future would sort the message above everything
	}
	lang := Language(m.Language) // junk from a platform is dropped, not the message
	if lang == "" {
		lang = ch.Locale
	}
	return store.Inbound{
		ChannelID:   ch.ID,
		PlatformID:  strings.TrimSpace(m.PlatformID),
		Platform:    strings.ToLower(platform),
		ExternalID:  strings.TrimSpace(m.From.ExternalID),
		Handle:      oneLine(m.From.Handle),
		Name:        oneLine(m.From.Name),
		Body:        body,
		Attachments: files,
		ReplyTo:     strings.TrimSpace(m.ReplyTo),
		Private:     m.Private,
		Language:    lang,
		Subject:     oneLine(m.Subject),
		SentAt:      sent,
		ReceivedAt:  now,
		Processed:   len(p.stages) == 0,
	}, nil
}

// channelTTL bounds how long a cached channel is trusted: a change made
// where no event announces it (the CLI, another instance without a shared
// bus) takes effect within this time.
const channelTTL = 10 * time.Second

type cachedChannel struct {
	c  store.Channel
	at time.Time
}

// Channel returns a channel, enabled or not, from a short-lived cache:
// every webhook needs its channel and channels change rarely. A change
// announced on the bus (bus.ChannelUpdated) empties the entry at once.
func (p *Pipeline) Channel(ctx context.Context, id int64) (store.Channel, error) {
	if v, ok := p.channels.Load(id); ok {
		if cc := v.(cachedChannel); time.Since(cc.at) < channelTTL {
			return cc.c, nil
		}
	}
	c, err := p.store.Channel(ctx, id)
	if err != nil {
		return c, err
	}
	if !c.Disabled { // a disabled channel is read each time, so enabling it works at once
		p.channels.Store(id, cachedChannel{c: c, at: time.Now()})
	}
	return c, nil
}

// channel returns an enabled channel.
func (p *Pipeline) channel(ctx context.Context, id int64) (store.Channel, error) {
	c, err := p.Channel(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Disabled) {
		return c, fmt.Errorf("%w: %d", ErrUnknownChannel, id)
	}
	return c, err
}

// ForgetChannel drops a channel from the cache after it changed.
func (p *Pipeline) ForgetChannel(id int64) { p.channels.Delete(id) }

// forgetChangedChannels empties cache entries of channels that changed on
// any instance sharing the bus, until the pipeline closes.
func (p *Pipeline) forgetChangedChannels() {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.closed
		cancel()
	}()
	for ctx.Err() == nil {
		events, stop, _ := p.bus.Subscribe(ctx, 0)
		for e := range events {
			if e.Type == bus.ChannelUpdated {
				p.ForgetChannel(e.ChannelID)
			}
		}
		stop()
		// The bus dropped us (too slow, or closing): everything cached may
		// have missed an event.
		p.channels.Clear()
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// oneLine strips control characters (newlines included) from a name-like field.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || spoofing(r) {
			return -1
		}
		return r
	}, s))
}

// spoofing reports characters that make a name look like another's:
// direction overrides and isolates (U+202E turns "gnp.exe" around) and
// invisible ones (zero-width space, word joiner, BOM). Joiners that
// scripts and emoji need (U+200C, U+200D) stay.
func spoofing(r rune) bool {
	return unicode.Is(unicode.Bidi_Control, r) || r == '\u200b' || r == '\u2060' || r == '\ufeff'
}

// languageTag matches what webcare keeps as a language: a BCP 47-like tag
// ("nl", "pt-br"), lowercased.
var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)

// Language is a platform's or sender's language as webcare keeps it:
// lowercased, "_" read as "-" (en_GB), and "" for anything that is not a
// language tag, so that junk never becomes a conversation's language.
func Language(s string) string {
	s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	if !languageTag.MatchString(s) {
		return ""
	}
	return s
}

// cleanText drops control characters other than newline and tab, and
// normalises line endings, keeping everything the customer wrote.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == '\r' {
			return '\n'
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// commitLoop takes whatever is queued — up to maxBatch — and commits it in
// one transaction. Under light load a batch is one message and nobody
// waits; under a surge batches grow and the fsync cost is shared.
func (p *Pipeline) commitLoop() {
	defer p.wg.Done()
	defer close(p.stopped)
	batch := make([]*request, 0, p.maxBatch)
	for {
		select {
		case r := <-p.queue:
			batch = append(batch[:0], r)
		case <-p.closed:
			// Drain: every request that made it into the queue is committed.
			for {
				select {
				case r := <-p.queue:
					p.commit([]*request{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < p.maxBatch {
			select {
			case r := <-p.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		p.commit(batch)
	}
}

func (p *Pipeline) commit(batch []*request) {
	ctx := context.Background() // a caller that gave up must not abort the others
	in := make([]store.Inbound, len(batch))
	for i, r := range batch {
		in[i] = r.in
	}
	results, err := p.store.Ingest(ctx, in)
	if err != nil && len(batch) > 1 {
		// One bad message must not sink the rest: retry one by one.
		p.log.Warn("ingest batch failed; retrying one by one", "size", len(batch), "err", err)
		for _, r := range batch {
			p.commit([]*request{r})
		}
		return
	}
	if err != nil {
		p.log.Error("ingest failed", "channel_id", batch[0].in.ChannelID, "platform_id", batch[0].in.PlatformID, "err", err)
		batch[0].done <- outcome{err: fmt.Errorf("store: %w", err)}
		return
	}
	var events []bus.Event
	fresh, dups := 0, 0
	for i, r := range batch {
		res := results[i]
		r.done <- outcome{res: res}
		if p.metrics.Latency != nil {
			p.metrics.Latency(time.Since(r.start))
		}
		if res.Duplicate {
			dups++
			continue
		}
		fresh++
		events = append(events, bus.Event{Type: bus.MessageReceived, At: r.in.ReceivedAt, ConversationID: res.ConversationID,
			MessageID: res.MessageID, ContactID: res.ContactID, ChannelID: r.in.ChannelID})
	}
	if p.metrics.Ingested != nil {
		p.metrics.Ingested(fresh)
	}
	if p.metrics.Duplicates != nil && dups > 0 {
		p.metrics.Duplicates(dups)
	}
	if p.metrics.BatchSize != nil {
		p.metrics.BatchSize(len(batch))
	}
	if len(events) > 0 {
		if err := p.bus.Publish(ctx, events...); err != nil {
			// The messages are stored; agents see them on their next load.
			p.log.Warn("publish failed", "events", len(events), "err", err)
		}
		if len(p.stages) > 0 {
			p.nudgeStages()
		}
	}
}

func (p *Pipeline) nudgeStages() {
	select {
	case p.nudge <- struct{}{}:
	default:
	}
}

// stageLoop runs the stages over every unprocessed message in the store, in
// order. It reads its work from the store, not from memory, so a crash
// between commit and routing loses nothing: the next start picks it up.
func (p *Pipeline) stageLoop() {
	defer p.wg.Done()
	if len(p.stages) == 0 {
		return
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.closed:
			return
		case <-p.nudge:
		case <-tick.C:
		}
		for p.runStages() {
		}
	}
}

// runStages processes one page of unprocessed messages; it reports whether
// there may be more.
func (p *Pipeline) runStages() bool {
	ctx := context.Background()
	msgs, err := p.store.Unprocessed(ctx, 500)
	if err != nil {
		p.log.Error("stages: listing unprocessed messages", "err", err)
		return false
	}
	if len(msgs) == 0 {
		return false
	}
	done := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		ok := true
		for _, s := range p.stages {
			if err := s.Process(ctx, m); err != nil {
				// Left unprocessed: the next round tries again.
				p.log.Error("stage failed", "stage", s.Name(), "message_id", m.ID, "conversation_id", m.ConversationID, "err", err)
				ok = false
				break
			}
		}
		if ok {
			done = append(done, m.ID)
		}
	}
	if err := p.store.MarkProcessed(ctx, done); err != nil {
		p.log.Error("stages: marking processed", "err", err)
		return false
	}
	select {
	case <-p.closed:
		return false
	default:
	}
	return len(done) == len(msgs) && len(msgs) == 500
}
