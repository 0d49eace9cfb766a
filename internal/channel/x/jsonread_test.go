package x

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The one-pass reader must fill activity exactly as encoding/json does.
func TestReaderMatchesEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	extra := map[string]string{
		"escapes":    `{"for_user_id":"1","tweet_create_events":[{"id_str":"2","text":"a\"b\\c\/d\b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 x","user":{"id_str":"3"}}]}`,
		"nulls":      `{"for_user_id":null,"tweet_create_events":null,"direct_message_events":[],"users":null}`,
		"numbers":    `{"a":[-0,1.5e+10,-2E-3,0.0,123456789012345678901234567890],"for_user_id":"1"}`,
		"nested":     `{"for_user_id":"1","x":{"y":[{"z":[[],{}]}]},"tweet_create_events":[{"id_str":"2","user":{"id_str":"3"},"extended_tweet":null,"retweeted_status":null}]}`,
		"whitespace": " \n\t{ \"for_user_id\" : \"1\" , \"users\" : { \"3\" : { \"name\" : \"N\" } } } \r\n",
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		extra[f] = string(b)
	}
	for name, body := range extra {
		t.Run(name, func(t *testing.T) {
			var want, got activity
			if err := json.Unmarshal([]byte(body), &want); err != nil {
				t.Fatal(err)
			}
			if err := parseActivity([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			normalize(&got)
			normalize(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestReaderRejectsInvalid(t *testing.T) {
	for _, body := range []string{
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":[1 2]}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":01}`, `{"a":1.}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
		`{"a":"x}`, `{"a":1}x`, `{a:1}`, `{'a':1}`, `{"a":NaN}`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
	} {
		var a activity
		if err := parseActivity([]byte(body), &a); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Add([]byte(`{"a":[-0,1.5e+10,"\ud83d\ude00"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var a activity
		err := parseActivity(body, &a)
		if err == nil && !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

// normalize makes empty slices and maps nil: encoding/json keeps an empty
// array as an empty slice, the reader as nil, and nothing reads the
// difference.
func normalize(a *activity) {
	if len(a.Tweets) == 0 {
		a.Tweets = nil
	}
	if len(a.DMs) == 0 {
		a.DMs = nil
	}
	if len(a.Users) == 0 {
		a.Users = nil
	}
	if len(a.Reads) == 0 {
		a.Reads = nil
	}
	ent := func(e *entities) {
		if len(e.Media) == 0 {
			e.Media = nil
		}
	}
	for i := range a.Tweets {
		ent(&a.Tweets[i].Entities)
		ent(&a.Tweets[i].ExtendedEntities)
		if x := a.Tweets[i].Extended; x != nil {
			ent(&x.Entities)
			ent(&x.ExtendedEntities)
		}
	}
}

// The reader against encoding/json on the same delivery: why the reader
// exists.
func BenchmarkDecode(b *testing.B) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "tweet_mention.json"))
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	body := compact.Bytes()
	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a activity
			if err := parseActivity(body, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a activity
			if err := json.Unmarshal(body, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"a &amp; b":         "a & b",
		"&lt;b&gt;":         "<b>",
		"&amp;lt; typed":    "&lt; typed",
		"a & b &gt":         "a & b &gt",
		"&&amp;&":           "&&&",
		"ééé &amp; 📦 &amp;": "ééé & 📦 &",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSpecial8(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c < 0x20 || c == '"' || c == '\\'
		for pos := range 8 {
			var w [8]byte
			for k := range w {
				w[k] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for k := 7; k >= 0; k-- {
				x = x<<8 | uint64(w[k])
			}
			if got := special8(x); got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
		}
	}
	// Neighbours that could borrow into each other.
	for _, s := range []string{"\x20\x20\x20\x20\x20\x20\x20\x21", "\xff\xff\xff\xff\xff\xff\xff\xff", "\x21\x23\x5b\x5d\x1f\x20\x20\x20", "\x80\x81\x5d\x5b\x22\x00\x00\x00"} {
		x := uint64(0)
		want := false
		for k := 7; k >= 0; k-- {
			x = x<<8 | uint64(s[k])
			if s[k] < 0x20 || s[k] == '"' || s[k] == '\\' {
				want = true
			}
		}
		if special8(x) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}
