package storecopy_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store/postgres"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/store/storecopy"
)

func diffSchemas(t *testing.T, engine string, have map[string][]string) {
	t.Helper()
	want := storecopy.TableColumns()
	for name, cols := range have {
		if _, ok := want[name]; !ok {
			t.Errorf("%s has table %s, which the copy does not know: add it to tables", engine, name)
			continue
		}
		slices.Sort(cols)
		if !slices.Equal(cols, want[name]) {
			t.Errorf("%s table %s has columns %v, the copy lists %v", engine, name, cols, want[name])
		}
	}
	for name := range want {
		if _, ok := have[name]; !ok {
			t.Errorf("the copy lists table %s, which %s does not have", name, engine)
		}
	}
}

// TestTablesMatchSQLite holds the table list to the embedded schema, so
// that a migration adding a table or column fails here until the copy
// takes it along.
func TestTablesMatchSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// FTS5 tables and their shadow tables are the search index, rebuilt by
	// PostgreSQL from the rows themselves.
	rows, err := db.Query(`SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '%_fts%' AND m.name <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		have[table] = append(have[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	diffSchemas(t, "SQLite", have)
}

// TestTablesMatchPostgres holds the table list to the PostgreSQL schema.
func TestTablesMatchPostgres(t *testing.T) {
	target := freshSchema(t)
	ctx := t.Context()
	s, err := postgres.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		have[table] = append(have[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	diffSchemas(t, "PostgreSQL", have)
}
