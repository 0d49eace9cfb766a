package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMaskURL(t *testing.T) {
	for in, leak := range map[string]string{
		"postgres://webcare:s3cret@db.example/webcare?sslmode=require": "s3cret",
		"postgres://db.example/webcare?password=hunter2":               "hunter2",
		"nats://tok3n@nats.example:4222":                               "tok3n",
		"nats://nats.example:4222?token=abc123":                        "abc123",
	} {
		got := maskURL(in)
		if strings.Contains(got, leak) {
			t.Errorf("maskURL(%q) = %q still shows the secret", in, got)
		}
		if !strings.Contains(got, "example") {
			t.Errorf("maskURL(%q) = %q hides the host too", in, got)
		}
	}
}

func TestFlagsWinOverEnvironmentAndFileSecrets(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "db")
	os.WriteFile(secret, []byte("from-file.db\n"), 0o600)
	env := map[string]string{"WEBCARE_ADDR": "127.0.0.1:7000", "WEBCARE_DB_FILE": secret}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7001"}); err != nil {
		t.Fatal(err)
	}
	c, err := finish()
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7001" || c.DatabasePath != "from-file.db" || c.BaseURL != "http://127.0.0.1:7001" {
		t.Errorf("got addr %q db %q base %q", c.Addr, c.DatabasePath, c.BaseURL)
	}
}
