package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// chrome is what every agent page shows around its content.
type chrome struct {
	Title     string
	Section   string // inbox, supervisor, admin, settings, search
	Query     string // the search box
	Me        store.Agent
	Can       abilities
	Presences []store.Presence
}

// abilities are the role's permissions as the templates need them; the
// handlers check the same permissions again on every action.
type abilities struct {
	Work, AssignOthers, History, Search, Contacts, Supervise, Admin bool
}

func abilitiesOf(role store.Role) abilities {
	return abilities{
		Work:         auth.Can(role, auth.WorkConversations),
		AssignOthers: auth.Can(role, auth.AssignOthers),
		History:      auth.Can(role, auth.ReadConversations),
		Search:       auth.Can(role, auth.WorkConversations),
		Contacts:     auth.Can(role, auth.ReadContacts),
		Supervise:    auth.Can(role, auth.SuperviseQueues),
		Admin:        canAdmin(role),
	}
}

func (s *Server) chrome(r *http.Request, title, section string) chrome {
	me := agentFrom(r.Context())
	return chrome{Title: title, Section: section, Me: me, Can: abilitiesOf(me.Role),
		Presences: []store.Presence{store.Online, store.Away, store.Offline}}
}

// inboxFilter is the inbox's state, carried in the URL so that a reload,
// a bookmark or a second tab shows the same list.
type inboxFilter struct {
	Queue     string // mine, unassigned, all, team-N
	Status    string // active, pending, snoozed, resolved, all
	ChannelID int64
	Language  string
	Order     string // newest, waiting
	Cursor    string
}

var statusChoices = []string{"active", "pending", "snoozed", "resolved", "all"}

func readInboxFilter(q url.Values, me store.Agent) inboxFilter {
	f := inboxFilter{Queue: q.Get("queue"), Status: q.Get("status"), Language: strings.ToLower(q.Get("language")), Order: q.Get("order"), Cursor: q.Get("cursor")}
	f.ChannelID, _ = strconv.ParseInt(q.Get("channel"), 10, 64)
	if !slices.Contains(statusChoices, f.Status) {
		f.Status = "active"
	}
	if f.Order != "waiting" {
		f.Order = "newest"
	}
	if f.Queue == "" || !auth.Can(me.Role, auth.ReadConversations) {
		f.Queue = "mine"
		if auth.Can(me.Role, auth.ReadConversations) {
			f.Queue = "all"
		}
	}
	if len(f.Language) > 12 {
		f.Language = ""
	}
	return f
}

// Query is the filter as a URL query, without the cursor.
func (f inboxFilter) Query() template.URL {
	return template.URL(f.with(f.Queue).Encode())
}

func (f inboxFilter) with(queue string) url.Values {
	v := url.Values{"queue": {queue}, "status": {f.Status}}
	if f.ChannelID != 0 {
		v.Set("channel", strconv.FormatInt(f.ChannelID, 10))
	}
	if f.Language != "" {
		v.Set("language", f.Language)
	}
	if f.Order != "newest" {
		v.Set("order", f.Order)
	}
	return v
}

// store turns the filter into a store query for one queue.
func (f inboxFilter) store(queue string, me store.Agent) store.ConversationFilter {
	sf := store.ConversationFilter{ChannelID: f.ChannelID, Language: f.Language}
	switch f.Status {
	case "active":
		sf.Statuses = []store.Status{store.StatusNew, store.StatusOpen}
	case "all":
	default:
		sf.Statuses = []store.Status{store.Status(f.Status)}
	}
	switch {
	case queue == "mine":
		sf.AssigneeID = me.ID
	case queue == "unassigned":
		sf.AssigneeID = -1
	case strings.HasPrefix(queue, "team-"):
		sf.TeamID, _ = strconv.ParseInt(strings.TrimPrefix(queue, "team-"), 10, 64)
	}
	if !auth.Can(me.Role, auth.ReadConversations) {
		sf.AssigneeID = me.ID
	}
	if f.Order == "waiting" {
		sf.Order = store.OrderWaiting
	}
	return sf
}

type queueLink struct {
	Key, Label string
	Query      template.URL
	Count      int
	Active     bool
}

type rowView struct {
	ID                  int64
	ContactName, Handle string
	ChannelKind         string
	Visibility          store.Visibility
	Status              store.Status
	Language, Preview   string
	LastMessageAt       time.Time
	WaitingSince        *time.Time
	Waiting, Failed     bool
	Assignee            string
}

type inboxView struct {
	chrome
	Filter        inboxFilter
	StatusChoices []string
	Queues        []queueLink
	Rows          []rowView
	Next          string
	Channels      []store.Channel
	Languages     []string
	Conversation  *conversationView
}

// showInbox renders the whole inbox page; with a conversation id it also
// opens that conversation, so every conversation has a URL of its own.
func (s *Server) showInbox(w http.ResponseWriter, r *http.Request) error {
	v, err := s.inbox(r)
	if err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "", v)
}

// showRows renders only the list, for filters, live refresh and paging.
// The filter form pushes its URL into the history; opening that URL
// again lands on the whole inbox with the same filters.
func (s *Server) showRows(w http.ResponseWriter, r *http.Request) error {
	if !isHTMX(r) {
		http.Redirect(w, r, "/inbox?"+r.URL.RawQuery, http.StatusSeeOther)
		return nil
	}
	v, err := s.inbox(r)
	if err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "rows", v)
}

// showQueues renders the queue list with its live counts.
func (s *Server) showQueues(w http.ResponseWriter, r *http.Request) error {
	me := agentFrom(r.Context())
	v := inboxView{Filter: readInboxFilter(r.URL.Query(), me)}
	var err error
	if v.Queues, err = s.queues(r, v.Filter); err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "inbox", "queues", v)
}

func (s *Server) inbox(r *http.Request) (inboxView, error) {
	ctx := r.Context()
	me := agentFrom(ctx)
	v := inboxView{chrome: s.chrome(r, s.t(r, "nav.inbox"), "inbox"), StatusChoices: statusChoices}
	v.Filter = readInboxFilter(r.URL.Query(), me)
	var err error
	if v.Queues, err = s.queues(r, v.Filter); err != nil {
		return v, err
	}
	sf := v.Filter.store(v.Filter.Queue, me)
	if sf.Before, err = parseCursor(v.Filter.Cursor); err != nil {
		return v, err
	}
	sf.Limit = 50
	convs, err := s.store.Conversations(ctx, sf)
	if err != nil {
		return v, err
	}
	names := s.names(ctx)
	for _, c := range convs {
		v.Rows = append(v.Rows, names.row(ctx, c))
	}
	if len(convs) == sf.Limit {
		last := convs[len(convs)-1]
		v.Next = formatCursor(store.CursorAfter(last, sf.Order))
	}
	if v.Channels, err = s.store.Channels(ctx); err != nil {
		return v, err
	}
	v.Languages = inboxLanguages
	return v, nil
}

// inboxLanguages are the languages the filter offers: the ten webcare
// promises to answer in (see MISSION.md), then the rest by code.
var inboxLanguages = []string{"nl", "en", "de", "fr", "es", "it", "pt", "ja", "zh", "ko"}

func (s *Server) queues(r *http.Request, f inboxFilter) ([]queueLink, error) {
	ctx := r.Context()
	me := agentFrom(ctx)
	keys := []string{"mine"}
	labels := map[string]string{"mine": s.t(r, "queue.mine"), "unassigned": s.t(r, "queue.unassigned"), "all": s.t(r, "queue.all")}
	if auth.Can(me.Role, auth.ReadConversations) {
		keys = append(keys, "unassigned")
		teams, err := s.store.Teams(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range teams {
			k := "team-" + strconv.FormatInt(t.ID, 10)
			keys = append(keys, k)
			labels[k] = t.Name
		}
		keys = append(keys, "all")
	}
	out := make([]queueLink, 0, len(keys))
	for _, k := range keys {
		n, err := s.store.CountConversations(ctx, f.store(k, me))
		if err != nil {
			return nil, err
		}
		out = append(out, queueLink{Key: k, Label: labels[k], Query: template.URL(f.with(k).Encode()), Count: n, Active: k == f.Queue})
	}
	return out, nil
}

// nameBook resolves agent and contact names for one request, each once.
type nameBook struct {
	s        *Server
	agents   map[int64]store.Agent
	contacts map[int64]store.Contact
	channels map[int64]store.Channel
}

func (s *Server) names(ctx context.Context) *nameBook {
	b := &nameBook{s: s, agents: map[int64]store.Agent{}, contacts: map[int64]store.Contact{}, channels: map[int64]store.Channel{}}
	if agents, err := s.store.Agents(ctx); err == nil {
		for _, a := range agents {
			b.agents[a.ID] = a
		}
	}
	if chs, err := s.store.Channels(ctx); err == nil {
		for _, c := range chs {
			b.channels[c.ID] = c
		}
	}
	return b
}

func (b *nameBook) contact(ctx context.Context, id int64) store.Contact {
	if c, ok := b.contacts[id]; ok {
		return c
	}
	c, err := b.s.store.Contact(ctx, id)
	if err != nil {
		c = store.Contact{ID: id, Name: "#" + strconv.FormatInt(id, 10)}
	}
	b.contacts[id] = c
	return c
}

func (b *nameBook) agent(id int64) string {
	if id == 0 {
		return ""
	}
	if a, ok := b.agents[id]; ok {
		return a.Name
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (b *nameBook) row(ctx context.Context, c store.Conversation) rowView {
	ct := b.contact(ctx, c.ContactID)
	v := rowView{ID: c.ID, ContactName: ct.Name, ChannelKind: b.channels[c.ChannelID].Kind, Visibility: c.Visibility,
		Status: c.Status, Language: c.Language, Preview: c.LastPreview, LastMessageAt: c.LastMessageAt,
		WaitingSince: c.WaitingSince, Waiting: c.WaitingSince != nil, Failed: c.DeliveryFailed, Assignee: b.agent(c.AssigneeID)}
	for _, id := range ct.Identities {
		if id.Handle != "" {
			v.Handle = id.Handle
			break
		}
	}
	if v.ContactName == "" {
		v.ContactName = v.Handle
	}
	return v
}
