package web

import (
	"bytes"
	"encoding/json"
)

// duplicateKey finds a name given twice in one JSON object of body, at any
// depth, ignoring case; ok is false when there is none. encoding/json keeps the last of two and says
// nothing, so one body could say one thing to one reader and another to
// the next. It runs on every ingested message, so it is one pass over the
// bytes without decoding; a body that is not JSON may yield anything, and
// decoding it says what is wrong.
func duplicateKey(b []byte) (name string, ok bool) {
	var stack []*names // nil for an array
	wantKey := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, &names{})
			wantKey = true
		case '[':
			stack = append(stack, nil)
			wantKey = false
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			wantKey = false
		case ',':
			wantKey = len(stack) > 0 && stack[len(stack)-1] != nil
		case '"':
			start, escaped := i, false
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					escaped = true
					i++
				}
			}
			if i >= len(b) {
				return "", false
			}
			if !wantKey {
				continue
			}
			key := b[start+1 : i]
			if escaped { // "\u0061" and "a" are one name
				var s string
				if json.Unmarshal(b[start:i+1], &s) != nil {
					return "", false
				}
				key = []byte(s)
			}
			if stack[len(stack)-1].add(key) {
				return string(key), true
			}
			wantKey = false
		}
	}
	return "", false
}

// names are the names seen in one object: a short list while it is
// small, a map once it is not, so that a hostile object of thousands of
// names costs no more than a pass.
type names struct {
	few  [][]byte
	many map[string]struct{}
}

// add records key and reports whether it was there already, ignoring
// case as encoding/json does when it matches names to fields ("Private"
// fills Private as "private" does).
func (n *names) add(key []byte) bool {
	if n.many != nil {
		folded := string(bytes.ToLower(key))
		if _, ok := n.many[folded]; ok {
			return true
		}
		n.many[folded] = struct{}{}
		return false
	}
	for _, k := range n.few {
		if bytes.EqualFold(k, key) {
			return true
		}
	}
	n.few = append(n.few, key)
	if len(n.few) > 16 {
		n.many = make(map[string]struct{}, 64)
		for _, k := range n.few {
			n.many[string(bytes.ToLower(k))] = struct{}{}
		}
		n.few = nil
	}
	return false
}
