package web

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/canned"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

type conversationView struct {
	C         store.Conversation
	Channel   store.Channel
	Contact   store.Contact
	Messages  []messageView
	More      bool
	LastID    int64
	Private   bool
	Assignee  string
	Linked    *store.Conversation
	History   []rowView
	Agents    []store.Agent
	Templates []templateChoice
	Limit     int
	Files     channel.FileRule // what the composer may attach
	Accept    string           // the file input's accept list
	Me        store.Agent
	Can       abilities
	// Window is the platform's reply window on a private conversation:
	// when the customer last wrote and whether free replies still go.
	Window *replyWindow
}

// replyWindow is what the composer says about a platform's messaging
// window (Meta's 24 hours): until when a reply goes freely, or that it
// has closed and what is still allowed.
type replyWindow struct {
	Kind   string
	Until  time.Time
	Closed bool
}

type messageView struct {
	store.Message
	Author string
}

type templateChoice struct {
	Shortcut, Name, Language, Body string
}

// lastInbound is when the customer last wrote in a conversation; zero if
// never.
func (s *Server) lastInbound(ctx context.Context, conversationID int64) (time.Time, error) {
	var at time.Time
	for after := int64(0); ; {
		page, err := s.store.Messages(ctx, conversationID, after, 500)
		if err != nil {
			return at, err
		}
		for _, m := range page {
			if m.Direction == store.DirInbound {
				at = m.SentAt
			}
			after = m.ID
		}
		if len(page) < 500 {
			return at, nil
		}
	}
}

// conversationView loads everything the conversation pane shows.
func (s *Server) conversationView(r *http.Request, c store.Conversation) (*conversationView, error) {
	ctx := r.Context()
	me := agentFrom(ctx)
	names := s.names(ctx)
	v := &conversationView{C: c, Channel: names.channels[c.ChannelID], Me: me, Can: abilitiesOf(me.Role),
		Private: c.Visibility == store.Private, Assignee: names.agent(c.AssigneeID), Limit: s.adapters.Get(names.channels[c.ChannelID].Kind).TextLimit,
		Files: s.adapters.Get(names.channels[c.ChannelID].Kind).Files}
	v.Accept = strings.Join(v.Files.Types, ",")
	v.Contact = names.contact(ctx, c.ContactID)
	msgs, err := s.store.Messages(ctx, c.ID, 0, detailMessages)
	if err != nil {
		return nil, err
	}
	v.More = len(msgs) == detailMessages
	for _, m := range msgs {
		v.Messages = append(v.Messages, messageView{Message: m, Author: names.agent(m.AgentID)})
		v.LastID = max(v.LastID, m.ID)
	}
	if ad := s.adapters.Get(v.Channel.Kind); ad.Window > 0 && v.Private {
		last, err := s.lastInbound(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if !last.IsZero() {
			until := last.Add(ad.Window)
			v.Window = &replyWindow{Kind: v.Channel.Kind, Until: until, Closed: s.now().After(until)}
		}
	}
	if c.LinkedID != 0 {
		if l, err := s.store.Conversation(ctx, c.LinkedID); err == nil {
			v.Linked = &l
		}
	}
	if v.Can.History {
		all, err := s.store.Conversations(ctx, store.ConversationFilter{ContactID: c.ContactID, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			if o.ID != c.ID {
				v.History = append(v.History, names.row(ctx, o))
			}
		}
	}
	if v.Can.AssignOthers {
		for _, a := range names.agents {
			if !a.Disabled {
				v.Agents = append(v.Agents, a)
			}
		}
		sortAgents(v.Agents)
	}
	if v.Can.Work {
		tmpls, err := s.store.Templates(ctx)
		if err != nil {
			return nil, err
		}
		vars := canned.For(v.Contact, me, c, v.Channel)
		for _, t := range tmpls {
			variant, ok := canned.Pick(t, c.Language, "", append([]string{v.Contact.Language, v.Channel.Locale}, me.Languages...)...)
			if !ok {
				continue
			}
			v.Templates = append(v.Templates, templateChoice{Shortcut: t.Shortcut, Name: t.Name, Language: variant.Language, Body: canned.Fill(variant.Body, vars)})
		}
	}
	return v, nil
}

// showConversationPage answers /conversations/{id}: the pane alone for
// htmx, else the whole inbox with the conversation open.
func (s *Server) showConversationPage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	if isHTMX(r) {
		return s.renderConversation(w, r, c)
	}
	v, err := s.inbox(r)
	if err != nil {
		return err
	}
	if v.Conversation, err = s.conversationView(r, c); err != nil {
		return err
	}
	v.Title = v.Conversation.Contact.Name
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "", v)
}

func (s *Server) renderConversation(w http.ResponseWriter, r *http.Request, c store.Conversation) error {
	v, err := s.conversationView(r, c)
	if err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "conversation", v)
}

// showThread renders the messages alone, for live updates.
func (s *Server) showThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversation(r)
	if err != nil {
		return err
	}
	v, err := s.conversationView(r, c)
	if err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "thread", v)
}

// postMessage sends a reply or adds a note from the composer. A reply is
// held back, with a warning, when another agent answered since this agent
// loaded the conversation or is typing in it right now; the agent may then
// send anyway.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	body := strings.TrimSpace(r.PostForm.Get("body"))
	switch r.PostForm.Get("kind") {
	case "note":
		if r.MultipartForm != nil && len(r.MultipartForm.File["files"]) > 0 && r.MultipartForm.File["files"][0].Size > 0 {
			return errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.nonotes"))
		}
		if _, err := s.desk.Note(r.Context(), actor(r), c.ID, body); err != nil {
			return err
		}
	case "reply":
		if r.PostForm.Get("force") == "" {
			seen, _ := strconv.ParseInt(r.PostForm.Get("seen"), 10, 64)
			warnings, err := s.collisions(r, c, seen)
			if err != nil {
				return err
			}
			if len(warnings) > 0 {
				w.Header().Set("HX-Retarget", "#composer-warning")
				w.Header().Set("HX-Reswap", "innerHTML")
				return s.ui.render(w, http.StatusConflict, s.locale(r), "inbox", "collision", warnings)
			}
		}
		files, err := formFiles(r)
		if err != nil {
			return err
		}
		if _, _, err := s.desk.Reply(r.Context(), actor(r), c.ID, desk.ReplyInput{Body: body, Files: files}); err != nil {
			return err
		}
		s.activity.leave(c.ID, agentFrom(r.Context()).ID)
	default:
		return errorf(http.StatusUnprocessableEntity, "kind must be reply or note")
	}
	return s.reloadConversation(w, r, c.ID)
}

// collisions lists, in the agent's language, why sending now may clash
// with a colleague: replies after the last message the agent saw, and
// colleagues typing in this conversation.
func (s *Server) collisions(r *http.Request, c store.Conversation, seen int64) ([]string, error) {
	me := agentFrom(r.Context())
	var out []string
	if seen > 0 {
		later, err := s.store.Messages(r.Context(), c.ID, seen, 50)
		if err != nil {
			return nil, err
		}
		names := s.names(r.Context())
		for _, m := range later {
			if m.Direction == store.DirOutbound && m.AgentID != me.ID {
				out = append(out, s.t(r, "collision.replied", names.agent(m.AgentID), preview(m.Body)))
			}
		}
	}
	for _, name := range s.activity.typing(c.ID, me.ID, s.now()) {
		out = append(out, s.t(r, "collision.typing", name))
	}
	return out, nil
}

func preview(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}

func (s *Server) reloadConversation(w http.ResponseWriter, r *http.Request, id int64) error {
	c, err := s.store.Conversation(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderConversation(w, r, c)
}

// assignFromForm takes, releases or gives away a conversation.
func (s *Server) assignFromForm(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	me := agentFrom(r.Context())
	var to int64
	switch v := r.PostForm.Get("assignee"); v {
	case "":
		return s.renderConversation(w, r, c) // the placeholder option
	case "me":
		to = me.ID
	case "none":
		to = 0
	default:
		if to, err = strconv.ParseInt(v, 10, 64); err != nil || to <= 0 {
			return errorf(http.StatusUnprocessableEntity, "choose an agent")
		}
	}
	if _, err := s.desk.ChangeConversation(r.Context(), actor(r), c.ID, desk.Change{AssigneeID: &to}); err != nil {
		return err
	}
	return s.reloadConversation(w, r, c.ID)
}

// statusFromForm opens, parks, snoozes or resolves a conversation. A
// snooze time comes from a datetime-local field in the browser's zone.
func (s *Server) statusFromForm(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	st := store.Status(r.PostForm.Get("status"))
	in := desk.Change{Status: &st}
	if st == store.StatusSnoozed {
		loc, err := time.LoadLocation(r.PostForm.Get("tz"))
		if err != nil || r.PostForm.Get("tz") == "" {
			loc = time.UTC
		}
		until, err := time.ParseInLocation("2006-01-02T15:04", r.PostForm.Get("until"), loc)
		if err != nil {
			return errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "conv.snooze.invalid"))
		}
		in.SnoozedUntil = &until
	}
	if _, err := s.desk.ChangeConversation(r.Context(), actor(r), c.ID, in); err != nil {
		return err
	}
	return s.reloadConversation(w, r, c.ID)
}

// tagsFromForm replaces the tags with a comma-separated list.
func (s *Server) tagsFromForm(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	tags := []string{}
	for t := range strings.SplitSeq(r.PostForm.Get("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	if _, err := s.desk.ChangeConversation(r.Context(), actor(r), c.ID, desk.Change{Tags: &tags}); err != nil {
		return err
	}
	return s.reloadConversation(w, r, c.ID)
}

// moveToPrivate answers in public with the "move to DM" template in the
// customer's language and opens the linked private thread, then shows it.
func (s *Server) moveToPrivate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	body := strings.TrimSpace(r.PostForm.Get("body"))
	if body == "" {
		v, err := s.conversationView(r, c)
		if err != nil {
			return err
		}
		for _, t := range v.Templates {
			if t.Shortcut == "dm" {
				body = t.Body
			}
		}
		if body == "" {
			body = s.t(r, "conv.moveprivate.text")
		}
	}
	priv, err := s.desk.MoveToPrivate(r.Context(), actor(r), c.ID, body)
	if err != nil {
		return err
	}
	w.Header().Set("HX-Push-Url", fmt.Sprintf("/conversations/%d", priv.ID))
	return s.renderConversation(w, r, priv)
}

// trackActivity records that the agent views or types in a conversation,
// and tells the others.
func (s *Server) trackActivity(w http.ResponseWriter, r *http.Request) error {
	c, err := s.conversationForm(w, r)
	if err != nil {
		return err
	}
	me := agentFrom(r.Context())
	state := r.PostForm.Get("state")
	switch state {
	case "viewing", "typing":
		s.activity.set(c.ID, me.ID, me.Name, state == "typing", s.now())
	case "left":
		s.activity.leave(c.ID, me.ID)
	default:
		return errorf(http.StatusUnprocessableEntity, "state must be viewing, typing or left")
	}
	s.publishActivity(r, c, me, state)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func sortAgents(as []store.Agent) {
	slices.SortFunc(as, func(a, b store.Agent) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
}

// formFiles reads the files of the composer; the desk checks them against
// the channel's rule.
func formFiles(r *http.Request) ([]desk.File, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var files []desk.File
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // an empty file input
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, desk.File{Name: fh.Filename, Data: b})
	}
	return files, nil
}

// conversationForm loads the conversation a form acts on, if the agent may
// see it, and reads the form.
func (s *Server) conversationForm(w http.ResponseWriter, r *http.Request) (store.Conversation, error) {
	c, err := s.conversation(r)
	if err != nil {
		return c, err
	}
	return c, parseForm(w, r)
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// maxUpload bounds a form with files: the most generous channel's files
// and the text.
const maxUpload = 64 << 20

// parseForm reads a bounded form body, with files if the browser sent any;
// customer-facing text must be UTF-8.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return errorf(http.StatusBadRequest, "the form could not be read: %v", err)
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "the form could not be read: %v", err)
	}
	for k, vs := range r.PostForm {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errorf(http.StatusBadRequest, "field %s is not valid UTF-8", k)
			}
		}
	}
	return nil
}
