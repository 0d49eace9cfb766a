package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// maxBody bounds every JSON request body; the message text limit is lower.
const maxBody = 256 << 10

// Error is a failure with the status and the message safe to show the
// client; Cause is logged, never sent.
type Error struct {
	Status int
	Msg    string
	Cause  error
	// RetryAfter, for 429 and 503, says when to ask again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Msg + ": " + e.Cause.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Cause }

func errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// handlerFunc is how every handler looks: it returns an error instead of
// answering it, and handle turns that into one response and one log line.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		err := h(sw, r)
		if err == nil {
			return
		}
		status, msg := s.classify(r, err)
		if !s.logFailure(r, sw, "request failed", status, err) {
			return
		}
		retryAfter(w, err)
		writeProblem(w, status, msg)
	}
}

// logFailure logs a failed request once, at the level it deserves, and
// says whether it can still be answered. A client that hung up or timed
// out is no server error (an Info line, and no answer: nobody listens);
// a failure after the answer began (a broken pipe while writing) is
// logged and not answered twice.
func (s *Server) logFailure(r *http.Request, w *startedWriter, what string, status int, err error) bool {
	gone := r.Context().Err() != nil
	level := slog.LevelInfo
	switch {
	case gone || w.started:
		s.log.Info(what+" after the client left or the answer began", "method", r.Method, "path", r.URL.Path, "client_gone", gone, "err", err)
		return false
	case status >= 500:
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, what, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	return true
}

// startedWriter notes whether the answer has begun.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (event
// streams flush and clear their deadlines through it).
func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// classify maps an error to a status and a message the client may see,
// in the reader's language where the catalogue has it.
func (s *Server) classify(r *http.Request, err error) (int, string) {
	var we *Error
	var de *desk.Error
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &we):
		return we.Status, we.Msg
	case errors.As(err, &de):
		return deskStatus(de), s.explain(r, de)
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, "the request did not arrive in time"
	case errors.Is(err, ingest.ErrBusy):
		return http.StatusServiceUnavailable, "too many messages at once; send it again in a second"
	case errors.Is(err, ingest.ErrUnknownChannel):
		return http.StatusNotFound, "unknown or disabled channel"
	case errors.Is(err, ingest.ErrInvalid):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, err.Error()
	}
	return http.StatusInternalServerError, "internal error; the server log has the details"
}

// deskStatus is the HTTP status of a desk's refusal.
func deskStatus(e *desk.Error) int {
	switch {
	case errors.Is(e, desk.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(e, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(e, store.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// explain says a desk's refusal in the reader's language when it names a
// catalogue message, else in the desk's English.
func (s *Server) explain(r *http.Request, e *desk.Error) string {
	if e.Key == "" || !s.ui.cat.Knows(e.Key) {
		return e.Msg
	}
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		if term, ok := a.(desk.Term); ok {
			a = s.t(r, string(term))
		}
		args[i] = a
	}
	return s.t(r, e.Key, args...)
}

// retryAfter sets Retry-After when err says when to ask again.
func retryAfter(w http.ResponseWriter, err error) {
	var we *Error
	var after time.Duration
	switch {
	case errors.As(err, &we) && we.RetryAfter > 0:
		after = we.RetryAfter
	case errors.Is(err, ingest.ErrBusy):
		after = ingest.BusyRetry
	default:
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: bounded size, one object, no unknown
// fields, so a typo in a field name is an error rather than silently ignored.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeLimit(w, r, v, maxBody)
}

// decodeLimit is decode for the few bodies that may carry files.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "send JSON with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	// No Content-Type is as wrong as text/plain (a form post from another
	// site sends either; JSON says what it is), once there is a body.
	if ct == "" && len(bytes.TrimSpace(body)) > 0 {
		return errorf(http.StatusUnsupportedMediaType, "send JSON with Content-Type: application/json")
	}
	// encoding/json would quietly turn bad bytes into U+FFFD; we refuse them.
	if !utf8.Valid(body) {
		return errorf(http.StatusBadRequest, "request body is not valid UTF-8")
	}
	if k, twice := duplicateKey(body); twice {
		return errorf(http.StatusBadRequest, "field %q is given twice; give each field once", channel.Clip(k, 100))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return errorf(http.StatusBadRequest, "request body is empty; send a JSON object")
		case errors.As(err, &syn):
			return errorf(http.StatusBadRequest, "malformed JSON at byte %d", syn.Offset)
		case errors.As(err, &typ) && typ.Field == "":
			// The body itself has the wrong type (an array, a string); the
			// Go type name would mean nothing to the client.
			return errorf(http.StatusBadRequest, "request body must be a JSON object, not %s", typ.Value)
		case errors.As(err, &typ):
			return errorf(http.StatusBadRequest, "field %q must be %s, not %s", typ.Field, jsonType(typ.Type), typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errorf(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errorf(http.StatusBadRequest, "malformed JSON: %v", err)
	}
	// dec.More alone would let a stray "]" or "}" after the object pass.
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "request body holds more than one JSON value")
	}
	return nil
}

// jsonType names a Go type as JSON does, for error messages: the client
// knows nothing of our struct names.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "of another type"
}

// pathID reads a numeric path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, "%s %q is not a valid id", name, r.PathValue(name))
	}
	return id, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "query parameter %s must be a number", name)
	}
	return n, nil
}
