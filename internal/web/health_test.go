package web_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

func TestHealthAndUnknownPaths(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.runParallel(t, []scenario{
		{name: "healthz", method: "GET", url: "/healthz", status: http.StatusOK, contains: []string{`"status":"ok"`}},
		{name: "readyz", method: "GET", url: "/readyz", status: http.StatusOK, contains: []string{`"status":"ready"`}},
		{name: "metrics", method: "GET", url: "/metrics", status: http.StatusOK, contains: []string{"webcare_up 1"}},
		{name: "unknown API path", method: "GET", url: "/api/v1/nope", status: http.StatusNotFound, contains: []string{"no such endpoint", "/api/v1/nope"}},
		{name: "unknown API path with a token", method: "GET", url: "/api/v1/nope", token: ts.Tokens[store.RoleAdmin], status: http.StatusNotFound},
		{name: "unknown method on a known path", method: "DELETE", url: "/api/v1/conversations", token: ts.Tokens[store.RoleAdmin], status: http.StatusNotFound,
			contains: []string{"DELETE"}},
		{name: "API root", method: "GET", url: "/api/", status: http.StatusNotFound},
	})
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(o *web.Options) {
		o.Ready = func() error { return errors.New("draining for shutdown") }
		o.Metrics = nil
	})
	ts.runParallel(t, []scenario{
		{name: "readyz says why", method: "GET", url: "/readyz", status: http.StatusServiceUnavailable, notProblem: true,
			contains: []string{`"status":"unavailable"`, "draining for shutdown"}},
		{name: "healthz is still fine", method: "GET", url: "/healthz", status: http.StatusOK},
		{name: "no metrics handler, no metrics route", method: "GET", url: "/metrics", status: http.StatusNotFound, notProblem: true},
	})
}
