package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestNATSURL(t *testing.T) {
	tests := []struct {
		url    string
		wantOK bool
	}{
		{"", true},
		{"nats://127.0.0.1:4222", true},
		{"nats://tok3n@nats-a:4222, nats://tok3n@nats-b:4222", true},
		{"tls://nats.example:4222", true},
		{"127.0.0.1:4222", false},
		{"http://nats.example:4222", false},
		{"nats://s3cret@", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			finish := Register(fs, func(k string) string {
				if k == "WEBCARE_NATS_URL" {
					return tt.url
				}
				return ""
			})
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			c, err := finish()
			if (err == nil) != tt.wantOK {
				t.Fatalf("err = %v, want ok %v", err, tt.wantOK)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the token", err)
			}
			if err == nil && c.NATSURL != tt.url {
				t.Errorf("NATSURL = %q", c.NATSURL)
			}
		})
	}
}

func TestResolveIdle(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want time.Duration
		ok   bool
	}{
		{nil, "", 0, true},
		{[]string{"--resolve-idle", "168h"}, "", 168 * time.Hour, true},
		{nil, "72h", 72 * time.Hour, true},
		{[]string{"--resolve-idle", "0"}, "72h", 0, true},
		{[]string{"--resolve-idle", "30m"}, "", 0, false}, // would close what a customer just wrote
		{nil, "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" "+tt.env, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			finish := Register(fs, func(k string) string {
				if k == "WEBCARE_RESOLVE_IDLE" {
					return tt.env
				}
				return ""
			})
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := finish()
			if (err == nil) != tt.ok || (err == nil && c.ResolveIdle != tt.want) {
				t.Fatalf("resolve-idle = %s, err %v; want %s, ok %v", c.ResolveIdle, err, tt.want, tt.ok)
			}
		})
	}
}
