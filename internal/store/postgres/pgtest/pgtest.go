// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by WEBCARE_TEST_POSTGRES_URL. Only tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL is the test server. Without it the test skips, except under
// CI=true, where a missing server must fail the run rather than pass it
// silently.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WEBCARE_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("WEBCARE_TEST_POSTGRES_URL not set, and CI=true: the PostgreSQL tests must run in CI")
		}
		t.Skip("WEBCARE_TEST_POSTGRES_URL not set: set it to a PostgreSQL database (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return u
}

// Schema creates an empty schema named prefix_<random> for one test,
// dropped when the test ends, and returns its name and a URL whose
// connections use only it.
func Schema(t testing.TB, prefix string) (name, schemaURL string) {
	t.Helper()
	base := URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name = prefix + "_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return name, u.String()
}
