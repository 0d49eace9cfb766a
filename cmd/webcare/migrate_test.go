package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestMigratePostgres runs "webcare migrate" against PostgreSQL twice, on a
// schema of its own: the first run applies the migrations, the second finds
// nothing to do, and neither shows the URL's password.
func TestMigratePostgres(t *testing.T) {
	base := os.Getenv("WEBCARE_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("WEBCARE_TEST_POSTGRES_URL not set, and CI=true")
		}
		t.Skip("WEBCARE_TEST_POSTGRES_URL not set: set it to a PostgreSQL database to test migrate on it")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "webcare_cli_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "not-a-real-secret") // trust auth ignores it
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	for run := range 2 {
		out, err := runCLI(t, map[string]string{"WEBCARE_DATABASE_URL": u.String()}, "", "migrate")
		if err != nil || !strings.Contains(out, "up to date") || strings.Contains(out, "not-a-real-secret") {
			t.Fatalf("migrate run %d: %v\n%s", run+1, err, out)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM `+schema+`.schema_migrations`).Scan(&n); err != nil || n < 4 {
		t.Errorf("schema_migrations holds %d rows (%v), want every migration once", n, err)
	}
}
