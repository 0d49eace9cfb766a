package store_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/webcare/webcare/internal/store"
)

func TestMigrationsInVersionOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/10_j.sql":   {Data: []byte("J")}, // sorts before 0002 as text, after it as a number
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README.md":  {Data: []byte("not a migration")},
	}
	got, err := store.Migrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got {
		order = append(order, m.SQL)
	}
	if strings.Join(order, "") != "ABJ" || got[2].Version != 10 || got[2].Name != "10_j.sql" {
		t.Errorf("got %+v", got)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"m/init.sql": {Data: []byte("x")}},
		"same number": {"m/0003_a.sql": {Data: []byte("x")}, "m/3_b.sql": {Data: []byte("y")}},
	} {
		if _, err := store.Migrations(fsys, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
