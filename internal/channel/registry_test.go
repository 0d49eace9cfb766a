package channel

import (
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry(Adapter{Kind: "x", TextLimit: 280}, Adapter{Kind: "email"}, Adapter{Kind: "webchat"})
	if got, want := r.Kinds(), []string{"x", "email", "webchat"}; !slices.Equal(got, want) {
		t.Errorf("Kinds = %v, want %v", got, want)
	}
	if !r.Has("x") || r.Get("x").TextLimit != 280 {
		t.Errorf("x: Has %v, Get %+v", r.Has("x"), r.Get("x"))
	}
	if r.Has("fax") || r.Get("fax").Kind != "" || r.Get("fax").Files.Allowed() {
		t.Errorf("an unknown kind: Has %v, Get %+v; want the zero Adapter", r.Has("fax"), r.Get("fax"))
	}

	r.Set(Adapter{Kind: "email", Rate: 2})
	if got, want := r.Kinds(), []string{"x", "email", "webchat"}; !slices.Equal(got, want) {
		t.Errorf("after Set, Kinds = %v, want %v: a replaced adapter keeps its place", got, want)
	}
	if r.Get("email").Rate != 2 {
		t.Errorf("Set did not replace the adapter: %+v", r.Get("email"))
	}
	r.Set(Adapter{Kind: "api"})
	if got, want := r.Kinds(), []string{"x", "email", "webchat", "api"}; !slices.Equal(got, want) {
		t.Errorf("a new kind: Kinds = %v, want %v", got, want)
	}

	r.Kinds()[0] = "changed"
	r.All()[0].Kind = "changed"
	if !r.Has("x") {
		t.Error("a caller's slice changed the registry")
	}

	var none *Registry
	if none.Has("x") || none.Get("x").Kind != "" || len(none.Kinds()) != 0 || len(none.All()) != 0 {
		t.Error("a nil Registry lists something")
	}
}
