package web

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
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

// conversation loads the conversation of the path that the agent may see.
func (s *Server) conversation(r *http.Request) (store.Conversation, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Conversation{}, err
	}
	return s.desk.Conversation(r.Context(), actor(r), id)
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
	d.Channel = s.desk.Masked(d.Channel) // every role reads this; the secrets are not theirs
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

// textRequest is a note or an invitation to a private conversation:
// "text", as in the ingest API; "body" is its older name, still taken.
type textRequest struct {
	Text string `json:"text"`
	Body string `json:"body"`
}

// text is what the request says, by either name.
func (t textRequest) text() (string, error) {
	if t.Text != "" && t.Body != "" && t.Text != t.Body {
		return "", errorf(http.StatusBadRequest, `send "text" only ("body" is its older name)`)
	}
	return cmp.Or(t.Text, t.Body), nil
}

// replyRequest is a reply through the API, with files in base64.
type replyRequest struct {
	textRequest
	Attachments []fileJSON `json:"attachments"`
}

// createReply queues an answer to the customer; the outbox delivers it.
// An Idempotency-Key header makes a retried request queue it only once.
func (s *Server) createReply(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	var in replyRequest
	if err := decodeLimit(w, r, &in, replyBodyLimit(s.adapters.Get(s.channelKind(r, c.ChannelID)).Files)); err != nil {
		return err
	}
	files := make([]desk.File, len(in.Attachments))
	for i, f := range in.Attachments {
		files[i] = desk.File{Name: f.Name, Data: f.Data}
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > desk.MaxKeyBytes { // a bad header is a bad request, before the body is weighed
		return errorf(http.StatusBadRequest, "Idempotency-Key is longer than %d characters", desk.MaxKeyBytes)
	}
	text, err := in.text()
	if err != nil {
		return err
	}
	m, e, err := s.desk.Reply(r.Context(), actor(r), c.ID, desk.ReplyInput{Body: text, Files: files, Key: key})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"message": m, "outbox": e})
}

// channelKind is the kind of a channel, or "" when it cannot be read.
func (s *Server) channelKind(r *http.Request, id int64) string {
	ch, err := s.pipeline.Channel(r.Context(), id) // cached, as for webhooks
	if err != nil {
		return ""
	}
	return ch.Kind
}

// conversationBody loads the conversation of the path, then reads the
// JSON body into v: in that order, so that field staff learn nothing of a
// conversation that is not theirs from how its body is judged.
func (s *Server) conversationBody(w http.ResponseWriter, r *http.Request, v any) (store.Conversation, error) {
	c, err := s.conversation(r)
	if err != nil {
		return c, err
	}
	return c, decode(w, r, v)
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) error {
	var in textRequest
	c, err := s.conversationBody(w, r, &in)
	if err != nil {
		return err
	}
	text, err := in.text()
	if err != nil {
		return err
	}
	m, err := s.desk.Note(r.Context(), actor(r), c.ID, text)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

// updateConversation changes status, assignee, team, priority or tags.
func (s *Server) updateConversation(w http.ResponseWriter, r *http.Request) error {
	var in desk.Change
	c, err := s.conversationBody(w, r, &in)
	if err != nil {
		return err
	}
	updated, err := s.desk.ChangeConversation(r.Context(), actor(r), c.ID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, updated)
}

// moveToPrivateAPI answers in public inviting the customer to a direct
// message and returns the linked private conversation.
func (s *Server) moveToPrivateAPI(w http.ResponseWriter, r *http.Request) error {
	var in textRequest
	c, err := s.conversationBody(w, r, &in)
	if err != nil {
		return err
	}
	text, err := in.text()
	if err != nil {
		return err
	}
	priv, err := s.desk.MoveToPrivate(r.Context(), actor(r), c.ID, text)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, priv)
}
