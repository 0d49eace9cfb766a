package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers is the dependency rule of docs/architecture.md: what each of our
// packages may import of ours (production code; tests may use helpers).
// "*" in a pattern stands for one path element. A package not listed
// fails the test: say where it belongs.
var layers = []layer{
	{"cmd/webcare", []string{"internal/*", "internal/store/*", "internal/auth/oidctest"}}, // the demo signs in through a fake provider
	{"internal/app", []string{"internal/*", "internal/bus/natsbus", "internal/channel/*", "internal/store/postgres", "internal/store/sqlite"}},
	{"internal/bench", []string{"internal/app", "internal/auth", "internal/bus", "internal/channel", "internal/config", "internal/demo", "internal/ingest", "internal/store", "internal/store/sqlite"}},
	{"internal/demo", []string{"internal/auth", "internal/channel", "internal/channel/*/*", "internal/chat", "internal/outbox", "internal/store"}},

	// The front ends: HTTP for agents and integrations, and the web chat
	// for a website's visitors. Only they know requests.
	{"internal/web", []string{"internal/clientip", "internal/desk", "internal/ingest", "internal/poll", "internal/bus", "internal/auth", "internal/channel", "internal/canned", "internal/i18n", "internal/store"}},
	{"internal/chat", []string{"internal/clientip", "internal/ingest", "internal/bus", "internal/channel", "internal/outbox", "internal/store"}},

	// What people and timers do, and the stages a message passes.
	{"internal/desk", []string{"internal/ingest", "internal/bus", "internal/auth", "internal/channel", "internal/store"}},
	{"internal/poll", []string{"internal/ingest", "internal/channel", "internal/store"}},
	{"internal/metrics", []string{"internal/ingest", "internal/store"}},
	{"internal/ingest", []string{"internal/bus", "internal/channel", "internal/store"}},

	// The platforms: one package each, with its fake.
	{"internal/channel/*", []string{"internal/channel", "internal/channel/apichannel", "internal/channel/htmltext", "internal/channel/meta", "internal/outbox", "internal/store"}},
	{"internal/channel/*/*", []string{"internal/channel", "internal/channel/*", "internal/store"}},
	{"internal/channel", []string{"internal/outbox", "internal/store"}},
	{"internal/outbox", []string{"internal/bus", "internal/store"}},

	{"internal/auth", []string{"internal/store"}},
	{"internal/auth/oidctest", nil}, // a fake identity provider, for tests and the demo
	{"internal/understand", nil},
	{"internal/canned", []string{"internal/store"}},
	{"internal/bus/*", []string{"internal/bus"}},
	{"internal/store/storecopy", []string{"internal/store", "internal/store/postgres", "internal/store/sqlite"}},
	{"internal/store/*", []string{"internal/store"}},
	{"internal/store/postgres/pgtest", nil},
	{"internal/web/browsertest", []string{"internal/*", "internal/channel/*", "internal/store/*"}}, // tests only
	{"internal/bus", nil},
	{"internal/store", nil},
	{"internal/config", nil},
	{"internal/i18n", nil},
	{"internal/clientip", nil},
}

const module = "github.com/webcare/webcare/"

// match reports whether a package path fits a pattern of layers.
func match(pattern, pkg string) bool {
	p, q := strings.Split(pattern, "/"), strings.Split(pkg, "/")
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != "*" && p[i] != q[i] {
			return false
		}
	}
	return true
}

// layer is one row of the rule: a package pattern and what it may import.
type layer struct {
	pkg     string
	imports []string
}

// violations lists every import in imports (package → our packages it
// imports) that the rule does not allow, and packages the rule lacks.
func violations(imports map[string]map[string]bool) []string {
	var out []string
	for _, pkg := range slices.Sorted(maps.Keys(imports)) {
		i := slices.IndexFunc(layers, func(l layer) bool { return match(l.pkg, pkg) })
		if i < 0 {
			out = append(out, pkg+" is not in the dependency rule: add it to layers (and docs/architecture.md)")
			continue
		}
		for _, im := range slices.Sorted(maps.Keys(imports[pkg])) {
			if !slices.ContainsFunc(layers[i].imports, func(a string) bool { return match(a, im) }) {
				out = append(out, pkg+" imports "+im+", against the dependency rule (docs/architecture.md)")
			}
		}
	}
	return out
}

func TestDependencyRule(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, im := range f.Imports {
			if ours, ok := strings.CutPrefix(strings.Trim(im.Path.Value, `"`), module); ok {
				imports[pkg][ours] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 20 || len(imports["internal/web"]) == 0 {
		t.Fatalf("found %d packages under %s: is the walk looking in the right place?", len(imports), root)
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
}

// TestDependencyRuleCatches holds the checker itself to account: imports
// that point up, and packages nobody placed, are reported.
func TestDependencyRuleCatches(t *testing.T) {
	got := violations(map[string]map[string]bool{
		"internal/store":        {"internal/web": true},
		"internal/channel/x":    {"internal/ingest": true, "internal/channel": true},
		"internal/ingest":       {"internal/store": true},
		"internal/somethingnew": {},
	})
	want := []string{
		"internal/channel/x imports internal/ingest, against the dependency rule (docs/architecture.md)",
		"internal/somethingnew is not in the dependency rule: add it to layers (and docs/architecture.md)",
		"internal/store imports internal/web, against the dependency rule (docs/architecture.md)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
