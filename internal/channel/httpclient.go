package channel

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/outbox"
)

// HTTPClient returns a copy of client (nil: one with a 20-second timeout)
// that never follows a redirect of a POST, and at most five of a GET. A
// redirected POST turns into a GET that can still answer 2xx: a reply
// would look sent while nothing was posted.
func HTTPClient(client *http.Client) *http.Client {
	c := http.Client{Timeout: 20 * time.Second}
	if client != nil {
		c = *client
	}
	inner := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].Method != http.MethodGet || len(via) >= 5 {
			return http.ErrUseLastResponse
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &c
}

// Attempt follows one request to a platform without idempotency keys (the
// Send API, the Bot API, X Direct Messages), so that its failure can be
// judged: if no connection was ever handed to the request, nothing left
// and a retry is safe; once one was, the platform may have the reply.
// The zero value is ready; use one Attempt per request.
type Attempt struct{ conn atomic.Bool }

// Trace returns ctx set up so that the Attempt sees the request get its
// connection (a new one after DNS, TCP and TLS, or a kept-alive one).
func (a *Attempt) Trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { a.conn.Store(true) },
	})
}

// Failed is what a send returns when the platform gave no answer: err
// itself (temporary: the outbox tries again) when the request never had a
// connection, otherwise a permanent failure telling the agent to look,
// since the reply may have arrived and sending it again could post it
// twice.
func (a *Attempt) Failed(err error, platform string) error {
	if !a.conn.Load() {
		return err
	}
	return MaybeSent(err, platform)
}

// MaybeSent is the permanent failure of a reply that may have reached
// platform: the agent is told to look before sending it again.
func MaybeSent(err error, platform string) error {
	return &outbox.Error{Permanent: true, Err: err,
		Body: platform + " did not answer, so the reply may or may not have arrived. Check the conversation on " + platform + " before sending it again."}
}
