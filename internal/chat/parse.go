package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a visitor may send.
const (
	MaxRequestBytes = 16 << 10 // one request body
	MaxTextChars    = 4000     // one message, in characters
	MaxNameChars    = 100
	MaxEmailBytes   = 254 // RFC 5321 path limit
	MaxClientIDLen  = 64
	MaxPageURLBytes = 2000
)

// Post is a visitor's message as the widget posts it.
type Post struct {
	// ID is the widget's id for the message, random per message and the
	// same on every retry: a retried POST is stored once.
	ID    string `json:"id"`
	Text  string `json:"text"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Page is the web page the visitor writes from, for the link in mails.
	Page string `json:"page,omitempty"`
}

// Profile is what a visitor tells about themselves.
type Profile struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Page  string `json:"page,omitempty"`
}

// SessionStart is the body of POST /chat/{id}/session; every field is optional.
type SessionStart struct {
	Page string `json:"page,omitempty"` // the page the widget is on, for the link in mails
	Lang string `json:"lang,omitempty"`
}

// ErrInput matches every refused request body: errors.Is(err, ErrInput)
// holds for each *InputError.
var ErrInput = errors.New("invalid input")

// InputError is a visitor's request body refused. Reason says why, in
// words a visitor can act on; it is what the widget shows.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return ErrInput.Error() + ": " + e.Reason }

// Is reports whether target is ErrInput.
func (e *InputError) Is(target error) bool { return target == ErrInput }

func bad(format string, a ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, a...)}
}

// decode reads exactly one JSON object of the expected shape.
func decode(body []byte, v any) error {
	if len(body) > MaxRequestBytes {
		return bad("request body is %d bytes; the limit is %d", len(body), MaxRequestBytes)
	}
	if !utf8.Valid(body) {
		return bad("request body is not valid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return bad("field %q must be a %s", te.Field, te.Type)
		case errors.Is(err, io.EOF):
			return bad("request body is empty; send a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return bad("%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return bad("request body is not a JSON object: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := d.Token(); err != io.EOF {
		return bad("request body holds more than one JSON value")
	}
	return nil
}

// ParsePost decodes and checks a message post. Errors wrap ErrInput.
func ParsePost(body []byte) (Post, error) {
	var p Post
	if err := decode(body, &p); err != nil {
		return Post{}, err
	}
	if err := checkClientID(p.ID); err != nil {
		return Post{}, err
	}
	p.Text = strings.TrimSpace(strings.ReplaceAll(p.Text, "\r\n", "\n"))
	if err := checkText("text", p.Text, MaxTextChars, true); err != nil {
		return Post{}, err
	}
	if p.Text == "" {
		return Post{}, bad("text is empty: write a message")
	}
	var err error
	if p.Name, p.Email, err = checkProfile(p.Name, p.Email); err != nil {
		return Post{}, err
	}
	p.Page = cleanPage(p.Page)
	return p, nil
}

// ParseProfile decodes and checks a profile. Errors wrap ErrInput.
func ParseProfile(body []byte) (Profile, error) {
	var p Profile
	if err := decode(body, &p); err != nil {
		return Profile{}, err
	}
	var err error
	p.Name, p.Email, err = checkProfile(p.Name, p.Email)
	p.Page = cleanPage(p.Page)
	return p, err
}

// parseSession decodes a session start; an empty body is fine.
func parseSession(body []byte) (SessionStart, error) {
	var s SessionStart
	if len(bytes.TrimSpace(body)) == 0 {
		return s, nil
	}
	if err := decode(body, &s); err != nil {
		return s, err
	}
	s.Page = cleanPage(s.Page)
	if len(s.Lang) > 16 {
		s.Lang = ""
	}
	return s, nil
}

// cleanPage keeps a plain http(s) address without credentials or
// fragment; anything else is dropped, since it is only a hint for mails.
func cleanPage(page string) string {
	if page == "" || len(page) > MaxPageURLBytes {
		return ""
	}
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.User = nil
	u.Fragment = ""
	return u.String()
}

func checkClientID(id string) error {
	if id == "" {
		return bad("id is required: a random id the widget makes per message")
	}
	if len(id) > MaxClientIDLen {
		return bad("id is %d characters; the limit is %d", len(id), MaxClientIDLen)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return bad("id may hold only letters, digits, - and _")
		}
	}
	return nil
}

// checkText refuses NULs, other control characters (newlines and tabs only
// where multiline) and text over max characters.
func checkText(field, s string, max int, multiline bool) error {
	n := 0
	for _, c := range s {
		n++
		if c == 0 || (unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t'))) {
			return bad("%s contains a control character", field)
		}
	}
	if n > max {
		return bad("%s is %d characters; the limit is %d", field, n, max)
	}
	return nil
}

func checkProfile(name, email string) (string, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, MaxNameChars, false); err != nil {
		return "", "", err
	}
	email = strings.TrimSpace(email)
	if email != "" {
		if len(email) > MaxEmailBytes {
			return "", "", bad("email is %d bytes; the limit is %d", len(email), MaxEmailBytes)
		}
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
			return "", "", bad("email %q is not an e-mail address", shortText(email, 60))
		}
	}
	return name, email, nil
}
