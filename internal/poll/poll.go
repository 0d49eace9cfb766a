// Package poll fetches messages from platforms that do not push (Mastodon
// notifications, Bluesky, an IMAP mailbox): each enabled channel whose
// adapter has a Poller is asked for news every PollEvery, what it returns
// goes through ingest.Pipeline.Receive, and only then is the cursor kept.
// A crash between the two means the same messages are fetched again, which
// ingest recognises as duplicates.
//
// Every instance polls; that is safe (dedupe) and costs one extra request
// per instance and interval, which the platforms' limits allow easily.
package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// Runner polls every pollable channel.
type Runner struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Adapters map[string]channel.Adapter
	Log      *slog.Logger
	Now      func() time.Time
	// Tick is how often the runner looks for channels that are due;
	// default 1s.
	Tick time.Duration

	once  sync.Once
	mu    sync.Mutex
	state map[int64]*state
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
	})
}

type state struct {
	next     time.Time
	running  bool
	failures int
	Status
}

// Status is how polling a channel went, for the admin screen.
type Status struct {
	LastOK    time.Time
	LastError string
	LastAt    time.Time
}

// CursorKey is the setting that holds a channel's poll cursor.
func CursorKey(channelID int64) string { return "poll.cursor." + strconv.FormatInt(channelID, 10) }

// Run polls until ctx ends, then waits for polls in flight.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	tick := r.Tick
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		chs, err := r.Store.Channels(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("poll: listing channels", "err", err)
		}
		for _, ch := range chs {
			ad, ok := r.Adapters[ch.Kind]
			if !ok || ad.Poller == nil || ch.Disabled || !r.due(ch.ID) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.Once(ctx, ch, ad)
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// due claims a channel's turn if it has come and no poll is running.
func (r *Runner) due(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state[id]
	if s == nil {
		s = &state{}
		r.state[id] = s
	}
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
	s := r.state[ch.ID]
	if s == nil {
		s = &state{}
		r.state[ch.ID] = s
	}
	s.running = false
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
