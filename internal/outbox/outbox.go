// Package outbox delivers agents' replies. A reply is stored with its outbox
// entry in one transaction (store.QueueReply); the Worker here claims due
// entries, sends them through the channel's Sender, and records the
// platform's answer. Retries back off exponentially and honour Retry-After;
// every attempt carries the entry's idempotency key, so a platform that
// dedupes on it never shows a reply twice even after a crash mid-send.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
)

// Store is what the worker needs of the store: the outbox entries, and
// what a send is made of (channel, conversation, contact, messages, files).
// A store.Store satisfies it.
type Store interface {
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEntry, error)
	DeliverOutbox(ctx context.Context, id int64, platformID string, now time.Time) error
	RetryOutbox(ctx context.Context, id int64, errText string, next time.Time) error
	FailOutbox(ctx context.Context, id int64, errText string, now time.Time) error
	Channel(ctx context.Context, id int64) (store.Channel, error)
	Conversation(ctx context.Context, id int64) (store.Conversation, error)
	Contact(ctx context.Context, id int64) (store.Contact, error)
	Messages(ctx context.Context, conversationID, after int64, limit int) ([]store.Message, error)
	Message(ctx context.Context, id int64) (store.Message, error)
	Attachment(ctx context.Context, id int64) (store.Attachment, error)
}

// Worker claims and delivers outbox entries.
type Worker struct {
	Store   Store
	Bus     bus.Bus
	Senders map[string]Sender // by channel kind
	// Rates are the sends per second one channel of a kind may make
	// (the platform's rate limit, with a margin); absent or 0: no limit.
	Rates map[string]float64
	Log   *slog.Logger
	Now   func() time.Time

	MaxAttempts int           // default 8
	BaseDelay   time.Duration // first retry after about this; default 2s
	MaxDelay    time.Duration // cap on one wait; default 10m
	Lease       time.Duration // how long a claim lasts; default 1m
	Concurrency int           // sends at once; default 8
	Poll        time.Duration // how often to look for due entries; default 1s

	wake chan struct{}
	once sync.Once

	paceMu sync.Mutex
	pace   map[int64]time.Time // channel id → the earliest next send
	// booked are the slots of entries deferred to them: an entry that
	// comes back takes the slot it booked, its place in line, instead of
	// joining the end of the line again.
	booked map[int64]time.Time // outbox entry id → slot
	// held are the entries held back for their channel's rate longer
	// than HeldBackNotice, and since when.
	held map[int64]time.Time
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.wake = make(chan struct{}, 1)
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 8
		}
		if w.BaseDelay <= 0 {
			w.BaseDelay = 2 * time.Second
		}
		if w.MaxDelay <= 0 {
			w.MaxDelay = 10 * time.Minute
		}
		if w.Lease <= 0 {
			w.Lease = time.Minute
		}
		if w.Concurrency <= 0 {
			w.Concurrency = 8
		}
		if w.Poll <= 0 {
			w.Poll = time.Second
		}
	})
}

// Wake makes the worker look for due entries now (after a reply is queued).
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for sends in flight.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("outbox: claiming entries", "err", err)
			}
			if n < w.Concurrency || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one round of due entries and delivers them; it returns how
// many it handled.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	entries, err := w.Store.ClaimOutbox(ctx, w.Now(), w.Lease, w.Concurrency)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(ctx, e)
		}()
	}
	wg.Wait()
	return len(entries), nil
}

func (w *Worker) deliver(ctx context.Context, e store.OutboxEntry) {
	// Records are written with a context of their own: a send that
	// succeeded must be recorded even while shutting down.
	rec := context.WithoutCancel(ctx)
	claimed := time.Now() // the lease runs from about now: nothing may outlast it
	log := w.Log.With("outbox_id", e.ID, "conversation_id", e.ConversationID, "attempt", e.Attempts)
	stillHeld := false // whatever else happens to it, it no longer waits for the rate
	defer func() {
		if !stillHeld {
			w.release(e.ID)
		}
	}()
	d, sender, err := w.prepare(ctx, e)
	if err == nil {
		err = w.wait(ctx, d.Channel, e.ID)
	}
	if err == nil {
		// A send under way is finished even while shutting down: cut
		// off, it may have reached the platform and go out twice.
		sendCtx, cancel := context.WithTimeout(rec, w.Lease/2)
		var platformID string
		platformID, err = sender.Send(sendCtx, d)
		cancel()
		if err == nil {
			if err := w.record(rec, e, platformID, claimed.Add(w.Lease-5*time.Second), log); err != nil {
				// Out of ideas within the lease: the platform has it, and
				// the entry may be claimed and sent again.
				log.Error("outbox: the platform took the reply but recording it failed", "err", err)
				return
			}
			log.Info("reply delivered", "platform_id", platformID)
			typ, detail := bus.ReplyDelivered, ""
			// A report that came before the record is applied by it: say
			// what it said (a WhatsApp "failed" arriving first).
			if m, err := w.Store.Message(rec, e.MessageID); err == nil && m.Delivery != store.Sent {
				typ, detail = bus.ReplyDelivered, string(m.Delivery)
				if m.Delivery == store.Failed {
					typ, detail = bus.ReplyFailed, m.DeliveryError
				}
			}
			w.publish(rec, typ, e, detail)
			return
		}
	}
	var se *Error
	permanent := errors.As(err, &se) && se.Permanent
	if ctx.Err() != nil && !permanent {
		return // shutting down: the lease expires and another attempt follows
	}
	if df, ok := errors.AsType[*deferred](err); ok {
		// Not a failure: the channel is busy. Counted as an attempt by the
		// claim, so a reply held back often enough fails sooner on a real
		// error; the rate and lease make that rare.
		// The last real error, if any, stays what the agent sees, until
		// the reply has waited long enough that the agent should know why.
		note, since := e.LastError, d.Message.CreatedAt
		heldBack := !since.IsZero() && w.Now().Sub(since) >= HeldBackNotice
		if heldBack {
			note = fmt.Sprintf("Waiting its turn since %s: %s lets webcare send %s; next try in %s.",
				since.UTC().Format("15:04 UTC"), d.Channel.Kind, perMinute(df.rate), df.delay.Round(time.Second))
		}
		if err := w.Store.RetryOutbox(rec, e.ID, note, w.Now().Add(df.delay)); err != nil {
			log.Error("outbox: deferring", "err", err)
			return
		}
		if heldBack {
			stillHeld = true
			w.hold(e.ID, since)
			log.Warn("reply held back for the channel's rate", "channel_id", e.ChannelID, "since", since, "next_in", df.delay)
			w.publish(rec, bus.ReplyRetrying, e, note)
		}
		return
	}
	if permanent || e.Attempts >= w.MaxAttempts {
		reason := fmt.Sprintf("%v (attempt %d of %d)", err, e.Attempts, w.MaxAttempts)
		switch {
		case permanent && se.Body != "" && se.Status != 0:
			// The adapter put plain words in Body: those lead.
			reason = fmt.Sprintf("%s (the platform answered %d)", se.Body, se.Status)
		case permanent && se.Body != "" && se.Err != nil:
			reason = fmt.Sprintf("%s (%v)", se.Body, se.Err)
		}
		w.fail(rec, e, reason, log)
		return
	}
	wait := w.Backoff(e.Attempts)
	if se != nil && se.RetryAfter > wait {
		// Honour the platform, within reason: a reply parked for days
		// helps nobody, and the agent sees the retries meanwhile.
		wait = min(se.RetryAfter, MaxRetryAfter)
	}
	next := w.Now().Add(wait)
	if err := w.Store.RetryOutbox(rec, e.ID, err.Error(), next); err != nil {
		log.Error("outbox: scheduling retry", "err", err)
		return
	}
	log.Warn("reply not delivered; will retry", "err", err, "retry_in", wait.Round(time.Millisecond))
	w.publish(rec, bus.ReplyRetrying, e, err.Error())
}

// record writes down a send the platform accepted. It must not fail
// lightly: a send left unrecorded is claimed again when its lease ends and
// posted a second time. An id the store holds already (a platform that
// reuses ids, or answers with the id of the customer's own message) is
// recorded without the id; other failures (a busy or restarting database)
// are tried again until shortly before the lease ends (until), after which
// another worker could claim the entry.
func (w *Worker) record(ctx context.Context, e store.OutboxEntry, platformID string, until time.Time, log *slog.Logger) error {
	pause := 50 * time.Millisecond
	for {
		err := w.Store.DeliverOutbox(ctx, e.ID, platformID, w.Now())
		switch {
		case err == nil || errors.Is(err, store.ErrNotFound):
			return err
		case errors.Is(err, store.ErrConflict) && platformID != "":
			log.Warn("outbox: the platform's id for the reply is taken; recorded without it (its delivery reports cannot be matched)", "platform_id", platformID, "err", err)
			platformID = ""
			continue
		case time.Now().Add(pause).After(until):
			return err
		}
		log.Warn("outbox: recording a delivered reply failed; trying again", "err", err)
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Second)
	}
}

// wait keeps a channel below its platform's rate: each send takes the next
// free slot, spaced 1/rate apart. A slot more than maxPaceWait away is
// not waited for (that would hold up the round for every channel): the
// slot is booked for the entry and the entry deferred to it, so deferred
// entries come back one by one rather than all at once, and each takes
// the slot it booked when it comes back: it keeps its place in line.
func (w *Worker) wait(ctx context.Context, ch store.Channel, entryID int64) error {
	rate := w.Rates[ch.Kind]
	if rate <= 0 {
		return nil
	}
	now := w.Now()
	w.paceMu.Lock()
	if w.pace == nil {
		w.pace, w.booked = map[int64]time.Time{}, map[int64]time.Time{}
	}
	slot, booked := w.booked[entryID]
	if booked {
		delete(w.booked, entryID)
	} else {
		slot = w.pace[ch.ID]
		if slot.Before(now) {
			slot = now
		}
		w.pace[ch.ID] = slot.Add(time.Duration(float64(time.Second) / rate))
	}
	delay := slot.Sub(now)
	if delay > maxPaceWait {
		w.book(entryID, slot, now)
		w.paceMu.Unlock()
		return &deferred{delay: delay, rate: rate}
	}
	w.paceMu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// book keeps entryID's slot; w.paceMu is held. Bookings of entries that
// never came back (sent by another instance, or failed) are dropped once
// they are an hour old, so the map stays small.
func (w *Worker) book(entryID int64, slot, now time.Time) {
	w.booked[entryID] = slot
	if len(w.booked) > 1024 {
		for id, at := range w.booked {
			if now.Sub(at) > time.Hour {
				delete(w.booked, id)
			}
		}
	}
}

// maxPaceWait is the longest a send waits in line for its channel's rate.
const maxPaceWait = 2 * time.Second

// HeldBackNotice is how long a reply may wait for its channel's rate
// before the agent is told why it has not gone yet, and it counts in
// HeldBack.
const HeldBackNotice = time.Minute

// hold records that an entry waits for its channel's rate since since.
func (w *Worker) hold(entryID int64, since time.Time) {
	w.paceMu.Lock()
	defer w.paceMu.Unlock()
	if w.held == nil {
		w.held = map[int64]time.Time{}
	}
	w.held[entryID] = since
}

// release forgets an entry that is no longer held back.
func (w *Worker) release(entryID int64) {
	w.paceMu.Lock()
	defer w.paceMu.Unlock()
	delete(w.held, entryID)
}

// HeldBack counts the replies this worker holds back for their channels'
// rates for longer than HeldBackNotice, and how long the oldest has
// waited; /metrics shows both.
func (w *Worker) HeldBack() (n int, oldest time.Duration) {
	w.init()
	now := w.Now()
	w.paceMu.Lock()
	defer w.paceMu.Unlock()
	for _, since := range w.held {
		oldest = max(oldest, now.Sub(since))
	}
	return len(w.held), oldest
}

// perMinute says a rate the way people think of it.
func perMinute(rate float64) string {
	if rate >= 1 {
		return fmt.Sprintf("%g replies a second", rate)
	}
	return fmt.Sprintf("one reply every %s", time.Duration(float64(time.Second)/rate).Round(time.Second))
}

// deferred holds a send back to keep a channel below its rate.
type deferred struct {
	delay time.Duration
	rate  float64
}

func (d *deferred) Error() string {
	return fmt.Sprintf("keeping below %g sends per second on this channel; next slot in %v", d.rate, d.delay.Round(time.Millisecond))
}

// MaxRetryAfter caps how long a platform's Retry-After can park a reply.
const MaxRetryAfter = time.Hour

// prepare loads what a sender needs to know. Missing records and a missing
// sender are permanent; other store errors are worth another try.
func (w *Worker) prepare(ctx context.Context, e store.OutboxEntry) (Delivery, Sender, error) {
	d, sender, err := w.load(ctx, e)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sender == nil) {
		if err == nil {
			err = fmt.Errorf("no sender for %s channels in this build", d.Channel.Kind)
		}
		return d, nil, &Error{Permanent: true, Err: err}
	}
	return d, sender, err
}

func (w *Worker) load(ctx context.Context, e store.OutboxEntry) (Delivery, Sender, error) {
	var d Delivery
	ch, err := w.Store.Channel(ctx, e.ChannelID)
	if err != nil {
		return d, nil, fmt.Errorf("channel %d: %w", e.ChannelID, err)
	}
	d.Channel = ch
	sender := w.Senders[ch.Kind]
	if sender == nil {
		return d, nil, nil
	}
	conv, err := w.Store.Conversation(ctx, e.ConversationID)
	if err != nil {
		return d, nil, err
	}
	msg, err := w.Store.Message(ctx, e.MessageID)
	if err != nil {
		return d, nil, err
	}
	contact, err := w.Store.Contact(ctx, conv.ContactID)
	if err != nil {
		return d, nil, err
	}
	d = Delivery{Key: e.IdempotencyKey, Channel: ch, Conversation: conv, Message: msg}
	for _, a := range msg.Attachments {
		full, err := w.Store.Attachment(ctx, a.ID)
		if err != nil {
			return d, nil, err
		}
		d.Files = append(d.Files, full)
	}
	// The recipient is the identity this channel's platform knows them by;
	// a merged contact has several.
	d.To = pickIdentity(contact.Identities, ch)
	if d.LastInbound, _, d.Thread, err = w.history(ctx, conv.ID, msg.ID); err != nil {
		return d, nil, err
	}
	if conv.Visibility == store.Private && conv.LinkedID != 0 {
		if _, d.Origin, _, err = w.history(ctx, conv.LinkedID, 0); err != nil {
			return d, nil, err
		}
	}
	return d, sender, nil
}

// history reads a conversation: when the customer last wrote and that
// message's platform id, and the platform ids of its messages before
// message before (0: all), oldest first.
func (w *Worker) history(ctx context.Context, conversationID, before int64) (last time.Time, lastID string, thread []string, err error) {
	for after := int64(0); ; {
		page, err := w.Store.Messages(ctx, conversationID, after, 500)
		if err != nil {
			return last, lastID, thread, err
		}
		for _, m := range page {
			if m.Direction == store.DirInbound {
				last, lastID = m.SentAt, m.PlatformID
			}
			if m.PlatformID != "" && (before == 0 || m.ID < before) && m.Direction != store.DirNote {
				thread = append(thread, m.PlatformID)
			}
			after = m.ID
		}
		if len(page) < 500 {
			return last, lastID, thread, nil
		}
	}
}

func pickIdentity(ids []store.Identity, ch store.Channel) store.Identity {
	want := ch.Kind
	if ch.Kind == "api" {
		want = fmt.Sprintf("api:%d", ch.ID)
	}
	var fallback store.Identity
	for _, id := range ids {
		if id.Platform == want {
			return id
		}
		if fallback.ID == 0 {
			fallback = id
		}
	}
	return fallback
}

func (w *Worker) fail(ctx context.Context, e store.OutboxEntry, reason string, log *slog.Logger) {
	if err := w.Store.FailOutbox(ctx, e.ID, reason, w.Now()); err != nil {
		log.Error("outbox: recording failure", "err", err)
		return
	}
	log.Error("reply failed for good", "reason", reason)
	w.publish(ctx, bus.ReplyFailed, e, reason)
}

func (w *Worker) publish(ctx context.Context, typ string, e store.OutboxEntry, detail string) {
	if w.Bus == nil {
		return
	}
	_ = w.Bus.Publish(ctx, bus.Event{Type: typ, ConversationID: e.ConversationID, MessageID: e.MessageID, ChannelID: e.ChannelID, Detail: detail})
}

// Backoff is the wait before attempt n+1: exponential from BaseDelay, capped
// at MaxDelay, with jitter so that many failed replies do not retry in step.
func (w *Worker) Backoff(attempt int) time.Duration {
	w.init()
	d := w.BaseDelay
	for i := 1; i < attempt && d < w.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, w.MaxDelay)
	return d/2 + rand.N(d/2+1)
}
