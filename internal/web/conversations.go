package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

type conversationPage struct {
	Conversations []store.Conversation `json:"conversations"`
	NextCursor    string               `json:"next_cursor,omitempty"`
}

// listConversations answers the inbox: filters, newest activity first or
// waiting longest first, cursor pagination.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) error {
	me := agentFrom(r.Context())
	q := r.URL.Query()
	var f store.ConversationFilter
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		if !store.Status(st).Valid() {
			return errorf(http.StatusBadRequest, "status %q: use new, open, pending, snoozed or resolved", st)
		}
		f.Statuses = append(f.Statuses, store.Status(st))
	}
	var err error
	if f.ChannelID, err = queryInt(r, "channel", 0); err != nil {
		return err
	}
	if f.ContactID, err = queryInt(r, "contact", 0); err != nil {
		return err
	}
	f.Language = strings.ToLower(q.Get("language"))
	if f.AssigneeID, err = whoParam(r, "assignee", me.ID); err != nil {
		return err
	}
	if f.TeamID, err = whoParam(r, "team", 0); err != nil {
		return err
	}
	if !auth.Can(me.Role, auth.ReadConversations) {
		f.AssigneeID = me.ID // field staff see what was handed to them, nothing else
	}
	switch q.Get("order") {
	case "", "newest":
	case "waiting":
		f.Order = store.OrderWaiting
	default:
		return errorf(http.StatusBadRequest, "order must be newest or waiting")
	}
	if f.Before, err = parseCursor(q.Get("cursor")); err != nil {
		return err
	}
	if f.Before.Waiting && f.Order != store.OrderWaiting {
		return errorf(http.StatusBadRequest, "this cursor belongs to order=waiting")
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 200 {
		return errorf(http.StatusBadRequest, "limit must be between 1 and 200")
	}
	f.Limit = int(limit)
	convs, err := s.store.Conversations(r.Context(), f)
	if err != nil {
		return err
	}
	page := conversationPage{Conversations: convs}
	if len(convs) == f.Limit {
		last := convs[len(convs)-1]
		page.NextCursor = formatCursor(store.CursorAfter(last, f.Order))
	}
	return writeJSON(w, http.StatusOK, page)
}

// whoParam reads assignee/team: an id, "none" (-1), or for assignee "me".
func whoParam(r *http.Request, name string, me int64) (int64, error) {
	switch v := r.URL.Query().Get(name); v {
	case "":
		return 0, nil
	case "none":
		return -1, nil
	case "me":
		if me != 0 {
			return me, nil
		}
	}
	n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, errorf(http.StatusBadRequest, "%s must be an id or \"none\" (assignee also takes \"me\")", name)
	}
	return n, nil
}

// A cursor is "ms.id" (the last message), or in the waiting order for a
// conversation whose customer waits "w.ms.id" (waiting since), base64url
// encoded. Clients pass it back unread.
func formatCursor(c store.Cursor) string {
	prefix := ""
	if c.Waiting {
		prefix = "w."
	}
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s%d.%d", prefix, c.At.UnixMilli(), c.ID))
}

func parseCursor(s string) (store.Cursor, error) {
	if s == "" {
		return store.Cursor{}, nil
	}
	bad := errorf(http.StatusBadRequest, "cursor is not one this server gave out")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Cursor{}, bad
	}
	rest, waiting := strings.CutPrefix(string(raw), "w.")
	at, id, ok := strings.Cut(rest, ".")
	msv, err1 := strconv.ParseInt(at, 10, 64)
	idv, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || idv <= 0 {
		return store.Cursor{}, bad
	}
	return store.Cursor{At: time.UnixMilli(msv), ID: idv, Waiting: waiting}, nil
}

// conversation loads a conversation the agent may see; others are "not
// found" so that field staff cannot probe for ids.
func (s *Server) conversation(r *http.Request) (store.Conversation, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Conversation{}, err
	}
	c, err := s.store.Conversation(r.Context(), id)
	if err != nil {
		return c, err
	}
	me := agentFrom(r.Context())
	if !auth.Can(me.Role, auth.ReadConversations) && c.AssigneeID != me.ID {
		return c, errorf(http.StatusNotFound, "conversation %d not found", id)
	}
	return c, nil
}

type conversationDetail struct {
	Conversation store.Conversation   `json:"conversation"`
	Channel      store.Channel        `json:"channel"`
	Contact      store.Contact        `json:"contact"`
	Messages     []store.Message      `json:"messages"`
	MoreMessages bool                 `json:"more_messages"`
	History      []store.Conversation `json:"history"` // the contact's other conversations, newest first
}

const detailMessages = 500

func (s *Server) showConversation(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := conversationDetail{Conversation: c}
	if d.Channel, err = s.store.Channel(ctx, c.ChannelID); err != nil {
		return err
	}
	d.Channel = s.channelView(d.Channel) // every role reads this; the secrets are not theirs
	if d.Contact, err = s.store.Contact(ctx, c.ContactID); err != nil {
		return err
	}
	if d.Messages, err = s.store.Messages(ctx, c.ID, 0, detailMessages); err != nil {
		return err
	}
	d.MoreMessages = len(d.Messages) == detailMessages
	me := agentFrom(ctx)
	d.History = []store.Conversation{}
	if auth.Can(me.Role, auth.ReadConversations) {
		all, err := s.store.Conversations(ctx, store.ConversationFilter{ContactID: c.ContactID, Limit: 200})
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.ID != c.ID {
				d.History = append(d.History, o)
			}
		}
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	msgs, err := s.store.Messages(r.Context(), c.ID, after, detailMessages)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "more": len(msgs) == detailMessages})
}

type textRequest struct {
	Body string `json:"body"`
}

// replyRequest is a reply through the API, with files in base64.
type replyRequest struct {
	Body        string     `json:"body"`
	Attachments []fileJSON `json:"attachments"`
}

// createReply queues an answer to the customer; the outbox delivers it.
// An Idempotency-Key header makes a retried request queue it only once.
func (s *Server) createReply(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	kind := s.channelKind(r, c.ChannelID)
	var in replyRequest
	if err := decodeLimit(w, r, &in, replyBodyLimit(s.adapters.Get(kind).Files)); err != nil {
		return err
	}
	names := make([]string, len(in.Attachments))
	data := make([][]byte, len(in.Attachments))
	for i, f := range in.Attachments {
		names[i], data[i] = f.Name, f.Data
	}
	files, err := s.checkFiles(r, kind, names, data)
	if err != nil {
		return err
	}
	key := ""
	if k := strings.TrimSpace(r.Header.Get("Idempotency-Key")); k != "" {
		if len(k) > 200 {
			return errorf(http.StatusBadRequest, "Idempotency-Key is longer than 200 characters")
		}
		key = fmt.Sprintf("c%d:%s", c.ID, k)
	}
	m, e, err := s.queueReply(r, c, in.Body, key, files)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"message": m, "outbox": e})
}

// queueReply checks and queues an agent's reply, for the API and the UI
// alike. An empty key gets a fresh one.
// files are already checked against the channel's rule (checkFiles).
func (s *Server) queueReply(r *http.Request, c store.Conversation, body, key string, files []store.Attachment) (store.Message, store.OutboxEntry, error) {
	minText := 1
	if len(files) > 0 {
		minText = 0 // a picture may speak for itself
	}
	if err := checkText("body", body, minText, ingest.MaxBodyBytes/4); err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	if err := s.checkLength(r, c, "reply", body); err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	if key == "" {
		key = uuid.Must(uuid.NewV7()).String()
	}
	me := agentFrom(r.Context())
	m, e, err := s.store.QueueReply(r.Context(), store.Reply{ConversationID: c.ID, AgentID: me.ID, Body: body, IdempotencyKey: key, Now: s.now(), Attachments: files})
	if errors.Is(err, store.ErrConflict) && c.Status != store.StatusResolved {
		return m, e, errorf(http.StatusConflict, "a reply with this Idempotency-Key was already queued")
	}
	if err != nil {
		return m, e, err
	}
	s.wake()
	s.publish(r, bus.Event{Type: bus.MessageCreated, ConversationID: c.ID, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: me.ID})
	return m, e, nil
}

// channelKind is the kind of a channel, or "" when it cannot be read.
func (s *Server) channelKind(r *http.Request, id int64) string {
	ch, err := s.pipeline.Channel(r.Context(), id) // cached, as for webhooks
	if err != nil {
		return ""
	}
	return ch.Kind
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	var in textRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.addNote(r, c, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

// addNote checks and stores an internal note.
func (s *Server) addNote(r *http.Request, c store.Conversation, body string) (store.Message, error) {
	if err := checkText("body", body, 1, 10000); err != nil {
		return store.Message{}, err
	}
	me := agentFrom(r.Context())
	m, err := s.store.AddNote(r.Context(), c.ID, me.ID, body, s.now())
	if err != nil {
		return m, err
	}
	e := bus.Event{Type: bus.MessageCreated, ConversationID: c.ID, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: me.ID}
	if ids := s.mentioned(r, body); len(ids) > 0 {
		d, _ := json.Marshal(noteDetail{Mentions: ids, By: me.Name})
		e.Detail = string(d)
	}
	s.publish(r, e)
	return m, nil
}

// noteDetail is the Detail of a note's message.created event: whom it
// mentions, so their screens can tell them.
type noteDetail struct {
	Mentions []int64 `json:"mentions"`
	By       string  `json:"by"`
}

// mentioned finds the enabled agents a note names with @: by first name,
// by full name without spaces, or by the part of their e-mail address
// before the @, ignoring case.
func (s *Server) mentioned(r *http.Request, body string) []int64 {
	words := mentionRE.FindAllStringSubmatch(body, -1)
	if len(words) == 0 {
		return nil
	}
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		return nil // a mention is a courtesy; the note itself is stored
	}
	var ids []int64
	for _, a := range agents {
		if a.Disabled {
			continue
		}
		first, _, _ := strings.Cut(a.Name, " ")
		local, _, _ := strings.Cut(a.Email, "@")
		for _, w := range words {
			name := strings.TrimRight(w[2], ".-_")
			if strings.EqualFold(name, first) || strings.EqualFold(name, strings.ReplaceAll(a.Name, " ", "")) || strings.EqualFold(name, local) {
				ids = append(ids, a.ID)
				break
			}
		}
	}
	return ids
}

type conversationUpdate struct {
	Status       *store.Status `json:"status"`
	SnoozedUntil *time.Time    `json:"snoozed_until"`
	AssigneeID   *int64        `json:"assignee_id"` // 0 unassigns
	TeamID       *int64        `json:"team_id"`     // 0 clears
	Priority     *int          `json:"priority"`
	Tags         *[]string     `json:"tags"`
}

// updateConversation changes status, assignee, team, priority or tags.
// Agents may take or drop a conversation themselves; giving it to someone
// else needs a supervisor.
func (s *Server) updateConversation(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	var in conversationUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	updated, err := s.changeConversation(r, c, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, updated)
}

// changeConversation checks and applies a change to status, assignee,
// team, priority or tags, for the API and the UI alike. Agents may take or
// drop a conversation themselves; giving it to someone else needs a
// supervisor.
func (s *Server) changeConversation(r *http.Request, c store.Conversation, in conversationUpdate) (store.Conversation, error) {
	ctx := r.Context()
	me := agentFrom(ctx)
	ch := store.ConversationChange{Status: in.Status, SnoozedUntil: in.SnoozedUntil, AssigneeID: in.AssigneeID, TeamID: in.TeamID, Priority: in.Priority}
	if in.Status != nil {
		if !in.Status.Valid() {
			return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "status must be new, open, pending, snoozed or resolved")
		}
		if *in.Status == store.StatusSnoozed && in.SnoozedUntil == nil {
			return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "snoozing needs snoozed_until in the future")
		}
	}
	// Also without a status: a snoozed conversation's time can be moved.
	if in.SnoozedUntil != nil && !in.SnoozedUntil.After(s.now()) {
		return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "snoozing needs snoozed_until in the future")
	}
	if in.AssigneeID != nil {
		to := *in.AssigneeID
		mine := to == me.ID || (to == 0 && c.AssigneeID == me.ID)
		if !mine && !auth.Can(me.Role, auth.AssignOthers) {
			return store.Conversation{}, errorf(http.StatusForbidden, "your role (%s) may only take or release conversations yourself", me.Role)
		}
		if to < 0 {
			return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "assignee_id must be an agent id, or 0 to unassign")
		}
		if to != 0 {
			a, err := s.store.Agent(ctx, to)
			if errors.Is(err, store.ErrNotFound) || (err == nil && a.Disabled) {
				return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "agent %d does not exist or is disabled", to)
			}
			if err != nil {
				return store.Conversation{}, err
			}
		}
	}
	if in.TeamID != nil {
		if !auth.Can(me.Role, auth.AssignOthers) {
			return store.Conversation{}, errorf(http.StatusForbidden, "your role (%s) may not move conversations between teams", me.Role)
		}
		if *in.TeamID != 0 {
			if _, err := s.store.Team(ctx, *in.TeamID); errors.Is(err, store.ErrNotFound) {
				return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "team %d does not exist", *in.TeamID)
			} else if err != nil {
				return store.Conversation{}, err
			}
		}
	}
	if in.Priority != nil && (*in.Priority < 0 || *in.Priority > 3) {
		return store.Conversation{}, errorf(http.StatusUnprocessableEntity, "priority must be 0 (normal) to 3 (urgent)")
	}
	if in.Tags != nil {
		tags, err := checkList("tags", *in.Tags, 30, 50)
		if err != nil {
			return store.Conversation{}, err
		}
		ch.Tags = &tags
	}
	updated, err := s.store.UpdateConversation(ctx, c.ID, ch, actor(r))
	if err != nil {
		return updated, err
	}
	s.publish(r, bus.Event{Type: bus.ConversationUpdated, ConversationID: c.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: me.ID})
	return updated, nil
}

// publish sends an event for a change that is already committed.
func (s *Server) publish(r *http.Request, e bus.Event) {
	if err := s.bus.Publish(r.Context(), e); err != nil {
		s.log.Warn("publish failed", "type", e.Type, "conversation_id", e.ConversationID, "err", err)
	}
}

// moveToPrivateAPI answers in public inviting the customer to a direct
// message and returns the linked private conversation.
func (s *Server) moveToPrivateAPI(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	var in textRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	priv, err := s.moveConversation(r, c, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, priv)
}
