package x

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A delivery of the Account Activity API is mostly what webcare does not
// read: a tweet object carries dozens of fields of which a handful matter.
// encoding/json validates a body in one pass and walks it again to fill a
// struct, skipping unknown fields byte by byte, which made verify + parse
// of a typical delivery cost several times the 20 µs budget. reader does
// both in one pass: it checks the whole body is JSON (RFC 8259) while
// taking out the fields of activity, and skips the rest with fast scans for
// the end of each string.

// maxDepth bounds nesting, as encoding/json does, so that a hostile body
// cannot exhaust the stack.
const maxDepth = 1000

var errSyntax = errors.New("invalid JSON")

type reader struct {
	b     []byte
	i     int
	depth int
	err   error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format+" at byte %d", append(args, r.i)...)
	}
	r.i = len(r.b)
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next non-space byte, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// null consumes a null if one comes next.
func (r *reader) null() bool {
	if r.peek() == 'n' {
		r.literal("null")
		return true
	}
	return false
}

func (r *reader) literal(lit string) {
	if !bytes.HasPrefix(r.b[r.i:], []byte(lit)) {
		r.fail("invalid literal")
		return
	}
	r.i += len(lit)
}

// object calls field for each member of an object; field must consume the
// value. A null counts as an empty object; anything else is an error
// naming what was expected.
func (r *reader) object(what string, field func(key []byte)) {
	if r.null() {
		return
	}
	if r.peek() != '{' {
		r.fail("%s is not an object", what)
		return
	}
	r.i++
	if r.depth++; r.depth > maxDepth {
		r.fail("nested too deeply")
		return
	}
	if r.peek() == '}' {
		r.i++
		r.depth--
		return
	}
	for r.err == nil {
		if r.peek() != '"' {
			r.fail("object key expected")
			return
		}
		key := r.key()
		if r.peek() != ':' {
			r.fail("':' expected")
			return
		}
		r.i++
		field(key)
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			r.depth--
			return
		default:
			r.fail("',' or '}' expected")
		}
	}
}

// array calls elem for each element; elem must consume it. null counts as
// an empty array.
func (r *reader) array(what string, elem func(i int)) {
	if r.null() {
		return
	}
	if r.peek() != '[' {
		r.fail("%s is not an array", what)
		return
	}
	r.i++
	if r.depth++; r.depth > maxDepth {
		r.fail("nested too deeply")
		return
	}
	if r.peek() == ']' {
		r.i++
		r.depth--
		return
	}
	for n := 0; r.err == nil; n++ {
		elem(n)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			r.depth--
			return
		default:
			r.fail("',' or ']' expected")
		}
	}
}

// key reads an object key. Keys webcare looks for have no escapes, so an
// escaped key is unescaped only to be compared.
func (r *reader) key() []byte {
	raw, escaped := r.rawString()
	if escaped {
		return []byte(unquote(raw))
	}
	return raw
}

// str reads a string value; null reads as "". Any other type is an error.
func (r *reader) str(what string) string {
	if r.null() {
		return ""
	}
	if r.peek() != '"' {
		r.fail("%s is not a string", what)
		return ""
	}
	raw, escaped := r.rawString()
	if escaped {
		return unquote(raw)
	}
	if !utf8.Valid(raw) {
		return string(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
	}
	return string(raw)
}

// rawString consumes a string at r.i (which is '"') and returns its bytes
// between the quotes, validated, and whether it holds escapes.
func (r *reader) rawString() ([]byte, bool) {
	b := r.b
	r.i++
	start, i := r.i, r.i
	escaped := false
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character: most of a delivery is string content.
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			r.fail("unterminated string")
			return nil, false
		}
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			return b[start:i], escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				r.fail("unterminated string")
				return nil, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					r.i = i
					r.fail("invalid \\u escape")
					return nil, false
				}
				i += 6
			default:
				r.i = i
				r.fail("invalid escape")
				return nil, false
			}
		case c < 0x20:
			r.i = i
			r.fail("control character in string")
			return nil, false
		default:
			i++
		}
	}
}

// special8 reports whether any of the eight bytes of x is a quote, a
// backslash or below 0x20 (the exact "has less than" and "has zero byte"
// bit tricks: no false answers for existence).
func special8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (x - lo*0x20) & ^x & hi
	q := x ^ (lo * '"')
	q = (q - lo) & ^q & hi
	bs := x ^ (lo * '\\')
	bs = (bs - lo) & ^bs & hi
	return ctl|q|bs != 0
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// unquote decodes the escapes of a validated JSON string; lone surrogates
// and invalid UTF-8 become U+FFFD.
func unquote(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		j := bytes.IndexByte(raw, '\\')
		if j < 0 {
			j = len(raw)
		}
		if chunk := raw[:j]; utf8.Valid(chunk) {
			out = append(out, chunk...)
		} else {
			out = append(out, bytes.ToValidUTF8(chunk, []byte("\uFFFD"))...)
		}
		raw = raw[j:]
		if len(raw) == 0 {
			break
		}
		switch raw[1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r1 := hex4(raw[2:6])
			raw = raw[6:]
			if utf16.IsSurrogate(r1) {
				if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
					if r := utf16.DecodeRune(r1, hex4(raw[2:6])); r != utf8.RuneError {
						out = utf8.AppendRune(out, r)
						raw = raw[6:]
						continue
					}
				}
				r1 = utf8.RuneError
			}
			out = utf8.AppendRune(out, r1)
			continue
		default: // " \ /
			out = append(out, raw[1])
		}
		raw = raw[2:]
	}
	return string(out)
}

// hex4 reads four hex digits, already validated.
func hex4(b []byte) rune {
	var n rune
	for _, c := range b[:4] {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		n = n<<4 | rune(c)
	}
	return n
}

// skip consumes any value, checking its syntax.
func (r *reader) skip() {
	switch c := r.peek(); {
	case c == '"':
		r.rawString()
	case c == '{':
		r.object("value", func([]byte) { r.skip() })
	case c == '[':
		r.array("value", func(int) { r.skip() })
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		r.number()
	default:
		r.fail("value expected")
	}
}

// number consumes a number as RFC 8259 writes it; its value is never
// needed (ids are read from their string twins).
func (r *reader) number() {
	b, i := r.b, r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		r.fail("invalid number")
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			r.fail("invalid number")
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			r.fail("invalid number")
			return
		}
	}
	r.i = i
}

// parseActivity reads a delivery into a, checking the whole body is one
// JSON value of the expected shape.
func parseActivity(body []byte, a *activity) error {
	r := &reader{b: body}
	if r.null() {
		// encoding/json accepts a bare null too: an empty delivery.
	} else {
		r.object("the delivery", func(k []byte) {
			switch string(k) {
			case "for_user_id":
				a.ForUserID = r.str("for_user_id")
			case "tweet_create_events":
				a.Tweets = a.Tweets[:0]
				r.array("tweet_create_events", func(int) {
					a.Tweets = append(a.Tweets, tweet{})
					r.tweet(&a.Tweets[len(a.Tweets)-1])
				})
			case "direct_message_events":
				a.DMs = a.DMs[:0]
				r.array("direct_message_events", func(int) {
					a.DMs = append(a.DMs, dmEvent{})
					r.dmEvent(&a.DMs[len(a.DMs)-1])
				})
			case "direct_message_mark_read_events":
				a.Reads = a.Reads[:0]
				r.array("direct_message_mark_read_events", func(int) {
					var e readEvent
					r.object("a read event", func(k []byte) {
						switch string(k) {
						case "created_timestamp":
							e.CreatedTimestamp = r.str("created_timestamp")
						case "sender_id":
							e.SenderID = r.str("sender_id")
						case "last_read_event_id":
							e.LastReadEventID = r.str("last_read_event_id")
						default:
							r.skip()
						}
					})
					a.Reads = append(a.Reads, e)
				})
			case "users":
				r.object("users", func(id []byte) {
					var u dmUser
					r.object("a user", func(k []byte) {
						switch string(k) {
						case "name":
							u.Name = r.str("name")
						case "screen_name":
							u.ScreenName = r.str("screen_name")
						default:
							r.skip()
						}
					})
					if a.Users == nil {
						a.Users = make(map[string]dmUser, 2)
					}
					a.Users[string(id)] = u
				})
			default:
				r.skip()
			}
		})
	}
	if r.ws(); r.err == nil && r.i < len(r.b) {
		r.fail("data after the JSON value")
	}
	return r.err
}

func (r *reader) tweet(t *tweet) {
	r.object("a tweet", func(k []byte) {
		switch string(k) {
		case "id_str":
			t.IDStr = r.str("id_str")
		case "text":
			t.Text = r.str("text")
		case "full_text":
			t.FullText = r.str("full_text")
		case "created_at":
			t.CreatedAt = r.str("created_at")
		case "timestamp_ms":
			t.TimestampMS = r.str("timestamp_ms")
		case "lang":
			t.Lang = r.str("lang")
		case "in_reply_to_status_id_str":
			t.ReplyTo = r.str("in_reply_to_status_id_str")
		case "user":
			r.user(&t.User)
		case "retweeted_status":
			if r.null() {
				return
			}
			t.Retweeted = &struct {
				User user `json:"user"`
			}{}
			r.object("retweeted_status", func(k []byte) {
				if string(k) == "user" {
					r.user(&t.Retweeted.User)
					return
				}
				r.skip()
			})
		case "extended_tweet":
			if r.null() {
				return
			}
			t.Extended = &struct {
				FullText         string   `json:"full_text"`
				Entities         entities `json:"entities"`
				ExtendedEntities entities `json:"extended_entities"`
			}{}
			r.object("extended_tweet", func(k []byte) {
				switch string(k) {
				case "full_text":
					t.Extended.FullText = r.str("full_text")
				case "entities":
					r.entities(&t.Extended.Entities)
				case "extended_entities":
					r.entities(&t.Extended.ExtendedEntities)
				default:
					r.skip()
				}
			})
		case "entities":
			r.entities(&t.Entities)
		case "extended_entities":
			r.entities(&t.ExtendedEntities)
		default:
			r.skip()
		}
	})
}

func (r *reader) user(u *user) {
	r.object("user", func(k []byte) {
		switch string(k) {
		case "id_str":
			u.IDStr = r.str("id_str")
		case "screen_name":
			u.ScreenName = r.str("screen_name")
		case "name":
			u.Name = r.str("name")
		default:
			r.skip()
		}
	})
}

func (r *reader) entities(e *entities) {
	r.object("entities", func(k []byte) {
		if string(k) != "media" {
			r.skip()
			return
		}
		e.Media = e.Media[:0]
		r.array("media", func(int) {
			var m media
			r.media(&m)
			e.Media = append(e.Media, m)
		})
	})
}

func (r *reader) media(m *media) {
	r.object("a medium", func(k []byte) {
		switch string(k) {
		case "type":
			m.Type = r.str("type")
		case "media_url_https":
			m.MediaURLHTTPS = r.str("media_url_https")
		case "url":
			m.URL = r.str("url")
		default:
			r.skip()
		}
	})
}

func (r *reader) dmEvent(e *dmEvent) {
	r.object("a direct message event", func(k []byte) {
		switch string(k) {
		case "type":
			e.Type = r.str("type")
		case "id":
			e.ID = r.str("id")
		case "created_timestamp":
			e.CreatedTimestamp = r.str("created_timestamp")
		case "message_create":
			mc := &e.MessageCreate
			r.object("message_create", func(k []byte) {
				switch string(k) {
				case "sender_id":
					mc.SenderID = r.str("sender_id")
				case "target":
					r.object("target", func(k []byte) {
						if string(k) == "recipient_id" {
							mc.Target.RecipientID = r.str("recipient_id")
							return
						}
						r.skip()
					})
				case "message_data":
					md := &mc.MessageData
					r.object("message_data", func(k []byte) {
						switch string(k) {
						case "text":
							md.Text = r.str("text")
						case "attachment":
							if r.null() {
								return
							}
							md.Attachment = &struct {
								Type  string `json:"type"`
								Media media  `json:"media"`
							}{}
							r.object("attachment", func(k []byte) {
								switch string(k) {
								case "type":
									md.Attachment.Type = r.str("type")
								case "media":
									r.media(&md.Attachment.Media)
								default:
									r.skip()
								}
							})
						default:
							r.skip()
						}
					})
				default:
					r.skip()
				}
			})
		default:
			r.skip()
		}
	})
}
