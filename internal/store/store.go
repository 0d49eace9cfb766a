// Package store holds webcare's domain records and the Store interface that
// every storage engine implements. The engines live in sub-packages (sqlite,
// and later postgres); storetest holds the contract suite they all must pass.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors every engine returns, wrapped, so callers can test with errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change clashes with existing data (a duplicate
	// e-mail, a reply to a resolved conversation, a stale state change).
	ErrConflict = errors.New("conflict")
)

// Direction says who wrote a message.
type Direction string

// Message directions.
const (
	DirInbound  Direction = "in"   // from the customer
	DirOutbound Direction = "out"  // a reply by an agent
	DirNote     Direction = "note" // internal, never sent
)

// Visibility says whether a conversation happens in public (a mention, a
// comment) or in private (a DM, an e-mail, a chat).
type Visibility string

// Conversation visibilities.
const (
	Public  Visibility = "public"
	Private Visibility = "private"
)

// Status is a conversation's place in the agent's workflow.
type Status string

// Conversation statuses.
const (
	StatusNew      Status = "new"      // nobody has answered yet
	StatusOpen     Status = "open"     // being worked on
	StatusPending  Status = "pending"  // waiting for the customer
	StatusSnoozed  Status = "snoozed"  // hidden until SnoozedUntil
	StatusResolved Status = "resolved" // done; a new inbound message reopens it
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusSnoozed, StatusResolved:
		return true
	}
	return false
}

// Delivery is the state of a message on its way to or from the platform.
type Delivery string

// Delivery states.
const (
	Received  Delivery = "received"  // inbound, stored
	Queued    Delivery = "queued"    // outbound, waiting in the outbox
	Sent      Delivery = "sent"      // accepted by the platform
	Delivered Delivery = "delivered" // the platform reports it reached the customer's device
	Read      Delivery = "read"      // the platform reports the customer has seen it
	Failed    Delivery = "failed"    // given up; shown to the agent
	Internal  Delivery = "internal"  // a note, never delivered
)

// Advances reports whether a reply in state from may move to state to on
// a platform's report: forward only, and a failure unless already read.
func (from Delivery) Advances(to Delivery) bool {
	rank := map[Delivery]int{Queued: 1, Sent: 2, Delivered: 3, Read: 4}
	switch {
	case from == Failed || from == Internal || from == Received:
		return false
	case to == Failed:
		return from != Read
	}
	return rank[to] > rank[from]
}

// Role decides what an agent may do; the server enforces it on every request.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleVolunteer  Role = "volunteer" // crisis help from other departments
	RoleField      Role = "field"     // pursers, desks: only what is handed to them
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleVolunteer, RoleField:
		return true
	}
	return false
}

// Presence says whether an agent can take work now.
type Presence string

// Presence values.
const (
	Online  Presence = "online"
	Away    Presence = "away"
	Offline Presence = "offline"
)

// Valid reports whether p is a known presence.
func (p Presence) Valid() bool { return p == Online || p == Away || p == Offline }

// Channel is one account on one platform: the X account, a Facebook page, a
// WhatsApp number, a mailbox, a chat widget, or an API feed.
type Channel struct {
	ID        int64             `json:"id"`
	Kind      string            `json:"kind"` // api, x, facebook, instagram, whatsapp, telegram, mastodon, email, webchat
	Name      string            `json:"name"`
	Locale    string            `json:"locale,omitempty"` // the language most customers write in
	Settings  map[string]string `json:"settings,omitempty"`
	TokenHash []byte            `json:"-"` // SHA-256 of the ingest token
	Disabled  bool              `json:"disabled"`
	CreatedAt time.Time         `json:"created_at"`
}

// Contact is one person, with every identity they used and one history.
type Contact struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Language   string     `json:"language,omitempty"`
	Identities []Identity `json:"identities"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Identity is a contact's handle on one platform. (Platform, ExternalID) is
// unique: the same X user id is always the same contact.
type Identity struct {
	ID          int64     `json:"id"`
	ContactID   int64     `json:"contact_id"`
	Platform    string    `json:"platform"`
	ExternalID  string    `json:"external_id"`
	Handle      string    `json:"handle,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Conversation is one thread with a contact on one channel.
type Conversation struct {
	ID              int64      `json:"id"`
	ChannelID       int64      `json:"channel_id"`
	ContactID       int64      `json:"contact_id"`
	Visibility      Visibility `json:"visibility"`
	Status          Status     `json:"status"`
	Language        string     `json:"language,omitempty"`
	Subject         string     `json:"subject,omitempty"`
	AssigneeID      int64      `json:"assignee_id,omitempty"`
	TeamID          int64      `json:"team_id,omitempty"`
	LinkedID        int64      `json:"linked_id,omitempty"` // the public thread a private one was moved from, or back
	Priority        int        `json:"priority"`
	Tags            []string   `json:"tags"`
	SnoozedUntil    *time.Time `json:"snoozed_until,omitempty"`
	WaitingSince    *time.Time `json:"waiting_since,omitempty"` // oldest unanswered inbound message
	FirstResponseAt *time.Time `json:"first_response_at,omitempty"`
	LastMessageAt   time.Time  `json:"last_message_at"`
	LastPreview     string     `json:"last_preview"`
	MessageCount    int        `json:"message_count"`
	DeliveryFailed  bool       `json:"delivery_failed"` // a reply finally failed; the agent must act
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Message is one contact moment: inbound, an agent's reply, or a note.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	ChannelID      int64     `json:"channel_id"`
	Direction      Direction `json:"direction"`
	AgentID        int64     `json:"agent_id,omitempty"`
	Body           string    `json:"body"`
	PlatformID     string    `json:"platform_id,omitempty"`
	ReplyTo        string    `json:"reply_to,omitempty"` // platform id of the message this answers
	Delivery       Delivery  `json:"delivery"`
	DeliveryError  string    `json:"delivery_error,omitempty"`
	SentAt         time.Time `json:"sent_at"`    // when the author wrote it (platform time)
	CreatedAt      time.Time `json:"created_at"` // when webcare stored it
	// Attachments are the message's files, without their bytes.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file on a message. Name and ContentType come from
// outside (the customer, the agent's browser): show them escaped, serve the
// bytes only as what the checks let through.
type Attachment struct {
	ID          int64  `json:"id"`
	MessageID   int64  `json:"message_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"-"` // filled by Store.Attachment only
}

// Agent is a person who works in webcare.
type Agent struct {
	ID           int64    `json:"id"`
	Email        string   `json:"email"`
	Name         string   `json:"name"`
	Role         Role     `json:"role"`
	Languages    []string `json:"languages"`
	Skills       []string `json:"skills"`
	Capacity     int      `json:"capacity"`
	Presence     Presence `json:"presence"`
	Locale       string   `json:"locale"` // the agent's UI language, "en" or "nl"; empty means "en"
	Disabled     bool     `json:"disabled"`
	TeamIDs      []int64  `json:"team_ids"`
	PasswordHash string   `json:"-"`
	// TOTPSecret is the agent's two-factor secret, "" without; TwoFactor
	// says whether there is one, for the API and the pages.
	TOTPSecret string `json:"-"`
	TwoFactor  bool   `json:"two_factor"`
	// OIDCSubject is who the agent is at the single sign-on provider,
	// linked at their first sign-in there; "" before.
	OIDCSubject string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
}

// Team groups agents; a conversation's team decides its queue.
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	AgentIDs  []int64   `json:"agent_ids"`
	CreatedAt time.Time `json:"created_at"`
}

// Template is a canned reply with variables ({{contact.name}}) and a variant
// per language and tone.
type Template struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Shortcut  string            `json:"shortcut"`
	Variants  []TemplateVariant `json:"variants"`
	CreatedAt time.Time         `json:"created_at"`
}

// TemplateVariant is a template's text in one language and tone.
type TemplateVariant struct {
	Language string `json:"language"`
	Tone     string `json:"tone,omitempty"` // e.g. formal, casual
	Body     string `json:"body"`
}

// AuditEntry records who did what; the trail is append-only.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	AgentID int64     `json:"agent_id,omitempty"` // 0: the system or a CLI operator
	Action  string    `json:"action"`             // e.g. conversation.assign
	Subject string    `json:"subject"`            // e.g. conversation/42
	Detail  string    `json:"detail,omitempty"`
}

// Actor is who performs a change, for the audit trail.
type Actor struct {
	AgentID int64  // 0 for the system
	Via     string // "api", "cli", "system"
}

// OutboxEntry is a reply waiting to be delivered to its platform.
type OutboxEntry struct {
	ID             int64     `json:"id"`
	MessageID      int64     `json:"message_id"`
	ConversationID int64     `json:"conversation_id"`
	ChannelID      int64     `json:"channel_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastError      string    `json:"last_error,omitempty"`
	State          string    `json:"state"` // pending, sent, failed
	PlatformID     string    `json:"platform_id,omitempty"`
}

// Outbox entry states.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// Session is a logged-in browser; only the token's hash is stored.
type Session struct {
	ID        int64     `json:"id"`
	TokenHash []byte    `json:"-"`
	AgentID   int64     `json:"agent_id"`
	CreatedAt time.Time `json:"created_at"` // zero for sessions older than this record
	ExpiresAt time.Time `json:"expires_at"`
	Method    string    `json:"method"`     // how the agent proved who they are: password, password+totp, recovery_code, oidc, setup, invite
	Address   string    `json:"address"`    // the client address it started from
	UserAgent string    `json:"user_agent"` // the browser it started in, cut to 200 bytes
	// Pending is "" for a full session; for half a login, what is still to
	// come: "totp" (the second factor) or "enrol" (setting one up, where
	// the agent's role requires it). A pending session opens nothing else.
	Pending  string `json:"-"`
	Attempts int    `json:"-"` // wrong codes given on a pending session
}

// Pending-session stages.
const (
	PendingTOTP  = "totp"
	PendingEnrol = "enrol"
)

// APIToken lets an integration act as an agent; only its hash is stored.
type APIToken struct {
	ID         int64      `json:"id"`
	AgentID    int64      `json:"agent_id"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Inbound is a normalised, already validated customer message on its way
// into the store. The ingest package builds it; the store threads it.
type Inbound struct {
	ChannelID  int64
	PlatformID string // the platform's message id; the dedupe key with ChannelID
	Platform   string // identity namespace: "x", "email", "api:7"…
	ExternalID string // the author's stable id on that platform
	Handle     string
	Name       string
	Body       string
	ReplyTo    string // platform id of the message this answers, if any
	Private    bool
	Language   string
	Subject    string
	SentAt     time.Time
	ReceivedAt time.Time
	Processed  bool // true when no post-commit stage needs to see it
	// Attachments are the files that came with it, bytes included.
	Attachments []Attachment
}

// IngestResult tells what the store did with one Inbound.
type IngestResult struct {
	MessageID       int64
	ConversationID  int64
	ContactID       int64
	Duplicate       bool // already stored earlier; nothing changed
	NewConversation bool
	NewContact      bool
}

// ConversationFilter selects conversations for a list; zero fields match all.
type ConversationFilter struct {
	Statuses   []Status
	ChannelID  int64
	Language   string
	AssigneeID int64 // -1: unassigned
	TeamID     int64 // -1: no team
	ContactID  int64
	Order      ConversationOrder
	Before     Cursor // page after this position (see CursorAfter); zero starts at the top
	Limit      int    // default 50, at most 500
}

// ConversationOrder is how a conversation list is sorted.
type ConversationOrder int

// Conversation orders.
const (
	// OrderNewest lists by last message, newest first (the default).
	OrderNewest ConversationOrder = iota
	// OrderWaiting lists the conversations whose customer waits for an
	// answer first, longest waiting first (ties by id, lowest first), then
	// the rest by last message, newest first.
	OrderWaiting
)

// Cursor is a position in a conversation list: the sort key of the last
// conversation on the previous page.
type Cursor struct {
	At      time.Time // the last message, or in OrderWaiting for a waiting conversation, its waiting since
	ID      int64
	Waiting bool // OrderWaiting only: the position is among the waiting conversations
}

// CursorAfter is the cursor that continues a list in order o after c.
func CursorAfter(c Conversation, o ConversationOrder) Cursor {
	if o == OrderWaiting && c.WaitingSince != nil {
		return Cursor{At: *c.WaitingSince, ID: c.ID, Waiting: true}
	}
	return Cursor{At: c.LastMessageAt, ID: c.ID}
}

// ContactFilter selects contacts.
type ContactFilter struct {
	Query string // matches anywhere in name, handle, display name or external id, ignoring case
	After int64  // cursor: contacts with a smaller id
	Limit int
}

// SearchQuery is what an agent typed into the search box.
type SearchQuery struct {
	// Text is matched word by word, ignoring case and diacritics; the last
	// word also matches as a prefix, so results follow the typing. Every
	// character is taken literally: quotes, *, -, OR, NEAR or a colon are
	// words or separators, never search syntax. Text without any letter or
	// digit finds nothing.
	Text string
	// Limit bounds each list: default 20, at most 100.
	Limit int
	// AssigneeID, when not 0, limits conversations to those assigned to
	// that agent (field staff search only what was handed to them).
	AssigneeID int64
}

// Size is how many of each kind a search returns: Limit, bounded to 1–100,
// 20 when unset.
func (q SearchQuery) Size() int {
	if q.Limit <= 0 {
		return 20
	}
	return min(q.Limit, 100)
}

// SearchResults are the conversations whose messages match and the
// contacts whose name or identities match. Both lists are never nil.
type SearchResults struct {
	Conversations []SearchHit `json:"conversations"` // newest matching message first
	Contacts      []Contact   `json:"contacts"`      // newest contact first
}

// SearchHit is a conversation with its newest matching message.
type SearchHit struct {
	Conversation Conversation `json:"conversation"`
	MessageID    int64        `json:"message_id"`
	// Snippet is plain text around the match (not HTML: escape it), with
	// "…" where the message was cut.
	Snippet string `json:"snippet"`
	// MatchStart and MatchEnd are the first match in Snippet, counted in
	// characters (Unicode code points, not bytes): Snippet[MatchStart:MatchEnd].
	MatchStart int `json:"match_start"`
	MatchEnd   int `json:"match_end"`
}

// Reply is an agent's answer, queued for delivery.
type Reply struct {
	ConversationID int64
	AgentID        int64
	Body           string
	IdempotencyKey string // one per outbox entry; the platform may dedupe on it
	Now            time.Time
	Attachments    []Attachment // files to send with it, bytes included
}

// ConversationChange is a partial update by an agent; nil fields stay.
type ConversationChange struct {
	Status       *Status
	SnoozedUntil *time.Time
	AssigneeID   *int64 // 0 unassigns
	TeamID       *int64 // 0 clears
	Priority     *int
	Tags         *[]string
	LinkedID     *int64
}

// Store is everything webcare keeps. Every method takes the caller's context;
// lookups return ErrNotFound (wrapped) rather than zero values.
type Store interface {
	// Ingest stores a batch of inbound messages in one transaction: it
	// dedupes on (channel, platform id), resolves or creates contacts and
	// threads each message. Results are in input order.
	Ingest(ctx context.Context, batch []Inbound) ([]IngestResult, error)
	// Unprocessed lists inbound messages that post-commit stages have not
	// yet seen, oldest first.
	Unprocessed(ctx context.Context, limit int) ([]Message, error)
	// MarkProcessed records that the stages have seen these messages.
	MarkProcessed(ctx context.Context, ids []int64) error

	CreateChannel(ctx context.Context, c *Channel, by Actor) error
	UpdateChannel(ctx context.Context, c *Channel, by Actor) error
	Channel(ctx context.Context, id int64) (Channel, error)
	Channels(ctx context.Context) ([]Channel, error)

	Contact(ctx context.Context, id int64) (Contact, error)
	Contacts(ctx context.Context, f ContactFilter) ([]Contact, error)
	// Search finds conversations by the words in their messages and
	// contacts by name, handle, display name or external id. Empty text
	// gives empty results, not an error.
	Search(ctx context.Context, q SearchQuery) (SearchResults, error)
	// MergeContacts moves every identity and conversation of from into into
	// and deletes from.
	MergeContacts(ctx context.Context, into, from int64, by Actor) error

	Conversation(ctx context.Context, id int64) (Conversation, error)
	Conversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	// CountConversations counts what Conversations would list without a limit.
	CountConversations(ctx context.Context, f ConversationFilter) (int, error)
	// Messages lists a conversation's messages oldest first, after the
	// given message id.
	Messages(ctx context.Context, conversationID, after int64, limit int) ([]Message, error)
	Message(ctx context.Context, id int64) (Message, error)
	// Attachment returns one file with its bytes.
	Attachment(ctx context.Context, id int64) (Attachment, error)
	UpdateConversation(ctx context.Context, id int64, ch ConversationChange, by Actor) (Conversation, error)
	AddNote(ctx context.Context, conversationID, agentID int64, body string, now time.Time) (Message, error)
	// QueueReply stores an outbound message and its outbox entry in one
	// transaction. A resolved conversation gives ErrConflict.
	QueueReply(ctx context.Context, r Reply) (Message, OutboxEntry, error)
	// MoveToPrivate queues r, a public reply inviting the customer to a
	// direct message, and links the contact's private conversation on the
	// same channel to the public one, creating it (pending) if there is
	// none, so that the customer's next private message threads there. It
	// returns the private conversation. An already private conversation
	// gives ErrConflict.
	MoveToPrivate(ctx context.Context, r Reply) (Conversation, Message, OutboxEntry, error)

	// ClaimOutbox leases up to limit due entries until now+lease, so that
	// no other worker takes them meanwhile.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEntry, error)
	// DeliverOutbox records a successful send.
	DeliverOutbox(ctx context.Context, id int64, platformID string, now time.Time) error
	// UpdateDelivery records what a platform reports about a sent reply,
	// found by the platform id the channel gave it: Delivered, Read or
	// Failed. States only move forward (sent, delivered, read), because
	// platforms report out of order; a failure is recorded unless the
	// customer has read the reply, and marks the conversation as needing
	// the agent. changed is false when nothing moved. ErrNotFound: no
	// outbound message on the channel has that id yet; the report is
	// kept for an hour and DeliverOutbox applies it when it records a
	// send with that id (platforms can report before webcare records).
	UpdateDelivery(ctx context.Context, channelID int64, platformID string, state Delivery, errText string, now time.Time) (m Message, changed bool, err error)
	// RetryOutbox records a failed attempt and when to try again.
	RetryOutbox(ctx context.Context, id int64, errText string, next time.Time) error
	// FailOutbox gives up on an entry; the conversation shows the failure.
	FailOutbox(ctx context.Context, id int64, errText string, now time.Time) error
	OutboxEntry(ctx context.Context, id int64) (OutboxEntry, error)
	// OutboxDepth counts entries not yet delivered or failed.
	OutboxDepth(ctx context.Context) (int, error)
	// Stats gives the figures the metrics page shows.
	Stats(ctx context.Context) (Stats, error)
	// QueueStats gives the supervisor's view of the open work, from one
	// consistent snapshot.
	QueueStats(ctx context.Context) (QueueStats, error)
	// AssignConversations gives every listed conversation to assigneeID (0
	// unassigns) in one transaction, auditing each change, and returns the
	// conversations that changed. If any id is unknown nothing changes and
	// the error is an *UnknownIDsError, which wraps ErrNotFound.
	AssignConversations(ctx context.Context, ids []int64, assigneeID int64, by Actor) ([]Conversation, error)
	// ResolveIdle resolves, in one transaction, up to limit conversations
	// whose status is one of statuses and whose last message is older than
	// idleSince, auditing each, and returns their ids (never nil). It is
	// how idle conversations are closed automatically: a caller with more
	// to close repeats it until it returns fewer than limit. Resolved in
	// statuses is ignored; no statuses, or a limit below 1, resolves nothing.
	ResolveIdle(ctx context.Context, statuses []Status, idleSince time.Time, limit int, by Actor) ([]int64, error)

	CreateAgent(ctx context.Context, a *Agent, by Actor) error
	UpdateAgent(ctx context.Context, a *Agent, by Actor) error
	Agent(ctx context.Context, id int64) (Agent, error)
	AgentByEmail(ctx context.Context, email string) (Agent, error)
	Agents(ctx context.Context) ([]Agent, error)

	CreateTeam(ctx context.Context, t *Team, by Actor) error
	UpdateTeam(ctx context.Context, t *Team, by Actor) error
	Team(ctx context.Context, id int64) (Team, error)
	Teams(ctx context.Context) ([]Team, error)

	CreateTemplate(ctx context.Context, t *Template, by Actor) error
	UpdateTemplate(ctx context.Context, t *Template, by Actor) error
	DeleteTemplate(ctx context.Context, id int64, by Actor) error
	Template(ctx context.Context, id int64) (Template, error)
	Templates(ctx context.Context) ([]Template, error)

	// CreateInvite stores the hash of an agent's invite token, replacing any
	// earlier invite of that agent. An unknown agent gives ErrNotFound.
	CreateInvite(ctx context.Context, agentID int64, hash []byte, expires time.Time, by Actor) error
	// UseInvite sets the invited agent's password and consumes the invite.
	// An unknown, used or expired invite, or a disabled agent, gives
	// ErrNotFound.
	UseInvite(ctx context.Context, hash []byte, passwordHash string, now time.Time) (Agent, error)
	// InvitedAgent finds the agent an invite is for, without using it, so
	// that the invite page can greet them. It gives ErrNotFound when
	// UseInvite would.
	InvitedAgent(ctx context.Context, hash []byte, now time.Time) (Agent, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionAgent returns the enabled agent behind a live, full session;
	// a pending, expired or unknown one gives ErrNotFound.
	SessionAgent(ctx context.Context, tokenHash []byte, now time.Time) (Agent, error)
	// PendingSession returns a live pending session: half a login.
	PendingSession(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	// CompleteSession replaces the pending session with the full one s in
	// one transaction (a new token: the half-login's cookie opens nothing
	// afterwards). A pending session no longer there gives ErrNotFound.
	CompleteSession(ctx context.Context, pendingHash []byte, s Session) error
	// FailPendingSession counts a wrong code on a pending session and
	// returns how many there have been.
	FailPendingSession(ctx context.Context, tokenHash []byte) (int, error)
	// Sessions lists an agent's live full sessions, newest first.
	Sessions(ctx context.Context, agentID int64, now time.Time) ([]Session, error)
	// EndSession ends one of the agent's sessions, audited; one that is
	// not the agent's gives ErrNotFound.
	EndSession(ctx context.Context, agentID, id int64, by Actor) error
	// DeleteSession ends a session: signing out, or a half-login given up.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// EndSessions signs an agent out everywhere but the session keep (nil:
	// everywhere), and with tokens also revokes their API tokens but keep,
	// in one transaction, audited: after a password change (keep is the
	// session or token the agent changed it with), or when the agent asks.
	// It returns how many sessions and tokens it ended.
	EndSessions(ctx context.Context, agentID int64, keep []byte, tokens bool, by Actor) (int, error)

	// SetTwoFactor turns TOTP two-factor on with secret and the hashes of
	// fresh recovery codes (replacing any earlier ones), or off with an
	// empty secret (dropping the codes), audited. With the secret the agent
	// has already (new recovery codes), the codes used stay used.
	SetTwoFactor(ctx context.Context, agentID int64, secret string, codes [][]byte, by Actor) error
	// UseTOTPStep records that the code of a time step was used; a step at
	// or before the last one used gives ErrConflict, so a code works once.
	UseTOTPStep(ctx context.Context, agentID, step int64) error
	// UseRecoveryCode spends one recovery code and returns how many are
	// left; an unknown or spent code gives ErrNotFound.
	UseRecoveryCode(ctx context.Context, agentID int64, hash []byte) (int, error)
	// RecoveryCodesLeft counts an agent's unspent recovery codes.
	RecoveryCodesLeft(ctx context.Context, agentID int64) (int, error)
	// LinkOIDCSubject links the agent to who they are at the single
	// sign-on provider, at their first sign-in there; an agent linked to
	// another subject gives ErrConflict.
	LinkOIDCSubject(ctx context.Context, agentID int64, subject string) error

	CreateAPIToken(ctx context.Context, t *APIToken, by Actor) error
	APITokenAgent(ctx context.Context, hash []byte, now time.Time) (Agent, error)
	APITokens(ctx context.Context, agentID int64) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, id int64, by Actor) error

	// Audit appends to the trail; Audits lists it newest first.
	Audit(ctx context.Context, e AuditEntry) error
	Audits(ctx context.Context, subject string, before int64, limit int) ([]AuditEntry, error)

	// Setting and SetSetting keep small instance-wide values (the setup token).
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	Close() error
}

// Stats are live figures for metrics and the dashboard.
type Stats struct {
	OpenConversations int
	OutboxDepth       int
	OutboxFailed      int
}

// QueueStats are the figures of the supervisor view. Open work is every
// conversation that is new, open or pending; snoozed and resolved ones are
// not counted.
type QueueStats struct {
	Unassigned QueueFigure `json:"unassigned"` // open work nobody has taken
	Teams      []TeamQueue `json:"teams"`      // every team, by name; its open work, assigned or not
	Agents     []AgentLoad `json:"agents"`     // every enabled agent, by name
	Total      QueueFigure `json:"total"`      // all open work
}

// QueueFigure counts open conversations and those whose customer waits for
// an answer.
type QueueFigure struct {
	Open          int        `json:"open"`
	Waiting       int        `json:"waiting"`                  // open, with waiting_since set
	OldestWaiting *time.Time `json:"oldest_waiting,omitempty"` // the earliest waiting_since; nil when none waits
}

// TeamQueue is one team's open work.
type TeamQueue struct {
	TeamID int64  `json:"team_id"`
	Name   string `json:"name"`
	QueueFigure
}

// AgentLoad is how much open work an agent holds against their capacity.
type AgentLoad struct {
	AgentID  int64    `json:"agent_id"`
	Name     string   `json:"name"`
	Presence Presence `json:"presence"`
	Capacity int      `json:"capacity"`
	Open     int      `json:"open"` // open conversations assigned to them
}

// UnknownIDsError names the ids of a batch that do not exist.
type UnknownIDsError struct {
	What string // e.g. "conversation"
	IDs  []int64
}

func (e *UnknownIDsError) Error() string {
	return fmt.Sprintf("unknown %s ids %v", e.What, e.IDs)
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *UnknownIDsError) Unwrap() error { return ErrNotFound }
