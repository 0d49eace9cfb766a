package channel

import "slices"

// Registry is the platforms a build speaks, in the order the UI lists
// them. It is filled while the application is wired (NewRegistry, Set)
// and only read after that, so reads from many goroutines need no lock.
// A nil Registry holds no platform and cannot be Set.
type Registry struct {
	list []Adapter
}

// NewRegistry lists adapters in the given order. A kind given twice keeps
// its first place and its last adapter.
func NewRegistry(list ...Adapter) *Registry {
	r := &Registry{}
	for _, a := range list {
		r.Set(a)
	}
	return r
}

func (r *Registry) index(kind string) int {
	if r == nil {
		return -1
	}
	return slices.IndexFunc(r.list, func(a Adapter) bool { return a.Kind == kind })
}

// Get returns the adapter of kind; the zero Adapter (no parts, no limits,
// no files) for a kind the registry does not list.
func (r *Registry) Get(kind string) Adapter {
	if i := r.index(kind); i >= 0 {
		return r.list[i]
	}
	return Adapter{}
}

// Has reports whether the registry lists kind.
func (r *Registry) Has(kind string) bool { return r.index(kind) >= 0 }

// Kinds are the listed kinds, in order. The slice is the caller's.
func (r *Registry) Kinds() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.list))
	for i, a := range r.list {
		out[i] = a.Kind
	}
	return out
}

// All are the listed adapters, in order. The slice is the caller's.
func (r *Registry) All() []Adapter {
	if r == nil {
		return nil
	}
	return slices.Clone(r.list)
}

// Set puts in a as the adapter of its kind: in the place of the adapter
// it replaces (the application puts in the web chat's whole adapter once
// the widget exists), or last for a kind not listed yet. Set is for
// wiring only: it must not run once anything reads the registry from
// another goroutine.
func (r *Registry) Set(a Adapter) {
	if i := r.index(a.Kind); i >= 0 {
		r.list[i] = a
		return
	}
	r.list = append(r.list, a)
}
