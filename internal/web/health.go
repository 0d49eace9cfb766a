package web

import (
	"errors"
	"net/http"

	"github.com/webcare/webcare/internal/store"
)

// health says the process is alive.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness says whether this instance can take traffic: its store answers.
func (s *Server) readiness(w http.ResponseWriter, r *http.Request) error {
	if err := s.ready(); err != nil {
		s.log.Warn("not ready", "err", err)
		return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
	}
	// A one-row lookup: cheap, and it fails when the database does.
	if _, err := s.store.Setting(r.Context(), "ready-probe"); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("not ready: store", "err", err)
		return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store does not answer"})
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
