package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/webcare/webcare/internal/bus"
)

// maxStreamLife ends a stream now and then, so that a client behind a proxy
// with a hidden timeout reconnects in our time rather than the proxy's.
const maxStreamLife = 30 * time.Minute

// streamEvents is the server-sent events stream of committed changes. A
// client reconnecting with Last-Event-ID gets what it missed, or a "reset"
// event telling it to reload when that is no longer kept.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	var after uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "Last-Event-ID must be a number")
		}
		after = n
	}
	events, cancel, ok := s.bus.Subscribe(r.Context(), after)
	defer cancel()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout must not cut a stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\n")
	if !ok {
		fmt.Fprintf(w, "event: reset\ndata: {}\n\n")
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	s.streamsMu.Lock()
	s.streams++
	s.streamsMu.Unlock()
	defer func() {
		s.streamsMu.Lock()
		s.streams--
		s.streamsMu.Unlock()
	}()

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	end := time.NewTimer(maxStreamLife)
	defer end.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-end.C:
			return nil
		case <-s.closing:
			return nil
		case <-beat.C:
			fmt.Fprintf(w, ": keep-alive\n\n")
		case e, open := <-events:
			if !open {
				// We fell behind; the client reconnects with Last-Event-ID.
				return nil
			}
			if err := writeEvent(w, e); err != nil {
				return nil
			}
			// In a surge events come in bursts: write what is already
			// waiting, then flush once.
			for drained := false; !drained; {
				select {
				case e, open := <-events:
					if !open {
						rc.Flush()
						return nil
					}
					if err := writeEvent(w, e); err != nil {
						return nil
					}
				default:
					drained = true
				}
			}
		}
		if err := rc.Flush(); err != nil {
			return nil // the client went away
		}
	}
}

func writeEvent(w http.ResponseWriter, e bus.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, data)
	return err
}

// Streams reports how many event streams are open.
func (s *Server) Streams() int {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return s.streams
}
