package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// Delivery is one reply on its way to a platform.
type Delivery struct {
	Key          string // the outbox entry's idempotency key; the same on every attempt
	Channel      store.Channel
	Conversation store.Conversation
	Message      store.Message
	To           store.Identity     // the customer's identity on the channel's platform
	Files        []store.Attachment // the reply's files, bytes included
	// LastInbound is when the customer last wrote in this conversation
	// (zero: never), for platforms that only allow free replies within a
	// window after it.
	LastInbound time.Time
	// Origin is, for a private conversation moved from a public one, the
	// platform id of the customer's last public message there: a platform
	// that offers "private replies" to a comment answers that comment
	// privately when the customer has not written in private yet.
	Origin string
	// Thread are the platform ids of the conversation's messages before
	// this reply that have one (the customer's, and replies delivered),
	// oldest first: e-mail's References.
	Thread []string
}

// Sender delivers replies for one kind of channel. It returns the platform's
// id for the sent message. To steer retries it returns an *Error; any other
// error is treated as temporary.
type Sender interface {
	Send(ctx context.Context, d Delivery) (platformID string, err error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, d Delivery) (string, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, d Delivery) (string, error) { return f(ctx, d) }

// Error is a failed send with what the platform said about it.
type Error struct {
	Permanent  bool          // retrying cannot help (bad recipient, message rejected)
	RetryAfter time.Duration // the platform asked to wait this long (429, 503)
	Status     int           // HTTP status, if any
	Body       string        // the platform's answer, shortened
	Err        error
}

func (e *Error) Error() string {
	s := "send failed"
	if e.Status != 0 {
		s = fmt.Sprintf("platform answered %d", e.Status)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
