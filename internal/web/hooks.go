package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// maxHookBody bounds one platform delivery: Meta batches up to 1,000
// changes in one request.
const maxHookBody = 4 << 20

// hookChannel finds the enabled channel a platform calls and its adapter.
func (s *Server) hookChannel(r *http.Request) (store.Channel, channel.Adapter, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Channel{}, channel.Adapter{}, err
	}
	ch, err := s.pipeline.Channel(r.Context(), id) // cached: every webhook needs it
	if errors.Is(err, store.ErrNotFound) || (err == nil && ch.Disabled) {
		return ch, channel.Adapter{}, errorf(http.StatusNotFound, "channel %d does not exist or is disabled", id)
	}
	if err != nil {
		return ch, channel.Adapter{}, err
	}
	ad := s.adapters.Get(ch.Kind)
	if ad.Webhook == nil {
		return ch, ad, errorf(http.StatusNotFound, "%s channels do not receive webhooks", ch.Kind)
	}
	return ch, ad, nil
}

// answerChallenge answers the GET a platform sends to check a callback URL
// before it sends events there (Meta's hub.challenge, X's CRC).
func (s *Server) answerChallenge(w http.ResponseWriter, r *http.Request) error {
	ch, ad, err := s.hookChannel(r)
	if err != nil {
		return err
	}
	c, ok := ad.Webhook.(channel.Challenger)
	if !ok {
		return errorf(http.StatusMethodNotAllowed, "%s webhooks are not verified with a GET; POST events here", ch.Kind)
	}
	ctype, body, err := c.Challenge(ch, r.URL.Query())
	if err != nil {
		return hookError(err)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(body)
	return err
}

// receiveHook takes a platform's delivery: signature first, on the raw
// bytes, then the payload, then the store. It answers 2xx only once every
// message in it is committed, so the platform's retry covers any failure.
func (s *Server) receiveHook(w http.ResponseWriter, r *http.Request) error {
	ch, ad, err := s.hookChannel(r)
	if err != nil {
		return err
	}
	if hv, ok := ad.Webhook.(channel.HeaderVerifier); ok {
		if err := hv.VerifyHeader(ch, r.Header); err != nil {
			return hookError(err) // before a byte of the body is read
		}
	}
	if !s.admit() {
		return ingest.ErrBusy // before the body is read: shedding must be cheap
	}
	defer s.ingesting.Add(-1)
	body, err := s.readUnverified(w, r)
	if err != nil {
		return err
	}
	if err := ad.Webhook.Verify(ch, r.Header, body); err != nil {
		return hookError(err)
	}
	batch, err := ad.Webhook.Parse(ch, body)
	if err != nil {
		return hookError(err)
	}
	receipt, err := s.pipeline.Receive(r.Context(), ch, ad, batch)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "not stored; send it again", Cause: err, RetryAfter: ingest.BusyRetry}
	}
	return writeJSON(w, http.StatusOK, receipt)
}

// maxIngesting bounds the inbound deliveries (webhooks and API channel
// messages) one instance works on at once. Past it a sender is answered
// 503 with Retry-After at once, so that those accepted are acknowledged
// in tens of milliseconds instead of everyone waiting longer and longer:
// at ~10,000 messages a second, 512 in hand is about 50 ms of work.
const maxIngesting = 512

// admit takes a place among the deliveries in hand, if there is one and
// the commit queue is not too deep; the caller gives it back with
// s.ingesting.Add(-1).
func (s *Server) admit() bool {
	if s.pipeline.Busy() {
		return false
	}
	if s.ingesting.Add(1) > s.maxIngesting {
		s.ingesting.Add(-1)
		return false
	}
	return true
}

// unverifiedReads bounds how many webhook bodies are read before their
// signature is checked, and so the memory forged deliveries can take:
// 32 × maxHookBody = 128 MB at most. One address holds at most
// readsPerSource of them, and each read must finish within readTime: a
// sender that trickles its body (16 slow connections once stopped every
// channel's webhooks) loses its place instead of keeping it.
const (
	unverifiedReads = 32
	readsPerSource  = 4
	readTime        = 5 * time.Second
)

// readUnverified reads a webhook's body once one of the unverifiedReads
// places is free. A delivery that waits longer than a second for one, or
// whose address already holds readsPerSource, is answered 503 with
// Retry-After: platforms send it again.
func (s *Server) readUnverified(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	busy := &Error{Status: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second, Msg: "too many deliveries at once; send it again"}
	source := s.clientIP(r)
	s.readersMu.Lock()
	if s.readers[source] >= readsPerSource {
		s.readersMu.Unlock()
		return nil, busy
	}
	s.readers[source]++
	s.readersMu.Unlock()
	defer func() {
		s.readersMu.Lock()
		if s.readers[source]--; s.readers[source] <= 0 {
			delete(s.readers, source)
		}
		s.readersMu.Unlock()
	}()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case s.hookReads <- struct{}{}:
	case <-t.C:
		return nil, busy
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-s.hookReads }()
	// Best effort: a ResponseWriter that cannot set deadlines (a test's
	// recorder) reads as before.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(readTime))
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
}

// hookError turns an adapter's refusal into the status platforms expect.
func hookError(err error) error {
	switch {
	case errors.Is(err, channel.ErrUnsigned):
		return &Error{Status: http.StatusUnauthorized, Msg: err.Error()}
	case errors.Is(err, channel.ErrBadSignature):
		return &Error{Status: http.StatusForbidden, Msg: err.Error()}
	case errors.Is(err, channel.ErrPayload):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	return err
}
