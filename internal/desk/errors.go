package desk

import (
	"errors"
	"fmt"

	"github.com/webcare/webcare/internal/store"
)

// The kinds of refusal; an *Error wraps one of them, and store errors
// (store.ErrNotFound, store.ErrConflict) pass through as they are.
var (
	// ErrInvalid: the values given break a rule; the message says which.
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the actor's role does not allow it.
	ErrForbidden = errors.New("forbidden")
)

// Error is a refusal with a message safe to show the person who asked.
// Key, when set, names the message in the UI's catalogue (Args fill it;
// an argument of type Term is itself a catalogue key), so that the UI can
// say it in the reader's language; Msg is the English.
type Error struct {
	Kind error // ErrInvalid, ErrForbidden, store.ErrNotFound or store.ErrConflict
	Msg  string
	Key  string
	Args []any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, e.Kind) true.
func (e *Error) Unwrap() error { return e.Kind }

// Term is an argument of a translated message that is itself a catalogue
// key, such as the name of a platform ("kind.x").
type Term string

func invalid(format string, a ...any) *Error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf(format, a...)}
}

func forbidden(format string, a ...any) *Error {
	return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) *Error {
	return &Error{Kind: store.ErrNotFound, Msg: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) *Error {
	return &Error{Kind: store.ErrConflict, Msg: fmt.Sprintf(format, a...)}
}

// said is an invalid refusal the UI can translate: key and args in the
// catalogue, english for everyone else.
func said(english, key string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Msg: english, Key: key, Args: args}
}
