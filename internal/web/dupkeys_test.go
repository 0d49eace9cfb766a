package web

import "testing"

func TestDuplicateKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":2}`:                                "-",
		`{"a":1,"a":2}`:                                "a",
		`{"private":false,"Private":true}`:             "Private", // encoding/json fills one field from both
		`{"text":"a","TEXT":"b"}`:                      "TEXT",
		`{"t\u0065xt":"a","text":"b"}`:                 "text",
		`{"a":{"a":1},"b":{"a":2}}`:                    "-", // the same name in different objects
		`[{"a":1},{"a":2}]`:                            "-",
		`{"a":"x\",\"a\":\"y","b":1}`:                  "-", // a name-like string inside a value
		`{"a":"\\","b":1,"c":{"d":[1,{"e":2,"e":3}]}}`: "e",
		`{"":1,"":2}`:                                  "",
	} {
		got, twice := duplicateKey([]byte(body))
		if !twice {
			got = "-"
		}
		if got != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", body, got, want)
		}
	}
	many := []byte(`{`)
	for i := range 40 {
		many = append(many, []byte(`"k`+string(rune('a'+i%26))+string(rune('a'+i/26))+`":1,`)...)
	}
	many = append(many, []byte(`"KAA":2}`)...) // the same as "kaa" (i = 0), past the short list
	if got, _ := duplicateKey(many); got != "KAA" {
		t.Errorf("in an object of 41 names, duplicateKey = %q, want KAA", got)
	}
}
