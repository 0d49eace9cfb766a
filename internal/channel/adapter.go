package channel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Message is a customer's message as an adapter hands it to ingest: the
// one shape every platform's payload is turned into.
type Message struct {
	ChannelID  int64
	PlatformID string // the platform's id for this message; required, unique per channel
	From       Author
	Text       string
	ReplyTo    string // platform id of the message this answers
	Private    bool   // a DM, mail or chat rather than a public post
	Language   string // if the platform or sender knows it
	Subject    string
	SentAt     time.Time // platform time; zero: now
	Files      []File    // what came with it: photos, documents
	// Account is the platform account the message was addressed to (a
	// page id, a phone number id) when one webhook serves several
	// channels; empty means the channel the webhook came in on.
	Account string
}

// File is a file as a platform hands it over. Adapters whose payloads only
// point at media set Ref (a URL or a media id) and leave Data empty; the
// receiving side fetches it through the adapter's Fetcher before ingest.
type File struct {
	Name string
	Data []byte
	Ref  string
}

// Author is who wrote a message, as the platform names them.
type Author struct {
	Platform   string // identity namespace; empty: the channel's kind
	ExternalID string // required: the platform's stable user id
	Handle     string
	Name       string
}

// Status is news from the platform about a reply webcare sent.
type Status struct {
	PlatformID string         // the id Send returned for the reply
	State      store.Delivery // store.Delivered, store.Read or store.Failed
	Error      string         // for Failed: why, in plain words
	At         time.Time
	Account    string // as Message.Account
}

// Batch is what one webhook delivery or one poll carries. Platforms batch
// several events into one request.
type Batch struct {
	Messages []Message
	Statuses []Status
	// Skipped says why events of a signed delivery could not be read.
	// The rest of the delivery is kept: refusing all of it would make
	// the platform send the same unreadable event again and again, and
	// lose the customers' messages around it.
	Skipped []string
}

// Skip records an unreadable event and why.
func (b *Batch) Skip(format string, args ...any) {
	b.Skipped = append(b.Skipped, fmt.Sprintf(format, args...))
}

// Errors a Webhook returns; the receiving side answers them with 401, 403
// and 400 and stores nothing.
var (
	ErrUnsigned     = errors.New("signature missing")      // 401
	ErrBadSignature = errors.New("signature invalid")      // 403
	ErrPayload      = errors.New("payload not understood") // 400
)

// Webhook is the receiving side of a platform that pushes to webcare.
// Verify runs on the raw bytes before anything is parsed; Parse runs only
// on verified bodies. Both must be safe for concurrent use and must not do
// I/O: they run inside the platform's request.
type Webhook interface {
	// Verify checks that body came from the platform for this channel.
	// It returns an error wrapping ErrUnsigned or ErrBadSignature.
	Verify(ch store.Channel, h http.Header, body []byte) error
	// Parse turns a verified body into messages and statuses, skipping
	// webcare's own echoes and events it has no use for. A body it cannot
	// read gives an error wrapping ErrPayload.
	Parse(ch store.Channel, body []byte) (Batch, error)
}

// HeaderVerifier is a Webhook that can refuse a delivery from its headers
// alone, before its body is read: a secret token sent as a header
// (Telegram), or a signature header that is missing or malformed. A
// forged delivery then costs no memory. Verify still runs on what passes.
type HeaderVerifier interface {
	VerifyHeader(ch store.Channel, h http.Header) error
}

// Challenger is a Webhook whose platform checks the URL with a GET first
// (Meta's hub.challenge, X's CRC). It returns the content type and body to
// answer with, or an error wrapping ErrBadSignature when the request does
// not carry the channel's secret.
type Challenger interface {
	Challenge(ch store.Channel, q url.Values) (contentType string, body []byte, err error)
}

// Fetcher downloads media a payload only pointed at (File.Ref).
type Fetcher interface {
	Fetch(ctx context.Context, ch store.Channel, ref string) (name string, data []byte, err error)
}

// Poller fetches new messages from a platform that does not push
// (Mastodon notifications, Bluesky, an IMAP mailbox). cursor is what the
// previous call returned ("" the first time); the new cursor is stored
// only after every message of the batch is committed, so a crash means a
// re-fetch, which ingest recognises as duplicates.
type Poller interface {
	Poll(ctx context.Context, ch store.Channel, cursor string) (b Batch, next string, err error)
}

// Watcher keeps a connection open to a platform that can say when news
// arrives (IMAP IDLE), so that its Poller is asked at once instead of at
// its next turn. Polling still runs: a watch only makes it sooner.
type Watcher interface {
	// Watch calls wake once as soon as it is watching (for news that came
	// before), then whenever there may be news, until ctx ends or the
	// connection fails. It returns ErrNoWatch when the channel cannot be
	// watched (no server to watch, or the server has no IDLE), so that
	// nobody tries again until its settings change; any other return
	// means try again, after a pause if it was an error.
	Watch(ctx context.Context, ch store.Channel, wake func()) error
}

// ErrNoWatch is returned by a Watcher for a channel it cannot watch.
var ErrNoWatch = errors.New("the platform cannot be watched")

// Checker is the admin's "test connection": it calls the platform with the
// channel's settings and says who webcare is connected as.
type Checker interface {
	Check(ctx context.Context, ch store.Channel) (string, error)
}

// Field is a setting an admin gives when connecting a channel.
type Field struct {
	Key      string // in store.Channel.Settings
	Label    string
	Help     string // where to find it in the platform's console
	Secret   bool   // never shown again after saving
	Required bool
	// Generated fields are made by webcare (a verify token, a webhook
	// secret) for the admin to paste into the platform's console.
	Generated bool
	Default   string
}

// Adapter is everything webcare does with one platform. Nil parts are
// things the platform does not have.
type Adapter struct {
	Kind    string
	Fields  []Field
	Webhook Webhook       // the platform pushes to /hooks/{channel id}
	Poller  Poller        // webcare fetches every PollEvery
	Watcher Watcher       // tells the Poller to fetch now
	Sender  outbox.Sender // replies and direct messages
	Checker Checker
	Fetcher Fetcher
	// Connect registers webcare's webhook URL with the platform where the
	// platform's API does that (Telegram's setWebhook), and returns
	// settings it learned on the way (the bot's id) for the channel to
	// keep; nil where the admin pastes the URL into the platform's console.
	Connect func(ctx context.Context, ch store.Channel, hookURL string) (learned map[string]string, err error)

	PollEvery time.Duration
	// Rate is how many sends per second one account may make; the outbox
	// keeps below it. 0: no limit worth keeping.
	Rate float64
	// Window is how long after the customer's last message a private
	// conversation may be answered freely (Meta's 24 hours); 0: always.
	Window time.Duration
	// TextLimit is the longest reply the platform takes, as Length
	// counts it: the platform's documented limit for one message or post;
	// 0 means no limit worth showing.
	TextLimit int
	// Length measures a reply the way the platform counts it against
	// TextLimit (X weighs CJK and emoji double); nil counts Unicode code
	// points.
	Length func(text string) int
	// Files says which files a reply may carry: the platform's documented
	// media limits, rounded down to what every account gets, and the
	// types a browser can show safely. The zero rule allows none.
	Files FileRule
	// WindowNote says, in plain words, what is still possible once the
	// window has closed; the composer shows it.
	WindowNote string
}

// Field returns the adapter's field with key k.
func (a Adapter) Field(k string) (Field, bool) {
	for _, f := range a.Fields {
		if f.Key == k {
			return f, true
		}
	}
	return Field{}, false
}

// Fake stands in for a platform in tests and the demo: an API server that
// webcare's adapter talks to, and customers who write through the platform.
type Fake interface {
	// Settings point a channel at this fake: API base URL, secrets, ids.
	Settings() map[string]string
	// Post makes the platform deliver a customer's message to webcare the
	// way the real one would (a signed webhook to baseURL + "/hooks/{id}",
	// or a notification waiting to be polled).
	Post(ctx context.Context, baseURL string, ch store.Channel, m Message) error
	Close()
}
