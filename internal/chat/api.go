package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// visitorRecord is what webcare keeps about a visitor beyond the contact,
// in the store's settings under visitorKey: shared by every instance.
type visitorRecord struct {
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	Page      string `json:"page,omitempty"`
	Lang      string `json:"lang,omitempty"`
	ContactID int64  `json:"contact_id,omitempty"`
}

func recordKey(chID int64, visitor string) string {
	return "webchat:visitor:" + strconv.FormatInt(chID, 10) + ":" + visitor
}

func seenKey(chID int64, visitor string) string {
	return "webchat:seen:" + strconv.FormatInt(chID, 10) + ":" + visitor
}

func (w *Widget) loadVisitor(ctx context.Context, chID int64, visitor string) (visitorRecord, bool, error) {
	var rec visitorRecord
	v, err := w.store.Setting(ctx, recordKey(chID, visitor))
	if errors.Is(err, store.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		w.log.Warn("webchat: unreadable visitor record; starting afresh", "channel", chID, "err", err)
		return visitorRecord{}, false, nil
	}
	return rec, true, nil
}

func (w *Widget) saveVisitor(ctx context.Context, chID int64, visitor string, rec visitorRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return w.store.SetSetting(ctx, recordKey(chID, visitor), string(b))
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "could not read the request body")
	}
	if len(b) > MaxRequestBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", MaxRequestBytes)
	}
	if ct := r.Header.Get("Content-Type"); len(b) > 0 && ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") && !strings.HasPrefix(strings.ToLower(ct), "text/plain") {
		return nil, errorf(http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)")
	}
	return b, nil
}

func inputError(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return errorf(http.StatusBadRequest, "%s", ie.Reason)
	}
	return err
}

// sessionAnswer is what the widget learns when it starts.
type sessionAnswer struct {
	VisitorID    string `json:"visitor_id"`
	Token        string `json:"token"`
	AgentsOnline bool   `json:"agents_online"`
	Mail         bool   `json:"mail"` // replies can reach the visitor by e-mail
	Greeting     string `json:"greeting,omitempty"`
	Name         string `json:"name,omitempty"`
	Email        string `json:"email,omitempty"`
	MaxText      int    `json:"max_text"`
}

// startSession gives a new visitor an id and token, or resumes the one the
// token names. A token that does not verify is refused (401), so that the
// widget knows to forget it and start afresh.
func (w *Widget) startSession(rw http.ResponseWriter, r *http.Request, q *request) error {
	if err := w.limit(rw, "ip:"+w.clientIP(r), w.limits.RequestsBurst, w.limits.RequestsPerMinute); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	s, err := parseSession(body)
	if err != nil {
		return inputError(err)
	}
	status := http.StatusOK
	if _, present := bearer(r); present {
		if err := w.authenticate(r, q); err != nil {
			return err
		}
	} else {
		q.visitor = newVisitorID()
		status = http.StatusCreated
	}
	ans := sessionAnswer{VisitorID: q.visitor, Token: Token(q.ch, q.visitor), Mail: w.mail != nil,
		Greeting: q.ch.Settings[SettingGreeting], MaxText: MaxTextChars}
	if status == http.StatusOK {
		rec, found, err := w.loadVisitor(r.Context(), q.ch.ID, q.visitor)
		if err != nil {
			return err
		}
		ans.Name, ans.Email = rec.Name, rec.Email
		// Only visitors who wrote or left details have a record; a page
		// view alone stores nothing.
		if found && ((s.Page != "" && s.Page != rec.Page) || (s.Lang != "" && s.Lang != rec.Lang)) {
			rec.Page, rec.Lang = or(s.Page, rec.Page), or(s.Lang, rec.Lang)
			if err := w.saveVisitor(r.Context(), q.ch.ID, q.visitor, rec); err != nil {
				return err
			}
		}
	}
	if ans.AgentsOnline, err = w.agentsOnline(r.Context()); err != nil {
		return err
	}
	return writeJSON(rw, status, ans)
}

// postAnswer tells the widget its message is stored.
type postAnswer struct {
	ID             string `json:"id"`
	MessageID      int64  `json:"message_id"`
	ConversationID int64  `json:"conversation_id"`
	Duplicate      bool   `json:"duplicate"`
}

// visitorBody authenticates a visitor's request, holds it to the
// per-address rate and reads its body.
func (w *Widget) visitorBody(rw http.ResponseWriter, r *http.Request, q *request) ([]byte, error) {
	if err := w.authenticate(r, q); err != nil {
		return nil, err
	}
	if err := w.limit(rw, "ip:"+w.clientIP(r), w.limits.RequestsBurst, w.limits.RequestsPerMinute); err != nil {
		return nil, err
	}
	return readBody(r)
}

// postMessage stores a visitor's message through ingest. The platform id
// joins the visitor id and the widget's message id, so a retried POST is
// the same message, and one visitor cannot collide with another's ids.
func (w *Widget) postMessage(rw http.ResponseWriter, r *http.Request, q *request) error {
	body, err := w.visitorBody(rw, r, q)
	if err != nil {
		return err
	}
	p, err := ParsePost(body)
	if err != nil {
		return inputError(err)
	}
	if err := w.limit(rw, "v:"+q.visitor, w.limits.MessagesBurst, w.limits.MessagesPerMinute); err != nil {
		return err
	}
	ctx := r.Context()
	rec, _, err := w.loadVisitor(ctx, q.ch.ID, q.visitor)
	if err != nil {
		return err
	}
	before := rec
	rec.Name, rec.Email, rec.Page = or(p.Name, rec.Name), or(p.Email, rec.Email), or(p.Page, rec.Page)
	res, err := w.ingest(ctx, channel.Message{
		ChannelID:  q.ch.ID,
		PlatformID: "webchat:" + q.visitor + ":" + p.ID,
		From:       channel.Author{Platform: Kind, ExternalID: q.visitor, Handle: rec.Email, Name: rec.Name},
		Text:       p.Text,
		Private:    true,
		SentAt:     w.now(),
	})
	var invalid *ingest.InvalidError
	switch {
	case errors.As(err, &invalid):
		return errorf(http.StatusBadRequest, "%s", invalid.Reason)
	case errors.Is(err, ingest.ErrUnknownChannel):
		return errorf(http.StatusNotFound, "no such chat")
	case errors.Is(err, ingest.ErrBusy):
		rw.Header().Set("Retry-After", strconv.Itoa(int(ingest.BusyRetry.Seconds())))
		return errorf(http.StatusServiceUnavailable, "we are very busy; your message was not sent, please send it again")
	case err != nil:
		return err
	}
	rec.ContactID = res.ContactID
	if rec != before {
		if err := w.saveVisitor(ctx, q.ch.ID, q.visitor, rec); err != nil {
			return err
		}
	}
	w.rememberConversation(res.ConversationID, res.ContactID)
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return writeJSON(rw, status, postAnswer{ID: p.ID, MessageID: res.MessageID, ConversationID: res.ConversationID, Duplicate: res.Duplicate})
}

// saveProfile keeps the visitor's name and e-mail address ("leave your
// e-mail"); they reach the contact with the next message.
func (w *Widget) saveProfile(rw http.ResponseWriter, r *http.Request, q *request) error {
	body, err := w.visitorBody(rw, r, q)
	if err != nil {
		return err
	}
	p, err := ParseProfile(body)
	if err != nil {
		return inputError(err)
	}
	rec, _, err := w.loadVisitor(r.Context(), q.ch.ID, q.visitor)
	if err != nil {
		return err
	}
	rec.Name, rec.Email, rec.Page = or(p.Name, rec.Name), or(p.Email, rec.Email), or(p.Page, rec.Page)
	if err := w.saveVisitor(r.Context(), q.ch.ID, q.visitor, rec); err != nil {
		return err
	}
	return writeJSON(rw, http.StatusOK, Profile{Name: rec.Name, Email: rec.Email, Page: rec.Page})
}

// WireMessage is a message as the visitor sees it.
type WireMessage struct {
	ID       int64     `json:"id"`
	From     string    `json:"from"` // "visitor" or "agent"
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
	ClientID string    `json:"client_id,omitempty"` // the widget's id, for the visitor's own messages
	Files    []string  `json:"files,omitempty"`     // names of files an agent attached
}

type historyAnswer struct {
	Messages     []WireMessage `json:"messages"`
	AgentsOnline bool          `json:"agents_online"`
}

// maxHistory bounds one history answer; the widget shows the newest.
const maxHistory = 200

// listMessages is the visitor's history: every message of their
// conversations on this channel after ?after=, oldest first.
func (w *Widget) listMessages(rw http.ResponseWriter, r *http.Request, q *request) error {
	if err := w.authenticate(r, q); err != nil {
		return err
	}
	if err := w.limit(rw, "read:"+q.visitor, w.limits.RequestsBurst, w.limits.RequestsPerMinute); err != nil {
		return err
	}
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "after must be a message id (a whole number ≥ 0)")
		}
		after = n
	}
	contact, err := w.contactOf(r.Context(), q.ch.ID, q.visitor)
	if err != nil {
		return err
	}
	ans := historyAnswer{Messages: []WireMessage{}}
	if contact != 0 {
		if ans.Messages, err = w.history(r.Context(), q.ch.ID, q.visitor, contact, after); err != nil {
			return err
		}
	}
	if ans.AgentsOnline, err = w.agentsOnline(r.Context()); err != nil {
		return err
	}
	return writeJSON(rw, http.StatusOK, ans)
}

// contactOf finds the visitor's contact: the id kept in their record,
// checked (agents may have merged contacts since), or 0 when the visitor
// has not written yet.
func (w *Widget) contactOf(ctx context.Context, chID int64, visitor string) (int64, error) {
	rec, found, err := w.loadVisitor(ctx, chID, visitor)
	if err != nil || !found || rec.ContactID == 0 {
		return 0, err
	}
	hasVisitor := func(c store.Contact) bool {
		return slices.ContainsFunc(c.Identities, func(i store.Identity) bool { return i.Platform == Kind && i.ExternalID == visitor })
	}
	c, err := w.store.Contact(ctx, rec.ContactID)
	if err == nil && hasVisitor(c) {
		return c.ID, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	// Merged into another contact: find the identity again.
	list, err := w.store.Contacts(ctx, store.ContactFilter{Query: visitor, Limit: 10})
	if err != nil {
		return 0, err
	}
	for _, c := range list {
		if hasVisitor(c) {
			rec.ContactID = c.ID
			return c.ID, w.saveVisitor(ctx, chID, visitor, rec)
		}
	}
	return 0, nil
}

// history reads the contact's conversations on the channel, newest 20, and
// their messages after after, without notes.
func (w *Widget) history(ctx context.Context, chID int64, visitor string, contact, after int64) ([]WireMessage, error) {
	convs, err := w.store.Conversations(ctx, store.ConversationFilter{ContactID: contact, ChannelID: chID, Limit: 20})
	if err != nil {
		return nil, err
	}
	own := "webchat:" + visitor + ":"
	out := []WireMessage{}
	for _, c := range convs {
		w.rememberConversation(c.ID, contact)
		// Page through: a long chat's newest messages are what counts.
		var mine []WireMessage
		for cursor := after; ; {
			msgs, err := w.store.Messages(ctx, c.ID, cursor, 500)
			if err != nil {
				return nil, err
			}
			for _, m := range msgs {
				if wm, ok := toWire(m, own); ok {
					mine = append(mine, wm)
				}
			}
			if len(mine) > 4*maxHistory {
				mine = mine[len(mine)-maxHistory:]
			}
			if len(msgs) < 500 {
				break
			}
			cursor = msgs[len(msgs)-1].ID
		}
		out = append(out, mine[max(0, len(mine)-maxHistory):]...)
	}
	slices.SortFunc(out, func(a, b WireMessage) int { return compareInt(a.ID, b.ID) })
	if len(out) > maxHistory {
		out = out[len(out)-maxHistory:]
	}
	return out, nil
}

// toWire turns a stored message into what the visitor sees; notes and
// replies that were never delivered are not for them.
func toWire(m store.Message, own string) (WireMessage, bool) {
	wm := WireMessage{ID: m.ID, Text: m.Body, At: m.SentAt.UTC()}
	switch {
	case m.Direction == store.DirInbound:
		wm.From = "visitor"
		if id, ok := strings.CutPrefix(m.PlatformID, own); ok {
			wm.ClientID = id
		}
	case m.Direction == store.DirOutbound && m.Delivery != store.Failed:
		wm.From = "agent"
		for _, a := range m.Attachments {
			wm.Files = append(wm.Files, a.Name)
		}
	default:
		return wm, false
	}
	return wm, true
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w *Widget) rememberConversation(conv, contact int64) {
	if conv == 0 || contact == 0 {
		return
	}
	w.convMu.Lock()
	defer w.convMu.Unlock()
	if len(w.convContact) > 50000 {
		clear(w.convContact)
	}
	w.convContact[conv] = contact
}

// conversationContact is whose conversation conv is, cached per instance.
func (w *Widget) conversationContact(ctx context.Context, conv int64) int64 {
	w.convMu.Lock()
	c, ok := w.convContact[conv]
	w.convMu.Unlock()
	if ok {
		return c
	}
	cv, err := w.store.Conversation(ctx, conv)
	if err != nil {
		return 0
	}
	w.rememberConversation(conv, cv.ContactID)
	return cv.ContactID
}

// contactHas reports whether the contact has the visitor's identity,
// cached per instance: contacts keep their identities (a merge moves them
// to a contact with another id).
func (w *Widget) contactHas(ctx context.Context, contact int64, visitor string) bool {
	w.convMu.Lock()
	ids, ok := w.contactIDs[contact]
	w.convMu.Unlock()
	if !ok {
		c, err := w.store.Contact(ctx, contact)
		if err != nil {
			return false
		}
		for _, i := range c.Identities {
			if i.Platform == Kind {
				ids = append(ids, i.ExternalID)
			}
		}
		w.convMu.Lock()
		if len(w.contactIDs) > 50000 {
			clear(w.contactIDs)
		}
		w.contactIDs[contact] = ids
		w.convMu.Unlock()
	}
	return slices.Contains(ids, visitor)
}

// agentsOnline says whether any enabled agent is online, read at most
// every 10 s per instance.
func (w *Widget) agentsOnline(ctx context.Context) (bool, error) {
	w.agentsMu.Lock()
	defer w.agentsMu.Unlock()
	now := w.now()
	if !w.agentsAt.IsZero() && now.Sub(w.agentsAt) < 10*time.Second && now.After(w.agentsAt) {
		return w.agentsOnly, nil
	}
	agents, err := w.store.Agents(ctx)
	if err != nil {
		return false, err
	}
	w.agentsOnly = slices.ContainsFunc(agents, func(a store.Agent) bool { return a.Presence == store.Online && !a.Disabled })
	w.agentsAt = now
	return w.agentsOnly, nil
}

// Presence: a visitor is connected while one of their streams is open on
// this instance, or another instance saw them within presenceWindow (each
// stream writes the time to the store every seenEvery).
const (
	seenEvery      = 30 * time.Second
	presenceWindow = 75 * time.Second
)

func (w *Widget) connect(k visitorKey) (int, func()) {
	w.mu.Lock()
	w.connected[k]++
	n := w.connected[k]
	w.mu.Unlock()
	return n, func() {
		w.mu.Lock()
		w.connected[k]--
		last := w.connected[k] <= 0
		if last {
			delete(w.connected, k)
		}
		w.mu.Unlock()
		if last {
			// Gone from this instance: do not let a stale "seen" keep
			// mail from reaching them.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = w.store.SetSetting(ctx, seenKey(k.channel, k.visitor), "")
		}
	}
}

func (w *Widget) markSeen(ctx context.Context, k visitorKey) {
	if err := w.store.SetSetting(ctx, seenKey(k.channel, k.visitor), strconv.FormatInt(w.now().Unix(), 10)); err != nil {
		w.log.Warn("webchat: could not record the visitor's presence", "channel", k.channel, "err", err)
	}
}

// Connected reports whether the visitor has the chat open, here or (as
// far as the store knows) on another instance.
func (w *Widget) Connected(ctx context.Context, chID int64, visitor string) bool {
	w.mu.Lock()
	n := w.connected[visitorKey{chID, visitor}]
	w.mu.Unlock()
	if n > 0 {
		return true
	}
	v, err := w.store.Setting(ctx, seenKey(chID, visitor))
	if err != nil {
		return false
	}
	at, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	return w.now().Sub(time.Unix(at, 0)) < presenceWindow
}

// streamMessages is the live stream of the visitor's conversation: each
// new message (theirs from another tab, and the agents' replies) as an
// event "message" whose id is the message id, so that a reconnect with
// Last-Event-ID continues from the store without gaps; "presence" events
// when agents come online or go; comments as heartbeats.
func (w *Widget) streamMessages(rw http.ResponseWriter, r *http.Request, q *request) error {
	if w.closed() {
		rw.Header().Set("Retry-After", "5")
		return errorf(http.StatusServiceUnavailable, "the chat server is restarting: try again in a moment")
	}
	if err := w.authenticate(r, q); err != nil {
		return err
	}
	if err := w.limit(rw, "read:"+q.visitor, w.limits.RequestsBurst, w.limits.RequestsPerMinute); err != nil {
		return err
	}
	var last int64
	if v := or(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "Last-Event-ID must be a message id")
		}
		last = n
	}
	k := visitorKey{q.ch.ID, q.visitor}
	n, disconnect := w.connect(k)
	defer disconnect()
	if n > w.limits.Streams {
		rw.Header().Set("Retry-After", "30")
		return errorf(http.StatusTooManyRequests, "too many open chat windows: close one")
	}
	ctx := r.Context()
	// Subscribe before reading the store, so nothing falls between.
	events, cancel, _ := w.bus.Subscribe(ctx, 0)
	defer cancel()
	w.markSeen(ctx, k)
	contact, err := w.contactOf(ctx, q.ch.ID, q.visitor)
	if err != nil {
		return err
	}

	rc := http.NewResponseController(rw)
	_ = rc.SetWriteDeadline(time.Time{})
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	fmt.Fprint(rw, "retry: 3000\n\n")

	send := func() error {
		if contact == 0 {
			return nil
		}
		msgs, err := w.history(ctx, q.ch.ID, q.visitor, contact, last)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			data, _ := json.Marshal(m)
			if _, err := fmt.Fprintf(rw, "id: %d\nevent: message\ndata: %s\n\n", m.ID, data); err != nil {
				return err
			}
			last = max(last, m.ID)
		}
		return nil
	}
	online, _ := w.agentsOnline(ctx) // the headers are out: an error can only be logged by the next call
	fmt.Fprintf(rw, "event: presence\ndata: {\"agents_online\":%t}\n\n", online)
	if err := send(); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}

	beat := time.NewTicker(w.heartbeat)
	defer beat.Stop()
	end := time.NewTimer(30 * time.Minute) // reconnect now and then, in our time rather than a proxy's
	defer end.Stop()
	seen := w.now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.closing:
			return nil // shutting down: the widget reconnects, elsewhere or later
		case <-end.C:
			return nil
		case <-beat.C:
			if now := w.now(); now.Sub(seen) >= seenEvery {
				w.markSeen(ctx, k)
				seen = now
			}
			if o, err := w.agentsOnline(ctx); err == nil && o != online {
				online = o
				fmt.Fprintf(rw, "event: presence\ndata: {\"agents_online\":%t}\n\n", online)
			} else {
				fmt.Fprint(rw, ": keep-alive\n\n")
			}
		case e, open := <-events:
			if !open {
				return nil // fell behind the bus: the widget reconnects and catches up from the store
			}
			if e.ChannelID != 0 && e.ChannelID != q.ch.ID {
				continue
			}
			switch e.Type {
			case bus.MessageReceived, bus.MessageCreated, bus.ReplyDelivered, bus.Reset:
			default:
				continue
			}
			if contact == 0 {
				// The visitor's first message, perhaps through another
				// instance: is the event's contact this visitor?
				if e.Type != bus.MessageReceived || e.ContactID == 0 || !w.contactHas(ctx, e.ContactID, q.visitor) {
					continue
				}
				contact = e.ContactID
			} else if e.Type != bus.Reset {
				owner := e.ContactID
				if owner == 0 {
					owner = w.conversationContact(ctx, e.ConversationID)
				}
				if owner != contact {
					continue
				}
			}
			if err := send(); err != nil {
				return nil
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
