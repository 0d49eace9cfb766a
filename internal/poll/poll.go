// Package poll fetches messages from platforms that do not push (Mastodon
// notifications, Bluesky, an IMAP mailbox): each enabled channel whose
// adapter has a Poller is asked for news every PollEvery, what it returns
// goes through ingest.Pipeline.Receive, and only then is the cursor kept.
// A crash between the two means the same messages are fetched again, which
// ingest recognises as duplicates.
//
// Every instance polls; that is safe (dedupe) and costs one extra request
// per instance and interval, which the platforms' limits allow easily.
//
// A channel whose adapter is also a Watcher (IMAP IDLE) is watched over a
// connection kept open, and polled as soon as the watch says there is news.
package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// Store is what polling needs of the store: the channels, and a setting
// per channel to keep its cursor in. A store.Store satisfies it.
type Store interface {
	Channels(ctx context.Context) ([]store.Channel, error)
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// Runner polls every pollable channel.
type Runner struct {
	Store    Store
	Pipeline *ingest.Pipeline
	Adapters *channel.Registry // read only while the runner runs
	Log      *slog.Logger
	Now      func() time.Time
	// Tick is how often the runner looks for channels that are due;
	// default 1s.
	Tick time.Duration

	once  sync.Once
	mu    sync.Mutex
	state map[int64]*state
	kick  chan struct{} // a wake-up for Run, so a woken channel is polled at once
}

// watch is a running Watcher for one channel.
type watch struct {
	key    string // the settings it was started with
	cancel context.CancelFunc
}

func (r *Runner) init() {
	r.once.Do(func() {
		if r.Log == nil {
			r.Log = slog.New(slog.DiscardHandler)
		}
		if r.Now == nil {
			r.Now = time.Now
		}
		if r.Tick <= 0 {
			r.Tick = time.Second
		}
		r.state = map[int64]*state{}
		r.kick = make(chan struct{}, 1)
	})
}

type state struct {
	next     time.Time
	running  bool
	again    bool // woken while a poll ran: poll once more after it
	failures int
	watches  int // open watches: more than one while one replaces another
	Status
}

// Status is how polling a channel went, for the admin screen.
type Status struct {
	LastOK    time.Time
	LastError string
	LastAt    time.Time
	// Watching is true while a watch (IMAP IDLE) is open, so that news
	// comes in at once rather than at the next poll.
	Watching bool
}

// CursorKey is the setting that holds a channel's poll cursor.
func CursorKey(channelID int64) string { return "poll.cursor." + strconv.FormatInt(channelID, 10) }

// Run polls until ctx ends, then waits for polls and watches in flight.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	watches := map[int64]*watch{}
	defer func() {
		for _, w := range watches {
			w.cancel()
		}
	}()
	t := time.NewTicker(r.Tick)
	defer t.Stop()
	for {
		chs, err := r.Store.Channels(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("poll: listing channels", "err", err)
		}
		watched := map[int64]bool{}
		for _, ch := range chs {
			ad := r.Adapters.Get(ch.Kind)
			if ad.Poller == nil || ch.Disabled {
				continue
			}
			if ad.Watcher != nil {
				watched[ch.ID] = true
				r.keepWatching(ctx, &wg, watches, ch, ad)
			}
			if !r.due(ch.ID) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.Once(ctx, ch, ad)
			}()
		}
		if err == nil {
			for id, w := range watches {
				if !watched[id] { // disabled or deleted
					w.cancel()
					delete(watches, id)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.kick:
		}
	}
}

// keepWatching starts a channel's watch, or starts it again when the
// channel's settings changed (another server or login).
func (r *Runner) keepWatching(ctx context.Context, wg *sync.WaitGroup, watches map[int64]*watch, ch store.Channel, ad channel.Adapter) {
	key := fmt.Sprint(ch.Settings) // fmt prints maps sorted by key
	if w, ok := watches[ch.ID]; ok {
		if w.key == key {
			return
		}
		w.cancel()
	}
	wctx, cancel := context.WithCancel(ctx)
	watches[ch.ID] = &watch{key: key, cancel: cancel}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.watch(wctx, ch, ad)
	}()
}

// watch runs a channel's Watcher until ctx ends or the channel cannot be
// watched, opening it again after a failure with a growing pause.
func (r *Runner) watch(ctx context.Context, ch store.Channel, ad channel.Adapter) {
	log := r.Log.With("channel_id", ch.ID, "channel", ch.Kind)
	failures := 0
	for {
		began := time.Now()
		// The first wake says the watch is open (IDLE established).
		var open atomic.Bool
		err := ad.Watcher.Watch(ctx, ch, func() {
			if open.CompareAndSwap(false, true) {
				r.watching(ch.ID, +1)
			}
			r.Wake(ch.ID)
		})
		if open.Swap(true) { // and a late wake can no longer count
			r.watching(ch.ID, -1)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, channel.ErrNoWatch):
			log.Info("poll: channel not watched, polled only", "reason", err)
			return
		case err == nil && time.Since(began) > time.Second:
			failures = 0 // a watch that ran its time: open the next at once
			continue
		case err == nil:
			err = errors.New("the watch ended at once") // do not spin
		}
		if time.Since(began) > time.Minute {
			failures = 0
		}
		failures++
		wait := min(5*time.Second<<min(failures-1, 7), 10*time.Minute)
		log.Warn("poll: watch failed; polling meanwhile", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (r *Runner) watching(id int64, delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateOf(id)
	s.watches += delta
	s.Watching = s.watches > 0
}

// Wake makes channel id due for a poll now. Wakes during a running poll
// come to one more poll after it (the news may have come after it
// looked), so a server announcing a burst of mails one by one costs a
// poll or two, not one each. A channel whose polls are failing keeps its
// back-off: its server is not asked faster for being announced.
func (r *Runner) Wake(id int64) {
	r.init()
	r.mu.Lock()
	s := r.stateOf(id)
	if s.running {
		s.again = true
	} else if s.failures == 0 {
		s.next = time.Time{}
	}
	r.mu.Unlock()
	r.nudge()
}

// nudge wakes Run without waiting: one pending wake-up is enough.
func (r *Runner) nudge() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// stateOf returns channel id's state, made on first use; r.mu is held.
func (r *Runner) stateOf(id int64) *state {
	s := r.state[id]
	if s == nil {
		s = &state{}
		r.state[id] = s
	}
	return s
}

// due claims a channel's turn if it has come and no poll is running.
func (r *Runner) due(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateOf(id)
	if s.running || r.Now().Before(s.next) {
		return false
	}
	s.running = true
	return true
}

// Once polls one channel now and schedules its next turn: PollEvery after
// success, backing off to ten minutes while the platform fails.
func (r *Runner) Once(ctx context.Context, ch store.Channel, ad channel.Adapter) (ingest.Receipt, error) {
	r.init()
	rec, err := r.poll(ctx, ch, ad)
	every := ad.PollEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateOf(ch.ID)
	s.running = false
	again := s.again
	s.again = false
	now := r.Now()
	s.LastAt = now
	if err != nil {
		s.failures++
		s.LastError = err.Error()
		wait := every << min(s.failures, 6)
		s.next = now.Add(min(wait, 10*time.Minute))
		if ctx.Err() == nil {
			r.Log.Warn("poll failed", "channel_id", ch.ID, "channel", ch.Kind, "err", err, "retry_in", min(wait, 10*time.Minute))
		}
		return rec, err
	}
	s.failures, s.LastError, s.LastOK = 0, "", now
	s.next = now.Add(every)
	if again {
		s.next = now
		r.nudge()
	}
	return rec, nil
}

func (r *Runner) poll(ctx context.Context, ch store.Channel, ad channel.Adapter) (ingest.Receipt, error) {
	cursor, err := r.Store.Setting(ctx, CursorKey(ch.ID))
	if errors.Is(err, store.ErrNotFound) {
		cursor, err = "", nil // never polled: the adapter decides where to start
	}
	if err != nil {
		return ingest.Receipt{}, fmt.Errorf("reading the poll cursor: %w", err)
	}
	batch, next, err := ad.Poller.Poll(ctx, ch, cursor)
	if err != nil {
		return ingest.Receipt{}, err
	}
	rec, err := r.Pipeline.Receive(ctx, ch, ad, batch)
	if err != nil {
		return rec, err
	}
	if rec.Stored > 0 || rec.Statuses > 0 {
		r.Log.Info("polled", "channel_id", ch.ID, "channel", ch.Kind, "stored", rec.Stored, "duplicates", rec.Duplicates)
	}
	if next != cursor {
		if err := r.Store.SetSetting(ctx, CursorKey(ch.ID), next); err != nil {
			return rec, fmt.Errorf("keeping the poll cursor: %w", err)
		}
	}
	return rec, nil
}

// Status reports how polling channel id went; ok is false before its
// first poll on this instance.
func (r *Runner) Status(id int64) (Status, bool) {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.state[id]
	if !ok || s.LastAt.IsZero() {
		return Status{}, false
	}
	return s.Status, true
}
