package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/store/postgres/pgtest"

	"github.com/jackc/pgx/v5"
)

// TestMigratePostgres runs "webcare migrate" against PostgreSQL twice, on a
// schema of its own: the first run applies the migrations, the second finds
// nothing to do, and neither shows the URL's password.
func TestMigratePostgres(t *testing.T) {
	ctx := context.Background()
	conn, schema, dbURL := pgSchema(t)

	for run := range 2 {
		out, err := runCLI(t, map[string]string{"WEBCARE_DATABASE_URL": dbURL}, "", "migrate")
		if err != nil || !strings.Contains(out, "up to date") || strings.Contains(out, "not-a-real-secret") {
			t.Fatalf("migrate run %d: %v\n%s", run+1, err, out)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM `+schema+`.schema_migrations`).Scan(&n); err != nil || n < 4 {
		t.Errorf("schema_migrations holds %d rows (%v), want every migration once", n, err)
	}
}

// pgSchema makes a schema of its own for one test, dropped when it ends, and
// returns a connection, its name and a URL using it (with a password that
// trust auth ignores, to see that no output shows it).
func pgSchema(t *testing.T) (*pgx.Conn, string, string) {
	t.Helper()
	schema, dbURL := pgtest.Schema(t, "webcare_cli")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "not-a-real-secret") // trust auth ignores it
	return conn, schema, u.String()
}

// TestMigrateFromSQLite moves an embedded database made by the command line
// into PostgreSQL, shows the counts, and refuses to do it twice.
func TestMigrateFromSQLite(t *testing.T) {
	ctx := context.Background()
	conn, schema, dbURL := pgSchema(t)
	file := filepath.Join(t.TempDir(), "small.db")
	if out, err := runCLI(t, map[string]string{"WEBCARE_DB": file, "WEBCARE_PASSWORD": "s3cret-pass"}, "", "user", "add", "--admin", "--email", "ada@example.com"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := runCLI(t, map[string]string{"WEBCARE_DB": file}, "", "migrate", "--from-sqlite", file); err == nil || !strings.Contains(out+err.Error(), "--database-url") {
		t.Errorf("--from-sqlite without a PostgreSQL URL: %v\n%s", err, out)
	}

	env := map[string]string{"WEBCARE_DATABASE_URL": dbURL}
	out, err := runCLI(t, env, "", "migrate", "--from-sqlite", file)
	if err != nil {
		t.Fatalf("migrate --from-sqlite: %v\n%s", err, out)
	}
	for _, want := range []string{"agents", "audit", "every count matches"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not-a-real-secret") {
		t.Errorf("output shows the password:\n%s", out)
	}
	var email string
	if err := conn.QueryRow(ctx, `SELECT email FROM `+schema+`.agents`).Scan(&email); err != nil || email != "ada@example.com" {
		t.Errorf("agent in PostgreSQL = %q (%v)", email, err)
	}

	out, err = runCLI(t, env, "", "migrate", "--from-sqlite", file)
	if err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("second copy: %v, want a refusal\n%s", err, out)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM `+schema+`.agents`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d agents after the refused copy (%v), want 1", n, err)
	}
}
