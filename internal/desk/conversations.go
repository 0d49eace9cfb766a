package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// Conversation loads a conversation the actor may see. Field staff see
// only what was handed to them; anything else is "not found", so that they
// cannot probe for ids.
func (d *Desk) Conversation(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	c, err := d.store.Conversation(ctx, id)
	if err != nil {
		return c, err
	}
	if !a.Can(auth.ReadConversations) && (a.Agent.ID == 0 || c.AssigneeID != a.Agent.ID) {
		return store.Conversation{}, notFound("conversation %d not found", id)
	}
	return c, nil
}

// workOn loads a conversation the actor may see and work on.
func (d *Desk) workOn(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	if err := a.require(auth.WorkConversations); err != nil {
		return store.Conversation{}, err
	}
	return d.Conversation(ctx, a, id)
}

// MaxReplyChars bounds a reply: four bytes a character at most keeps it
// within what ingest stores of any message.
const MaxReplyChars = ingest.MaxBodyBytes / 4

// File is a file an agent sends with a reply, as uploaded.
type File struct {
	Name string
	Data []byte
}

// MaxKeyBytes bounds a reply's idempotency key.
const MaxKeyBytes = 200

// ReplyInput is an agent's answer to the customer.
type ReplyInput struct {
	Body  string
	Files []File
	// Key makes a retried request queue the reply once (an API client's
	// Idempotency-Key); it counts per conversation. Empty: a fresh one.
	Key string
}

// Reply checks and queues an answer to the customer; the outbox delivers
// it. A Key used before on the conversation gives a conflict.
func (d *Desk) Reply(ctx context.Context, a Actor, conversationID int64, in ReplyInput) (store.Message, store.OutboxEntry, error) {
	c, err := d.workOn(ctx, a, conversationID)
	if err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	ch, err := d.channel(ctx, c.ChannelID)
	if err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	files, err := d.checkFiles(ch.Kind, in.Files)
	if err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	minText := 1
	if len(files) > 0 {
		minText = 0 // a picture may speak for itself
	}
	if err := CheckText("body", in.Body, minText, MaxReplyChars); err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	if err := d.checkLength(ch.Kind, "reply", in.Body); err != nil {
		return store.Message{}, store.OutboxEntry{}, err
	}
	key := uuid.Must(uuid.NewV7()).String()
	if k := strings.TrimSpace(in.Key); k != "" {
		if len(k) > MaxKeyBytes {
			return store.Message{}, store.OutboxEntry{}, invalid("Idempotency-Key is longer than %d characters", MaxKeyBytes)
		}
		key = fmt.Sprintf("c%d:%s", c.ID, k)
	}
	m, e, err := d.store.QueueReply(ctx, store.Reply{ConversationID: c.ID, AgentID: a.Agent.ID, Body: in.Body, IdempotencyKey: key, Now: d.now(), Attachments: files})
	if errors.Is(err, store.ErrConflict) && c.Status != store.StatusResolved {
		return m, e, conflict("a reply with this Idempotency-Key was already queued")
	}
	if err != nil {
		return m, e, err
	}
	d.wake()
	d.publish(ctx, bus.Event{Type: bus.MessageCreated, ConversationID: c.ID, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: a.Agent.ID})
	return m, e, nil
}

// checkLength refuses text longer than the platform takes, counted the
// way the platform counts it.
func (d *Desk) checkLength(kind, what, body string) error {
	ad := d.adapters.Get(kind)
	if ad.TextLimit == 0 {
		return nil
	}
	n := utf8.RuneCountInString(body)
	if ad.Length != nil {
		n = ad.Length(body)
	}
	if n > ad.TextLimit {
		return invalid("the %s counts %d characters on %s; it takes at most %d", what, n, kind, ad.TextLimit)
	}
	return nil
}

// checkFiles turns an agent's files into attachments the channel accepts,
// or says why not.
func (d *Desk) checkFiles(kind string, files []File) ([]store.Attachment, error) {
	if len(files) == 0 {
		return nil, nil
	}
	rule := d.adapters.Get(kind).Files
	if !rule.Allowed() {
		return nil, said(fmt.Sprintf("Replies on %s cannot carry files.", kind), "files.notallowed", Term("kind."+kind))
	}
	if len(files) > rule.MaxFiles {
		return nil, said(fmt.Sprintf("This channel takes at most %d files per reply.", rule.MaxFiles), "files.toomany", rule.MaxFiles)
	}
	out := make([]store.Attachment, 0, len(files))
	for _, f := range files {
		at := channel.NewAttachment(f.Name, f.Data)
		switch {
		case len(f.Data) == 0:
			return nil, said(at.Name+" is empty.", "files.empty", at.Name)
		case int64(len(f.Data)) > rule.MaxBytes:
			return nil, said(fmt.Sprintf("%s is larger than this channel takes (%d MB).", at.Name, rule.MaxBytes>>20), "files.toobig", at.Name, rule.MaxBytes>>20)
		case !rule.Accepts(at.ContentType):
			return nil, said(fmt.Sprintf("%s is a %s; this channel takes pictures (and, where the platform allows, PDF documents) only.", at.Name, at.ContentType),
				"files.type", at.Name, at.ContentType)
		}
		out = append(out, at)
	}
	return out, nil
}

// Note adds an internal note; agents it mentions with @ are told.
func (d *Desk) Note(ctx context.Context, a Actor, conversationID int64, body string) (store.Message, error) {
	c, err := d.workOn(ctx, a, conversationID)
	if err != nil {
		return store.Message{}, err
	}
	if err := CheckText("body", body, 1, 10000); err != nil {
		return store.Message{}, err
	}
	m, err := d.store.AddNote(ctx, c.ID, a.Agent.ID, body, d.now())
	if err != nil {
		return m, err
	}
	e := bus.Event{Type: bus.MessageCreated, ConversationID: c.ID, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: a.Agent.ID}
	if ids := d.mentioned(ctx, body); len(ids) > 0 {
		detail, _ := json.Marshal(NoteDetail{Mentions: ids, By: a.Agent.Name})
		e.Detail = string(detail)
	}
	d.publish(ctx, e)
	return m, nil
}

// NoteDetail is the Detail of a note's message.created event: whom it
// mentions, so their screens can tell them.
type NoteDetail struct {
	Mentions []int64 `json:"mentions"`
	By       string  `json:"by"`
}

// MentionPattern finds @names in a note: after its start or a space,
// letters, digits and _ . -. The UI marks the same words.
var MentionPattern = regexp.MustCompile(`(^|\s)@([\p{L}\p{N}_.-]+)`)

// mentioned finds the enabled agents a note names with @: by first name,
// by full name without spaces, or by the part of their e-mail address
// before the @, ignoring case.
func (d *Desk) mentioned(ctx context.Context, body string) []int64 {
	words := MentionPattern.FindAllStringSubmatch(body, -1)
	if len(words) == 0 {
		return nil
	}
	agents, err := d.store.Agents(ctx)
	if err != nil {
		return nil // a mention is a courtesy; the note itself is stored
	}
	var ids []int64
	for _, ag := range agents {
		if ag.Disabled {
			continue
		}
		first, _, _ := strings.Cut(ag.Name, " ")
		local, _, _ := strings.Cut(ag.Email, "@")
		for _, w := range words {
			name := strings.TrimRight(w[2], ".-_")
			if strings.EqualFold(name, first) || strings.EqualFold(name, strings.ReplaceAll(ag.Name, " ", "")) || strings.EqualFold(name, local) {
				ids = append(ids, ag.ID)
				break
			}
		}
	}
	return ids
}

// Change is a partial change of a conversation; nil fields stay.
type Change struct {
	Status       *store.Status `json:"status"`
	SnoozedUntil *time.Time    `json:"snoozed_until"`
	AssigneeID   *int64        `json:"assignee_id"` // 0 unassigns
	TeamID       *int64        `json:"team_id"`     // 0 clears
	Priority     *int          `json:"priority"`
	Tags         *[]string     `json:"tags"`
}

// ChangeConversation checks and applies a change to status, assignee,
// team, priority or tags. Agents may take or drop a conversation
// themselves; giving it to someone else, or to a team, needs a supervisor.
func (d *Desk) ChangeConversation(ctx context.Context, a Actor, conversationID int64, in Change) (store.Conversation, error) {
	c, err := d.workOn(ctx, a, conversationID)
	if err != nil {
		return c, err
	}
	ch := store.ConversationChange{Status: in.Status, SnoozedUntil: in.SnoozedUntil, AssigneeID: in.AssigneeID, TeamID: in.TeamID, Priority: in.Priority}
	if in.Status != nil {
		if !in.Status.Valid() {
			return store.Conversation{}, invalid("status must be new, open, pending, snoozed or resolved")
		}
		if *in.Status == store.StatusSnoozed && in.SnoozedUntil == nil {
			return store.Conversation{}, invalid("snoozing needs snoozed_until in the future")
		}
	}
	// Also without a status: a snoozed conversation's time can be moved.
	if in.SnoozedUntil != nil && !in.SnoozedUntil.After(d.now()) {
		return store.Conversation{}, invalid("snoozing needs snoozed_until in the future")
	}
	if in.AssigneeID != nil {
		to := *in.AssigneeID
		mine := a.Agent.ID != 0 && (to == a.Agent.ID || (to == 0 && c.AssigneeID == a.Agent.ID))
		if !mine && !a.Can(auth.AssignOthers) {
			return store.Conversation{}, forbidden("your role (%s) may only take or release conversations yourself", a.Agent.Role)
		}
		if err := d.checkAssignee(ctx, to); err != nil {
			return store.Conversation{}, err
		}
	}
	if in.TeamID != nil {
		if !a.Can(auth.AssignOthers) {
			return store.Conversation{}, forbidden("your role (%s) may not move conversations between teams", a.Agent.Role)
		}
		if *in.TeamID != 0 {
			if err := d.checkTeam(ctx, *in.TeamID); err != nil {
				return store.Conversation{}, err
			}
		}
	}
	if in.Priority != nil && (*in.Priority < 0 || *in.Priority > 3) {
		return store.Conversation{}, invalid("priority must be 0 (normal) to 3 (urgent)")
	}
	if in.Tags != nil {
		tags, err := CheckList("tags", *in.Tags, 30, 50)
		if err != nil {
			return store.Conversation{}, err
		}
		ch.Tags = &tags
	}
	updated, err := d.store.UpdateConversation(ctx, c.ID, ch, a.record())
	if err != nil {
		return updated, err
	}
	d.publish(ctx, bus.Event{Type: bus.ConversationUpdated, ConversationID: c.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: a.Agent.ID})
	return updated, nil
}

// checkAssignee accepts 0 (nobody) or an enabled agent.
func (d *Desk) checkAssignee(ctx context.Context, to int64) error {
	if to < 0 {
		return invalid("assignee_id must be an agent id, or 0 to unassign")
	}
	if to == 0 {
		return nil
	}
	ag, err := d.store.Agent(ctx, to)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ag.Disabled) {
		return invalid("agent %d does not exist or is disabled", to)
	}
	return err
}

// checkTeam accepts an existing team.
func (d *Desk) checkTeam(ctx context.Context, id int64) error {
	if _, err := d.store.Team(ctx, id); errors.Is(err, store.ErrNotFound) {
		return invalid("team %d does not exist", id)
	} else if err != nil {
		return err
	}
	return nil
}

// MaxBulkAssign bounds one bulk assignment: one transaction.
const MaxBulkAssign = 500

// AssignMany gives many conversations to one agent at once (to 0
// unassigns them): all or nothing. Each change is audited and announced
// like a single one.
func (d *Desk) AssignMany(ctx context.Context, a Actor, ids []int64, to int64) ([]store.Conversation, error) {
	if !a.Can(auth.AssignOthers) {
		return nil, forbidden("your role (%s) may not do this", a.Agent.Role)
	}
	switch n := len(ids); {
	case n == 0:
		return nil, invalid("conversation_ids is required")
	case n > MaxBulkAssign:
		return nil, invalid("conversation_ids holds %d ids; at most %d at once", n, MaxBulkAssign)
	}
	for _, id := range ids {
		if id <= 0 {
			return nil, invalid("conversation_ids: %d is not a conversation id", id)
		}
	}
	if err := d.checkAssignee(ctx, to); err != nil {
		return nil, err
	}
	changed, err := d.store.AssignConversations(ctx, ids, to, a.record())
	var unknown *store.UnknownIDsError
	if errors.As(err, &unknown) {
		names := make([]string, len(unknown.IDs))
		for i, id := range unknown.IDs {
			names[i] = fmt.Sprint(id)
		}
		return nil, invalid("unknown conversation ids: %s; nothing was changed", strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	events := make([]bus.Event, len(changed))
	for i, c := range changed {
		events[i] = bus.Event{Type: bus.ConversationUpdated, ConversationID: c.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: a.Agent.ID}
	}
	d.publish(ctx, events...)
	return changed, nil
}

// MoveToPrivate answers in public with body, an invitation to a direct
// message, and returns the linked private conversation.
func (d *Desk) MoveToPrivate(ctx context.Context, a Actor, conversationID int64, body string) (store.Conversation, error) {
	c, err := d.workOn(ctx, a, conversationID)
	if err != nil {
		return c, err
	}
	if err := CheckText("body", body, 1, 4000); err != nil {
		return store.Conversation{}, err
	}
	ch, err := d.channel(ctx, c.ChannelID)
	if err != nil {
		return store.Conversation{}, err
	}
	if err := d.checkLength(ch.Kind, "invitation", body); err != nil {
		return store.Conversation{}, err
	}
	priv, m, _, err := d.store.MoveToPrivate(ctx, store.Reply{ConversationID: c.ID, AgentID: a.Agent.ID, Body: body, IdempotencyKey: uuid.Must(uuid.NewV7()).String(), Now: d.now()})
	if errors.Is(err, store.ErrConflict) {
		return priv, conflict("this conversation is already private, or resolved")
	}
	if err != nil {
		return priv, err
	}
	d.wake()
	d.publish(ctx,
		bus.Event{Type: bus.MessageCreated, ConversationID: c.ID, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: a.Agent.ID},
		bus.Event{Type: bus.ConversationUpdated, ConversationID: priv.ID, ChannelID: priv.ChannelID, ContactID: priv.ContactID, AgentID: a.Agent.ID})
	return priv, nil
}

// MinIdle is the shortest idle time ResolveIdle accepts, so that nothing
// a customer just wrote is closed.
const MinIdle = time.Hour

// CheckIdle checks what ResolveIdle is asked to close, for callers that
// want to refuse before they open anything.
func CheckIdle(statuses []store.Status, idle time.Duration) error {
	if len(statuses) == 0 {
		return invalid("say which statuses to close: new, open, pending or snoozed")
	}
	for _, st := range statuses {
		if !st.Valid() || st == store.StatusResolved {
			return invalid("status %q: use new, open, pending or snoozed", st)
		}
	}
	if idle < MinIdle {
		return invalid("idle %s: at least an hour, so nothing a customer just wrote is closed", idle)
	}
	return nil
}

// ResolveIdle resolves the conversations in one of statuses whose last
// message is older than idle, as a helpdesk's auto-close does, in
// batches; every change is audited and announced, so open inboxes drop
// them at once. It returns how many it resolved.
func (d *Desk) ResolveIdle(ctx context.Context, a Actor, statuses []store.Status, idle time.Duration) (int, error) {
	if err := a.require(auth.AssignOthers); err != nil {
		return 0, err
	}
	if err := CheckIdle(statuses, idle); err != nil {
		return 0, err
	}
	const batch = 1000
	total := 0
	since := d.now().Add(-idle)
	for {
		ids, err := d.store.ResolveIdle(ctx, statuses, since, batch, a.record())
		if err != nil {
			return total, err
		}
		total += len(ids)
		events := make([]bus.Event, len(ids))
		for i, id := range ids {
			events[i] = bus.Event{Type: bus.ConversationUpdated, ConversationID: id, AgentID: a.Agent.ID}
		}
		d.publish(ctx, events...)
		if len(ids) < batch {
			return total, nil
		}
	}
}
