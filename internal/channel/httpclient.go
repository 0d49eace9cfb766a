package channel

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
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

// NotSent reports whether a failed HTTP request surely never reached the
// server: the name did not resolve, the connection was not made, or TLS
// failed before a byte of the request was written.
func NotSent(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	switch {
	case errors.As(err, &dns), errors.As(err, &cert), errors.As(err, &header):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	return false
}

// MaybeSent is what a send to a platform without idempotency keys (the
// Send API, the Bot API, X Direct Messages) returns when the platform did
// not answer: a retry when the request never left, otherwise a permanent
// failure that tells the agent to look, since the reply may have arrived
// and sending it again could post it twice.
func MaybeSent(err error, platform string) error {
	if NotSent(err) {
		return err // temporary: the outbox tries again
	}
	return &outbox.Error{Permanent: true, Err: err,
		Body: platform + " did not answer, so the reply may or may not have arrived. Check the conversation on " + platform + " before sending it again."}
}
